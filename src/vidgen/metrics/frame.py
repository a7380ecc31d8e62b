"""Frame-quality metrics of next-frame prediction: MSE, MAE, PSNR and SSIM per frame.

Inputs follow the product's convention: prediction and target are float
``[B, T, C, H, W]`` in ``[-1, 1]``. Every metric is computed on frames rescaled to
``[0, 1]`` by ``(x + 1) / 2``, because that is the scale of the Moving MNIST literature
and of OpenSTL's tables:

- ``mse`` / ``mae``: squared / absolute error SUMMED over the ``C * H * W`` values of one
  frame, then averaged over frames and clips (OpenSTL's ConvLSTM reports MSE 29.80 on
  64x64x1 Moving MNIST in these units). ``mse_pixel`` / ``mae_pixel`` are the same
  errors averaged over the pixels instead (``mse / (C * H * W)``).
- ``psnr``: mean of per-frame PSNR, ``10 * log10(1 / mse_pixel(frame))`` with data range
  1. The MSE of a frame is floored at :data:`PSNR_MSE_FLOOR` (1e-10), so identical
  frames give :data:`PSNR_MAX_DB` (100 dB) instead of ``inf``.
  ``psnr_of_mean_mse`` is the other convention found in papers: the PSNR of the
  dataset-mean per-pixel MSE (always <= ``psnr``, by Jensen's inequality).
- ``ssim``: Wang et al. (2004) with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
  K2 = 0.03, data range 1, population (co)variances, averaged over the "valid" region
  only (no padding), per channel then over channels. It equals scikit-image's
  ``structural_similarity(x, y, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=1, channel_axis=...)`` on the [0, 1] frames.

"Per frame" means one value per (clip, future-frame index); the per-frame functions
return ``[B, T]`` and :class:`FrameMetrics` streams them over a whole test set.
See ``docs/metrics.md`` for the formulas and how they compare with published numbers.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "FrameMetrics",
    "PSNR_MAX_DB",
    "PSNR_MSE_FLOOR",
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_SIGMA",
    "SSIM_WINDOW",
    "frame_metrics",
    "mae_per_frame",
    "mse_per_frame",
    "psnr_per_frame",
    "ssim_per_frame",
]

PSNR_MSE_FLOOR = 1e-10  # per-pixel MSE floor on the [0, 1] scale ...
PSNR_MAX_DB = -10.0 * math.log10(PSNR_MSE_FLOOR)  # ... so PSNR is capped at 100 dB

SSIM_WINDOW = 11  # Gaussian window side, as in Wang et al. 2004
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


# ---------------------------------------------------------------------------------------
# input checks and scaling
# ---------------------------------------------------------------------------------------


def _check_pair(pred: torch.Tensor, target: torch.Tensor, *, need_ssim: bool = False) -> None:
    """Raise ValueError (what was wrong, how to fix it) unless both are [B, T, C, H, W] floats."""
    for name, x in (("pred", pred), ("target", target)):
        if not isinstance(x, torch.Tensor):
            raise ValueError(
                f"{name} must be a torch.Tensor of shape [B, T, C, H, W], got {type(x).__name__}; "
                "convert it with torch.as_tensor(...)"
            )
        if x.ndim != 5:
            raise ValueError(
                f"{name} must have 5 dims [B, T, C, H, W], got {x.ndim} dims with shape "
                f"{tuple(x.shape)}; add the missing axes (e.g. x[None] for a single clip "
                "[T, C, H, W], or x[:, :, None] for grayscale [B, T, H, W])"
            )
        if not x.is_floating_point():
            # uint8 frames would be read as [-1, 1] values and give nonsense silently
            raise ValueError(
                f"{name} must be a float tensor in [-1, 1], got dtype {x.dtype}; "
                "convert uint8 frames with x.float() / 127.5 - 1"
            )
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target shapes differ: pred {tuple(pred.shape)} vs target "
            f"{tuple(target.shape)}; both must be [B, T, C, H, W] with the same sizes "
            "(crop the target to the predicted frames, e.g. target[:, -pred.shape[1]:])"
        )
    if pred.device != target.device:
        raise ValueError(
            f"pred is on {pred.device} but target is on {target.device}; move both to one "
            "device, e.g. target.to(pred.device)"
        )
    if need_ssim and min(pred.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs frames of at least {SSIM_WINDOW}x{SSIM_WINDOW} (its Gaussian window), "
            f"got H x W = {pred.shape[-2]} x {pred.shape[-1]}; upsample the frames or leave "
            "SSIM out"
        )


def _to_unit(x: torch.Tensor, *, dtype: torch.dtype, clamp: bool) -> torch.Tensor:
    """[-1, 1] -> [0, 1] in ``dtype``; ``clamp`` first clips values outside [-1, 1]."""
    x = x.detach().to(dtype)
    if clamp:
        x = x.clamp(-1.0, 1.0)
    return (x + 1.0) * 0.5


def _unit_diff(pred: torch.Tensor, target: torch.Tensor, *, dtype: torch.dtype, clamp: bool) -> torch.Tensor:
    """Checked ``pred - target`` on the [0, 1] scale, ``[B, T, C, H, W]`` in ``dtype`` (only ``pred`` clamped)."""
    _check_pair(pred, target)
    return _to_unit(pred, dtype=dtype, clamp=clamp) - _to_unit(target, dtype=dtype, clamp=False)


# ---------------------------------------------------------------------------------------
# per-frame functions: [B, T, C, H, W] pairs -> [B, T]
# ---------------------------------------------------------------------------------------


def mse_per_frame(
    pred: torch.Tensor, target: torch.Tensor, *, dtype: torch.dtype = torch.float64, clamp: bool = False
) -> torch.Tensor:
    """Squared error on the [0, 1] scale, summed over the pixels of each frame.

    Args:
        pred, target: float ``[B, T, C, H, W]`` in ``[-1, 1]``.
        dtype: computation dtype (float64 by default, for exact sums).
        clamp: clip ``pred`` to ``[-1, 1]`` first (e.g. for a model without a final tanh).

    Returns:
        ``[B, T]`` in ``dtype``: ``sum_{c,h,w} (p01 - t01)^2``. Divide by ``C * H * W``
        for the per-pixel MSE.
    """
    return _unit_diff(pred, target, dtype=dtype, clamp=clamp).square().sum(dim=(2, 3, 4))


def mae_per_frame(
    pred: torch.Tensor, target: torch.Tensor, *, dtype: torch.dtype = torch.float64, clamp: bool = False
) -> torch.Tensor:
    """Absolute error on the [0, 1] scale, summed over the pixels of each frame.

    Args:
        pred, target: float ``[B, T, C, H, W]`` in ``[-1, 1]``.
        dtype, clamp: as in :func:`mse_per_frame`.

    Returns:
        ``[B, T]`` in ``dtype``: ``sum_{c,h,w} |p01 - t01|``.
    """
    return _unit_diff(pred, target, dtype=dtype, clamp=clamp).abs().sum(dim=(2, 3, 4))


def _psnr_from_mse_pixel(mse_pixel: torch.Tensor) -> torch.Tensor:
    """PSNR in dB for data range 1, with the documented floor (identical frames -> 100 dB)."""
    return -10.0 * torch.log10(mse_pixel.clamp_min(PSNR_MSE_FLOOR))


def psnr_per_frame(
    pred: torch.Tensor, target: torch.Tensor, *, dtype: torch.dtype = torch.float64, clamp: bool = False
) -> torch.Tensor:
    """PSNR of each frame on the [0, 1] scale (data range 1).

    Args:
        pred, target: float ``[B, T, C, H, W]`` in ``[-1, 1]``.
        dtype, clamp: as in :func:`mse_per_frame`.

    Returns:
        ``[B, T]`` in dB: ``10 * log10(1 / max(mse_pixel, 1e-10))``, so at most 100 dB.
    """
    _check_pair(pred, target)
    mse = mse_per_frame(pred, target, dtype=dtype, clamp=clamp)
    return _psnr_from_mse_pixel(mse / (pred.shape[2] * pred.shape[3] * pred.shape[4]))


def _gaussian_1d(*, size: int, sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Normalised 1-D Gaussian taps; their outer product is Wang et al.'s 2-D window."""
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def ssim_per_frame(
    pred: torch.Tensor, target: torch.Tensor, *, dtype: torch.dtype = torch.float64, clamp: bool = False
) -> torch.Tensor:
    """Mean SSIM of each frame (Wang et al. 2004, Gaussian 11x11 window, valid region).

    Local statistics use the normalised Gaussian window ``w`` (sigma 1.5) over every
    position where it fits inside the frame (no padding), with population moments::

        mu_x = w * x,  s_x^2 = w * x^2 - mu_x^2,  s_xy = w * (x y) - mu_x mu_y
        S = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))

    with ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2`` and ``L = 1`` on the [0, 1] scale. The
    SSIM map is averaged over positions, then over channels.

    Args:
        pred, target: float ``[B, T, C, H, W]`` in ``[-1, 1]``, ``H, W >= 11``.
        dtype, clamp: as in :func:`mse_per_frame`.

    Returns:
        ``[B, T]`` in ``dtype``, each value in ``[-1, 1]`` (1 for identical frames).
    """
    _check_pair(pred, target, need_ssim=True)
    b, t, c, h, w = pred.shape
    x = _to_unit(pred, dtype=dtype, clamp=clamp).reshape(b * t * c, 1, h, w)
    y = _to_unit(target, dtype=dtype, clamp=False).reshape(b * t * c, 1, h, w)
    if x.shape[0] == 0:
        return torch.zeros(b, t, dtype=dtype, device=pred.device)

    g = _gaussian_1d(size=SSIM_WINDOW, sigma=SSIM_SIGMA, dtype=dtype, device=x.device)
    # chunks of about 2^24 pixels bound the ~15 temporary maps of one pass (a large eval
    # batch of 256x256 RGB frames would otherwise need several GB next to the model)
    chunk = max(1, _SSIM_CHUNK_PIXELS // (h * w))
    per_image = torch.cat([_ssim_images(xs, ys, g) for xs, ys in zip(x.split(chunk), y.split(chunk))])
    return per_image.view(b, t, c).mean(dim=2)


_SSIM_CHUNK_PIXELS = 1 << 24


def _ssim_images(x: torch.Tensor, y: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Mean valid-region SSIM of single-channel images ``[N, 1, H, W]`` on [0, 1] -> ``[N]``."""
    n = x.shape[0]
    # one separable "valid" filtering pass over the five maps stacked along the batch axis
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=0)  # [5N, 1, H, W]
    filt = F.conv2d(F.conv2d(stack, g.view(1, 1, 1, -1)), g.view(1, 1, -1, 1))  # [5N, 1, H-10, W-10]
    mu_x, mu_y, e_xx, e_yy, e_xy = filt.split(n, dim=0)

    c1 = (SSIM_K1 * 1.0) ** 2  # data range L = 1
    c2 = (SSIM_K2 * 1.0) ** 2
    mu_xy = mu_x * mu_y
    mu_xx = mu_x * mu_x
    mu_yy = mu_y * mu_y
    var_x = e_xx - mu_xx  # population moments (divide by the window weight sum, 1)
    var_y = e_yy - mu_yy
    cov_xy = e_xy - mu_xy
    ssim_map = ((2 * mu_xy + c1) * (2 * cov_xy + c2)) / ((mu_xx + mu_yy + c1) * (var_x + var_y + c2))
    return ssim_map.mean(dim=(1, 2, 3))


def frame_metrics(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    ssim: bool = True,
    dtype: torch.dtype = torch.float64,
    clamp: bool = False,
) -> dict[str, Any]:
    """All frame metrics of one batch, as :meth:`FrameMetrics.compute` returns them.

    Args:
        pred, target: float ``[B, T, C, H, W]`` in ``[-1, 1]``.
        ssim, dtype, clamp: as in :class:`FrameMetrics`.
    """
    metrics = FrameMetrics(ssim=ssim, dtype=dtype, clamp=clamp)
    metrics.update(pred, target)
    return metrics.compute()


# ---------------------------------------------------------------------------------------
# streaming accumulator
# ---------------------------------------------------------------------------------------


class FrameMetrics:
    """Streams MSE, MAE, PSNR and SSIM over a test set, one batch at a time.

    Only per-frame-index sums (float64, length T) are kept, never the frames, so memory is
    constant and the result does not depend on how clips are split into batches.

    Example::

        metrics = FrameMetrics()
        for context, future in loader:                      # future: [B, T, C, H, W]
            metrics.update(model.predict(context), future)  # same T on every call
        result = metrics.compute()  # {"mse": ..., "ssim": ..., "per_frame": {...}, "clips": n}

    Args:
        ssim: also compute SSIM (needs ``H, W >= 11``; the costliest metric by far).
        dtype: computation dtype of the per-frame values (float64 by default; float32 is
            faster on GPUs with slow float64 and agrees to about 1e-6).
        clamp: clip predictions to ``[-1, 1]`` before every metric.
    """

    def __init__(self, *, ssim: bool = True, dtype: torch.dtype = torch.float64, clamp: bool = False):
        if not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating dtype such as torch.float64, got {dtype}")
        self.ssim = ssim
        self.dtype = dtype
        self.clamp = clamp
        self.reset()

    def reset(self) -> None:
        """Forget every update."""
        self._frame_shape: tuple[int, int, int, int] | None = None  # (T, C, H, W)
        self._clips = 0
        self._sums: dict[str, torch.Tensor] = {}  # name -> float64 [T], summed over clips

    @property
    def clips(self) -> int:
        """Clips seen so far."""
        return self._clips

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of clips.

        Args:
            pred, target: float ``[B, T, C, H, W]`` in ``[-1, 1]``; any ``B``, but ``T``,
                ``C``, ``H``, ``W`` must match the first update.
        """
        _check_pair(pred, target, need_ssim=self.ssim)
        shape = tuple(pred.shape[1:])
        if self._frame_shape is not None and shape != self._frame_shape:
            t0, c0, h0, w0 = self._frame_shape
            what = "T (frames per clip)" if shape[0] != t0 else "C, H, W (frame size)"
            raise ValueError(
                f"{what} changed between updates: first update had [B, {t0}, {c0}, {h0}, {w0}], "
                f"this one [B, {', '.join(map(str, shape))}]; predict the same frames for every "
                "clip, or use one FrameMetrics per horizon (call reset() to start over)"
            )
        with torch.no_grad():
            pixels = shape[1] * shape[2] * shape[3]
            mse = mse_per_frame(pred, target, dtype=self.dtype, clamp=self.clamp)  # [B, T]
            values = {
                "mse": mse,
                "mae": mae_per_frame(pred, target, dtype=self.dtype, clamp=self.clamp),
                "psnr": _psnr_from_mse_pixel(mse / pixels),
            }
            if self.ssim:
                values["ssim"] = ssim_per_frame(pred, target, dtype=self.dtype, clamp=self.clamp)
            self._add({k: v.to(torch.float64).sum(dim=0) for k, v in values.items()}, pred.shape[0])
        self._frame_shape = shape  # only after the batch was accepted

    def _add(self, sums: dict[str, torch.Tensor], clips: int) -> None:
        for key, value in sums.items():
            if key in self._sums:
                # kept on the first batch's device, so GPU updates never wait for the host
                self._sums[key] += value.to(self._sums[key].device)
            else:
                self._sums[key] = value.clone()
        self._clips += clips

    def merge(self, other: "FrameMetrics") -> None:
        """Add the clips another accumulator has seen (e.g. from another process or shard)."""
        if other._frame_shape is None:
            return
        if self._frame_shape is not None and other._frame_shape != self._frame_shape:
            raise ValueError(
                f"cannot merge accumulators of different frame shapes [T, C, H, W]: "
                f"{list(self._frame_shape)} vs {list(other._frame_shape)}"
            )
        if other.ssim != self.ssim:
            raise ValueError("cannot merge an accumulator with SSIM into one without (or back)")
        self._add(other._sums, other._clips)
        self._frame_shape = other._frame_shape

    def compute(self) -> dict[str, Any]:
        """The averages over every clip and frame seen.

        Returns:
            ``{"mse", "mae"}``: per-frame summed errors on [0, 1], averaged over frames and
            clips; ``{"mse_pixel", "mae_pixel"}``: the same per pixel; ``"psnr"``: mean of
            per-frame PSNR; ``"psnr_of_mean_mse"``: PSNR of ``mse_pixel``; ``"ssim"``
            (when enabled): mean of per-frame SSIM; ``"per_frame"``: ``{"mse", "mae",
            "psnr"[, "ssim"]}`` lists of T floats, the average at each future-frame index;
            ``"clips"``: number of clips. All values are Python floats.
        """
        if self._frame_shape is None or self._clips == 0:
            raise ValueError(
                "FrameMetrics.compute() called before any clip was added; call "
                "update(pred, target) with at least one clip first"
            )
        _, c, h, w = self._frame_shape
        pixels = c * h * w
        curves = {k: (v.cpu() / self._clips) for k, v in self._sums.items()}  # float64 [T]
        means = {k: float(v.mean()) for k, v in curves.items()}
        mse_pixel = means["mse"] / pixels
        result: dict[str, Any] = {
            "mse": means["mse"],
            "mae": means["mae"],
            "mse_pixel": mse_pixel,
            "mae_pixel": means["mae"] / pixels,
            "psnr": means["psnr"],
            "psnr_of_mean_mse": -10.0 * math.log10(max(mse_pixel, PSNR_MSE_FLOOR)),
        }
        if self.ssim:
            result["ssim"] = means["ssim"]
        result["per_frame"] = {k: curves[k].tolist() for k in ("mse", "mae", "psnr", "ssim") if k in curves}
        result["clips"] = self._clips
        return result

    def __repr__(self) -> str:
        shape = "no data" if self._frame_shape is None else f"[B, {', '.join(map(str, self._frame_shape))}]"
        return f"FrameMetrics(clips={self._clips}, frames={shape}, ssim={self.ssim}, dtype={self.dtype})"
