"""The metrics of generated clips, by name: FVD, KVD and ``cond_acc`` of a generator, a sampler or two clip files.

Every metric is registered in ``vidgen.registry.METRICS`` by name or name pattern, with what
it ``needs`` and a one-line ``summary`` (``vidgen eval --help`` lists them); the registry
parses a name into its parameters (``METRICS.get("fvd2048_16f").params == {"clips": 2048,
"frames": 16}``). The built-in ones:

- ``fvd{N}_{T}f`` (e.g. ``fvd2048_16f``, ``fvd256_16f``): Fréchet distance of the
  detector's features of ``N`` real and ``N`` generated clips of ``T`` frames
  (:mod:`vidgen.metrics.fvd`);
- ``kvd{N}_{T}f``: the kernel (MMD) distance on the same features;
- ``cond_acc{N}`` (or ``cond_acc``: 1000 clips): the share of ``N`` class-conditional
  samples that a domain evaluator classifies as the class asked for (:mod:`vidgen.metrics.cond_acc`);
- ``frames``: MSE, MAE, SSIM and PSNR of a predictor's frames (:mod:`vidgen.metrics.evaluate`).

``needs`` words (:data:`NEEDS`): what a metric scores (``generator``, ``predictor``, ``clips``:
two sets of clips in files) and what else it takes (``detector``, ``evaluator``,
``classes``, ``test set``). A metric that needs a ``generator`` is called as
``obj(entry, sample, **options)`` with ``sample(seed, n, frames) -> float [n, T, C, H, W]``
(:func:`score_sampler` does it, for ``vidgen eval``, ``train.metrics`` and the API); one
that needs a ``predictor`` as ``obj(predictor, dataset, **options)``.

The detector is an I3D file (``i3d_pretrained_400.pt`` / ``i3d_torchscript.pt``, see
:func:`vidgen.metrics.detectors.load_detector`), a domain-evaluator folder, or the name of a
shipped evaluator (``shapes``...). Generated clip ``i`` uses seed ``seed + i`` (and, for a
conditional model, class ``(seed + i) mod classes``), so a score is reproducible and does
not depend on the batch size or the number of processes. Under ``torchrun`` every process
scores its own block of clips and the statistics are summed across processes.

Python::

    from vidgen.metrics.generative import evaluate_generator
    record = evaluate_generator(vidgen.load("runs/x"), "fvd2048_16f", dataset, data_config=cfg,
                                detector="i3d_torchscript.pt")
    record["value"]
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np
import torch

from vidgen.errors import ConfigError, VidgenError
from vidgen.metrics import fvd
from vidgen.metrics.detectors import resolve_detector
from vidgen.metrics.records import append_record
from vidgen.metrics.stats import rank_block
from vidgen.registry import METRICS, Entry

log = logging.getLogger(__name__)

__all__ = ["NEEDS", "MetricName", "SampleFn", "append_record", "dataset_clips", "describe_needs", "evaluate_generator",
           "fitting_metric", "generated_clips", "load_clips", "model_sampler", "parse_name", "score_distance",
           "score_files", "score_sampler"]

# how a model is asked for clips: (first seed, count, frames or None) -> float [count, T, C, H, W]
SampleFn = Callable[[int, int, "int | None"], torch.Tensor]

# what a metric's ``needs`` may name: what it scores (a model capability, vidgen.family.CAPABILITIES,
# or clips in files), then what else it takes
NEEDS = {
    "generate": "a model that generates clips (GAN, clip VAE)",
    "predict": "a frame predictor",
    "upscale": "a super-resolution model (an upscaler)",
    "reconstruct": "an autoencoder (vae3d, frame_vae)",
    "clips": "two sets of clips in files (--real, --fake)",
    "class": "a class-conditional model",
    "detector": "a feature detector (--detector: I3D file, evaluator)",
    "evaluator": "a domain evaluator (--detector)",
    "test set": "a test set (the run's data config)",
    "video": "one video (--fake; its reference, where it takes one, --real)",
    "reference": "the reference video (--real)",
}
_SOURCES = ("generate", "predict", "clips", "video", "upscale", "reconstruct")


def describe_needs(needs: Any) -> str:
    """``("generate", "clips", "detector")`` -> ``"a generator or two sets of clips; a detector"`` (for help)."""
    short = {"generate": "a generator", "predict": "a predictor", "clips": "two sets of clips",
             "detector": "a detector", "evaluator": "an evaluator", "test set": "a test set",
             "video": "a video", "reference": "its reference video", "upscale": "an upscaler",
             "reconstruct": "an autoencoder"}
    sources = [short.get(n, n) for n in needs if n in _SOURCES]
    if "class" in needs:  # classes asked for: of the model that generates
        sources = ["a class-conditional generator" if n == "a generator" else n for n in sources]
    rest = [short.get(n, n) for n in needs if n not in _SOURCES and n != "class"]
    return "; ".join(([" or ".join(sources)] if sources else []) + rest)


class MetricName(NamedTuple):
    """A parsed metric name: ``kind`` (fvd, kvd, cond_acc, frames), ``clips`` and ``frames`` (None when not set)."""

    name: str
    kind: str
    clips: int | None
    frames: int | None


def parse_name(name: str) -> MetricName:
    """``fvd2048_16f`` -> ``MetricName("fvd2048_16f", "fvd", 2048, 16)``, as ``METRICS.get`` parses it."""
    entry = METRICS.get(name)
    return MetricName(entry.name, entry.form.split("{")[0], entry.params.get("clips"), entry.params.get("frames"))


def _needs(entry: Entry, what: str) -> None:
    """``entry`` must score ``what`` (``generator``, ``clips``): else an error that says what it needs."""
    needs = entry.meta.get("needs", ())
    if what not in needs:
        scores = {"generate": "generated clips", "clips": "two sets of clips", "predict": "predictions"}[what]
        raise VidgenError(f"{entry.name} does not score {scores}: it needs {describe_needs(needs)}",
                          hint="metrics that do: "
                               + ", ".join(e.form for e in METRICS if what in e.meta.get("needs", ())))


# ----------------------------------------------------------------------------- models


def model_sampler(model: Any, *, frames_needed: int | None = None) -> tuple[SampleFn, int | None]:
    """``(sample function, frames to ask for)`` for a loaded model whose ``capabilities`` include ``generate``.

    Such a model has ``sample(n, *, seed, batch_size, frames=None)``, ``frames`` (its
    training length) and ``any_length``: a model trained on shorter clips than the metric
    needs is asked for longer ones only when it can make any length; otherwise that is an error.
    """
    if "generate" not in getattr(model, "capabilities", ()):
        raise VidgenError(f"{type(model).__name__} does not generate clips from noise",
                          hint="distribution metrics score GANs and VAEs; score predictors with --metric frames")
    trained = int(model.frames)
    ask = None
    if frames_needed is not None and frames_needed > trained:
        if not getattr(model, "any_length", False):
            name = (getattr(model, "meta", None) or {}).get("model", {}).get("name", type(model).__name__)
            raise VidgenError(f"the metric needs clips of {frames_needed} frames, this {name} makes {trained}",
                              hint=f"use a metric of {trained} frames (e.g. fvd2048_{trained}f), or a model that "
                                   "samples any length (mocogan, styleganv)")
        ask = frames_needed

    def sample(seed: int, n: int, frames: int | None) -> torch.Tensor:
        return model.sample(n, seed=seed, frames=frames, batch_size=n)

    return sample, ask


# ----------------------------------------------------------------------------- clip sources


def fitting_metric(metric: str, available: int) -> str | None:
    """The metric like ``metric`` (``fvd2048_16f``) on as many clips as ``available`` allows: the
    largest power of two of them (``fvd256_16f`` for 300 clips), or None under 2 clips."""
    entry = METRICS.get(metric)
    if available < 2 or "clips" not in entry.params:
        return None
    clips = 1 << (available.bit_length() - 1)
    return entry.form.replace("{N}", str(clips)).replace("{T}", str(entry.params.get("frames")))


def _fewer_clips(metric: str | None, available: int, more: str) -> str:
    """The hint of a clip-count error: the metric that fits ``available`` clips, or how to get ``more``."""
    fit = fitting_metric(metric, available) if metric else None
    if fit is None:
        return f"a distance needs at least 2 clips: {more}" if metric else \
            f"use a metric with fewer clips (e.g. fvd256_16f), or {more}"
    return f"use {fit} instead (clips: the largest power of two <= the {available} available), or {more}"


def dataset_clips(dataset: Any, num: int, *, batch_size: int = 16,
                  metric: str | None = None) -> Iterator[torch.Tensor]:
    """This process's share of the first ``num`` clips of ``dataset``, as ``[B, T, C, H, W]`` batches.

    ``metric``: the metric's name, for an error (too few clips) that names the one that fits.
    """
    if len(dataset) < num:
        more = "a bigger set (data.num_clips=... for the built-in sets; more videos or data.clips_per_video for a folder)"
        raise VidgenError(f"the real set holds {len(dataset)} clips, the metric needs {num}",
                          hint=_fewer_clips(metric, len(dataset), more))
    start, count = rank_block(num)
    for i in range(start, start + count, batch_size):
        yield torch.stack([dataset[j]["video"] for j in range(i, min(i + batch_size, start + count))])


def generated_clips(sample: SampleFn, num: int, *, seed: int = 0, frames: int | None = None,
                    batch_size: int = 16) -> Iterator[torch.Tensor]:
    """This process's share of clips ``seed .. seed + num - 1`` from ``sample``, in batches."""
    start, count = rank_block(num)
    for i in range(start, start + count, batch_size):
        yield sample(seed + i, min(batch_size, start + count - i), frames)


# ----------------------------------------------------------------------------- fvd, kvd


def _clips_and_frames(name: str, params: dict[str, Any]) -> dict[str, Any]:
    if params["clips"] < 2 or params["frames"] < 1:
        raise ConfigError(f"metric {name!r}: needs at least 2 clips of at least 1 frame",
                          hint="write fvd{clips}_{frames}f or kvd{clips}_{frames}f, e.g. fvd2048_16f, fvd256_16f")
    return params


@METRICS.register("fvd{N}_{T}f", pattern=r"fvd(?P<clips>\d+)_(?P<frames>\d+)f", parse=_clips_and_frames,
                  needs=("generate", "clips", "detector"), compute=fvd.compute_fvd, example="fvd2048_16f",
                  summary="Frechet video distance of detector features of N real and N generated clips of T frames")
@METRICS.register("kvd{N}_{T}f", pattern=r"kvd(?P<clips>\d+)_(?P<frames>\d+)f", parse=_clips_and_frames,
                  needs=("generate", "clips", "detector"), compute=fvd.compute_kvd, example="kvd2048_16f",
                  summary="kernel video distance (polynomial MMD) on the same features")
def score_distance(metric: Entry, sample: SampleFn, *, real: Any, data_config: dict[str, Any] | None = None,
                   detector: Any = None, protocol: str | None = None, seed: int = 0, batch_size: int = 16,
                   ask_frames: int | None = None, cache_dir: Any = None, progress: bool = True,
                   device: str | torch.device = "cpu", precision: str = "fp32", **_: Any) -> dict[str, Any]:
    """FVD / KVD (``metric.meta["compute"]``) of ``sample``'s clips against the first clips of the dataset ``real``."""
    det = resolve_detector(detector, protocol=protocol, device=device, precision=precision)
    clips, frames = metric.params["clips"], metric.params["frames"]
    # each process feeds its own block of clips; fvd counts, merges and caches the statistics
    real_clips = dataset_clips(real, clips, batch_size=batch_size, metric=metric.name)
    fake_clips = generated_clips(sample, clips, seed=seed, frames=ask_frames, batch_size=batch_size)
    no_cache = data_config is None or cache_dir is False
    return metric.meta["compute"](real_clips, fake_clips, det, num_clips=clips, frames=frames, batch_size=batch_size,
                                  progress=progress, metric=metric.name, real_cache=None if no_cache else data_config,
                                  cache_dir=None if cache_dir in (None, True, False) else cache_dir)


# ----------------------------------------------------------------------------- scoring


def score_sampler(sample: SampleFn, metric: str, *, real: Any, data_config: dict[str, Any] | None = None,
                  detector: Any = None, protocol: str | None = None, seed: int = 0, batch_size: int = 16,
                  ask_frames: int | None = None, class_names: Any = None, num_classes: int = 0,
                  cache_dir: Any = None, progress: bool = True, device: str | torch.device = "cpu",
                  precision: str = "fp32") -> dict[str, Any]:
    """Score the clips of ``sample`` with the registered ``metric`` (one that needs a generator).

    Args:
        sample: ``sample(seed, n, frames) -> float [n, T, C, H, W]`` in ``[-1, 1]``.
        real: the real set (a dataset of ``{"video": [T, C, H, W]}`` items), for FVD / KVD.
        data_config: the real set's config (a dict); keys the on-disk cache of its statistics.
        detector: what :func:`resolve_detector` (FVD, KVD) or :func:`load_evaluator_for`
            (``cond_acc``) takes.
        protocol, precision, device: the detector's.
        seed: generated clip ``i`` uses seed ``seed + i``.
        ask_frames: the frames to ask ``sample`` for (None: the model's own length).
        class_names, num_classes: the classes a conditional model is asked for (``cond_acc``).
        cache_dir: the statistics cache (None: the default folder; False: no cache).

    Returns the metric's result: ``{"metric", "value", ...}`` with the detector's name,
    protocol and sha256 for Fréchet/kernel metrics, and the per-class accuracy for ``cond_acc``.
    """
    entry = METRICS.get(metric)
    _needs(entry, "generate")
    return entry.obj(entry, sample, real=real, data_config=data_config, detector=detector, protocol=protocol,
                     seed=seed, batch_size=batch_size, ask_frames=ask_frames, class_names=class_names,
                     num_classes=num_classes, cache_dir=cache_dir, progress=progress, device=device,
                     precision=precision)


def evaluate_generator(model: Any, metric: str, dataset: Any, *, data_config: dict[str, Any] | None = None,
                       detector: Any = None, protocol: str | None = None, seed: int = 0, batch_size: int = 16,
                       cache_dir: Any = None, progress: bool = True, device: str | torch.device = "cpu",
                       precision: str = "fp32") -> dict[str, Any]:
    """Score a loaded model that generates clips (``vidgen.load(...)``) on ``metric`` against ``dataset``.

    ``data_config`` (the dataset's config as a dict) keys the on-disk cache of the real
    statistics; without it nothing is cached. See :func:`score_sampler` for the rest.
    """
    entry = METRICS.get(metric)
    _needs(entry, "generate")
    sample, ask = model_sampler(model, frames_needed=entry.params.get("frames"))
    return score_sampler(sample, entry.name, real=dataset, data_config=data_config, detector=detector,
                         protocol=protocol, seed=seed, batch_size=batch_size, ask_frames=ask,
                         class_names=getattr(model, "class_names", None),
                         # an InfoGAN's categories are sampled as classes but name none of the data's
                         num_classes=0 if getattr(model, "info_classes", 0) else int(getattr(model, "num_classes", 0)),
                         cache_dir=cache_dir, progress=progress, device=device, precision=precision)


# ----------------------------------------------------------------------------- clips from files


def _video_files(root: Path) -> list[Path]:
    """The videos under ``root``, searched recursively as the ``folder`` dataset does: files with a
    video suffix, and folders of frame images that hold no video file; hidden entries skipped."""
    from vidgen.data.folder import VIDEO_EXTENSIONS
    from vidgen.io.video import IMAGE_EXTENSIONS, natural_key

    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted((n for n in dirnames if not n.startswith(".")), key=natural_key)
        files = sorted((f for f in filenames if not f.startswith(".")), key=natural_key)
        videos = [Path(dirpath) / f for f in files if Path(f).suffix.lower().lstrip(".") in VIDEO_EXTENSIONS]
        found.extend(videos)
        if not videos and any(Path(f).suffix.lower() in IMAGE_EXTENSIONS for f in files):
            found.append(Path(dirpath))  # a folder of frames is one clip
    return found


def _listed(names: list[str], most: int = 3) -> str:
    """``a, b, c and 4 more``: a few names and how many were left out."""
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def load_clips(path: str | Path, *, frames: int | None = None) -> torch.Tensor:
    """Clips from files as float ``[N, T, C, H, W]`` in ``[-1, 1]``.

    ``path`` is a ``.npy`` / ``.npz`` array of clips (uint8 ``[N, T, H, W, C]`` as ``vidgen
    sample --out x.npy`` writes, or float in ``[-1, 1]`` laid out ``[N, T, H, W, C]`` or
    ``[N, T, C, H, W]``; an ``.npz`` holds one array, or several under ``videos``), or a folder
    searched recursively for video files (mp4, avi, mov, webm, mkv, gif) and folders of frame
    images, as the ``folder`` dataset finds them: each one clip (its first ``frames`` frames;
    all clips must have the same size). Files that cannot be read are skipped, with a warning
    (logged) that names them.
    """
    from vidgen.data.folder import VIDEO_EXTENSIONS
    from vidgen.io.video import read_video

    p = Path(path).expanduser()
    if not p.exists():
        raise VidgenError(f"{str(p)!r} does not exist", hint="pass a .npy/.npz array of clips or a folder of videos")
    if p.is_dir():
        files = _video_files(p)
        if not files:
            raise VidgenError(f"{p} holds no video file ({', '.join(VIDEO_EXTENSIONS)}) or folder of frames, "
                              "searched recursively", hint="pass a folder of videos or a .npy/.npz array of clips")
        clips, names, skipped = [], [], []
        for f in files:
            name = str(f.relative_to(p)) if f != p else f.name
            try:
                clips.append(read_video(f, num_frames=frames))
                names.append(name)
            except VidgenError as e:
                skipped.append((name, e.message))  # a corrupt file is skipped and named
        if not clips:
            raise VidgenError(f"none of the {len(files)} videos in {p} could be read "
                              f"({_listed([n for n, _ in skipped])})", hint=f"the first: {skipped[0][1]}")
        if skipped:
            log.warning("skipped %d of %d videos in %s that could not be read: %s; %s", len(skipped), len(files), p,
                        _listed([n for n, _ in skipped]), skipped[0][1])
        shapes = Counter(c.shape for c in clips)
        if len(shapes) > 1:
            usual = shapes.most_common(1)[0][0]
            odd = [f"{n} {list(c.shape)}" for n, c in zip(names, clips) if c.shape != usual]
            raise VidgenError(f"the videos in {p} differ in size or length: most are {list(usual)} [T, H, W, C], "
                              f"not {_listed(odd)}",
                              hint="write clips of one size (e.g. with vidgen sample), or remove the odd ones")
        array: np.ndarray = np.stack(clips)
    elif p.suffix.lower() in (".npy", ".npz"):
        try:
            loaded = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise VidgenError(f"cannot read {p}: {e}") from None
        if isinstance(loaded, np.lib.npyio.NpzFile):
            keys = list(loaded.keys())
            key = "videos" if "videos" in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise VidgenError(f"{p} holds several arrays ({', '.join(keys)}); name the clips 'videos'")
            array = loaded[key]
        else:
            array = loaded
    else:
        raise VidgenError(f"{p}: expected a .npy / .npz array or a folder of videos")
    return _as_clips(array, str(p), frames)


def _as_clips(array: np.ndarray, where: str, frames: int | None) -> torch.Tensor:
    if array.ndim != 5:
        raise VidgenError(f"{where}: clips must be a 5-D array [N, T, H, W, C], got shape {array.shape}")
    if array.dtype == np.uint8:
        x = torch.from_numpy(np.ascontiguousarray(array)).permute(0, 1, 4, 2, 3).float() / 127.5 - 1  # [N, T, C, H, W]
    elif np.issubdtype(array.dtype, np.floating):
        x = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        if x.shape[-1] in (1, 3) and x.shape[2] not in (1, 3):
            x = x.permute(0, 1, 4, 2, 3)  # [N, T, H, W, C] -> [N, T, C, H, W]
        if x.numel() and (x.min() < -1.001 or x.max() > 1.001):
            raise VidgenError(f"{where}: float clips must be in [-1, 1], got [{x.min():.3g}, {x.max():.3g}]",
                              hint="save uint8 pixels, or scale floats to [-1, 1]")
    else:
        raise VidgenError(f"{where}: clips must be uint8 or float, got {array.dtype}")
    if frames is not None:
        if x.shape[1] < frames:
            raise VidgenError(f"{where}: clips have {x.shape[1]} frames, the metric needs {frames}")
        x = x[:, :frames]
    return x.contiguous()


class _Clips:
    """Clips ``[N, T, C, H, W]`` seen as a dataset of ``{"video": clip}`` items."""

    def __init__(self, clips: torch.Tensor):
        self.clips = clips

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"video": self.clips[i]}


def score_files(real: str | Path, fake: str | Path, metric: str, *, detector: Any = None, protocol: str | None = None,
                batch_size: int = 16, progress: bool = True, device: str | torch.device = "cpu",
                precision: str = "fp32") -> dict[str, Any]:
    """A metric that compares two sets of clips (``fvd``, ``kvd``) on the clips in two files or
    folders (see :func:`load_clips`): the first N of each, as :func:`score_sampler` scores a model."""
    entry = METRICS.get(metric)
    _needs(entry, "clips")
    frames = entry.params.get("frames")
    a, b = (load_clips(p, frames=frames) for p in (real, fake))
    for clips, which, where in ((a, "real", real), (b, "generated", fake)):
        if len(clips) < entry.params["clips"]:
            raise VidgenError(f"only {len(clips)} {which} clips were available in {where}, the metric needs "
                              f"{entry.params['clips']}", hint=_fewer_clips(entry.name, min(len(a), len(b)),
                                                                             "more clips in both sets"))
    return entry.obj(entry, lambda seed, n, _frames: b[seed:seed + n], real=_Clips(a), detector=detector,
                     protocol=protocol, batch_size=batch_size, progress=progress, device=device, precision=precision)
