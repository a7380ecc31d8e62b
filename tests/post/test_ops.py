"""The classical post-processing operators on clips whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from vidgen.convert import to_uint8
from vidgen.data import build_dataset
from vidgen.data.photo_pans import PhotoPansConfig
from vidgen.errors import ConfigError, VidgenError
from vidgen.metrics.temporal import flicker_index
from vidgen.post import parse_chain, post_process


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.square(a.astype(np.float64) - b.astype(np.float64)).mean()
    return 10 * np.log10(255.0**2 / mse)


def _clean(seed: int = 0, frames: int = 8) -> np.ndarray:
    ds = build_dataset(PhotoPansConfig(frames=frames, resolution=64, num_clips=4, seed=seed, split="test"))
    return to_uint8(ds[1]["video"])  # [T, H, W, 3], a held-out photograph


def test_denoise_lowers_the_error_of_a_noisy_clip():
    clean = _clean()
    noise = np.random.default_rng(0).normal(0, 20, clean.shape)
    noisy = np.clip(clean + noise, 0, 255).astype(np.uint8)
    out = post_process(noisy, "denoise")  # strength estimated from the noise
    assert _psnr(out, clean) > _psnr(noisy, clean) + 3.0


def test_sharpen_of_a_constant_clip_is_the_identity_and_adds_contrast_to_edges():
    flat = np.full((3, 16, 16, 3), 120, np.uint8)
    assert np.array_equal(post_process(flat, "sharpen"), flat)
    edge = np.zeros((2, 16, 16, 3), np.uint8)
    edge[:, :, 8:] = 200
    out = post_process(edge, "sharpen", ["sharpen.amount=1.0"]).astype(int)
    assert out[0, 8, 8, 0] > 200 and out[0, 8, 7, 0] == 0  # overshoot on the bright side, clipped at 0


def test_interpolation_puts_a_moving_square_at_the_midpoint():
    frames = np.zeros((2, 48, 48, 3), np.uint8)
    frames[0, 20:28, 10:18] = 255
    frames[1, 20:28, 18:26] = 255  # 8 pixels to the right
    out = post_process(frames, "interpolate:x2")
    assert out.shape == (3, 48, 48, 3) and np.array_equal(out[0], frames[0]) and np.array_equal(out[2], frames[1])
    ys, xs = np.nonzero(out[1, ..., 0] > 200)  # one whole square, not two faint ones
    assert 56 <= len(xs) <= 72
    assert abs(xs.mean() - 17.5) < 0.5 and abs(ys.mean() - 23.5) < 0.5  # half way: centre 13.5 -> 21.5


def test_deflicker_removes_injected_gain_jitter():
    clean = _clean(seed=1, frames=12)
    gains = 1 + 0.15 * np.random.default_rng(1).uniform(-1, 1, len(clean))
    flicker = np.clip(clean * gains[:, None, None, None], 0, 255).astype(np.uint8)
    out = post_process(flicker, "deflicker")
    assert flicker_index(out, clean) < 0.3 * flicker_index(flicker, clean)
    assert _psnr(out, clean) > _psnr(flicker, clean) + 3.0


def test_upscale_doubles_the_frames():
    out = post_process(np.zeros((2, 10, 12, 3), np.uint8), "upscale:x2", ["upscale.method=bicubic"])
    assert out.shape == (2, 20, 24, 3)


@pytest.mark.parametrize("ops, options, message", [
    ("blur", [], "unknown post-processing op 'blur'"),
    ("sharpen", ["sharpen.amout=1"], "unknown config key 'sharpen.amout'"),
    ("sharpen", ["denoise.strength=3"], "options for denoise, which the chain does not run"),
    ("sharpen:x2", [], "sharpen takes no ':' value"),
    ("", [], "no post-processing op given"),
])
def test_bad_chains_are_config_errors(ops, options, message):
    with pytest.raises(ConfigError, match=message):
        parse_chain(ops, options)


def test_a_temporal_op_on_one_frame_says_so():
    with pytest.raises(VidgenError, match="needs at least 2"):
        post_process(np.zeros((1, 8, 8, 3), np.uint8), "deflicker")
