"""``dcgan3d``: the classic video GAN (VGAN/TGAN lineage) made real.

Generator: noise ``z`` -> a small ``[C, t0, 4, 4]`` volume -> 3D transposed convolutions
that double height and width at every stage (and time at the coarse stages) -> ``tanh``.
Discriminator: the mirror image with strided 3D convolutions down to one logit per clip.
Sizes come from the data (frames, resolution, channels) and the config (widths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from vidgen.errors import ConfigError
from vidgen.nn.init import dcgan_init
from vidgen.registry import MODELS


@dataclass
class DCGAN3DConfig:
    """Widths and options of the 3D-convolutional GAN."""

    z_dim: int = 100  # noise vector size
    g_channels: int = 32  # generator width at the finest stage (doubles per coarser stage)
    d_channels: int = 32  # discriminator width at the finest stage
    max_channels: int = 512  # width cap at coarse stages
    g_norm: Literal["batch", "none"] = "batch"
    d_norm: Literal["batch", "none"] = "batch"
    loss: Literal["nonsaturating"] = "nonsaturating"  # see models/gan/losses.py
    r1_gamma: float = 0.0  # R1 gradient penalty weight on real clips (0: off)
    r1_interval: int = 16  # lazy regularisation: the penalty runs every N steps

    def __post_init__(self) -> None:
        for name in ("z_dim", "g_channels", "d_channels", "max_channels"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if self.r1_gamma < 0 or self.r1_interval < 1:
            raise ConfigError(f"model.r1_gamma must be >= 0 and model.r1_interval >= 1, "
                              f"got {self.r1_gamma} and {self.r1_interval}")


def plan_stages(frames: int, resolution: int) -> tuple[int, int]:
    """Number of 2x spatial stages from 4x4, and how many of them also double time.

    Returns ``(stages, time_stages)``; the coarsest volume has ``frames / 2**time_stages``
    frames. Resolution must be 4 times a power of two (8, 16, 32, 64, 128, ...).
    """
    stages = int(round(math.log2(resolution / 4))) if resolution >= 8 else 0
    if resolution < 8 or 4 * 2**stages != resolution:
        raise ConfigError(
            f"dcgan3d needs a resolution of 4 x a power of two (8, 16, 32, 64, 128...), got {resolution}",
            hint="set data.resolution=32 or 64",
        )
    time_stages = 0
    t = frames
    while time_stages < stages and t % 2 == 0 and t > 1:
        t //= 2
        time_stages += 1
    return stages, time_stages


def _width(base: int, level: int, cap: int) -> int:
    return min(cap, base * 2**level)


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm3d(channels) if kind == "batch" else nn.Identity()


class Generator(nn.Module):
    """``z [B, z_dim]`` -> video ``[B, T, C, H, W]`` in ``[-1, 1]``."""

    def __init__(self, *, cfg: DCGAN3DConfig, frames: int, resolution: int, channels: int):
        super().__init__()
        stages, time_stages = plan_stages(frames, resolution)
        self.t0 = frames // 2**time_stages
        self.c0 = _width(cfg.g_channels, stages, cfg.max_channels)
        self.project = nn.Linear(cfg.z_dim, self.c0 * self.t0 * 16, bias=False)
        self.project_norm = nn.Sequential(_norm(cfg.g_norm, self.c0), nn.ReLU(inplace=True))
        blocks = []
        for i in range(stages):  # coarse -> fine
            c_in = _width(cfg.g_channels, stages - i, cfg.max_channels)
            last = i == stages - 1
            c_out = channels if last else _width(cfg.g_channels, stages - i - 1, cfg.max_channels)
            up_t = i < time_stages  # time is doubled at the coarse stages: smooth motion is cheap there
            conv = nn.ConvTranspose3d(
                c_in, c_out, kernel_size=(4 if up_t else 3, 4, 4), stride=(2 if up_t else 1, 2, 2),
                padding=1, bias=last,
            )
            blocks.append(conv if last else nn.Sequential(conv, _norm(cfg.g_norm, c_out), nn.ReLU(inplace=True)))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.c0, self.t0, 4, 4)  # [B, C, T, H, W]
        x = self.blocks(self.project_norm(x))
        return torch.tanh(x).transpose(1, 2)  # [B, T, C, H, W]


class Discriminator(nn.Module):
    """video ``[B, T, C, H, W]`` -> one real/fake logit per clip ``[B]``."""

    def __init__(self, *, cfg: DCGAN3DConfig, frames: int, resolution: int, channels: int):
        super().__init__()
        stages, time_stages = plan_stages(frames, resolution)
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(stages):  # fine -> coarse
            c_out = _width(cfg.d_channels, i, cfg.max_channels)
            # time is halved at the fine stages, where it is most expensive to keep
            down_t = i < time_stages
            layers.append(
                nn.Conv3d(c_in, c_out, kernel_size=(4 if down_t else 3, 4, 4), stride=(2 if down_t else 1, 2, 2),
                          padding=1, bias=i == 0 or cfg.d_norm == "none")
            )
            if i > 0:  # no normalisation on the input layer, as in DCGAN
                layers.append(_norm(cfg.d_norm, c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        t_last = frames // 2**time_stages
        self.head = nn.Conv3d(c_in, 1, kernel_size=(t_last, 4, 4))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        x = video.transpose(1, 2)  # [B, C, T, H, W]
        return self.head(self.features(x)).flatten(1).mean(1)


@MODELS.register("dcgan3d", config=DCGAN3DConfig, family="gan")
class DCGAN3D(nn.Module):
    """The generator/discriminator pair of the 3D-convolutional GAN.

    Args:
        config: widths and options.
        frames, resolution, channels: the clip shape ``[T, C, H, W]`` it generates.
        num_classes: unused by this unconditional model (kept for a uniform constructor).
    """

    def __init__(self, *, config: DCGAN3DConfig, frames: int, resolution: int, channels: int, num_classes: int = 0):
        super().__init__()
        self.config = config
        self.z_dim = config.z_dim
        shape = dict(cfg=config, frames=frames, resolution=resolution, channels=channels)
        self.generator = Generator(**shape)
        self.discriminator = Discriminator(**shape)
        self.apply(dcgan_init)

    def latents(self, seeds: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
        """One noise vector per seed, ``[len(seeds), z_dim]``: sample i depends on its seed only."""
        z = [torch.randn(self.z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        return torch.stack(z).to(device)
