"""The whole chain in one description: ``input -> pre-processing -> model -> post-processing -> output``.

A pipeline is a YAML file (or a :class:`PipelineConfig`), read strictly::

    input: clip.mp4                 # any video PyAV reads, a folder of frames or a uint8 .npy
    pre:                            # the data layer's transforms (docs/data.md), none by default
      resize: 64
      crop: 64
    model:                          # optional: a shipped model or run folder that continues clips,
      run: mnist-simvp              # or a restoration network (denoise, deflicker, interpolate) that transforms them
      context: 10                   # frames read (default: the model's)
      frames: 10                    # frames predicted (default: the model's)
    post: denoise,sharpen           # a chain of post-processing ops (docs/post.md), or none
    post_options: [sharpen.amount=0.4]
    output: out.mp4

:func:`run_pipeline` writes the output and ``<output stem>-side-by-side.mp4`` (the input
beside the output) and returns the temporal metrics of both (warping error with DIS flow,
flicker index); ``vidgen pipeline PIPELINE.yaml [key=value ...]`` does the same from the
command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidgen import config as cfgmod
from vidgen.data.transforms import TransformConfig
from vidgen.errors import ConfigError, VidgenError


@dataclass
class PipelineModel:
    run: str = ""  # a shipped model's name or a run folder; empty: no model stage
    context: int | None = None  # frames the model reads (default: its training context)
    frames: int | None = None  # frames it predicts (default: its training horizon)
    seed: int = 0
    factor: int = 2  # an interpolator: frames out per frame in


@dataclass
class PipelineConfig:
    input: str = ""
    output: str = ""
    pre: TransformConfig = field(default_factory=TransformConfig)
    model: PipelineModel = field(default_factory=PipelineModel)
    post: str = ""  # e.g. "denoise,sharpen,interpolate:x2"; empty: no post-processing
    post_options: list[str] = field(default_factory=list)
    fps: float = 8.0

    def __post_init__(self) -> None:
        if not self.input or not self.output:
            raise ConfigError("a pipeline needs an input and an output", hint="input: clip.mp4  output: out.mp4")
        if self.fps <= 0:
            raise ConfigError(f"fps must be > 0, got {self.fps}")


def load_pipeline(path: str | Path | None, overrides: list[str] | None = None) -> PipelineConfig:
    """A pipeline from YAML and ``key.sub=value`` overrides, strictly (an unknown key names the valid ones)."""
    return cfgmod.load(PipelineConfig, path, overrides or [])


def read_input(path: str | Path) -> np.ndarray:
    """A video file, a folder of frames or a uint8 ``.npy`` as uint8 RGB ``[T, H, W, 3]``."""
    from vidgen.io.video import read_clip

    frames = read_clip(path)
    frames = frames[..., None] if frames.ndim == 3 else frames
    return np.ascontiguousarray(frames.repeat(3, axis=-1) if frames.shape[-1] == 1 else frames[..., :3])


def run_pipeline(cfg: PipelineConfig) -> dict[str, Any]:
    """Run ``cfg``; returns what was written and the temporal metrics of the input and the output."""
    import torch

    from vidgen.convert import to_uint8
    from vidgen.data.transforms import apply_transforms
    from vidgen.io import side_by_side, write_video
    from vidgen.metrics.temporal import flicker_index, warping_error
    from vidgen.post import apply_chain, parse_chain

    steps = parse_chain(cfg.post, cfg.post_options) if cfg.post else []  # bad ops fail before any work
    out = Path(cfg.output)
    if not out.parent.is_dir():
        raise VidgenError(f"the folder of the output ({out.parent}) does not exist", hint="create it first")
    frames = apply_transforms(read_input(cfg.input), cfg.pre, None, np.random.default_rng(0))  # [T, H, W, 3]
    stages = ["pre"]
    video = frames
    if cfg.model.run:
        import vidgen

        model = vidgen.load(cfg.model.run)
        if "restore" in model.capabilities:  # transforms the clip at its own size
            video = model.restore(frames, **({"factor": cfg.model.factor} if model.task == "interpolate" else {}))
            stages.append(f"model {model.name} ({model.task})")
        elif "predict" not in model.capabilities:
            raise VidgenError(f"{cfg.model.run} cannot continue a clip (it can: {', '.join(sorted(model.capabilities))})",
                              hint="a pipeline's model continues or transforms the input video: use a predictor or "
                                   "a restoration network")
    if cfg.model.run and "predict" in model.capabilities:
        clip = model.resize(frames)  # [1, T, C, H, W] at the model's size
        context = cfg.model.context or model.context
        if context > clip.shape[1]:
            raise VidgenError(f"the input has {clip.shape[1]} frames, the model reads {context}")
        future = model.predict(clip[:, :context], frames=cfg.model.frames or model.future, seed=cfg.model.seed)
        video = to_uint8(torch.cat([clip[:, :context], future], dim=1)[0])
        if video.shape[-1] == 1:
            video = video.repeat(3, axis=-1)
        stages.append(f"model {model.name}")
    if steps:
        video = apply_chain(video, steps)
        stages.append(cfg.post)
    predicted = cfg.model.run and "predict" in model.capabilities
    fps_out = cfg.fps * len(video) / max(1, len(frames)) if not predicted else cfg.fps
    write_video(out, video, fps=fps_out)
    import cv2

    shown = frames[np.linspace(0, len(frames) - 1, len(video)).round().astype(int)]
    shown = np.stack([cv2.resize(f, (video.shape[2], video.shape[1]), interpolation=cv2.INTER_NEAREST) for f in shown])
    beside = write_video(out.with_name(f"{out.stem}-side-by-side.mp4"),
                         side_by_side(shown, video, titles=("input", "output")), fps=fps_out)
    metrics = {}
    for name, clip_ in (("input", frames), ("output", video)):
        if len(clip_) > 1:
            metrics[name] = {"warp_error": warping_error(clip_), "flicker": flicker_index(clip_)}
    return {"output": str(out), "side_by_side": str(beside), "stages": stages, "frames": [len(frames), len(video)],
            "metrics": metrics}
