"""Metrics of generated and predicted video.

Every metric is registered in ``vidgen.registry.METRICS`` by name or name pattern
(``fvd{N}_{T}f``, ``kvd{N}_{T}f``, ``cond_acc{N}``, ``frames``) with what it needs:
:mod:`~vidgen.metrics.generative` (metrics of generated clips), :mod:`~vidgen.metrics.cond_acc`,
:mod:`~vidgen.metrics.evaluate` (``frames``); FVD's parts are in :mod:`~vidgen.metrics.fvd`
(with ``protocols``, ``detectors``, ``stats``, ``i3d``), domain evaluators in
:mod:`~vidgen.metrics.evaluator` (and ``evaluator_train``).

``vidgen.metrics.frame`` holds the frame-quality metrics of next-frame prediction
benchmarks (MSE, MAE, PSNR, SSIM per frame, on frames rescaled to [0, 1]); see
``docs/metrics.md`` for the exact formulas and conventions. Its public names
(``frame.__all__``) are re-exported here.
"""

from __future__ import annotations

from vidgen.metrics import frame
from vidgen.metrics.frame import *  # noqa: F401,F403 (exactly frame.__all__)

__all__ = list(frame.__all__)
