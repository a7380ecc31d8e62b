"""Metrics of generated and predicted video.

``vidgen.metrics.frame`` holds the frame-quality metrics of next-frame prediction
benchmarks (MSE, MAE, PSNR, SSIM per frame, on frames rescaled to [0, 1]); see
``docs/metrics.md`` for the exact formulas and conventions. Its public names
(``frame.__all__``) are re-exported here.
"""

from __future__ import annotations

from vidgen.metrics import frame
from vidgen.metrics.frame import *  # noqa: F401,F403 (exactly frame.__all__)

__all__ = list(frame.__all__)
