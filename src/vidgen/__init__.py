"""vidgen: train, sample, evaluate and apply deep generative models of video.

Tensors at every public boundary are float ``[B, T, C, H, W]`` in ``[-1, 1]``; at the file
boundary, uint8 ``[T, H, W, C]``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["load", "VideoGenerator", "VideoPredictor", "VideoVAE", "io", "__version__"]

if TYPE_CHECKING:
    from vidgen import io
    from vidgen.api import VideoGenerator, VideoPredictor, VideoVAE, load

# imported on first use (PEP 562): ``import vidgen`` stays cheap, so ``vidgen --help`` and the
# light modules (config, registry, errors) load without torch, PyAV or OpenCV
_LAZY = {"io": "vidgen.io", "api": "vidgen.api", "load": "vidgen.api", "VideoGenerator": "vidgen.api",
         "VideoPredictor": "vidgen.api", "VideoVAE": "vidgen.api"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'vidgen' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if name in ("io", "api") else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
