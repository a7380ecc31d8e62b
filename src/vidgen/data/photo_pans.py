"""``photo_pans``: real photographs filmed by a virtual camera, with the exact motion of every pixel.

The photographs and textures ship inside scikit-image's wheel (``skimage.data``), so nothing
is downloaded. A clip is a camera moving over one of them: a sub-pixel pan, a zoom and a
rotation, each changing linearly over the clip, drawn from the clip's seed. Frame ``t`` shows
the source point ``q = A_t p + b_t`` at its pixel ``p`` (an affine map, rendered with OpenCV's
bilinear ``warpAffine`` from an image pre-blurred against aliasing), so the motion between any
two frames is known exactly: :meth:`PhotoPansDataset.flow` gives the dense backward flow
(where each pixel of frame ``t + 1`` was in frame ``t``) and the mask of pixels that were in
view, for every frame pair. The scene is a plane: nothing is occluded but by the frame's edge.

With ``with_flow: true`` every item also carries them as tensors: ``flow`` ``[T - 1, 2, H, W]``
(:meth:`PhotoPansDataset.flow`) and ``flow_reverse`` (the same with ``reverse=True``).

Splits are by source image: ``split: train`` draws from :data:`TRAIN_IMAGES`, ``split: test``
from :data:`TEST_IMAGES`, which training never sees; ``images:`` overrides either, and
``extra_dir:`` adds the photographs of a folder of your own (png/jpg) to the split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import torch

from vidgen.data.base import ClipDataset, DataConfig
from vidgen.errors import ConfigError
from vidgen.registry import DATASETS

# skimage.data's colour photographs and textures (gray ones are repeated to RGB)
# (skimage.data.cat is chelsea, held out; colorwheel is a synthetic gradient, no photograph)
TRAIN_IMAGES = ("astronaut", "coffee", "rocket", "brick", "grass", "camera", "immunohistochemistry",
                "hubble_deep_field", "coins", "moon")
TEST_IMAGES = ("chelsea", "gravel", "retina")  # held out: source images training never sees
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


@dataclass
class PhotoPansConfig(DataConfig):
    """Options of ``photo_pans`` (the shared ``frames``, ``resolution``, ``seed``, ... too)."""

    num_clips: int = 10000
    split: Literal["train", "test"] = "train"
    images: tuple[str, ...] = ()  # skimage.data names; empty: the split's (TRAIN_IMAGES / TEST_IMAGES)
    extra_dir: str | None = None  # a folder of your own photographs, added to the split
    max_pan: float = 1.5  # pixels per frame (of the output), the largest pan speed
    max_zoom: float = 0.02  # the largest zoom per frame (0.02: 2% a frame, in or out)
    max_rotation: float = 1.0  # degrees per frame, the largest rotation speed
    min_scale: float = 1.0  # source pixels per output pixel: 1 shows the photo at full detail,
    max_scale: float = 3.0  # larger values show more of it, downsampled
    with_flow: bool = False  # items also carry the exact flows (``flow``, ``flow_reverse``), e.g. to supervise a flow network

    def __post_init__(self) -> None:
        super().__post_init__()
        self.images = tuple(self.images)
        if self.num_clips < 1:
            raise ConfigError(f"data.num_clips must be >= 1, got {self.num_clips}")
        if min(self.max_pan, self.max_zoom, self.max_rotation) < 0:
            raise ConfigError("data.max_pan, data.max_zoom and data.max_rotation must be >= 0")
        if not 0 < self.min_scale <= self.max_scale:
            raise ConfigError(f"data.min_scale must be > 0 and <= data.max_scale, got {self.min_scale} and "
                              f"{self.max_scale}")
        import skimage.data

        unknown = [n for n in self.images if not callable(getattr(skimage.data, n, None))]
        if unknown:
            raise ConfigError(f"data.images: {unknown} are not images of skimage.data",
                              hint=f"e.g. {', '.join(TRAIN_IMAGES + TEST_IMAGES)}")


@lru_cache(maxsize=32)
def _photo(name: str) -> np.ndarray:
    """A source photograph as uint8 ``[H, W, 3]``: a skimage.data name or an image file."""
    if Path(name).suffix.lower() in IMAGE_SUFFIXES:
        image = cv2.imread(name, cv2.IMREAD_COLOR)
        if image is None:
            raise ConfigError(f"data.extra_dir: cannot read {name}")
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    else:
        import skimage.data

        image = np.asarray(getattr(skimage.data, name)())
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3].astype(np.uint8))


def _rotation(degrees: float) -> np.ndarray:
    r = math.radians(degrees)
    return np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])


@DATASETS.register("photo_pans", config=PhotoPansConfig)
class PhotoPansDataset(ClipDataset):
    """Real photographs panned, zoomed and rotated by a virtual camera, with exact flow.

    Items: ``video`` float ``[T, 3, H, W]`` in ``[-1, 1]``, ``label`` the source image's
    index in ``class_names``, ``caption`` like ``"a camera panning over coffee"``.
    :meth:`flow` gives the exact motion of clip ``i`` (see the module docstring).
    """

    channels = 3

    def __init__(self, config: PhotoPansConfig):
        super().__init__(config)
        self.config: PhotoPansConfig = config
        names = list(config.images or (TRAIN_IMAGES if config.split == "train" else TEST_IMAGES))
        if config.extra_dir:
            folder = Path(config.extra_dir)
            if not folder.is_dir():
                raise ConfigError(f"data.extra_dir: {folder} is not a folder")
            names += sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        self.sources = names
        self.class_names = [Path(n).stem for n in names]

    def __len__(self) -> int:
        return self.config.num_clips

    def camera(self, index: int) -> tuple[int, np.ndarray, np.ndarray]:
        """``(source, A [T, 2, 2], b [T, 2])`` of clip ``index``: frame ``t`` shows the source point
        ``A[t] @ p + b[t]`` at pixel ``p = (x, y)`` (pixel centres at integers), raw frames."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, index, 7])
        source = int(rng.integers(len(self.sources)))
        h, w = _photo(self.sources[source]).shape[:2]
        frames, res = self.raw_frames, cfg.resolution
        scale0 = rng.uniform(cfg.min_scale, cfg.max_scale)
        zoom = rng.uniform(-cfg.max_zoom, cfg.max_zoom)
        angle0 = rng.uniform(-10.0, 10.0)
        spin = rng.uniform(-cfg.max_rotation, cfg.max_rotation)
        speed = rng.uniform(0.25, 1.0) * cfg.max_pan
        heading = rng.uniform(0, 2 * math.pi)
        t = np.arange(frames)
        scales = scale0 * np.exp(zoom * t)  # source pixels per output pixel
        angles = angle0 + spin * t
        # the view's half-diagonal in source pixels bounds how far from the edge its centre may go
        reach = scales.max() * res / math.sqrt(2) + 2
        if 2 * reach >= min(h, w):  # the photograph is too small for this view: shrink the view
            scales = scales * (min(h, w) - 4) / (2 * reach)
            reach = scales.max() * res / math.sqrt(2) + 2
        # the pan moves the centre at `speed` output pixels a frame (in source pixels: x scale)
        step = speed * scales.mean() * np.array([math.cos(heading), math.sin(heading)])
        span = step * (frames - 1)
        lo = np.array([reach, reach]) + np.minimum(0, -span)
        hi = np.array([w - reach, h - reach]) - np.maximum(0, span)
        start = rng.uniform(np.minimum(lo, hi), np.maximum(lo, hi))
        centres = start + t[:, None] * step  # [T, 2] (x, y) in source pixels
        half = (res - 1) / 2
        A = np.stack([_rotation(a) * s for a, s in zip(angles, scales)])  # [T, 2, 2]
        b = centres - A @ np.array([half, half])
        return source, A, b

    def load_clip(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, int, str]:
        source, A, b = self.camera(index)
        photo = _photo(self.sources[source])
        res = self.config.resolution
        frames = np.empty((len(A), res, res, 3), dtype=np.uint8)
        for k in range(len(A)):
            scale = math.sqrt(abs(np.linalg.det(A[k])))
            image = photo
            if scale > 1.2:  # downsampling: blur first, as a camera's lens would
                sigma = 0.5 * math.sqrt(scale * scale - 1)
                image = cv2.GaussianBlur(photo, (0, 0), sigma)
            # dst(p) = src(A p + b): warpAffine with WARP_INVERSE_MAP takes that map as given
            M = np.concatenate([A[k], b[k][:, None]], axis=1)
            frames[k] = cv2.warpAffine(image, M, (res, res), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                       borderMode=cv2.BORDER_REFLECT)
        name = self.class_names[source]
        return frames, source, f"a camera panning over {name}"

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = super().__getitem__(index)
        if self.config.with_flow:
            for key, reverse in (("flow", False), ("flow_reverse", True)):
                item[key] = torch.from_numpy(self.flow(index, reverse=reverse)[0]).permute(0, 3, 1, 2).contiguous()
        return item

    def flow(self, index: int, reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The exact backward flow of clip ``index`` and its mask, for frame pairs ``(t, t + 1)``.

        Returns ``flow`` float32 ``[T - 1, H, W, 2]``: pixel ``p`` of frame ``t + 1`` showed, in
        frame ``t``, what lies at ``p + flow[t, p]`` (``(dx, dy)``, OpenCV's ``remap`` convention),
        and ``valid`` bool ``[T - 1, H, W]``: whether that point was inside frame ``t``. With
        ``reverse``, the other way: pixel ``p`` of frame ``t`` shows what frame ``t + 1`` has at
        ``p + flow[t, p]`` (valid where that is inside frame ``t + 1``). Only for clips without
        spatial transforms and with ``temporal_stride`` 1 (the motion of the frames as loaded).
        """
        cfg = self.config
        tr = cfg.transforms
        if tr.temporal_stride != 1 or tr.resize or tr.resize_exact or tr.crop or tr.hflip or tr.vflip or tr.rotate:
            raise ConfigError("photo_pans' exact flow is that of the frames as rendered: leave data.transforms out")
        _, A, b = self.camera(index)
        res = cfg.resolution
        ys, xs = np.mgrid[0:res, 0:res].astype(np.float64)
        p = np.stack([xs, ys], axis=-1)  # [H, W, 2]
        flows, valid = [], []
        for t in range(len(A) - 1):
            shown, other = (t, t + 1) if reverse else (t + 1, t)
            q = p @ A[shown].T + b[shown]  # source points shown in this frame
            prev = (q - b[other]) @ np.linalg.inv(A[other]).T  # where the other frame shows them
            flows.append((prev - p).astype(np.float32))
            valid.append((prev >= 0).all(-1) & (prev <= res - 1).all(-1))
        return np.stack(flows), np.stack(valid)

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(split=self.config.split, source_images=", ".join(self.class_names))
        return out
