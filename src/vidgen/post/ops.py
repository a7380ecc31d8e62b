"""The classical post-processing operators, one function and one small config each.

Every operator takes uint8 frames ``[T, H, W, C]`` and returns uint8 frames (as many, or
more for ``interpolate``), and is registered in ``vidgen.registry.POST_OPS`` with its config;
:mod:`vidgen.post.chain` runs them in a row. Temporal operators (``deflicker``,
``interpolate``, multi-frame ``denoise``) need at least 2 frames.

``denoise``, ``deflicker`` and ``interpolate`` also run a trained restoration network
(``vidgen.models.restore``) in place of the classical method: ``model=`` names its run
folder, export or shipped name (``denoise.model=runs/fastdvdnet_photo_pans``); ``upscale`` a
trained upscaler (``vidgen.models.vsr``: ``upscale:runs/basicvsr_photo_pans``).

Each registration says how far in time an op reads (``radius(cfg)``, frames on each side of
an output frame) and how many frames it makes per frame (``factor``), so
:func:`vidgen.post.chain.stream_chain` runs it over a long video in chunks; ``settle(cfg,
frames)`` fixes what an op estimates from the video (the noise level) once, from the first
chunk, so that every chunk is processed alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import cv2
import numpy as np

from vidgen.errors import ConfigError, VidgenError
from vidgen.inference import LoadedModel
from vidgen.metrics.temporal import flows_to_time, warp
from vidgen.registry import POST_OPS


@lru_cache(maxsize=4)
def _restorer(ref: str, stamp: int) -> LoadedModel:
    from vidgen.inference import load

    return load(ref)


def learned(task: str, ref: str) -> LoadedModel:
    """The restoration network ``ref`` (a run folder, an export or a shipped name), checked to do ``task``."""
    from pathlib import Path

    files = [p for p in (Path(ref), Path(ref) / "model.safetensors") if p.is_file()]
    model = _restorer(str(ref), max((p.stat().st_mtime_ns for p in files), default=0))  # reloaded when rewritten
    if "restore" not in model.capabilities or getattr(model, "task", None) != task:
        does = f"a network that does {model.task}" if "restore" in model.capabilities else f"a {model.family.name} model"
        raise VidgenError(f"{task}.model={ref} is {model.name}, {does}, not {task}",
                          hint=f"train one with a {task} recipe: vidgen list recipes")
    return model


def _need_frames(name: str, frames: np.ndarray, at_least: int = 2) -> None:
    if len(frames) < at_least:
        raise VidgenError(f"{name} works across frames: the clip has {len(frames)}, it needs at least {at_least}")


@dataclass
class SharpenConfig:
    amount: float = 0.6  # how much of the detail (frame - blurred frame) is added back
    radius: float = 1.0  # sigma of the Gaussian blur, pixels
    threshold: int = 0  # leave pixels whose detail is smaller than this (0-255) alone: no noise boost

    def __post_init__(self) -> None:
        if self.amount < 0 or self.radius <= 0 or not 0 <= self.threshold <= 255:
            raise ConfigError("sharpen.amount must be >= 0, sharpen.radius > 0, sharpen.threshold in 0..255")


@POST_OPS.register("sharpen", config=SharpenConfig, temporal=False)
def sharpen(frames: np.ndarray, cfg: SharpenConfig) -> np.ndarray:
    """Unsharp mask: ``x + amount * (x - blur(x))`` where ``|x - blur(x)| > threshold``, frame by frame."""
    x = frames.astype(np.float32)
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), cfg.radius) for f in x]).reshape(x.shape)
    detail = x - blurred
    if cfg.threshold:
        detail = np.where(np.abs(detail) > cfg.threshold, detail, 0.0)
    return np.clip(x + cfg.amount * detail + 0.5, 0, 255).astype(np.uint8)


@dataclass
class DeflickerConfig:
    window: float = 2.0  # sigma, in frames, of the temporal smoothing of each frame's mean colour
    model: str | None = None  # a trained deflicker network (run folder, export or shipped name) instead

    def __post_init__(self) -> None:
        if self.window <= 0:
            raise ConfigError(f"deflicker.window must be > 0, got {self.window}")


def _smooth(series: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 with reflected ends."""
    radius = max(1, int(math.ceil(3 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(series, [(radius, radius)] + [(0, 0)] * (series.ndim - 1), mode="reflect")
    return np.stack([np.tensordot(kernel, padded[t:t + 2 * radius + 1], axes=(0, 0)) for t in range(len(series))])


def _deflicker_radius(cfg: DeflickerConfig) -> int:
    return learned("deflicker", cfg.model).radius if cfg.model else max(1, int(math.ceil(3 * cfg.window)))


@POST_OPS.register("deflicker", config=DeflickerConfig, temporal=True, radius=_deflicker_radius)
def deflicker(frames: np.ndarray, cfg: DeflickerConfig) -> np.ndarray:
    """Classical deflicker: each frame's gain per channel set so its mean colour follows the temporally
    smoothed mean colour (a gain jitter goes; slow changes of light stay). With ``model``: the
    trained network."""
    _need_frames("deflicker", frames)
    if cfg.model:
        return learned("deflicker", cfg.model).restore(frames)
    means = np.stack([f.reshape(-1, f.shape[-1]).mean(axis=0) for f in frames])  # [T, C]
    gain = _smooth(means, cfg.window) / np.maximum(means, 1e-3)
    out = np.empty_like(frames)
    for t, f in enumerate(frames):  # a frame at a time: a chunk of 1080p frames never doubles as floats
        out[t] = np.clip(f * gain[t].astype(np.float32) + 0.5, 0, 255)
    return out


@dataclass
class DenoiseConfig:
    # the noise level (0-255 scale): NLM's filter strength h, or the network's noise map; None: estimated
    strength: float | None = None
    window: int = 5  # frames the multi-frame filter reads (odd; fewer at the ends)
    search: int = 21  # search window, pixels (odd)
    model: str | None = None  # a trained denoiser (run folder, export or shipped name) instead of NLM

    def __post_init__(self) -> None:
        if self.strength is not None and self.strength <= 0:
            raise ConfigError(f"denoise.strength must be > 0 (or null: estimated), got {self.strength}")
        if self.window < 1 or self.window % 2 == 0 or self.search < 3 or self.search % 2 == 0:
            raise ConfigError("denoise.window must be odd and >= 1, denoise.search odd and >= 3")


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


def estimate_noise(frames: np.ndarray) -> float:
    """The Gaussian noise sigma of uint8 frames (0-255 scale): Immerkaer's estimator (1996), the
    mean absolute response to a Laplacian difference that cancels smooth image structure,
    per channel, median over (up to 8) frames."""
    step = max(1, len(frames) // 8)
    sigmas = []
    for f in frames[::step]:
        for c in range(f.shape[-1]):
            response = cv2.filter2D(f[..., c].astype(np.float32), -1, _IMMERKAER)[1:-1, 1:-1]
            sigmas.append(math.sqrt(math.pi / 2) * float(np.abs(response).mean()) / 6.0)
    return float(np.median(sigmas))


def _denoise_radius(cfg: DenoiseConfig) -> int:
    return learned("denoise", cfg.model).radius if cfg.model else cfg.window // 2


def _denoise_settle(cfg: DenoiseConfig, frames: np.ndarray) -> DenoiseConfig:
    """The strength estimated once (from the first chunk of a streamed video)."""
    if cfg.strength is not None:
        return cfg
    if cfg.model:
        import torch

        from vidgen.convert import uint8_to_float
        from vidgen.models.restore.degrade import estimate_sigma

        return replace(cfg, strength=float(estimate_sigma(uint8_to_float(torch.from_numpy(frames))[None])[0]))
    return replace(cfg, strength=max(1.0, estimate_noise(frames)))


@POST_OPS.register("denoise", config=DenoiseConfig, temporal=True, radius=_denoise_radius, settle=_denoise_settle)
def denoise(frames: np.ndarray, cfg: DenoiseConfig) -> np.ndarray:
    """OpenCV's multi-frame non-local means over ``window`` frames around each one (a single frame:
    the single-image filter); the strength is the estimated noise sigma unless given. With
    ``model``: the trained denoiser, told the strength (or its own estimate of the noise)."""
    if cfg.model:
        return learned("denoise", cfg.model).restore(frames, sigma=cfg.strength)
    h = cfg.strength if cfg.strength is not None else max(1.0, estimate_noise(frames))
    t_total = len(frames)
    out = np.empty_like(frames)
    gray = frames.shape[-1] == 1
    seq = [np.ascontiguousarray(f[..., 0] if gray else f) for f in frames]
    for t in range(t_total):
        w = min(cfg.window, 2 * min(t, t_total - 1 - t) + 1)  # centred on frame t: fewer at the ends
        if w < 3:
            f = seq[t]
            out[t] = (cv2.fastNlMeansDenoising(f, None, h, 7, cfg.search)[..., None] if gray else
                      cv2.fastNlMeansDenoisingColored(f, None, h, h, 7, cfg.search))
        elif gray:
            out[t] = cv2.fastNlMeansDenoisingMulti(seq, t, w, None, h, 7, cfg.search)[..., None]
        else:
            out[t] = cv2.fastNlMeansDenoisingColoredMulti(seq, t, w, None, h, h, 7, cfg.search)
    return out


DISAGREE = 0.25  # mean absolute difference (values in [0, 1]) above which two warped ends disagree


@dataclass
class InterpolateConfig:
    factor: int = 2  # frames out per frame in: 2 doubles the frame rate (a new frame between each pair)
    model: str | None = None  # a trained interpolator (run folder, export or shipped name) instead of DIS warping

    def __post_init__(self) -> None:
        if self.factor < 1:
            raise ConfigError(f"interpolate.factor must be >= 1, got {self.factor}")


@POST_OPS.register("interpolate", config=InterpolateConfig, temporal=True, shorthand="factor",
                   radius=lambda cfg: 1, factor=lambda cfg: cfg.factor)
def interpolate(frames: np.ndarray, cfg: InterpolateConfig) -> np.ndarray:
    """Classical frame interpolation: DIS flow between each pair (the direction that passes its
    forward-backward check more often), both ends warped along it to time ``tau`` and blended by
    ``1 - tau`` / ``tau``; where the two warped ends disagree (occlusions), the frames' plain
    blend. ``T`` frames become ``(T - 1) * factor + 1``."""
    _need_frames("interpolate", frames)
    if cfg.factor == 1:
        return frames
    if cfg.model:
        return learned("interpolate", cfg.model).restore(frames, factor=cfg.factor)
    x = frames.astype(np.float32) / 255.0
    out = [frames[0]]
    taus = [j / cfg.factor for j in range(1, cfg.factor)]
    for a, b in zip(x[:-1], x[1:]):
        for tau, (g_a, g_b) in zip(taus, flows_to_time(a, b, taus)):
            from_a, from_b = warp(a, g_a), warp(b, g_b)
            mid = (1 - tau) * from_a + tau * from_b
            # where the two warped ends disagree the flow is wrong there (an occlusion, a flat region
            # it could not follow): the frames' plain blend instead of a ghost of a wrong warp
            wrong = np.abs(from_a - from_b).mean(axis=-1, keepdims=True) > DISAGREE
            mid = np.where(wrong, (1 - tau) * a + tau * b, mid)
            out.append(np.clip(mid * 255 + 0.5, 0, 255).astype(np.uint8))
        out.append(np.clip(b * 255 + 0.5, 0, 255).astype(np.uint8))
    return np.stack(out)


@dataclass
class UpscaleConfig:
    factor: int = 2  # output size over input size (a trained upscaler's own scale when model is set)
    method: Literal["lanczos", "bicubic"] = "lanczos"
    model: str | None = None  # a trained upscaler (run folder, export or shipped name) instead: upscale:RUN

    def __post_init__(self) -> None:
        if self.factor < 1:
            raise ConfigError(f"upscale.factor must be >= 1, got {self.factor}")


def upscaler(ref: str) -> LoadedModel:
    """The trained upscaler ``ref`` (a run folder, an export or a shipped name)."""
    from pathlib import Path

    files = [p for p in (Path(ref), Path(ref) / "model.safetensors") if p.is_file()]
    model = _restorer(str(ref), max((p.stat().st_mtime_ns for p in files), default=0))
    if "upscale" not in model.capabilities:
        raise VidgenError(f"upscale.model={ref} is {model.name}, a {model.family.name} model, not an upscaler",
                          hint="train one with a vsr recipe, e.g. vidgen train configs/basicvsr_photo_pans.yaml")
    return model


def _upscale_radius(cfg: UpscaleConfig) -> int:
    return upscaler(cfg.model).radius if cfg.model else 0


@POST_OPS.register("upscale", config=UpscaleConfig, temporal=False, shorthand="factor", shorthand_text="model",
                   radius=_upscale_radius)
def upscale(frames: np.ndarray, cfg: UpscaleConfig) -> np.ndarray:
    """Classical upscaling, frame by frame (OpenCV's Lanczos-4 or bicubic); with ``model``, a trained
    upscaler (``vidgen.models.vsr``) that uses the neighbouring frames, at its own scale."""
    if cfg.model:
        return upscaler(cfg.model).upscale(frames)
    if cfg.factor == 1:
        return frames
    flag = cv2.INTER_LANCZOS4 if cfg.method == "lanczos" else cv2.INTER_CUBIC
    h, w = frames.shape[1:3]
    out = [cv2.resize(f, (w * cfg.factor, h * cfg.factor), interpolation=flag) for f in frames]
    return np.stack([o[..., None] if o.ndim == 2 else o for o in out])
