"""What every dataset shares: its config fields and the item it returns.

An item is a dict ``{"video": float [T, C, H, W] in [-1, 1], "label": int, "caption": str}``;
a DataLoader batches it into ``[B, T, C, H, W]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from vidgen.data.transforms import TransformConfig, apply_transforms, to_tensor
from vidgen.errors import ConfigError


@dataclass
class DataConfig:
    """Fields every dataset has. Each dataset's own config dataclass extends these."""

    frames: int = 16  # frames per clip
    resolution: int = 64  # clips are resolution x resolution
    seed: int = 0  # the dataset is a deterministic function of this seed
    fps: int = 8  # playback rate of written previews
    transforms: TransformConfig = field(default_factory=TransformConfig)

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ConfigError(f"data.frames must be >= 1, got {self.frames}")
        if self.resolution < 4:
            raise ConfigError(f"data.resolution must be >= 4, got {self.resolution}")
        if self.fps < 1:
            raise ConfigError(f"data.fps must be >= 1, got {self.fps}")
        if self.seed < 0:
            raise ConfigError(f"data.seed must be >= 0, got {self.seed}")


class ClipDataset(torch.utils.data.Dataset):
    """Base of the registered datasets: a map-style dataset of labelled clips.

    Subclasses set ``channels``, ``class_names`` and implement ``load_clip(index, rng)``
    returning ``(uint8 [T, H, W, C], label, caption)``; this class applies the transforms.
    """

    channels: int = 3
    class_names: list[str] = []

    def __init__(self, config: DataConfig):
        self.config = config
        self.epoch = 0

    @property
    def raw_frames(self) -> int:
        """Frames to load per clip before ``transforms.temporal_stride`` subsamples them."""
        return self.config.frames * self.config.transforms.temporal_stride

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def set_epoch(self, epoch: int) -> None:
        """Random choices (clip starts, augmentation) depend on (seed, epoch, index)."""
        self.epoch = epoch

    def rng(self, index: int, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.config.seed, self.epoch, index, salt])

    def load_clip(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, int, str]:
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        clip, label, caption = self.load_clip(index, self.rng(index))
        clip = apply_transforms(clip, self.config.transforms, self.config.resolution, self.rng(index, salt=1))
        return {"video": to_tensor(clip), "label": int(label), "caption": caption}

    def info(self) -> dict[str, Any]:
        """Facts for ``vidgen data info``."""
        return {
            "clips": len(self),
            "frames": self.config.frames,
            "resolution": self.config.resolution,
            "channels": self.channels,
            "classes": list(self.class_names),
        }
