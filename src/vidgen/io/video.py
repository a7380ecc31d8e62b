"""Read and write videos at the file boundary: uint8 ``[T, H, W, C]`` numpy arrays.

Reading goes through PyAV (anything FFmpeg decodes: mp4, avi, mov, webm, mkv, gif, ...)
or OpenCV for a folder of frame images. Writing picks the format from the suffix:

- ``.mp4``: H.264 (libx264, yuv420p, ``crf`` 18 by default, near-lossless at 0-12); odd
  heights/widths are padded by one edge-replicated row/column, since yuv420p needs even sizes.
- ``.gif``: Pillow, loops forever, one palette per frame. Pillow merges identical
  consecutive frames into one longer frame (playback is unchanged, the frame count is not).
- ``.png``: the frames side by side in one strip (:func:`write_strip`).
- ``.npy``: the raw uint8 array, channels as given (a 1-channel clip stays 1-channel).

Every decoding failure (missing, empty, corrupt, no video stream) is a
:class:`~vidgen.errors.DataError` with a one-line message naming the file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import av
import cv2
import numpy as np
import torch
from PIL import Image

from vidgen.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
WRITE_FORMATS = (".mp4", ".gif", ".png", ".npy")

# Below this start frame, decoding from the beginning is cheaper than seeking.
_SEEK_MIN_START = 48

# What PyAV/FFmpeg raise on a bad file; all become DataError.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (av.error.FFmpegError, OSError, ValueError, EOFError)


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` knows about a video without decoding it all."""

    num_frames: int
    height: int
    width: int
    fps: float | None  # None for a folder of frames or an unknown rate


# ------------------------------------------------------------------------------ helpers


def natural_key(name: str) -> list[Any]:
    """Sort key that puts ``frame_2`` before ``frame_10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_frame_images(path: str | Path) -> list[Path]:
    """The image files directly inside ``path``, naturally sorted by name."""
    path = Path(path)
    files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(files, key=lambda p: natural_key(p.name))


def _wanted(start: int, num_frames: int | None, stride: int) -> tuple[int, int | None]:
    """Validate the slice arguments; return (start, index of the last wanted frame or None)."""
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if num_frames is not None and num_frames < 1:
        raise ValueError(f"num_frames must be >= 1 or None, got {num_frames}")
    last = None if num_frames is None else start + (num_frames - 1) * stride
    return start, last


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]


def _not_readable(path: Path, e: BaseException | None = None, what: str = "") -> DataError:
    """The one-line error for a file FFmpeg cannot decode as a video, with how to check and repair it."""
    reason = what or (getattr(e, "strerror", None) or _short(e) if e is not None else "")  # PyAV: no "[Errno N]"
    quoted = shlex.quote(str(path))
    return DataError(f"{path} is not a readable video" + (f" ({reason})" if reason else ""),
                     hint=f"videos are read by FFmpeg (mp4, avi, mov, webm, mkv, gif, ...): check the file with "
                          f"'ffprobe {quoted}', or re-encode it with 'ffmpeg -i {quoted} -c:v libx264 -pix_fmt "
                          "yuv420p fixed.mp4'")


def _require_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"video file {str(path)!r} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"video file {str(path)!r} is empty (0 bytes)")


# -------------------------------------------------------------------------------- read


def read_frames_dir(
    path: str | Path, *, start: int = 0, num_frames: int | None = None, stride: int = 1
) -> np.ndarray:
    """Read a folder of frame images (png/jpg/jpeg/bmp/webp, natural name order).

    Returns uint8 ``[T, H, W, 3]`` RGB. Only the selected frames (``start``, then every
    ``stride``-th, ``num_frames`` of them or up to the end) are read; fewer than
    ``num_frames`` come back when the folder runs out.
    """
    path = Path(path)
    start, last = _wanted(start, num_frames, stride)
    if not path.is_dir():
        raise DataError(f"frame folder {str(path)!r} does not exist")
    files = list_frame_images(path)
    if not files:
        raise DataError(f"frame folder {str(path)!r} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    if start >= len(files):
        raise DataError(f"frame folder {str(path)!r} has {len(files)} frames, cannot start at frame {start}")
    stop = len(files) if last is None else min(last + 1, len(files))
    frames = []
    for f in files[start:stop:stride]:
        frame = _read_image(f)
        if frames and frame.shape != frames[0].shape:
            raise DataError(f"{f} is {frame.shape[1]}x{frame.shape[0]}, other frames in {path} are "
                            f"{frames[0].shape[1]}x{frames[0].shape[0]}")
        frames.append(frame)
    return np.stack(frames)


def _read_image(path: Path) -> np.ndarray:
    # imdecode(fromfile) instead of imread: works with any file name on every platform
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as e:
        raise DataError(f"cannot read image {path}: {_short(e)}") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DataError(f"cannot decode image {path} (empty or corrupt)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)  # [H, W, 3]


def read_video(
    path: str | Path, *, start: int = 0, num_frames: int | None = None, stride: int = 1
) -> np.ndarray:
    """Decode frames ``start, start + stride, ...`` of a video as uint8 ``[T, H, W, 3]`` RGB.

    ``path`` is any file PyAV decodes, or a folder of frame images (:func:`read_frames_dir`).
    ``num_frames=None`` reads to the end. Decoding stops after the last wanted frame, and
    for a late ``start`` it seeks to the keyframe before it when the stream has a constant
    frame rate (checked on the decoded timestamps; otherwise it decodes from the start).
    Fewer than ``num_frames`` frames come back when the video ends first; a video with no
    frame at ``start`` raises :class:`DataError`.
    """
    path = Path(path)
    if path.is_dir():
        return read_frames_dir(path, start=start, num_frames=num_frames, stride=stride)
    start, last = _wanted(start, num_frames, stride)
    _require_file(path)
    try:
        frames = None
        if start >= _SEEK_MIN_START:
            with _open_video(path) as (container, stream):
                frames = _decode_after_seek(container, stream, start, last, stride)
        if frames is None:  # early start, or timestamps that cannot be trusted
            with _open_video(path) as (container, stream):
                frames = _decode_sequential(container.decode(stream), start, last, stride)
    except DataError:
        raise
    except _DECODE_ERRORS as e:
        raise _not_readable(path, e) from None
    if not frames:
        raise DataError(f"{path} has no video frame at index {start} (it is empty or shorter)")
    return np.stack(frames)


@contextlib.contextmanager
def _open_video(path: Path) -> Iterator[tuple[Any, Any]]:
    with av.open(str(path), mode="r") as container:
        if not container.streams.video:
            raise _not_readable(path, what="it has no video stream")
        stream = container.streams.video[0]
        # one decoding thread: starting a pool (of slice or frame threads) costs more than
        # decoding a short clip, and DataLoader workers already decode in parallel
        stream.thread_type = "NONE"
        stream.codec_context.thread_count = 1
        yield container, stream


class _ToRGB:
    """Frames to uint8 RGB arrays through one reused swscale context (``frame.to_ndarray``
    builds a new one per frame, which costs more than decoding a small frame), with the same
    output."""

    def __init__(self) -> None:
        self._reformatter = av.video.reformatter.VideoReformatter()

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        return self._reformatter.reformat(frame, format="rgb24").to_ndarray()


def _decode_sequential(decoded: Iterator[av.VideoFrame], start: int, last: int | None, stride: int) -> list[np.ndarray]:
    frames, rgb = [], _ToRGB()
    for i, frame in enumerate(decoded):
        if i >= start and (i - start) % stride == 0:
            frames.append(rgb(frame))
        if last is not None and i >= last:
            break
    return frames


def _frame_rate(stream: Any) -> Fraction | None:
    rate = stream.average_rate or stream.guessed_rate
    return Fraction(rate) if rate else None


def _decode_after_seek(container: Any, stream: Any, start: int, last: int | None, stride: int) -> list[np.ndarray] | None:
    """Seek near ``start`` and decode from there, indexing frames by timestamp.

    Returns None (caller decodes from the beginning) whenever the timestamps cannot be
    trusted: no rate, missing pts, or the first frame after the seek already past ``start``.
    """
    rate = _frame_rate(stream)
    if rate is None or stream.time_base is None or container.format.name in ("gif", "image2"):
        return None
    origin = stream.start_time or 0
    tb = Fraction(stream.time_base)
    # aim a few frames early: keyframe seeking lands at or before the target
    target = origin + int((Fraction(start - 2) / rate) / tb)
    try:
        container.seek(max(origin, target), stream=stream, backward=True, any_frame=False)
    except av.error.FFmpegError:
        return None
    frames: list[np.ndarray] = []
    rgb = _ToRGB()
    previous = None
    for frame in container.decode(stream):
        if frame.pts is None:
            return None
        index = round((frame.pts - origin) * tb * rate)
        if previous is None and index > start:
            return None  # landed after the wanted frame
        if previous is not None and index != previous + 1:
            return None  # variable frame rate or reordering we cannot index
        previous = index
        if index >= start and (index - start) % stride == 0:
            frames.append(rgb(frame))
        if last is not None and index >= last:
            break
    return frames


def probe_video(path: str | Path, *, exact: bool = False) -> VideoInfo:
    """Frame count, size and frame rate of a video file or a folder of frame images.

    The count is the container's (``stream.frames``) when it has one and ``exact`` is
    False; otherwise every frame is decoded and counted (webm/mkv store no count).
    """
    path = Path(path)
    if path.is_dir():
        files = list_frame_images(path)
        if not files:
            raise DataError(f"frame folder {str(path)!r} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        h, w = _read_image(files[0]).shape[:2]
        return VideoInfo(num_frames=len(files), height=h, width=w, fps=None)
    _require_file(path)
    try:
        with _open_video(path) as (container, stream):
            rate = _frame_rate(stream)
            height, width = stream.codec_context.height, stream.codec_context.width
            count = stream.frames if not exact else 0
            if count <= 0 or not height or not width:
                count = 0
                for frame in container.decode(stream):
                    if count == 0:
                        height, width = frame.height, frame.width
                    count += 1
    except DataError:
        raise
    except _DECODE_ERRORS as e:
        raise _not_readable(path, e) from None
    if count == 0:
        raise _not_readable(path, what="it holds no video frames")
    return VideoInfo(num_frames=int(count), height=int(height), width=int(width), fps=float(rate) if rate else None)


# ------------------------------------------------------------------------------- write


def as_uint8_frames(frames: Any) -> np.ndarray:
    """uint8 ``[T, H, W, C]`` numpy (or ``[T, H, W]``) or float ``[T, C, H, W]`` tensor in
    ``[-1, 1]`` -> uint8 ``[T, H, W, C]`` numpy with C in {1, 3} (alpha dropped)."""
    if isinstance(frames, torch.Tensor):
        if frames.dtype == torch.uint8:
            frames = frames.cpu().numpy()
        else:
            from vidgen.convert import to_uint8

            if frames.ndim != 4:
                raise ValueError(f"expected a float video [T, C, H, W], got shape {tuple(frames.shape)}")
            frames = to_uint8(frames)  # [T, H, W, C]
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames [T, H, W, C] or a float tensor [T, C, H, W], got {frames.dtype}")
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected frames [T, H, W, C] with C in 1, 3, 4, got shape {frames.shape}")
    if frames.shape[0] == 0:
        raise ValueError("cannot write a video with no frames")
    if frames.shape[-1] == 4:
        frames = frames[..., :3]
    return np.ascontiguousarray(frames)


def _rgb(frames: np.ndarray) -> np.ndarray:
    return np.repeat(frames, 3, axis=-1) if frames.shape[-1] == 1 else frames


def write_video(path: str | Path, frames: Any, *, fps: float = 8, crf: int = 18) -> Path:
    """Write a clip; the format comes from the suffix (.mp4, .gif, .png strip, .npy).

    ``frames``: uint8 ``[T, H, W, C]`` numpy (C = 1 or 3) or a float tensor ``[T, C, H, W]``
    in ``[-1, 1]``. A 1-channel clip is written as gray RGB (as-is for .npy). ``crf`` is
    the H.264 quality for .mp4 (0 = best, 18 = visually lossless, 23 = FFmpeg's default).
    Parent folders are created. Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise DataError(
            f"cannot write {path.name!r}: unknown video format {suffix or '(no suffix)'!r}",
            hint=f"use one of {', '.join(WRITE_FORMATS)}",
        )
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    frames = as_uint8_frames(frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    # written under a temporary name (same folder and suffix: the format follows it), then renamed:
    # a crash or a full disk never leaves a half-written file under the name asked for
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{suffix}")
    try:
        if suffix == ".npy":
            np.save(tmp, frames)
        elif suffix == ".png":
            write_strip(tmp, frames)
        elif suffix == ".gif":
            _write_gif(tmp, _rgb(frames), fps)
        else:
            _write_mp4(tmp, _rgb(frames), fps, crf)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_mp4(path: Path, frames: np.ndarray, fps: float, crf: int) -> None:
    t, h, w, _ = frames.shape
    if h % 2 or w % 2:  # yuv420p halves the chroma planes: sizes must be even
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        h, w = h + h % 2, w + w % 2
    rate = Fraction(fps).limit_denominator(1001)
    try:
        # faststart: the index at the front, so a browser plays the file while it downloads
        with av.open(str(path), mode="w", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height = w, h
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(int(crf)), "preset": "medium"}
            for frame in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    except av.error.FFmpegError as e:
        raise DataError(f"cannot write {path}: {_short(e)}") from None


def _write_gif(path: Path, frames: np.ndarray, fps: float) -> None:
    images = [Image.fromarray(f) for f in frames]
    duration = max(20, round(1000 / fps))  # ms; most viewers clamp delays under 20 ms
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0, optimize=False)


def write_strip(path: str | Path, frames: Any, *, max_frames: int | None = None) -> Path:
    """Write the frames side by side as one PNG: ``[H, T * W, 3]``.

    ``frames`` as for :func:`write_video`. With ``max_frames``, that many frames evenly
    spaced over the clip (first and last included) are shown.
    """
    path = Path(path)
    frames = _rgb(as_uint8_frames(frames))
    t = frames.shape[0]
    if max_frames is not None and 0 < max_frames < t:
        frames = frames[np.linspace(0, t - 1, max_frames).round().astype(int)]
    strip = np.concatenate(list(frames), axis=1)  # [H, T * W, 3]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(strip).save(path, format="PNG")
    return path


def read_clip(path: str | Path, *, num_frames: int | None = None) -> np.ndarray:
    """Frames of a video file, a folder of images or a ``.npy``: uint8 ``[T, H, W, C]`` (at most ``num_frames``)."""
    path = Path(path)
    if path.suffix.lower() != ".npy":
        try:
            return read_video(path, num_frames=num_frames)
        except DataError as e:  # the other inputs a command takes, after how to repair a video
            also = "the input may also be a folder of frame images or a uint8 .npy [T, H, W, C]"
            raise DataError(e.message, hint=f"{e.hint}; {also}" if e.hint else also) from None
    if not path.is_file():
        raise DataError(f"input {str(path)!r} does not exist")
    try:
        frames = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read {path}: {str(e).splitlines()[0][:200]}") from None
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4):  # the channels are checked with the frames
        raise DataError(f"{path} holds a {frames.dtype} array of shape {list(frames.shape)}, not uint8 frames "
                        "[T, H, W, C]", hint="save one clip as uint8 [T, H, W, C] (C = 1 or 3), as "
                                             "vidgen.io.read_video returns it")
    return frames[:num_frames]


# -------------------------------------------------------------------- streaming (long videos)


def iter_clip(path: str | Path) -> Iterator[np.ndarray]:
    """The frames of a video file, a folder of images or a ``.npy`` one at a time (uint8 ``[H, W, C]``),
    decoded as they are asked for: a long video is never held whole. Errors as :func:`read_clip`
    (raised by the first ``next``)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        if not path.is_file():
            read_clip(path)  # the missing-file error
        try:
            frames = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DataError(f"cannot read {path}: {str(e).splitlines()[0][:200]}") from None
        if frames.dtype != np.uint8 or frames.ndim not in (3, 4):
            read_clip(path)  # the wrong-array error
        for frame in frames:
            yield np.array(frame)
        return
    if path.is_dir():
        files = list_frame_images(path)
        if not files:
            read_frames_dir(path)  # the empty-folder error
        for f in files:
            yield _read_image(f)
        return
    _require_file(path)
    count = 0
    try:
        with _open_video(path) as (container, stream):
            stream.thread_type = "AUTO"  # a long video: frame threads pay off
            stream.codec_context.thread_count = 0  # (as many as the machine has)
            rgb = _ToRGB()
            for frame in container.decode(stream):
                count += 1
                yield rgb(frame)
    except DataError:
        raise
    except _DECODE_ERRORS as e:
        if count == 0:
            raise _not_readable(path, e) from None
        raise DataError(f"{path} is corrupt after frame {count}: {_short(e)}") from None
    if count == 0:
        raise DataError(f"{path} has no video frame (it is empty)")


class VideoWriter:
    """Writes frames one at a time to ``path`` (.mp4 streams to the encoder; .gif, .png and .npy are
    gathered and written at the end) under a temporary name, renamed by :meth:`close`: an
    interrupted run leaves nothing under the name asked for. Use as a context manager; an
    exception inside the block discards the partial file."""

    def __init__(self, path: str | Path, *, fps: float = 8, crf: int = 18, preset: str = "medium"):
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in WRITE_FORMATS:
            raise DataError(f"cannot write {self.path.name!r}: unknown video format {self.suffix or '(no suffix)'!r}",
                            hint=f"use one of {', '.join(WRITE_FORMATS)}")
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.fps, self.crf, self.preset = fps, crf, preset
        self.count = 0
        self._frames: list[np.ndarray] = []
        self._container: Any = None
        self._stream: Any = None
        self._tmp = self.path.with_name(f".{self.path.stem}.partial-{os.getpid()}{self.suffix}")

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def write(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3:
            raise ValueError(f"frames are uint8 [H, W, C], got {frame.dtype} {list(frame.shape)}")
        self.count += 1
        if self.suffix != ".mp4":
            self._frames.append(frame)
            return
        if self._container is None:
            self._open(frame)
        frame = _rgb(frame[None, ..., :3])[0]
        h, w = frame.shape[:2]
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if h % 2 or w % 2 else frame
        try:
            for packet in self._stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                self._container.mux(packet)
        except av.error.FFmpegError as e:
            self.abort()
            raise DataError(f"cannot write {self.path}: {_short(e)}") from None

    def _open(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self._tmp), mode="w", options={"movflags": "+faststart"})
        self._stream = self._container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
        self._stream.width, self._stream.height = w + w % 2, h + h % 2
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(int(self.crf)), "preset": self.preset}

    def close(self) -> Path:
        """Finish the file and move it to its name; returns the path."""
        if self.count == 0:
            raise DataError(f"no frame was written to {self.path}")
        if self.suffix != ".mp4":
            frames, self._frames = np.stack(self._frames), []
            return write_video(self.path, frames, fps=self.fps, crf=self.crf)
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
            self._container = None
            os.replace(self._tmp, self.path)
        finally:
            self.abort()
        return self.path

    def abort(self) -> None:
        """Drop what was written: no file is left, under either name."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # already broken: the file goes anyway
                pass
            self._container = None
        self._frames = []
        self._tmp.unlink(missing_ok=True)
