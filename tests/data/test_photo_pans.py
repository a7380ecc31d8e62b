"""photo_pans: real photographs under a virtual camera, deterministic, split by source image, exact flow."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidgen.data import build_dataset
from vidgen.data.photo_pans import TEST_IMAGES, TRAIN_IMAGES, PhotoPansConfig
from vidgen.errors import ConfigError
from vidgen.metrics.temporal import warp


def _clip(ds, i) -> np.ndarray:
    return ((ds[i]["video"].permute(0, 2, 3, 1).numpy() + 1) * 127.5).astype(np.float32)  # [T, H, W, C] 0..255


def test_clips_are_deterministic_real_photographs_that_move():
    ds = build_dataset(PhotoPansConfig(frames=6, resolution=32, num_clips=8, seed=3))
    a, b = ds[5], build_dataset(PhotoPansConfig(frames=6, resolution=32, num_clips=8, seed=3))[5]
    assert a["video"].shape == (6, 3, 32, 32) and torch.equal(a["video"], b["video"])
    assert a["caption"].startswith("a camera panning over ") and ds.class_names[a["label"]] in a["caption"]
    v = _clip(ds, 5)
    assert v.std() > 10 and np.abs(v[1:] - v[:-1]).mean() > 0.5  # textured, and the camera moves


def test_the_test_split_holds_other_source_images():
    assert not set(TRAIN_IMAGES) & set(TEST_IMAGES)
    train = build_dataset(PhotoPansConfig(frames=2, resolution=16, num_clips=64))
    test = build_dataset(PhotoPansConfig(frames=2, resolution=16, num_clips=64, split="test"))
    assert set(train.class_names) == set(TRAIN_IMAGES) and set(test.class_names) == set(TEST_IMAGES)
    assert {test.class_names[test[i]["label"]] for i in range(64)} <= set(TEST_IMAGES)
    with pytest.raises(ConfigError, match="not images of skimage.data"):
        PhotoPansConfig(images=("nosuchphoto",))


def test_the_exact_flow_moves_each_frame_onto_the_next():
    ds = build_dataset(PhotoPansConfig(frames=6, resolution=48, num_clips=6, seed=1))
    for i in range(6):
        v = _clip(ds, i)
        flow, valid = ds.flow(i)
        assert flow.shape == (5, 48, 48, 2) and valid.shape == (5, 48, 48) and valid.mean() > 0.8
        for t in range(5):
            moved = np.square(warp(v[t], flow[t])[valid[t]] - v[t + 1][valid[t]]).mean()
            still = np.square(v[t][valid[t]] - v[t + 1][valid[t]]).mean()
            assert moved < 0.25 * still + 4.0, (i, t, moved, still)  # resampling noise only
        back, valid_back = ds.flow(i, reverse=True)  # frame t + 1 brought onto frame t
        for t in range(5):
            moved = np.square(warp(v[t + 1], back[t])[valid_back[t]] - v[t][valid_back[t]]).mean()
            still = np.square(v[t][valid_back[t]] - v[t + 1][valid_back[t]]).mean()
            assert moved < 0.25 * still + 4.0, (i, t, moved, still)


def test_items_carry_their_flows_on_request():
    plain = build_dataset(PhotoPansConfig(frames=4, resolution=24, num_clips=2, seed=3))
    ds = build_dataset(PhotoPansConfig(frames=4, resolution=24, num_clips=2, seed=3, with_flow=True))
    item = ds[1]
    assert "flow" not in plain[1] and torch.equal(item["video"], plain[1]["video"])
    assert item["flow"].shape == item["flow_reverse"].shape == (3, 2, 24, 24)
    np.testing.assert_array_equal(item["flow"].permute(0, 2, 3, 1).numpy(), ds.flow(1)[0])
    np.testing.assert_array_equal(item["flow_reverse"].permute(0, 2, 3, 1).numpy(), ds.flow(1, reverse=True)[0])


def test_user_photographs_join_the_split(tmp_path):
    import cv2

    image = (np.random.default_rng(0).random((80, 90, 3)) * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "mine.png"), image)
    ds = build_dataset(PhotoPansConfig(frames=2, resolution=16, num_clips=4, images=("coffee",),
                                       extra_dir=str(tmp_path)))
    assert ds.class_names == ["coffee", "mine"]
