"""The data layer: built-in synthetic sets, MNIST digits and folders of real videos.

``build_dataset(config)`` turns any registered dataset config into a dataset whose items
are ``{"video": float [T, C, H, W] in [-1, 1], "label": int, "caption": str}``.
"""

from __future__ import annotations

from vidgen.data.base import ClipDataset, DataConfig
from vidgen.data.transforms import TransformConfig
from vidgen.registry import DATASETS

# importing the modules registers their datasets
from vidgen.data import synthetic as _synthetic  # noqa: E402,F401
from vidgen.data import digits as _digits  # noqa: E402,F401
from vidgen.data import folder as _folder  # noqa: E402,F401
from vidgen.data import photo_pans as _photo_pans  # noqa: E402,F401


def build_dataset(config: DataConfig) -> ClipDataset:
    """Instantiate the registered dataset configured by ``config``."""
    name = DATASETS.name_of_config(type(config))
    return DATASETS.get(name).obj(config)


__all__ = ["ClipDataset", "DataConfig", "TransformConfig", "build_dataset", "DATASETS"]
