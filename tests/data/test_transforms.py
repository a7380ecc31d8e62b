"""Clip transforms: one random draw per clip, applied identically to every frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidgen.config import from_dict
from vidgen.data.transforms import (
    TransformConfig,
    apply_transforms,
    resize_clip,
    resize_short_side,
    to_tensor,
    to_uint8,
)
from vidgen.errors import ConfigError


def textured_frame(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    """An asymmetric uint8 [h, w, 3] image, so flips, crops and rotations all change it."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    frame[2:6, 2:10] = 255
    return frame


def still_clip(t: int = 6, **kw) -> np.ndarray:
    return np.repeat(textured_frame(**kw)[None], t, axis=0)  # [T, H, W, 3], identical frames


@pytest.mark.parametrize("seed", range(4))
def test_random_augmentation_is_the_same_for_every_frame(seed):
    cfg = TransformConfig(crop=16, crop_mode="random", hflip=0.5, vflip=0.5, rotate=20.0)
    clip = still_clip(6)
    out = apply_transforms(clip, cfg, None, np.random.default_rng(seed))
    assert out.shape == (6, 16, 16, 3)
    for frame in out[1:]:
        np.testing.assert_array_equal(frame, out[0])
    # the same rng seed gives the same clip; the draw really is random across seeds
    again = apply_transforms(clip, cfg, None, np.random.default_rng(seed))
    np.testing.assert_array_equal(out, again)


def test_random_crops_differ_between_clips():
    cfg = TransformConfig(crop=12, crop_mode="random")
    clip = still_clip(2)
    outs = {apply_transforms(clip, cfg, None, np.random.default_rng(s)).tobytes() for s in range(8)}
    assert len(outs) > 1


def test_flips_are_correct():
    clip = np.stack([textured_frame(seed=i) for i in range(3)])
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(apply_transforms(clip, TransformConfig(hflip=1.0), None, rng), clip[:, :, ::-1])
    np.testing.assert_array_equal(apply_transforms(clip, TransformConfig(vflip=1.0), None, rng), clip[:, ::-1])
    np.testing.assert_array_equal(apply_transforms(clip, TransformConfig(), None, rng), clip)


def test_center_crop_position():
    clip = np.stack([textured_frame(seed=i) for i in range(2)])  # 24 x 32
    out = apply_transforms(clip, TransformConfig(crop=10), None, np.random.default_rng(0))
    np.testing.assert_array_equal(out, clip[:, 7:17, 11:21])
    with pytest.raises(ConfigError, match="crop"):
        apply_transforms(clip, TransformConfig(crop=30), None, np.random.default_rng(0))


def test_resize_short_side_and_exact():
    clip = still_clip(2, h=20, w=40)
    assert resize_short_side(clip, 10).shape == (2, 10, 20, 3)
    assert resize_short_side(np.swapaxes(clip, 1, 2), 10).shape == (2, 20, 10, 3)
    assert resize_clip(clip, 12, 16).shape == (2, 12, 16, 3)
    rng = np.random.default_rng(0)
    assert apply_transforms(clip, TransformConfig(resize=10), None, rng).shape == (2, 10, 20, 3)
    assert apply_transforms(clip, TransformConfig(resize_exact=(12, 16)), None, rng).shape == (2, 12, 16, 3)
    # a flat clip stays flat through resizing
    flat = np.full((1, 20, 40, 3), 77, np.uint8)
    assert (resize_clip(flat, 7, 9) == 77).all()


def test_resolution_gives_square_clips():
    clip = still_clip(3, h=20, w=40)
    out = apply_transforms(clip, TransformConfig(), 16, np.random.default_rng(0))
    assert out.shape == (3, 16, 16, 3)
    out = apply_transforms(clip, TransformConfig(resize_exact=(20, 24)), 16, np.random.default_rng(0))
    assert out.shape == (3, 16, 16, 3)
    out = apply_transforms(clip, TransformConfig(resize=10, crop=8), 16, np.random.default_rng(0))
    assert out.shape == (3, 16, 16, 3)  # an explicit smaller crop is resized up to the resolution


def test_temporal_stride():
    clip = np.stack([np.full((4, 4, 3), i, np.uint8) for i in range(8)])
    out = apply_transforms(clip, TransformConfig(temporal_stride=2), None, np.random.default_rng(0))
    assert [int(f[0, 0, 0]) for f in out] == [0, 2, 4, 6]


def test_to_tensor_to_uint8_round_trip_is_exact():
    clip = np.random.default_rng(0).integers(0, 256, (3, 5, 7, 3), dtype=np.uint8)
    x = to_tensor(clip)
    assert x.shape == (3, 3, 5, 7) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    np.testing.assert_array_equal(to_uint8(x), clip)
    full = to_tensor(np.array([[[[0, 255, 128]]]], np.uint8))
    assert full[0, 0].item() == -1.0 and full[0, 1].item() == 1.0
    assert to_uint8(torch.full((1, 3, 2, 2), 5.0)).max() == 255  # clamped


@pytest.mark.parametrize(
    "kwargs",
    [
        {"resize": 32, "resize_exact": (32, 32)},
        {"hflip": 1.5},
        {"vflip": -0.1},
        {"temporal_stride": 0},
    ],
)
def test_bad_transform_config_raises(kwargs):
    with pytest.raises(ConfigError):
        TransformConfig(**kwargs)


def test_transform_config_strict_loading():
    cfg = from_dict(TransformConfig, {"resize_exact": [12, 16], "hflip": 0.5, "crop_mode": "random"})
    assert cfg.resize_exact == (12, 16) and cfg.crop_mode == "random"
    with pytest.raises(ConfigError, match="hflp"):
        from_dict(TransformConfig, {"hflp": 0.5})
    with pytest.raises(ConfigError, match="crop_mode"):
        from_dict(TransformConfig, {"crop_mode": "middle"})
    with pytest.raises(ConfigError):
        from_dict(TransformConfig, {"temporal_stride": "two"})
