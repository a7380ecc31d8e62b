"""``folder``: clips cut from a folder of real videos.

Videos are the files with one of ``extensions`` and the folders of frame images (a
directory holding images and no video file), found recursively under ``data.path``.

Labels: when every usable video sits inside a sub-folder of ``data.path``, the first
sub-folder name is its class (``class_names`` sorted, label = index, caption = class name).
Otherwise (any video directly under ``data.path``) the set is unlabelled:
``class_names = []``, label 0, caption = the file stem.

Each video gives ``clips_per_video`` clips of ``raw_frames`` frames taken every
``frame_stride``-th source frame; ``clip_sampling`` places them evenly or at random
(drawn from the per-item rng, so they depend on (seed, epoch, index)). Decoded clips are
cached on disk as ``.npy`` so a later epoch that picks the same clip does not decode again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vidgen.data.base import ClipDataset, DataConfig
from vidgen.errors import ConfigError, DataError
from vidgen.io.video import IMAGE_EXTENSIONS, natural_key, probe_video, read_video
from vidgen.registry import DATASETS

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = ("mp4", "avi", "mov", "webm", "mkv", "gif")


def default_cache_dir() -> Path:
    """``$VIDGEN_CACHE/clips``, else ``~/.cache/vidgen/clips``."""
    root = os.environ.get("VIDGEN_CACHE") or os.path.join("~", ".cache", "vidgen")
    return Path(root).expanduser() / "clips"


@dataclass
class FolderConfig(DataConfig):
    """A folder of videos (``path``) cut into clips of ``frames`` frames."""

    path: str = ""  # required: the folder searched recursively for videos
    frame_stride: int = 1  # take every k-th source frame when building a clip
    clip_sampling: Literal["random", "even"] = "random"
    clips_per_video: int = 1
    cache_dir: str | None = None  # decoded-clip cache (default $VIDGEN_CACHE/clips or ~/.cache/vidgen/clips)
    cache: bool = True
    extensions: tuple[str, ...] = VIDEO_EXTENSIONS

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.path:
            raise ConfigError(
                "data.path is required for the folder dataset",
                hint="set data.path=/path/to/videos (a folder of video files or frame folders)",
            )
        if self.frame_stride < 1:
            raise ConfigError(f"data.frame_stride must be >= 1, got {self.frame_stride}")
        if self.clips_per_video < 1:
            raise ConfigError(f"data.clips_per_video must be >= 1, got {self.clips_per_video}")
        exts = tuple(e.lower().lstrip(".") for e in self.extensions)
        if not exts or any(not e for e in exts):
            raise ConfigError(
                f"data.extensions must list file suffixes, got {list(self.extensions)!r}",
                hint=f"for example {list(VIDEO_EXTENSIONS)}",
            )
        self.extensions = exts


@dataclass(frozen=True)
class _Video:
    path: str  # absolute
    num_frames: int
    cls: str | None  # first sub-folder under the root, None for videos directly in it


@DATASETS.register("folder", config=FolderConfig)
class FolderDataset(ClipDataset):
    """Clips from real videos; ``len = videos * clips_per_video``.

    ``self.videos`` lists the usable videos, ``self.skipped`` the ``(path, reason)`` of each
    file left out (unreadable, empty, too short). A folder with nothing usable raises
    :class:`DataError` saying what was found.
    """

    channels = 3

    def __init__(self, config: FolderConfig):
        super().__init__(config)
        self.config: FolderConfig = config
        self.root = Path(config.path).expanduser().resolve()
        self.skipped: list[tuple[str, str]] = []
        self.videos: list[_Video] = []
        self.class_names: list[str] = []
        self._cache_dir = Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()
        self._cache_ok = config.cache
        self._short_warned: set[str] = set()
        self._longest_short = 0  # frames of the longest video too short for a clip (for the hint)
        self._index()

    # --------------------------------------------------------------------- indexing

    @property
    def span(self) -> int:
        """Source frames one clip covers: ``(raw_frames - 1) * frame_stride + 1``."""
        return (self.raw_frames - 1) * self.config.frame_stride + 1

    def _find(self) -> tuple[list[Path], Counter[str], list[str]]:
        """Candidate videos under the root, plus counts by extension and names of all files."""
        exts = {"." + e for e in self.config.extensions}
        found: list[Path] = []
        by_ext: Counter[str] = Counter()
        names: list[str] = []
        if self.root.is_file():
            by_ext[self.root.suffix.lower() or "(none)"] += 1
            names.append(self.root.name)
            return ([self.root] if self.root.suffix.lower() in exts else []), by_ext, names
        for dirpath, dirnames, filenames in os.walk(self.root):
            # hidden entries (.git, macOS ._name resource forks) are never videos
            dirnames[:] = sorted((n for n in dirnames if not n.startswith(".")), key=natural_key)
            d = Path(dirpath)
            files = sorted((f for f in filenames if not f.startswith(".")), key=natural_key)
            for f in files:
                by_ext[Path(f).suffix.lower() or "(none)"] += 1
                if len(names) < 2000:
                    names.append(str((d / f).relative_to(self.root)))
            videos = [d / f for f in files if Path(f).suffix.lower() in exts]
            found.extend(videos)
            if not videos and any(Path(f).suffix.lower() in IMAGE_EXTENSIONS for f in files):
                found.append(d)  # a folder of frames is one video
        return found, by_ext, names

    def _index(self) -> None:
        if not self.root.exists():
            raise DataError(
                f"data.path {str(self.root)!r} does not exist",
                hint=f"point data.path at a folder of videos ({', '.join(self.config.extensions)}) or frame folders",
            )
        candidates, by_ext, names = self._find()
        reasons: Counter[str] = Counter()
        usable: list[_Video] = []
        for p in candidates:
            reason = self._check(p, usable)
            if reason is not None:
                kind, detail = reason
                reasons[kind] += 1
                self.skipped.append((str(p), f"{kind}: {detail}"))
                log.warning("skipping %s: %s", self._rel(p), detail)
        if self.skipped:
            summary = ", ".join(f"{n} {k}" for k, n in sorted(reasons.items()))
            log.warning("skipped %d of %d files: %s", len(self.skipped), len(candidates), summary)
        if not usable:
            hint = self._too_short_hint() if reasons["too short"] else self._hint()
            raise DataError(self._nothing_usable(candidates, by_ext, names, reasons), hint=hint)
        self.videos = usable
        if all(v.cls is not None for v in usable):
            self.class_names = sorted({v.cls for v in usable if v.cls is not None}, key=natural_key)
        else:
            self.class_names = []
            nested = sum(v.cls is not None for v in usable)
            if nested:
                log.warning(
                    "%d of %d videos sit directly in %s: the set is unlabelled (put every video in a "
                    "class sub-folder to get labels)", len(usable) - nested, len(usable), self.root,
                )
        self._label = {name: i for i, name in enumerate(self.class_names)}

    def _check(self, p: Path, usable: list[_Video]) -> tuple[str, str] | None:
        """Add ``p`` to ``usable`` or return (reason kind, detail)."""
        if p.is_file() and p.stat().st_size == 0:
            return "empty", "the file is empty (0 bytes)"
        try:
            info = probe_video(p)
        except DataError as e:
            return "unreadable", e.message
        except Exception as e:  # a decoder bug must not take the whole dataset down
            return "unreadable", f"{type(e).__name__}: {e}"
        if info.num_frames < self.span:
            self._longest_short = max(self._longest_short, info.num_frames)
            return "too short", (
                f"{info.num_frames} frames, a clip needs {self.span} "
                f"({self.raw_frames} frames every {self.config.frame_stride})"
            )
        rel = p.relative_to(self.root) if p != self.root else Path(p.name)
        cls = rel.parts[0] if len(rel.parts) > 1 else None
        usable.append(_Video(path=str(p), num_frames=info.num_frames, cls=cls))
        return None

    def _rel(self, p: Path | str) -> str:
        p = Path(p)
        try:
            return str(p.relative_to(self.root)) if p != self.root else p.name
        except ValueError:
            return str(p)

    def _hint(self) -> str:
        return (
            f"supported: video files ({', '.join('.' + e for e in self.config.extensions)}) and folders of "
            f"frame images ({', '.join(IMAGE_EXTENSIONS)}), searched recursively; see data.extensions"
        )

    def _too_short_hint(self) -> str:
        """How to fit clips into videos that are all too short: what the longest allows."""
        longest, stride = self._longest_short, self.config.frame_stride
        temporal = self.config.transforms.temporal_stride
        fits = ((longest - 1) // stride + 1) // temporal  # the data.frames the longest video gives
        needs = f"data.frames={self.config.frames}"
        needs += f" x data.transforms.temporal_stride={temporal}" if temporal > 1 else ""
        needs += f", every data.frame_stride={stride} frames" if stride > 1 else ""
        fix = f"lower data.frames (at most {fits} here)" if fits >= 1 else "use longer videos"
        fix += ", or data.transforms.temporal_stride" if temporal > 1 else ""
        fix += ", or data.frame_stride" if stride > 1 else ""
        return f"the videos are too short: the longest has {longest} frames, a clip needs {self.span} ({needs}); {fix}"

    def _nothing_usable(self, candidates: list[Path], by_ext: Counter[str], names: list[str], reasons: Counter[str]) -> str:
        total = sum(by_ext.values())
        if total == 0:
            found = "it holds no files"
        else:
            counts = ", ".join(f"{n} {ext}" for ext, n in by_ext.most_common(8))
            first = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            found = f"found {total} files ({counts}): {first}"
        msg = f"no usable video in {self.root}: {found}"
        if candidates:
            why = ", ".join(f"{n} {k}" for k, n in sorted(reasons.items()))
            msg += f"; all {len(candidates)} candidate videos were skipped ({why}; a clip needs {self.span} frames)"
        return msg

    # ---------------------------------------------------------------------- clips

    def __len__(self) -> int:
        return len(self.videos) * self.config.clips_per_video

    def clip_start(self, index: int, rng: np.random.Generator) -> int:
        """First source frame of clip ``index``."""
        video = self.videos[index // self.config.clips_per_video]
        k, n = index % self.config.clips_per_video, self.config.clips_per_video
        last = video.num_frames - self.span  # the latest start that still fits
        if self.config.clip_sampling == "random":
            return int(rng.integers(0, last + 1))
        # even: clip k of n starts at round(k * last / (n - 1)); a single clip starts at 0
        return 0 if n == 1 else int(round(k * last / (n - 1)))

    def load_clip(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, int, str]:
        video = self.videos[index // self.config.clips_per_video]
        start = self.clip_start(index, rng)
        try:
            clip = self._load(video, start)
        except DataError as e:
            if start == 0:
                raise DataError(f"{self._rel(video.path)} can no longer be decoded: {e.message}") from None
            # frames past a damaged stretch are missing: fall back to a clip from the start
            if video.path not in self._short_warned:
                self._short_warned.add(video.path)
                log.warning("%s: no frames at %d (%s); using clips from its start", self._rel(video.path),
                            start, e.message)
            clip = self._load(video, 0)
        if clip.shape[0] < self.raw_frames:
            # the container's frame count was too high (truncated file): freeze the last frame
            if video.path not in self._short_warned:
                self._short_warned.add(video.path)
                log.warning("%s ends before its stated %d frames; padding clips with the last frame",
                            self._rel(video.path), video.num_frames)
            tail = np.repeat(clip[-1:], self.raw_frames - clip.shape[0], axis=0)
            clip = np.concatenate([clip, tail], axis=0)
        if video.cls is not None and self.class_names:
            return clip, self._label[video.cls], video.cls
        return clip, 0, Path(video.path).stem

    # ---------------------------------------------------------------------- cache

    def cache_path(self, video_path: str, start: int) -> Path | None:
        """Where the clip of ``video_path`` starting at ``start`` is cached (None: no cache)."""
        try:
            st = os.stat(video_path)
        except OSError:
            return None
        key = "\0".join(
            map(str, (os.path.abspath(video_path), st.st_size, st.st_mtime_ns, start, self.raw_frames, self.config.frame_stride))
        )
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self._cache_dir / digest[:2] / f"{digest}.npy"

    def _load(self, video: _Video, start: int) -> np.ndarray:
        cached = self.cache_path(video.path, start) if self._cache_ok else None
        if cached is not None and cached.is_file():
            try:
                clip = np.load(cached, allow_pickle=False)
                if clip.dtype == np.uint8 and clip.ndim == 4 and clip.shape[0] == self.raw_frames:
                    return clip
            except (OSError, ValueError, EOFError):
                pass  # a broken cache file is decoded again and overwritten
        clip = read_video(video.path, start=start, num_frames=self.raw_frames, stride=self.config.frame_stride)
        if cached is not None and clip.shape[0] == self.raw_frames:
            self._store(cached, clip)
        return clip

    def _store(self, target: Path, clip: np.ndarray) -> None:
        # write to a temporary file and rename: readers (other workers) never see half a file
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.save(f, clip)
                os.replace(tmp, target)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as e:
            self._cache_ok = False
            log.warning("clip cache disabled: cannot write to %s (%s)", self._cache_dir, e)

    # ---------------------------------------------------------------------- info

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(
            path=str(self.root),
            videos=len(self.videos),
            clips_per_video=self.config.clips_per_video,
            frame_stride=self.config.frame_stride,
            skipped=len(self.skipped),
            skipped_files=[f"{self._rel(p)}: {r}" for p, r in self.skipped],
            class_names=list(self.class_names),
            cache_dir=str(self._cache_dir) if self.config.cache else None,
        )
        return out
