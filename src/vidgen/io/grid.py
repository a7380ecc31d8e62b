"""Preview grids: tile a batch of clips into one video, put two grids side by side.

Everything returns uint8 ``[T, H, W, 3]`` (the file boundary), ready for
:func:`vidgen.io.write_video`. Clips of different lengths are padded to the longest by
repeating their last frame, so a short clip freezes instead of disappearing.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import cv2
import numpy as np
import torch

from vidgen.io.video import as_uint8_frames

_FONT = cv2.FONT_HERSHEY_SIMPLEX

Color = int | tuple[int, int, int]


def _clips(videos: Any) -> list[np.ndarray]:
    """A batch -> list of uint8 ``[T, H, W, 3]`` clips.

    Accepts a float tensor ``[B, T, C, H, W]`` in ``[-1, 1]``, a uint8 array/tensor
    ``[B, T, H, W, C]``, or a sequence of single clips in any form :func:`as_uint8_frames`
    takes (their lengths may differ)."""
    if isinstance(videos, (torch.Tensor, np.ndarray)):
        if videos.ndim != 5:
            raise ValueError(
                f"expected a batch of clips, float [B, T, C, H, W] or uint8 [B, T, H, W, C], got shape {tuple(videos.shape)}"
            )
        clips = [as_uint8_frames(v) for v in videos]
    elif isinstance(videos, Sequence) and not isinstance(videos, (str, bytes)):
        clips = [as_uint8_frames(v) for v in videos]
    else:
        raise TypeError(f"expected a batch of clips, got {type(videos).__name__}")
    if not clips:
        raise ValueError("cannot make a grid of zero clips")
    clips = [np.repeat(c, 3, axis=-1) if c.shape[-1] == 1 else c for c in clips]
    sizes = {c.shape[1:3] for c in clips}
    if len(sizes) > 1:
        raise ValueError(f"all clips of a grid must have the same height and width, got {sorted(sizes)}")
    return clips


def _pad_time(clip: np.ndarray, length: int) -> np.ndarray:
    """Repeat the last frame of ``clip`` until it is ``length`` frames long."""
    if clip.shape[0] >= length:
        return clip
    tail = np.repeat(clip[-1:], length - clip.shape[0], axis=0)
    return np.concatenate([clip, tail], axis=0)


def _color(value: Color) -> np.ndarray:
    c = np.asarray(value, dtype=np.int64).reshape(-1)
    if c.size == 1:
        c = np.repeat(c, 3)
    if c.size != 3 or (c < 0).any() or (c > 255).any():
        raise ValueError(f"pad_value must be an int in [0, 255] or three of them, got {value!r}")
    return c.astype(np.uint8)


def _text_color(background: np.ndarray) -> tuple[int, int, int]:
    return (0, 0, 0) if background.mean() >= 128 else (255, 255, 255)


def _font_scale(size: int) -> float:
    # ~8 px tall text on 64 px tiles, growing with the tile, never unreadably small
    return float(min(1.0, max(0.3, size / 180)))


def _text_size(text: str, scale: float) -> tuple[int, int, int]:
    (w, h), baseline = cv2.getTextSize(text, _FONT, scale, 1)
    return w, h, baseline


def _fit(text: str, width: int, scale: float) -> str:
    """Shorten ``text`` (with a trailing '.') until it fits ``width`` pixels."""
    if _text_size(text, scale)[0] <= width:
        return text
    while len(text) > 1 and _text_size(text + ".", scale)[0] > width:
        text = text[:-1]
    return text + "."


def _put(canvas: np.ndarray, text: str, x: int, y: int, scale: float, color: tuple[int, int, int]) -> None:
    cv2.putText(canvas, text, (int(x), int(y)), _FONT, scale, color, 1, cv2.LINE_AA)


def make_grid(
    videos: Any,
    *,
    nrow: int | None = None,
    padding: int = 2,
    pad_value: Color = 64,
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Tile a batch of clips into one grid video, uint8 ``[T, H', W', 3]``.

    Args:
        videos: float tensor ``[B, T, C, H, W]`` in ``[-1, 1]``, uint8 ``[B, T, H, W, C]``,
            or a list of clips (``[T, H, W, C]`` uint8 / ``[T, C, H, W]`` float) whose
            lengths may differ (short ones repeat their last frame). C may be 1 or 3.
        nrow: clips per row (default ``ceil(sqrt(B))``); rows = ``ceil(B / nrow)``.
        padding: pixels between tiles and around the border.
        pad_value: background colour, an int in [0, 255] or an RGB triple (default dark
            grey, so tiles stay apart on black backgrounds).
        labels: either one string per clip (``len == B``: drawn in a band above each tile)
            or one per row (``len == rows``: drawn in a left margin, e.g. the class of a
            conditional-sample row). ``len == B`` wins when both match.

    Without labels, ``H' = rows * H + (rows + 1) * padding`` and
    ``W' = nrow * W + (nrow + 1) * padding``.
    """
    clips = _clips(videos)
    b = len(clips)
    t = max(c.shape[0] for c in clips)
    h, w = clips[0].shape[1:3]
    nrow = int(nrow) if nrow is not None else math.ceil(math.sqrt(b))
    if nrow < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    nrow = min(nrow, b)
    rows = math.ceil(b / nrow)
    bg = _color(pad_value)
    ink = _text_color(bg)
    scale = _font_scale(min(h, w))

    per_clip = per_row = None
    if labels is not None:
        labels = [str(s) for s in labels]
        if len(labels) == b:
            per_clip = labels
        elif len(labels) == rows:
            per_row = labels
        else:
            raise ValueError(f"labels: expected one per clip ({b}) or one per row ({rows}), got {len(labels)}")

    _, text_h, baseline = _text_size("Ag", scale)
    band = text_h + baseline + 3 if per_clip else 0
    margin = max(_text_size(s, scale)[0] for s in per_row) + 2 * max(padding, 2) if per_row else 0

    cell_h = h + band
    height = rows * cell_h + (rows + 1) * padding
    width = margin + nrow * w + (nrow + 1) * padding
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = bg

    def origin(i: int) -> tuple[int, int]:  # top-left of clip i's pixels
        r, c = divmod(i, nrow)
        return padding + r * (cell_h + padding) + band, margin + padding + c * (w + padding)

    if per_clip:
        for i, text in enumerate(per_clip):
            top, left = origin(i)
            _put(canvas, _fit(text, w - 2, scale), left + 1, top - baseline - 2, scale, ink)
    if per_row:
        for r, text in enumerate(per_row):
            row_top = padding + r * (cell_h + padding)
            _put(canvas, text, max(padding, 2), row_top + (cell_h + text_h) // 2, scale, ink)

    out = np.broadcast_to(canvas, (t, height, width, 3)).copy()
    for i, clip in enumerate(clips):
        top, left = origin(i)
        out[:, top : top + h, left : left + w] = _pad_time(clip, t)
    return out


def _as_grid(video: Any) -> np.ndarray:
    """One grid video ``[T, H, W, 3]`` from a grid/clip, or a batch (gridded first)."""
    if isinstance(video, (torch.Tensor, np.ndarray)) and video.ndim == 5:
        return make_grid(video)
    if isinstance(video, (list, tuple)):
        return make_grid(video)
    frames = as_uint8_frames(video)
    return np.repeat(frames, 3, axis=-1) if frames.shape[-1] == 1 else frames


def side_by_side(
    a: Any,
    b: Any,
    *,
    titles: tuple[str, str] | None = ("real", "generated"),
    gap: int = 4,
    pad_value: Color = 0,
) -> np.ndarray:
    """Place two videos (e.g. a grid of real clips and one of generated clips) next to each
    other under a title band; returns uint8 ``[T, band + H, W_a + gap + W_b, 3]``.

    ``a`` and ``b``: a grid/clip (uint8 ``[T, H, W, C]`` or float ``[T, C, H, W]``) or a
    batch that :func:`make_grid` takes. The shorter one repeats its last frame; the lower
    one is padded at the bottom. ``titles=None`` leaves out the band.
    """
    ga, gb = _as_grid(a), _as_grid(b)
    t = max(ga.shape[0], gb.shape[0])
    h = max(ga.shape[1], gb.shape[1])
    bg = _color(pad_value)
    ink = _text_color(bg)
    scale = _font_scale(max(32, min(h, 240)))
    band = 0
    if titles is not None:
        if len(titles) != 2:
            raise ValueError(f"titles: expected two strings, got {titles!r}")
        _, text_h, baseline = _text_size("Ag", scale)
        band = text_h + baseline + 6
    width = ga.shape[2] + gap + gb.shape[2]
    canvas = np.empty((band + h, width, 3), dtype=np.uint8)
    canvas[:] = bg
    lefts = (0, ga.shape[2] + gap)
    if titles is not None:
        for text, left, g in zip(titles, lefts, (ga, gb)):
            text = _fit(str(text), g.shape[2] - 2, scale)
            tw = _text_size(text, scale)[0]
            _put(canvas, text, left + (g.shape[2] - tw) // 2, band - baseline - 3, scale, ink)
    out = np.broadcast_to(canvas, (t, band + h, width, 3)).copy()
    for g, left in zip((ga, gb), lefts):
        out[:, band : band + g.shape[1], left : left + g.shape[2]] = _pad_time(g, t)
    return out


def frame_strips(videos: Any, *, num_frames: int = 8, padding: int = 2, pad_value: Color = 64) -> np.ndarray:
    """One row per clip showing ``num_frames`` evenly spaced frames: a still image,
    uint8 ``[1, H', W', 3]`` (one frame, so :func:`side_by_side` and ``write_video(.png)``
    take it), for documents and quick looks at motion.
    """
    clips = _clips(videos)
    t = max(c.shape[0] for c in clips)
    idx = np.linspace(0, t - 1, min(num_frames, t)).round().astype(int)
    frames = [_pad_time(c, t)[i][None] for c in clips for i in idx]  # each [1, H, W, 3]
    return make_grid(frames, nrow=len(idx), padding=padding, pad_value=pad_value)
