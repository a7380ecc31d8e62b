"""Domain evaluators: small 3D-CNN video classifiers trained on one dataset, and their files.

Kinetics I3D features judge synthetic shapes, digits or medical clips poorly (and its
weights are a download away). A domain evaluator is a classifier of the very clips a model
is trained on; its penultimate layer is a Fréchet feature space for that domain, and its
predictions score class-conditional samples (:func:`~vidgen.metrics.cond_acc.cond_acc`)::

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
weights' sha256), written atomically. Nothing is unpickled. Training is in
:mod:`vidgen.metrics.evaluator_train` (``vidgen evaluator train``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from vidgen.errors import ConfigError, VidgenError
from vidgen.io.checkpoint import _atomic_write
from vidgen.metrics.cond_acc import cond_acc

WEIGHTS = "evaluator.safetensors"
META = "evaluator.json"
KIND = "vidgen-evaluator"
FORMAT_VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "evaluators"  # package data: <name>/evaluator.*

__all__ = ["VideoEvaluator", "EvaluatorArch", "load_evaluator", "save_evaluator", "find_evaluator",
           "read_evaluator_meta", "shipped_evaluators", "cond_acc"]


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
