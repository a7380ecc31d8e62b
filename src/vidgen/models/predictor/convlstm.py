"""``convlstm``: stacked convolutional LSTMs (Shi et al., 2015) as a next-frame predictor.

Every frame is cut into ``p x p`` patches (space-to-depth, ``[C, H, W] -> [C*p*p, H/p, W/p]``),
so the recurrent layers run on small maps (OpenSTL's Moving-MNIST setting: ``p = 4``, 64x64
frames become 16x16 maps of 16 channels). A stack of :class:`~vidgen.nn.recurrent.ConvLSTMCell`
reads one frame per step; a 1x1 convolution on the top hidden state gives the next frame's
patches, through ``tanh`` so the prediction is in ``[-1, 1]``.

Rollout: the stack reads the context frames one by one (their own predictions are not
returned); from the last context frame on, each step predicts one future frame, and the next
step reads either that prediction or, with probability ``teacher_forcing`` per sample, the
true frame (scheduled sampling, Bengio et al. 2015, as OpenSTL trains its recurrent models).
The rollout may run past the training horizon ``config.future``: it just keeps feeding its
own predictions back.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vidgen.models.predictor.common import RecurrentOptions, recurrent_parts, setup
from vidgen.nn.recurrent import ConvLSTMCell, rollout
from vidgen.registry import MODELS


@dataclass
class ConvLSTMConfig(RecurrentOptions):
    """Widths and options of the ConvLSTM predictor, and its training split.

    ``context`` and ``future`` are the split the model trains on (clips need
    ``context + future`` frames); at prediction time both may differ. ``hidden``: the
    channels of each ConvLSTM layer, bottom to top.
    """


@MODELS.register("convlstm", config=ConvLSTMConfig, family="predictor")
class ConvLSTM(nn.Module):
    """Stacked-ConvLSTM next-frame predictor on patchified frames.

    Built and called like every predictor (see :mod:`vidgen.models.predictor`): the training
    clips need ``context + future`` frames, and the resolution must be divisible by
    ``config.patch_size``; any context length and any ``future`` work at prediction time.
    """

    objective_options = ("teacher_forcing", "context_loss")  # see PredictorObjective

    trainable = True  # the training loop optimises it (see CopyLast for a model it skips)

    def __init__(
        self, *, config: ConvLSTMConfig, frames: int, resolution: int, channels: int, num_classes: int = 0
    ):
        super().__init__()
        setup(self, "convlstm", config, frames=frames, resolution=resolution, channels=channels)
        # the optional motion input (read beside every frame), the cell stack, top h -> next frame
        self.motion, self.cells, self.head = recurrent_parts(ConvLSTMCell, config, channels)

    def _step(
        self, x: Tensor, states: list[tuple[Tensor, Tensor] | None]
    ) -> tuple[Tensor, list[tuple[Tensor, Tensor] | None]]:
        """Run the stack on one patchified frame ``x [B, C*p*p, h, w]``; returns the top ``h`` and the new states."""
        new_states: list[tuple[Tensor, Tensor] | None] = []
        for cell, state in zip(self.cells, states):
            x, c = cell(x, state)
            new_states.append((x, c))
        return x, new_states

    def _readout(self, top: Tensor, frame: Tensor) -> Tensor:
        """Top hidden state ``[B, hidden, h, w]`` and the frame just read -> next frame's patches ``[B, C*p*p, h, w]``."""
        return self.head(top, frame)

    def forward(
        self,
        context: Tensor,
        *,
        future: int,
        target: Tensor | None = None,
        teacher_forcing: float = 0.0,
        generator: torch.Generator | None = None,
        with_context: bool = False,
    ) -> Tensor:
        """Predict ``future`` frames after ``context [B, Tc, C, H, W]``: ``[B, future, C, H, W]`` in ``[-1, 1]``.

        ``future`` may exceed ``self.future`` (autoregressive rollout); the arguments are
        those of :func:`vidgen.nn.recurrent.rollout`.
        """
        return rollout(context, future=future, target=target, teacher_forcing=teacher_forcing, generator=generator,
                       channels=self.channels, step=self._step, state=[None] * len(self.cells),
                       readout=self._readout, patch_size=self.patch_size, with_context=with_context,
                       motion=self.motion)
