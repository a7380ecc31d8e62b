"""Small helpers the model tests share (importable as ``helpers``: tests/conftest.py puts this folder on the path)."""

from __future__ import annotations

from typing import Any

import torch


def clips(b: int, t: int, c: int, s: int, seed: int = 0) -> torch.Tensor:
    """``b`` seeded random clips ``[b, t, c, s, s]`` in ``[-1, 1]``."""
    return torch.rand(b, t, c, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def build(model_cls: type, config_cls: type, defaults: dict[str, Any], *, frames: int, resolution: int,
          channels: int, num_classes: int = 0, **options: Any) -> Any:
    """A small ``model_cls`` with ``defaults`` updated by ``options``, its weights seeded (torch seed 0)."""
    torch.manual_seed(0)
    return model_cls(config=config_cls(**{**defaults, **options}), frames=frames, resolution=resolution,
                     channels=channels, num_classes=num_classes)
