"""Super-resolution quality by the published protocol (BasicSR's, which the VSR papers report).

- **Y channel**: ITU-R BT.601 luma of 8-bit RGB as BasicSR's ``bgr2ycbcr(..., y_only=True)``:
  ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` for ``R, G, B`` in 0..255, so ``Y`` in
  16..235 (float, not rounded).
- **PSNR** ``= 10 log10(255^2 / MSE)`` per frame, on Y or on RGB (all three channels).
- **SSIM** per frame as BasicSR's ``calculate_ssim``: an 11x11 Gaussian window of sigma 1.5,
  ``valid`` filtering (the 5-pixel border of the map dropped), ``C1 = (0.01 * 255)^2``,
  ``C2 = (0.03 * 255)^2``; on RGB the mean of the three channels' SSIM.
- **border crop** ``crop`` pixels off each side before either (default 0).
- Per clip the mean over its frames; over a test set the mean over clips.

Frames are uint8 ``[T, H, W, C]`` (the output as a video file holds it). Registered as
``vsr_psnr_y``, ``vsr_ssim_y``, ``vsr_psnr_rgb``, ``vsr_ssim_rgb`` (``_crop{N}`` for a border
crop); each reports all four and the clips' tOF (:func:`vidgen.metrics.temporal.tof`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vidgen.errors import VidgenError
from vidgen.registry import METRICS

Y_WEIGHTS = (65.481, 128.553, 24.966)  # R, G, B (BT.601, 0..255 in, 16..235 out)


def rgb_to_y(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB ``[..., H, W, 3]`` -> float64 Y ``[..., H, W]`` in 16..235 (a gray frame is its own Y)."""
    x = np.asarray(frames).astype(np.float64)
    if x.shape[-1] == 1:
        return x[..., 0]
    return 16.0 + x @ (np.asarray(Y_WEIGHTS) / 255.0)


def _crop(x: np.ndarray, crop: int) -> np.ndarray:
    return x[..., crop:x.shape[-2] - crop, crop:x.shape[-1] - crop] if crop else x


def psnr(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """PSNR per frame of float images in the 0..255 range ``[T, H, W]`` or ``[T, C, H, W]``."""
    mse = ((pred - target) ** 2).reshape(len(pred), -1).mean(axis=1)
    return np.where(mse == 0, np.inf, 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-300)))


def _window() -> torch.Tensor:
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    g = g / g.sum()
    return torch.from_numpy(np.outer(g, g))[None, None]  # [1, 1, 11, 11] float64


def ssim(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """SSIM per frame (BasicSR's, module docstring) of float images in 0..255, ``[T, H, W]`` or
    ``[T, C, H, W]`` (the mean over channels)."""
    a, b = torch.from_numpy(np.asarray(pred, np.float64)), torch.from_numpy(np.asarray(target, np.float64))
    if a.ndim == 3:
        a, b = a[:, None], b[:, None]
    if min(a.shape[-2:]) < 11:
        raise VidgenError(f"SSIM needs frames of at least 11x11 after the crop, got {list(a.shape[-2:])}")
    t, c = a.shape[:2]
    a, b = a.reshape(t * c, 1, *a.shape[-2:]), b.reshape(t * c, 1, *b.shape[-2:])
    w = _window()
    mu_a, mu_b = F.conv2d(a, w), F.conv2d(b, w)
    var_a = F.conv2d(a * a, w) - mu_a ** 2
    var_b = F.conv2d(b * b, w) - mu_b ** 2
    cov = F.conv2d(a * b, w) - mu_a * mu_b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    m = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return m.reshape(t, c, -1).mean(dim=2).mean(dim=1).numpy()


def frame_scores(pred: np.ndarray, target: np.ndarray, *, crop: int = 0) -> dict[str, np.ndarray]:
    """Per-frame ``psnr_y``, ``ssim_y``, ``psnr_rgb``, ``ssim_rgb`` of uint8 ``[T, H, W, C]`` clips."""
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise VidgenError(f"the output {list(pred.shape)} and its reference {list(target.shape)} differ in shape")
    y_p, y_t = _crop(rgb_to_y(pred), crop), _crop(rgb_to_y(target), crop)
    rgb_p = _crop(np.moveaxis(pred.astype(np.float64), -1, 1), crop)  # [T, C, H, W]
    rgb_t = _crop(np.moveaxis(target.astype(np.float64), -1, 1), crop)
    return {"psnr_y": psnr(y_p, y_t), "ssim_y": ssim(y_p, y_t), "psnr_rgb": psnr(rgb_p, rgb_t),
            "ssim_rgb": ssim(rgb_p, rgb_t)}


def clip_scores(pred: np.ndarray, target: np.ndarray, *, crop: int = 0, with_tof: bool = True) -> dict[str, float]:
    """The clip's means over its frames (and its tOF against the target)."""
    out = {k: float(np.mean(v)) for k, v in frame_scores(pred, target, crop=crop).items()}
    if with_tof and len(pred) > 1:
        from vidgen.metrics.temporal import tof

        out["tof"] = float(tof(pred, target))
    return out


def average(scores: list[dict[str, float]]) -> dict[str, float]:
    """Mean over clips of :func:`clip_scores` results."""
    return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}


def _parse(name: str, params: dict[str, Any]) -> dict[str, Any]:
    params["crop"] = params.get("crop") or 0
    return params


@METRICS.register("vsr_{psnr|ssim}_{y|rgb}", pattern=r"vsr_(?P<kind>psnr|ssim)_(?P<space>y|rgb)(?:_crop(?P<crop>\d+))?",
                  parse=_parse, needs=("upscale", "test set"), example="vsr_psnr_y",
                  summary="super-resolution PSNR/SSIM on Y (BT.601) or RGB, per clip then over clips, and tOF; "
                          "_crop{N} crops N pixels off each border")
def evaluate_upscaler(model: Any, dataset: Any, *, num: int = 100, crop: int = 0, with_tof: bool = True,
                      **_: Any) -> dict[str, Any]:
    """Score an upscaler on the first ``num`` clips of ``dataset``: each high-resolution clip is degraded
    by the model's own degradation (:meth:`~vidgen.models.vsr.inference.VideoUpscaler.degrade`, clip
    ``i`` seeded by ``i``), upscaled, and compared with itself. Also the same for bicubic upscaling
    (OpenCV's) of the same input, as the baseline row."""
    import cv2

    from vidgen.convert import to_uint8

    count = min(num, len(dataset))
    ours, bicubic = [], []
    for i in range(count):
        hr = to_uint8(dataset[i]["video"])  # [T, H, W, C]
        lr = model.degrade(hr, seed=i)
        up = model.upscale(lr)
        h, w = hr.shape[1:3]
        base = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in lr]).reshape(hr.shape)
        ours.append(clip_scores(up, hr, crop=crop, with_tof=with_tof))
        bicubic.append(clip_scores(base, hr, crop=crop, with_tof=with_tof))
    return {"clips": count, "crop": crop, "scale": model.scale, "degradation": model.degradation,
            **average(ours), "bicubic": average(bicubic)}


@METRICS.register("recon", needs=("reconstruct", "test set"), example="recon",
                  summary="autoencoder reconstruction: PSNR/SSIM on RGB and Y of each clip decoded from its "
                          "encoding, per clip then over clips, and tOF")
def evaluate_autoencoder(model: Any, dataset: Any, *, num: int = 100, crop: int = 0, with_tof: bool = True,
                         **_: Any) -> dict[str, Any]:
    """Score an autoencoder (``reconstruct``: ``vae3d``, ``frame_vae``) on the first ``num`` clips of
    ``dataset``: each clip is encoded, decoded from its posterior mean and compared with itself."""
    from vidgen.convert import to_uint8

    count = min(num, len(dataset))
    scores = []
    for i in range(count):
        item = dataset[i]
        label = item["label"] if getattr(model, "num_classes", 0) else None
        recon = model.reconstruct(item["video"][None], label=label)[0]
        scores.append(clip_scores(to_uint8(recon), to_uint8(item["video"]), crop=crop, with_tof=with_tof))
    return {"clips": count, "crop": crop, **average(scores)}
