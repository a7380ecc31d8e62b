"""Fréchet Video Distance (FVD) and Kernel Video Distance (KVD), published protocols.

An FVD number depends on more than the detector weights: the resize, the value scaling,
the batch-norm epsilon and the covariance normalisation differ between the code bases
papers quote. Each protocol reproduces one lineage exactly:

============  ===================================  ======  ==========  ======================
protocol      resize to 224 x 224                  BN eps  covariance  reference code
============  ===================================  ======  ==========  ======================
``tf``        TF1 ``resize_bilinear`` (legacy:     1e-3    / (N - 1)   google-research
              ``src = dst * in / out``)                                ``frechet_video_distance``
``styleganv`` half-pixel bilinear (PyTorch         1e-3    / N         StyleGAN-V
              ``align_corners=False``)                                 ``compute_fvd`` (default)
``videogpt``  shorter side to 224 (``ceil``),      1e-5    / (N - 1)   VideoGPT ``fvd.py``
              half-pixel bilinear, centre crop
``tats``      whole frame to 224 x 224,            1e-5    / (N - 1)   TATS ``tats/fvd/fvd.py``
              half-pixel bilinear
============  ===================================  ======  ==========  ======================

All four map ``[0, 255]`` to ``[-1, 1]`` (``2 v / 255 - 1``) and use the 400 Kinetics
logits averaged over time as features. The Fréchet distance is
``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` in float64 (:func:`frechet_distance`).

Inputs are vidgen clips, float ``[B, T, C, H, W]`` in ``[-1, 1]``. Every reference reads
uint8 frames, so clips are first quantised as StyleGAN-V quantises generator output,
``u = floor(clamp(127.5 x + 128, 0, 255))`` (round half up), which also gives back the
exact bytes of a clip decoded from a uint8 file (vidgen maps ``u -> u / 127.5 - 1``).
VideoGPT and TATS truncate their own samples instead (``uint8(255 (x + 1) / 2)``), which
``quantize="trunc"`` reproduces; ``quantize="none"`` skips quantisation. uint8
``[B, T, C, H, W]`` clips are used as they are. Grey clips (C = 1) are repeated to 3
channels, as StyleGAN-V does.

Metric names: ``fvd{N}_{T}f`` / ``kvd{N}_{T}f`` (:func:`parse_fvd_name`), e.g.
``fvd2048_16f``: N clips of each set, T frames each. Results are plain dicts that carry
the protocol, the detector name and its sha256.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from vidgen.errors import ConfigError, VidgenError
from vidgen.metrics.i3d import (
    I3D_STATE_DICT,
    I3D_TORCHSCRIPT,
    MIN_FRAMES,
    InceptionI3d,
    check_sha256,
    detect_format,
    file_sha256,
    find_i3d,
    fold_batch_norm,
    load_i3d_state_dict,
    load_i3d_torchscript,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "Detector",
    "FVDProtocol",
    "FeatureStats",
    "I3DDetector",
    "PROTOCOLS",
    "TorchScriptI3DDetector",
    "all_reduce_stats",
    "cached_stats",
    "compute_fvd",
    "compute_kvd",
    "compute_metric",
    "default_stats_dir",
    "extract_features",
    "frame_fid",
    "frechet_distance",
    "fvd_from_features",
    "fvd_from_stats",
    "get_protocol",
    "kernel_distance",
    "load_detector",
    "parse_fvd_name",
    "parse_metric_name",
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
# protocols and names
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FVDProtocol:
    """What one published FVD implementation does (see the module docstring's table)."""

    name: str
    resize: str  # "tf_legacy" | "half_pixel" | "shorter_side_crop" | "stretch"
    bn_eps: float
    unbiased: bool  # covariance / (N - 1) (True) or / N (False)
    reference: str


PROTOCOLS: dict[str, FVDProtocol] = {
    "tf": FVDProtocol("tf", "tf_legacy", 1e-3, True,
                      "google-research frechet_video_distance (tf.hub I3D, TF-GAN distance)"),
    "styleganv": FVDProtocol("styleganv", "half_pixel", 1e-3, False,
                             "StyleGAN-V src/metrics/frechet_video_distance.py"),
    "videogpt": FVDProtocol("videogpt", "shorter_side_crop", 1e-5, True, "VideoGPT videogpt/fvd/fvd.py"),
    "tats": FVDProtocol("tats", "stretch", 1e-5, True, "TATS tats/fvd/fvd.py"),
}
DEFAULT_PROTOCOL = "styleganv"
SIZE = 224  # every protocol feeds the I3D 224 x 224 frames


def get_protocol(protocol: str | FVDProtocol | None) -> FVDProtocol:
    """The :class:`FVDProtocol` called ``protocol`` (``None``: the default, StyleGAN-V)."""
    if isinstance(protocol, FVDProtocol):
        return protocol
    name = DEFAULT_PROTOCOL if protocol is None else protocol
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown FVD protocol {name!r}", hint=f"valid protocols: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


_NAME = re.compile(r"^(fvd|kvd)(\d+)_(\d+)f$")


def parse_metric_name(name: str) -> tuple[str, int, int]:
    """``"fvd2048_16f"`` -> ``("fvd", 2048, 16)``; also ``kvd{N}_{T}f``."""
    m = _NAME.match(str(name))
    if not m or int(m.group(2)) < 2 or int(m.group(3)) < 1:
        raise ConfigError(f"{name!r} is not an FVD/KVD metric name",
                          hint="write fvd{clips}_{frames}f or kvd{clips}_{frames}f, e.g. fvd2048_16f, fvd256_16f, "
                               "kvd2048_16f (at least 2 clips)")
    return m.group(1), int(m.group(2)), int(m.group(3))


def parse_fvd_name(name: str) -> tuple[int, int]:
    """``"fvd2048_16f"`` (or ``"kvd2048_16f"``) -> ``(num_clips, frames)`` = ``(2048, 16)``."""
    _, n, t = parse_metric_name(name)
    return n, t


# ---------------------------------------------------------------------------------------
# preprocessing: [B, T, C, H, W] in [-1, 1] -> [B, 3, T, 224, 224] in [-1, 1]
# ---------------------------------------------------------------------------------------


def _check_videos(videos: Any) -> torch.Tensor:
    if not isinstance(videos, torch.Tensor):
        raise VidgenError(f"videos must be a torch.Tensor [B, T, C, H, W], got {type(videos).__name__}",
                          hint="convert with torch.as_tensor(...)")
    if videos.ndim != 5:
        raise VidgenError(f"videos must be [B, T, C, H, W], got shape {tuple(videos.shape)}",
                          hint="add the batch axis with x[None] for a single clip [T, C, H, W]")
    if videos.shape[2] not in (1, 3):
        raise VidgenError(f"videos must have 1 or 3 channels (axis 2 of [B, T, C, H, W]), got shape "
                          f"{tuple(videos.shape)}", hint="channels come after time: permute [B, C, T, H, W] with "
                                                         "x.permute(0, 2, 1, 3, 4)")
    if videos.dtype != torch.uint8 and not videos.is_floating_point():
        raise VidgenError(f"videos must be float in [-1, 1] or uint8 in [0, 255], got dtype {videos.dtype}")
    return videos


def quantize(videos: torch.Tensor, mode: str = "round") -> torch.Tensor:
    """Float ``[-1, 1]`` clips -> float32 values in ``{0, ..., 255}`` as the references see them.

    Args:
        videos: float ``[B, T, C, H, W]`` in ``[-1, 1]`` (uint8 is returned as float32 as is).
        mode: ``"round"``: ``floor(clamp(127.5 x + 128, 0, 255))``, StyleGAN-V's
            ``(x * 127.5 + 128).clamp(0, 255).to(torch.uint8)`` (and the exact inverse of
            ``u / 127.5 - 1``); ``"trunc"``: ``floor(255 clamp((x + 1) / 2, 0, 1))``,
            VideoGPT/TATS' ``(x01 * 255).astype(np.uint8)``; ``"none"``: ``127.5 (x + 1)``
            without rounding.

    Returns:
        float32 ``[B, T, C, H, W]`` in ``[0, 255]``.
    """
    if videos.dtype == torch.uint8:
        return videos.float()
    x = videos.float()
    if mode == "round":
        return (x * 127.5 + 128.0).clamp(0.0, 255.0).floor()
    if mode == "trunc":
        return (((x + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0).floor()
    if mode == "none":
        return (x + 1.0) * 127.5
    raise ConfigError(f"unknown quantize mode {mode!r}", hint="use round, trunc or none")


def _tf_legacy_axis(in_size: int, out_size: int,
                    device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # TF1 resize_bilinear, align_corners=False, half_pixel_centers=False:
    # scale = float32(in / out); src = float32(dst) * scale; lower = floor(src);
    # upper = min(ceil(src), in - 1); lerp = src - floor(src)
    scale = torch.tensor(in_size, dtype=torch.float32) / torch.tensor(out_size, dtype=torch.float32)
    src = torch.arange(out_size, dtype=torch.float32) * scale
    lower = src.floor()
    upper = src.ceil().clamp(max=in_size - 1)
    return lower.long().to(device), upper.long().to(device), (src - lower).to(device)


def resize_tf_legacy(frames: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """TF1 ``tf.image.resize_bilinear`` (``align_corners=False``, no half-pixel offset).

    Output pixel ``i`` samples source position ``i * in / out`` (so the image shifts by
    half a pixel compared with the half-pixel convention); float32 arithmetic in TF's
    order: ``top = tl + (tr - tl) * dx``, ``bottom = bl + (br - bl) * dx``,
    ``out = top + (bottom - top) * dy``.

    Args:
        frames: float ``[N, C, H, W]``.
        size: output ``(height, width)`` or one int for both.

    Returns:
        float32 ``[N, C, height, width]``.
    """
    oh, ow = (size, size) if isinstance(size, int) else size
    x = frames.float()
    y0, y1, dy = _tf_legacy_axis(x.shape[-2], oh, x.device)
    x0, x1, dx = _tf_legacy_axis(x.shape[-1], ow, x.device)
    rows0, rows1 = x.index_select(-2, y0), x.index_select(-2, y1)  # [N, C, oh, W]
    tl, tr = rows0.index_select(-1, x0), rows0.index_select(-1, x1)  # [N, C, oh, ow]
    bl, br = rows1.index_select(-1, x0), rows1.index_select(-1, x1)
    top = tl + (tr - tl) * dx
    bottom = bl + (br - bl) * dx
    return top + (bottom - top) * dy[:, None]


def resize_half_pixel(frames: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """PyTorch ``F.interpolate(mode="bilinear", align_corners=False)``: ``src = (dst + 0.5) in / out - 0.5``.

    Args:
        frames: float ``[N, C, H, W]``; size: ``(height, width)`` or one int.

    Returns:
        float32 ``[N, C, height, width]`` (no antialiasing, as in the references).
    """
    oh, ow = (size, size) if isinstance(size, int) else size
    return F.interpolate(frames.float(), size=(oh, ow), mode="bilinear", align_corners=False)


def shorter_side_size(h: int, w: int, size: int) -> tuple[int, int]:
    """VideoGPT's resize target: the shorter side to ``size``, the other ``ceil(side * size / shorter)``.

    Computed in Python floats exactly as VideoGPT does (``scale = size / min(h, w)``;
    ``math.ceil(w * scale)``), so e.g. 96 x 96 frames go to 225 x 224 as there.
    """
    scale = size / min(h, w)
    if h < w:
        return size, math.ceil(w * scale)
    return math.ceil(h * scale), size


def resize_shorter_side_crop(frames: torch.Tensor, size: int) -> torch.Tensor:
    """VideoGPT: resize the shorter side to ``size`` (half-pixel bilinear), then centre-crop ``size x size``.

    Args:
        frames: float ``[N, C, H, W]``.

    Returns:
        float32 ``[N, C, size, size]``; the crop starts at ``((h' - size) // 2, (w' - size) // 2)``.
    """
    th, tw = shorter_side_size(frames.shape[-2], frames.shape[-1], size)
    x = F.interpolate(frames.float(), size=(th, tw), mode="bilinear", align_corners=False)
    top, left = (th - size) // 2, (tw - size) // 2
    return x[..., top:top + size, left:left + size]


def preprocess(videos: torch.Tensor, protocol: str | FVDProtocol | None = None, *, size: int = SIZE,
               quantize_mode: str = "round") -> torch.Tensor:
    """The I3D input a protocol builds from vidgen clips.

    Args:
        videos: float ``[B, T, C, H, W]`` in ``[-1, 1]`` (or uint8 in ``[0, 255]``), C = 1 or 3.
        protocol: ``tf``, ``styleganv``, ``videogpt`` or ``tats``.
        size: output side (224 in every protocol; smaller only for tests).
        quantize_mode: see :func:`quantize`.

    Returns:
        float32 ``[B, 3, T, size, size]`` in ``[-1, 1]``, channels before time (the I3D layout).
    """
    proto = get_protocol(protocol)
    videos = _check_videos(videos)
    b, t, c, h, w = videos.shape
    u = quantize(videos, quantize_mode).reshape(b * t, c, h, w)  # [B*T, C, H, W] in [0, 255]
    if c == 1:
        u = u.expand(b * t, 3, h, w)
    if proto.resize == "tf_legacy":
        x = 2.0 * resize_tf_legacy(u, size) / 255.0 - 1.0  # resize the 0..255 values, then scale
    elif proto.resize == "half_pixel":
        x = resize_half_pixel(u / 127.5 - 1.0, size)  # StyleGAN-V's detector: rescale=True, then resize=True
    elif proto.resize == "shorter_side_crop":
        x = (resize_shorter_side_crop(u / 255.0, size) - 0.5) * 2.0  # VideoGPT: x/255 - 0.5, then * 2
    elif proto.resize == "stretch":
        x = 2.0 * resize_half_pixel(u, size) / 255.0 - 1.0  # TATS
    else:  # pragma: no cover - PROTOCOLS is fixed
        raise AssertionError(proto.resize)
    return x.reshape(b, t, 3, size, size).permute(0, 2, 1, 3, 4)  # [B, 3, T, S, S]


# ---------------------------------------------------------------------------------------
# detectors
# ---------------------------------------------------------------------------------------


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
    videos = _check_videos(videos)
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
            return self.module.features(_check_videos(videos)).float()


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


# ---------------------------------------------------------------------------------------
# streaming statistics
# ---------------------------------------------------------------------------------------


class FeatureStats:
    """Streaming float64 mean and covariance of features, mergeable across batches and ranks.

    Keeps the count ``n``, the mean and the centred sum of outer products
    ``M2 = sum (x - mean)(x - mean)^T``; batches are combined with Chan et al.'s pairwise
    update (``M2 = M2a + M2b + d d^T na nb / n`` with ``d = mean_b - mean_a``), which has
    no ``E[x x^T] - mu mu^T`` cancellation. Features are not stored, except an optional
    uniform reservoir of at most ``keep`` of them for KVD (all of them while ``n <= keep``,
    in arrival order).

    Args:
        keep: reservoir capacity (0: keep none).
        seed: seeds the reservoir's sampling once it is full.
    """

    def __init__(self, *, keep: int = 0, seed: int = 0):
        self.keep = int(keep)
        self.seed = int(seed)
        self.n = 0
        self._mean: np.ndarray | None = None  # [D] float64
        self._m2: np.ndarray | None = None  # [D, D] float64
        self._kept: np.ndarray | None = None  # [k, D] float32, k <= keep
        self._rng = np.random.default_rng(self.seed)

    @property
    def dim(self) -> int | None:
        return None if self._mean is None else int(self._mean.shape[0])

    @staticmethod
    def _as_array(features: Any) -> np.ndarray:
        if isinstance(features, torch.Tensor):
            features = features.detach().to("cpu", torch.float64).numpy()
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise VidgenError(f"features must be [N, D], got shape {x.shape}")
        if not np.isfinite(x).all():
            raise VidgenError("features contain NaN or inf",
                              hint="check the clips: they must be finite values in [-1, 1]")
        return x

    def update(self, features: Any) -> "FeatureStats":
        """Add a batch of features ``[N, D]`` (tensor or array; any float dtype)."""
        x = self._as_array(features)
        if x.shape[0] == 0:
            return self
        if self._mean is not None and x.shape[1] != self._mean.shape[0]:
            raise VidgenError(f"feature size changed from {self._mean.shape[0]} to {x.shape[1]}",
                              hint="use one detector for one FeatureStats")
        mean = x.mean(axis=0)
        xc = x - mean
        self._combine(x.shape[0], mean, xc.T @ xc)
        self._reservoir_add(x.astype(np.float32))
        return self

    def _combine(self, nb: int, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
        if nb == 0:
            return
        if self.n == 0 or self._mean is None or self._m2 is None:
            self.n, self._mean, self._m2 = nb, mean_b.copy(), m2_b.copy()
            return
        na, n = self.n, self.n + nb
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (nb / n)
        self._m2 = self._m2 + m2_b + np.outer(delta, delta) * (na * nb / n)
        self.n = n

    def _reservoir_add(self, x: np.ndarray, *, first_index: int | None = None) -> None:
        if self.keep <= 0:
            return
        seen = (self.n - x.shape[0]) if first_index is None else first_index  # items seen before this batch
        kept = np.zeros((0, x.shape[1]), np.float32) if self._kept is None else self._kept
        room = max(self.keep - kept.shape[0], 0)
        kept = np.concatenate([kept, x[:room]])
        for i in range(room, x.shape[0]):  # Algorithm R: item i replaces a random slot with prob keep / (seen + i + 1)
            j = int(self._rng.integers(0, seen + i + 1))
            if j < self.keep:
                kept[j] = x[i]
        self._kept = kept

    def merge(self, other: "FeatureStats") -> "FeatureStats":
        """Add ``other``'s items (another shard or rank); equals updating with its features."""
        if other.n == 0 or other._mean is None or other._m2 is None:
            return self
        if self._mean is not None and other._mean.shape != self._mean.shape:
            raise VidgenError(f"cannot merge features of size {other._mean.shape[0]} into {self._mean.shape[0]}")
        seen = self.n
        self._combine(other.n, other._mean, other._m2)
        if self.keep > 0 and other._kept is not None:
            if other._kept.shape[0] == other.n:  # other kept everything: stream it in
                self._reservoir_add(other._kept, first_index=seen)
            else:  # both sampled: draw from each in proportion to the items they stand for
                mine = np.zeros((0, other._kept.shape[1]), np.float32) if self._kept is None else self._kept
                k = min(self.keep, self.n)
                # how many of k uniform draws from all items fall on other's: hypergeometric
                take_other = int(self._rng.hypergeometric(other.n, seen, k)) if seen else k
                take_mine = k - take_other
                pick = lambda a, m: a[np.sort(self._rng.choice(a.shape[0], m, replace=False))]  # noqa: E731
                self._kept = np.concatenate([pick(mine, take_mine), pick(other._kept, take_other)])
        return self

    @property
    def mean(self) -> np.ndarray:
        """float64 ``[D]``."""
        if self._mean is None:
            raise VidgenError("no features were added")
        return self._mean.copy()

    def cov(self, unbiased: bool = True) -> np.ndarray:
        """float64 ``[D, D]``: ``M2 / (n - 1)`` (``unbiased``, numpy's default) or ``M2 / n``."""
        if self._m2 is None:
            raise VidgenError("no features were added")
        if unbiased and self.n < 2:
            raise VidgenError("an unbiased covariance needs at least 2 clips", hint="use more clips")
        return self._m2 / (self.n - 1 if unbiased else self.n)

    @property
    def features(self) -> np.ndarray:
        """The kept features, float32 ``[k, D]`` (all of them while ``n <= keep``)."""
        if self._kept is None:
            raise VidgenError("no features were kept", hint="create the FeatureStats with keep=N to compute KVD")
        return self._kept.copy()

    def save(self, path: str | os.PathLike, *, meta: dict[str, Any] | None = None) -> Path:
        """Write an ``.npz`` (atomic rename; read back with :meth:`load`, no pickles)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"n": np.array(self.n), "keep": np.array(self.keep), "seed": np.array(self.seed),
                  "meta": np.array(json.dumps(meta or {}, sort_keys=True, default=str))}
        if self._mean is not None:
            arrays.update(mean=self._mean, m2=self._m2)
        if self._kept is not None:
            arrays["kept"] = self._kept
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
        os.close(fd)
        try:
            np.savez(tmp, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FeatureStats":
        """Read a file written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as z:
                stats = cls(keep=int(z["keep"]), seed=int(z["seed"]))
                stats.n = int(z["n"])
                if "mean" in z:
                    stats._mean, stats._m2 = z["mean"].astype(np.float64), z["m2"].astype(np.float64)
                if "kept" in z:
                    stats._kept = z["kept"].astype(np.float32)
                stats.meta = json.loads(str(z["meta"]))
        except (OSError, KeyError, ValueError) as e:
            raise VidgenError(f"{path} is not a readable feature-statistics file ({e})",
                              hint="delete it; it is recomputed") from None
        return stats

    def __repr__(self) -> str:
        return f"FeatureStats(n={self.n}, dim={self.dim}, kept={0 if self._kept is None else len(self._kept)})"


def all_reduce_stats(stats: FeatureStats) -> FeatureStats:
    """Merge every rank's statistics into each rank's (``torch.distributed``), in rank order.

    A no-op without an initialised process group (or with one process). Every rank must
    call it, with statistics of the same feature size and ``keep``.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return stats
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    # agree on the feature size and the largest reservoir first (a rank may have seen no clip)
    kept = 0 if stats._kept is None else stats._kept.shape[0]
    sizes = torch.tensor([stats.dim or 0, kept], dtype=torch.int64, device=device)
    dist.all_reduce(sizes, op=dist.ReduceOp.MAX)
    d, rows = int(sizes[0].item()), int(sizes[1].item())
    if d == 0:
        return stats
    local = torch.from_numpy(_pack_stats(stats, d, rows)).to(device)
    gathered = [torch.empty_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, local)
    merged = FeatureStats(keep=stats.keep, seed=stats.seed)
    for g in gathered:
        merged.merge(_unpack_stats(g.cpu().numpy(), d, keep=stats.keep, seed=stats.seed))
    return merged


def _pack_stats(stats: FeatureStats, d: int, rows: int) -> np.ndarray:
    """One float64 vector: ``[n, kept rows, mean (d), M2 (d * d), kept (rows * d, zero padded)]``."""
    payload = np.zeros(2 + d + d * d + rows * d, np.float64)
    kept = np.zeros((0, d), np.float32) if stats._kept is None else stats._kept
    payload[0], payload[1] = stats.n, kept.shape[0]
    if stats.n and stats._mean is not None and stats._m2 is not None:
        payload[2:2 + d], payload[2 + d:2 + d + d * d] = stats._mean, stats._m2.ravel()
    payload[2 + d + d * d:2 + d + d * d + kept.size] = kept.ravel()
    return payload


def _unpack_stats(a: np.ndarray, d: int, *, keep: int, seed: int) -> FeatureStats:
    """The inverse of :func:`_pack_stats`."""
    stats = FeatureStats(keep=keep, seed=seed)
    stats.n, k = int(a[0]), int(a[1])
    if stats.n:
        stats._mean, stats._m2 = a[2:2 + d].copy(), a[2 + d:2 + d + d * d].reshape(d, d).copy()
        if keep:
            stats._kept = a[2 + d + d * d:2 + d + d * d + k * d].reshape(k, d).astype(np.float32)
    return stats


# ---------------------------------------------------------------------------------------
# distances
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _one_thread():
    """One torch thread for the duration: a 400 x 400 eigendecomposition takes ~15 ms on one
    core, while multithreaded LAPACK on cores shared with other work can take seconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _sqrtm_psd(s: torch.Tensor) -> torch.Tensor:
    """Symmetric PSD square root through ``eigh`` (tiny negative eigenvalues from rounding -> 0)."""
    w, v = torch.linalg.eigh((s + s.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def trace_sqrt_product(s1: Any, s2: Any) -> float:
    """``tr((S1 S2)^(1/2))`` for symmetric PSD ``S1``, ``S2``, in float64.

    ``S1 S2 = A (A S2)`` with ``A = S1^(1/2)`` has the eigenvalues of ``A S2 A``, which is
    symmetric PSD: its ``eigvalsh`` is stable, never complex, and needs no ``eps * I``
    offset even when both covariances are singular (N clips < D features). This is
    TF-GAN's (and VideoGPT's) ``trace_sqrt_product``, with ``eigh`` instead of SVD, and
    equals the trace of ``scipy.linalg.sqrtm(S1 @ S2)`` whenever that converges.
    """
    with _one_thread():
        a = _sqrtm_psd(torch.as_tensor(np.asarray(s1, np.float64)))
        m = a @ torch.as_tensor(np.asarray(s2, np.float64)) @ a
        w = torch.linalg.eigvalsh((m + m.T) / 2)
        return float(w.clamp(min=0).sqrt().sum())


def frechet_distance(mu1: Any, s1: Any, mu2: Any, s2: Any) -> float:
    """``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))`` in float64.

    Args:
        mu1, mu2: means ``[D]``; s1, s2: covariances ``[D, D]`` (symmetric PSD).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.shape[0], mu1.shape[0]):
        raise VidgenError(f"statistics do not match: means {mu1.shape} / {mu2.shape}, "
                          f"covariances {s1.shape} / {s2.shape}")
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2))


def kernel_distance(f1: Any, f2: Any, *, subsets: int | None = None, subset_size: int = 1000, seed: int = 0) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel ``k(x, y) = (x . y / D + 1)^3`` (KVD / KID).

    Args:
        f1, f2: features ``[N1, D]``, ``[N2, D]``.
        subsets: ``None``: one estimate on the full sets, TATS' ``polynomial_mmd``
            (``mean_{i != j} k(x_i, x_j) + mean_{i != j} k(y_i, y_j) - 2 mean k(x_i, y_j)``);
            an int: the mean of that many estimates on random subsets of
            ``min(N1, N2, subset_size)`` items of each set, StyleGAN's KID.
        seed: seeds the subsets.
    """
    x, y = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise VidgenError(f"kernel_distance needs two [N, D] sets with N >= 2, got {x.shape} and {y.shape}")
    d = x.shape[1]

    def mmd(a: np.ndarray, b: np.ndarray) -> float:
        kaa, kbb, kab = (a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3
        m, n = len(a), len(b)
        return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                     - 2 * kab.mean())

    if subsets is None:
        return mmd(x, y)
    rng = np.random.default_rng(seed)
    m = min(len(x), len(y), subset_size)
    return float(np.mean([mmd(x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)])
                          for _ in range(subsets)]))


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
        clip = _check_videos(clips_of(item))
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


def fvd_from_stats(real: FeatureStats, fake: FeatureStats, protocol: str | FVDProtocol | None = None) -> float:
    """FVD of two :class:`FeatureStats` with the protocol's covariance normalisation."""
    proto = get_protocol(protocol)
    return frechet_distance(real.mean, real.cov(proto.unbiased), fake.mean, fake.cov(proto.unbiased))


def fvd_from_features(real: Any, fake: Any, protocol: str | FVDProtocol | None = None) -> float:
    """FVD of two feature sets ``[N, D]`` (arrays or tensors) under ``protocol``'s statistics."""
    return fvd_from_stats(FeatureStats().update(real), FeatureStats().update(fake), protocol)


def _record(metric: str, value: float, detector: Detector, real: FeatureStats, fake: FeatureStats,
            frames: int | None) -> dict[str, Any]:
    return {"metric": metric, "value": value, **detector.describe(), "real_clips": real.n, "fake_clips": fake.n,
            "frames": frames}


def _rank_quota(num: int | None) -> int | None:
    """This rank's share of ``num`` clips under ``torch.distributed`` (all of them alone)."""
    import torch.distributed as dist

    if num is None or not (dist.is_available() and dist.is_initialized()):
        return num
    world, rank = dist.get_world_size(), dist.get_rank()
    return num // world + (1 if rank < num % world else 0)


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
    """``fvd{N}_{T}f`` or ``kvd{N}_{T}f`` by name: N clips of T frames from each set."""
    kind, n, t = parse_metric_name(name)
    fn = compute_fvd if kind == "fvd" else compute_kvd
    return fn(real_videos, fake_videos, detector, num_clips=n, frames=t, metric=name, **kwargs)


# ---------------------------------------------------------------------------------------
# per-frame Fréchet distance with any TorchScript image detector
# ---------------------------------------------------------------------------------------


def frame_fid(real_videos: Any, fake_videos: Any, detector_path: str | os.PathLike, *,
              call_kwargs: dict[str, Any] | None = None, num_clips: int | None = None, frames: int | None = None,
              batch_size: int = 16, device: str | torch.device = "cpu", progress: bool = True) -> dict[str, Any]:
    """FID over all frames of two clip sets, with an image detector given as a TorchScript file.

    Every frame is one sample: the detector sees uint8 ``[N, 3, H, W]`` frames (grey
    repeated to 3 channels, quantised as in :func:`quantize`), called as
    ``detector(frames, **call_kwargs)`` (default ``return_features=True``, the calling
    convention of StyleGAN2-ADA's ``inception-2015-12-05.pt``, which resizes
    internally) and must return ``[N, D]``. Mean and covariance (unbiased) are over all
    frames of all clips; the distance is :func:`frechet_distance`.

    Returns:
        ``{"metric": "frame_fid", "value", "detector", "detector_sha256", "real_frames",
        "fake_frames", "frames"}``.
    """
    path = Path(detector_path)
    if not path.is_file():
        raise VidgenError(f"image detector {str(path)!r} does not exist",
                          hint="pass a TorchScript file, e.g. StyleGAN2-ADA's inception-2015-12-05.pt")
    module = torch.jit.load(str(path), map_location=device).eval()
    kwargs = {"return_features": True} if call_kwargs is None else dict(call_kwargs)

    class _Frames(Detector):
        def features(self, videos: torch.Tensor) -> torch.Tensor:
            u = quantize(_check_videos(videos)).to(torch.uint8)  # [B, T, C, H, W]
            u = u.flatten(0, 1)  # [B*T, C, H, W]
            if u.shape[1] == 1:
                u = u.repeat(1, 3, 1, 1)
            with torch.inference_mode():
                return module(u.to(device), **kwargs).float().reshape(videos.shape[0] * videos.shape[1], -1)

    det = _Frames()
    det.name, det.sha256, det.protocol = path.name, file_sha256(path), "frames"
    out = []
    for what, videos in (("real", real_videos), ("generated", fake_videos)):
        stats = extract_features(det, videos, batch_size=batch_size, progress=progress,
                                 max_items=_rank_quota(num_clips), frames=frames, desc=f"{what} frames")
        out.append(all_reduce_stats(stats))
    real, fake = out
    value = frechet_distance(real.mean, real.cov(), fake.mean, fake.cov())
    return {"metric": "frame_fid", "value": value, "detector": det.name, "detector_sha256": det.sha256,
            "real_frames": real.n, "fake_frames": fake.n, "frames": frames}
