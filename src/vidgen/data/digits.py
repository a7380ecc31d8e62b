"""Moving digits: the Moving MNIST benchmark, built on the fly or read from its file.

The standard Moving MNIST (Srivastava et al., 2015) puts 2 MNIST digits of 28x28 in a
64x64 frame for 20 frames; each digit starts at a random place with a random direction,
moves a fixed step per frame and bounces off the borders; frames combine the digits by a
pixel-wise maximum. :class:`MovingDigitsDataset` builds such clips from one of three
sources (``MovingDigitsConfig.source``):

- ``mnist``: the official MNIST idx files (gzip or not) read from ``mnist_path``;
- ``font``: a download-free stand-in that renders the digits 0-9 with the TrueType font
  shipped inside Pillow (``PIL.ImageFont.load_default(size=...)``, Pillow >= 10.1 built
  with FreeType), with random size, rotation, slant, stroke and offset per digit;
- ``npy``: the fixed sequences of ``mnist_test_seq.npy`` (uint8 ``[20, 10000, 64, 64]``,
  time first), clip ``i`` being sequence ``i``.

Clips leave :meth:`MovingDigitsDataset.load_clip` as uint8 ``[T, H, W, 1]``.
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vidgen.data.base import ClipDataset, DataConfig
from vidgen.errors import ConfigError, DataError
from vidgen.registry import DATASETS

IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
MNIST_SOURCE_HINT = (
    "download the official MNIST files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; for example from "
    "https://ossci-datasets.s3.amazonaws.com/mnist/) into one folder and point data.mnist_path at it; "
    "or set data.source=font to render digits without any download"
)
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}
FONT_POOL = 10000  # number of distinct jittered glyphs the font source draws from
_FONT_SALT = 0x5EED_D161  # keeps the font glyph stream apart from every clip stream
DIGIT_NAMES = [str(d) for d in range(10)]


@dataclass
class MovingDigitsConfig(DataConfig):
    """Moving-MNIST-style clips of digits bouncing in the frame (1 channel)."""

    num_clips: int = 10000  # dataset length (npy source: at most the sequences in the file)
    num_digits: int = 2  # digits per clip; the first one gives the label
    source: Literal["auto", "mnist", "font", "npy"] = "auto"  # auto: mnist if mnist_path, else npy if npy_path, else font
    mnist_path: str | None = None  # folder with the idx files, or the images file itself
    mnist_split: Literal["train", "test"] = "test"  # train-* or t10k-* files
    digit_range: tuple[int, int] | None = None  # use digits [lo, hi) of the source only, e.g. (0, 8000)
    npy_path: str | None = None  # mnist_test_seq.npy, uint8 [20, N, 64, 64]
    digit_size: int | None = None  # pixels; default round(28 * resolution / 64) (28 at 64)
    step_length: float = 0.1  # per-frame step as a fraction of the free canvas (standard: 0.1)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_clips < 1:
            raise ConfigError(f"data.num_clips must be >= 1, got {self.num_clips}")
        if self.num_digits < 1:
            raise ConfigError(f"data.num_digits must be >= 1, got {self.num_digits}")
        if self.source == "mnist" and not self.mnist_path:
            raise ConfigError("data.source=mnist needs data.mnist_path", hint=MNIST_SOURCE_HINT)
        if self.source == "npy" and not self.npy_path:
            raise ConfigError(
                "data.source=npy needs data.npy_path",
                hint="point it at mnist_test_seq.npy (uint8 [20, 10000, 64, 64])",
            )
        if self.digit_range is not None:
            lo, hi = self.digit_range
            if lo < 0 or hi <= lo:
                raise ConfigError(f"data.digit_range must be (lo, hi) with 0 <= lo < hi, got {self.digit_range}")
            if self.resolved_source == "npy":
                raise ConfigError(
                    "data.digit_range selects single digits; the npy source holds whole sequences",
                    hint="drop digit_range, or use source mnist or font",
                )
        if self.digit_size is not None and not 1 <= self.digit_size <= self.resolution:
            raise ConfigError(f"data.digit_size must be in [1, resolution={self.resolution}], got {self.digit_size}")
        if self.step_length < 0:
            raise ConfigError(f"data.step_length must be >= 0, got {self.step_length}")

    @property
    def resolved_source(self) -> str:
        """The source ``auto`` stands for: mnist, npy or font."""
        if self.source != "auto":
            return self.source
        if self.mnist_path:
            return "mnist"
        return "npy" if self.npy_path else "font"


# --------------------------------------------------------------------------- idx files


def _file_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size


def read_idx(path: str | Path, magic: int | None = None) -> np.ndarray:
    """Read an idx file (gzip or not) of unsigned bytes: uint8 ``[d0, d1, ...]``.

    ``magic`` (2051 for images, 2049 for labels) is checked when given. The header and
    the size must agree exactly; anything else is a :class:`DataError`. Arrays are cached
    per file and read-only, so DataLoader workers and repeated datasets share one parse.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"idx file {str(path)!r} does not exist", hint=MNIST_SOURCE_HINT)
    arr = _read_idx_cached(*_file_key(path))
    if magic is not None and 0x800 + arr.ndim != magic:
        raise DataError(
            f"{path} holds a {arr.ndim}-d array, not the {magic - 0x800}-d array of magic {magic}",
            hint="images files are *-images-idx3-ubyte, labels files *-labels-idx1-ubyte",
        )
    return arr


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path} is a damaged gzip file ({e})", hint=MNIST_SOURCE_HINT) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path} is not an idx file (bad magic number)", hint=MNIST_SOURCE_HINT)
    if raw[2] != 0x08:
        raise DataError(f"{path}: idx element type 0x{raw[2]:02x} is not unsigned bytes (0x08)", hint=MNIST_SOURCE_HINT)
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated idx header", hint=MNIST_SOURCE_HINT)
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(dims)
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: the header promises {expected} bytes of data for shape {list(dims)}, "
            f"the file holds {len(raw) - header} (truncated or corrupt)",
            hint=MNIST_SOURCE_HINT,
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(folder: Path, stems: list[str]) -> Path | None:
    for stem in stems:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def mnist_files(path: str | Path, split: str = "test") -> tuple[Path, Path | None]:
    """Locate ``(images file, labels file or None)`` of ``split`` under ``path``, a folder
    holding the idx files or the images file itself."""
    path = Path(path).expanduser()
    p = _SPLIT_PREFIX[split]
    if path.is_dir():
        images = _find(path, [f"{p}-images-idx3-ubyte", f"{p}-images.idx3-ubyte"])
        if images is None:
            raise DataError(
                f"no MNIST {split} images in {path}: expected {p}-images-idx3-ubyte or {p}-images-idx3-ubyte.gz",
                hint=MNIST_SOURCE_HINT,
            )
    elif path.is_file():
        images = path
    else:
        raise DataError(f"MNIST path {str(path)!r} does not exist", hint=MNIST_SOURCE_HINT)
    stem = images.name[:-3] if images.name.endswith(".gz") else images.name
    label_stem = stem.replace("images", "labels").replace("idx3", "idx1")
    labels = _find(images.parent, [label_stem]) if label_stem != stem else None
    return images, labels


def load_mnist(path: str | Path, split: str = "test") -> tuple[np.ndarray, np.ndarray | None]:
    """MNIST ``(images uint8 [N, 28, 28], labels uint8 [N] or None)`` from the idx files
    at ``path`` (see :func:`mnist_files`); labels are None when the labels file is absent."""
    images_file, labels_file = mnist_files(path, split)
    images = read_idx(images_file, IDX_IMAGES_MAGIC)
    if labels_file is None:
        return images, None
    labels = read_idx(labels_file, IDX_LABELS_MAGIC)
    if len(labels) != len(images):
        raise DataError(
            f"{labels_file} has {len(labels)} labels for the {len(images)} images of {images_file}",
            hint="the images and labels files must come from the same split",
        )
    return images, labels


# -------------------------------------------------------------------------- font digits


@functools.lru_cache(maxsize=64)  # one per font size in use (36 sizes)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Without FreeType, Pillow falls back to its small bitmap font; the glyph is then
    # fitted to the MNIST box like any other, only blockier.
    return ImageFont.load_default(size=px)


def _bbox(img: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(img > 16)
    if len(xs) == 0:
        return 0, 0, img.shape[1], img.shape[0]
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def render_font_digit(digit: int, size: int = 28, rng: np.random.Generator | None = None) -> np.ndarray:
    """Render ``digit`` (0-9) white on black, framed like MNIST: uint8 ``[size, size]``.

    As in MNIST the glyph is fitted into a box of 20/28 of the image and centred by its
    centre of mass. With ``rng`` the glyph gets random font size, stroke thickness,
    rotation (+-15 degrees), slant, width and offset; without, the plain upright glyph.
    """
    if rng is None:
        px, stroke, angle, shear, aspect, box, offset = 60, 1, 0.0, 0.0, 1.0, 20 / 28, np.zeros(2)
    else:
        px = int(rng.integers(44, 80))  # with the stroke: thin to bold after fitting the box
        stroke = int(rng.integers(0, 3))
        angle = float(rng.uniform(-12.0, 12.0))
        shear = float(rng.uniform(-0.25, 0.25))  # slant, as in handwriting
        aspect = float(rng.uniform(0.75, 1.1))
        box = float(rng.uniform(0.64, 0.76))
        offset = rng.uniform(-1.5, 1.5, size=2) * size / 28
    canvas = Image.new("L", (2 * px, 2 * px), 0)
    ImageDraw.Draw(canvas).text((px // 2, px // 4), str(int(digit)), fill=255, font=_font(px), stroke_width=stroke, stroke_fill=255)
    glyph = np.asarray(canvas)
    x0, y0, x1, y1 = _bbox(glyph)
    glyph = glyph[y0:y1, x0:x1]

    # Slant, squeeze and rotate in one affine map about the glyph centre, on a canvas
    # wide enough for any rotation.
    h, w = glyph.shape
    side = int(math.ceil(math.hypot(h, w) * 1.4)) + 4
    a = math.radians(angle)
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    lin = rot @ np.array([[1.0, -shear], [0.0, 1.0]]) @ np.diag([aspect, 1.0])
    shift = np.array([side / 2, side / 2]) - lin @ np.array([w / 2, h / 2])
    m = np.concatenate([lin, shift[:, None]], axis=1)
    glyph = cv2.warpAffine(glyph, m, (side, side), flags=cv2.INTER_LINEAR, borderValue=0)
    x0, y0, x1, y1 = _bbox(glyph)
    glyph = glyph[y0:y1, x0:x1]

    h, w = glyph.shape
    f = box * size / max(h, w)
    glyph = cv2.resize(glyph, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return _paste_centred(glyph, size, offset)


def _paste_centred(glyph: np.ndarray, size: int, offset: np.ndarray) -> np.ndarray:
    """Place ``glyph`` in a ``size`` square so its centre of mass lands at the middle."""
    h, w = glyph.shape
    mass = glyph.astype(np.float64)
    total = mass.sum()
    if total > 0:
        cy = (mass.sum(axis=1) * np.arange(h)).sum() / total
        cx = (mass.sum(axis=0) * np.arange(w)).sum() / total
    else:
        cy, cx = h / 2, w / 2
    top = int(round((size - 1) / 2 + offset[1] - cy))
    left = int(round((size - 1) / 2 + offset[0] - cx))
    top, left = min(max(top, 0), max(size - h, 0)), min(max(left, 0), max(size - w, 0))
    out = np.zeros((size, size), dtype=np.uint8)
    hh, ww = min(h, size - top), min(w, size - left)
    out[top : top + hh, left : left + ww] = glyph[:hh, :ww]
    return out


@functools.lru_cache(maxsize=16384)
def font_digit(index: int, size: int = 28) -> np.ndarray:
    """Glyph ``index`` of the font pool, digit ``index % 10``: uint8 ``[size, size]``.

    The pool is fixed (like MNIST itself): it does not depend on any seed, so a
    ``digit_range`` split means the same glyphs in every run.
    """
    glyph = render_font_digit(index % 10, size, np.random.default_rng([_FONT_SALT, index]))
    glyph.flags.writeable = False
    return glyph


# ------------------------------------------------------------------------------- npy


@functools.lru_cache(maxsize=4)
def _open_npy_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as e:
        raise DataError(f"cannot read {path} as a .npy array ({e})", hint="expected mnist_test_seq.npy") from None
    if arr.ndim != 4 or arr.dtype != np.uint8:
        raise DataError(
            f"{path} holds a {arr.dtype} array of shape {list(arr.shape)}; "
            "expected uint8 [T, N, H, W] (time first, like mnist_test_seq.npy: [20, 10000, 64, 64])",
        )
    return arr


def open_sequences(path: str | Path) -> np.ndarray:
    """Memory-map a Moving MNIST sequence file: uint8 ``[T, N, H, W]`` (time first)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(
            f"sequence file {str(path)!r} does not exist",
            hint="Moving MNIST's mnist_test_seq.npy comes from https://www.cs.toronto.edu/~nitish/unsupervised_video/",
        )
    return _open_npy_cached(*_file_key(path))


# ------------------------------------------------------------------------------ clips


def bounce_trajectories(rng: np.random.Generator, num: int, frames: int, step_length: float) -> np.ndarray:
    """Positions ``[frames, num, 2]`` (x, y) in ``[0, 1]`` of the free canvas, as in the
    standard Moving MNIST generator: uniform start and direction, a fixed step per frame,
    reflection at the borders. Frame 0 is the start."""
    xy = rng.uniform(0.0, 1.0, size=(num, 2))
    theta = rng.uniform(0.0, 2 * math.pi, size=num)
    v = np.stack([np.cos(theta), np.sin(theta)], axis=1) * step_length
    out = np.empty((frames, num, 2))
    for t in range(frames):
        out[t] = xy
        xy = xy + v
        low, high = xy < 0.0, xy > 1.0
        # Mirror about the border rather than clamp, so a bounce keeps the speed.
        xy = np.where(low, -xy, np.where(high, 2.0 - xy, xy))
        v = np.where(low | high, -v, v)
        xy = np.clip(xy, 0.0, 1.0)
    return out


def _join_digits(names: list[str]) -> str:
    if len(names) == 1:
        return f"digit {names[0]}"
    return "digits " + ", ".join(names[:-1]) + " and " + names[-1]


@DATASETS.register("moving_digits", config=MovingDigitsConfig)
class MovingDigitsDataset(ClipDataset):
    """Moving MNIST: digits bouncing in a black frame, combined by pixel-wise maximum.

    Items: ``video`` float ``[T, 1, H, W]`` in ``[-1, 1]``; ``label`` the first digit's
    class (``class_names`` "0".."9") when the source knows it, else 0 with the single
    class ``"unknown"``; ``caption`` like ``"digits 3 and 7"``.
    """

    channels = 1

    def __init__(self, config: MovingDigitsConfig):
        super().__init__(config)
        self.config: MovingDigitsConfig = config
        self.source = config.resolved_source
        self.digit_size = config.digit_size or max(1, round(28 * config.resolution / 64))
        self._labelled = True
        if self.source == "npy":
            seqs = open_sequences(config.npy_path)
            if self.raw_frames > seqs.shape[0]:
                raise DataError(
                    f"{config.npy_path} has {seqs.shape[0]} frames per sequence; "
                    f"data.frames={config.frames} (x temporal_stride {config.transforms.temporal_stride}) needs {self.raw_frames}",
                    hint=f"set data.frames <= {seqs.shape[0] // config.transforms.temporal_stride}",
                )
            self._pool = seqs.shape[1]
            self._labelled = False
        elif self.source == "mnist":
            images, labels = load_mnist(config.mnist_path, config.mnist_split)
            self._pool = len(images)
            self._labelled = labels is not None
        else:
            self._pool = FONT_POOL
        self._range = config.digit_range or (0, self._pool)
        if self._range[1] > self._pool:
            raise DataError(
                f"data.digit_range={list(self._range)} goes past the {self._pool} digits of the {self.source} source",
                hint=f"keep digit_range within (0, {self._pool})",
            )
        self.class_names = DIGIT_NAMES if self._labelled else ["unknown"]

    def __len__(self) -> int:
        if self.source == "npy":
            return min(self.config.num_clips, self._pool)
        return self.config.num_clips

    def _digit(self, j: int) -> tuple[np.ndarray, int | None]:
        """Digit ``j`` of the source at ``digit_size``: ``(uint8 [d, d], label or None)``."""
        d = self.digit_size
        if self.source == "font":
            return font_digit(j, d), j % 10
        images, labels = load_mnist(self.config.mnist_path, self.config.mnist_split)  # cached
        img = images[j]
        if img.shape != (d, d):
            flag = cv2.INTER_AREA if d < img.shape[0] else cv2.INTER_LINEAR
            img = cv2.resize(img, (d, d), interpolation=flag)
        return img, (int(labels[j]) if labels is not None else None)

    def load_clip(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, int, str]:
        cfg = self.config
        if self.source == "npy":
            seqs = open_sequences(cfg.npy_path)
            clip = np.ascontiguousarray(seqs[: self.raw_frames, index])[..., None]  # [T, H, W, 1]
            return clip, 0, "moving digits"
        rng = np.random.default_rng([cfg.seed, index])  # content depends on (seed, index) only
        picks = rng.integers(self._range[0], self._range[1], size=cfg.num_digits)
        track = bounce_trajectories(rng, cfg.num_digits, self.raw_frames, cfg.step_length)
        res, d = cfg.resolution, self.digit_size
        corner = np.floor(track * (res - d)).astype(np.int64)  # [T, N, 2] top-left (x, y)
        digits = [self._digit(int(j)) for j in picks]
        clip = np.zeros((self.raw_frames, res, res, 1), dtype=np.uint8)
        for t in range(self.raw_frames):
            frame = clip[t, :, :, 0]
            for k, (img, _) in enumerate(digits):
                x, y = corner[t, k]
                np.maximum(frame[y : y + d, x : x + d], img, out=frame[y : y + d, x : x + d])
        labels = [lab for _, lab in digits]
        if labels[0] is None:
            caption = f"{cfg.num_digits} moving digit" + ("s" if cfg.num_digits > 1 else "")
            return clip, 0, caption
        return clip, labels[0], _join_digits([str(lab) for lab in labels])

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(source=self.source, digits_per_clip=self.config.num_digits, digit_size=self.digit_size)
        if self.source == "npy":
            out["sequences_file"] = os.fspath(self.config.npy_path)
        else:
            out["digit_range"] = list(self._range)
        if self.source == "mnist":
            out["mnist_path"] = os.fspath(self.config.mnist_path)
            out["mnist_split"] = self.config.mnist_split
        return out
