"""The low-resolution inputs of video super-resolution, made exactly as the literature makes them.

- ``bi``: MATLAB's ``imresize(HR, 1/s, 'bicubic')`` with its antialiasing: Keys' cubic kernel
  (``a = -0.5``) stretched by ``1/scale`` when shrinking, MATLAB's ``contributions`` (output
  pixel ``x`` centred at input ``x / scale + 0.5 (1 - 1 / scale)``, 1-based), symmetric padding
  at the borders, rows first then columns. :func:`resize_matrix` builds the one-dimensional
  operator as a dense matrix, so a batch of clips is resized by two matrix products. Values
  stay in floating point between the two passes (as BasicSR's port does; MATLAB rounds a
  uint8 image to uint8 after each pass).
- ``bd``: a 13x13 Gaussian of sigma 1.6 (MATLAB's ``fspecial('gaussian', 13, 1.6)``), the
  borders replicated (``imfilter(..., 'replicate')``), then every ``s``-th pixel from offset
  ``s / 2 - 1`` (0-based; MATLAB's ``scale/2:scale:end``, offset 1 at x4), the
  ``BD_degradation.m`` convention of the BD test sets.
- ``realistic`` (the GAN variant's training, as RealBasicVSR's): per clip a random Gaussian
  blur, a resize to the low resolution by a random method (area, bilinear or bicubic), Gaussian
  or Poisson noise, and H.264 compression through PyAV at a random CRF.

Every function takes float clips ``[B, T, C, H, W]`` in ``[-1, 1]`` and returns the low-resolution
clips ``[B, T, C, H / s, W / s]``, quantised to 8 bits (the levels a video file holds) and clipped
to ``[-1, 1]``; ``H`` and ``W`` must be multiples of ``s``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vidgen.errors import VidgenError

DEGRADATIONS = ("bi", "bd", "realistic")
BD_SIZE, BD_SIGMA = 13, 1.6


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with ``a = -0.5``, as MATLAB's ``imresize`` defines it."""
    ax = np.abs(x)
    ax2, ax3 = ax ** 2, ax ** 3
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def contributions(in_length: int, out_length: int, scale: float, *, antialias: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB's ``contributions``: ``(weights [out, P], indices [out, P])``, indices 0-based and
    already folded back into the signal by symmetric padding; columns that are zero for every
    output pixel are dropped, as MATLAB drops them."""
    width = 4.0
    if scale < 1 and antialias:
        kernel = lambda x: scale * cubic(scale * x)  # noqa: E731  a wider kernel: antialiasing
        width = width / scale
    else:
        kernel = cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)[:, None]
    u = x / scale + 0.5 * (1 - 1 / scale)  # where output pixel x falls in the input, 1-based
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    indices = left + np.arange(taps)[None, :]  # [out, P], 1-based
    weights = kernel(u - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])  # symmetric padding
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], indices[:, keep]


@lru_cache(maxsize=64)
def _matrix(in_length: int, out_length: int, scale: float, antialias: bool) -> np.ndarray:
    weights, indices = contributions(in_length, out_length, scale, antialias=antialias)
    m = np.zeros((out_length, in_length))
    for row in range(out_length):
        np.add.at(m[row], indices[row], weights[row])
    return m


def resize_matrix(in_length: int, out_length: int, *, antialias: bool = True) -> Tensor:
    """The one-dimensional MATLAB bicubic resize as a matrix ``[out, in]`` (float64):
    ``resized = M @ signal``."""
    return torch.from_numpy(_matrix(in_length, out_length, out_length / in_length, antialias))


def imresize(video: Tensor, size: tuple[int, int], *, antialias: bool = True) -> Tensor:
    """MATLAB's bicubic ``imresize`` of the last two dimensions of ``video`` to ``size = (H', W')``
    (no clipping, no rounding)."""
    h, w = video.shape[-2:]
    mh = resize_matrix(h, size[0], antialias=antialias).to(video.device, torch.float32)
    mw = resize_matrix(w, size[1], antialias=antialias).to(video.device, torch.float32)
    return torch.einsum("ih,...hw,jw->...ij", mh, video.float(), mw)


def quantise(video: Tensor) -> Tensor:
    """``video`` in ``[-1, 1]`` rounded to the 256 levels of an 8-bit frame."""
    return torch.round((video.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1


def check_scale(video: Tensor, scale: int) -> None:
    h, w = video.shape[-2:]
    if h % scale or w % scale:
        raise VidgenError(f"high-resolution frames of {h}x{w} do not divide by the scale {scale}",
                          hint=f"use a size that is a multiple of {scale} (e.g. data.resolution={max(h, w) // scale * scale})")


def bi(video: Tensor, scale: int) -> Tensor:
    """The BI degradation (MATLAB bicubic downsampling with antialiasing, module docstring)."""
    check_scale(video, scale)
    h, w = video.shape[-2:]
    return quantise(imresize(video, (h // scale, w // scale)))


def gaussian_kernel(size: int = BD_SIZE, sigma: float = BD_SIGMA) -> Tensor:
    """MATLAB's ``fspecial('gaussian', size, sigma)`` (float64, sums to 1)."""
    r = (size - 1) / 2
    x = np.arange(size) - r
    g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma ** 2))
    g[g < np.finfo(np.float64).eps * g.max()] = 0
    return torch.from_numpy(g / g.sum())


def blur(video: Tensor, kernel: Tensor) -> Tensor:
    """``video [..., H, W]`` filtered by ``kernel [k, k]`` (odd ``k``) with replicated borders."""
    k = kernel.shape[-1]
    shape = video.shape
    flat = video.reshape(-1, 1, *shape[-2:]).float()
    flat = F.pad(flat, (k // 2,) * 4, mode="replicate")
    return F.conv2d(flat, kernel.to(flat)[None, None]).reshape(shape)


def bd(video: Tensor, scale: int) -> Tensor:
    """The BD degradation (Gaussian blur, then every ``scale``-th pixel; module docstring)."""
    check_scale(video, scale)
    offset = max(scale // 2 - 1, 0)
    return quantise(blur(video, gaussian_kernel())[..., offset::scale, offset::scale])


def realistic(video: Tensor, scale: int, g: torch.Generator, *, blur_sigma: tuple[float, float] = (0.2, 2.0),
              sigma_max: float = 15.0, poisson_peak: tuple[float, float] = (100.0, 2000.0),
              crf: tuple[int, int] = (20, 35)) -> Tensor:
    """The realistic random degradation (module docstring); the draws come from ``g``, one per clip."""
    from vidgen.models.restore.degrade import add_noise

    check_scale(video, scale)
    b = video.shape[0]
    h, w = video.shape[-2:]
    out = []
    for i in range(b):
        sigma = float(blur_sigma[0] + (blur_sigma[1] - blur_sigma[0]) * torch.rand((), generator=g))
        size = 2 * int(math.ceil(3 * sigma)) + 1
        clip = blur(video[i], gaussian_kernel(size, sigma))
        method = ("area", "bilinear", "bicubic")[int(torch.randint(3, (), generator=g))]
        flat = clip.reshape(-1, *clip.shape[-3:])
        small = F.interpolate(flat, size=(h // scale, w // scale), mode=method,
                              **({} if method == "area" else {"align_corners": False, "antialias": True}))
        out.append(small.reshape(*clip.shape[:-2], h // scale, w // scale))
    lr = torch.stack(out).clamp(-1, 1)
    lr = add_noise(lr, g, kinds=("gaussian", "poisson"), sigma_max=sigma_max, poisson_peak=poisson_peak, crf=crf)
    lr = add_noise(lr, g, kinds=("h264",), sigma_max=0.0, poisson_peak=poisson_peak, crf=crf)
    return quantise(lr.to(video.device))


def degrade(video: Tensor, kind: str, scale: int, g: torch.Generator | None = None) -> Tensor:
    """``video`` made low-resolution by the degradation ``kind`` (``bi``, ``bd`` or ``realistic``)."""
    if kind == "bi":
        return bi(video, scale)
    if kind == "bd":
        return bd(video, scale)
    if kind == "realistic":
        return realistic(video, scale, g if g is not None else torch.Generator().manual_seed(0))
    raise VidgenError(f"unknown degradation {kind!r}", hint=f"one of {', '.join(DEGRADATIONS)}")
