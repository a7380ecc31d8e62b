"""``vae3d``: a variational autoencoder of whole clips with 3D convolutions (optionally a CVAE).

Encoder: strided 3D convolutions halve height and width at every stage (and time at the
fine stages, where keeping it is most expensive) down to a ``[C, t0, 4, 4]`` volume; a
linear layer gives the mean and log-variance of a Gaussian latent vector ``z``.
Decoder: the generator plan of ``dcgan3d`` (``vidgen.models.gan.dcgan3d.plan_stages``): a
linear projection of ``z`` to the same small volume, then 3D transposed convolutions that
double height and width at every stage and time at the coarse stages, then ``tanh``.

GroupNorm, not BatchNorm, normalises both halves: every clip's code and every decoded clip
depends on that clip alone (in training and in eval mode), so the EMA copy needs no
statistics recomputed and ``latents`` + ``decode`` give the same clip at any batch size.

With ``conditional=True`` the model is a conditional VAE (Sohn et al., 2015): a learned
class embedding is appended to the encoder's features and to ``z`` at the decoder's input,
so ``q(z | x, y)`` and ``p(x | z, y)`` while the prior stays ``N(0, I)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from vidgen.errors import ConfigError
from vidgen.models.gan.dcgan3d import plan_stages
from vidgen.models.vae.losses import RECON_KINDS, elbo_terms, reparameterize
from vidgen.nn.norm import GroupNorm
from vidgen.registry import MODELS


@dataclass
class VAE3DConfig:
    """Widths, prior weight and options of the 3D-convolutional VAE.

    The training loss is ``recon + w * kl`` with ``w`` rising linearly from 0 to
    ``objective.beta`` over the first ``objective.kl_warmup_kimg`` thousand clips (``beta = 1``,
    this model's default: the ELBO itself).
    """

    z_dim: int = 256  # size of the latent vector
    width: int = 32  # channels at the finest stage (doubles per coarser stage)
    max_channels: int = 256  # width cap at the coarse stages
    norm: Literal["group", "none"] = "group"
    recon: Literal["mse", "l1", "bce"] = "mse"  # reconstruction likelihood: Gaussian, Laplace or Bernoulli
    conditional: bool = False  # a CVAE: the class label conditions encoder and decoder
    embed_dim: int = 64  # size of the class embedding (conditional only)

    def __post_init__(self) -> None:
        for name in ("z_dim", "width", "max_channels", "embed_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"model.{name} must be an integer >= 1, got {value!r}")
        if self.recon not in RECON_KINDS:
            raise ConfigError(f"unknown model.recon {self.recon!r}", hint=f"valid: {', '.join(RECON_KINDS)}")
        if self.norm not in ("group", "none"):
            raise ConfigError(f"unknown model.norm {self.norm!r}", hint="valid: group, none")


def _channels(cfg: VAE3DConfig, level: int) -> int:
    """Width at ``level`` stages away from full resolution."""
    return min(cfg.max_channels, cfg.width * 2**level)


def _group_norm(kind: str, channels: int) -> nn.Module:
    # up to 32 groups, as many as divide the width (one group for odd widths)
    return GroupNorm(math.gcd(channels, 32), channels) if kind == "group" else nn.Identity()


def _plan(frames: int, resolution: int) -> tuple[int, int]:
    if resolution < 8 or resolution & (resolution - 1):
        raise ConfigError(f"vae3d needs a resolution of 4 x a power of two (8, 16, 32, 64, 128...), got {resolution}",
                          hint="set data.resolution=32 or 64")
    return plan_stages(frames, resolution)


class Encoder(nn.Module):
    """video ``[B, T, C, H, W]`` -> flat features ``[B, features]`` of a ``[C', t0, 4, 4]`` volume."""

    def __init__(self, *, cfg: VAE3DConfig, frames: int, resolution: int, channels: int):
        super().__init__()
        stages, time_stages = _plan(frames, resolution)
        layers: list[nn.Module] = []
        c_in = channels
        for level in range(stages):  # fine -> coarse
            c_out = _channels(cfg, level)
            kt, st = (4, 2) if level < time_stages else (3, 1)  # halve time at the fine stages
            layers += [nn.Conv3d(c_in, c_out, (kt, 4, 4), stride=(st, 2, 2), padding=1),
                       _group_norm(cfg.norm, c_out) if level > 0 else nn.Identity(), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.features = c_in * (frames // 2**time_stages) * 16

    def forward(self, video: Tensor) -> Tensor:
        x = video.transpose(1, 2)  # [B, C, T, H, W]
        return self.body(x).flatten(1)  # [B, C' * t0 * 4 * 4]


class Decoder(nn.Module):
    """``[B, z_dim (+ embed_dim)]`` -> pre-``tanh`` logits of a clip ``[B, T, C, H, W]``."""

    def __init__(self, *, cfg: VAE3DConfig, in_dim: int, frames: int, resolution: int, channels: int):
        super().__init__()
        stages, time_stages = _plan(frames, resolution)
        self.t0 = frames // 2**time_stages
        self.c0 = _channels(cfg, stages)
        self.project = nn.Linear(in_dim, self.c0 * self.t0 * 16)
        ups: list[nn.Module] = [_group_norm(cfg.norm, self.c0), nn.ReLU()]
        c_in = self.c0
        for level in reversed(range(stages)):  # coarse -> fine
            doubles_time = stages - 1 - level < time_stages
            kt, st = (4, 2) if doubles_time else (3, 1)
            c_out = _channels(cfg, level)
            ups += [nn.ConvTranspose3d(c_in, c_out, (kt, 4, 4), stride=(st, 2, 2), padding=1),
                    _group_norm(cfg.norm, c_out), nn.ReLU()]
            c_in = c_out
        ups.append(nn.Conv3d(c_in, channels, kernel_size=3, padding=1))  # to pixels, at full resolution
        self.body = nn.Sequential(*ups)

    def forward(self, code: Tensor) -> Tensor:
        x = self.project(code).view(code.shape[0], self.c0, self.t0, 4, 4)  # [B, C, T, H, W]
        return self.body(x).transpose(1, 2)  # [B, T, C, H, W]


@MODELS.register("vae3d", config=VAE3DConfig, family="vae")
class VAE3D(nn.Module):
    """A Gaussian-latent VAE (or CVAE) of fixed-size clips with 3D-convolutional encoder and decoder.

    Args:
        config: widths, reconstruction likelihood, conditioning.
        frames, resolution, channels: the clip shape ``[T, C, H, W]`` it encodes and decodes;
            the resolution must be 4 x a power of two.
        num_classes: classes of the dataset; needed (>= 1) when ``config.conditional``.

    ``num_classes`` is the number of labels the model reads (0 when unconditional); ``z_dim``
    the size of its latent vector.
    """

    default_beta = 1.0  # objective.beta when the recipe sets none: the ELBO itself

    def __init__(self, *, config: VAE3DConfig, frames: int, resolution: int, channels: int, num_classes: int = 0):
        super().__init__()
        if config.conditional and num_classes < 1:
            raise ConfigError("vae3d with model.conditional=true needs a dataset with class labels, this one has none",
                              hint="set model.conditional=false, or use a labelled dataset (class sub-folders)")
        self.config = config
        self.z_dim = config.z_dim
        self.num_classes = num_classes if config.conditional else 0
        self.frames, self.resolution, self.channels = frames, resolution, channels
        embed = config.embed_dim if self.num_classes else 0
        self.embed = nn.Embedding(self.num_classes, embed) if self.num_classes else None
        self.encoder = Encoder(cfg=config, frames=frames, resolution=resolution, channels=channels)
        self.to_posterior = nn.Linear(self.encoder.features + embed, 2 * config.z_dim)  # -> (mu, logvar)
        self.decoder = Decoder(cfg=config, in_dim=config.z_dim + embed, frames=frames, resolution=resolution,
                               channels=channels)

    def _condition(self, x: Tensor, label: Tensor | None) -> Tensor:
        """Append the class embedding to ``x [B, D]`` (conditional models); checks the label."""
        if self.embed is None:
            return x
        if label is None:
            raise ValueError(f"this vae3d is class-conditional ({self.num_classes} classes): pass label [B]")
        label = torch.as_tensor(label, device=x.device).long().reshape(-1)
        if label.shape[0] != x.shape[0]:
            raise ValueError(f"label must hold one class per clip ({x.shape[0]}), got shape {tuple(label.shape)}")
        return torch.cat([x, self.embed(label).to(x.dtype)], dim=1)

    def encode(self, video: Tensor, label: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The posterior ``q(z | video, label)``: ``(mu [B, z_dim], logvar [B, z_dim])``.

        ``video`` is ``[B, T, C, H, W]`` in ``[-1, 1]`` with the model's clip shape; ``label``
        ``[B]`` class indices, required by conditional models and ignored otherwise.
        """
        expected = (self.frames, self.channels, self.resolution, self.resolution)
        if video.dim() != 5 or tuple(video.shape[1:]) != expected:
            raise ValueError(f"vae3d encodes clips [B, {', '.join(map(str, expected))}], got {tuple(video.shape)}")
        stats = self.to_posterior(self._condition(self.encoder(video), label))
        mu, logvar = stats.chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: Tensor, label: Tensor | None = None) -> Tensor:
        """The decoder's output before ``tanh``, ``[B, T, C, H, W]`` (the reconstruction loss reads these)."""
        return self.decoder(self._condition(z, label))

    def decode(self, z: Tensor, label: Tensor | None = None) -> Tensor:
        """Clips ``[B, T, C, H, W]`` in ``[-1, 1]`` from latents ``z [B, z_dim]`` (and ``label [B]``)."""
        return torch.tanh(self.decode_logits(z, label))

    def forward(self, z: Tensor, label: Tensor | None = None) -> Tensor:
        """The generative direction, as a GAN generator's: :meth:`decode`."""
        return self.decode(z, label)

    @torch.no_grad()
    def reconstruct(self, video: Tensor, label: Tensor | None = None) -> Tensor:
        """The decoded posterior mean of each clip, ``[B, T, C, H, W]`` (deterministic)."""
        mu, _ = self.encode(video, label)
        return self.decode(mu, label)

    def latents(self, seeds: list[int], device: torch.device | str = "cpu") -> Tensor:
        """One prior sample ``N(0, I)`` per seed, ``[len(seeds), z_dim]``: sample i depends on its seed only."""
        z = [torch.randn(self.z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        return torch.stack(z).to(device)

    def loss_terms(self, video: Tensor, label: Tensor | None, generator: torch.Generator | None) -> dict[str, Tensor]:
        """The two ELBO terms of a batch, with ``z`` drawn by the reparameterisation trick.

        Args:
            video: ``[B, T, C, H, W]`` in ``[-1, 1]``.
            label: ``[B]`` class indices (conditional models), else ignored (may be None).
            generator: the RNG of the noise ``eps`` (a CPU generator is moved to the device).

        Returns:
            ``recon`` (``config.recon`` negative log-likelihood, summed over a clip's pixels,
            batch mean), ``kl`` (``KL(q(z|x) || N(0, I))`` summed over ``z``, batch mean), and
            detached statistics: ``mse`` (per pixel) and ``logvar`` (mean posterior log-variance).
        """
        mu, logvar = self.encode(video, label)
        z = reparameterize(mu, logvar, generator)
        logits = self.decode_logits(z, label)
        return elbo_terms(self.config.recon, video, logits, mu, logvar)
