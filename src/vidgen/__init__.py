"""vidgen: train, sample, evaluate and apply deep generative models of video.

Tensors at every public boundary are float ``[B, T, C, H, W]`` in ``[-1, 1]``; at the file
boundary, uint8 ``[T, H, W, C]``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from vidgen import io  # noqa: E402
from vidgen.api import VideoGenerator, VideoPredictor, VideoVAE, load  # noqa: E402

__all__ = ["load", "VideoGenerator", "VideoPredictor", "VideoVAE", "io", "__version__"]
