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

from vidgen.errors import ConfigError
from vidgen.nn.recurrent import check_rollout_args, mix_inputs, teacher_forcing_mask
from vidgen.registry import MODELS


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class CopyLastConfig:
    """The ``context -> future`` split of the copy-last baseline (it has nothing else to set)."""

    context: int = 10  # frames the model reads (the split the training data is cut into)
    future: int = 10  # frames it predicts

    def __post_init__(self) -> None:
        for name in ("context", "future"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ConfigError(f"model.{name} must be an integer >= 1, got {value!r}")


@MODELS.register("copy_last", config=CopyLastConfig, family="predictor")
class CopyLast(nn.Module):
    """Predicts the last context frame for every future frame; no parameters (``trainable = False``).

    Args:
        config: the ``context -> future`` split.
        frames, resolution, channels: the clip shape ``[T, C, H, W]``; ``T`` must be at least
            ``context + future``. Any resolution works.
        num_classes: unused (kept for a uniform constructor).

    ``forward(context [B, Tc, C, H, W], *, future, target=None, teacher_forcing=0.0,
    generator=None) -> [B, future, C, H, W]``.
    """

    trainable = False  # no parameters: the training loop must not build an optimiser for it

    def __init__(
        self, *, config: CopyLastConfig, frames: int, resolution: int, channels: int, num_classes: int = 0
    ):
        super().__init__()
        if frames < config.context + config.future:
            raise ConfigError(
                f"copy_last is evaluated on clips of model.context + model.future = "
                f"{config.context} + {config.future} frames, but data.frames is {frames}",
                hint=f"set data.frames={config.context + config.future} or lower model.context / model.future",
            )
        if channels < 1:
            raise ConfigError(f"copy_last: frames need at least one channel, got {channels}")
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
        """Repeat the last context frame ``future`` times.

        Args:
            context: ``[B, Tc, C, H, W]`` in ``[-1, 1]``, any ``Tc >= 1``.
            future: number of frames to predict (any ``>= 1``).
            target: ``[B, >= future, C, H, W]``, the ground-truth future, read only when
                ``teacher_forcing > 0`` (and then only its first ``future - 1`` frames).
            teacher_forcing: probability that a step copies the true previous frame instead of
                the previous prediction, drawn per sample and per step (as in the learned models).
            generator: the RNG of those draws; None uses the global RNG.

        Returns:
            ``[B, future, C, H, W]``, a new tensor (never a view of ``context``).
        """
        check_rollout_args(context, future=future, target=target, teacher_forcing=teacher_forcing,
                           channels=self.channels)
        batch = context.shape[0]
        preds = [context[:, -1]]  # [B, C, H, W]
        for k in range(1, future):
            mask = teacher_forcing_mask(batch, teacher_forcing, generator=generator, device=context.device)
            preds.append(preds[-1] if mask is None else mix_inputs(mask, target[:, k - 1], preds[-1]))
        return torch.stack(preds, dim=1)  # [B, future, C, H, W]
