"""The GAN family's inference wrapper: :class:`VideoGenerator`, what ``vidgen.load`` returns for a GAN."""

from __future__ import annotations

from typing import Any

import torch

from vidgen.convert import check_count, check_seed
from vidgen.errors import VidgenError
from vidgen.inference import LoadedModel
from vidgen.models.gan.sampling import generate, slerp, truncate


class VideoGenerator(LoadedModel):
    """A trained GAN generator loaded from an export: :meth:`sample` and :meth:`interpolate` make clips.

    Attributes:
        z_dim: the latent size; ``num_classes``: > 0 for a class-conditional GAN, whose methods
            take ``label`` (an int for every clip, or one int per clip); ``class_names``.
            ``info_classes``: > 0 for an InfoGAN one (``model.info_classes``), whose
            ``num_classes`` categories were learned without labels and are sampled as classes.
        any_length: whether ``frames=`` may ask for clips longer or shorter than ``frames``
            (the training length).
    """

    sample_options = frozenset({"truncation", "frames", "interpolate"})

    def __init__(self, *, model: torch.nn.Module, meta: dict[str, Any], device: torch.device):
        super().__init__(model=model, meta=meta, device=device)
        self.z_dim: int = int(model.z_dim)
        self.num_classes: int = int(getattr(model, "num_classes", 0))
        self.any_length: bool = bool(getattr(model, "any_length", False))
        # InfoGAN categories (model.info_classes) are classes to sample by, not the dataset's
        self.info_classes: int = int(meta["model"].get("info_classes", 0) or 0)
        if self.info_classes:
            self.class_names = [f"category {k}" for k in range(self.info_classes)]
        self.capabilities = frozenset({"generate", "interpolate"} | ({"class"} if self.num_classes else set()))

    def sample(self, n: int, *, seed: int = 0, label: Any = None, truncation: float = 1.0, frames: int | None = None,
               batch_size: int = 32) -> torch.Tensor:
        """``n`` clips as float ``[n, T, C, H, W]`` in ``[-1, 1]`` (on the CPU).

        Args:
            n: how many clips.
            seed: clip i uses seed ``seed + i`` alone (and its label), so it is the same whatever
                ``n`` and ``batch_size`` are.
            label: conditional GANs: the class of every clip (int) or of each (``n`` ints);
                default: the clip of seed ``s`` is class ``s mod num_classes``.
            truncation: ``psi``, latents are ``psi * z`` (see :func:`~vidgen.models.gan.sampling.truncate`);
                1 leaves them as trained.
            frames: the clip length ``T`` (default: the training length); other lengths only for
                models with ``any_length``.
            batch_size: clips generated at once.
        """
        check_count("n", n)
        seeds = list(range(seed, seed + n))
        z = truncate(self.model.latents(seeds), self._psi(truncation))
        return self._generate(z, self._labels(label, seeds), frames, batch_size)

    def interpolate(self, seed_a: int, seed_b: int, steps: int = 8, *, label: Any = None, truncation: float = 1.0,
                    frames: int | None = None, batch_size: int = 32) -> torch.Tensor:
        """``steps`` clips along the great circle (slerp) from seed ``a``'s latent to seed ``b``'s.

        Returns float ``[steps, T, C, H, W]``; weights ``0, 1/(steps-1), ..., 1``, so the first and
        last clips are ``sample(1, seed=seed_a)`` and ``sample(1, seed=seed_b)`` (with the same
        ``label`` and ``truncation``). ``label``: one class for every step (conditional GANs;
        default: ``seed_a``'s class, ``seed_a mod num_classes``).
        """
        check_count("steps", steps)
        seed_a, seed_b = (check_seed(s) for s in (seed_a, seed_b))
        psi = self._psi(truncation)
        za, zb = truncate(self.model.latents([seed_a, seed_b]), psi)
        z = slerp(za, zb, torch.linspace(0.0, 1.0, steps))  # [steps, z_dim]
        labels = self._labels(label, [seed_a])
        return self._generate(z, None if labels is None else labels.expand(steps), frames, batch_size)

    def _generate(self, z: torch.Tensor, labels: torch.Tensor | None, frames: int | None,
                  batch_size: int) -> torch.Tensor:
        check_count("batch_size", batch_size)
        if frames is not None:
            check_count("frames", frames)
        return generate(self.model.generator, z, labels=labels, frames=frames, batch_size=batch_size)

    @staticmethod
    def _psi(truncation: Any) -> float:
        if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or not truncation >= 0:
            raise VidgenError(f"truncation must be a number >= 0 (1: none), got {truncation!r}")
        return float(truncation)

    def _labels(self, label: Any, seeds: list[int]) -> torch.Tensor | None:
        """``[len(seeds)]`` class indices for a conditional GAN (None for an unconditional one), checked."""
        return super()._labels(label, len(seeds), seeds=seeds, num_classes=self.num_classes)

    def __repr__(self) -> str:
        classes = f", {self.num_classes} {'categories' if self.info_classes else 'classes'}" if self.num_classes else ""
        return (f"VideoGenerator({self.meta['model']['name']}, {self.frames}x{self._shape()}{classes}, "
                f"kimg={self.meta.get('kimg')})")
