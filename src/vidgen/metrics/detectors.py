"""Fréchet detectors: feature networks that turn clips into the vectors FVD and KVD compare.

- :class:`I3DDetector`: our :class:`~vidgen.metrics.i3d.InceptionI3d` (VideoGPT/TATS'
  ``i3d_pretrained_400.pt``) with any protocol's preprocessing;
- :class:`TorchScriptI3DDetector`: StyleGAN-V's ``i3d_torchscript.pt``, called as its
  protocol (``styleganv`` or ``tf``) needs;
- a domain evaluator (``vidgen.metrics.evaluator``), whose penultimate layer is the feature
  space of its own domain.

:func:`load_detector` recognises each by content; :func:`resolve_detector` also takes the
name of a shipped evaluator (``shapes``...) or a detector already loaded.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch

from vidgen.errors import ConfigError, VidgenError
from vidgen.metrics.i3d import (
    I3D_STATE_DICT,
    I3D_TORCHSCRIPT,
    MIN_FRAMES,
    InceptionI3d,
    check_sha256,
    detect_format,
    find_i3d,
    fold_batch_norm,
    load_i3d_state_dict,
    load_i3d_torchscript,
)
from vidgen.metrics.protocols import DEFAULT_PROTOCOL, check_videos, get_protocol, preprocess, quantize

__all__ = ["Detector", "I3DDetector", "TorchScriptI3DDetector", "load_detector", "load_evaluator_for",
           "resolve_detector"]


class Detector(ABC):
    """What FVD needs from a feature network.

    Attributes:
        name: short name for records (e.g. the file name).
        sha256: hash of the weights file (``None`` for in-memory weights).
        protocol: the preprocessing protocol applied inside :meth:`features`.
    """

    name: str = "detector"
    sha256: str | None = None
    protocol: str = DEFAULT_PROTOCOL
    precision: str = "fp32"

    @abstractmethod
    def features(self, videos: torch.Tensor) -> torch.Tensor:
        """float ``[B, T, C, H, W]`` in ``[-1, 1]`` -> float32 features ``[B, D]``."""

    def describe(self) -> dict[str, Any]:
        """The fields every result record carries."""
        return {"protocol": self.protocol, "detector": self.name, "detector_sha256": self.sha256,
                "precision": self.precision}


def _check_i3d_clips(videos: Any) -> torch.Tensor:
    videos = check_videos(videos)
    if videos.shape[1] < MIN_FRAMES:
        raise VidgenError(f"the I3D needs clips of at least {MIN_FRAMES} frames, got {videos.shape[1]}",
                          hint="score 16-frame clips (fvd2048_16f), the usual protocol")
    return videos


@contextlib.contextmanager
def _exact_fp32(device: torch.device):
    """Turn TF32 off on CUDA for the duration (cuDNN uses it for fp32 convolutions by default)."""
    if device.type != "cuda":
        yield
        return
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def _check_precision(precision: str) -> str:
    if precision not in ("fp32", "bf16"):
        raise ConfigError(f"unknown precision {precision!r}", hint="use fp32 (exact, for reported numbers) or bf16 "
                                                                    "(fast, for monitoring during training)")
    return precision


class I3DDetector(Detector):
    """Our :class:`InceptionI3d` with a protocol's preprocessing.

    Args:
        model: the network (its batch-norm eps is set to the protocol's).
        protocol: ``tf``, ``styleganv``, ``videogpt`` or ``tats``.
        name, sha256: for the records.
        device: where the network runs (the model is moved there).
        precision: ``"fp32"`` (exact; TF32 off on CUDA) or ``"bf16"`` (autocast; for
            monitoring, not for reported numbers).
        quantize_mode: see :func:`quantize`.
        channels_last: run in ``channels_last_3d`` memory format (default: on a CPU, where
            oneDNN is about 1.4x faster with it).
        fold_bn: fold batch norm into the convolutions (:func:`~vidgen.metrics.i3d.fold_batch_norm`,
            about 20 % faster on a CPU).

    Both speed options change float rounding only: features agree with the reference
    operation order to about 1e-6 relative and FVDs to about 1e-6 (see
    ``benchmarks/fvd_speed.py``); turn both off for the reference's exact sequence of
    operations.
    """

    def __init__(self, model: InceptionI3d, *, protocol: str = DEFAULT_PROTOCOL, name: str = "i3d",
                 sha256: str | None = None, device: str | torch.device = "cpu", precision: str = "fp32",
                 quantize_mode: str = "round", channels_last: bool | None = None, fold_bn: bool = True):
        proto = get_protocol(protocol)
        self.protocol = proto.name
        self.bn_eps = proto.bn_eps
        self.name = name
        self.sha256 = sha256
        self.precision = _check_precision(precision)
        self.quantize_mode = quantize_mode
        self.device = torch.device(device)
        self.channels_last = self.device.type == "cpu" if channels_last is None else bool(channels_last)
        fmt = torch.channels_last_3d if self.channels_last else torch.contiguous_format
        model = model.set_bn_eps(proto.bn_eps).eval().requires_grad_(False)
        self.model = (fold_batch_norm(model) if fold_bn else model).to(self.device, memory_format=fmt)

    def features(self, videos: torch.Tensor) -> torch.Tensor:
        """float ``[B, T, C, H, W]`` in ``[-1, 1]`` -> the 400 logits averaged over time, float32 ``[B, 400]``."""
        x = preprocess(_check_i3d_clips(videos).to(self.device), self.protocol, quantize_mode=self.quantize_mode)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        with torch.inference_mode():
            if self.precision == "bf16":
                with torch.autocast(self.device.type, dtype=torch.bfloat16):
                    return self.model(x).float()
            with _exact_fp32(self.device):
                return self.model(x).float()


class TorchScriptI3DDetector(Detector):
    """StyleGAN-V's ``i3d_torchscript.pt``, called the way the chosen protocol needs.

    ``styleganv``: ``module(u, rescale=True, resize=True, return_features=True)`` with
    ``u`` the uint8 clips ``[B, 3, T, H, W]``, exactly StyleGAN-V's ``compute_fvd`` call.
    ``tf``: our TF-legacy preprocessing, then ``module(x, rescale=False, resize=False,
    return_features=True)``. The VideoGPT and TATS protocols need batch-norm eps 1e-5,
    which a TorchScript file cannot change: use ``i3d_pretrained_400.pt`` for them.
    """

    def __init__(self, module: torch.jit.ScriptModule, *, protocol: str = DEFAULT_PROTOCOL,
                 name: str = I3D_TORCHSCRIPT.name, sha256: str | None = None, device: str | torch.device = "cpu",
                 precision: str = "fp32", quantize_mode: str = "round"):
        proto = get_protocol(protocol)
        if proto.name not in ("styleganv", "tf"):
            raise ConfigError(f"the {proto.name} protocol needs batch-norm eps {proto.bn_eps:g}, which the "
                              f"StyleGAN-V TorchScript detector ({name}) cannot use",
                              hint=f"load {I3D_STATE_DICT.name} for the {proto.name} protocol, or use protocol "
                                   "styleganv or tf with this file")
        if _check_precision(precision) != "fp32":
            raise ConfigError(f"precision {precision!r} is not available with the TorchScript detector ({name})",
                              hint=f"use precision fp32, or load {I3D_STATE_DICT.name} for the bf16 fast path")
        self.protocol = proto.name
        self.name = name
        self.sha256 = sha256
        self.quantize_mode = quantize_mode
        self.device = torch.device(device)
        self.module = module.to(self.device).eval()

    def features(self, videos: torch.Tensor) -> torch.Tensor:
        """float ``[B, T, C, H, W]`` in ``[-1, 1]`` -> float32 ``[B, 400]``."""
        videos = _check_i3d_clips(videos).to(self.device)
        if self.protocol == "styleganv":
            u = quantize(videos, self.quantize_mode).to(torch.uint8)  # [B, T, C, H, W]
            if u.shape[2] == 1:
                u = u.repeat(1, 1, 3, 1, 1)
            x, kwargs = u.permute(0, 2, 1, 3, 4).contiguous(), {"rescale": True, "resize": True}  # [B, 3, T, H, W]
        else:
            x, kwargs = preprocess(videos, self.protocol, quantize_mode=self.quantize_mode).contiguous(), \
                {"rescale": False, "resize": False}
        with torch.inference_mode(), _exact_fp32(self.device):
            return self.module(x, return_features=True, **kwargs).float()


class _EvaluatorDetector(Detector):
    """A domain evaluator (``vidgen.metrics.evaluator``) seen as a :class:`Detector`."""

    def __init__(self, module: Any, *, path: Path):
        self.module = module
        self.name = str(getattr(module, "name", path.name))
        self.sha256 = getattr(module, "sha256", None)
        self.protocol = "evaluator"
        self.precision = "fp32"

    def features(self, videos: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.module.features(check_videos(videos)).float()


def load_detector(path: str | os.PathLike | None = None, protocol: str = DEFAULT_PROTOCOL, *,
                  device: str | torch.device = "cpu", precision: str = "fp32",
                  quantize_mode: str = "round") -> Detector:
    """The FVD detector at ``path`` (or found by :func:`~vidgen.metrics.i3d.find_i3d`).

    Recognises, by content: the VideoGPT/TATS state dict (``i3d_pretrained_400.pt``), the
    StyleGAN-V TorchScript (``i3d_torchscript.pt``), and a domain-evaluator folder (a
    directory with ``evaluator.json``, loaded by ``vidgen.metrics.evaluator.load_evaluator``).
    A file whose sha256 differs from the published one is used with a warning.

    Args:
        path: the file or folder; ``None``: ``$VIDGEN_I3D``, then the cache folder.
        protocol: ``tf``, ``styleganv`` (default), ``videogpt`` or ``tats``.
        device, precision, quantize_mode: see :class:`I3DDetector`.
    """
    proto = get_protocol(protocol)
    prefer = "state_dict" if proto.bn_eps != 1e-3 else "torchscript"
    p = find_i3d(path, prefer=prefer)
    if p.is_dir():  # find_i3d returns folders only when they hold evaluator.json
        from vidgen.metrics.evaluator import load_evaluator  # written separately; imported only when needed

        return _EvaluatorDetector(load_evaluator(str(p), device=device), path=p)
    fmt = detect_format(p)
    if fmt == "torchscript":
        sha = check_sha256(p, I3D_TORCHSCRIPT.sha256)
        return TorchScriptI3DDetector(load_i3d_torchscript(p), protocol=proto.name, name=p.name, sha256=sha,
                                      device=device, precision=precision, quantize_mode=quantize_mode)
    sha = check_sha256(p, I3D_STATE_DICT.sha256)
    model = load_i3d_state_dict(p, bn_eps=proto.bn_eps)
    return I3DDetector(model, protocol=proto.name, name=p.name, sha256=sha, device=device, precision=precision,
                       quantize_mode=quantize_mode)



def resolve_detector(spec: Any = None, *, protocol: str | None = None, device: str | torch.device = "cpu",
                     precision: str = "fp32") -> Detector:
    """A :class:`Detector` from a path, a shipped evaluator's name, or a detector.

    ``None`` looks for the I3D file (``$VIDGEN_I3D``, then the cache folder); the error says
    which file to get and where.
    """
    if isinstance(spec, Detector):
        return spec
    if spec is not None:
        from vidgen.metrics.evaluator import find_evaluator, shipped_evaluators

        if str(spec) in shipped_evaluators() and not Path(str(spec)).exists():
            spec = find_evaluator(str(spec))
        elif not Path(str(spec)).expanduser().exists():
            raise _unknown_detector(str(spec), i3d=True)
    return load_detector(spec, protocol or DEFAULT_PROTOCOL, device=device, precision=precision)


def _unknown_detector(spec: str, *, i3d: bool) -> VidgenError:
    """``spec`` is no file, no folder and no shipped evaluator: say what is (the shipped names, the
    I3D files when they would do) and the closest name to a typo."""
    import difflib

    from vidgen.metrics.evaluator import shipped_evaluators
    from vidgen.metrics.i3d import I3D_FILES, _missing_hint, default_detector_dir

    shipped = shipped_evaluators()
    files = [f.name for f in I3D_FILES] if i3d else []
    name, parent = Path(spec).name, Path(spec).expanduser().parent
    nearby = [f for f in files if (parent / f).is_file()]  # an I3D file next to the one named
    close = difflib.get_close_matches(name, shipped + nearby, n=1, cutoff=0.6)
    guess = ""
    if close:
        guess = f"did you mean {str(parent / close[0]) if close[0] in nearby else close[0]!r}? "
    evaluators = f"shipped evaluators: {', '.join(shipped) or 'none installed'}"
    folder = "a folder written by 'vidgen evaluator train'"
    if not i3d:
        return VidgenError(f"no evaluator {spec!r}: not a folder and not a shipped evaluator",
                           hint=f"{guess}{evaluators}; or {folder}")
    if name.endswith(".pt"):  # a detector file named but not there: where to get it
        how = _missing_hint(I3D_FILES)
    else:
        how = (f"an I3D file ({' or '.join(files)}) by path, $VIDGEN_I3D or in {default_detector_dir()} "
               "(docs/metrics.md says where to get them)")
    return VidgenError(f"no detector {spec!r}: not a file, a folder or a shipped evaluator",
                       hint=f"{guess}{evaluators}; or {how}; or {folder}")


def load_evaluator_for(spec: Any, *, device: str | torch.device = "cpu") -> Any:
    """The domain evaluator ``cond_acc`` needs: a folder, a shipped name, or a loaded evaluator."""
    if spec is None:
        raise VidgenError("cond_acc needs a domain evaluator to classify the samples",
                          hint="pass --detector NAME (a shipped evaluator, e.g. shapes) or a folder written by "
                               "'vidgen evaluator train'")
    if isinstance(spec, torch.nn.Module):
        return spec
    from vidgen.metrics.evaluator import load_evaluator, shipped_evaluators

    if str(spec) not in shipped_evaluators() and not Path(str(spec)).expanduser().exists():
        raise _unknown_detector(str(spec), i3d=False)

    return load_evaluator(str(spec), device=device)
