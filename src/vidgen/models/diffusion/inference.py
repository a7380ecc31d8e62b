"""The diffusion family's inference wrapper: :class:`VideoDiffusion`, what ``vidgen.load`` returns for it."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from vidgen.convert import check_count
from vidgen.errors import VidgenError
from vidgen.inference import LoadedModel
from vidgen.models.diffusion.sampling import check_guidance, check_sampling, guided, initial_noise, solve
from vidgen.utils.progress import progress


class VideoDiffusion(LoadedModel):
    """A trained video diffusion model: :meth:`sample` makes clips from noise (of a class),
    :meth:`predict` continues clips and :meth:`infill` fills in the frames a mask leaves out.

    Sampling options (all methods): ``steps`` (sampler steps, default 18), ``sampler``
    (``heun``: 2 network calls a step, or ``ddim``: 1), ``guidance`` (class-conditional models:
    classifier-free guidance, 1 = the conditional model, 0 = the unconditional one).
    """

    sample_options = frozenset({"sampling_steps", "sampler", "guidance"})

    def __init__(self, *, model: torch.nn.Module, meta: dict[str, Any], device: torch.device):
        super().__init__(model=model, meta=meta, device=device)
        self.num_classes: int = int(model.num_classes)
        self.capabilities = frozenset({"generate", "predict"} | ({"class"} if self.num_classes else set()))
        self.context: int = max(1, self.frames // 2)  # frames read when continuing a clip
        self.future: int = self.frames - self.context

    def _check(self, steps: int, sampler: str, guidance: float) -> float:
        check_sampling(steps, sampler)
        return check_guidance(guidance, bool(self.num_classes), lambda m: warnings.warn(m, stacklevel=3))

    def _solve(self, seeds: list[int], cond: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor | None, *,
               steps: int, sampler: str, guidance: float) -> torch.Tensor:
        shape = self.model.latent_shape(*cond.shape[-2:])  # pixels, or a latent model's latents
        x = initial_noise(seeds, shape).to(self.device)
        lab = labels.to(self.device) if labels is not None else None
        with torch.inference_mode():
            given = self.model.to_latent(cond.to(self.device)) if bool(mask.any()) else torch.zeros_like(x)
            out = solve(guided(self.model, given, mask.to(self.device), lab, guidance), x, steps=steps,
                        sampler=sampler)
            out = self.model.from_latent(out).clamp(-1, 1).float().cpu()
        m = mask[:, :, None, None, None].cpu()
        return m * cond.float().cpu() + (1 - m) * out  # the given frames exactly, not to the last bit of the ODE

    def sample(self, n: int, *, seed: int = 0, label: Any = None, sampling_steps: int = 18, sampler: str = "heun",
               guidance: float = 1.0, batch_size: int = 16, frames: int | None = None) -> torch.Tensor:
        """``n`` clips as float ``[n, T, C, H, W]`` in ``[-1, 1]`` (CPU); clip ``i`` depends on seed
        ``seed + i`` alone (and its label: by default class ``(seed + i) mod classes``). ``frames``:
        the model's own length (``None``); longer clips come from :meth:`predict`."""
        if frames is not None and int(frames) != self.frames:
            raise VidgenError(f"this diffusion model samples clips of {self.frames} frames, not {frames}",
                              hint="continue a sample with vidgen predict for a longer clip")
        check_count("n", n)
        check_count("batch_size", batch_size)
        guidance = self._check(sampling_steps, sampler, guidance)
        seeds = list(range(seed, seed + n))
        labels = self._labels(label, n, seeds=seeds, num_classes=self.num_classes)
        shape = (self.frames, self.channels, self.resolution, self.resolution)
        out = []
        chunks = range(0, n, batch_size)
        for i in progress(chunks, total=len(chunks), desc="sampling"):
            part = seeds[i:i + batch_size]
            cond = torch.zeros(len(part), *shape)
            out.append(self._solve(part, cond, torch.zeros(len(part), self.frames), None if labels is None else
                                   labels[i:i + batch_size], steps=sampling_steps, sampler=sampler, guidance=guidance))
        return torch.cat(out)

    def infill(self, clip: Any, mask: Any, *, seed: int = 0, label: Any = None, sampling_steps: int = 18,
               sampler: str = "heun", guidance: float = 1.0) -> torch.Tensor:
        """The frames of ``clip [B, T, C, H, W]`` where ``mask [B, T]`` (or ``[T]``) is 0, generated given
        those where it is 1 (which come back exactly): interpolation between frames, or any other
        pattern. ``T`` is the model's ``frames``. Clip ``i`` uses seed ``seed + i``; ``label``: a class
        to draw them as (default none: the unconditional model)."""
        video = self.resize(clip)
        b = video.shape[0]
        mask = torch.as_tensor(mask, dtype=torch.float32)
        mask = mask.expand(b, -1) if mask.ndim == 1 else mask
        if video.shape[1] != self.frames or tuple(mask.shape) != (b, self.frames):
            raise VidgenError(f"infill takes clips of the model's {self.frames} frames and a mask [B, {self.frames}], "
                              f"got {video.shape[1]} frames and a mask {list(mask.shape)}")
        if not ((mask == 0) | (mask == 1)).all():
            raise VidgenError("the mask holds 1 (a given frame) or 0 (a frame to generate)")
        guidance = self._check(sampling_steps, sampler, guidance)
        seeds = list(range(seed, seed + b))
        labels = None if label is None else self._labels(label, b, num_classes=self.num_classes)
        return self._solve(seeds, video, mask, labels, steps=sampling_steps, sampler=sampler, guidance=guidance)

    def predict(self, context: Any, *, frames: int, seed: int = 0, label: Any = None, sampling_steps: int = 18,
                sampler: str = "heun", guidance: float = 1.0, batch_size: int = 16) -> torch.Tensor:
        """``frames`` frames after ``context`` (float ``[B, Tc, C, H, W]`` or uint8 frames), ``[B, frames, C, H, W]``.

        Rolls forward by windows of the model's ``frames``: each reads the last ``self.context``
        frames known so far (fewer at first if the context is shorter) and generates the rest of
        its window. Clip ``i`` uses seed ``seed + i`` (each window its own draw from it);
        ``label``: a class for a conditional model (default none: the unconditional model).
        """
        check_count("frames", frames)
        check_count("batch_size", batch_size)
        video = self.resize(context)  # [B, Tc, C, H, W]
        guidance = self._check(sampling_steps, sampler, guidance)
        b = video.shape[0]
        if b > batch_size:  # clip i keeps seed seed + i whatever the split
            lab = None if label is None else self._labels(label, b, num_classes=self.num_classes)
            return torch.cat([self.predict(video[i:i + batch_size], frames=frames, seed=seed + i,
                                           label=None if lab is None else lab[i:i + batch_size],
                                           sampling_steps=sampling_steps, sampler=sampler, guidance=guidance,
                                           batch_size=batch_size) for i in range(0, b, batch_size)])
        seeds = list(range(seed, seed + b))
        # a clip to continue has no class unless one is said: the null class (the unconditional model)
        labels = None if label is None else self._labels(label, b, num_classes=self.num_classes)
        known = video
        made = 0
        window = 0
        while made < frames:
            k = min(known.shape[1], self.context)
            clip = torch.zeros(b, self.frames, *video.shape[2:])
            clip[:, :k] = known[:, -k:]
            mask = torch.zeros(b, self.frames)
            mask[:, :k] = 1
            out = self._solve([s + 1_000_003 * window for s in seeds], clip, mask, labels,
                              steps=sampling_steps, sampler=sampler, guidance=guidance)
            new = out[:, k:k + (frames - made)]
            known = torch.cat([known, new], dim=1)
            made += new.shape[1]
            window += 1
        return known[:, video.shape[1]:video.shape[1] + frames]

    @property
    def predictor_module(self) -> torch.nn.Module:
        """This model behind the predictor networks' interface (``module(context, future=n, generator=g)``),
        which the frame metrics (``vidgen eval --metric frames``) run."""
        return _AsPredictor(self)

    def __repr__(self) -> str:
        classes = f", {self.num_classes} classes" if self.num_classes else ""
        return f"VideoDiffusion({self.name}, {self.frames}x{self._shape()}{classes}, kimg={self.meta.get('kimg')})"


class _AsPredictor(torch.nn.Module):
    """``forward(context, future=n, generator=g)``: :meth:`VideoDiffusion.predict` with a seed drawn from ``g``."""

    def __init__(self, owner: VideoDiffusion):
        super().__init__()
        self.owner = [owner]  # not a submodule: the network is
        self.net = owner.model
        self.context, self.future = owner.context, owner.future
        self.channels, self.resolution = owner.channels, owner.resolution

    def forward(self, context: torch.Tensor, future: int, generator: torch.Generator | None = None,
                **_: Any) -> torch.Tensor:
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator)) if generator is not None else 0
        return self.owner[0].predict(context.float().cpu(), frames=future, seed=seed).to(context.device)
