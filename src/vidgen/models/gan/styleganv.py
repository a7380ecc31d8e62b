"""``styleganv``: a continuous-time video GAN after StyleGAN-V (Skorokhodov, Tulyakov & Elhoseiny,
CVPR 2022), sized for CPU budgets.

**Generator.** A clip is one content code and a motion trajectory in continuous time:

- content: ``w = mapping(z_c [, embed(y)])``, one per clip (StyleGAN's mapping MLP);
- motion: random motion codes sit on a coarse time grid, one every ``s = motion_spacing``
  frames. Two acausal 1D convolutions over them (``motion_kernel`` wide, no padding, so no
  edge effects at any length) give the trajectory ``u_0, u_1, ...``. A frame at time ``t``
  between grid points ``g = floor(t / s)`` and ``g + 1`` gets the motion code (StyleGAN-V's
  aligned time encoder)::

      v(t) = e(a s) - lerp(e(0), e(s), a) + lerp(A u_g, A u_{g+1}, a),   a = t / s - g
      e(x) = [sin, cos](f * (tanh(P u_g) + 1) * x + (Q u_g) * f / f_min)

  sin/cos features at fixed frequencies ``f`` whose periods and phases the left code
  modulates, minus their straight line between the two grid points, plus the straight line
  between the grid points' learned "aligners" ``A u``: ``v`` is continuous in ``t``, follows
  the trajectory at the grid points and carries periodic detail in between. The sinusoids
  run on the time since the left grid point (the reference feeds absolute ``t``, which adds
  a per-segment phase the codes already randomise): float32 keeps its precision at any
  length, and the motion process is the same wherever a clip starts;
- synthesis: a StyleGAN2 generator in 2D, from a learned 4x4 constant up to the resolution
  with modulated and demodulated convolutions (per resolution a 4x4 transposed one that
  doubles the size, then a 3x3) and a skip architecture of ``toRGB`` layers, every layer
  styled by ``[w, v(t)]``; the frames of a batch are drawn together (``[B*T, ...]``),
  ``tanh`` output.

Time is continuous: ``generator.render(z, times)`` draws frames at any times ``>= 0``
(fractional ones too) and ``generator(z, frames=N)`` is ``render`` at ``t = 0 .. N-1``.

The noise vector ``z`` holds everything random, so a seed gives one clip at every length::

    z = [ z_c (content_dim) | m_0 .. m_{K-1} (K motion codes of motion_dim) ]

Frames up to time ``t`` need ``floor(t / s) + 2`` grid points, and the convolutions
``2 (motion_kernel - 1)`` codes more; ``K`` covers ``max_frames`` frames (default: the
training length). Longer clips continue with codes drawn from CPU generators seeded by a hash
of ``z`` (blocks of 64 codes, block ``b`` seeded with ``blake2b(z bytes, b)``): the same ``z``
gives the same clip at every length, and the first frames of a long clip are the short clip.

**Discriminator.** StyleGAN-V's economy: it judges ``k = d_frames`` (3) frames of each clip
and the time gaps between them, not all ``T`` frames. A residual 2D network runs over the
frames (batched) down to ``min(16, resolution / 2)``; there the k frames' feature maps are
concatenated along channels (in time order) and a joint network goes on to 4x4 and a vector
``o``. The gaps (sin/cos features) and, for a conditional model, the class embedding go
through an MLP to a vector ``c``; the logit is the projection ``<o, c> / sqrt(dim)``
(StyleGAN2's conditioning, which StyleGAN-V uses for the gaps): the network judges frames a
known time apart. In training mode every call draws k distinct frames per clip with torch's
global generator (the engine seeds it and saves it in checkpoints; MoCoGAN's image
discriminator does the same); in eval mode, and when a clip has exactly k frames, the frames
are spread evenly, ``round(linspace(0, T - 1, k))``. ``discriminator.score(frames, times)``
judges given frames at given times.

Left out of the reference: equalized learning rates and the mapping's 0.01 learning-rate
multiplier (plain layers initialised at the same scale, so spectral normalisation applies
and one learning rate serves all), per-pixel noise inputs (a clip depends on ``z`` alone),
the minibatch standard-deviation layer (clips are judged independently, as WGAN-GP's
per-clip penalty and a split into processes expect), the learned embedding of integer gaps
(sin/cos features only, so any gap works), and rendering only the frames the discriminator
sees: the GAN contract has the generator make whole clips, so in training it draws all ``T``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vidgen.errors import ConfigError
from vidgen.models.gan.common import (
    GANOptions,
    apply_spectral_norm,
    check_at_least_one,
    check_label,
    class_count,
    class_head,
    classify,
    projection_classes,
    seeded_latents,
    spatial_stages,
    to_pixels,
)
from vidgen.registry import MODELS

_HASH_BLOCK = 64  # motion codes per hash-seeded block past the ones z carries
_GAIN = math.sqrt(2.0)  # leaky ReLU's gain (StyleGAN's); the generator folds it into the next modulation


@dataclass
class StyleGANVConfig(GANOptions):
    """Latent sizes, widths and options of StyleGAN-V (loss and stabilisers: :class:`GANOptions`)."""

    content_dim: int = 64  # z_c, one per clip
    w_dim: int = 128  # the content code w (mapping output)
    mapping_layers: int = 2  # StyleGAN uses 8; 2 is plenty at these sizes
    motion_dim: int = 32  # a motion code on the time grid (noise and trajectory)
    motion_spacing: int = 4  # frames between grid points (StyleGAN-V's motion_z_distance)
    motion_kernel: int = 3  # width of the two acausal convolutions over the grid codes
    time_freqs: int = 16  # sin/cos frequencies of the motion code v(t) (2x dims), and of D's gap features
    max_frames: int = 0  # frames whose motion codes z carries (0: the training clip length)
    embed_dim: int = 32  # class embedding (conditional only)
    # widths at the finest resolution, doubling per coarser one up to max_channels
    g_channels: int = 12
    d_channels: int = 16
    max_channels: int = 128
    d_frames: int = 3  # k: frames per clip the discriminator judges

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least_one(self, ("content_dim", "w_dim", "mapping_layers", "motion_dim", "motion_spacing",
                                  "motion_kernel", "time_freqs", "embed_dim", "g_channels", "d_channels", "max_channels",
                                  "d_frames"))
        if self.max_frames < 0:
            raise ConfigError(f"model.max_frames must be >= 0 (0: the training clip length), got {self.max_frames}")


def plan_stages(resolution: int) -> int:
    """Number of 2x spatial stages between 4x4 and ``resolution`` (4 times a power of two, >= 8)."""
    return spatial_stages("styleganv", resolution)


def motion_codes_needed(t_max: float, spacing: int, kernel: int) -> int:
    """Grid codes that frames at times ``0 .. t_max`` read: the two grid points around each
    time, and the ``2 (kernel - 1)`` codes the two unpadded convolutions consume."""
    return int(t_max // spacing) + 2 + 2 * (kernel - 1)


def _act(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU with StyleGAN's gain sqrt(2), which keeps unit-variance activations at unit variance."""
    return F.leaky_relu(x, 0.2) * _GAIN


def _init(layer: nn.Module, bias: float = 0.0) -> nn.Module:
    """Weights N(0, 1/fan_in) (He's scale, with the gain in :func:`_act`), biases ``bias``."""
    nn.init.normal_(layer.weight, 0.0, 1.0 / math.sqrt(layer.weight[0].numel()))
    if getattr(layer, "bias", None) is not None:
        nn.init.constant_(layer.bias, bias)
    return layer


def _normalize(x: torch.Tensor) -> torch.Tensor:
    """StyleGAN's normalize_2nd_moment: each row to unit mean square."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


def _frequencies(count: int, shortest: float, longest: float) -> torch.Tensor:
    """``[count]`` angular frequencies ``2 pi / period``, periods log-spaced from ``longest`` to ``shortest``."""
    periods = 2.0 ** torch.linspace(math.log2(longest), math.log2(shortest), count)
    return 2 * math.pi / periods


def _hashed_codes(z: torch.Tensor, start: int, stop: int, dim: int) -> torch.Tensor:
    """Motion codes ``start .. stop-1`` past those in ``z``: ``[B, stop - start, dim]``, standard normal.

    Code ``start + j`` lies in block ``j // 64``, drawn by a CPU generator seeded with a hash
    of the clip's ``z`` (float32 bytes) and the block index: a code does not depend on the
    batch, the device, or how many codes are asked for (prefixes agree).
    """
    blocks = (stop - start + _HASH_BLOCK - 1) // _HASH_BLOCK
    rows = []
    for zi in z.detach().float().cpu():
        key = zi.numpy().tobytes()
        parts = []
        for b in range(blocks):
            digest = hashlib.blake2b(key + b.to_bytes(8, "little"), digest_size=8).digest()
            gen = torch.Generator().manual_seed(int.from_bytes(digest, "little") % 2**63)
            parts.append(torch.randn(_HASH_BLOCK, dim, generator=gen))
        rows.append(torch.cat(parts)[: stop - start])
    return torch.stack(rows).to(device=z.device, dtype=z.dtype)


# --- generator -----------------------------------------------------------------------------


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Depthwise ``[1, 2, 1] / 4`` filter along both axes of ``x [N, C, H, W]`` (unit gain, zero padding).

    It removes the highest frequency (a period of 2 pixels) completely: the checkerboard of an
    unfiltered stride-2 transposed convolution.
    """
    c = x.shape[1]
    taps = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device) / 4
    kernel = (taps[:, None] * taps[None, :]).expand(c, 1, 3, 3)
    return F.conv2d(x, kernel, padding=1, groups=c)


class ModulatedConv(nn.Module):
    """StyleGAN2's modulated convolution: ``x [N, I, H, W]``, ``style [N, S]`` -> ``[N, O, H', W']``.

    Each sample's kernel is ``W * s`` with ``s = affine(style)`` per input channel, and with
    ``demodulate`` divided by its norm per output channel (which keeps activations at unit
    scale whatever the style). Computed as ``conv(x * s) * d`` with the shared kernel: one
    ordinary batched convolution. ``gain`` scales the input (the previous activation's gain,
    folded into the modulation to save a pass over memory). ``up``: a 4x4 transposed
    convolution of stride 2 followed by StyleGAN2's low-pass filter (here the binomial
    ``[1, 2, 1]`` in each direction): the four output phases of a stride-2 transposed
    convolution read four different 2x2 parts of its kernel, and without the filter their
    differences show as a dot lattice in the frames (what the unfiltered model drew after 15
    minutes, docs/training.md). Adds a bias; no activation.
    """

    def __init__(self, c_in: int, c_out: int, style_dim: int, *, kernel: int = 3, demodulate: bool = True,
                 up: bool = False):
        super().__init__()
        kernel = 4 if up else kernel
        shape = (c_in, c_out, kernel, kernel) if up else (c_out, c_in, kernel, kernel)
        self.weight = nn.Parameter(torch.randn(shape) / math.sqrt(c_in * kernel**2))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.affine = _init(nn.Linear(style_dim, c_in), bias=1.0)  # styles start at 1: the plain convolution
        self.demodulate, self.up, self.padding = demodulate, up, kernel // 2

    def forward(self, x: torch.Tensor, style: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        s = self.affine(style)  # [N, I]
        x = x * (s * gain)[:, :, None, None]
        if self.up:
            x = _blur(F.conv_transpose2d(x, self.weight, stride=2, padding=1))
            energy = self.weight.square().sum(dim=(2, 3))  # [I, O]
        else:
            x = F.conv2d(x, self.weight, padding=self.padding)
            energy = self.weight.square().sum(dim=(2, 3)).t()  # [I, O]
        if not self.demodulate:
            return x + self.bias[None, :, None, None]
        d = torch.rsqrt(s.square() @ energy + 1e-8)  # [N, O]
        if self.up:
            d = d * 2  # an output of the stride-2 transposed convolution reads a quarter of the taps
        return torch.addcmul(self.bias[None, :, None, None], x, d[:, :, None, None])


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: modulated 2x-up and 3x3 convolutions, toRGB."""

    def __init__(self, c_in: int, c_out: int, style_dim: int, channels: int):
        super().__init__()
        self.conv0 = ModulatedConv(c_in, c_out, style_dim, up=True)
        self.conv1 = ModulatedConv(c_out, c_out, style_dim)
        self.rgb = ModulatedConv(c_out, channels, style_dim, kernel=1, demodulate=False)

    def forward(self, x: torch.Tensor, img: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` the previous block's features after leaky ReLU (without its gain), ``img`` its RGB."""
        x = F.leaky_relu(self.conv0(x, style, _GAIN), 0.2)
        x = F.leaky_relu(self.conv1(x, style, _GAIN), 0.2)
        img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False) + self.rgb(x, style, _GAIN)
        return x, img


class Synthesis(nn.Module):
    """Per-frame styles ``[N, style_dim]`` -> frames ``[N, C, H, W]`` in ``[-1, 1]`` (StyleGAN2's skip design)."""

    def __init__(self, *, cfg: StyleGANVConfig, style_dim: int, resolution: int, channels: int):
        super().__init__()
        self.output = cfg.g_output
        stages = plan_stages(resolution)

        def width(r: int) -> int:
            return min(cfg.max_channels, cfg.g_channels * resolution // r)

        self.const = nn.Parameter(torch.randn(width(4), 4, 4))
        self.conv = ModulatedConv(width(4), width(4), style_dim)
        self.rgb = ModulatedConv(width(4), channels, style_dim, kernel=1, demodulate=False)
        self.blocks = nn.ModuleList(
            SynthesisBlock(width(4 * 2**i), width(8 * 2**i), style_dim, channels) for i in range(stages))

    def forward(self, style: torch.Tensor) -> torch.Tensor:
        x = self.const.expand(style.shape[0], -1, -1, -1)  # [N, C, 4, 4]
        x = x.contiguous(memory_format=torch.channels_last)  # mkldnn's fast layout; the ops below keep it
        x = F.leaky_relu(self.conv(x, style), 0.2)
        img = self.rgb(x, style, _GAIN)
        for block in self.blocks:
            x, img = block(x, img, style)
        return to_pixels(img, self.output, self.training).contiguous()


class Motion(nn.Module):
    """Motion codes ``v(t)`` ``[B, T, 2 time_freqs]`` from grid noise ``[B, K, motion_dim]`` (module docstring)."""

    def __init__(self, *, cfg: StyleGANVConfig, label_dim: int):
        super().__init__()
        d, k, n = cfg.motion_dim, cfg.motion_kernel, cfg.time_freqs
        self.spacing = cfg.motion_spacing
        self.convs = nn.ModuleList([_init(nn.Conv1d(d + label_dim, d, k)), _init(nn.Conv1d(d, d, k))])
        # periods from 2 frames (the fastest motion frames can show) to 4 grid spacings (slower
        # motion is the trajectory's job); phases scaled by f / f_min, so that a code shifts
        # every sinusoid by the same time
        freqs = _frequencies(n, 2.0, 4.0 * self.spacing)
        self.register_buffer("freqs", freqs, persistent=False)
        self.register_buffer("phase_scales", freqs / freqs.min(), persistent=False)
        # no biases, as in StyleGAN-V: a bias would give every clip the same motion
        self.period = _init(nn.Linear(d, n, bias=False))
        self.phase = _init(nn.Linear(d, n, bias=False))
        self.align = _init(nn.Linear(d, 2 * n, bias=False))

    def trajectory(self, noise: torch.Tensor, label: torch.Tensor | None) -> torch.Tensor:
        """Grid codes ``[B, K, D]`` (and label embedding ``[B, E]``) -> trajectory ``u`` ``[B, K - 2(k-1), D]``."""
        x = noise
        if label is not None:  # classes may move differently: StyleGAN-V feeds the class here too
            x = torch.cat([x, label[:, None].expand(-1, x.shape[1], -1)], dim=2)
        x = x.transpose(1, 2)  # [B, D, K]
        for conv in self.convs:
            x = _act(conv(x))
        return x.transpose(1, 2)  # [B, L, D]

    def forward(self, noise: torch.Tensor, times: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        u = self.trajectory(noise, label)
        s = self.spacing
        g = torch.div(times, s, rounding_mode="floor").long()  # [T] left grid point
        t_left = g.to(times.dtype) * s
        a = ((times - t_left) / s)[None, :, None]  # [1, T, 1] position between the grid points
        u_left, u_right = u[:, g], u[:, g + 1]  # [B, T, D]
        # the sinusoids and the interpolation run in float32 whatever the autocast dtype of the
        # linear layers (lerp also needs its operands and weight in one dtype)
        period = torch.tanh(self.period(u_left).float()) + 1  # [B, T, F] in (0, 2)
        phase = self.phase(u_left).float() * self.phase_scales

        def features(t: torch.Tensor) -> torch.Tensor:  # t: time since the left grid point
            raw = self.freqs * period * t[None, :, None] + phase  # [B, T, F]
            return torch.cat([raw.sin(), raw.cos()], dim=2)

        chord = torch.lerp(features(torch.zeros_like(times)), features(torch.full_like(times, s)), a)
        aligned = torch.lerp(self.align(u_left).float(), self.align(u_right).float(), a)
        return features(times - t_left) - chord + aligned


class Generator(nn.Module):
    """``z [B, z_dim]`` (and ``label [B]``) -> video ``[B, T, C, H, W]`` in ``[-1, 1]``, any ``T``."""

    def __init__(self, *, cfg: StyleGANVConfig, frames: int, resolution: int, channels: int, num_classes: int):
        super().__init__()
        self.cfg, self.frames, self.num_classes = cfg, frames, num_classes
        self.slots = motion_codes_needed((cfg.max_frames or frames) - 1, cfg.motion_spacing, cfg.motion_kernel)
        self.z_dim = cfg.content_dim + self.slots * cfg.motion_dim
        self.embed = nn.Embedding(num_classes, cfg.embed_dim) if num_classes else None
        label_dim = cfg.embed_dim if num_classes else 0
        dims = [cfg.content_dim + label_dim] + [cfg.w_dim] * cfg.mapping_layers
        self.mapping = nn.ModuleList(_init(nn.Linear(a, b)) for a, b in zip(dims[:-1], dims[1:]))
        self.motion = Motion(cfg=cfg, label_dim=label_dim)
        self.synthesis = Synthesis(cfg=cfg, style_dim=cfg.w_dim + 2 * cfg.time_freqs, resolution=resolution,
                                   channels=channels)

    def _codes(self, z: torch.Tensor, count: int) -> torch.Tensor:
        """The first ``count`` motion codes of each clip ``[B, count, motion_dim]``: from ``z``, then hashed."""
        d = self.cfg.motion_dim
        codes = z[:, self.cfg.content_dim:].reshape(z.shape[0], self.slots, d)[:, :count]
        if count > self.slots:
            codes = torch.cat([codes, _hashed_codes(z, self.slots, count, d)], dim=1)
        return codes

    def render(self, z: torch.Tensor, times: torch.Tensor | list[float], label: torch.Tensor | None = None
               ) -> torch.Tensor:
        """Frames of each clip at ``times`` (``[T]``, frame units, any values ``>= 0``) -> ``[B, T, C, H, W]``."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must be [B, {self.z_dim}] (model.z_dim), got {tuple(z.shape)}")
        times = torch.as_tensor(times, dtype=torch.float32).reshape(-1).to(z.device)
        if times.numel() == 0 or not torch.isfinite(times).all() or (times < 0).any():
            raise ValueError(f"times must be one or more finite times >= 0, got {times.tolist()}")
        B, T = z.shape[0], times.numel()
        label = check_label("styleganv", self.num_classes, label, B)
        y = None if self.embed is None else _normalize(self.embed(label.to(z.device)).to(z.dtype))
        cfg = self.cfg
        w = _normalize(z[:, :cfg.content_dim])
        if y is not None:
            w = torch.cat([w, y], dim=1)
        for layer in self.mapping:
            w = _act(layer(w))  # [B, w_dim]
        count = motion_codes_needed(float(times.max()), cfg.motion_spacing, cfg.motion_kernel)
        v = self.motion(self._codes(z, count), times.to(z.dtype), y)  # [B, T, 2F]
        style = torch.cat([w[:, None].expand(-1, T, -1), v], dim=2).reshape(B * T, -1)
        out = self.synthesis(style)  # [B*T, C, H, W]
        return out.reshape(B, T, *out.shape[1:])

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None, frames: int | None = None) -> torch.Tensor:
        T = self.frames if frames is None else int(frames)
        if T < 1:
            raise ConfigError(f"styleganv generates clips of >= 1 frame, asked for {T}")
        return self.render(z, torch.arange(T, dtype=torch.float32), label)


# --- discriminator -------------------------------------------------------------------------


class DiscriminatorBlock(nn.Module):
    """StyleGAN2's residual block: ``[N, I, r, r]`` -> ``[N, O, r/2, r/2]`` (3x3, then 2x down and 3x3)."""

    def __init__(self, c_in: int, c_mid: int, c_out: int):
        super().__init__()
        self.conv0 = _init(nn.Conv2d(c_in, c_mid, 3, padding=1))
        self.conv1 = _init(nn.Conv2d(c_mid, c_out, 3, padding=1))
        self.skip = _init(nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.skip(F.avg_pool2d(x, 2))
        x = _act(self.conv1(F.avg_pool2d(_act(self.conv0(x)), 2)))
        return (x + y) * math.sqrt(0.5)


class Discriminator(nn.Module):
    """video ``[B, T, C, H, W]`` (``T >= d_frames``; and ``label [B]``) -> one logit per clip ``[B]``."""

    def __init__(self, *, cfg: StyleGANVConfig, frames: int, resolution: int, channels: int, num_classes: int):
        super().__init__()
        plan_stages(resolution)
        self.k, self.num_classes = cfg.d_frames, num_classes

        def width(r: int) -> int:
            return min(cfg.max_channels, cfg.d_channels * resolution // r)

        self.concat_res = min(16, resolution // 2)
        self.from_rgb = _init(nn.Conv2d(channels, width(resolution), 1))
        blocks, r = [], resolution
        while r > self.concat_res:  # per frame, where the maps are large
            blocks.append(DiscriminatorBlock(width(r), width(r), width(r // 2)))
            r //= 2
        self.frame_blocks = nn.Sequential(*blocks)
        blocks, c = [], self.k * width(r)
        while r > 4:  # the k frames side by side along channels
            blocks.append(DiscriminatorBlock(c, width(r), width(r // 2)))
            c, r = width(r // 2), r // 2
        self.joint_blocks = nn.Sequential(*blocks)
        c4 = width(4)
        self.conv = _init(nn.Conv2d(c, c4, 3, padding=1))
        self.fc = _init(nn.Linear(c4 * 16, c4))
        # the projection's vector c from the gaps between the frames and the class
        self.register_buffer("gap_freqs", _frequencies(cfg.time_freqs, 2.0, 4.0 * max(frames, 2)), persistent=False)
        cond_dim = (self.k - 1) * 2 * cfg.time_freqs + (cfg.embed_dim if num_classes else 0)
        self.cmap_dim = c4 if cond_dim else 0
        self.out = _init(nn.Linear(c4, self.cmap_dim or 1))
        self.embed = nn.Embedding(num_classes, cfg.embed_dim) if num_classes else None
        self.cond = (nn.ModuleList([_init(nn.Linear(cond_dim, c4)), _init(nn.Linear(c4, c4))]) if cond_dim
                     else nn.ModuleList())
        self.classifier = class_head(cfg, num_classes, c4)  # AC-GAN's class head (model.aux_class)

    def pick(self, batch: int, frames: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Frame indices ``[batch, k]``, increasing: random distinct frames per clip in training mode
        (torch's global generator), ``round(linspace(0, frames - 1, k))`` in eval mode or when ``frames == k``."""
        if frames < self.k:
            raise ValueError(f"styleganv's discriminator judges {self.k} frames per clip (model.d_frames), "
                             f"got clips of {frames}")
        if self.training and frames > self.k:
            return torch.rand(batch, frames, device=device).argsort(dim=1)[:, :self.k].sort(dim=1).values
        spread = torch.linspace(0, frames - 1, self.k, device=device).round().long()
        return spread.expand(batch, self.k)

    def score(self, frames: torch.Tensor, times: torch.Tensor, label: torch.Tensor | None = None,
              classes: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[B]`` of ``frames [B, k, C, H, W]`` shown at ``times [B, k]`` (frame units, in order);
        with ``classes=True`` also the class head's logits ``[B, classes]``."""
        logits, h = self._score(frames, times, label)
        return (logits, classify(self.classifier, h)) if classes else logits

    def _score(self, frames: torch.Tensor, times: torch.Tensor,
               label: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[B]`` and the last features ``[B, C]``."""
        B, k = frames.shape[:2]
        if k != self.k or times.shape != (B, k):
            raise ValueError(f"score() takes frames [B, {self.k}, C, H, W] and times [B, {self.k}], "
                             f"got {tuple(frames.shape)} and {tuple(times.shape)}")
        label = check_label("styleganv", self.num_classes, label, B)
        x = frames.flatten(0, 1).contiguous(memory_format=torch.channels_last)  # [B*k, C, H, W]
        h = self.frame_blocks(_act(self.from_rgb(x)))  # [B*k, C, r, r]
        h = self.joint_blocks(h.reshape(B, k * h.shape[1], *h.shape[2:]))  # [B, k*C, r, r] in
        h = _act(self.fc(_act(self.conv(h)).flatten(1)))
        out = self.out(h)  # [B, cmap_dim or 1]
        if not self.cmap_dim:
            return out[:, 0], h
        cond = []
        if k > 1:
            gaps = (times[:, 1:] - times[:, :-1]).to(out.dtype)[:, :, None] * self.gap_freqs  # [B, k-1, F]
            cond.append(torch.cat([gaps.sin(), gaps.cos()], dim=2).flatten(1))
        if self.embed is not None:
            cond.append(_normalize(self.embed(label.to(out.device)).to(out.dtype)))
        c = _act(self.cond[0](torch.cat(cond, dim=1)))
        c = self.cond[1](c)  # [B, cmap_dim]
        return (out * c).sum(dim=1) / math.sqrt(self.cmap_dim), h

    def forward(self, video: torch.Tensor, label: torch.Tensor | None = None,
                classes: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        B, T = video.shape[:2]
        times = self.pick(B, T, video.device)
        frames = video[torch.arange(B, device=video.device)[:, None], times]  # [B, k, C, H, W]
        return self.score(frames, times, label, classes=classes)


@MODELS.register("styleganv", config=StyleGANVConfig, family="gan")
class StyleGANV(nn.Module):
    """StyleGAN-V: content and continuous-time motion codes styling a 2D generator; a discriminator of k frames.

    Args:
        config: latent sizes, widths and options.
        frames, resolution, channels: the clip shape ``[T, C, H, W]`` it trains on; the
            generator makes clips of any length (``generator(z, frames=N)``) and frames at any
            times (``generator.render(z, times)``).
        num_classes: classes of the dataset; needed (>= 2) when ``config.conditional``.

    ``z_dim`` is ``content_dim + K * motion_dim`` (see the module docstring); ``num_classes``
    is the number of labels the model reads (0 when unconditional).
    """

    any_length = True

    def __init__(self, *, config: StyleGANVConfig, frames: int, resolution: int, channels: int,
                 num_classes: int = 0):
        super().__init__()
        if config.max_frames and config.max_frames < frames:
            raise ConfigError(f"model.max_frames ({config.max_frames}) must be 0 or >= data.frames ({frames}): "
                              "the training clips read all their motion codes from z",
                              hint=f"set model.max_frames=0 or >= {frames}")
        if config.d_frames > frames:
            raise ConfigError(f"model.d_frames ({config.d_frames}) must be <= data.frames ({frames}): the "
                              "discriminator judges that many distinct frames of every clip",
                              hint=f"set model.d_frames={min(3, frames)} or train on longer clips")
        self.config = config
        self.frames = frames
        self.num_classes = class_count("styleganv", config, num_classes)
        shape = dict(cfg=config, frames=frames, resolution=resolution, channels=channels, num_classes=self.num_classes)
        self.generator = Generator(**shape)
        self.discriminator = Discriminator(**{**shape, "num_classes": projection_classes(config, self.num_classes)})
        self.z_dim = self.generator.z_dim
        if config.spectral_norm:
            apply_spectral_norm(self.discriminator)

    def latents(self, seeds: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
        """One noise vector per seed, ``[len(seeds), z_dim]``: sample i depends on its seed only."""
        return seeded_latents(self.z_dim, seeds, device)
