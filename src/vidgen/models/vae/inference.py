"""The VAE family's inference wrapper: :class:`VideoVAE`, what ``vidgen.load`` returns for a VAE."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from vidgen.convert import as_video_batch, check_count, check_input
from vidgen.errors import VidgenError
from vidgen.inference import LoadedModel, predict
from vidgen.utils.progress import progress


class VideoVAE(LoadedModel):
    """A trained VAE loaded from an export.

    A clip VAE (``vae3d``) has :meth:`sample`, :meth:`reconstruct` and :meth:`interpolate`;
    a stochastic predictor (``svg``, ``predicts`` True) has :meth:`predict`, as
    :class:`VideoPredictor` does, with ``context`` and ``future`` (None for clip VAEs).
    ``z_dim``: the latent size; ``num_classes``: > 0 for a class-conditional VAE, whose
    methods take ``label`` (an int for every clip, or one int per clip).
    """

    def __init__(self, *, model: torch.nn.Module, meta: dict[str, Any], device: torch.device):
        super().__init__(model=model, meta=meta, device=device)
        self.predicts: bool = hasattr(model, "future")
        self.context: int | None = int(model.context) if self.predicts else None
        self.future: int | None = int(model.future) if self.predicts else None
        self.z_dim: int = int(model.z_dim)
        self.num_classes: int = int(getattr(model, "num_classes", 0))
        self.any_length = False
        can = {"predict"} if self.predicts else {"generate", "reconstruct", "interpolate"}
        if not self.predicts and not getattr(model, "generates", True):
            can = {"reconstruct"}  # an autoencoder without a prior (frame_vae)
        self.capabilities = frozenset(can | ({"class"} if self.num_classes and not self.predicts else set()))

    def sample(self, n: int, *, seed: int = 0, label: Any = None, batch_size: int = 32,
               frames: int | None = None) -> torch.Tensor:
        """``n`` clips decoded from prior latents, float ``[n, T, C, H, W]`` in ``[-1, 1]`` (CPU).

        Sample i uses seed ``seed + i`` alone. ``label``: for a conditional VAE, the class of
        every clip (int) or of each (``n`` ints); default: the clip of seed ``s`` is class ``s mod num_classes``.
        ``frames``: a clip VAE makes clips of its training length only (``frames`` or None).
        """
        self._need_clip_vae("sample")
        check_count("n", n)
        if frames is not None and frames != self.frames:
            raise VidgenError(f"{self.name} makes clips of {self.frames} frames, not {frames}",
                              hint="leave frames out, or use a GAN that samples any length")
        z = self.model.latents(list(range(seed, seed + n)))  # [n, z_dim]
        labels = self._labels(label, n, seeds=range(seed, seed + n), num_classes=self.num_classes)
        return self._decode(z, labels, batch_size)

    def reconstruct(self, video: Any, *, label: Any = None, batch_size: int = 32) -> torch.Tensor:
        """Each clip decoded from its posterior mean: ``[B, T, C, H, W]`` in ``[-1, 1]`` (CPU).

        ``video``: as :meth:`VideoPredictor.predict` takes it, with the model's ``[T, C, H, W]``
        (:meth:`resize` fixes the size); ``label`` is needed by conditional VAEs.
        """
        self._need_clip_vae("reconstruct")
        x = self._clips(video)
        labels = self._labels(label, len(x), num_classes=self.num_classes)
        return self._decode(self._encode(x, labels, batch_size), labels, batch_size)

    def interpolate(self, a: Any, b: Any, steps: int = 8, *, label: Any = None) -> torch.Tensor:
        """``steps`` clips decoded along the straight line from ``a``'s latent to ``b``'s: ``[steps, T, C, H, W]``.

        ``a`` and ``b``: clips (their posterior means) or int seeds (their prior latents, as
        :meth:`sample` draws them); ``label``: one class for every step (conditional VAEs).
        """
        self._need_clip_vae("interpolate")
        check_count("steps", steps)
        labels = self._labels(label, 1, num_classes=self.num_classes)
        za, zb = (self._latent(v, labels) for v in (a, b))  # [1, z_dim] each
        w = torch.linspace(0.0, 1.0, steps).view(-1, 1)
        z = (1 - w) * za + w * zb  # [steps, z_dim]
        return self._decode(z, None if labels is None else labels.expand(steps), steps)

    def predict(self, context: Any, *, frames: int, seed: int = 0, batch_size: int = 32) -> torch.Tensor:
        """As :meth:`VideoPredictor.predict`: ``frames`` frames after ``context``, one future per seed."""
        if not self.predicts:
            raise VidgenError(f"{self.meta['model']['name']} encodes whole clips and predicts no frames",
                              hint="use sample, reconstruct or interpolate; svg is the VAE that predicts")
        return predict(self, context, frames=frames, seed=seed, batch_size=batch_size)

    def _need_clip_vae(self, what: str) -> None:
        if self.predicts:
            raise VidgenError(f"{self.meta['model']['name']} is a stochastic predictor: it has no {what}",
                              hint="continue a clip with .predict(context, frames=N, seed=S)")
        if {"sample": "generate"}.get(what, what) not in self.capabilities:
            raise VidgenError(f"{self.meta['model']['name']} is an autoencoder without a prior: it has no {what}",
                              hint="reconstruct clips with it, or train a latent_video_unet on its latents")

    def _clips(self, video: Any) -> torch.Tensor:
        x = check_input(as_video_batch(video), resolution=self.resolution, channels=self.channels,
                        fix="vae.resize(clip)")
        if x.shape[1] != self.frames:
            raise VidgenError(f"{self.meta['model']['name']} encodes clips of {self.frames} frames, got {x.shape[1]}",
                              hint=f"pass clip[:, :{self.frames}] (or a longer clip)")
        return x

    def _latent(self, value: Any, labels: torch.Tensor | None) -> torch.Tensor:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return self.model.latents([int(value)])
        x = self._clips(value)
        if len(x) != 1:
            raise VidgenError(f"interpolate takes one clip at each end, got {len(x)}")
        return self._encode(x, labels, 1)

    def _encode(self, x: torch.Tensor, labels: torch.Tensor | None, batch_size: int) -> torch.Tensor:
        """Posterior means ``[B, z_dim]`` (CPU) of clips ``x [B, T, C, H, W]``."""
        with torch.inference_mode():
            return torch.cat([self.model.encode(v.to(self.device), _on(y, self.device))[0].float().cpu()
                              for v, y in _chunks(x, labels, batch_size)])

    def _decode(self, z: torch.Tensor, labels: torch.Tensor | None, batch_size: int) -> torch.Tensor:
        """Clips ``[B, T, C, H, W]`` (CPU) from latents ``z [B, z_dim]``."""
        with torch.inference_mode():
            return torch.cat([self.model.decode(v.to(self.device), _on(y, self.device)).float().cpu()
                              for v, y in _chunks(z, labels, batch_size)])

    def __repr__(self) -> str:
        frames = f"{self.context} -> {self.future}" if self.predicts else self.frames
        return (f"VideoVAE({self.meta['model']['name']}, {frames} frames of {self._shape()}, "
                f"kimg={self.meta.get('kimg')})")


def _chunks(x: torch.Tensor, labels: torch.Tensor | None, size: int):
    """``(x chunk, labels chunk or None)`` pairs of ``size`` rows."""
    check_count("batch_size", size)
    parts = labels.split(size) if labels is not None else [None] * math.ceil(len(x) / size)
    return progress(zip(x.split(size), parts), total=len(parts), desc="decoding")


def _on(labels: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if labels is None else labels.to(device)
