"""Video super-resolution: the published degradations and metrics, the upscaler's shapes and streaming,
and that propagation over the neighbouring frames pays on a tiny problem."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import vidgen
from vidgen.data import build_dataset
from vidgen.data.photo_pans import PhotoPansConfig
from vidgen.errors import ConfigError, VidgenError
from vidgen.metrics.sr import frame_scores, psnr, rgb_to_y, ssim
from vidgen.models.vsr.basicvsr import BasicVSR, BasicVSRConfig
from vidgen.models.vsr.degrade import (
    bd,
    bi,
    contributions,
    gaussian_kernel,
    imresize,
    realistic,
    resize_matrix,
)

# MATLAB's imresize(..., 'bicubic') weights when shrinking with antialiasing (Keys' cubic, a = -0.5,
# stretched by 1 / scale): the 8 taps of x2 and the 16 of x4 of an output pixel away from the border
MATLAB_X2 = [-0.01171875, -0.03515625, 0.11328125, 0.43359375, 0.43359375, 0.11328125, -0.03515625, -0.01171875]
MATLAB_X4 = [-0.00170898, -0.01098633, -0.01831055, -0.01196289, 0.02270508, 0.09741211, 0.18188477, 0.24096680]
MATLAB_X4 = MATLAB_X4 + MATLAB_X4[::-1]


def test_bicubic_weights_are_matlabs():
    w, idx = contributions(16, 8, 0.5)
    np.testing.assert_allclose(w[3], MATLAB_X2, atol=1e-8)
    assert idx[3].tolist() == list(range(3, 11))  # output pixel 4 (1-based) reads input pixels 4..11
    w, idx = contributions(32, 8, 0.25)
    np.testing.assert_allclose(w[3], MATLAB_X4, atol=5e-8)
    assert idx[3].tolist() == list(range(6, 22))
    # at the border the taps fold back into the signal (symmetric padding): the first output pixel
    w, idx = contributions(16, 8, 0.5)
    assert idx[0].tolist() == [2, 1, 0, 0, 1, 2, 3, 4]
    np.testing.assert_allclose(w[0], MATLAB_X2, atol=1e-8)
    m = resize_matrix(16, 8).numpy()  # each row sums to 1: a constant stays constant
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-12)
    # the first row folds the taps that fall before the signal back onto pixels 0, 1, 2
    np.testing.assert_allclose(m[0, :5], [0.11328125 + 0.43359375, -0.03515625 + 0.43359375, -0.01171875 + 0.11328125,
                                          -0.03515625, -0.01171875], atol=1e-12)


def test_bi_downsampling_is_exact_on_known_signals():
    ramp = torch.arange(32.0).view(1, 1, 1, 1, 32).expand(1, 1, 1, 4, 32) / 31 * 2 - 1
    small = imresize(ramp, (1, 8))
    # a linear ramp stays linear under a symmetric kernel, centred where MATLAB puts output pixel x:
    # 4 x - 1.5 (1-based), away from the borders
    expected = ((4 * torch.arange(1, 9) - 1.5) - 1) / 31 * 2 - 1
    torch.testing.assert_close(small[0, 0, 0, 0, 2:-2], expected[2:-2].float(), atol=1e-5, rtol=0)
    clip = torch.rand(2, 3, 3, 16, 24) * 2 - 1
    lr = bi(clip, 4)
    assert lr.shape == (2, 3, 3, 4, 6)
    levels = (lr + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)  # 8-bit levels, as a video file holds
    with pytest.raises(VidgenError, match="multiple of 4"):
        bi(torch.zeros(1, 1, 3, 18, 16), 4)


def test_bd_is_a_gaussian_blur_then_every_fourth_pixel_from_offset_one():
    k = gaussian_kernel()
    assert k.shape == (13, 13) and float(k.sum()) == pytest.approx(1.0)
    g = np.exp(-(np.arange(-6, 7) ** 2) / (2 * 1.6 ** 2))
    np.testing.assert_allclose(k.numpy(), np.outer(g, g) / np.outer(g, g).sum(), atol=1e-15)  # fspecial
    hr = torch.full((1, 1, 1, 32, 32), -1.0)
    hr[..., 9, 13] = 1.0  # one bright pixel: every LR pixel near it reads the kernel at its offset
    lr = bd(hr, 4)
    assert lr.shape == (1, 1, 1, 8, 8)
    # LR pixel (i, j) samples HR (1 + 4 i, 1 + 4 j): (2, 3) is HR (9, 13), the kernel's centre
    expected = -1 + 2 * k[6, 6]
    assert float(lr[0, 0, 0, 2, 3]) == pytest.approx(float(expected), abs=1 / 127.5)
    assert float(lr[0, 0, 0, 2, 2]) == pytest.approx(float(-1 + 2 * k[6, 2]), abs=1 / 127.5)  # 4 pixels left
    flat = torch.full((1, 2, 3, 16, 16), 0.2)
    torch.testing.assert_close(bd(flat, 4), torch.full((1, 2, 3, 4, 4), round(1.2 * 127.5) / 127.5 - 1))


def test_realistic_degradation_is_seeded_and_lower_quality_than_bi():
    clip = torch.stack([build_dataset(PhotoPansConfig(frames=4, resolution=32, num_clips=2))[i]["video"]
                        for i in range(2)])
    a = realistic(clip, 4, torch.Generator().manual_seed(1))
    b = realistic(clip, 4, torch.Generator().manual_seed(1))
    assert a.shape == (2, 4, 3, 8, 8) and torch.equal(a, b)
    assert (a - bi(clip, 4)).abs().mean() > 0.01


def test_y_channel_and_metrics_against_hand_values():
    rgb = np.array([[[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]]], np.uint8)
    np.testing.assert_allclose(rgb_to_y(rgb)[0, 0], [235.0, 16.0, 16 + 65.481, 16 + 128.553, 16 + 24.966], atol=1e-9)
    a = np.full((2, 16, 16), 100.0)
    assert psnr(a, a + 5).tolist() == pytest.approx([10 * np.log10(255 ** 2 / 25)] * 2)
    assert ssim(a, a) == pytest.approx([1.0, 1.0])
    # SSIM of a constant shift of a constant image: the luminance term only
    c1 = (0.01 * 255) ** 2
    assert ssim(a, a + 5)[0] == pytest.approx((2 * 100 * 105 + c1) / (100 ** 2 + 105 ** 2 + c1))
    clip = (np.random.default_rng(0).random((3, 20, 20, 3)) * 255).astype(np.uint8)
    noisy = np.clip(clip.astype(int) + 10, 0, 255).astype(np.uint8)
    s = frame_scores(noisy, clip, crop=2)
    assert set(s) == {"psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"} and s["psnr_y"].shape == (3,)
    assert np.isinf(frame_scores(clip, clip)["psnr_y"]).all()


def test_upscaler_shapes_for_x2_x4_and_odd_sizes():
    for scale in (2, 4):
        torch.manual_seed(0)
        m = BasicVSR(config=BasicVSRConfig(scale=scale, width=8, blocks=1, flow_levels=3, flow_width=4), frames=4,
                     resolution=16, channels=3).eval()
        lr = torch.rand(2, 5, 3, 7, 9) * 2 - 1  # odd sizes: padded inside for the flow pyramid, output exact
        out, flows = m(lr, return_flows=True)
        assert out.shape == (2, 5, 3, 7 * scale, 9 * scale)
        assert flows[0].shape == (2, 4, 2, 7, 9)
        assert torch.equal(flows[0], torch.zeros_like(flows[0]))  # an untrained flow network says no motion
        assert m(lr[:, :1]).shape == (2, 1, 3, 7 * scale, 9 * scale)  # one frame: nothing to propagate
    with pytest.raises(ConfigError, match="scale must be 2 or 4"):
        BasicVSRConfig(scale=3)
    with pytest.raises(ConfigError, match="not a multiple of model.scale"):
        BasicVSR(config=BasicVSRConfig(scale=4), frames=4, resolution=30, channels=3)


def test_propagation_over_the_neighbouring_frames_beats_frame_by_frame():
    # a tiny problem where the other frames hold what one frame lacks: static photographs, made
    # low-resolution by BI and then noisy afresh in every frame; propagation can pool the frames,
    # the frame-by-frame variant (same networks, nothing carried) cannot
    steps, batch, frames = 250, 8, 6
    still = dict(frames=frames, resolution=16, max_pan=0.0, max_zoom=0.0, max_rotation=0.0)
    train = build_dataset(PhotoPansConfig(num_clips=steps * batch, seed=0, split="train", **still))
    test = build_dataset(PhotoPansConfig(num_clips=16, seed=1, split="test", **still))
    g = torch.Generator().manual_seed(5)

    def low(hr: torch.Tensor) -> torch.Tensor:
        lr = bi(hr, 2)
        return lr + 0.3 * torch.randn(lr.shape, generator=g)

    hr_test = torch.stack([test[i]["video"] for i in range(16)])
    lr_test = low(hr_test)
    score = {}
    for propagation in ("bidirectional", "none"):
        torch.manual_seed(0)
        m = BasicVSR(config=BasicVSRConfig(scale=2, width=16, blocks=1, flow_levels=1, flow_width=4,
                                           alignment="none", propagation=propagation),
                     frames=frames, resolution=16, channels=3)
        opt = torch.optim.Adam(m.parameters(), 3e-3)
        for s in range(steps):
            hr = torch.stack([train[s * batch + i]["video"] for i in range(batch)])
            loss = (m(low(hr)) - hr).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            score[propagation] = float(10 * torch.log10(4 / (m(lr_test).clamp(-1, 1) - hr_test).square().mean()))
    assert score["bidirectional"] > score["none"] + 0.5, score


def test_streaming_equals_the_whole_clip(tmp_path):
    from vidgen import config as cfgmod
    from vidgen.train import loop
    from vidgen.train.config import ExperimentConfig

    cfg = cfgmod.load(ExperimentConfig, "configs/debug/basicvsr_tiny.yaml", [f"run_dir={tmp_path}"])
    loop.train(cfg, echo=lambda line: None)
    model = vidgen.load(tmp_path)
    assert "upscale" in model.capabilities and model.scale == 4 and model.radius == 2
    clip = (np.random.default_rng(1).random((9, 6, 10, 3)) * 255).astype(np.uint8)
    whole = model.upscale(clip)
    assert whole.shape == (9, 24, 40, 3) and whole.dtype == np.uint8
    # a clip within one chunk streams as one block: exactly the whole-clip result
    assert np.array_equal(np.stack(list(model.stream(iter(clip), chunk=9))), whole)
    # in chunks of 3 the recurrence sees 2 frames beyond each chunk: close to the whole clip
    streamed = np.stack(list(model.stream(iter(clip), chunk=3)))
    assert streamed.shape == whole.shape
    assert np.abs(streamed.astype(int) - whole).mean() < 1.0
    # the degradation it expects, made from high-resolution frames
    lr = model.degrade(whole)
    assert lr.shape == clip.shape
    with pytest.raises(VidgenError, match="multiple of 4"):
        model.degrade(whole[:, :22])
    gray = model.upscale(clip[..., :1])
    assert gray.shape == (9, 24, 40, 1)
    with pytest.raises(VidgenError, match="upscaler"):
        model.sample(1)


def test_cli_upscale_eval_and_post_end_to_end(tmp_path):
    from vidgen import config as cfgmod
    from vidgen.train import loop
    from vidgen.train.config import ExperimentConfig

    run = tmp_path / "run"
    cfg = cfgmod.load(ExperimentConfig, "configs/debug/basicvsr_tiny.yaml", [f"run_dir={run}"])
    loop.train(cfg, echo=lambda line: None)
    clip = (np.random.default_rng(2).random((6, 8, 12, 3)) * 255).astype(np.uint8)
    np.save(tmp_path / "clip.npy", clip)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vidgen", *args], capture_output=True, text=True, timeout=300)

    done = cli("upscale", str(run), "--input", str(tmp_path / "clip.npy"), "--out", str(tmp_path / "big.mp4"),
               "--side-by-side", str(tmp_path / "cmp.mp4"))
    assert done.returncode == 0, done.stderr
    import av

    with av.open(str(tmp_path / "cmp.mp4")) as c:
        s = c.streams.video[0]
        assert (s.width, s.height) == (96, 32)  # bicubic | ours, each 48x32
    with av.open(str(tmp_path / "big.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 6
    done = cli("post", str(tmp_path / "clip.npy"), "--ops", f"upscale:{run}", "--out", str(tmp_path / "p.npy"))
    assert done.returncode == 0, done.stderr
    assert np.array_equal(np.load(tmp_path / "p.npy"), vidgen.load(run).upscale(clip))
    done = cli("eval", str(run), "--metric", "vsr_psnr_y", "--num", "3", "data.split=test", "data.seed=1",
               "--out", str(tmp_path / "m.jsonl"))
    assert done.returncode == 0, done.stderr
    import json

    record = json.loads((tmp_path / "m.jsonl").read_text().splitlines()[-1])
    results = record["results"]
    assert results["clips"] == 3 and results["scale"] == 4 and 5 < results["psnr_y"] < 60
    assert 5 < results["bicubic"]["psnr_y"] < 60 and "tof" in results
    # bad input: one line each
    done = cli("upscale", str(run), "--input", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "x.mp4"))
    assert done.returncode != 0 and "missing.mp4" in done.stderr and "Traceback" not in done.stderr
    done = cli("upscale", str(run), "--input", str(tmp_path / "clip.npy"), "--out", str(tmp_path / "no" / "x.mp4"))
    assert done.returncode != 0 and "does not exist" in done.stderr
    done = cli("upscale", "runs/nothing-here", "--input", str(tmp_path / "clip.npy"), "--out", str(tmp_path / "x.mp4"))
    assert done.returncode != 0 and "Traceback" not in done.stderr


def _train_recipe(recipe: str, run, *overrides: str) -> list[dict]:
    import json

    from vidgen import config as cfgmod
    from vidgen.train import loop
    from vidgen.train.config import ExperimentConfig

    cfg = cfgmod.load(ExperimentConfig, recipe, [f"run_dir={run}", *overrides])
    loop.train(cfg, echo=lambda line: None)
    return [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]


def test_the_gan_variant_trains_its_discriminator_on_realistic_inputs(tmp_path):
    records = _train_recipe("configs/debug/basicvsr_tiny_gan.yaml", tmp_path)
    assert {"main/adv", "D_main/loss"} <= set(records[-1])
    assert "main/photometric" not in records[-1]  # DIS flow: nothing to teach it
    model = vidgen.load(tmp_path)
    assert model.degradation == "realistic"
    assert model.state().keys() == {f"model.{k}" for k in model.model.state_dict()}  # no discriminator exported


def test_the_folder_recipe_trains_on_a_folder_of_videos(tmp_path):
    from vidgen.io import write_video

    clips = tmp_path / "clips"
    clips.mkdir()
    data = build_dataset(PhotoPansConfig(frames=8, resolution=24, num_clips=3, seed=2))
    from vidgen.convert import to_uint8

    for i in range(3):
        write_video(clips / f"clip{i}.mp4", to_uint8(data[i]["video"]))
    records = _train_recipe("configs/debug/basicvsr_tiny_folder.yaml", tmp_path / "run", f"data.path={clips}")
    assert records and vidgen.load(tmp_path / "run").scale == 4
    with pytest.raises(ConfigError, match="not a multiple of model.scale"):
        _train_recipe("configs/debug/basicvsr_tiny_folder.yaml", tmp_path / "bad", f"data.path={clips}",
                      "data.resolution=18")


def test_generated_clips_come_out_upscaled_with_sample_post(tmp_path):
    run = tmp_path / "vsr"
    _train_recipe("configs/debug/basicvsr_tiny.yaml", run)
    done = subprocess.run([sys.executable, "-m", "vidgen", "sample", "shapes-cond64", "--num", "2", "--post",
                           f"upscale:{run}", "--out", str(tmp_path / "big.npy")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    clips = np.load(tmp_path / "big.npy")
    assert clips.shape[-3:-1] == (256, 256)  # the shipped 64x64 generator's samples, x4


def test_exact_flow_supervision_trains_the_flow_network():
    from types import SimpleNamespace

    from vidgen.models.vsr.training import VSRFamily, VSRObjective

    ds = build_dataset(PhotoPansConfig(frames=4, resolution=32, num_clips=8, seed=2, with_flow=True, max_pan=6.0,
                                       max_zoom=0.0, max_rotation=0.0))
    batch = {k: torch.stack([ds[i][k] for i in range(8)]) for k in ("video", "flow", "flow_reverse")}
    torch.manual_seed(0)
    model = BasicVSR(config=BasicVSRConfig(scale=2, width=8, blocks=1, flow_levels=2, flow_width=8),
                     frames=4, resolution=32, channels=3)
    family = VSRFamily(model=model, objective=VSRObjective(flow_weight=0.0, flow_supervision=1.0), dataset=ds)
    ctx = SimpleNamespace(batch=batch, generator=torch.Generator().manual_seed(0), net=lambda name: model)
    # an untrained flow network says "no motion": its error is the exact flow's mean length
    exact = family.exact_flows(batch)
    assert exact[1].shape == (8, 3, 2, 16, 16)
    first = family.main(ctx)["flow_epe"]
    assert float(first) == pytest.approx(float(torch.stack([e.norm(dim=2).mean() for e in exact]).mean()), rel=1e-5)
    opt = torch.optim.Adam(model.spynet.parameters(), 1e-3)
    for _ in range(150):  # the supervision alone trains the flow network (here: to fit one batch)
        out = family.main(ctx)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    assert float(out["flow_epe"]) < 0.5 * float(first), (float(first), float(out["flow_epe"]))


def test_flow_supervision_needs_clips_with_flow_and_a_flow_network(tmp_path):
    with pytest.raises(ConfigError, match="data.with_flow=true"):
        _train_recipe("configs/debug/basicvsr_tiny.yaml", tmp_path / "a", "objective.flow_supervision=1")
    with pytest.raises(ConfigError, match="aligns by flow"):
        _train_recipe("configs/debug/basicvsr_tiny.yaml", tmp_path / "b", "objective.flow_supervision=1",
                      "data.with_flow=true", "model.alignment=none")
    with pytest.raises(ConfigError, match="model.flow=spynet"):
        _train_recipe("configs/debug/basicvsr_tiny.yaml", tmp_path / "c", "objective.flow_supervision=1",
                      "data.with_flow=true", "model.flow=dis")


def test_dis_flow_follows_the_exact_motion_at_any_size():
    from vidgen.models.vsr.basicvsr import dis_flows, downscale_flow

    ds = build_dataset(PhotoPansConfig(frames=5, resolution=96, num_clips=3, seed=4, split="test", with_flow=True))
    for i in range(3):
        item = ds[i]
        lr = bi(item["video"][None], 4)  # [1, 5, 3, 24, 24]
        back, fwd = dis_flows(lr)
        assert back.shape == fwd.shape == (1, 4, 2, 24, 24) and back.dtype == torch.float32
        for got, key in ((back, "flow_reverse"), (fwd, "flow")):
            exact = downscale_flow(item[key], 4)
            assert (got[0] - exact).norm(dim=1).mean() < 0.4 * exact.norm(dim=1).mean(), (i, key)
    tiny = bi(ds[0]["video"][None], 8)  # 12x12 frames, below DIS's own minimum: padded inside
    assert dis_flows(tiny)[0].shape == (1, 4, 2, 12, 12)
    m = BasicVSR(config=BasicVSRConfig(scale=2, width=8, blocks=1, flow="dis"), frames=5, resolution=24, channels=3)
    assert m.spynet is None and m(torch.rand(1, 5, 3, 7, 9) * 2 - 1).shape == (1, 5, 3, 14, 18)


def test_warping_keeps_sub_pixel_precision_under_bf16_autocast():
    from vidgen.nn.unet import backward_warp

    ramp = torch.arange(128.0).view(1, 1, 1, 128).expand(1, 1, 8, 128).contiguous()  # value = x
    flow = torch.zeros(1, 2, 8, 128)
    flow[:, 0] = 0.3
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = backward_warp(ramp.to(torch.bfloat16), flow.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16
    # sampled at x + 0.3 (away from the clamped right border): the value moves by 0.3 within bf16's own
    # rounding of the result, not by the 0.5-pixel steps of a bf16 coordinate near 100
    err = (out.float()[..., :120] - (ramp[..., :120] + 0.3)).abs() / (ramp[..., :120] + 0.3)
    assert err.max() < 2 ** -8
