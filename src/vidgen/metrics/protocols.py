"""FVD protocols and their preprocessing: vidgen clips -> the I3D input one published code base builds.

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
logits averaged over time as features (:mod:`vidgen.metrics.detectors`).

Inputs are vidgen clips, float ``[B, T, C, H, W]`` in ``[-1, 1]``. Every reference reads
uint8 frames, so clips are first quantised as StyleGAN-V quantises generator output,
``u = floor(clamp(127.5 x + 128, 0, 255))`` (round half up), which also gives back the
exact bytes of a clip decoded from a uint8 file (vidgen maps ``u -> u / 127.5 - 1``).
VideoGPT and TATS truncate their own samples instead (``uint8(255 (x + 1) / 2)``), which
``quantize="trunc"`` reproduces; ``quantize="none"`` skips quantisation. uint8
``[B, T, C, H, W]`` clips are used as they are. Grey clips (C = 1) are repeated to 3
channels, as StyleGAN-V does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from vidgen.errors import ConfigError, VidgenError

__all__ = [
    "DEFAULT_PROTOCOL",
    "FVDProtocol",
    "PROTOCOLS",
    "SIZE",
    "check_videos",
    "get_protocol",
    "preprocess",
    "quantize",
    "resize_half_pixel",
    "resize_shorter_side_crop",
    "resize_tf_legacy",
    "shorter_side_size",
]


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


def check_videos(videos: Any) -> torch.Tensor:
    """``videos`` must be a ``[B, T, C, H, W]`` tensor with 1 or 3 channels, float or uint8."""
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
    videos = check_videos(videos)
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
