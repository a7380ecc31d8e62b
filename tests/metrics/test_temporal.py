"""Temporal metrics on hand-built clips with known answers (docs/metrics.md has the formulas)."""

from __future__ import annotations

import numpy as np
import pytest

from vidgen.data import build_dataset
from vidgen.data.photo_pans import PhotoPansConfig
from vidgen.errors import VidgenError
from vidgen.metrics.temporal import flicker_index, tof, warping_error


def _texture(h=32, w=32, seed=0) -> np.ndarray:
    import cv2

    noise = np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 1.5)  # smooth enough for optical flow


def _u8(frames: np.ndarray) -> np.ndarray:
    return np.clip(frames * 255 + 0.5, 0, 255).astype(np.uint8)


def test_a_static_clip_has_no_warping_error_and_no_flicker():
    clip = _u8(np.repeat(_texture()[None], 6, axis=0))
    zero = np.zeros((5, 32, 32, 2), np.float32)
    assert warping_error(clip, flows=zero) == 0.0
    assert warping_error(clip) == pytest.approx(0.0, abs=1e-6)  # DIS finds no motion either
    assert flicker_index(clip) == 0.0 and tof(clip, clip) == 0.0


def test_gain_jitter_raises_the_warping_error_by_the_predicted_amount():
    x = _texture(seed=1)
    gains = np.array([1.0, 0.8, 1.1, 0.9, 1.05, 0.85])
    clip = (x[None] * gains[:, None, None, None]).astype(np.float32)  # values stay in [0, 1]
    zero = np.zeros((5, 32, 32, 2), np.float32)
    got = warping_error(_u8(clip), flows=zero)
    # frames x g_t: E_warp = mean(x^2) * mean over t of (g_t+1 - g_t)^2, up to uint8 rounding
    expected = float(np.square(x).mean() * np.square(np.diff(gains)).mean())
    assert got == pytest.approx(expected, rel=0.02)
    # the flicker index sees it too: mean |change of the mean colour|, against a steady reference
    steady = _u8(np.repeat(x[None], 6, axis=0))
    assert flicker_index(_u8(clip), steady) == pytest.approx(float(x.mean() * np.abs(np.diff(gains)).mean()),
                                                             rel=0.02)


def test_exact_and_dis_flow_agree_on_photo_pans():
    ds = build_dataset(PhotoPansConfig(frames=5, resolution=64, num_clips=4, seed=2, max_zoom=0.0,
                                       max_rotation=0.0))
    for i in range(4):
        clip = ds[i]["video"]
        flow, valid = ds.flow(i)
        exact = warping_error(clip, flows=flow, valid=valid)
        dis = warping_error(clip)
        # both near the resampling floor, far below the clip's own frame-to-frame change
        change = warping_error(clip, flows=np.zeros_like(flow))
        assert exact < 0.2 * change and dis < 0.3 * change, (exact, dis, change)
        assert abs(dis - exact) < 0.15 * change


def test_tof_is_zero_for_the_same_motion_and_grows_with_other_motion():
    x = _texture(48, 48, seed=3)
    moving = _u8(np.stack([np.roll(x, k, axis=1) for k in range(5)]))
    still = _u8(np.repeat(x[None], 5, axis=0))
    assert tof(moving, moving) == 0.0
    assert tof(still, moving) > 0.5  # one pixel a frame of motion missing


def test_bad_inputs_are_clear_errors():
    with pytest.raises(VidgenError, match="at least 2"):
        warping_error(np.zeros((1, 8, 8, 3), np.uint8))
    with pytest.raises(VidgenError, match="one shape"):
        tof(np.zeros((3, 8, 8, 3), np.uint8), np.zeros((3, 8, 9, 3), np.uint8))


def test_the_temporal_metrics_are_registered_and_vidgen_eval_scores_a_video(tmp_path, capsys):
    from vidgen.cli import main
    from vidgen.registry import METRICS

    assert {"warp_error", "tof", "flicker"} <= set(METRICS.names())
    x = _texture(32, 32, seed=4)
    moving = _u8(np.stack([np.roll(x, k, axis=1) for k in range(6)]))
    np.save(tmp_path / "moving.npy", moving)
    np.save(tmp_path / "still.npy", _u8(np.repeat(x[None], 6, axis=0)))
    out = tmp_path / "records.jsonl"
    assert main(["eval", "--fake", str(tmp_path / "still.npy"), "--metric", "warp_error", "--out", str(out)]) == 0
    assert "warp_error" in capsys.readouterr().out
    import json

    assert json.loads(out.read_text().splitlines()[-1])["results"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert main(["eval", "--fake", str(tmp_path / "still.npy"), "--real", str(tmp_path / "moving.npy"),
                 "--metric", "tof"]) == 0
    assert main(["eval", "--fake", str(tmp_path / "still.npy"), "--metric", "tof"]) != 0
    assert "give the reference as --real" in capsys.readouterr().err


def test_dis_flow_works_on_frames_smaller_than_opencv_allows():
    from vidgen.metrics.temporal import dis_pair

    g = np.zeros((8, 9), np.uint8)
    g[2:6, 2:5] = 200
    f_ab, f_ba = dis_pair(g, np.roll(g, 1, axis=1))  # padded to DIS's minimum and cropped back
    assert f_ab.shape == f_ba.shape == (8, 9, 2)
    assert warping_error(np.repeat(np.stack([g, g, g])[..., None], 3, axis=3)) < 1e-6
