"""Scoring generative models against real clips: FVD, KVD and ``cond_acc``.

The Fréchet machinery (detectors, protocols, streaming statistics, the distance itself) is
in :mod:`vidgen.metrics.fvd`; this module feeds it clips: generated ones from a model,
real ones from a dataset or from files, and writes the record.

Metric names (:func:`parse_name`):

- ``fvd{N}_{T}f`` (e.g. ``fvd2048_16f``, ``fvd256_16f``): Fréchet distance of the
  detector's features of ``N`` real and ``N`` generated clips of ``T`` frames;
- ``kvd{N}_{T}f``: the kernel (MMD) distance on the same features;
- ``cond_acc{N}`` (or ``cond_acc``: 1000 clips): the share of ``N`` class-conditional
  samples that a domain evaluator classifies as the class asked for.

The detector is an I3D file (``i3d_pretrained_400.pt`` / ``i3d_torchscript.pt``, see
:func:`vidgen.metrics.fvd.load_detector`), a domain-evaluator folder, or the name of a
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

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np
import torch

from vidgen.errors import ConfigError, VidgenError

# how a model is asked for clips: (first seed, count, frames or None) -> float [count, T, C, H, W]
SampleFn = Callable[[int, int, "int | None"], torch.Tensor]

_NAME = re.compile(r"^(fvd|kvd)(\d+)_(\d+)f$|^(cond_acc)(\d*)$")
DEFAULT_COND_ACC_CLIPS = 1000


class MetricName(NamedTuple):
    """A parsed metric name: ``kind`` (fvd, kvd, cond_acc), ``clips`` and ``frames`` (None for cond_acc)."""

    name: str
    kind: str
    clips: int
    frames: int | None


def parse_name(name: str) -> MetricName:
    """``fvd2048_16f`` -> ``MetricName("fvd2048_16f", "fvd", 2048, 16)``; errors name the forms."""
    m = _NAME.match(str(name).strip())
    if not m:
        raise ConfigError(f"unknown metric {name!r}",
                          hint="metrics: fvd{N}_{T}f or kvd{N}_{T}f (N clips of T frames, e.g. fvd2048_16f, "
                               "fvd256_16f, kvd256_16f), cond_acc{N} (e.g. cond_acc1000), frames (predictors)")
    if m.group(1):
        clips, frames = int(m.group(2)), int(m.group(3))
        if clips < 2 or frames < 1:
            raise ConfigError(f"metric {name!r}: needs at least 2 clips of at least 1 frame")
        return MetricName(m.group(0), m.group(1), clips, frames)
    clips = int(m.group(5)) if m.group(5) else DEFAULT_COND_ACC_CLIPS
    if clips < 1:
        raise ConfigError(f"metric {name!r}: needs at least 1 clip")
    return MetricName(m.group(0), "cond_acc", clips, None)


def is_distribution_metric(name: str) -> bool:
    """Whether ``name`` is one of this module's metrics (not, e.g., ``frames``)."""
    return bool(_NAME.match(str(name).strip()))


# ----------------------------------------------------------------------------- detectors


def resolve_detector(spec: Any = None, *, protocol: str | None = None, device: str | torch.device = "cpu",
                     precision: str = "fp32") -> Any:
    """A :class:`~vidgen.metrics.fvd.Detector` from a path, a shipped evaluator's name, or a detector.

    ``None`` looks for the I3D file (``$VIDGEN_I3D``, then the cache folder); the error says
    which file to get and where.
    """
    from vidgen.metrics import fvd

    if isinstance(spec, fvd.Detector):
        return spec
    if spec is not None:
        from vidgen.metrics.evaluator import shipped_evaluators

        if str(spec) in shipped_evaluators() and not Path(str(spec)).exists():
            from vidgen.metrics.evaluator import find_evaluator

            spec = find_evaluator(str(spec))
    return fvd.load_detector(spec, protocol or fvd.DEFAULT_PROTOCOL, device=device, precision=precision)


def load_evaluator_for(spec: Any, *, device: str | torch.device = "cpu") -> Any:
    """The domain evaluator ``cond_acc`` needs: a folder, a shipped name, or a loaded evaluator."""
    from vidgen.metrics.evaluator import load_evaluator

    if spec is None:
        raise VidgenError("cond_acc needs a domain evaluator to classify the samples",
                          hint="pass --detector NAME (a shipped evaluator, e.g. shapes) or a folder written by "
                               "'vidgen evaluator train'")
    if isinstance(spec, torch.nn.Module):
        return spec
    return load_evaluator(str(spec), device=device)


# ----------------------------------------------------------------------------- clip sources


def _rank_block(num: int) -> tuple[int, int]:
    """``(start, count)`` of this process's contiguous share of ``num`` clips (all of them alone)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return 0, num
    world, rank = dist.get_world_size(), dist.get_rank()
    base, extra = divmod(num, world)
    return rank * base + min(rank, extra), base + (1 if rank < extra else 0)


def dataset_clips(dataset: Any, num: int, *, batch_size: int = 16) -> Iterator[torch.Tensor]:
    """This process's share of the first ``num`` clips of ``dataset``, as ``[B, T, C, H, W]`` batches."""
    if len(dataset) < num:
        raise VidgenError(f"the real set holds {len(dataset)} clips, the metric needs {num}",
                          hint="use a metric with fewer clips (e.g. fvd256_16f) or a bigger set (data.num_clips=...)")
    start, count = _rank_block(num)
    for i in range(start, start + count, batch_size):
        yield torch.stack([dataset[j]["video"] for j in range(i, min(i + batch_size, start + count))])


def generated_clips(sample: SampleFn, num: int, *, seed: int = 0, frames: int | None = None,
                    batch_size: int = 16) -> Iterator[torch.Tensor]:
    """This process's share of clips ``seed .. seed + num - 1`` from ``sample``, in batches."""
    start, count = _rank_block(num)
    for i in range(start, start + count, batch_size):
        yield sample(seed + i, min(batch_size, start + count - i), frames)


def model_sampler(model: Any, *, frames_needed: int | None = None) -> tuple[SampleFn, int | None]:
    """``(sample function, frames to ask for)`` for a loaded generator or clip VAE.

    A model trained on shorter clips than the metric needs is asked for longer ones only
    when it can make any length (``any_length``); otherwise that is an error.
    """
    from vidgen.api import VideoGenerator, VideoVAE

    if isinstance(model, VideoGenerator):
        trained = int(model.frames)
        ask = None
        if frames_needed is not None and frames_needed > trained:
            if not model.any_length:
                raise VidgenError(f"the metric needs clips of {frames_needed} frames, this {model.meta['model']['name']} "
                                  f"makes {trained}",
                                  hint=f"use a metric of {trained} frames (e.g. fvd2048_{trained}f), or a model that "
                                       f"samples any length (mocogan, styleganv)")
            ask = frames_needed

        def sample(seed: int, n: int, frames: int | None) -> torch.Tensor:
            return model.sample(n, seed=seed, frames=frames, batch_size=n)

        return sample, ask
    if isinstance(model, VideoVAE):
        if frames_needed is not None and frames_needed > int(model.frames):
            raise VidgenError(f"the metric needs clips of {frames_needed} frames, this VAE makes {model.frames}",
                              hint=f"use a metric of {model.frames} frames")

        def sample_vae(seed: int, n: int, frames: int | None) -> torch.Tensor:
            return model.sample(n, seed=seed, batch_size=n)

        return sample_vae, None
    raise VidgenError(f"{type(model).__name__} does not generate clips from noise",
                      hint="distribution metrics score GANs and VAEs; score predictors with --metric frames")


# ----------------------------------------------------------------------------- scoring


def score_sampler(sample: SampleFn, metric: str, *, real: Any, data_config: dict[str, Any] | None = None,
                  detector: Any = None, protocol: str | None = None, seed: int = 0, batch_size: int = 16,
                  ask_frames: int | None = None, class_names: Any = None, num_classes: int = 0,
                  cache_dir: Any = None, progress: bool = True, device: str | torch.device = "cpu",
                  precision: str = "fp32") -> dict[str, Any]:
    """Score the clips of ``sample`` with ``metric`` against the real set ``real`` (a dataset).

    Returns the metric's result: ``{"metric", "value", ...}`` with the detector's name,
    protocol and sha256 for Fréchet/kernel metrics, and the per-class accuracy for ``cond_acc``.
    """
    from vidgen.metrics import fvd

    name = parse_name(metric)
    if name.kind == "cond_acc":
        if num_classes < 1:
            raise VidgenError("cond_acc scores class-conditional models; this one is unconditional (or its "
                              "categories, model.info_classes, were learned without labels)",
                              hint="train with model.conditional=true, or use an fvd/kvd metric")
        evaluator = load_evaluator_for(detector, device=device)
        return _cond_acc(sample, evaluator, name, seed=seed, batch_size=batch_size, num_classes=num_classes,
                         class_names=class_names)
    det = resolve_detector(detector, protocol=protocol, device=device, precision=precision)
    # each process feeds its own block of clips; fvd counts, merges and caches the statistics
    real_clips = dataset_clips(real, name.clips, batch_size=batch_size)
    fake_clips = generated_clips(sample, name.clips, seed=seed, frames=ask_frames, batch_size=batch_size)
    no_cache = data_config is None or cache_dir is False
    fn = fvd.compute_fvd if name.kind == "fvd" else fvd.compute_kvd
    return fn(real_clips, fake_clips, det, num_clips=name.clips, frames=name.frames, batch_size=batch_size,
              progress=progress, metric=name.name, real_cache=None if no_cache else data_config,
              cache_dir=None if cache_dir in (None, True, False) else cache_dir)


def _cond_acc(sample: SampleFn, evaluator: Any, name: MetricName, *, seed: int, batch_size: int, num_classes: int,
              class_names: Any) -> dict[str, Any]:
    """Clip ``seed + i`` is asked for class ``(seed + i) mod num_classes``; the evaluator says which it got."""
    start, count = _rank_block(name.clips)
    asked, got = [], []
    for i in range(start, start + count, batch_size):
        n = min(batch_size, start + count - i)
        labels = torch.arange(seed + i, seed + i + n) % num_classes
        videos = sample(seed + i, n, None)
        device = next(evaluator.parameters()).device
        with torch.inference_mode():
            got.append(evaluator.classify(videos.to(device)).argmax(1).cpu())
        asked.append(labels)
    asked_t, got_t = torch.cat(asked), torch.cat(got)
    mapping = _class_map(evaluator, class_names, num_classes)
    hits = (got_t == mapping[asked_t]).long()
    per_class = torch.zeros(num_classes, 2, dtype=torch.long)  # [class, (hits, clips)]
    per_class.index_add_(0, asked_t, torch.stack([hits, torch.ones_like(hits)], 1))
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(per_class)
    value = float(per_class[:, 0].sum() / per_class[:, 1].sum().clamp(min=1))
    names = list(class_names) if class_names else [str(k) for k in range(num_classes)]
    # vidgen.metrics.evaluator.cond_acc gives the same number for clips already generated; this
    # one streams, keeps the per-class split and sums over processes
    return {"metric": name.name, "value": value, "clips": int(per_class[:, 1].sum()),
            "per_class": {names[k]: float(per_class[k, 0] / per_class[k, 1].clamp(min=1))
                          for k in range(num_classes)},
            "detector": getattr(evaluator, "name", "evaluator"), "detector_sha256": getattr(evaluator, "sha256", None)}


def _class_map(evaluator: Any, class_names: Any, num_classes: int) -> torch.Tensor:
    """The evaluator's class index of each generator class (matched by name when both have names)."""
    ev_names = list(getattr(evaluator, "class_names", []) or [])
    if class_names and ev_names:
        missing = [c for c in class_names if c not in ev_names]
        if missing:
            raise VidgenError(f"cond_acc: the evaluator {getattr(evaluator, 'name', '')!r} does not know the classes "
                              f"{missing} (it knows {ev_names})",
                              hint="use an evaluator trained on the generator's dataset")
        return torch.tensor([ev_names.index(c) for c in class_names])
    return torch.arange(num_classes)


def evaluate_generator(model: Any, metric: str, dataset: Any, *, data_config: dict[str, Any] | None = None,
                       detector: Any = None, protocol: str | None = None, seed: int = 0, batch_size: int = 16,
                       cache_dir: Any = None, progress: bool = True, device: str | torch.device = "cpu",
                       precision: str = "fp32") -> dict[str, Any]:
    """Score a loaded GAN generator or clip VAE (``vidgen.load(...)``) on ``metric`` against ``dataset``.

    ``data_config`` (the dataset's config as a dict) keys the on-disk cache of the real
    statistics; without it nothing is cached. See :func:`score_sampler` for the rest.
    """
    name = parse_name(metric)
    sample, ask = model_sampler(model, frames_needed=name.frames)
    return score_sampler(sample, metric, real=dataset, data_config=data_config, detector=detector, protocol=protocol,
                         seed=seed, batch_size=batch_size, ask_frames=ask, class_names=getattr(model, "class_names", None),
                         # an InfoGAN's categories are sampled as classes but name none of the data's
                         num_classes=0 if getattr(model, "info_classes", 0) else int(getattr(model, "num_classes", 0)),
                         cache_dir=cache_dir, progress=progress,
                         device=device, precision=precision)


# ----------------------------------------------------------------------------- clips from files


def load_clips(path: str | Path, *, frames: int | None = None) -> torch.Tensor:
    """Clips from files as float ``[N, T, C, H, W]`` in ``[-1, 1]``.

    ``path`` is a ``.npy`` / ``.npz`` array of clips (uint8 ``[N, T, H, W, C]`` as ``vidgen
    sample --out x.npy`` writes, or float in ``[-1, 1]`` laid out ``[N, T, H, W, C]`` or
    ``[N, T, C, H, W]``; an ``.npz`` holds one array, or several under ``videos``), or a folder
    of video files (mp4, avi, mov, webm, mkv, gif), each one clip (its first ``frames``
    frames; all clips must have the same size).
    """
    from vidgen.data.folder import VIDEO_EXTENSIONS
    from vidgen.io.video import read_video

    p = Path(path).expanduser()
    if not p.exists():
        raise VidgenError(f"{str(p)!r} does not exist", hint="pass a .npy/.npz array of clips or a folder of videos")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower().lstrip(".") in VIDEO_EXTENSIONS)
        if not files:
            raise VidgenError(f"{p} holds no video file ({', '.join(VIDEO_EXTENSIONS)})")
        clips, skipped = [], 0
        for f in files:
            try:
                clips.append(read_video(f, num_frames=frames))
            except VidgenError:
                skipped += 1  # a corrupt file is skipped and counted
        if not clips:
            raise VidgenError(f"none of the {len(files)} videos in {p} could be read")
        if skipped:
            import warnings

            warnings.warn(f"{skipped} of {len(files)} videos in {p} could not be read and were skipped", stacklevel=2)
        shapes = {c.shape for c in clips}
        if len(shapes) > 1:
            raise VidgenError(f"the videos in {p} differ in size or length: {sorted(shapes)[:3]}",
                              hint="write clips of one size (e.g. with vidgen sample), or pass --frames")
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


def score_files(real: str | Path, fake: str | Path, metric: str, *, detector: Any = None, protocol: str | None = None,
                batch_size: int = 16, progress: bool = True, device: str | torch.device = "cpu",
                precision: str = "fp32") -> dict[str, Any]:
    """``fvd``/``kvd`` between the clips in two files or folders (see :func:`load_clips`)."""
    from vidgen.metrics import fvd

    name = parse_name(metric)
    if name.kind == "cond_acc":
        raise VidgenError("cond_acc scores a conditional model (it needs the classes asked for)",
                          hint="run vidgen eval RUN_DIR --metric cond_acc --detector EVALUATOR")
    a, b = (load_clips(p, frames=name.frames) for p in (real, fake))
    det = resolve_detector(detector, protocol=protocol, device=device, precision=precision)
    fn = fvd.compute_fvd if name.kind == "fvd" else fvd.compute_kvd
    return fn(a, b, det, num_clips=name.clips, frames=name.frames, batch_size=batch_size, progress=progress,
              metric=name.name)


def append_record(path: str | Path, record: dict[str, Any]) -> Path:
    """Append ``record`` (plus a UTC time) as one JSON line to ``path``; a clear error if it cannot."""
    path = Path(path)
    record = {**record, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            f.write(json.dumps(record, default=str) + "\n")
    except OSError as e:
        raise VidgenError(f"could not write {path}: {e.strerror or e}", hint="pass --out FILE somewhere writable") from None
    return path
