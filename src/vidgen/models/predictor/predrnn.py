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
from vidgen.nn.recurrent import (
    SpatioTemporalLSTMCell,
    check_rollout_args,
    mix_inputs,
    patchify,
    teacher_forcing_mask,
    unpatchify,
)
from vidgen.registry import MODELS


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class PredRNNConfig:
    """Widths and options of the PredRNN predictor, and its training split.

    All layers have the same width: the memory ``M`` runs through every one of them.
    ``context`` and ``future`` are the split the model trains on (clips need
    ``context + future`` frames); at prediction time both may differ.
    """

    hidden: tuple[int, ...] = (64, 64, 64, 64)  # channels of each ST-LSTM layer (all equal)
    kernel_size: int = 5  # odd kernel of the gate convolutions
    patch_size: int = 4  # space-to-depth factor; the resolution must be divisible by it
    context: int = 10  # frames the model reads (training split)
    future: int = 10  # frames it predicts (training split)
    layer_norm: bool = False  # normalise each gate's pre-activation (GroupNorm, one group per gate)

    def __post_init__(self) -> None:
        if isinstance(self.hidden, (str, bytes)) or not isinstance(self.hidden, (list, tuple)):
            raise ConfigError(f"model.hidden must be a list of channel counts, got {self.hidden!r}",
                              hint="for example model.hidden=[64,64,64,64]")
        self.hidden = tuple(self.hidden)  # a list (Python or YAML) is stored as a tuple
        if not self.hidden or not all(_is_int(h) and h >= 1 for h in self.hidden):
            raise ConfigError(f"model.hidden must be a non-empty list of positive integers, got {list(self.hidden)}",
                              hint="for example model.hidden=[64,64,64,64]")
        if len(set(self.hidden)) != 1:
            raise ConfigError(
                f"predrnn layers must all have the same width, got model.hidden={list(self.hidden)}",
                hint=f"the zigzag memory M passes through every layer; use e.g. "
                f"model.hidden={[max(self.hidden)] * len(self.hidden)}".replace(" ", ""),
            )
        if not _is_int(self.kernel_size) or self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"model.kernel_size must be an odd integer >= 1, got {self.kernel_size!r}",
                              hint="the gate convolutions pad to keep the size; use 3 or 5")
        for name in ("patch_size", "context", "future"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ConfigError(f"model.{name} must be an integer >= 1, got {value!r}")


@MODELS.register("predrnn", config=PredRNNConfig, family="predictor")
class PredRNN(nn.Module):
    """PredRNN next-frame predictor: stacked ST-LSTM cells, zigzag memory, patchified frames.

    Args:
        config: widths, kernel, patch size and the ``context -> future`` training split.
        frames, resolution, channels: the training clip shape ``[T, C, H, W]``; ``T`` must be at
            least ``context + future`` and ``H = W = resolution`` divisible by the patch size.
        num_classes: unused (kept for a uniform constructor).

    ``forward(context [B, Tc, C, H, W], *, future, target=None, teacher_forcing=0.0,
    generator=None) -> [B, future, C, H, W]`` in ``[-1, 1]``.
    """

    trainable = True  # the training loop optimises it (see CopyLast for a model it skips)

    def __init__(
        self, *, config: PredRNNConfig, frames: int, resolution: int, channels: int, num_classes: int = 0
    ):
        super().__init__()
        p = config.patch_size
        if resolution % p:
            raise ConfigError(
                f"predrnn: resolution {resolution} is not divisible by model.patch_size={p}",
                hint=f"set model.patch_size to a divisor of {resolution} (OpenSTL uses 4 at 64x64) "
                f"or change data.resolution",
            )
        if frames < config.context + config.future:
            raise ConfigError(
                f"predrnn trains on clips of model.context + model.future = "
                f"{config.context} + {config.future} frames, but data.frames is {frames}",
                hint=f"set data.frames={config.context + config.future} or lower model.context / model.future",
            )
        if channels < 1:
            raise ConfigError(f"predrnn: frames need at least one channel, got {channels}")
        self.config = config
        self.context = config.context
        self.future = config.future
        self.frames, self.resolution, self.channels = frames, resolution, channels
        self.patch_size = p

        patch_channels = channels * p * p
        widths = (patch_channels, *config.hidden)
        self.cells = nn.ModuleList(
            SpatioTemporalLSTMCell(in_channels=widths[i], hidden_channels=widths[i + 1],
                                   kernel_size=config.kernel_size, layer_norm=config.layer_norm)
            for i in range(len(config.hidden))
        )
        self.head = nn.Conv2d(config.hidden[-1], patch_channels, kernel_size=1)  # top h -> next frame's patches

    def _step(
        self, x: Tensor, states: list[tuple[Tensor, Tensor] | None], memory: Tensor | None
    ) -> tuple[Tensor, list[tuple[Tensor, Tensor] | None], Tensor]:
        """One time step on a patchified frame ``x [B, C*p*p, h, w]``.

        ``memory`` is ``M`` as the top layer left it at the previous step (None at the first);
        it enters the bottom layer and climbs the stack. Returns the top ``h``, the new
        per-layer ``(h, c)`` and the top layer's ``M`` for the next step.
        """
        new_states: list[tuple[Tensor, Tensor] | None] = []
        for cell, state in zip(self.cells, states):
            x, c, memory = cell(x, state, memory)
            new_states.append((x, c))
        return x, new_states, memory

    def forward(
        self,
        context: Tensor,
        *,
        future: int,
        target: Tensor | None = None,
        teacher_forcing: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Predict ``future`` frames after ``context``.

        Args:
            context: ``[B, Tc, C, H, W]`` in ``[-1, 1]``, any ``Tc >= 1``; ``H, W`` divisible by the patch size.
            future: number of frames to predict; may exceed ``self.future`` (autoregressive rollout).
            target: ``[B, >= future, C, H, W]``, the ground-truth future, read only when
                ``teacher_forcing > 0`` (and then only its first ``future - 1`` frames).
            teacher_forcing: probability that a future step's input is the true previous frame
                instead of the model's own prediction, drawn per sample and per step.
            generator: the RNG of those draws (CPU or the input's device); None uses the global RNG.

        Returns:
            ``[B, future, C, H, W]`` in ``[-1, 1]``.
        """
        check_rollout_args(context, future=future, target=target, teacher_forcing=teacher_forcing,
                           channels=self.channels)
        p = self.patch_size
        batch, t_context = context.shape[:2]
        frames = patchify(context, p)  # [B, Tc, C*p*p, H/p, W/p]
        truth = None
        if teacher_forcing > 0.0 and future > 1:
            truth = patchify(target[:, : future - 1], p)  # [B, future-1, C*p*p, H/p, W/p]

        states: list[tuple[Tensor, Tensor] | None] = [None] * len(self.cells)
        memory: Tensor | None = None  # M, zigzagging: top layer at t-1 -> bottom layer at t
        for t in range(t_context - 1):  # warm-up on the context; its next-frame guesses are not needed
            _, states, memory = self._step(frames[:, t], states, memory)

        x = frames[:, -1]
        preds: list[Tensor] = []
        for k in range(future):
            if k > 0:
                mask = teacher_forcing_mask(batch, teacher_forcing, generator=generator, device=context.device)
                x = preds[-1] if mask is None else mix_inputs(mask, truth[:, k - 1], preds[-1])
            top, states, memory = self._step(x, states, memory)
            preds.append(torch.tanh(self.head(top)))  # [B, C*p*p, H/p, W/p]
        out = torch.stack(preds, dim=1)  # [B, future, C*p*p, H/p, W/p]
        return unpatchify(out, p)  # [B, future, C, H, W]
