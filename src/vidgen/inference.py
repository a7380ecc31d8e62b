"""Loading and saving trained networks, whatever their family.

An inference folder is ``model.safetensors`` + ``config.json`` (the registry entry, its
model config, the clip shape and the format version). :func:`load` opens one and returns the
wrapper its family registers; every wrapper derives from :class:`LoadedModel`, which also
``save``\\ s it again (as diffusers' ``save_pretrained`` / ``from_pretrained`` do), so a
network trained by ``vidgen train``, adjusted in Python and saved opens the same way.

Formats: 1 kept the family's training options (``r1_gamma``, ``beta``, ...) in the model
config; 2 keeps only what inference needs. :func:`migrate_meta` reads format 1 by dropping
the keys its family's ``migrate`` names; the clips sampled are unchanged (the weights are
the same; ``tests/io/test_export_migration.py`` checks it on exports format 1 wrote).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidgen.config import from_dict
from vidgen.convert import as_video_batch, check_count, check_input, resize_video, seed_labels, uint8_to_float
from vidgen.errors import VidgenError
from vidgen.family import family_of
from vidgen.io.checkpoint import FORMAT_VERSION, load_export, save_export
from vidgen.registry import FAMILIES, MODELS
from vidgen.utils.hw import resolve_device
from vidgen.utils.progress import progress


class LoadedModel:
    """What every loaded model knows from its ``config.json``: the clip shape, rate and classes.

    Attributes:
        model: the network (eval mode); ``meta``: the export's ``config.json``; ``device``.
        frames, resolution, channels, fps: the training clips' ``[T, C, H, W]`` and rate.
        class_names: the dataset's classes (conditional models sample by them).
        capabilities: what it can do, a subset of :data:`vidgen.family.CAPABILITIES`.
        family: its :class:`~vidgen.family.FamilySpec`.
    """

    capabilities: frozenset[str] = frozenset()
    # the options of `vidgen sample` beyond seed, number and label that its sample() takes
    sample_options: frozenset[str] = frozenset()

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

    @property
    def family(self) -> Any:
        """The :class:`~vidgen.family.FamilySpec` of the model."""
        return family_of(self.name)

    @property
    def name(self) -> str:
        """The registered model name (``dcgan3d``, ``convlstm``, ...)."""
        return self.meta["model"]["name"]

    def resize(self, video: Any) -> torch.Tensor:
        """``video`` at the model's size: float ``[B, T, C, resolution, resolution]`` in ``[-1, 1]``.

        Takes a float tensor ``[B, T, C, H, W]`` / ``[T, C, H, W]`` in ``[-1, 1]`` or uint8 frames
        ``[T, H, W, C]`` / ``[B, T, H, W, C]`` of any size with 1, 3 (or 4, alpha dropped)
        channels. The short side is resized to ``resolution`` and the centre cropped square (as
        the training data is by default); RGB becomes gray by BT.601 luma, gray is repeated to RGB.
        """
        return resize_video(as_video_batch(video), resolution=self.resolution, channels=self.channels)

    def uint8_clip(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 frames ``[T, H, W, C]`` of any size -> float ``[1, T, channels, H, W]`` in ``[-1, 1]`` (for
        the networks that transform a video): gray becomes RGB for an RGB model, alpha is dropped."""
        if frames.ndim != 4 or frames.dtype != np.uint8:
            raise VidgenError(f"{self.name} takes uint8 frames [T, H, W, C], got {frames.dtype} {list(frames.shape)}")
        if frames.shape[-1] != self.channels:
            if self.channels == 3 and frames.shape[-1] == 1:
                frames = np.repeat(frames, 3, axis=-1)
            elif self.channels == 3 and frames.shape[-1] == 4:
                frames = frames[..., :3]
            else:
                raise VidgenError(f"{self.name} was trained on {self.channels}-channel frames; this video has "
                                  f"{frames.shape[-1]}")
        if len(frames) == 0:
            raise VidgenError("the video has no frames")
        return uint8_to_float(torch.from_numpy(np.ascontiguousarray(frames)))[None]  # [1, T, C, H, W]

    def state(self) -> dict[str, torch.Tensor]:
        """The tensors of the export: each exported sub-module's weights under its prefix."""
        return {f"{prefix}.{k}": v for prefix, module in self.family.export_modules(self.model).items()
                for k, v in module.state_dict().items()}

    def save(self, path: str | Path) -> Path:
        """Write this model as an inference folder (``model.safetensors`` + ``config.json``) that
        :func:`load` opens; a file is written to a temporary name and renamed."""
        meta = {k: v for k, v in self.meta.items() if k != "format_version"}
        return save_export(path, self.state(), meta)

    def _labels(self, label: Any, n: int, *, seeds: Any = None, num_classes: int) -> torch.Tensor | None:
        """``[n]`` class indices (None for an unconditional model), checked: ``label`` is one class
        for every clip or one per clip; left out, clip ``i`` is class ``seed_labels(seeds)[i]``
        where ``seeds`` are given, and an error where the class must be said."""
        if not num_classes:
            if label is not None:
                raise VidgenError(f"{self.name} is an unconditional model: leave label out")
            return None
        if label is None:
            if seeds is None:
                raise VidgenError(f"{self.name} is class-conditional ({num_classes} classes): pass label=",
                                  hint=f"classes: {', '.join(self.class_names) or list(range(num_classes))}")
            return seed_labels(seeds, num_classes)
        labels = torch.as_tensor(label, dtype=torch.long).reshape(-1)
        if labels.numel() == 1:
            labels = labels.expand(n)  # one class for every clip
        if len(labels) != n or (labels < 0).any() or (labels >= num_classes).any():
            names = f" ({', '.join(self.class_names)})" if self.class_names else ""
            raise VidgenError(f"label must be a class in [0, {num_classes}){names}, or one per clip ({n}), "
                              f"got {label!r}")
        return labels

    def _shape(self) -> str:
        return f"{self.channels}x{self.resolution}x{self.resolution}"

    def _need(self, capability: str, what: str, hint: str) -> None:
        if capability not in self.capabilities:
            can = ", ".join(sorted(self.capabilities)) or "nothing"
            raise VidgenError(f"{self.name} cannot {what} (it can: {can})", hint=hint)


# ------------------------------------------------------------------------------ predictors


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
            chunks = context.split(batch_size)
            pred = torch.cat([model(chunk.to(device), future=frames, generator=generator).float()
                              for chunk in progress(chunks, total=len(chunks), desc="predicting")])
    finally:
        model.train(was_training)
    return pred.cpu() if cpu else pred


def predict(owner: LoadedModel, context: Any, *, frames: int, seed: int, batch_size: int) -> torch.Tensor:
    """``frames`` frames after ``context`` from any loaded model whose network is a predictor."""
    x = check_input(as_video_batch(context), resolution=owner.resolution, channels=owner.channels,
                    fix="predictor.resize(clip)")
    check_count("frames", frames)
    check_count("batch_size", batch_size)
    generator = torch.Generator().manual_seed(int(seed))
    return run_predictor(owner.model, x, frames=frames, generator=generator, batch_size=batch_size)


# --------------------------------------------------------------------------------- loading


def migrate_meta(path: str | Path, meta: Any) -> dict[str, Any]:
    """``config.json`` of any format this version reads, in the current format (see module doc)."""
    if not isinstance(meta, dict):
        raise VidgenError(f"{path}: config.json is not a JSON object")
    version = meta.get("format_version", 1)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise VidgenError(f"{path} was exported in format {version}, newer than this vidgen reads ({FORMAT_VERSION})",
                          hint="upgrade vidgen")
    if version < 2 and isinstance(meta.get("model"), dict) and "name" in meta["model"]:
        spec = family_of(str(meta["model"]["name"]))
        meta = {**meta, "model": {k: v for k, v in meta["model"].items() if k not in spec.migrate}}
    return {**meta, "format_version": FORMAT_VERSION}


def _describe(path: str | Path, meta: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(model name, model config without the name, video)`` from config.json, checked."""
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


def _load_weights(path: str | Path, module: torch.nn.Module, state: dict[str, torch.Tensor], prefix: str) -> None:
    """Load the ``<prefix>.*`` tensors of an export into ``module``, strictly."""
    own = {k.removeprefix(f"{prefix}."): v for k, v in state.items() if k.startswith(f"{prefix}.")}
    try:
        module.load_state_dict(own, strict=True)
    except RuntimeError as e:
        raise VidgenError(f"{path}: weights do not match the model in config.json ({str(e).splitlines()[0]})") from None


def load(path: str | Path, *, device: str = "cpu") -> LoadedModel:
    """Load the export in ``path`` (a run folder, an export folder or its ``model.safetensors``).

    Returns the wrapper the model's family registers (``gan``: a ``VideoGenerator``,
    ``predictor``: a ``VideoPredictor``, ``vae``: a ``VideoVAE``, ...). ``device``: cpu,
    cuda[:N] or auto.
    """
    state, meta = load_export(path)
    meta = migrate_meta(path, meta)
    name, model_cfg, video = _describe(path, meta)
    spec = family_of(name)
    if meta.get("family", spec.name) != spec.name:
        known = FAMILIES.names()
        what = f"unknown model family {meta['family']!r}" if meta["family"] not in known else f"family {meta['family']!r}"
        raise VidgenError(f"{path}: {what} in config.json, but {name} is a {spec.name} model",
                          hint=f"valid families: {', '.join(known)}")
    entry = MODELS.get(name)
    model = entry.obj(config=from_dict(entry.config, model_cfg, "model"), frames=video["frames"],
                      resolution=video["resolution"], channels=video["channels"],
                      num_classes=len(meta.get("class_names", [])))
    for prefix, module in spec.export_modules(model).items():
        _load_weights(path, module, state, prefix)
    dev = resolve_device(device)
    model.to(dev).eval()
    return spec.wrapper_class()(model=model, meta=meta, device=dev)
