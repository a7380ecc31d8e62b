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

from vidgen.errors import ConfigError
from vidgen.nn.recurrent import ConvLSTMCell, check_rollout_args, mix_inputs, patchify, teacher_forcing_mask, unpatchify
from vidgen.registry import MODELS


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class ConvLSTMConfig:
    """Widths and options of the ConvLSTM predictor, and its training split.

    ``context`` and ``future`` are the split the model trains on (clips need
    ``context + future`` frames); at prediction time both may differ.
    """

    hidden: tuple[int, ...] = (64, 64, 64, 64)  # channels of each ConvLSTM layer, bottom to top
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
        if not _is_int(self.kernel_size) or self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"model.kernel_size must be an odd integer >= 1, got {self.kernel_size!r}",
                              hint="the gate convolutions pad to keep the size; use 3 or 5")
        for name in ("patch_size", "context", "future"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ConfigError(f"model.{name} must be an integer >= 1, got {value!r}")


@MODELS.register("convlstm", config=ConvLSTMConfig, family="predictor")
class ConvLSTM(nn.Module):
    """Stacked-ConvLSTM next-frame predictor on patchified frames.

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
        self, *, config: ConvLSTMConfig, frames: int, resolution: int, channels: int, num_classes: int = 0
    ):
        super().__init__()
        p = config.patch_size
        if resolution % p:
            raise ConfigError(
                f"convlstm: resolution {resolution} is not divisible by model.patch_size={p}",
                hint=f"set model.patch_size to a divisor of {resolution} (OpenSTL uses 4 at 64x64) "
                f"or change data.resolution",
            )
        if frames < config.context + config.future:
            raise ConfigError(
                f"convlstm trains on clips of model.context + model.future = "
                f"{config.context} + {config.future} frames, but data.frames is {frames}",
                hint=f"set data.frames={config.context + config.future} or lower model.context / model.future",
            )
        if channels < 1:
            raise ConfigError(f"convlstm: frames need at least one channel, got {channels}")
        self.config = config
        self.context = config.context
        self.future = config.future
        self.frames, self.resolution, self.channels = frames, resolution, channels
        self.patch_size = p

        patch_channels = channels * p * p
        widths = (patch_channels, *config.hidden)
        self.cells = nn.ModuleList(
            ConvLSTMCell(in_channels=widths[i], hidden_channels=widths[i + 1], kernel_size=config.kernel_size,
                         layer_norm=config.layer_norm)
            for i in range(len(config.hidden))
        )
        self.head = nn.Conv2d(config.hidden[-1], patch_channels, kernel_size=1)  # top h -> next frame's patches

    def _step(
        self, x: Tensor, states: list[tuple[Tensor, Tensor] | None]
    ) -> tuple[Tensor, list[tuple[Tensor, Tensor] | None]]:
        """Run the stack on one patchified frame ``x [B, C*p*p, h, w]``; returns the top ``h`` and the new states."""
        new_states: list[tuple[Tensor, Tensor] | None] = []
        for cell, state in zip(self.cells, states):
            x, c = cell(x, state)
            new_states.append((x, c))
        return x, new_states

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
        for t in range(t_context - 1):  # warm-up on the context; its next-frame guesses are not needed
            _, states = self._step(frames[:, t], states)

        x = frames[:, -1]
        preds: list[Tensor] = []
        for k in range(future):
            if k > 0:
                mask = teacher_forcing_mask(batch, teacher_forcing, generator=generator, device=context.device)
                x = preds[-1] if mask is None else mix_inputs(mask, truth[:, k - 1], preds[-1])
            top, states = self._step(x, states)
            preds.append(torch.tanh(self.head(top)))  # [B, C*p*p, H/p, W/p]
        out = torch.stack(preds, dim=1)  # [B, future, C*p*p, H/p, W/p]
        return unpatchify(out, p)  # [B, future, C, H, W]
