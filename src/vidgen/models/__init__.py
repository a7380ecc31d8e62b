"""Model families. Importing this package registers every architecture."""

from __future__ import annotations

from typing import Any

from torch import nn

from vidgen.models import diffusion  # noqa: F401
from vidgen.models import gan  # noqa: F401
from vidgen.models import predictor  # noqa: F401
from vidgen.models import restore  # noqa: F401
from vidgen.models import vae  # noqa: F401
from vidgen.models import vsr  # noqa: F401
from vidgen.registry import MODELS


def build_model(config: Any, *, frames: int, resolution: int, channels: int, num_classes: int = 0) -> nn.Module:
    """Instantiate the registered model configured by ``config`` for clips ``[T, C, H, W]``."""
    entry = MODELS.get(MODELS.name_of_config(type(config)))
    return entry.obj(config=config, frames=frames, resolution=resolution, channels=channels, num_classes=num_classes)
