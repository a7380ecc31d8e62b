"""The Python API.

    import vidgen
    gen = vidgen.load("runs/demo")                 # a GAN run folder written by `vidgen train`
    videos = gen.sample(8, seed=0)                 # float [8, T, C, H, W] in [-1, 1]
    grid = vidgen.io.make_grid(videos)             # uint8 [T, H', W', 3]
    vidgen.io.write_video("samples.mp4", grid, fps=gen.fps)

    pred = vidgen.load("runs/convlstm")            # a predictor run: a VideoPredictor
    clip = pred.resize(vidgen.io.read_video("clip.mp4"))     # float [1, T, C, H, W], the model's size
    future = pred.predict(clip[:, :10], frames=30, seed=0)   # float [1, 30, C, H, W]

:func:`load` reads ``config.json``'s ``"family"`` and returns a :class:`VideoGenerator`
(``gan``), a :class:`VideoPredictor` (``predictor``) or a :class:`VideoVAE` (``vae``: clip
VAEs sample, reconstruct and interpolate; ``svg`` predicts like a predictor).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidgen.config import from_dict
from vidgen.convert import as_video_batch, check_count, check_input, check_seed, resize_video  # noqa: F401
from vidgen.errors import VidgenError
from vidgen.io.checkpoint import FORMAT_VERSION, load_export
from vidgen.models import build_model
from vidgen.models.gan.sampling import generate, slerp, truncate
from vidgen.registry import MODELS
from vidgen.utils.hw import resolve_device

class _Loaded:
    """What every loaded model knows from its ``config.json``: the clip shape, rate and classes."""

    def __init__(self, *, model: torch.nn.Module, meta: dict[str, Any], device: torch.device):
        self.model = model
        self.meta = meta
        self.device = device
        video = meta["video"]
        self.frames: int = video["frames"]
        self.resolution: int = video["resolution"]
        self.channels: int = video["channels"]
        self.fps: int = video.get("fps", 8)
        self.class_names: list[str] = list(meta.get("class_names", []))

    def resize(self, video: Any) -> torch.Tensor:
        """``video`` at the model's size: float ``[B, T, C, resolution, resolution]`` in ``[-1, 1]``.

        Takes a float tensor ``[B, T, C, H, W]`` / ``[T, C, H, W]`` in ``[-1, 1]`` or uint8 frames
        ``[T, H, W, C]`` / ``[B, T, H, W, C]`` of any size with 1, 3 (or 4, alpha dropped)
        channels. The short side is resized to ``resolution`` and the centre cropped square (as
        the training data is by default); RGB becomes gray by BT.601 luma, gray is repeated to RGB.
        """
        return resize_video(as_video_batch(video), resolution=self.resolution, channels=self.channels)

    def _shape(self) -> str:
        return f"{self.channels}x{self.resolution}x{self.resolution}"


class VideoGenerator(_Loaded):
    """A trained GAN generator loaded from an export: :meth:`sample` and :meth:`interpolate` make clips.

    Attributes:
        z_dim: the latent size; ``num_classes``: > 0 for a class-conditional GAN, whose methods
            take ``label`` (an int for every clip, or one int per clip); ``class_names``.
            ``info_classes``: > 0 for an InfoGAN one (``model.info_classes``), whose
            ``num_classes`` categories were learned without labels and are sampled as classes.
        any_length: whether ``frames=`` may ask for clips longer or shorter than ``frames``
            (the training length).
    """

    def __init__(self, *, model: torch.nn.Module, meta: dict[str, Any], device: torch.device):
        super().__init__(model=model, meta=meta, device=device)
        self.z_dim: int = int(model.z_dim)
        self.num_classes: int = int(getattr(model, "num_classes", 0))
        self.any_length: bool = bool(getattr(model, "any_length", False))
        # InfoGAN categories (model.info_classes) are classes to sample by, not the dataset's
        self.info_classes: int = int(meta["model"].get("info_classes", 0) or 0)
        if self.info_classes:
            self.class_names = [f"category {k}" for k in range(self.info_classes)]

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
        name = self.meta["model"]["name"]
        if not self.num_classes:
            if label is not None:
                raise VidgenError(f"{name} is an unconditional generator: leave label out")
            return None
        n = len(seeds)
        if label is None:
            return torch.tensor(seeds, dtype=torch.long) % self.num_classes
        labels = torch.as_tensor(label, dtype=torch.long).reshape(-1)
        if labels.numel() == 1:
            labels = labels.expand(n)  # one class for every clip
        if len(labels) != n or (labels < 0).any() or (labels >= self.num_classes).any():
            names = f" ({', '.join(self.class_names)})" if self.class_names else ""
            raise VidgenError(f"label must be a class in [0, {self.num_classes}){names}, or one per clip ({n}), "
                              f"got {label!r}")
        return labels

    def __repr__(self) -> str:
        classes = f", {self.num_classes} {'categories' if self.info_classes else 'classes'}" if self.num_classes else ""
        return (f"VideoGenerator({self.meta['model']['name']}, {self.frames}x{self._shape()}{classes}, "
                f"kimg={self.meta.get('kimg')})")


class VideoPredictor(_Loaded):
    """A trained next-frame predictor loaded from an export; :meth:`predict` continues clips.

    Attributes:
        context, future: the model's training split (frames read, frames predicted); any
            context length >= 1 and any number of predicted frames work at prediction time.
        frames, resolution, channels, fps: the training clips' ``[T, C, H, W]`` and rate.
        meta: the export's ``config.json``; ``model``: the network (eval mode).
    """

    predicts = True

    def __init__(self, *, model: torch.nn.Module, meta: dict[str, Any], device: torch.device):
        super().__init__(model=model, meta=meta, device=device)
        self.context: int = int(model.context)
        self.future: int = int(model.future)

    def predict(self, context: Any, *, frames: int, seed: int = 0, batch_size: int = 32) -> torch.Tensor:
        """Predict ``frames`` frames after ``context``: float ``[B, frames, C, H, W]`` in ``[-1, 1]`` (CPU).

        Args:
            context: float ``[B, Tc, C, H, W]`` in ``[-1, 1]`` (``[Tc, C, H, W]`` is one clip), or
                uint8 frames ``[Tc, H, W, C]`` / ``[B, Tc, H, W, C]`` (numpy or torch); any
                ``Tc >= 1``, at the model's resolution and channels (see :meth:`resize`).
            frames: how many frames to predict, any ``>= 1`` (past the training horizon too).
            seed: seeds the ``torch.Generator`` (CPU) handed to the model, so a stochastic
                model gives the same future for the same seed and another for another seed.
                Its draws run through the batches in order, so they depend on ``batch_size``.
            batch_size: clips predicted at once.
        """
        return _predict(self, context, frames=frames, seed=seed, batch_size=batch_size)

    def sample(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Predictors make no clips from nothing: a clear error (``vidgen sample`` on a predictor run)."""
        raise VidgenError(f"{self.meta['model']['name']} is a next-frame predictor: it continues clips and samples "
                          "none", hint="use .predict(context, frames=N), or: vidgen predict RUN --input clip.mp4 "
                                       "--out pred.mp4")

    def __repr__(self) -> str:
        return (f"VideoPredictor({self.meta['model']['name']}, {self.context} -> {self.future} frames of "
                f"{self._shape()}, kimg={self.meta.get('kimg')})")


class VideoVAE(_Loaded):
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

    def sample(self, n: int, *, seed: int = 0, label: Any = None, batch_size: int = 32) -> torch.Tensor:
        """``n`` clips decoded from prior latents, float ``[n, T, C, H, W]`` in ``[-1, 1]`` (CPU).

        Sample i uses seed ``seed + i`` alone. ``label``: for a conditional VAE, the class of
        every clip (int) or of each (``n`` ints); default clip i is class ``i mod num_classes``.
        """
        self._need_clip_vae("sample")
        check_count("n", n)
        z = self.model.latents(list(range(seed, seed + n)))  # [n, z_dim]
        labels = self._labels(label, n, cycle=True)
        return self._decode(z, labels, batch_size)

    def reconstruct(self, video: Any, *, label: Any = None, batch_size: int = 32) -> torch.Tensor:
        """Each clip decoded from its posterior mean: ``[B, T, C, H, W]`` in ``[-1, 1]`` (CPU).

        ``video``: as :meth:`VideoPredictor.predict` takes it, with the model's ``[T, C, H, W]``
        (:meth:`resize` fixes the size); ``label`` is needed by conditional VAEs.
        """
        self._need_clip_vae("reconstruct")
        x = self._clips(video)
        labels = self._labels(label, len(x))
        return self._decode(self._encode(x, labels, batch_size), labels, batch_size)

    def interpolate(self, a: Any, b: Any, steps: int = 8, *, label: Any = None) -> torch.Tensor:
        """``steps`` clips decoded along the straight line from ``a``'s latent to ``b``'s: ``[steps, T, C, H, W]``.

        ``a`` and ``b``: clips (their posterior means) or int seeds (their prior latents, as
        :meth:`sample` draws them); ``label``: one class for every step (conditional VAEs).
        """
        self._need_clip_vae("interpolate")
        check_count("steps", steps)
        labels = self._labels(label, 1)
        za, zb = (self._latent(v, labels) for v in (a, b))  # [1, z_dim] each
        w = torch.linspace(0.0, 1.0, steps).view(-1, 1)
        z = (1 - w) * za + w * zb  # [steps, z_dim]
        return self._decode(z, None if labels is None else labels.expand(steps), steps)

    def predict(self, context: Any, *, frames: int, seed: int = 0, batch_size: int = 32) -> torch.Tensor:
        """As :meth:`VideoPredictor.predict`: ``frames`` frames after ``context``, one future per seed."""
        if not self.predicts:
            raise VidgenError(f"{self.meta['model']['name']} encodes whole clips and predicts no frames",
                              hint="use sample, reconstruct or interpolate; svg is the VAE that predicts")
        return _predict(self, context, frames=frames, seed=seed, batch_size=batch_size)

    def _need_clip_vae(self, what: str) -> None:
        if self.predicts:
            raise VidgenError(f"{self.meta['model']['name']} is a stochastic predictor: it has no {what}",
                              hint="continue a clip with .predict(context, frames=N, seed=S)")

    def _labels(self, label: Any, n: int, *, cycle: bool = False) -> torch.Tensor | None:
        """``[n]`` class indices for a conditional VAE (None for an unconditional one), checked."""
        if not self.num_classes:
            if label is not None:
                raise VidgenError("this VAE is unconditional: leave label out")
            return None
        if label is None:
            if not cycle:
                raise VidgenError(f"this VAE is class-conditional ({self.num_classes} classes): pass label=",
                                  hint=f"classes: {', '.join(self.class_names) or range(self.num_classes)}")
            return torch.arange(n) % self.num_classes
        labels = torch.as_tensor(label, dtype=torch.long).reshape(-1)
        if labels.numel() == 1:
            labels = labels.expand(n)  # one class for every clip
        if len(labels) != n or (labels < 0).any() or (labels >= self.num_classes).any():
            raise VidgenError(f"label must be one class in [0, {self.num_classes}) or {n} of them, got {label!r}")
        return labels

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


# ------------------------------------------------------------------------------------ helpers


def _chunks(x: torch.Tensor, labels: torch.Tensor | None, size: int):
    """``(x chunk, labels chunk or None)`` pairs of ``size`` rows."""
    check_count("batch_size", size)
    parts = labels.split(size) if labels is not None else [None] * math.ceil(len(x) / size)
    return zip(x.split(size), parts)


def _on(labels: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if labels is None else labels.to(device)


def _predict(owner: Any, context: Any, *, frames: int, seed: int, batch_size: int) -> torch.Tensor:
    """What :meth:`VideoPredictor.predict` does, for any loaded model with a predictor network."""
    x = check_input(as_video_batch(context), resolution=owner.resolution, channels=owner.channels,
                    fix="predictor.resize(clip)")
    check_count("frames", frames)
    check_count("batch_size", batch_size)
    generator = torch.Generator().manual_seed(int(seed))
    return run_predictor(owner.model, x, frames=frames, generator=generator, batch_size=batch_size)


def run_predictor(model: torch.nn.Module, context: torch.Tensor, *, frames: int,
                  generator: torch.Generator | None = None, batch_size: int = 32, cpu: bool = True) -> torch.Tensor:
    """Run a predictor-interface module on ``context [B, Tc, C, H, W]`` in eval and inference mode.

    Batches of ``batch_size`` go to the model's device; ``generator`` (its draws continue from
    batch to batch) is passed on as ``generator=``. Returns float32 ``[B, frames, C, H, W]`` on
    the CPU (``cpu=False``: on the model's device); the module's train/eval mode is restored.
    """
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")  # parameter-free baselines: the CPU
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            pred = torch.cat([model(chunk.to(device), future=frames, generator=generator).float()
                              for chunk in context.split(batch_size)])
    finally:
        model.train(was_training)
    return pred.cpu() if cpu else pred


# --------------------------------------------------------------------------------- loading


def _describe(path: str | Path, meta: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(model name, model config without the name, video)`` from config.json, checked."""
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if version is not None and version > FORMAT_VERSION:
        raise VidgenError(f"{path} was exported in format {version}, newer than this vidgen reads ({FORMAT_VERSION})",
                          hint="upgrade vidgen")
    try:
        model_cfg = dict(meta["model"])
        name = model_cfg.pop("name")
        video = meta["video"]
        for key in ("frames", "resolution", "channels"):
            if not isinstance(video[key], int):
                raise TypeError(key)
    except (KeyError, TypeError, AttributeError):
        raise VidgenError(f"{path}: config.json lacks the model or video description (model.name, "
                          "video.frames, video.resolution, video.channels)") from None
    return name, model_cfg, video


def _build(name: str, model_cfg: dict[str, Any], video: dict[str, Any],
           meta: dict[str, Any]) -> torch.nn.Module:
    config = from_dict(MODELS.get(name).config, model_cfg, "model")
    return build_model(config, frames=video["frames"], resolution=video["resolution"], channels=video["channels"],
                       num_classes=len(meta.get("class_names", [])))


def _load_weights(path: str | Path, module: torch.nn.Module, state: dict[str, torch.Tensor], prefix: str) -> None:
    """Load the ``<prefix>.*`` tensors of an export into ``module``, strictly."""
    own = {k.removeprefix(f"{prefix}."): v for k, v in state.items() if k.startswith(f"{prefix}.")}
    try:
        module.load_state_dict(own, strict=True)
    except RuntimeError as e:
        raise VidgenError(f"{path}: weights do not match the model in config.json ({str(e).splitlines()[0]})") from None


def load(path: str | Path, *, device: str = "cpu") -> VideoGenerator | VideoPredictor | VideoVAE:
    """Load the export in ``path`` (a run folder, an export folder or its ``model.safetensors``).

    ``config.json``'s ``"family"`` picks what comes back: ``gan`` -> :class:`VideoGenerator`,
    ``predictor`` -> :class:`VideoPredictor`, ``vae`` -> :class:`VideoVAE`. ``device``: cpu,
    cuda[:N] or auto.
    """
    state, meta = load_export(path)
    name, model_cfg, video = _describe(path, meta)
    family = meta.get("family") or MODELS.get(name).meta.get("family")
    wrappers = {"gan": VideoGenerator, "predictor": VideoPredictor, "vae": VideoVAE}
    if family not in wrappers:
        raise VidgenError(f"{path}: unknown model family {family!r} in config.json",
                          hint=f"valid families: {', '.join(wrappers)}")
    model = _build(name, model_cfg, video, meta)
    # GANs export their generator only (generator.*); the other families the whole model (model.*)
    if family == "gan":
        _load_weights(path, model.generator, state, "generator")
    else:
        _load_weights(path, model, state, "model")
    dev = resolve_device(device)
    model.to(dev).eval()
    return wrappers[family](model=model, meta=meta, device=dev)
