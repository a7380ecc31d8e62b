"""Frame metrics: values computed by hand and by an independent numpy SSIM."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vidgen.metrics import (
    PSNR_MAX_DB,
    FrameMetrics,
    frame_metrics,
    mae_per_frame,
    mse_per_frame,
    psnr_per_frame,
    ssim_per_frame,
)


def random_pair(b=3, t=4, c=2, h=16, w=20, noise=0.3, seed=0):
    """A target in [-1, 1] and a noisy prediction of it (clipped to [-1, 1])."""
    gen = torch.Generator().manual_seed(seed)
    target = torch.rand(b, t, c, h, w, generator=gen, dtype=torch.float64) * 2 - 1
    pred = (target + noise * torch.randn(b, t, c, h, w, generator=gen, dtype=torch.float64)).clamp(-1, 1)
    return pred, target


def numpy_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al. 2004 SSIM of two [H, W] images on [0, 1], written out loop by loop."""
    size, sigma, r = 11, 1.5, 5
    window = np.empty((size, size))
    for i in range(size):
        for j in range(size):
            window[i, j] = math.exp(-((i - r) ** 2 + (j - r) ** 2) / (2 * sigma**2))
    window /= window.sum()
    c1, c2 = (0.01 * 1) ** 2, (0.03 * 1) ** 2
    h, w = x.shape
    values = []
    for i in range(h - size + 1):  # valid positions only
        for j in range(w - size + 1):
            px, py = x[i : i + size, j : j + size], y[i : i + size, j : j + size]
            mx, my = (window * px).sum(), (window * py).sum()
            vx = (window * (px - mx) ** 2).sum()
            vy = (window * (py - my) ** 2).sum()
            cxy = (window * (px - mx) * (py - my)).sum()
            values.append(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(values))


# ---------------------------------------------------------------------------------------
# MSE, MAE, PSNR by hand
# ---------------------------------------------------------------------------------------


def test_constant_difference_gives_hand_values():
    b, t, c, h, w = 2, 3, 3, 12, 14
    d = 0.25  # on the [0, 1] scale, i.e. 0.5 on the [-1, 1] scale
    target = torch.linspace(-1, 0.4, b * t * c * h * w).reshape(b, t, c, h, w)
    pred = target + 2 * d
    pixels = c * h * w
    torch.testing.assert_close(mse_per_frame(pred, target), torch.full((b, t), d * d * pixels, dtype=torch.float64))
    torch.testing.assert_close(mae_per_frame(pred, target), torch.full((b, t), d * pixels, dtype=torch.float64))
    expected_psnr = -10 * math.log10(d * d)  # 12.0412 dB
    torch.testing.assert_close(psnr_per_frame(pred, target), torch.full((b, t), expected_psnr, dtype=torch.float64))

    result = frame_metrics(pred, target, ssim=False)
    assert result["mse"] == pytest.approx(d * d * pixels, rel=1e-6)  # float32 input: 1e-7 noise
    assert result["mae"] == pytest.approx(d * pixels, rel=1e-6)
    assert result["mse_pixel"] == pytest.approx(d * d, rel=1e-6)
    assert result["mae_pixel"] == pytest.approx(d, rel=1e-6)
    assert result["psnr"] == pytest.approx(expected_psnr, rel=1e-6)
    assert result["psnr_of_mean_mse"] == pytest.approx(expected_psnr, rel=1e-6)
    assert "ssim" not in result and "ssim" not in result["per_frame"]
    assert result["clips"] == b


def test_moving_mnist_scale_mse_is_summed_over_a_64x64_frame():
    # one white pixel missed on a black 64x64x1 frame: summed MSE 1, per-pixel MSE 1/4096
    target = -torch.ones(1, 1, 1, 64, 64)
    pred = target.clone()
    pred[0, 0, 0, 10, 10] = 1.0
    result = frame_metrics(pred, target, ssim=False)
    assert result["mse"] == pytest.approx(1.0)
    assert result["mse_pixel"] == pytest.approx(1 / 4096)
    assert result["psnr"] == pytest.approx(10 * math.log10(4096))


def test_psnr_is_mean_of_per_frame_psnr_and_differs_from_psnr_of_mean_mse():
    target = torch.zeros(1, 2, 1, 12, 12)
    pred = target.clone()
    pred[:, 0] += 2 * 0.1  # d = 0.1 -> 20 dB
    pred[:, 1] += 2 * 0.3  # d = 0.3 -> 10.4576 dB
    result = frame_metrics(pred.double(), target.double(), ssim=False)
    per_frame = [20.0, -10 * math.log10(0.09)]
    assert result["per_frame"]["psnr"] == pytest.approx(per_frame)
    assert result["psnr"] == pytest.approx(sum(per_frame) / 2)  # 15.2288
    assert result["psnr_of_mean_mse"] == pytest.approx(-10 * math.log10((0.01 + 0.09) / 2))  # 13.0103
    assert result["psnr_of_mean_mse"] < result["psnr"]


def test_identical_inputs_give_zero_error_unit_ssim_and_capped_psnr():
    pred, _ = random_pair()
    result = frame_metrics(pred, pred.clone())
    assert result["mse"] == 0.0 and result["mae"] == 0.0
    assert result["psnr"] == pytest.approx(100.0) and PSNR_MAX_DB == pytest.approx(100.0)
    assert result["psnr_of_mean_mse"] == pytest.approx(100.0)
    assert result["ssim"] == pytest.approx(1.0, abs=1e-12)
    assert all(math.isfinite(v) for v in result["per_frame"]["psnr"])


def test_clamp_clips_predictions_outside_the_range():
    target = torch.ones(1, 1, 1, 12, 12)
    pred = torch.full_like(target, 3.0)  # 1.0 above the range on the [0, 1] scale
    assert mse_per_frame(pred, target).item() == pytest.approx(144.0)
    assert mse_per_frame(pred, target, clamp=True).item() == 0.0


# ---------------------------------------------------------------------------------------
# SSIM
# ---------------------------------------------------------------------------------------


def test_ssim_matches_an_independent_numpy_implementation():
    pred, target = random_pair(b=2, t=2, c=2, h=16, w=19, noise=0.4, seed=1)
    got = ssim_per_frame(pred, target)
    p01, t01 = ((pred + 1) / 2).numpy(), ((target + 1) / 2).numpy()
    for i in range(2):
        for j in range(2):
            expected = np.mean([numpy_ssim(p01[i, j, ch], t01[i, j, ch]) for ch in range(2)])
            assert got[i, j].item() == pytest.approx(expected, abs=1e-6)


def test_ssim_of_constant_frames_is_the_luminance_term():
    # no variance anywhere: SSIM = (2ab + C1) / (a^2 + b^2 + C1) with a, b on [0, 1]
    a, b = 0.25, 0.75
    pred = torch.full((1, 1, 1, 13, 13), 2 * a - 1)
    target = torch.full((1, 1, 1, 13, 13), 2 * b - 1)
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)  # 0.60006
    assert ssim_per_frame(pred, target).item() == pytest.approx(expected, abs=1e-12)


def test_ssim_is_symmetric_and_below_one_for_noisy_inputs():
    pred, target = random_pair(noise=0.2, seed=2)
    forward, backward = ssim_per_frame(pred, target), ssim_per_frame(target, pred)
    torch.testing.assert_close(forward, backward, rtol=0, atol=1e-12)
    assert (forward < 0.99).all() and (forward > -1).all()
    # less noise, more similar
    less_noisy, _ = random_pair(noise=0.05, seed=2)
    assert (ssim_per_frame(less_noisy, target) > forward).all()


def test_float32_computation_agrees_with_float64():
    pred, target = random_pair(seed=3)
    torch.testing.assert_close(
        ssim_per_frame(pred, target, dtype=torch.float32).double(), ssim_per_frame(pred, target), rtol=0, atol=1e-5
    )


def test_ssim_chunking_does_not_change_values(monkeypatch):
    import vidgen.metrics.frame as frame

    pred, target = random_pair(seed=4)
    whole = ssim_per_frame(pred, target)
    monkeypatch.setattr(frame, "_SSIM_CHUNK_PIXELS", 16 * 20 * 5)  # 5 images per pass
    torch.testing.assert_close(ssim_per_frame(pred, target), whole, rtol=0, atol=1e-14)


def test_matches_scikit_image_when_installed():
    skm = pytest.importorskip("skimage.metrics")
    pred, target = random_pair(b=1, t=2, c=3, h=24, w=24, seed=5)
    got = ssim_per_frame(pred, target)
    for j in range(2):
        p01 = ((pred[0, j] + 1) / 2).numpy()  # [C, H, W]
        t01 = ((target[0, j] + 1) / 2).numpy()
        expected = skm.structural_similarity(
            p01, t01, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=0
        )
        assert got[0, j].item() == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------------------------------
# the accumulator
# ---------------------------------------------------------------------------------------


def test_accumulator_is_independent_of_batch_split():
    pred, target = random_pair(b=7, t=3, c=1, h=16, w=16, seed=6)
    whole = FrameMetrics()
    whole.update(pred, target)
    split = FrameMetrics()
    for lo, hi in ((0, 2), (2, 6), (6, 7)):
        split.update(pred[lo:hi], target[lo:hi])
    a, b = whole.compute(), split.compute()
    assert a["clips"] == b["clips"] == 7
    for key in ("mse", "mae", "mse_pixel", "mae_pixel", "psnr", "psnr_of_mean_mse", "ssim"):
        assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-12), key
    for key in ("mse", "mae", "psnr", "ssim"):
        assert a["per_frame"][key] == pytest.approx(b["per_frame"][key], rel=1e-12, abs=1e-12), key

    merged = FrameMetrics()
    first, second = FrameMetrics(), FrameMetrics()
    first.update(pred[:3], target[:3])
    second.update(pred[3:], target[3:])
    merged.merge(first)
    merged.merge(second)
    assert merged.compute()["ssim"] == pytest.approx(a["ssim"], rel=1e-12)


def test_accumulator_equals_the_mean_of_the_per_frame_functions():
    pred, target = random_pair(seed=7)
    result = frame_metrics(pred, target)
    assert result["mse"] == pytest.approx(mse_per_frame(pred, target).mean().item(), rel=1e-12)
    assert result["mae"] == pytest.approx(mae_per_frame(pred, target).mean().item(), rel=1e-12)
    assert result["psnr"] == pytest.approx(psnr_per_frame(pred, target).mean().item(), rel=1e-12)
    assert result["ssim"] == pytest.approx(ssim_per_frame(pred, target).mean().item(), rel=1e-12)
    pixels = 2 * 16 * 20
    assert result["mse_pixel"] == pytest.approx(result["mse"] / pixels, rel=1e-12)


def test_per_frame_curves_have_length_t_and_follow_the_frame_index():
    b, t, c, h, w = 3, 5, 1, 12, 12
    target = torch.zeros(b, t, c, h, w, dtype=torch.float64)
    d = torch.tensor([0.0, 0.1, 0.2, 0.3, 0.4], dtype=torch.float64)  # error grows with t
    pred = target + 2 * d.view(1, t, 1, 1, 1)
    result = frame_metrics(pred, target)
    curves = result["per_frame"]
    assert set(curves) == {"mse", "mae", "psnr", "ssim"}
    assert all(len(v) == t for v in curves.values())
    assert curves["mse"] == pytest.approx((d**2 * c * h * w).tolist())
    assert curves["mae"] == pytest.approx((d * c * h * w).tolist())
    assert curves["psnr"][0] == pytest.approx(100.0)
    assert curves["psnr"][1:] == pytest.approx((-10 * torch.log10(d[1:] ** 2)).tolist())
    assert curves["ssim"][0] == pytest.approx(1.0) and all(np.diff(curves["ssim"]) < 0)
    assert result["mse"] == pytest.approx(float(np.mean(curves["mse"])))


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------


def test_shape_mismatch_is_an_error():
    pred, target = random_pair()
    with pytest.raises(ValueError, match="shapes differ"):
        mse_per_frame(pred, target[:, :3])
    with pytest.raises(ValueError, match="shapes differ"):
        FrameMetrics().update(pred, target[..., :16])


def test_wrong_ndim_is_an_error():
    pred, target = random_pair()
    with pytest.raises(ValueError, match=r"5 dims \[B, T, C, H, W\].*x\[None\]"):
        ssim_per_frame(pred[0], target[0])


def test_integer_frames_are_an_error():
    frames = torch.zeros(1, 2, 1, 12, 12, dtype=torch.uint8)
    with pytest.raises(ValueError, match="127.5"):
        psnr_per_frame(frames, frames)


def test_frames_too_small_for_ssim_are_an_error_unless_ssim_is_off():
    pred, target = random_pair(h=8, w=8)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim_per_frame(pred, target)
    assert frame_metrics(pred, target, ssim=False)["clips"] == 3


def test_changing_t_between_updates_is_an_error_and_keeps_the_state():
    pred, target = random_pair(t=4)
    metrics = FrameMetrics()
    metrics.update(pred, target)
    with pytest.raises(ValueError, match=r"T \(frames per clip\) changed"):
        metrics.update(pred[:, :2], target[:, :2])
    with pytest.raises(ValueError, match="frame size"):
        metrics.update(pred[..., :12], target[..., :12])
    assert metrics.compute()["clips"] == 3  # the rejected batches left no trace


def test_compute_before_update_is_an_error():
    with pytest.raises(ValueError, match="before any clip"):
        FrameMetrics().compute()
