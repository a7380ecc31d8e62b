"""Domain evaluators: small 3D-CNN video classifiers trained on one dataset.

Kinetics I3D features judge synthetic shapes, digits or medical clips poorly (and its
weights are a download away). A domain evaluator is a classifier of the very clips a model
is trained on; its penultimate layer is a Fréchet feature space for that domain, and its
predictions score class-conditional samples (:func:`cond_acc`)::

    from vidgen.metrics.evaluator import load_evaluator, cond_acc

    ev = load_evaluator("shapes")                 # shipped with vidgen, or a folder
    feats = ev.features(videos)                   # videos [B, T, C, H, W] in [-1, 1] -> [B, D]
    logits = ev.classify(videos)                  # [B, K]
    acc = cond_acc(videos, labels, ev)            # share classified as the class asked for

Input: float ``[B, T, C, H, W]`` in ``[-1, 1]`` (or uint8 in ``[0, 255]``, mapped to it)
with exactly the evaluator's ``channels``. Each clip is cut to its first ``frames`` frames
(trimming keeps the motion speed the evaluator was trained on; clips shorter than
``frames`` are an error, since repeating or interpolating frames would change the motion
it measures), resized to ``resolution x resolution`` with ``F.interpolate`` (``area`` when
shrinking: the box filter the synthetic sets render with; ``bilinear`` when enlarging;
non-square frames are stretched, not cropped) and clamped to ``[-1, 1]`` (what a written
video shows).

Files: ``evaluator.safetensors`` (weights) + ``evaluator.json`` (architecture, classes, the
data config it was trained on, held-out accuracy, the command that trained it, the
weights' sha256), written atomically. Nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from vidgen.data.base import DataConfig
from vidgen.errors import ConfigError, DataError, VidgenError
from vidgen.io.checkpoint import _atomic_write

WEIGHTS = "evaluator.safetensors"
META = "evaluator.json"
KIND = "vidgen-evaluator"
FORMAT_VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "evaluators"  # package data: <name>/evaluator.*

__all__ = ["VideoEvaluator", "EvaluatorArch", "train_evaluator", "load_evaluator", "save_evaluator",
           "shipped_evaluators", "cond_acc"]


# ------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class EvaluatorArch:
    """The sizes that rebuild a :class:`VideoEvaluator` (saved in ``evaluator.json``)."""

    channels: int  # input channels (1 gray, 3 RGB)
    frames: int  # clips are cut to their first ``frames`` frames
    resolution: int  # and resized to resolution x resolution
    num_classes: int
    widths: tuple[int, ...] = (16, 32, 64, 128)  # channels of the stem and of each stage
    feature_dim: int = 128  # the Fréchet feature size

    def __post_init__(self) -> None:
        for key in ("channels", "frames", "resolution", "feature_dim"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"evaluator {key} must be an integer >= 1, got {value!r}")
        if self.resolution < 4:
            raise ConfigError(f"evaluator resolution must be >= 4, got {self.resolution}")
        if self.num_classes < 2:
            raise ConfigError(f"an evaluator needs >= 2 classes, got {self.num_classes}")
        if not self.widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in self.widths):
            raise ConfigError(f"evaluator widths must be integers >= 1, got {list(self.widths)}")

    def to_dict(self) -> dict[str, Any]:
        return {"channels": self.channels, "frames": self.frames, "resolution": self.resolution,
                "num_classes": self.num_classes, "widths": list(self.widths), "feature_dim": self.feature_dim}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> "EvaluatorArch":
        keys = ("channels", "frames", "resolution", "num_classes", "widths", "feature_dim")
        missing = [k for k in keys if k not in data]
        if missing:
            raise VidgenError(f"{where}: 'architecture' lacks {', '.join(missing)}")
        try:
            return cls(**{k: data[k] for k in keys if k != "widths"}, widths=tuple(data["widths"]))
        except (ConfigError, TypeError) as e:
            raise VidgenError(f"{where}: bad 'architecture' ({e})") from None


def _block(c_in: int, c_out: int, kernel: tuple[int, int, int], stride: tuple[int, int, int],
           padding: tuple[int, int, int]) -> nn.Sequential:
    # BatchNorm learns several times faster here than GroupNorm; in eval mode it uses its
    # running statistics, so a clip's features never depend on the rest of its batch
    return nn.Sequential(nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
                         nn.BatchNorm3d(c_out), nn.ReLU(inplace=True))


class VideoEvaluator(nn.Module):
    """A small 3D-CNN video classifier whose penultimate layer serves as Fréchet features.

    Layers: a spatial stem (1x4x4 conv, stride 1x2x2), then one 3x3x3 conv per further width
    (the first with stride 1x2x2, the others 2x2x2), each conv followed by BatchNorm and
    ReLU; a global average pool over time and space; ``fc`` to ``feature_dim`` (the
    features); ReLU and a linear ``head`` to ``num_classes`` logits.

    Attributes: ``arch`` (:class:`EvaluatorArch`), ``name``, ``class_names``, ``sha256`` (of
    the weights file; ``""`` for an unsaved model), ``meta`` (``evaluator.json``'s content).
    """

    def __init__(self, *, arch: EvaluatorArch, name: str = "evaluator", class_names: Sequence[str] | None = None):
        super().__init__()
        self.arch = arch
        self.name = name
        self.class_names = list(class_names) if class_names is not None else [str(i) for i in range(arch.num_classes)]
        if len(self.class_names) != arch.num_classes:
            raise ConfigError(f"{len(self.class_names)} class names for {arch.num_classes} classes")
        self.sha256 = ""
        self.meta: dict[str, Any] = {}
        w = arch.widths
        self.stem = _block(arch.channels, w[0], (1, 4, 4), (1, 2, 2), (0, 1, 1))
        self.stages = nn.Sequential(*(
            _block(c_in, c_out, (3, 3, 3), (1, 2, 2) if i == 0 else (2, 2, 2), (1, 1, 1))
            for i, (c_in, c_out) in enumerate(zip(w[:-1], w[1:]))
        ))
        self.fc = nn.Linear(w[-1], arch.feature_dim)
        self.head = nn.Linear(arch.feature_dim, arch.num_classes)

    @property
    def frames(self) -> int:
        return self.arch.frames

    @property
    def resolution(self) -> int:
        return self.arch.resolution

    @property
    def channels(self) -> int:
        return self.arch.channels

    @property
    def num_classes(self) -> int:
        return self.arch.num_classes

    @property
    def feature_dim(self) -> int:
        return self.arch.feature_dim

    def prepare(self, videos: torch.Tensor) -> torch.Tensor:
        """``videos [B, T, C, H, W]`` in ``[-1, 1]`` -> ``[B, C, frames, R, R]`` float32 on the
        model's device: the first ``frames`` frames, resized, clamped (see the module doc)."""
        if not isinstance(videos, torch.Tensor) or videos.ndim != 5:
            shape = list(videos.shape) if isinstance(videos, torch.Tensor) else type(videos).__name__
            raise VidgenError(f"evaluator {self.name!r} takes float videos [B, T, C, H, W], got {shape}")
        b, t, c, h, w = videos.shape
        if c != self.channels:
            raise VidgenError(f"evaluator {self.name!r} reads {self.channels}-channel clips, got {c} channels",
                              hint="use an evaluator trained on clips like these (vidgen evaluator train ...)")
        if t < self.frames:
            raise VidgenError(f"evaluator {self.name!r} reads clips of {self.frames} frames, got {t}",
                              hint=f"generate at least {self.frames} frames, or train an evaluator for {t}-frame "
                                   f"clips: vidgen evaluator train DATASET frames={t}")
        if b == 0:
            raise VidgenError(f"evaluator {self.name!r} got an empty batch")
        if not videos.is_floating_point() and videos.dtype != torch.uint8:
            raise VidgenError(f"evaluator {self.name!r} takes float videos in [-1, 1] (or uint8 in [0, 255]), "
                              f"got {videos.dtype}")
        param = self.fc.weight
        x = videos[:, : self.frames].to(device=param.device, dtype=param.dtype)
        if videos.dtype == torch.uint8:  # [B, T, C, H, W] in 0..255, as the FVD code also accepts
            x = x / 127.5 - 1.0
        r = self.resolution
        if (h, w) != (r, r):
            flat = x.reshape(b * self.frames, c, h, w)
            if h >= r and w >= r:
                flat = F.interpolate(flat, size=(r, r), mode="area")
            else:
                flat = F.interpolate(flat, size=(r, r), mode="bilinear", align_corners=False)
            x = flat.reshape(b, self.frames, c, r, r)
        if not torch.isfinite(x).all():  # checked after resizing, which keeps a NaN or inf, on fewer values
            raise VidgenError(f"evaluator {self.name!r} got videos holding NaN or inf")
        x = x.clamp(-1.0, 1.0)
        return x.permute(0, 2, 1, 3, 4).contiguous()  # [B, C, T, H, W]

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """Prepared clips ``[B, C, T, R, R]`` -> features ``[B, D]``."""
        x = self.stages(self.stem(x))  # [B, widths[-1], T', H', W']
        return self.fc(x.mean(dim=(2, 3, 4)))

    def features(self, videos: torch.Tensor) -> torch.Tensor:
        """Fréchet features: ``videos [B, T, C, H, W]`` in ``[-1, 1]`` -> ``[B, feature_dim]``.

        The penultimate layer (before the ReLU that feeds the classifier). Call under
        ``torch.no_grad()`` unless gradients are wanted.
        """
        return self._features(self.prepare(videos))

    def classify(self, videos: torch.Tensor) -> torch.Tensor:
        """Class logits: ``videos [B, T, C, H, W]`` in ``[-1, 1]`` -> ``[B, num_classes]``."""
        return self.head(F.relu(self.features(videos)))

    def forward(self, videos: torch.Tensor) -> torch.Tensor:
        return self.classify(videos)


# ------------------------------------------------------------------------------ files


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_evaluator(model: VideoEvaluator, directory: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write ``evaluator.safetensors`` + ``evaluator.json`` into ``directory`` (atomically).

    ``meta`` adds JSON-able facts (data config, accuracy, command, ...); the architecture,
    name, class names, format version and the weights' sha256 are filled in here. Sets
    ``model.sha256`` and ``model.meta``.
    """
    from vidgen import __version__

    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise VidgenError(f"cannot create {directory}: {e.strerror or e}",
                          hint="pass --out somewhere writable") from None
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    blob = safetensors_bytes(tensors)
    _atomic_write(directory / WEIGHTS, lambda p: Path(p).write_bytes(blob))
    sha = hashlib.sha256(blob).hexdigest()
    record = {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "name": model.name,
        "vidgen_version": __version__,
        "architecture": model.arch.to_dict(),
        "class_names": list(model.class_names),
        **(meta or {}),
        "sha256": sha,
    }
    text = json.dumps(record, indent=2)
    _atomic_write(directory / META, lambda p: Path(p).write_text(text + "\n"))
    for name in (WEIGHTS, META):  # temporary files are private (0600); evaluators are made to be shared
        (directory / name).chmod(0o644)
    model.sha256, model.meta = sha, record
    return directory


def shipped_evaluators() -> list[str]:
    """Names of the evaluators installed with vidgen (``load_evaluator(name)`` loads them)."""
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(p.name for p in SHIPPED_DIR.iterdir() if (p / META).is_file() and (p / WEIGHTS).is_file())


def find_evaluator(path: str | Path) -> Path:
    """The evaluator folder for ``path``: a folder holding ``evaluator.json`` (or either of its
    two files), or the name of a shipped evaluator such as ``shapes``."""
    p = Path(path).expanduser()
    if p.is_file() and p.name in (WEIGHTS, META):
        p = p.parent
    if p.is_dir() and (p / META).is_file():
        if not (p / WEIGHTS).is_file():
            raise VidgenError(f"{p} holds {META} but not {WEIGHTS}", hint="copy both files of the evaluator")
        return p
    shipped = shipped_evaluators()
    if str(path) in shipped:
        return SHIPPED_DIR / str(path)
    names = ", ".join(shipped) or "none installed"
    if p.exists():
        raise VidgenError(f"{str(p)!r} holds no evaluator ({META} + {WEIGHTS})",
                          hint=f"pass the folder 'vidgen evaluator train' wrote (--out), or a shipped name: {names}")
    raise VidgenError(f"no evaluator {str(path)!r}: not a folder and not a shipped evaluator",
                      hint=f"shipped evaluators: {names}; train one with 'vidgen evaluator train DATASET --out DIR'")


def read_evaluator_meta(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """``(folder, evaluator.json content)`` of the evaluator at ``path`` (see :func:`find_evaluator`)."""
    directory = find_evaluator(path)
    try:
        meta = json.loads((directory / META).read_text())
    except json.JSONDecodeError as e:
        raise VidgenError(f"{directory / META} is not valid JSON ({e.msg})") from None
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise VidgenError(f"{directory / META} is not a vidgen evaluator description (no \"kind\": \"{KIND}\")")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise VidgenError(f"{directory / META} has format {meta['format_version']}; this vidgen reads up to "
                          f"{FORMAT_VERSION}", hint="upgrade vidgen")
    return directory, meta


def load_evaluator(path: str | Path = "shapes", *, device: str | torch.device = "cpu") -> VideoEvaluator:
    """Load an evaluator in eval mode with frozen weights.

    Args:
        path: a folder written by :func:`train_evaluator` / ``vidgen evaluator train`` (or its
            ``evaluator.json`` / ``evaluator.safetensors``), or a shipped name (``shapes``,
            ``moving_digits``; see :func:`shipped_evaluators`).
        device: where the weights go.

    The weights file must match the sha256 recorded in ``evaluator.json``.
    """
    directory, meta = read_evaluator_meta(path)
    where = str(directory / META)
    arch = EvaluatorArch.from_dict(meta.get("architecture") or {}, where)
    weights = directory / WEIGHTS
    sha = _sha256(weights)
    if meta.get("sha256") and meta["sha256"] != sha:
        raise VidgenError(f"{weights} does not match the sha256 in {META} (damaged or replaced)",
                          hint="copy the evaluator's two files again, or retrain it")
    try:
        state = load_file(str(weights))
    except Exception as e:  # safetensors raises its own types on truncated files
        raise VidgenError(f"{weights} cannot be read: {e}") from None
    model = VideoEvaluator(arch=arch, name=str(meta.get("name", directory.name)),
                           class_names=meta.get("class_names"))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise VidgenError(f"{weights} does not fit the architecture in {META}: {str(e).splitlines()[0]}") from None
    model.sha256, model.meta = sha, meta
    model.requires_grad_(False)
    return model.eval().to(device)


# --------------------------------------------------------------------------- training


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
    for videos, labels in batches:
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


# ---------------------------------------------------------------------- conditional acc


def cond_acc(
    source: torch.Tensor | Callable[[torch.Tensor], torch.Tensor],
    labels: Sequence[int] | torch.Tensor,
    evaluator: VideoEvaluator,
    *,
    batch_size: int = 32,
    class_names: Sequence[str] | None = None,
) -> float:
    """Share of class-conditional samples that ``evaluator`` classifies as the class asked for.

    Args:
        source: generated videos ``[N, T, C, H, W]`` in ``[-1, 1]``, or a callable
            ``sample(labels [b]) -> videos [b, T, C, H, W]`` called on chunks of ``labels`` of
            at most ``batch_size``.
        labels: ``[N]`` the class each sample was asked for.
        evaluator: a :class:`VideoEvaluator` (e.g. ``load_evaluator("shapes")``).
        class_names: the generator's class names when its label order may differ from the
            evaluator's; labels are then mapped by name.

    Returns:
        The accuracy in ``[0, 1]``. ``evaluator.classify(videos).argmax(1)`` gives the
        predictions themselves, for per-class breakdowns.
    """
    labels = torch.as_tensor(labels).reshape(-1)
    if labels.numel() == 0:
        raise VidgenError("cond_acc needs at least one requested label")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise VidgenError(f"cond_acc: labels must be integers, got {labels.dtype}")
    labels = labels.long()
    if class_names is not None:
        unknown = [c for c in class_names if c not in evaluator.class_names]
        if unknown:
            raise VidgenError(f"cond_acc: classes {unknown} are unknown to evaluator {evaluator.name!r}",
                              hint=f"its classes: {', '.join(evaluator.class_names)}")
        if (labels < 0).any() or (labels >= len(class_names)).any():
            raise VidgenError(f"cond_acc: labels must be in [0, {len(class_names)}), got {labels.tolist()[:8]}...")
        mapping = torch.tensor([evaluator.class_names.index(c) for c in class_names])
        target = mapping[labels]
    else:
        if (labels < 0).any() or (labels >= evaluator.num_classes).any():
            raise VidgenError(f"cond_acc: labels must be in [0, {evaluator.num_classes}) (the classes of evaluator "
                              f"{evaluator.name!r}), got min {int(labels.min())}, max {int(labels.max())}")
        target = labels
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise VidgenError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if isinstance(source, torch.Tensor):
        if source.ndim != 5 or len(source) != len(labels):
            raise VidgenError(f"cond_acc: {len(labels)} labels for videos of shape {list(source.shape)}",
                              hint="pass videos [N, T, C, H, W] and one requested label per video")
    elif not callable(source):
        raise VidgenError(f"cond_acc takes videos or a callable sample(labels), got {type(source).__name__}")
    was = evaluator.training
    evaluator.eval()
    correct = 0
    try:
        with torch.no_grad():
            for start in range(0, len(labels), batch_size):
                ask = labels[start:start + batch_size]
                if isinstance(source, torch.Tensor):
                    videos = source[start:start + batch_size]
                else:
                    videos = source(ask)
                    if not isinstance(videos, torch.Tensor) or videos.ndim != 5 or len(videos) != len(ask):
                        got = list(videos.shape) if isinstance(videos, torch.Tensor) else type(videos).__name__
                        raise VidgenError(f"cond_acc: sample({len(ask)} labels) returned {got}, "
                                          f"expected videos [{len(ask)}, T, C, H, W]")
                pred = evaluator.classify(videos).argmax(1).cpu()
                correct += int((pred == target[start:start + batch_size]).sum())
    finally:
        evaluator.train(was)
    return correct / len(labels)


# ---------------------------------------------------------------------- Fréchet (tests)


def _frechet(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to features ``a [N, D]`` and ``b [M, D]``.

    For tests and benchmarks only (the FVD module owns the streaming, official one):
    ``|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2)`` in float64, the
    matrix square roots by symmetric eigendecomposition (eigenvalues clipped at 0).
    """
    a = torch.as_tensor(a, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    w, v = torch.linalg.eigh(cov_a)
    root_a = (v * w.clamp_min(0).sqrt()) @ v.T
    mid = root_a @ cov_b @ root_a
    cross = torch.linalg.eigvalsh((mid + mid.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)
