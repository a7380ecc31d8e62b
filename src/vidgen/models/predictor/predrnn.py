"""``predrnn``: PredRNN (Wang et al., NeurIPS 2017), stacked ST-LSTM cells with a zigzag memory.

Each layer keeps its own temporal memory ``C`` (carried from ``t - 1`` to ``t``, as in a
ConvLSTM) and shares one spatio-temporal memory ``M`` with the others: ``M`` goes up the
stack within a time step (layer ``k - 1`` -> layer ``k``) and from the top layer at ``t - 1``
to the bottom layer at ``t``. That zigzag path lets low-level detail reach the top layer,
which is what sharpens PredRNN's predictions compared with a plain ConvLSTM.

As in OpenSTL, frames are cut into ``p x p`` patches (space-to-depth) before the stack and
a 1x1 convolution on the top hidden state gives the next frame's patches; here the output
goes through ``tanh`` (frames in ``[-1, 1]``). Rollout, teacher forcing and scheduled
sampling work as in ``convlstm``: the context frames warm the stack up, each future step
predicts one frame and the next step reads either that prediction or, with probability
``teacher_forcing`` per sample, the true frame. PredRNN-V2's reverse scheduled sampling and
decoupling loss are not part of this model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vidgen.errors import ConfigError
from vidgen.models.predictor.common import RecurrentOptions, recurrent_parts, setup
from vidgen.nn.recurrent import SpatioTemporalLSTMCell, rollout
from vidgen.registry import MODELS

# the recurrent state between time steps: (h, c) of every layer, and the zigzag memory M
_State = tuple[list[tuple[Tensor, Tensor] | None], Tensor | None]


@dataclass
class PredRNNConfig(RecurrentOptions):
    """Widths and options of the PredRNN predictor, and its training split.

    All layers have the same width: the memory ``M`` runs through every one of them.
    ``context`` and ``future`` are the split the model trains on (clips need
    ``context + future`` frames); at prediction time both may differ.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(set(self.hidden)) != 1:
            raise ConfigError(
                f"predrnn layers must all have the same width, got model.hidden={list(self.hidden)}",
                hint=f"the zigzag memory M passes through every layer; use e.g. "
                f"model.hidden={[max(self.hidden)] * len(self.hidden)}".replace(" ", ""),
            )


@MODELS.register("predrnn", config=PredRNNConfig, family="predictor")
class PredRNN(nn.Module):
    """PredRNN next-frame predictor: stacked ST-LSTM cells, zigzag memory, patchified frames.

    Built and called like every predictor (see :mod:`vidgen.models.predictor`), with the
    same clip requirements as ``convlstm``: ``context + future`` training frames and a
    resolution divisible by ``config.patch_size``.
    """

    objective_options = ("teacher_forcing", "context_loss")  # see PredictorObjective

    trainable = True  # the training loop optimises it (see CopyLast for a model it skips)

    def __init__(
        self, *, config: PredRNNConfig, frames: int, resolution: int, channels: int, num_classes: int = 0
    ):
        super().__init__()
        setup(self, "predrnn", config, frames=frames, resolution=resolution, channels=channels)
        # the optional motion input (read beside every frame), the cell stack, top h -> next frame
        self.motion, self.cells, self.head = recurrent_parts(SpatioTemporalLSTMCell, config, channels)

    def _step(self, x: Tensor, state: _State) -> tuple[Tensor, _State]:
        """One time step on a patchified frame ``x [B, C*p*p, h, w]``.

        ``state`` holds the per-layer ``(h, c)`` and ``M`` as the top layer left it at the
        previous step (None at the first); ``M`` enters the bottom layer and climbs the stack.
        Returns the top ``h`` and the new state.
        """
        states, memory = state
        new_states: list[tuple[Tensor, Tensor] | None] = []
        for cell, layer_state in zip(self.cells, states):
            x, c, memory = cell(x, layer_state, memory)
            new_states.append((x, c))
        return x, (new_states, memory)

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
        # M zigzags: top layer at t-1 -> bottom layer at t, so it starts empty like every (h, c)
        state: _State = ([None] * len(self.cells), None)
        return rollout(context, future=future, target=target, teacher_forcing=teacher_forcing, generator=generator,
                       channels=self.channels, step=self._step, state=state, readout=self._readout,
                       patch_size=self.patch_size, with_context=with_context,
                       motion=self.motion)
