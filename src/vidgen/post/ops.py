"""The classical post-processing operators, one function and one small config each.

Every operator takes uint8 frames ``[T, H, W, C]`` and returns uint8 frames (as many, or
more for ``interpolate``), and is registered in ``vidgen.registry.POST_OPS`` with its config;
:mod:`vidgen.post.chain` runs them in a row. Temporal operators (``deflicker``,
``interpolate``, multi-frame ``denoise``) need at least 2 frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from vidgen.errors import ConfigError, VidgenError
from vidgen.metrics.temporal import dis_flows, warp
from vidgen.registry import POST_OPS


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


@POST_OPS.register("deflicker", config=DeflickerConfig, temporal=True)
def deflicker(frames: np.ndarray, cfg: DeflickerConfig) -> np.ndarray:
    """Classical deflicker: each frame's gain per channel set so its mean colour follows the temporally
    smoothed mean colour (a gain jitter goes; slow changes of light stay)."""
    _need_frames("deflicker", frames)
    x = frames.astype(np.float32)
    means = x.mean(axis=(1, 2))  # [T, C]
    target = _smooth(means, cfg.window)
    gain = target / np.maximum(means, 1e-3)
    return np.clip(x * gain[:, None, None, :] + 0.5, 0, 255).astype(np.uint8)


@dataclass
class DenoiseConfig:
    strength: float | None = None  # NLM filter strength h (0-255 scale); None: from the estimated noise
    window: int = 5  # frames the multi-frame filter reads (odd; fewer at the ends)
    search: int = 21  # search window, pixels (odd)

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


@POST_OPS.register("denoise", config=DenoiseConfig, temporal=True)
def denoise(frames: np.ndarray, cfg: DenoiseConfig) -> np.ndarray:
    """OpenCV's multi-frame non-local means over ``window`` frames around each one (a single frame:
    the single-image filter); the strength is the estimated noise sigma unless given."""
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

    def __post_init__(self) -> None:
        if self.factor < 1:
            raise ConfigError(f"interpolate.factor must be >= 1, got {self.factor}")


def _flow_to_time(flow: np.ndarray, tau: float, steps: int = 4) -> np.ndarray:
    """The flow from the frame at time ``tau`` back to the frame ``flow`` starts from: the fixed point
    of ``g(p) = -tau * flow(p + g(p))`` (each pixel follows its own motion back), by iteration."""
    g = -tau * flow
    for _ in range(steps):
        g = -tau * warp(flow, g)
    return g


@POST_OPS.register("interpolate", config=InterpolateConfig, temporal=True, shorthand="factor")
def interpolate(frames: np.ndarray, cfg: InterpolateConfig) -> np.ndarray:
    """Classical frame interpolation: DIS flow between each pair (the direction that passes its
    forward-backward check more often), both ends warped along it to time ``tau`` and blended by
    ``1 - tau`` / ``tau``; where the two warped ends disagree (occlusions), the frames' plain
    blend. ``T`` frames become ``(T - 1) * factor + 1``."""
    _need_frames("interpolate", frames)
    if cfg.factor == 1:
        return frames
    x = frames.astype(np.float32) / 255.0
    out = [frames[0]]
    for a, b in zip(x[:-1], x[1:]):
        f_ab, ok_ab, f_ba, ok_ba = dis_flows(a, b)  # a(p) lies at b(p + f_ab)
        # DIS can fail in one direction (flat regions): move both ends along the direction whose
        # flows pass the forward-backward check more often
        forward = ok_ab.mean() >= ok_ba.mean()
        flow = f_ab if forward else f_ba
        for j in range(1, cfg.factor):
            tau = j / cfg.factor
            s_near = tau if forward else 1 - tau  # the flow's start frame is `tau` (or 1 - tau) away
            # the frame at tau shows at p what the start frame showed at p + g, g = -s flow(p + g)
            # (linear motion; a few fixed-point steps), and the other end at p - (1 - s) / s g
            g = _flow_to_time(flow, s_near)
            g_other = -(1 - s_near) / s_near * g
            from_a, from_b = (warp(a, g), warp(b, g_other)) if forward else (warp(a, g_other), warp(b, g))
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
    factor: int = 2  # output size over input size
    method: Literal["lanczos", "bicubic"] = "lanczos"

    def __post_init__(self) -> None:
        if self.factor < 1:
            raise ConfigError(f"upscale.factor must be >= 1, got {self.factor}")


@POST_OPS.register("upscale", config=UpscaleConfig, temporal=False, shorthand="factor")
def upscale(frames: np.ndarray, cfg: UpscaleConfig) -> np.ndarray:
    """Classical upscaling, frame by frame (OpenCV's Lanczos-4 or bicubic); the learned upscaler plugs in here."""
    if cfg.factor == 1:
        return frames
    flag = cv2.INTER_LANCZOS4 if cfg.method == "lanczos" else cv2.INTER_CUBIC
    h, w = frames.shape[1:3]
    out = [cv2.resize(f, (w * cfg.factor, h * cfg.factor), interpolation=flag) for f in frames]
    return np.stack([o[..., None] if o.ndim == 2 else o for o in out])
