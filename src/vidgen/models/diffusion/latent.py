"""``latent_video_unet``: the diffusion denoiser over the latents of a trained per-frame autoencoder.

Latent diffusion (Rombach et al., CVPR 2022; for video, Blattmann et al., CVPR 2023): a
``frame_vae`` trained first (``vidgen train configs/frame_vae_shapes.yaml``, or a shipped one)
maps every frame ``[C, H, W]`` to a latent ``[c, H / f, W / f]``; the ``video_unet`` denoiser
then trains and samples on clips of those latents, ``f^2 C / c`` times fewer values than
pixels (48x for ``f = 4``, ``c = 4`` on RGB), and the decoder turns its samples back into
frames. Masked frame conditioning carries over unchanged, since latent frames are frames:
the given frames are encoded, and come back exactly (the wrapper pastes the given pixels).

The autoencoder is frozen. ``model.autoencoder`` names it (a run folder, an export or a
shipped model's name); at the start of training its architecture is copied into this
model's config (``autoencoder_model``, which the export's ``config.json`` keeps) and its
weights into this model, so an export holds both halves and loads without the autoencoder's
folder. The latents are the posterior means times ``latent_scale``, set at the start of
training from the data so that they have the denoiser's ``sigma_data`` as standard deviation
(LDM's scale factor, measured instead of fixed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from vidgen.config import from_dict
from vidgen.errors import ConfigError
from vidgen.io.checkpoint import load_export
from vidgen.metrics.frame import psnr_per_frame
from vidgen.models.diffusion.unet import VideoUNet, VideoUNetConfig
from vidgen.models.vae.frame_vae import FrameVAE, FrameVAEConfig
from vidgen.registry import MODELS

SCALE_CLIPS = 64  # clips encoded to measure the latents' standard deviation (and the reconstruction PSNR)
# below this reconstruction PSNR (dB) on the training clips, training warns that the autoencoder is not
# one for this data (the shipped shapes-frame-vae: 43.6 dB on shapes, 32.2 on a held-out folder of other shapes)
RECON_WARN_DB = 25.0


@dataclass
class LatentVideoUNetConfig(VideoUNetConfig):
    """``video_unet``'s sizes, for the denoiser over latents, plus the autoencoder it works in."""

    autoencoder: str = "shapes-frame-vae"  # a trained frame_vae: run folder, export folder or shipped name
    # the autoencoder's model config, filled in from it at the start of training (leave it out)
    autoencoder_model: dict[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.autoencoder and self.autoencoder_model is None:
            raise ConfigError("latent_video_unet needs model.autoencoder: a trained frame_vae (its run folder, "
                              "or a shipped name)", hint="e.g. model.autoencoder=shapes-frame-vae, or train one "
                              "with vidgen train configs/frame_vae_shapes.yaml")


def _autoencoder(path: str) -> tuple[dict[str, Tensor], dict[str, Any], int]:
    """The export of the frame_vae at ``path``: its tensors, its model config (without the name), its channels."""
    state, meta = load_export(path)
    name = meta.get("model", {}).get("name")
    if name != "frame_vae":
        raise ConfigError(f"model.autoencoder {path!r} is a {name} model, not a frame_vae",
                          hint="train one with vidgen train configs/frame_vae_shapes.yaml")
    return state, {k: v for k, v in meta["model"].items() if k != "name"}, meta["video"]["channels"]


@MODELS.register("latent_video_unet", config=LatentVideoUNetConfig, family="diffusion")
class LatentVideoUNet(nn.Module):
    """``forward(z, sigma, cond, mask, labels=None)``: :class:`VideoUNet` on latent clips ``[B, T, c, h, w]``;
    :meth:`to_latent` and :meth:`from_latent` go between pixels and latents."""

    def __init__(self, *, config: LatentVideoUNetConfig, frames: int, resolution: int, channels: int,
                 num_classes: int = 0):
        super().__init__()
        if config.autoencoder_model is None:  # a new run: read the autoencoder's architecture
            _, arch, ae_channels = _autoencoder(config.autoencoder)
            if ae_channels != channels:
                raise ConfigError(f"model.autoencoder {config.autoencoder!r} encodes {ae_channels}-channel frames, "
                                  f"the data has {channels}")
            config.autoencoder_model = arch
        ae_cfg = from_dict(FrameVAEConfig, config.autoencoder_model, "model.autoencoder_model")
        self.config = config
        self.autoencoder = FrameVAE(config=ae_cfg, frames=frames, resolution=resolution, channels=channels)
        self.autoencoder.requires_grad_(False)  # frozen (it has no layer that acts differently in training)
        self.factor = self.autoencoder.factor
        self.latent_channels = ae_cfg.latent_channels
        self.denoiser = VideoUNet(config=config, frames=frames, resolution=resolution // self.factor,
                                  channels=self.latent_channels, num_classes=num_classes)
        self.frames, self.channels = frames, channels
        self.num_classes = self.denoiser.num_classes
        self.sigma_data = self.denoiser.sigma_data
        self.register_buffer("latent_scale", torch.zeros(()))  # 0 until set from the data

    def load_autoencoder(self) -> None:
        """Copy the weights of ``config.autoencoder`` in (the start of training); it must be the
        autoencoder whose architecture this model was built with."""
        state, recorded, _ = _autoencoder(self.config.autoencoder)
        if from_dict(FrameVAEConfig, recorded) != from_dict(FrameVAEConfig, self.config.autoencoder_model):
            raise ConfigError(f"model.autoencoder {self.config.autoencoder!r} is not the autoencoder recorded in "
                              "model.autoencoder_model", hint="leave model.autoencoder_model out of a new recipe")
        own = {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
        self.autoencoder.load_state_dict(own, strict=True)

    @torch.no_grad()
    def set_scale(self, clips: Tensor) -> float:
        """Set ``latent_scale`` so that the latents of ``clips [N, T, C, H, W]`` have standard deviation
        ``sigma_data``; returns it. Also sets ``recon_psnr``: the autoencoder's reconstruction PSNR on
        those clips (dB, the mean of the frames' PSNRs on the ``[0, 1]`` scale), the bound on how sharp
        this model's samples can be."""
        device = self.latent_scale.device
        mus, psnrs = [], []
        for x in clips.split(16):
            x = x.to(device).float()
            mu = self.autoencoder.encode(x)[0].float()
            mus.append(mu)
            psnrs.append(psnr_per_frame(self.autoencoder.decode(mu).float(), x, clamp=True).flatten())
        std = float(torch.cat(mus).std())
        if not std > 0:
            raise ConfigError("the autoencoder maps these clips to constant latents: it cannot serve here")
        self.latent_scale.fill_(self.sigma_data / std)
        self.recon_psnr = float(torch.cat(psnrs).mean())
        return float(self.latent_scale)

    def to_latent(self, video: Tensor) -> Tensor:
        """Scaled posterior means ``[B, T, c, h, w]`` of pixel clips ``[B, T, C, H, W]``."""
        with torch.no_grad():
            return self.autoencoder.encode(video)[0].float() * self.latent_scale

    def from_latent(self, z: Tensor) -> Tensor:
        """Pixel clips ``[B, T, C, H, W]`` in ``[-1, 1]`` from scaled latents."""
        return self.autoencoder.decode((z / self.latent_scale).to(z.dtype)).float()

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int, int]:
        """``(T, c, h, w)`` of the latent clip of ``height x width`` frames."""
        return self.frames, self.latent_channels, height // self.factor, width // self.factor

    def forward(self, x: Tensor, sigma: Tensor, cond: Tensor, mask: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.denoiser(x, sigma, cond, mask, labels)
