"""``frame_vae``: a per-frame autoencoder with a small KL term, the latent space of latent diffusion.

Each frame ``[C, H, W]`` is encoded on its own to a Gaussian posterior over a spatial latent
``[c, H / f, W / f]`` (``f = 2 ** (len(mults) - 1)``, ``c = latent_channels``) and decoded back,
as the first stage of latent diffusion (Rombach et al., CVPR 2022: "KL-regularised"
autoencoders, whose KL weight is so small that the model is close to a plain autoencoder; the
KL only keeps the latents' scale bounded). Frames stay frames, so a video denoiser over the
latents keeps its per-frame masked conditioning, and the latents of a clip are its frames'
(Blattmann et al., CVPR 2023, train the temporal layers in the latent space of such a
per-frame autoencoder).

Encoder: a 3x3 stem, then per level ``blocks`` residual blocks (GroupNorm, SiLU, 3x3
convolutions) and a strided 3x3 convolution between levels, a residual block at the bottom,
and a 3x3 convolution to the posterior's mean and log-variance. Decoder: the mirror image with
nearest-neighbour upsampling and a 3x3 convolution, then ``tanh``. Fully convolutional: any
frame size divisible by ``f`` encodes.

It trains with the VAE family (``recon + beta * kl``, both summed over a clip, LDM's default
``beta = 1e-6``); it has no prior to sample from, so it reconstructs (``vidgen reconstruct``)
and serves as ``model.autoencoder`` of the ``latent_video_unet`` diffusion model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidgen.errors import ConfigError
from vidgen.models.vae.losses import RECON_KINDS, elbo_terms, reparameterize
from vidgen.nn.norm import GroupNorm
from vidgen.registry import MODELS


@dataclass
class FrameVAEConfig:
    """Widths and latent size of the per-frame autoencoder."""

    width: int = 32  # channels at full resolution
    mults: tuple[int, ...] = (1, 2, 2)  # width multiplier per level: len(mults) - 1 halvings of H and W
    blocks: int = 1  # residual blocks per level
    latent_channels: int = 4  # channels of the latent
    recon: Literal["mse", "l1", "bce"] = "l1"

    def __post_init__(self) -> None:
        self.mults = tuple(self.mults)
        if self.width < 8 or self.width % 8 or not self.mults or min(self.mults) < 1:
            raise ConfigError(f"model.width must be a multiple of 8 (>= 8) and model.mults positive, got "
                              f"{self.width} and {list(self.mults)}")
        if self.blocks < 1 or self.latent_channels < 1:
            raise ConfigError("model.blocks and model.latent_channels must be >= 1")
        if self.recon not in RECON_KINDS:
            raise ConfigError(f"unknown model.recon {self.recon!r}", hint=f"valid: {', '.join(RECON_KINDS)}")


def _norm(ch: int) -> GroupNorm:
    return GroupNorm(min(8, ch), ch)


class _Res(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class _Up(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


@MODELS.register("frame_vae", config=FrameVAEConfig, family="vae")
class FrameVAE(nn.Module):
    """Per-frame KL autoencoder: ``encode(video) -> (mu, logvar)`` of ``[B, T, c, H/f, W/f]``, ``decode(z)``.

    Args:
        config: widths, levels and latent channels.
        frames, resolution, channels: the clip shape it trains on; any number of frames and
            any frame size divisible by ``factor`` encode.
        num_classes: unused (the autoencoder takes no class).
    """

    default_beta = 1e-6  # LDM's KL weight for its KL-regularised first stages
    generates = False  # no prior worth sampling: it reconstructs and encodes

    def __init__(self, *, config: FrameVAEConfig, frames: int, resolution: int, channels: int, num_classes: int = 0):
        super().__init__()
        self.config = config
        self.factor = 2 ** (len(config.mults) - 1)
        if resolution % self.factor:
            raise ConfigError(f"frame_vae with {len(config.mults)} levels needs a resolution divisible by "
                              f"{self.factor}, got {resolution}", hint="change data.resolution or model.mults")
        self.frames, self.resolution, self.channels = frames, resolution, channels
        self.num_classes = 0
        self.latent_channels = config.latent_channels
        self.z_dim = config.latent_channels  # per latent pixel
        widths = [config.width * m for m in config.mults]
        enc: list[nn.Module] = [nn.Conv2d(channels, widths[0], 3, padding=1)]
        cin = widths[0]
        for i, ch in enumerate(widths):
            for _ in range(config.blocks):
                enc.append(_Res(cin, ch))
                cin = ch
            if i < len(widths) - 1:
                enc.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
        enc += [_Res(cin, cin), _norm(cin), nn.SiLU(), nn.Conv2d(cin, 2 * config.latent_channels, 3, padding=1)]
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv2d(config.latent_channels, cin, 3, padding=1), _Res(cin, cin)]
        for i in reversed(range(len(widths))):
            for _ in range(config.blocks):
                dec.append(_Res(cin, widths[i]))
                cin = widths[i]
            if i > 0:
                dec.append(_Up(cin))
        dec += [_norm(cin), nn.SiLU(), nn.Conv2d(cin, channels, 3, padding=1)]
        self.decoder = nn.Sequential(*dec)

    def _check(self, video: Tensor) -> None:
        if video.dim() != 5 or video.shape[2] != self.channels or video.shape[-1] % self.factor \
                or video.shape[-2] % self.factor:
            raise ValueError(f"frame_vae encodes clips [B, T, {self.channels}, H, W] with H and W divisible by "
                             f"{self.factor}, got {tuple(video.shape)}")

    def encode(self, video: Tensor, label: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The posterior of each frame of ``video [B, T, C, H, W]`` in ``[-1, 1]``: ``(mu, logvar)``,
        each ``[B, T, c, H / f, W / f]``."""
        self._check(video)
        b, t = video.shape[:2]
        stats = self.encoder(video.flatten(0, 1))
        mu, logvar = stats.chunk(2, dim=1)
        return mu.unflatten(0, (b, t)), logvar.clamp(-30.0, 20.0).unflatten(0, (b, t))

    def decode_logits(self, z: Tensor, label: Tensor | None = None) -> Tensor:
        """The decoder's output before ``tanh``, ``[B, T, C, H, W]``."""
        b, t = z.shape[:2]
        return self.decoder(z.flatten(0, 1)).unflatten(0, (b, t))

    def decode(self, z: Tensor, label: Tensor | None = None) -> Tensor:
        """Clips ``[B, T, C, H, W]`` in ``[-1, 1]`` from latents ``z [B, T, c, h, w]``."""
        return torch.tanh(self.decode_logits(z))

    def forward(self, z: Tensor, label: Tensor | None = None) -> Tensor:
        return self.decode(z)

    @torch.no_grad()
    def reconstruct(self, video: Tensor, label: Tensor | None = None) -> Tensor:
        """Each frame decoded from its posterior mean (deterministic)."""
        return self.decode(self.encode(video)[0])

    def loss_terms(self, video: Tensor, label: Tensor | None, generator: torch.Generator | None) -> dict[str, Tensor]:
        """``recon`` (summed over a clip's pixels, batch mean), ``kl`` (summed over its latents, batch
        mean), and detached ``mse`` (per pixel) and ``logvar`` (mean posterior log-variance)."""
        mu, logvar = self.encode(video)
        z = reparameterize(mu, logvar, generator)
        logits = self.decode_logits(z)
        return elbo_terms(self.config.recon, video, logits, mu, logvar)
