"""``copy_last``: the "nothing moves" baseline, every future frame is the last context frame.

It is the floor a learned predictor has to beat (on slow scenes it is a strong one: a
predictor that scores below it on PSNR/SSIM has learned nothing about motion), and it
needs no training, so it is also the cheapest end-to-end check of the predictor pipeline.

No parameters, by design. The model owns no tensors at all (an empty ``state_dict``; its
export is an empty ``model.safetensors`` plus ``config.json``) and says so with the class
attribute ``trainable = False``: the training loop reads ``getattr(model, "trainable",
True)`` and skips the optimiser, EMA, DistributedDataParallel and the update step for it
(``torch.optim`` refuses an empty parameter list, DDP a module without parameters), while
evaluation, prediction and export treat it like any other predictor. A dummy parameter
was rejected: it would be "trained" to no effect and show up in parameter counts.

Teacher forcing follows the common interface literally: the input of each future step is
the previous prediction or, with probability ``teacher_forcing``, the true previous frame,
and "predicting" copies that input. With ``teacher_forcing = 1`` the model is therefore
"repeat the true previous frame", the one-step persistence baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vidgen.models.predictor.common import check_clip, check_positive
from vidgen.nn.recurrent import rollout
from vidgen.registry import MODELS


@dataclass
class CopyLastConfig:
    """The ``context -> future`` split of the copy-last baseline (it has nothing else to set)."""

    context: int = 10  # frames the model reads (the split the training data is cut into)
    future: int = 10  # frames it predicts

    def __post_init__(self) -> None:
        check_positive(self, ("context", "future"))


def _copy(x: Tensor, state: None) -> tuple[Tensor, None]:
    """The whole "model": each step predicts its input."""
    return x, state


@MODELS.register("copy_last", config=CopyLastConfig, family="predictor")
class CopyLast(nn.Module):
    """Predicts the last context frame for every future frame; no parameters (``trainable = False``).

    Built and called like every predictor (see :mod:`vidgen.models.predictor`); the clips
    need ``context + future`` frames, and any resolution works.
    """

    objective_options = ()  # no teacher forcing, no context loss (see PredictorObjective)

    trainable = False  # no parameters: the training loop must not build an optimiser for it

    def __init__(
        self, *, config: CopyLastConfig, frames: int, resolution: int, channels: int, num_classes: int = 0
    ):
        super().__init__()
        check_clip("copy_last", context=config.context, future=config.future, frames=frames, resolution=resolution,
                   channels=channels, uses="is evaluated on")
        self.config = config
        self.context = config.context
        self.future = config.future
        self.frames, self.resolution, self.channels = frames, resolution, channels

    def forward(
        self,
        context: Tensor,
        *,
        future: int,
        target: Tensor | None = None,
        teacher_forcing: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Repeat the last context frame ``[B, Tc, C, H, W]`` ``future`` times: ``[B, future, C, H, W]``.

        The arguments are those of :func:`vidgen.nn.recurrent.rollout`; with teacher forcing,
        a step copies the true previous frame instead of the previous prediction. The result
        is a new tensor, never a view of ``context``.
        """
        return rollout(context, future=future, target=target, teacher_forcing=teacher_forcing, generator=generator,
                       channels=self.channels, step=_copy)
