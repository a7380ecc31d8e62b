"""Metrics of generated and predicted video.

``vidgen.metrics.frame`` holds the frame-quality metrics of next-frame prediction
benchmarks (MSE, MAE, PSNR, SSIM per frame, on frames rescaled to [0, 1]); see
``docs/metrics.md`` for the exact formulas and conventions.
"""

from __future__ import annotations

from vidgen.metrics.frame import (
    PSNR_MAX_DB,
    PSNR_MSE_FLOOR,
    SSIM_K1,
    SSIM_K2,
    SSIM_SIGMA,
    SSIM_WINDOW,
    FrameMetrics,
    frame_metrics,
    mae_per_frame,
    mse_per_frame,
    psnr_per_frame,
    ssim_per_frame,
)

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
