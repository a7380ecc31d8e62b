"""Fréchet Video Distance (FVD) and Kernel Video Distance (KVD) of two sets of clips, end to end.

The pieces live in their own modules and are re-exported here, so ``from vidgen.metrics.fvd
import ...`` reaches all of them:

- :mod:`vidgen.metrics.protocols`: the published FVD protocols (``tf``, ``styleganv``,
  ``videogpt``, ``tats``) and their exact preprocessing;
- :mod:`vidgen.metrics.detectors`: the feature networks (I3D files, domain evaluators) and
  :func:`load_detector`;
- :mod:`vidgen.metrics.stats`: streaming feature statistics, the Fréchet distance and the
  kernel distance.

This module feeds clips through a detector (:func:`extract_features`), caches the real
data's statistics on disk (:func:`cached_stats`) and computes the records
(:func:`compute_fvd`, :func:`compute_kvd`). The metric names ``fvd{N}_{T}f`` and
``kvd{N}_{T}f`` (e.g. ``fvd2048_16f``: N clips of each set, T frames each) are registered in
``vidgen.registry.METRICS`` (:mod:`vidgen.metrics.generative`); :func:`compute_metric` takes
them. Results are plain dicts that carry the protocol, the detector name and its sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Callable

import torch

from vidgen.errors import ConfigError, VidgenError
from vidgen.metrics.detectors import Detector, I3DDetector, TorchScriptI3DDetector, load_detector
from vidgen.metrics.protocols import (
    DEFAULT_PROTOCOL,
    PROTOCOLS,
    SIZE,
    FVDProtocol,
    check_videos,
    get_protocol,
    preprocess,
    quantize,
    resize_half_pixel,
    resize_shorter_side_crop,
    resize_tf_legacy,
    shorter_side_size,
)
from vidgen.metrics.stats import (
    FeatureStats,
    all_reduce_stats,
    frechet_distance,
    frechet_of_features,
    fvd_from_features,
    fvd_from_stats,
    kernel_distance,
    rank_block,
    trace_sqrt_product,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "Detector",
    "FVDProtocol",
    "FeatureStats",
    "I3DDetector",
    "PROTOCOLS",
    "SIZE",
    "TorchScriptI3DDetector",
    "all_reduce_stats",
    "cached_stats",
    "compute_fvd",
    "compute_kvd",
    "compute_metric",
    "default_stats_dir",
    "extract_features",
    "frechet_distance",
    "frechet_of_features",
    "fvd_from_features",
    "fvd_from_stats",
    "get_protocol",
    "kernel_distance",
    "load_detector",
    "preprocess",
    "quantize",
    "real_stats_key",
    "resize_half_pixel",
    "resize_shorter_side_crop",
    "resize_tf_legacy",
    "shorter_side_size",
    "trace_sqrt_product",
]


# ---------------------------------------------------------------------------------------
# feature extraction
# ---------------------------------------------------------------------------------------


def _batches(videos: Any, batch_size: int, frames: int | None) -> Iterator[torch.Tensor]:
    """Re-chunk clips into ``[<= batch_size, T, C, H, W]`` tensors (first ``frames`` frames)."""

    def clips_of(item: Any) -> torch.Tensor:
        if isinstance(item, dict):
            if "video" not in item:
                raise VidgenError(f"a dataset item has no 'video' key (keys: {sorted(item)})")
            item = item["video"]
        item = torch.as_tensor(item)
        return item[None] if item.ndim == 4 else item  # [T, C, H, W] -> [1, T, C, H, W]

    source: Iterable[Any] = videos.split(batch_size) if isinstance(videos, torch.Tensor) else videos
    pending: list[torch.Tensor] = []
    count = 0
    for item in source:
        clip = check_videos(clips_of(item))
        if frames is not None:
            if clip.shape[1] < frames:
                raise VidgenError(f"clips have {clip.shape[1]} frames, the metric needs {frames}",
                                  hint="score longer clips, or pick a metric with fewer frames (e.g. fvd2048_16f)")
            clip = clip[:, :frames]
        pending.append(clip)
        count += clip.shape[0]
        while count >= batch_size:
            cat = torch.cat(pending) if len(pending) > 1 else pending[0]
            yield cat[:batch_size]
            rest = cat[batch_size:]
            pending, count = ([rest] if len(rest) else []), len(rest)
    if count:
        yield torch.cat(pending)


def extract_features(detector: Detector, videos: Any, *, batch_size: int = 16, progress: bool = True,
                     max_items: int | None = None, frames: int | None = None, keep: int = 0,
                     stats: FeatureStats | None = None, desc: str = "features") -> FeatureStats:
    """Run ``detector`` over clips in batches and accumulate their statistics.

    Args:
        detector: a :class:`Detector`.
        videos: a tensor ``[N, T, C, H, W]``, or an iterable of clips ``[T, C, H, W]``,
            batches ``[B, T, C, H, W]`` or dataset items ``{"video": ...}``; float in ``[-1, 1]``.
        batch_size: clips per detector call.
        progress: show a tqdm bar.
        max_items: stop after this many clips.
        frames: use the first ``frames`` frames of every clip.
        keep: also keep up to ``keep`` features (for KVD).
        stats: add to these statistics instead of new ones.

    Returns:
        the :class:`FeatureStats`.
    """
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    stats = FeatureStats(keep=keep) if stats is None else stats
    total = len(videos) if isinstance(videos, torch.Tensor) else None
    if max_items is not None:
        total = max_items if total is None else min(total, max_items)
    bar = tqdm(total=total, desc=desc, unit="clip", disable=not progress, leave=False)
    seen = 0
    try:
        for batch in _batches(videos, batch_size, frames):
            if max_items is not None:
                batch = batch[:max_items - seen]
            stats.update(detector.features(batch))
            seen += batch.shape[0]
            bar.update(batch.shape[0])
            if max_items is not None and seen >= max_items:
                break
    finally:
        bar.close()
    return stats


# ---------------------------------------------------------------------------------------
# real-data statistics cache
# ---------------------------------------------------------------------------------------


def default_stats_dir() -> Path:
    """``$VIDGEN_CACHE/fvd_stats``, else ``~/.cache/vidgen/fvd_stats``."""
    root = os.environ.get("VIDGEN_CACHE") or os.path.join("~", ".cache", "vidgen")
    return Path(root).expanduser() / "fvd_stats"


def real_stats_key(dataset: dict[str, Any], detector: Detector, *, num_clips: int | None, frames: int | None,
                   keep: int = 0) -> dict[str, Any]:
    """The cache key of real-data statistics: data config, protocol, clips, frames, detector hash."""
    return {"dataset": dataset, "num_clips": num_clips, "frames": frames, "keep": int(keep), **detector.describe()}


def _all_ranks_agree(flag: bool) -> bool:
    """``flag`` on every rank (``torch.distributed``), else False everywhere; ``flag`` alone."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


def cached_stats(key: dict[str, Any], compute_fn: Callable[[], FeatureStats],
                 cache_dir: str | os.PathLike | None = None) -> FeatureStats:
    """Statistics from ``cache_dir`` when ``key`` was computed before, else ``compute_fn()`` (then saved).

    The file name is a hash of ``key`` (JSON, sorted keys), so any change of the dataset
    config, protocol, clip count, frames or detector sha256 (see :func:`real_stats_key`)
    computes afresh. A file that cannot be read, or whose stored key differs, is recomputed.
    """
    text = json.dumps(key, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()
    path = Path(cache_dir if cache_dir is not None else default_stats_dir()) / f"stats-{digest[:24]}.npz"
    stats = None
    if path.is_file():
        try:
            stats = FeatureStats.load(path)
            if json.dumps(getattr(stats, "meta", {}), sort_keys=True, default=str) != text:
                stats = None
        except VidgenError:
            stats = None
    if _all_ranks_agree(stats is not None):  # under torchrun: all read, or all compute together
        return stats  # type: ignore[return-value]
    stats = compute_fn()
    try:
        stats.save(path, meta=json.loads(text))
    except OSError as e:  # a read-only cache must not lose the computed result
        import warnings

        warnings.warn(f"could not cache feature statistics at {path}: {e}", stacklevel=2)
    return stats


# ---------------------------------------------------------------------------------------
# FVD / KVD end to end
# ---------------------------------------------------------------------------------------


def _record(metric: str, value: float, detector: Detector, real: FeatureStats, fake: FeatureStats,
            frames: int | None) -> dict[str, Any]:
    return {"metric": metric, "value": value, **detector.describe(), "real_clips": real.n, "fake_clips": fake.n,
            "frames": frames}


def _rank_quota(num: int | None) -> int | None:
    """This rank's share of ``num`` clips under ``torch.distributed`` (all of them alone)."""
    return None if num is None else rank_block(num)[1]


def _stats_for(videos: Any, detector: Detector, *, num_clips: int | None, frames: int | None, keep: int,
               batch_size: int, progress: bool, what: str) -> FeatureStats:
    if isinstance(videos, FeatureStats):
        stats = videos
    else:
        # under torchrun every rank scores its own clips (its shard of the data, its own seeds)
        stats = extract_features(detector, videos, batch_size=batch_size, progress=progress,
                                 max_items=_rank_quota(num_clips), frames=frames, keep=keep, desc=f"{what} clips")
        stats = all_reduce_stats(stats)
    if num_clips is not None and stats.n < num_clips:
        raise VidgenError(f"only {stats.n} {what} clips were available, the metric needs {num_clips}",
                          hint="score more clips or pick a metric with fewer clips (e.g. fvd256_16f)")
    return stats


def _real_stats(real_videos: Any, detector: Detector, *, real_cache: dict[str, Any] | None,
                cache_dir: str | os.PathLike | None, **kw: Any) -> FeatureStats:
    if real_cache is None or isinstance(real_videos, FeatureStats):
        return _stats_for(real_videos, detector, what="real", **kw)
    key = real_stats_key(real_cache, detector, num_clips=kw["num_clips"], frames=kw["frames"], keep=kw["keep"])
    return cached_stats(key, lambda: _stats_for(real_videos, detector, what="real", **kw), cache_dir)


def compute_fvd(real_videos: Any, fake_videos: Any, detector: Detector, protocol: str | None = None, *,
                num_clips: int | None = None, frames: int | None = None, batch_size: int = 16,
                progress: bool = True, metric: str | None = None, real_cache: dict[str, Any] | None = None,
                cache_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """FVD between two sets of clips.

    Args:
        real_videos, fake_videos: what :func:`extract_features` accepts, or ready
            :class:`FeatureStats` (e.g. from :func:`cached_stats`).
        detector: from :func:`load_detector`; its protocol is used.
        protocol: if given, must equal the detector's (a check, not a switch). A domain
            evaluator uses the default protocol's statistics (covariance / N).
        num_clips: clips of each set (all when ``None``); fewer is an error.
        frames: first frames of each clip to use.
        metric: the name for the record (default ``fvd{N}_{T}f``).
        real_cache: the real data's config (JSON-able dict); when given, the real
            statistics are read from / written to the cache (:func:`cached_stats`, keyed
            by this dict, the protocol, N, T and the detector's sha256).
        cache_dir: the cache folder (default :func:`default_stats_dir`).

    Returns:
        ``{"metric", "value", "protocol", "detector", "detector_sha256", "precision",
        "real_clips", "fake_clips", "frames"}``.
    """
    if protocol is not None and get_protocol(protocol).name != detector.protocol:
        raise ConfigError(f"the detector was loaded for protocol {detector.protocol!r}, not {protocol!r}",
                          hint=f"load_detector(path, protocol={protocol!r})")
    kw = dict(num_clips=num_clips, frames=frames, keep=0, batch_size=batch_size, progress=progress)
    real = _real_stats(real_videos, detector, real_cache=real_cache, cache_dir=cache_dir, **kw)
    fake = _stats_for(fake_videos, detector, what="generated", **kw)  # type: ignore[arg-type]
    proto = PROTOCOLS.get(detector.protocol, PROTOCOLS[DEFAULT_PROTOCOL])
    value = fvd_from_stats(real, fake, proto)
    name = metric or (f"fvd{num_clips or min(real.n, fake.n)}_{frames}f" if frames else "fvd")
    return _record(name, value, detector, real, fake, frames)


def compute_kvd(real_videos: Any, fake_videos: Any, detector: Detector, *, num_clips: int | None = None,
                frames: int | None = None, batch_size: int = 16, progress: bool = True,
                subsets: int | None = None, metric: str | None = None, real_cache: dict[str, Any] | None = None,
                cache_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """KVD (:func:`kernel_distance` of the detector features) between two sets of clips.

    ``real_videos`` / ``fake_videos`` may be :class:`FeatureStats` that kept all their
    features (``keep >= n``); ``subsets``: see :func:`kernel_distance`; the other
    arguments and the record are :func:`compute_fvd`'s.
    """
    keep = num_clips if num_clips is not None else 1 << 30
    kw = dict(num_clips=num_clips, frames=frames, keep=keep, batch_size=batch_size, progress=progress)
    real = _real_stats(real_videos, detector, real_cache=real_cache, cache_dir=cache_dir, **kw)
    fake = _stats_for(fake_videos, detector, what="generated", **kw)  # type: ignore[arg-type]
    value = kernel_distance(real.features, fake.features, subsets=subsets)
    name = metric or (f"kvd{num_clips or min(real.n, fake.n)}_{frames}f" if frames else "kvd")
    return _record(name, value, detector, real, fake, frames)


def compute_metric(name: str, real_videos: Any, fake_videos: Any, detector: Detector, **kwargs: Any) -> dict[str, Any]:
    """A distance of two sets of clips by its registered name (``fvd{N}_{T}f``, ``kvd{N}_{T}f``):
    N clips of T frames from each set; ``kwargs`` go to :func:`compute_fvd` / :func:`compute_kvd`."""
    from vidgen.registry import METRICS

    metric = METRICS.get(name)
    compute = metric.meta.get("compute")
    if compute is None:
        raise ConfigError(f"{metric.name} is not a distance between two sets of clips",
                          hint="use fvd{N}_{T}f or kvd{N}_{T}f, e.g. fvd2048_16f")
    return compute(real_videos, fake_videos, detector, num_clips=metric.params["clips"],
                   frames=metric.params["frames"], metric=metric.name, **kwargs)
