"""The restoration family: its degradations, its networks at initialisation, and that each learns its task."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import vidgen
from vidgen import config as cfgmod
from vidgen.convert import to_uint8, uint8_to_float
from vidgen.data import build_dataset
from vidgen.data.photo_pans import PhotoPansConfig
from vidgen.errors import ConfigError
from vidgen.models.restore.common import reflect_pad, windows
from vidgen.models.restore.deflicker import DeflickerNet, DeflickerNetConfig
from vidgen.models.restore.degrade import add_flicker, add_noise, estimate_sigma
from vidgen.models.restore.denoiser import FastDVDnet, FastDVDnetConfig
from vidgen.models.restore.interpolator import IFNet, IFNetConfig
from vidgen.models.restore.training import RestoreObjective
from vidgen.post import post_process
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig


def _pans(n: int, frames: int, resolution: int = 32, seed: int = 0, split: str = "test") -> torch.Tensor:
    ds = build_dataset(PhotoPansConfig(frames=frames, resolution=resolution, num_clips=n, seed=seed, split=split))
    return torch.stack([ds[i]["video"] for i in range(n)])  # [N, T, 3, H, W]


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(4.0 / (a.float() - b.float()).square().mean()))


def _noise(clean: torch.Tensor, seed: int, **kw) -> torch.Tensor:
    options = dict(kinds=("gaussian",), sigma_max=50.0, poisson_peak=(20.0, 1000.0), crf=(24, 40))
    return add_noise(clean, torch.Generator().manual_seed(seed), **{**options, **kw})


def test_reflect_pad_and_windows_read_each_frames_neighbours():
    v = torch.arange(5.0).view(1, 5, 1, 1, 1)
    assert reflect_pad(v, 2).flatten().tolist() == [2, 1, 0, 1, 2, 3, 4, 3, 2]
    w = windows(v, 1)[:, :, 0, 0, 0]
    assert w.tolist() == [[1, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 3]]


def test_gaussian_noise_has_its_sigma_and_the_estimator_finds_it():
    flat = torch.zeros(4, 3, 3, 32, 32)  # mid-grey: no clipping, no structure
    g = torch.Generator().manual_seed(0)
    noisy = add_noise(flat, g, kinds=("gaussian",), sigma_max=50.0, poisson_peak=(20.0, 1000.0), crf=(24, 40))
    measured = ((noisy - flat) * 127.5).std(dim=(1, 2, 3, 4))
    estimated = estimate_sigma(noisy)
    assert float(measured.max()) > 5  # the draws spread over [0, 50]
    torch.testing.assert_close(estimated, measured, rtol=0.1, atol=0.6)
    # 8-bit levels, and the same generator seed gives the same noise
    levels = (noisy + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    again = add_noise(flat, torch.Generator().manual_seed(0), kinds=("gaussian",), sigma_max=50.0,
                      poisson_peak=(20.0, 1000.0), crf=(24, 40))
    assert torch.equal(noisy, again)


def test_poisson_noise_grows_with_brightness_and_h264_degrades_a_clip():
    g = torch.Generator().manual_seed(1)
    dark, bright = torch.full((1, 2, 1, 32, 32), -0.8), torch.full((1, 2, 1, 32, 32), 0.8)
    kw = dict(kinds=("poisson",), sigma_max=0.0, poisson_peak=(50.0, 50.0), crf=(24, 40))
    assert float(add_noise(bright, g, **kw).std()) > 1.5 * float(add_noise(dark, g, **kw).std())
    clean = _pans(1, 4)
    coded = add_noise(clean, g, kinds=("h264",), sigma_max=0.0, poisson_peak=(20.0, 1000.0), crf=(40, 40))
    assert coded.shape == clean.shape and 18 < _psnr(coded, clean) < 40  # lossy, not destroyed


def test_flicker_without_jitter_is_the_stable_clip_and_with_it_the_frame_means_jump():
    clean = _pans(2, 6)
    none = dict(gain=0.0, gamma=0.0, spatial=0.0, base_gain=0.2, base_gamma=0.2)
    flicker, stable = add_flicker(clean, torch.Generator().manual_seed(0), **none)
    assert torch.equal(flicker, stable) and not torch.equal(stable, clean)  # the base grade is kept
    flicker, stable = add_flicker(clean, torch.Generator().manual_seed(0), gain=0.3, gamma=0.0, spatial=0.0,
                                  base_gain=0.0, base_gamma=0.0)
    jumps = lambda v: v.mean(dim=(3, 4)).diff(dim=1).abs().mean()  # noqa: E731
    assert float(jumps(flicker)) > 3 * float(jumps(stable))


def test_every_network_starts_as_its_classical_estimate():
    clip = _pans(2, 7)
    torch.manual_seed(0)
    dn = FastDVDnet(config=FastDVDnetConfig(width=8, levels=1), frames=5, resolution=32, channels=3)
    assert torch.allclose(dn.restore(clip, sigma=20.0), clip, atol=1e-6)  # zero heads: the identity
    # the deflicker network starts as a box filter of the frames' mean colours: a steady clip stays
    steady = clip[:, :1].expand(2, 7, 3, 32, 32)
    df = DeflickerNet(config=DeflickerNetConfig(width=8, levels=1, radius=3), frames=7, resolution=32, channels=3)
    assert torch.allclose(df.restore(steady), steady, atol=1e-5)
    gains = torch.tensor([1.0, 1.2, 1.0, 0.8, 1.0, 1.2, 1.0]).view(1, 7, 1, 1, 1)
    flicker = ((steady + 1) / 2 * gains) * 2 - 1
    assert (df.restore(flicker) - steady).abs().mean() < 0.3 * (flicker - steady).abs().mean()
    # the interpolator starts as the classical DIS warping (without its plain-blend fallback)
    it = IFNet(config=IFNetConfig(width=8, levels=1), frames=3, resolution=32, channels=3)
    kept = to_uint8(clip[0, ::2])
    learned = to_uint8(it.restore(uint8_to_float(torch.from_numpy(kept))[None], factor=2)[0])
    classical = post_process(kept, "interpolate:x2")
    diff = np.abs(learned.astype(int) - classical.astype(int))
    assert np.array_equal(learned[::2], kept) and np.median(diff) <= 1 and diff.mean() < 2


def test_restore_configs_refuse_bad_values():
    with pytest.raises(ConfigError, match="noise"):
        RestoreObjective(noise=("salt",))
    with pytest.raises(ConfigError, match="crf"):
        RestoreObjective(crf=(30, 60))
    with pytest.raises(ConfigError, match="flow_init"):
        IFNetConfig(flow_init="farneback")
    with pytest.raises(ConfigError, match="data.frames=5"):
        FastDVDnet(config=FastDVDnetConfig(width=8), frames=3, resolution=16, channels=3)


TINY = ["data.name=photo_pans", "data.resolution=24", "data.num_clips=100000", "train.batch_size=8",
        "train.precision=fp32", "train.tensorboard=false", "train.num_samples=2", "train.ema_kimg=0",
        "train.betas=[0.9,0.999]", "model.width=16", "model.levels=1"]


def _train(tmp_path, name: str, frames: int, kimg: float, *extra: str):
    cfg = cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", f"model.name={name}", f"data.frames={frames}",
                                               *TINY, f"train.kimg={kimg}", f"train.tick_kimg={kimg / 4}", *extra])
    loop.train(cfg, echo=lambda line: None)
    records = [json.loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
    return vidgen.load(tmp_path), records


def test_the_denoiser_learns_to_beat_its_noisy_input_on_held_out_photos(tmp_path):
    model, records = _train(tmp_path, "fastdvdnet", 5, 1.6, "train.lr=2e-3", "objective.noise=[gaussian]",
                            "objective.sigma_max=40")
    assert records[-1]["main/psnr"] > records[0]["main/psnr"] + 2
    clean = _pans(2, 8, resolution=32, seed=5)  # the test split: source images training never saw
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(3))
    noisy = ((clean + 25 / 127.5 * noise).clamp(-1, 1) * 127.5).round() / 127.5  # sigma 25, 8-bit
    gain = [_psnr(uint8_to_float(torch.from_numpy(model.restore(to_uint8(n)))), c) - _psnr(n, c)
            for n, c in zip(noisy, clean)]
    assert min(gain) > 2.0, gain


def test_the_deflicker_network_learns_to_steady_the_frames(tmp_path):
    # uneven light that changes frame to frame: the window's mean colours (the classical gain the
    # network starts as) cannot see it; the network must learn to
    only_spatial = ("objective.flicker_gain=0", "objective.flicker_gamma=0", "objective.flicker_spatial=0.3",
                    "objective.base_gain=0", "objective.base_gamma=0")
    model, records = _train(tmp_path, "deflickernet", 5, 1.6, "train.lr=2e-3", "model.radius=2", "model.levels=2",
                            *only_spatial)
    assert records[-1]["main/psnr"] > records[0]["main/psnr"] + 1
    clean = _pans(4, 10, resolution=32, seed=6)  # held-out photographs
    flicker, stable = add_flicker(clean, torch.Generator().manual_seed(0), gain=0.0, gamma=0.0, spatial=0.3,
                                  base_gain=0.0, base_gamma=0.0)
    out = torch.stack([uint8_to_float(torch.from_numpy(model.restore(to_uint8(f)))) for f in flicker])
    torch.manual_seed(0)
    untrained = DeflickerNet(config=DeflickerNetConfig(width=16, levels=2, radius=2), frames=5, resolution=32,
                             channels=3)
    assert _psnr(out, stable) > _psnr(untrained.restore(flicker), stable) + 1
    assert _psnr(out, stable) > _psnr(flicker, stable) + 1.5


def test_the_interpolator_learns_beyond_its_initial_flows(tmp_path):
    model, records = _train(tmp_path, "ifnet", 3, 1.2, "train.lr=2e-3", "model.flow_init=zero")
    # from zero flows it must learn motion itself: far better than the blend it starts as
    assert records[-1]["main/psnr"] > records[0]["main/psnr"] + 1.5
    clean = to_uint8(_pans(1, 5, resolution=32, seed=7)[0])
    mid = model.restore(clean[::2])[1::2]
    blend = ((clean[0:-2:2].astype(np.float32) + clean[2::2]) / 2).round()
    err = lambda x: np.abs(x.astype(np.float32) - clean[1::2]).mean()  # noqa: E731
    assert err(mid) < err(blend)
