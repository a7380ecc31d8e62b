"""The Python API.

    import vidgen
    gen = vidgen.load("runs/demo")                 # a run folder written by `vidgen train`
    videos = gen.sample(8, seed=0)                 # float [8, T, C, H, W] in [-1, 1]
    grid = vidgen.io.make_grid(videos)             # uint8 [T, H', W', 3]
    vidgen.io.write_video("samples.mp4", grid, fps=gen.fps)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vidgen.config import from_dict
from vidgen.errors import VidgenError
from vidgen.io.checkpoint import FORMAT_VERSION, load_export
from vidgen.models import build_model
from vidgen.models.gan.sampling import generate
from vidgen.registry import MODELS
from vidgen.utils.hw import resolve_device


class VideoGenerator:
    """A trained generator loaded from an export; :meth:`sample` makes clips."""

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

    def sample(self, n: int, *, seed: int = 0, batch_size: int = 32) -> torch.Tensor:
        """``n`` clips as float ``[n, T, C, H, W]`` in ``[-1, 1]`` (on the CPU).

        Sample i uses seed ``seed + i`` alone, so it is the same whatever ``n`` and
        ``batch_size`` are.
        """
        if n < 1:
            raise VidgenError(f"the number of samples must be >= 1, got {n}")
        latents = self.model.latents(list(range(seed, seed + n)))
        return generate(self.model.generator, latents, batch_size=batch_size)

    def __repr__(self) -> str:
        return (f"VideoGenerator({self.meta['model']['name']}, {self.frames}x{self.channels}x"
                f"{self.resolution}x{self.resolution}, kimg={self.meta.get('kimg')})")


def load(path: str | Path, *, device: str = "cpu") -> VideoGenerator:
    """Load the export in ``path`` (a run folder, an export folder or its ``model.safetensors``)."""
    state, meta = load_export(path)
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
    entry = MODELS.get(name)
    if entry.meta.get("family") != "gan":
        raise VidgenError(f"{path} holds a {entry.meta.get('family')} model ({name}); vidgen.load reads "
                          "generators (GANs)",
                          hint="its weights are plain safetensors: vidgen.io.checkpoint.load_export(path) returns them")
    config = from_dict(entry.config, model_cfg, "model")
    model = build_model(
        config,
        frames=video["frames"],
        resolution=video["resolution"],
        channels=video["channels"],
        num_classes=len(meta.get("class_names", [])),
    )
    gen_state = {k.removeprefix("generator."): v for k, v in state.items() if k.startswith("generator.")}
    try:
        model.generator.load_state_dict(gen_state, strict=True)
    except RuntimeError as e:
        raise VidgenError(f"{path}: weights do not match the model in config.json ({str(e).splitlines()[0]})") from None
    dev = resolve_device(device)
    model.to(dev).eval()
    return VideoGenerator(model=model, meta=meta, device=dev)
