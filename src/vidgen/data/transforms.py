"""Clip transforms: each draws its random parameters once per clip and applies them to
every frame, so a clip is never flipped, cropped or rotated differently frame to frame.

They work on uint8 ``[T, H, W, C]`` numpy arrays (the file boundary) with OpenCV; the last
step, :func:`to_tensor`, gives float ``[T, C, H, W]`` in ``[-1, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from vidgen.convert import to_tensor, to_uint8  # noqa: F401  (the data layer's names for them)
from vidgen.errors import ConfigError


@dataclass
class TransformConfig:
    """Clip augmentation and resizing, applied identically to every frame of a clip."""

    resize: int | None = None  # short side to this many pixels, aspect kept
    resize_exact: tuple[int, int] | None = None  # (height, width), aspect not kept
    crop: int | None = None  # square crop of this size (default: data.resolution when needed)
    crop_mode: Literal["center", "random"] = "center"
    hflip: float = 0.0  # probability of a horizontal flip
    vflip: float = 0.0  # probability of a vertical flip
    rotate: float = 0.0  # maximum rotation in degrees, uniform in [-rotate, rotate]
    temporal_stride: int = 1  # keep every k-th frame

    def __post_init__(self) -> None:
        if self.resize is not None and self.resize_exact is not None:
            raise ConfigError("transforms: set resize or resize_exact, not both")
        for name in ("hflip", "vflip"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ConfigError(f"transforms.{name} must be a probability in [0, 1], got {p}")
        if self.rotate < 0:
            raise ConfigError(f"transforms.rotate is a maximum angle and must be >= 0, got {self.rotate}")
        if self.temporal_stride < 1:
            raise ConfigError(f"transforms.temporal_stride must be >= 1, got {self.temporal_stride}")


def _interp(src: int, dst: int) -> int:
    return cv2.INTER_AREA if dst < src else cv2.INTER_LINEAR


def resize_clip(clip: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize every frame of a uint8 ``[T, H, W, C]`` clip to ``height x width``."""
    t, h, w, c = clip.shape
    if (h, w) == (height, width):
        return clip
    out = np.empty((t, height, width, c), dtype=clip.dtype)
    flag = _interp(h * w, height * width)
    for i in range(t):
        frame = cv2.resize(clip[i], (width, height), interpolation=flag)
        out[i] = frame.reshape(height, width, c)
    return out


def resize_short_side(clip: np.ndarray, size: int) -> np.ndarray:
    _, h, w, _ = clip.shape
    if h <= w:
        return resize_clip(clip, size, max(1, round(w * size / h)))
    return resize_clip(clip, max(1, round(h * size / w)), size)


def crop_clip(clip: np.ndarray, size: int, mode: str, rng: np.random.Generator) -> np.ndarray:
    _, h, w, _ = clip.shape
    if size > h or size > w:
        raise ConfigError(
            f"cannot crop {size}x{size} from frames of {h}x{w}",
            hint="resize first (data.transforms.resize) or crop smaller",
        )
    if mode == "random":
        top = int(rng.integers(0, h - size + 1))
        left = int(rng.integers(0, w - size + 1))
    else:
        top, left = (h - size) // 2, (w - size) // 2
    return clip[:, top : top + size, left : left + size]


def rotate_clip(clip: np.ndarray, degrees: float) -> np.ndarray:
    t, h, w, c = clip.shape
    m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), degrees, 1.0)
    out = np.empty_like(clip)
    for i in range(t):
        out[i] = cv2.warpAffine(clip[i], m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101).reshape(h, w, c)
    return out


def apply_transforms(
    clip: np.ndarray, cfg: TransformConfig, resolution: int | None, rng: np.random.Generator
) -> np.ndarray:
    """Apply ``cfg`` to a uint8 ``[T, H, W, C]`` clip; the result is ``resolution`` square
    when ``resolution`` is given (resize short side + centre crop unless told otherwise)."""
    if cfg.temporal_stride > 1:
        clip = clip[:: cfg.temporal_stride]
    if cfg.resize_exact is not None:
        clip = resize_clip(clip, *cfg.resize_exact)
    elif cfg.resize is not None:
        clip = resize_short_side(clip, cfg.resize)
    crop = cfg.crop
    if crop is None and resolution is not None and cfg.resize is None and cfg.resize_exact is None:
        # default: short side to the resolution, then a square crop (aspect kept)
        clip = resize_short_side(clip, resolution)
        crop = resolution
    _, h, w, _ = clip.shape
    if crop is None and resolution is not None and min(h, w) >= resolution > 0 and (h, w) != (resolution, resolution):
        crop = resolution  # resized larger than the resolution: crop to it
    if crop is not None:
        clip = crop_clip(clip, crop, cfg.crop_mode, rng)
    if cfg.hflip > 0 and rng.random() < cfg.hflip:
        clip = clip[:, :, ::-1]
    if cfg.vflip > 0 and rng.random() < cfg.vflip:
        clip = clip[:, ::-1]
    if cfg.rotate > 0:
        clip = rotate_clip(np.ascontiguousarray(clip), float(rng.uniform(-cfg.rotate, cfg.rotate)))
    _, h, w, _ = clip.shape
    if resolution is not None and (h, w) != (resolution, resolution):
        clip = resize_clip(np.ascontiguousarray(clip), resolution, resolution)
    return np.ascontiguousarray(clip)
