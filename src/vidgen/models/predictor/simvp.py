"""``simvp``: a convolutional predictor that maps the context to the whole future at once.

SimVP (Gao et al., CVPR 2022) with the gated spatio-temporal attention translator of its
second version (Tan et al., 2022, "gSTA"; OpenSTL's ``SimVP`` with ``model_type='gSTA'``):

- **Encoder**, per frame: space-to-depth by ``patch_size`` (as the recurrent predictors do;
  SimVP itself downsamples with strided convolutions), then ``spatial_depth`` 3x3
  convolutions with GroupNorm and SiLU, to ``[hid_s, H/p, W/p]``.
- **Translator**: the context's ``context`` feature maps stacked along the channels
  (``context * hid_s``), a 1x1 convolution to ``hid_t`` channels, ``temporal_depth`` gSTA
  blocks, and a 1x1 convolution to ``future * hid_s`` channels, one feature map per
  future frame. A gSTA block is a MetaFormer block: a residual large-kernel attention (a
  depthwise ``5x5`` and a depthwise ``7x7`` with dilation 3, 23 cells of receptive field,
  then a 1x1 convolution, gating the input) and a residual MLP of 1x1 convolutions around a
  depthwise 3x3, each branch normalised first and scaled by a learned per-channel factor.
- **Decoder**, per future frame: ``spatial_depth`` 3x3 convolutions, the last one reading
  the last context frame's first encoder features too (SimVP's skip connection), and a
  1x1 convolution to the frame's patches, depth-to-space back to ``[C, H, W]``
  (``output="linear"``), or to per-pixel filters that move the last context frame's pixels
  (``output="filter"``, see :class:`~vidgen.nn.recurrent.FrameHead`): with ``filter_size``
  taps a pixel may come from up to ``filter_size // 2`` pixels away, and with
  ``filter_cells = R`` a coarse stage first moves whole patches by up to ``R`` cells: the
  filters must span the whole future's motion (Moving MNIST's 3.6 pixels a frame reach 36
  pixels by the tenth frame: ``filter_cells=9`` with 4-pixel patches). Moved content keeps its shape and the background comes out exactly, where
  a drawn frame leaves a faint haze.
- **Motion input** (``motion_radius > 0``): each context frame's encoder also reads its
  local correlation with the frame before (:class:`~vidgen.nn.recurrent.FrameCorrelation`),
  so the displacements are observed rather than found.

Nothing is recurrent, so every future frame gets its own gradient from the first step and
no prediction error is fed back while training: on a CPU budget it learns Moving MNIST far
faster than the recurrent predictors (docs/results.md). It has no teacher forcing to
schedule.

At prediction time it takes any context length (the last ``config.context`` frames are
read; a shorter context is padded in front by repeating its first frame) and any
``future``: beyond ``config.future`` it rolls forward by whole blocks, reading the last
``config.context`` frames of the context and its own predictions, as OpenSTL extends its
SimVP models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from vidgen.errors import ConfigError
from vidgen.models.predictor.common import check_kernel_size, check_motion, check_positive, is_int, setup
from vidgen.nn.recurrent import FrameCorrelation, FrameHead, check_rollout_args, patchify, unpatchify
from vidgen.registry import MODELS


@dataclass
class SimVPConfig:
    """Widths and depths of SimVP, and its training split (the context and future it maps between)."""

    hid_s: int = 32  # channels of each frame's feature map (encoder and decoder)
    hid_t: int = 256  # channels of the translator, which reads all context frames at once
    spatial_depth: int = 2  # 3x3 convolutions in the encoder, and in the decoder
    temporal_depth: int = 4  # gSTA blocks in the translator
    mlp_ratio: float = 4.0  # hidden width of each block's MLP, in multiples of hid_t
    # dilation of the attention's depthwise 7x7 convolution: gSTA's 3 reaches 23 cells per block;
    # 1 reaches 11, which 4 blocks stack past a 16x16 map, and a dilated depthwise convolution
    # costs ~3x an undilated one on CPUs (docs/training.md)
    lka_dilation: int = 3
    # initial per-channel scale of each translator branch (OpenSTL: 0.01); small values start the
    # translator close to a 1x1 map, which cannot move content far until the scales have grown
    layer_scale: float = 1e-2
    patch_size: int = 4  # space-to-depth factor; the resolution must be divisible by it
    context: int = 10  # frames the model reads
    future: int = 10  # frames it predicts in one pass
    # how each future frame is made from its decoded features (vidgen.nn.recurrent.FrameHead):
    # "linear" draws it (clamped to [-1, 1] outside training); "filter" moves the last context
    # frame's pixels by per-pixel separable filters of filter_size taps, so content may travel
    # up to filter_size // 2 pixels by the last future frame; "warp" by a dense flow field
    output: Literal["linear", "tanh", "filter", "warp"] = "linear"
    filter_size: int = 9
    # > 0 ("filter" output): a coarse stage first moves whole patches by up to filter_cells cells,
    # so content travels up to filter_cells * patch_size + filter_size // 2 pixels (9 cells of 4
    # pixels cover Moving MNIST's 36 pixels over 10 frames)
    filter_cells: int = 0
    # > 0: each context frame's encoder also reads its correlation with the frame before over
    # displacements up to motion_radius pixels (vidgen.nn.recurrent.FrameCorrelation)
    motion_radius: int = 0
    motion_stride: int = 2

    def __post_init__(self) -> None:
        check_positive(self, ("hid_s", "hid_t", "spatial_depth", "temporal_depth", "patch_size", "context", "future"))
        check_kernel_size(self.filter_size, "filter_size")
        if not is_int(self.filter_cells) or self.filter_cells < 0:
            raise ConfigError(f"model.filter_cells must be an integer >= 0 (0: no coarse stage), got {self.filter_cells}")
        check_motion(self)
        if not self.layer_scale > 0:
            raise ConfigError(f"model.layer_scale must be > 0, got {self.layer_scale}", hint="OpenSTL uses 0.01")
        if not is_int(self.lka_dilation) or self.lka_dilation < 1:
            raise ConfigError(f"model.lka_dilation must be an integer >= 1, got {self.lka_dilation}",
                              hint="gSTA uses 3; 1 is the cheaper undilated convolution")
        if not self.mlp_ratio > 0:
            raise ConfigError(f"model.mlp_ratio must be > 0, got {self.mlp_ratio}", hint="SimVP uses 4 or 8")


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    """3x3 convolution, GroupNorm (2 groups, as SimVP's ConvSC) and SiLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(2 if cout % 2 == 0 else 1, cout), nn.SiLU())


class _LargeKernelAttention(nn.Module):
    """The gating of gSTA: ``u * (1x1 . dw7x7 dilation d . dw5x5)(u)``, a ``5 + 6 d``-cell receptive field."""

    def __init__(self, dim: int, dilation: int = 3):
        super().__init__()
        self.local = nn.Conv2d(dim, dim, 5, padding=2, groups=dim)
        self.wide = nn.Conv2d(dim, dim, 7, padding=3 * dilation, dilation=dilation, groups=dim)
        self.mix = nn.Conv2d(dim, 2 * dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        f, g = self.mix(self.wide(self.local(x))).chunk(2, dim=1)
        return torch.sigmoid(g) * f


class _GSTABlock(nn.Module):
    """One translator block: ``x + s1 * attention(norm(x))``, then ``x + s2 * mlp(norm(x))``."""

    def __init__(self, dim: int, mlp_ratio: float, layer_scale: float = 1e-2, dilation: int = 3):
        super().__init__()
        hidden = max(1, round(dim * mlp_ratio))
        self.norm1 = nn.GroupNorm(1, dim)
        self.attn = nn.Sequential(nn.Conv2d(dim, dim, 1), nn.GELU(), _LargeKernelAttention(dim, dilation),
                                  nn.Conv2d(dim, dim, 1))
        self.norm2 = nn.GroupNorm(1, dim)
        self.mlp = nn.Sequential(nn.Conv2d(dim, hidden, 1), nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden),
                                 nn.GELU(), nn.Conv2d(hidden, dim, 1))
        self.scale1 = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.scale2 = nn.Parameter(torch.full((dim, 1, 1), layer_scale))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.scale1 * self.attn(self.norm1(x))
        return x + self.scale2 * self.mlp(self.norm2(x))


@MODELS.register("simvp", config=SimVPConfig, family="predictor")
class SimVP(nn.Module):
    """Encoder, gSTA translator and decoder from ``config.context`` frames to ``config.future`` frames.

    Built and called like every predictor (see :mod:`vidgen.models.predictor`); the training
    clips need ``context + future`` frames and a resolution divisible by ``config.patch_size``.
    """

    objective_options = ()  # no teacher forcing, no context loss (see PredictorObjective)

    trainable = True

    def __init__(
        self, *, config: SimVPConfig, frames: int, resolution: int, channels: int, num_classes: int = 0
    ):
        super().__init__()
        p = setup(self, "simvp", config, frames=frames, resolution=resolution, channels=channels)
        s, t = config.hid_s, config.hid_t
        self.motion = None  # the optional motion input, read beside every context frame
        if config.motion_radius:
            self.motion = FrameCorrelation(channels, p, config.motion_radius, config.motion_stride)
        extra = self.motion.out_channels if self.motion is not None else 0
        self.encoder = nn.ModuleList([_conv_block(channels * p * p + extra, s)] +
                                     [_conv_block(s, s) for _ in range(config.spatial_depth - 1)])
        self.translate_in = nn.Conv2d(config.context * s, t, 1)
        self.translator = nn.Sequential(*[_GSTABlock(t, config.mlp_ratio, config.layer_scale, config.lka_dilation)
                                          for _ in range(config.temporal_depth)])
        self.translate_out = nn.Conv2d(t, config.future * s, 1)
        self.decoder = nn.ModuleList([_conv_block(s, s) for _ in range(config.spatial_depth - 1)] +
                                     [_conv_block(2 * s, s)])
        self.head = FrameHead(s, channels, p, config.output, config.filter_size,  # features + last frame -> frame
                              cell_radius=config.filter_cells)

    def _block(self, context: Tensor) -> Tensor:
        """``config.context`` frames ``[B, Tc, C, H, W]`` -> the next ``config.future`` frames, same layout."""
        b, tc = context.shape[:2]
        frames = patchify(context, self.patch_size)  # [B, Tc, C*p*p, h, w]
        last = frames[:, -1]
        if self.motion is not None:  # each frame with its correlation to the one before (zeros for the first)
            motion = [self.motion(frames[:, i - 1] if i else None, frames[:, i]) for i in range(tc)]
            frames = torch.cat([frames, torch.stack(motion, 1)], dim=2)
        x = frames.flatten(0, 1)  # [B*Tc, C*p*p (+ motion), h, w]
        skip = None
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i == 0:
                skip = x.unflatten(0, (b, tc))[:, -1]  # the last frame's first features: [B, hid_s, h, w]
        h, w = x.shape[-2:]
        z = self.translate_out(self.translator(self.translate_in(x.reshape(b, -1, h, w))))
        tf = self.future
        y = z.reshape(b * tf, -1, h, w)  # [B*Tf, hid_s, h, w]
        for layer in self.decoder[:-1]:
            y = layer(y)
        skip = skip[:, None].expand(-1, tf, -1, -1, -1).flatten(0, 1)
        y = self.decoder[-1](torch.cat([y, skip], dim=1))
        out = self.head(y, last[:, None].expand(-1, tf, -1, -1, -1).flatten(0, 1))  # [B*Tf, C*p*p, h, w]
        return unpatchify(out.unflatten(0, (b, tf)), self.patch_size)  # [B, Tf, C, H, W]

    def forward(
        self,
        context: Tensor,
        *,
        future: int,
        target: Tensor | None = None,
        teacher_forcing: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Predict ``future`` frames after ``context [B, Tc, C, H, W]``: ``[B, future, C, H, W]``.

        The arguments are those of :func:`vidgen.nn.recurrent.rollout`; ``target``,
        ``teacher_forcing`` and ``generator`` are checked and otherwise unused (nothing is fed
        back while training). Any ``Tc >= 1`` and any ``future >= 1`` work (see the module notes).
        """
        check_rollout_args(context, future=future, target=target, teacher_forcing=teacher_forcing,
                           channels=self.channels)
        frames = context
        if frames.shape[1] < self.context:  # pad in front with copies of the first frame
            pad = frames[:, :1].expand(-1, self.context - frames.shape[1], -1, -1, -1)
            frames = torch.cat([pad, frames], dim=1)
        preds: list[Tensor] = []
        made = 0
        while made < future:
            block = self._block(frames[:, -self.context:])
            preds.append(block)
            made += block.shape[1]
            if made < future:
                frames = torch.cat([frames[:, -self.context:], block], dim=1)
        return torch.cat(preds, dim=1)[:, :future]
