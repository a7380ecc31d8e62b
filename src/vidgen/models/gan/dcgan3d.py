"""``dcgan3d``: the classic video GAN (VGAN/TGAN lineage) made real.

Generator: noise ``z`` -> a small ``[C, t0, 4, 4]`` volume -> 3D transposed convolutions
that double height and width at every stage (and time at the coarse stages) -> ``tanh``.
Discriminator: the mirror image with strided 3D convolutions down to one logit per clip.
Sizes come from the data (frames, resolution, channels) and the config (widths).

Options (besides the shared ones of :class:`~vidgen.models.gan.common.GANOptions`):

- ``two_stream``: VGAN's generator (Vondrick et al., 2016): a 3D foreground stream gives a
  moving foreground ``f`` and a mask ``m`` (sigmoid), a 2D stream a static background ``b``
  (one image for the whole clip); the clip is ``m * f + (1 - m) * b``.
- ``conditional``: the generator reads ``[z, embed(y)]`` (a learned class embedding
  concatenated to the noise, so the class steers the whole projection to the first volume);
  the discriminator is a projection discriminator (Miyato & Koyama, 2018):
  ``logit = head(h) + <embed(y), sum-pooled h>`` on its last feature volume ``h``.
- ``spectral_norm`` (and ``objective.loss: wgan-gp``): the discriminator drops BatchNorm, whatever
  ``d_norm`` says. Spectral normalisation is the Lipschitz control in its place (SN-GAN uses
  none), and WGAN-GP penalises each clip's own gradient, which BatchNorm would couple to the
  rest of the batch (Gulrajani et al. leave it out of the critic for this reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from vidgen.errors import ConfigError
from vidgen.models.gan.common import (
    GANOptions,
    apply_spectral_norm,
    check_frames,
    check_label,
    class_count,
    class_head,
    classify,
    projection_classes,
    seeded_latents,
    spatial_stages,
    to_pixels,
)
from vidgen.nn.init import dcgan_init
from vidgen.registry import MODELS


@dataclass
class DCGAN3DConfig(GANOptions):
    """Widths and options of the 3D-convolutional GAN (loss and stabilisers: :class:`GANOptions`)."""

    z_dim: int = 100  # noise vector size
    g_channels: int = 32  # generator width at the finest stage (doubles per coarser stage)
    d_channels: int = 32  # discriminator width at the finest stage
    max_channels: int = 512  # width cap at coarse stages
    g_norm: Literal["batch", "none"] = "batch"
    d_norm: Literal["batch", "none"] = "batch"  # ignored (none) with spectral_norm; objective.loss=wgan-gp sets none
    embed_dim: int = 64  # class embedding concatenated to z (conditional only)
    two_stream: bool = False  # VGAN: 3D foreground + mask over a static 2D background

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("z_dim", "g_channels", "d_channels", "max_channels", "embed_dim"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be >= 1, got {getattr(self, name)}")


def plan_stages(frames: int, resolution: int) -> tuple[int, int]:
    """Number of 2x spatial stages from 4x4, and how many of them also double time.

    Returns ``(stages, time_stages)``; the coarsest volume has ``frames / 2**time_stages``
    frames. Resolution must be 4 times a power of two (8, 16, 32, 64, 128, ...).
    """
    stages = spatial_stages("dcgan3d", resolution)
    time_stages = 0
    t = frames
    while time_stages < stages and t % 2 == 0 and t > 1:
        t //= 2
        time_stages += 1
    return stages, time_stages


def _width(base: int, level: int, cap: int) -> int:
    return min(cap, base * 2**level)


def _norm(kind: str, channels: int, dims: int = 3) -> nn.Module:
    if kind != "batch":
        return nn.Identity()
    return nn.BatchNorm3d(channels) if dims == 3 else nn.BatchNorm2d(channels)


class Background(nn.Module):
    """VGAN's static stream: ``h [B, D]`` -> one image per clip ``[B, C, H, W]`` in ``[-1, 1]`` (2D convs)."""

    def __init__(self, *, cfg: DCGAN3DConfig, in_dim: int, stages: int, channels: int):
        super().__init__()
        self.c0 = _width(cfg.g_channels, stages, cfg.max_channels)
        self.output = cfg.g_output
        self.project = nn.Linear(in_dim, self.c0 * 16, bias=False)
        self.project_norm = nn.Sequential(_norm(cfg.g_norm, self.c0, 2), nn.ReLU(inplace=True))
        blocks = []
        for i in range(stages):  # coarse -> fine, the widths of the 3D stream
            c_in = _width(cfg.g_channels, stages - i, cfg.max_channels)
            last = i == stages - 1
            c_out = channels if last else _width(cfg.g_channels, stages - i - 1, cfg.max_channels)
            conv = nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1, bias=last)
            blocks.append(conv if last else nn.Sequential(conv, _norm(cfg.g_norm, c_out, 2), nn.ReLU(inplace=True)))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = self.project(h).view(h.shape[0], self.c0, 4, 4)  # [B, C, H, W]
        return to_pixels(self.blocks(self.project_norm(x)), self.output, self.training)


class Generator(nn.Module):
    """``z [B, z_dim]`` (and ``label [B]``) -> video ``[B, T, C, H, W]`` in ``[-1, 1]``."""

    def __init__(self, *, cfg: DCGAN3DConfig, frames: int, resolution: int, channels: int, num_classes: int):
        super().__init__()
        stages, time_stages = plan_stages(frames, resolution)
        self.frames, self.num_classes = frames, num_classes
        self.output = cfg.g_output
        self.embed = nn.Embedding(num_classes, cfg.embed_dim) if num_classes else None
        in_dim = cfg.z_dim + (cfg.embed_dim if num_classes else 0)
        self.t0 = frames // 2**time_stages
        self.c0 = _width(cfg.g_channels, stages, cfg.max_channels)
        self.project = nn.Linear(in_dim, self.c0 * self.t0 * 16, bias=False)
        self.project_norm = nn.Sequential(_norm(cfg.g_norm, self.c0), nn.ReLU(inplace=True))
        # two streams: the last layer gives the foreground's channels and the mask's logit
        out_channels = channels + 1 if cfg.two_stream else channels
        blocks = []
        for i in range(stages):  # coarse -> fine
            c_in = _width(cfg.g_channels, stages - i, cfg.max_channels)
            last = i == stages - 1
            c_out = out_channels if last else _width(cfg.g_channels, stages - i - 1, cfg.max_channels)
            up_t = i < time_stages  # time is doubled at the coarse stages: smooth motion is cheap there
            conv = nn.ConvTranspose3d(
                c_in, c_out, kernel_size=(4 if up_t else 3, 4, 4), stride=(2 if up_t else 1, 2, 2),
                padding=1, bias=last,
            )
            blocks.append(conv if last else nn.Sequential(conv, _norm(cfg.g_norm, c_out), nn.ReLU(inplace=True)))
        self.blocks = nn.Sequential(*blocks)
        self.background = (Background(cfg=cfg, in_dim=in_dim, stages=stages, channels=channels)
                           if cfg.two_stream else None)

    def _input(self, z: torch.Tensor, label: torch.Tensor | None) -> torch.Tensor:
        """``[z, embed(label)]`` ``[B, in_dim]`` (just ``z`` when unconditional)."""
        label = check_label("dcgan3d", self.num_classes, label, z.shape[0])
        if self.embed is None:
            return z
        return torch.cat([z, self.embed(label.to(z.device)).to(z.dtype)], dim=1)

    def _volume(self, h: torch.Tensor) -> torch.Tensor:
        x = self.project(h).view(h.shape[0], self.c0, self.t0, 4, 4)  # [B, C, T, H, W]
        return self.blocks(self.project_norm(x))

    def streams(self, z: torch.Tensor, label: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The two streams of a ``two_stream`` generator, for inspection (e.g. a mask sparsity term).

        Returns ``foreground [B, T, C, H, W]`` in ``[-1, 1]``, ``mask [B, T, 1, H, W]`` in
        ``(0, 1)`` and ``background [B, C, H, W]`` in ``[-1, 1]``; the clip is
        ``mask * foreground + (1 - mask) * background``.
        """
        if self.background is None:
            raise ConfigError("this dcgan3d has one stream: streams() needs model.two_stream=true")
        h = self._input(z, label)
        x = self._volume(h)  # [B, C + 1, T, H, W]
        foreground = to_pixels(x[:, :-1], self.output, self.training).transpose(1, 2)  # [B, T, C, H, W]
        mask = torch.sigmoid(x[:, -1:]).transpose(1, 2)  # [B, T, 1, H, W]
        return foreground, mask, self.background(h)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None, frames: int | None = None) -> torch.Tensor:
        check_frames("dcgan3d", frames, self.frames)
        if self.background is not None:
            foreground, mask, background = self.streams(z, label)
            return mask * foreground + (1 - mask) * background[:, None]  # [B, T, C, H, W]
        x = self._volume(self._input(z, label))
        return to_pixels(x, self.output, self.training).transpose(1, 2)  # [B, T, C, H, W]


class Discriminator(nn.Module):
    """video ``[B, T, C, H, W]`` (and ``label [B]``) -> one real/fake logit per clip ``[B]``."""

    def __init__(self, *, cfg: DCGAN3DConfig, frames: int, resolution: int, channels: int, num_classes: int):
        super().__init__()
        stages, time_stages = plan_stages(frames, resolution)
        self.num_classes = num_classes
        norm = "none" if cfg.spectral_norm else cfg.d_norm
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(stages):  # fine -> coarse
            c_out = _width(cfg.d_channels, i, cfg.max_channels)
            # time is halved at the fine stages, where it is most expensive to keep
            down_t = i < time_stages
            layers.append(
                nn.Conv3d(c_in, c_out, kernel_size=(4 if down_t else 3, 4, 4), stride=(2 if down_t else 1, 2, 2),
                          padding=1, bias=i == 0 or norm == "none")
            )
            if i > 0:  # no normalisation on the input layer, as in DCGAN
                layers.append(_norm(norm, c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        t_last = frames // 2**time_stages
        self.head = nn.Conv3d(c_in, 1, kernel_size=(t_last, 4, 4))
        self.embed = None
        if num_classes:  # the projection's class vectors, Glorot-initialised as in Miyato & Koyama's code
            self.embed = nn.Embedding(num_classes, c_in)
            nn.init.xavier_uniform_(self.embed.weight)
        self.classifier = class_head(cfg, num_classes, c_in)  # AC-GAN's class head (model.aux_class)

    def forward(self, video: torch.Tensor, label: torch.Tensor | None = None,
                classes: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[B]``; with ``classes=True`` also the class head's logits ``[B, classes]``."""
        label = check_label("dcgan3d", self.num_classes, label, video.shape[0])
        h = self.features(video.transpose(1, 2))  # [B, C, T, H, W]
        logit = self.head(h).flatten(1).mean(1)  # [B]
        pooled = h.sum(dim=(2, 3, 4))  # global sum pooling: [B, C], for the projection and the class head
        if self.embed is not None:
            logit = logit + (self.embed(label.to(h.device)).to(pooled.dtype) * pooled).sum(1)
        return (logit, classify(self.classifier, pooled)) if classes else logit


@MODELS.register("dcgan3d", config=DCGAN3DConfig, family="gan")
class DCGAN3D(nn.Module):
    """The generator/discriminator pair of the 3D-convolutional GAN.

    Args:
        config: widths and options.
        frames, resolution, channels: the clip shape ``[T, C, H, W]`` it generates.
        num_classes: the dataset's classes; used (>= 2 needed) when ``config.conditional``.

    ``num_classes`` is the number of labels the model reads (0 when unconditional); clips have
    the training length only (``any_length`` False).
    """

    any_length = False

    def __init__(self, *, config: DCGAN3DConfig, frames: int, resolution: int, channels: int, num_classes: int = 0):
        super().__init__()
        self.config = config
        self.z_dim = config.z_dim
        self.frames = frames
        self.num_classes = class_count("dcgan3d", config, num_classes)
        shape = dict(cfg=config, frames=frames, resolution=resolution, channels=channels, num_classes=self.num_classes)
        self.generator = Generator(**shape)
        self.discriminator = Discriminator(**{**shape, "num_classes": projection_classes(config, self.num_classes)})
        self.apply(dcgan_init)
        if config.spectral_norm:
            apply_spectral_norm(self.discriminator)

    def latents(self, seeds: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
        """One noise vector per seed, ``[len(seeds), z_dim]``: sample i depends on its seed only."""
        return seeded_latents(self.z_dim, seeds, device)
