"""The diffusion family: its network, samplers, masked conditioning, guidance, and that it learns."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import vidgen
from vidgen import config as cfgmod
from vidgen.cli import main
from vidgen.errors import ConfigError, VidgenError
from vidgen.models.diffusion.sampling import guided, initial_noise, sigmas, solve
from vidgen.models.diffusion.training import DiffusionObjective, frame_masks
from vidgen.models.diffusion.unet import TemporalConv, VideoUNet, VideoUNetConfig, attend
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig

DEBUG = Path(__file__).resolve().parents[3] / "configs" / "debug" / "video_unet_tiny.yaml"


def _net(conditional: bool = False, **kw) -> VideoUNet:
    torch.manual_seed(0)
    cfg = VideoUNetConfig(width=8, mults=(1, 2), attention=(1,), heads=2, conditional=conditional, **kw)
    return VideoUNet(config=cfg, frames=6, resolution=16, channels=3, num_classes=3 if conditional else 0)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("diffusion") / "run"
    loop.train(cfgmod.load(ExperimentConfig, DEBUG, [f"run_dir={path}"]), echo=lambda line: None)
    return path


def test_the_network_keeps_the_clip_shape_and_starts_as_the_skip_path():
    net = _net()
    x = torch.randn(2, 6, 3, 16, 16)
    sigma = torch.tensor([0.3, 5.0])
    out = net(x, sigma, torch.zeros_like(x), torch.zeros(2, 6))
    assert out.shape == x.shape
    # a zero head: D(x; sigma) = c_skip x (EDM's preconditioning with F = 0)
    c_skip = 0.25 / (sigma ** 2 + 0.25)
    torch.testing.assert_close(out, c_skip.view(-1, 1, 1, 1, 1) * x)
    with pytest.raises(ConfigError, match="divisible by 2"):
        VideoUNet(config=VideoUNetConfig(width=8, mults=(1, 2), attention=()), frames=4, resolution=15, channels=3)
    with pytest.raises(ConfigError, match="classes"):
        VideoUNet(config=VideoUNetConfig(width=8, conditional=True), frames=4, resolution=16, channels=3)


def test_frames_mix_through_the_temporal_layers():
    net = _net()
    for p in net.parameters():  # wake the zero-initialised layers
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(1, 6, 3, 16, 16)
    y = x.clone()
    y[:, 5] += 1.0  # change the last frame only
    a = net(x, torch.tensor([1.0]), torch.zeros_like(x), torch.zeros(1, 6))
    b = net(y, torch.tensor([1.0]), torch.zeros_like(x), torch.zeros(1, 6))
    assert (a[:, 0] - b[:, 0]).abs().max() > 1e-4  # the first frame sees it


@pytest.mark.parametrize("tokens", [16, 64, 200])  # the CPU matmul path (<= 128) and PyTorch's kernel
def test_attention_equals_pytorchs_scaled_dot_product_attention(tokens):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(3, 2, tokens, 8, generator=g) for _ in range(3))
    torch.testing.assert_close(attend(q, k, v), torch.nn.functional.scaled_dot_product_attention(q, k, v),
                               rtol=1e-5, atol=1e-5)


def test_the_temporal_convolution_is_a_1d_convolution_over_frames_at_each_pixel():
    torch.manual_seed(0)
    block = TemporalConv(8, 3)
    torch.nn.init.normal_(block.conv.weight)
    torch.nn.init.normal_(block.conv.bias)
    b, t, c, h, w = 2, 5, 8, 3, 4
    x = torch.randn(b * t, c, h, w)
    y = torch.nn.functional.silu(block.norm(x)).view(b, t, c, h * w).permute(0, 3, 2, 1).reshape(-1, c, t)
    expected = x + block.conv(y).view(b, h * w, c, t).permute(0, 3, 2, 1).reshape(b * t, c, h, w)
    torch.testing.assert_close(block(x, t), expected, rtol=1e-5, atol=1e-5)
    # the same on channels-last frames (the bf16 CPU layout)
    torch.testing.assert_close(block(x.contiguous(memory_format=torch.channels_last), t), expected,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sampler", ["heun", "ddim"])
def test_with_a_perfect_denoiser_the_sampler_lands_on_the_data(sampler):
    point = torch.rand(1, 4, 3, 8, 8) * 2 - 1  # a one-clip dataset: its ideal denoiser is the clip itself
    x = initial_noise([0, 1], point.shape[1:])
    out = solve(lambda x, s: point.expand_as(x), x, steps=5, sampler=sampler)
    torch.testing.assert_close(out, point.expand_as(out), atol=1e-5, rtol=0)
    # two clips: the ideal denoiser is the posterior mean; every sample ends on one of them
    pair = torch.stack([torch.full((4, 3, 8, 8), -0.5), torch.full((4, 3, 8, 8), 0.5)])

    def ideal(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        d2 = ((x[:, None] - pair[None]) ** 2).flatten(2).sum(-1)  # [B, 2]
        w = torch.softmax(-d2 / (2 * s.view(-1, 1) ** 2), dim=1)
        return torch.einsum("bk,k...->b...", w, pair)

    out = solve(ideal, initial_noise(range(8), pair.shape[1:]), steps=40, sampler=sampler)
    nearest = torch.minimum((out + 0.5).abs().amax(dim=(1, 2, 3, 4)), (out - 0.5).abs().amax(dim=(1, 2, 3, 4)))
    assert nearest.max() < 0.02, nearest


def test_the_noise_levels_fall_to_zero():
    levels = sigmas(10)
    assert levels[0] == pytest.approx(80.0) and levels[-2] == pytest.approx(0.002) and levels[-1] == 0
    assert (levels.diff() < 0).all()


def test_masks_give_frames_in_front_behind_or_none_and_always_leave_one_to_make():
    g = torch.Generator().manual_seed(0)
    masks = frame_masks(500, 6, g, DiffusionObjective())
    assert (masks.sum(1) < 6).all()
    kinds = {"none": (masks.sum(1) == 0).float().mean(), "front": (masks[:, 0] == 1).float().mean()}
    assert 0.4 < kinds["none"] < 0.6 and 0.4 < kinds["front"] < 0.6
    front_only = masks[(masks[:, 0] == 1) & (masks[:, -1] == 0)]
    assert (front_only.diff(dim=1) <= 0).all()  # a prefix of given frames
    gen_only = frame_masks(50, 6, g, DiffusionObjective(cond_generate=1, cond_predict=0, cond_interpolate=0))
    assert gen_only.sum() == 0


def test_guidance_zero_and_one_are_the_unconditional_and_conditional_models():
    net = _net(conditional=True)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    x = torch.randn(2, 6, 3, 16, 16)
    sigma = torch.tensor([1.0, 1.0])
    cond, mask = torch.zeros_like(x), torch.zeros(2, 6)
    labels = torch.tensor([0, 2])
    c = net(x, sigma, cond, mask, labels)
    u = net(x, sigma, cond, mask, None)
    assert (c - u).abs().max() > 1e-4
    torch.testing.assert_close(guided(net, cond, mask, labels, 1.0)(x, sigma), c)
    torch.testing.assert_close(guided(net, cond, mask, labels, 0.0)(x, sigma), u)
    torch.testing.assert_close(guided(net, cond, mask, labels, 3.0)(x, sigma), u + 3 * (c - u), atol=1e-5, rtol=1e-5)


def test_the_training_loss_falls_on_a_tiny_set(tmp_path):
    cfg = cfgmod.load(ExperimentConfig, DEBUG, [f"run_dir={tmp_path}", "data.num_clips=8", "train.kimg=0.48",
                                                "train.tick_kimg=0.12", "train.batch_size=8", "train.lr=3e-3",
                                                "model.width=16", "train.ema_kimg=0", "objective.p_std=0.5",
                                                "objective.p_mean=-0.5", "train.sample_ticks=100"])
    loop.train(cfg, echo=lambda line: None)
    records = [json.loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
    assert records[-1]["main/loss"] < 0.6 * records[0]["main/loss"], [r["main/loss"] for r in records]


def test_given_frames_come_back_exactly_and_prediction_and_infill_run(run):
    model = vidgen.load(run)
    assert model.capabilities == {"generate", "predict", "class"}
    clip = torch.rand(2, 8, 3, 16, 16) * 2 - 1
    mask = torch.tensor([1, 1, 0, 0, 0, 0, 1, 1.0])
    out = model.infill(clip, mask, sampling_steps=3)
    assert torch.equal(out[:, mask == 1], clip[:, mask == 1])
    assert not torch.allclose(out[:, 2], clip[:, 2])
    future = model.predict(clip[:, :3], frames=10, sampling_steps=2, batch_size=1)  # rolls past one window
    assert future.shape == (2, 10, 3, 16, 16)
    torch.testing.assert_close(model.predict(clip[:1, :3], frames=10, sampling_steps=2), future[:1])


def test_sampling_options_are_checked(run, tmp_path, capsys):
    model = vidgen.load(run)
    with pytest.raises(VidgenError, match="steps must be an integer >= 1"):
        model.sample(1, sampling_steps=0)
    with pytest.raises(VidgenError, match="unknown sampler"):
        model.sample(1, sampler="euler_a")
    with pytest.raises(VidgenError, match="guidance must be a number >= 0"):
        model.sample(1, guidance=-1)
    with pytest.raises(VidgenError, match="label must be a class"):
        model.sample(1, label=3)
    with pytest.raises(VidgenError, match="infill takes clips of the model's 8 frames"):
        model.infill(torch.zeros(1, 5, 3, 16, 16), torch.ones(5))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.sample(1, guidance=25.0, sampling_steps=1)
    assert any("far above" in str(w.message) for w in caught)
    out = tmp_path / "s.npy"
    assert main(["sample", str(run), "--num", "2", "--sampling-steps", "3", "--sampler", "ddim", "--guidance", "2",
                 "--label", "1", "--out", str(out)]) == 0
    assert np.load(out).shape == (2, 8, 16, 16, 3)
    assert main(["sample", str(run), "--num", "1", "--sampling-steps", "0", "--out", str(out)]) == 2
    assert "steps must be an integer >= 1" in capsys.readouterr().err


def test_a_gan_refuses_diffusion_options(tmp_path, capsys):
    gan = Path(__file__).resolve().parents[2] / "fixtures" / "exports_v1" / "gan_cond_tiny"
    assert main(["sample", str(gan), "--guidance", "2", "--out", str(tmp_path / "x.npy")]) == 2
    assert "--guidance does not apply" in capsys.readouterr().err
