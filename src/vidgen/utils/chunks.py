"""Run a clip-to-clip function over a long video in chunks, with bounded memory.

:func:`chunked` reads frames from any iterator (a decoder), hands ``fn`` blocks of about
``chunk`` frames plus ``radius`` frames of context on each side, and yields the output frames
of each block's middle as soon as they are done, so at most ``chunk + 2 radius`` input frames
are held. For a function whose output frame ``t`` depends only on input frames
``t - radius .. t + radius`` (and that pads the clip's own ends itself), the frames yielded
are exactly those of ``fn`` on the whole video.

With ``factor > 1`` the function puts ``factor - 1`` new frames between each pair
(``n`` frames in, ``(n - 1) * factor + 1`` out): blocks then share one frame, and the
shared frame is yielded once.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np


def chunked(fn: Callable[[np.ndarray], np.ndarray], frames: Iterable[np.ndarray], *, radius: int = 0,
            chunk: int = 32, factor: int = 1) -> Iterator[np.ndarray]:
    """``fn`` over ``frames`` block by block (see the module docstring); yields output frames in order."""
    if chunk < 1 or radius < 0 or factor < 1:
        raise ValueError(f"chunk must be >= 1, radius >= 0 and factor >= 1, got {chunk}, {radius}, {factor}")
    if factor > 1:
        yield from _pairwise(fn, frames, chunk, factor)
        return
    buf: list[np.ndarray] = []
    first = 0  # global index of buf[0]
    done = 0  # frames yielded so far
    for frame in frames:
        buf.append(frame)
        if first + len(buf) >= done + chunk + radius:  # the next chunk has its context after it
            start = max(0, done - radius)
            out = fn(np.stack(buf[start - first:]))
            yield from out[done - start:done - start + chunk]
            done += chunk
            keep = max(0, done - radius)  # the context the next block needs before it
            del buf[:keep - first]
            first = keep
    if first + len(buf) > done:  # the rest, to the video's end
        start = max(0, done - radius)
        out = fn(np.stack(buf[start - first:]))
        yield from out[done - start:]


def _pairwise(fn: Callable[[np.ndarray], np.ndarray], frames: Iterable[np.ndarray], chunk: int,
              factor: int) -> Iterator[np.ndarray]:
    buf: list[np.ndarray] = []
    started = False
    for frame in frames:
        buf.append(frame)
        if len(buf) == chunk + 1:
            out = fn(np.stack(buf))
            yield from out[1:] if started else out
            started = True
            buf = buf[-1:]  # the last frame starts the next block
    if len(buf) > 1 or not started:
        out = fn(np.stack(buf))
        yield from out[1:] if started else out
