"""Training a domain evaluator (``vidgen evaluator train``): :func:`train_evaluator`.

A :class:`~vidgen.metrics.evaluator.VideoEvaluator` learns the labels of a dataset with
AdamW on a cosine schedule, is measured on held-out clips (a fraction of the set, whole
videos for folder sets, or a separate dataset config) and saved with
:func:`~vidgen.metrics.evaluator.save_evaluator`, the held-out accuracy and the command that
trained it in ``evaluator.json``.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from vidgen.data.base import DataConfig
from vidgen.errors import ConfigError, DataError
from vidgen.metrics.evaluator import EvaluatorArch, VideoEvaluator, save_evaluator
from vidgen.utils.progress import bar

__all__ = ["train_evaluator"]


def _split(dataset: Any, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train / held-out indices; clips of one video (folder sets) stay on one side."""
    n = len(dataset)
    per = int(getattr(dataset.config, "clips_per_video", 1))
    groups = math.ceil(n / per)
    if groups < 2:
        raise DataError(f"the dataset holds {n} clip(s) from {groups} source(s): too few to hold some out",
                        hint="give more clips, or a separate held-out set")
    order = np.random.default_rng([seed, 0x5B1]).permutation(groups)
    k = min(groups - 1, max(1, round(fraction * groups)))
    held = np.sort(order[:k])
    train = np.sort(order[k:])

    def clips(g: np.ndarray) -> np.ndarray:
        idx = (g[:, None] * per + np.arange(per)[None]).reshape(-1)
        return idx[idx < n]

    return clips(train), clips(held)


def _loader(dataset: Any, batches: list[np.ndarray], workers: int) -> Any:
    """Batches of ``dataset`` items (``video [B, T, C, H, W]``, ``label [B]``), read by ``workers``
    processes (0: this one). Built per epoch, after ``set_epoch``, so workers see the epoch."""
    return torch.utils.data.DataLoader(dataset, batch_sampler=[b.tolist() for b in batches], num_workers=workers)


def _training_batches(dataset: Any, indices: np.ndarray, batch_size: int, seed: int,
                      workers: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless shuffled batches of ``indices``; a new order (and augmentation draws) each epoch."""
    epoch = 0
    while True:
        order = np.random.default_rng([seed, epoch]).permutation(indices)
        full = max(1, len(order) // batch_size)  # the last partial batch is dropped
        dataset.set_epoch(epoch)
        for item in _loader(dataset, np.array_split(order[: full * batch_size], full), workers):
            yield item["video"], item["label"]
        epoch += 1


@torch.no_grad()
def _accuracy(model: VideoEvaluator, dataset: Any, indices: np.ndarray, batch_size: int, workers: int) -> float:
    was = model.training
    model.eval()
    correct = 0
    batches = [indices[i:i + batch_size] for i in range(0, len(indices), batch_size)]
    for item in _loader(dataset, batches, workers):
        correct += int((model.classify(item["video"]).argmax(1).cpu() == item["label"]).sum())
    model.train(was)
    return correct / max(1, len(indices))


def _data_dict(config: DataConfig) -> dict[str, Any]:
    from vidgen import config as cfgmod
    from vidgen.registry import DATASETS

    return {"name": DATASETS.name_of_config(type(config)), **cfgmod.to_dict(config)}


def _labelled(dataset: Any, name: str, what: str) -> None:
    if dataset.num_classes < 2:
        classes = ", ".join(map(repr, dataset.class_names)) or "none"
        raise DataError(
            f"the {what} ({name}) has {dataset.num_classes} class(es) ({classes}): an evaluator learns from labels",
            hint="shapes and moving_digits carry labels (moving_digits with the font or MNIST source); a folder "
                 "set is labelled when every video sits in a class sub-folder (data.path/<class>/...)",
        )


def train_evaluator(
    data: DataConfig,
    *,
    out_dir: str | Path,
    held_out: float | DataConfig = 0.1,
    steps: int | None = None,
    minutes: float | None = None,
    batch_size: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
    resolution: int | None = None,
    frames: int | None = None,
    widths: Sequence[int] = (16, 32, 64, 128),
    feature_dim: int = 128,
    name: str | None = None,
    max_held_out: int = 2000,
    workers: int = 0,
    command: str | None = None,
    echo: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train a :class:`VideoEvaluator` on a labelled dataset, measure it on held-out clips, save it.

    Args:
        data: a registered dataset config (e.g. ``ShapesConfig()``); its labels are the classes.
        out_dir: where ``evaluator.safetensors`` + ``evaluator.json`` go.
        held_out: a fraction in ``(0, 1)`` of the clips kept out of training (whole videos for
            folder sets), or a separate dataset config with the same classes (e.g. the same
            set with another ``seed``).
        steps / minutes: stop after ``steps`` optimizer steps or ``minutes`` of training,
            whichever comes first (default: 1000 steps). The learning rate follows a cosine
            from ``lr`` to 0 over that budget, after a short warm-up.
        batch_size, lr, seed: AdamW batch size, peak learning rate; ``seed`` fixes the initial
            weights, the split and the order of the clips.
        resolution, frames: the evaluator's input size (default: the data's); clips are
            resized / trimmed to it (see the module doc).
        widths, feature_dim: the architecture (stem and stage channels; feature size).
        name: the evaluator's name (default: the dataset's name).
        max_held_out: at most this many held-out clips are scored.
        workers: processes that build clips while the model trains (0: none).
        command: the command line to record in ``evaluator.json``.
        echo: called with a progress line now and then (default: silent).

    Returns:
        ``{"path", "name", "held_out_accuracy", "held_out_clips", "train_accuracy", "steps",
        "clips_seen", "seconds", "class_names", "sha256"}``; ``train_accuracy`` is over the
        last 10% of steps.
    """
    from vidgen.data import build_dataset

    if not isinstance(data, DataConfig):
        raise ConfigError(f"train_evaluator needs a dataset config (e.g. ShapesConfig()), got {type(data).__name__}")
    for key, value, least in (("batch_size", batch_size, 1), ("max_held_out", max_held_out, 1),
                              ("workers", workers, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"{key} must be an integer >= {least}, got {value!r}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ConfigError(f"steps must be an integer >= 1, got {steps!r}")
    if minutes is not None and not minutes > 0:
        raise ConfigError(f"minutes must be > 0, got {minutes!r}")
    if not lr > 0:
        raise ConfigError(f"lr must be > 0, got {lr!r}")
    if steps is None and minutes is None:
        steps = 1000
    echo = echo or (lambda line: None)
    data_info = _data_dict(data)
    name = name or data_info["name"]

    dataset = build_dataset(data)
    _labelled(dataset, data_info["name"], "training set")
    if isinstance(held_out, DataConfig):
        test_set = build_dataset(held_out)
        _labelled(test_set, _data_dict(held_out)["name"], "held-out set")
        if list(test_set.class_names) != list(dataset.class_names):
            raise DataError(f"the held-out set's classes {test_set.class_names} differ from the training set's "
                            f"{dataset.class_names}", hint="hold out clips of the same classes, in the same order")
        train_idx = np.arange(len(dataset))
        test_idx = np.arange(len(test_set))
        held_info: dict[str, Any] = {"data": _data_dict(held_out)}
    elif isinstance(held_out, (int, float)) and not isinstance(held_out, bool) and 0 < held_out < 1:
        test_set = dataset
        train_idx, test_idx = _split(dataset, float(held_out), seed)
        held_info = {"fraction": float(held_out)}
    else:
        raise ConfigError(f"held_out must be a fraction in (0, 1) or a dataset config, got {held_out!r}")
    test_idx = test_idx[:max_held_out]
    frames = frames or data.frames
    resolution = resolution or data.resolution
    if frames > data.frames:
        raise ConfigError(f"the evaluator reads {frames} frames but the clips have {data.frames}",
                          hint=f"set frames <= {data.frames} or make the clips longer (frames={frames})")
    arch = EvaluatorArch(channels=dataset.channels, frames=int(frames), resolution=int(resolution),
                         num_classes=dataset.num_classes, widths=tuple(int(w) for w in widths),
                         feature_dim=int(feature_dim))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VideoEvaluator(arch=arch, name=name, class_names=dataset.class_names)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    warmup = 20 if steps is None else max(1, min(20, steps // 10))
    echo(f"training evaluator {name!r} on {data_info['name']} ({len(train_idx)} training clips, "
         f"{len(test_idx)} held out, {arch.num_classes} classes: {', '.join(dataset.class_names[:12])}"
         f"{', ...' if arch.num_classes > 12 else ''}); input {arch.frames}x{arch.channels}x{arch.resolution}"
         f"x{arch.resolution}, {'%d steps' % steps if steps else ''}{' or ' if steps and minutes else ''}"
         f"{'%g minutes' % minutes if minutes else ''}")

    start = time.perf_counter()
    step = 0
    hits: list[float] = []
    losses: list[float] = []
    next_echo = 0.0
    batches = _training_batches(dataset, train_idx, batch_size, seed, workers)
    shown = bar(steps or 0, desc="training the evaluator")  # a bar on a terminal when the steps are known
    for videos, labels in batches:
        shown.update(1)
        progress = max(step / steps if steps else 0.0,
                       (time.perf_counter() - start) / (60 * minutes) if minutes else 0.0)
        if progress >= 1.0:
            break
        scale = min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * progress))
        for group in opt.param_groups:
            group["lr"] = lr * scale
        logits = model.classify(videos)
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        losses.append(float(loss.detach()))
        hits.append(float((logits.detach().argmax(1) == labels).float().mean()))
        if progress >= next_echo or step == 1:
            echo(f"  step {step:5d}  {time.perf_counter() - start:6.1f}s  loss {np.mean(losses[-20:]):.4f}  "
                 f"train acc {np.mean(hits[-20:]):.3f}")
            next_echo = math.floor(progress * 10 + 1) / 10
    batches.close()  # stops the loader's workers
    shown.close()
    seconds = time.perf_counter() - start
    train_acc = float(np.mean(hits[-max(1, len(hits) // 10):]))
    test_set.set_epoch(0)
    acc = _accuracy(model, test_set, test_idx, max(batch_size, 64), workers)
    echo(f"held-out accuracy {acc:.4f} on {len(test_idx)} clips ({step} steps, {seconds:.0f} s)")

    meta = {
        "data": data_info,
        "held_out": {**held_info, "clips": int(len(test_idx))},
        "held_out_accuracy": round(acc, 6),
        "train": {"steps": step, "batch_size": batch_size, "lr": lr, "seed": seed, "clips_seen": step * batch_size,
                  "minutes_budget": minutes, "steps_budget": steps, "seconds": round(seconds, 1),
                  "threads": torch.get_num_threads(), "workers": workers, "train_accuracy": round(train_acc, 6)},
        "command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "torch_version": torch.__version__,
    }
    model.eval()
    save_evaluator(model, out_dir, meta)
    return {"path": str(Path(out_dir)), "name": name, "held_out_accuracy": acc, "held_out_clips": int(len(test_idx)),
            "train_accuracy": train_acc, "steps": step, "clips_seen": step * batch_size, "seconds": seconds,
            "class_names": list(dataset.class_names), "sha256": model.sha256}
