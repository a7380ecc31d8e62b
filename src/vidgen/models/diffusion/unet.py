"""``video_unet``: the diffusion family's denoiser, a U-Net over frames with factorised space and time.

The network ``F`` works on each frame with 2-D layers and mixes frames with 1-D ones:

- **Residual blocks** per frame (GroupNorm, SiLU, 3x3 convolutions) whose scale and shift come
  from the noise level's embedding (plus the class's), each followed by a **temporal block**: a
  residual 1-D convolution over the frames at every pixel (kernel 3, zero-initialised, so a
  block starts as a per-frame network);
- **attention** at the resolutions in ``attention`` (by their downsampling level): spatial
  self-attention within each frame, then temporal self-attention across the frames at each
  pixel;
- ``levels`` of 2x downsampling (strided convolutions) and upsampling (nearest + 3x3) with
  skip connections, widths ``width * mults[level]``.

Its input per frame is the noisy frame (scaled by ``c_in``), the conditioning frame (the clean
frame where it is given, zero elsewhere) and the mask (1 where given): masked frame
conditioning as in MCVD, so one network generates, continues and fills in clips.

:class:`VideoUNet` wraps ``F`` in EDM's preconditioning (Karras et al., NeurIPS 2022):
``D(x; sigma) = c_skip x + c_out F(c_in x; c_noise)`` with ``c_skip = s_d^2 / (sigma^2 + s_d^2)``,
``c_out = sigma s_d / sqrt(sigma^2 + s_d^2)``, ``c_in = 1 / sqrt(sigma^2 + s_d^2)``,
``c_noise = ln(sigma) / 4``: the network's input and target have unit variance at every noise
level, so one network trains well across them without a schedule to tune.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidgen.errors import ConfigError
from vidgen.registry import MODELS


@dataclass
class VideoUNetConfig:
    """Sizes of the denoiser, its data scale and whether it takes a class."""

    width: int = 32
    mults: tuple[int, ...] = (1, 2, 2)  # width multiplier per level: len(mults) - 1 downsamplings
    blocks: int = 1  # residual blocks per level
    attention: tuple[int, ...] = (2,)  # levels (0: full resolution) with spatial and temporal attention
    heads: int = 4
    temporal_kernel: int = 3
    dropout: float = 0.0
    sigma_data: float = 0.5  # the data's standard deviation (clips in [-1, 1])
    conditional: bool = False  # takes a class (the dataset's labels), with a null class for guidance

    def __post_init__(self) -> None:
        self.mults = tuple(self.mults)
        self.attention = tuple(self.attention)
        if self.width < 8 or self.width % 8 or not self.mults or min(self.mults) < 1:
            raise ConfigError(f"model.width must be a multiple of 8 (>= 8) and model.mults positive, got "
                              f"{self.width} and {list(self.mults)}")
        if any(not 0 <= a < len(self.mults) for a in self.attention):
            raise ConfigError(f"model.attention: levels are 0..{len(self.mults) - 1}, got {list(self.attention)}")
        if self.blocks < 1 or self.temporal_kernel < 1 or self.temporal_kernel % 2 == 0 or self.sigma_data <= 0:
            raise ConfigError("model.blocks must be >= 1, model.temporal_kernel odd and model.sigma_data > 0")


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, ch), ch)


class ResBlock(nn.Module):
    """``[N, cin, H, W] -> [N, cout, H, W]`` with the embedding's scale and shift (per frame)."""

    def __init__(self, cin: int, cout: int, emb: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb, 2 * cout)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(self.dropout(F.silu(h)))


def attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Softmax attention of ``[N, heads, L, D]`` tensors. On the CPU with short sequences (``L <= 128``:
    a frame of up to 11x11 tokens, or the frames of a clip) two matmuls and a float32 softmax, which
    train 2-6x faster there than PyTorch's CPU flash kernel; elsewhere ``scaled_dot_product_attention``."""
    if q.device.type == "cpu" and q.shape[-2] <= 128:
        scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
        return scores.float().softmax(dim=-1).to(v.dtype) @ v
    return F.scaled_dot_product_attention(q, k, v)


class TemporalConv(nn.Module):
    """A residual 1-D convolution across the frames at each pixel: ``[B * T, C, H, W]``, zero at start.

    It runs as a ``(k, 1, 1)`` 3-D convolution on the clip seen as ``[B, C, T, H, W]``: with
    channels-last frames that view needs no copy (a 1-D convolution over ``[B * H * W, C, T]``
    needs two transposing copies and trains ~1.7x slower).
    """

    def __init__(self, ch: int, kernel: int):
        super().__init__()
        self.norm = _norm(ch)
        self.conv = nn.Conv1d(ch, ch, kernel, padding=kernel // 2)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor, frames: int) -> Tensor:
        n, c, h, w = x.shape
        y = F.silu(self.norm(x)).view(n // frames, frames, c, h, w).transpose(1, 2)  # [B, C, T, H, W]
        k = self.conv.weight.shape[-1]
        y = F.conv3d(y, self.conv.weight.view(c, c, k, 1, 1), self.conv.bias, padding=(k // 2, 0, 0))
        return x + y.transpose(1, 2).reshape(n, c, h, w)


class Attention(nn.Module):
    """Residual self-attention within each frame (``temporal=False``) or across frames at each pixel."""

    def __init__(self, ch: int, heads: int, temporal: bool):
        super().__init__()
        self.heads, self.temporal = heads, temporal
        self.norm = _norm(ch)
        self.qkv = nn.Linear(ch, 3 * ch)
        self.out = nn.Linear(ch, ch)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor, frames: int) -> Tensor:
        n, c, h, w = x.shape
        y = self.norm(x).view(n // frames, frames, c, h * w)
        # tokens: the pixels of a frame, or the frames of a pixel
        tokens = y.permute(0, 3, 1, 2).reshape(-1, frames, c) if self.temporal else \
            y.permute(0, 1, 3, 2).reshape(-1, h * w, c)
        q, k, v = self.qkv(tokens).view(tokens.shape[0], tokens.shape[1], 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        o = attend(q, k, v).transpose(1, 2).reshape(tokens.shape)
        o = self.out(o)
        if self.temporal:  # [B * HW, T, C] -> [B * T, C, H, W]
            o = o.view(n // frames, h * w, frames, c).permute(0, 2, 3, 1)
        else:  # [B * T, HW, C] -> [B * T, C, H, W]
            o = o.view(n // frames, frames, h * w, c).permute(0, 1, 3, 2)
        return x + o.reshape(n, c, h, w)


class Level(nn.Module):
    """The blocks of one resolution: residual + temporal blocks, then attention where asked."""

    def __init__(self, cin: int, cout: int, n: int, emb: int, cfg: VideoUNetConfig, attention: bool):
        super().__init__()
        self.res = nn.ModuleList(ResBlock(cin if i == 0 else cout, cout, emb, cfg.dropout) for i in range(n))
        self.time = nn.ModuleList(TemporalConv(cout, cfg.temporal_kernel) for _ in range(n))
        self.attn = nn.ModuleList([Attention(cout, cfg.heads, False), Attention(cout, cfg.heads, True)]
                                  if attention else [])

    def forward(self, x: Tensor, emb: Tensor, frames: int) -> Tensor:
        for res, time in zip(self.res, self.time):
            x = time(res(x, emb), frames)
        for attn in self.attn:
            x = attn(x, frames)
        return x


def noise_embedding(c_noise: Tensor, dim: int) -> Tensor:
    """Sinusoidal features ``[B, dim]`` of ``c_noise [B]`` (as the positional embedding of a transformer)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=c_noise.device) / half)
    args = 1000 * c_noise.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


@MODELS.register("video_unet", config=VideoUNetConfig, family="diffusion")
class VideoUNet(nn.Module):
    """``forward(x, sigma, cond, mask, labels=None) -> D(x; sigma)``, all clips ``[B, T, C, H, W]``.

    ``sigma [B]``: each clip's noise level; ``cond``: the clean conditioning frames (any value
    where ``mask`` is 0), ``mask [B, T]``: 1 for a given frame; ``labels [B]``: classes (a
    conditional model; ``num_classes`` is the null class, the unconditional branch of guidance).
    """

    def __init__(self, *, config: VideoUNetConfig, frames: int, resolution: int, channels: int,
                 num_classes: int = 0):
        super().__init__()
        down = 2 ** (len(config.mults) - 1)
        if resolution % down:
            raise ConfigError(f"video_unet with {len(config.mults)} levels needs a resolution divisible by {down}, "
                              f"got {resolution}", hint="change data.resolution or model.mults")
        if config.conditional and num_classes < 2:
            raise ConfigError("model.conditional needs a dataset with classes", hint="e.g. data.name=shapes")
        self.config = config
        self.channels, self.frames = channels, frames
        self.num_classes = num_classes if config.conditional else 0
        self.sigma_data = config.sigma_data
        w = config.width
        emb = 4 * w
        self.emb_dim = w
        self.emb = nn.Sequential(nn.Linear(w, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label_emb = nn.Embedding(self.num_classes + 1, emb) if self.num_classes else None
        self.stem = nn.Conv2d(2 * channels + 1, w, 3, padding=1)
        widths = [w * m for m in config.mults]
        self.down_levels = nn.ModuleList()
        self.downsample = nn.ModuleList()
        cin = w
        for i, ch in enumerate(widths):
            self.down_levels.append(Level(cin, ch, config.blocks, emb, config, i in config.attention))
            cin = ch
            if i < len(widths) - 1:
                self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
        self.up_levels = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(len(widths))):
            self.up_levels.append(Level(cin + widths[i], widths[i], config.blocks, emb, config, i in config.attention))
            cin = widths[i]
            if i > 0:
                self.upsample.append(nn.Conv2d(cin, cin, 3, padding=1))
        self.head = nn.Sequential(_norm(w), nn.SiLU(), nn.Conv2d(w, channels, 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def raw(self, x: Tensor, c_noise: Tensor, cond: Tensor, mask: Tensor, labels: Tensor | None) -> Tensor:
        """``F``: the network without the preconditioning. ``x [B, T, C, H, W]`` is already scaled by ``c_in``."""
        b, t, c, h, w = x.shape
        emb = self.emb(noise_embedding(c_noise, self.emb_dim))
        if self.label_emb is not None:
            if labels is None:
                labels = torch.full((b,), self.num_classes, dtype=torch.long, device=x.device)  # the null class
            emb = emb + self.label_emb(labels)
        emb = emb.repeat_interleave(t, dim=0)  # [B * T, E]
        m = mask.to(x.dtype)[:, :, None, None, None].expand(b, t, 1, h, w)
        inp = torch.cat([x, cond * m, m], dim=2).reshape(b * t, 2 * c + 1, h, w)  # [B * T, 2C + 1, H, W]
        y = self.stem(inp)
        skips = []
        for i, level in enumerate(self.down_levels):
            y = level(y, emb, t)
            skips.append(y)
            if i < len(self.downsample):
                y = self.downsample[i](y)
        for j, level in enumerate(self.up_levels):
            y = level(torch.cat([y, skips.pop()], dim=1), emb, t)
            if j < len(self.upsample):
                y = self.upsample[j](F.interpolate(y, scale_factor=2.0, mode="nearest"))
        return self.head(y).view(b, t, c, h, w)

    def to_latent(self, video: Tensor) -> Tensor:
        """The clips the denoiser works on: pixels themselves here (``latent_video_unet`` encodes them)."""
        return video

    def from_latent(self, z: Tensor) -> Tensor:
        return z

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int, int]:
        """``(T, C, H, W)`` of the clips the denoiser works on for ``height x width`` frames."""
        return self.frames, self.channels, height, width

    def forward(self, x: Tensor, sigma: Tensor, cond: Tensor, mask: Tensor, labels: Tensor | None = None) -> Tensor:
        sd = self.sigma_data
        s = sigma.float().view(-1, 1, 1, 1, 1)
        c_skip = sd ** 2 / (s ** 2 + sd ** 2)
        c_out = s * sd / (s ** 2 + sd ** 2).sqrt()
        c_in = 1 / (s ** 2 + sd ** 2).sqrt()
        out = self.raw((c_in * x).to(x.dtype), sigma.float().log() / 4, cond, mask, labels)
        return c_skip * x.float() + c_out * out.float()
