"""Latent diffusion: the per-frame autoencoder (``frame_vae``) and the denoiser over its latents."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import torch
from helpers import clips

import vidgen
from vidgen import config as cfgmod
from vidgen.cli import main
from vidgen.errors import ConfigError, VidgenError
from vidgen.models.diffusion.latent import LatentVideoUNet, LatentVideoUNetConfig
from vidgen.models.vae.frame_vae import FrameVAE, FrameVAEConfig
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig

DEBUG = Path(__file__).resolve().parents[3] / "configs" / "debug"


def _train(recipe: str, run_dir: Path, *overrides: str) -> Path:
    cfg = cfgmod.load(ExperimentConfig, DEBUG / recipe, [f"run_dir={run_dir}", *overrides])
    return loop.train(cfg, echo=lambda line: None)


@pytest.fixture(scope="module")
def autoencoder(tmp_path_factory) -> Path:
    return _train("frame_vae_tiny.yaml", tmp_path_factory.mktemp("fae") / "run")


def test_frames_are_encoded_one_by_one_to_spatial_latents():
    torch.manual_seed(0)
    ae = FrameVAE(config=FrameVAEConfig(width=8, mults=(1, 2, 2), latent_channels=3), frames=4, resolution=16,
                  channels=3)
    x = clips(2, 5, 3, 16)  # any number of frames
    mu, logvar = ae.encode(x)
    assert mu.shape == logvar.shape == (2, 5, 3, 4, 4) and ae.factor == 4
    # a frame's latent is the same alone or among others: nothing mixes frames
    torch.testing.assert_close(ae.encode(x[:, 2:3])[0], mu[:, 2:3], atol=1e-5, rtol=1e-5)
    assert ae.decode(mu).shape == x.shape and ae.decode(mu).abs().max() <= 1
    assert ae.encode(clips(1, 2, 3, 24))[0].shape == (1, 2, 3, 6, 6)  # any size divisible by 4
    with pytest.raises(ValueError, match="divisible by 4"):
        ae.encode(clips(1, 2, 3, 18))


def test_the_autoencoder_learns_to_reconstruct(tmp_path):
    run = _train("frame_vae_tiny.yaml", tmp_path / "run", "data.num_clips=8", "train.kimg=0.32", "train.lr=3e-3",
                 "train.ema_kimg=0", "train.sample_ticks=100")
    records = [json.loads(line) for line in (tmp_path / "run" / "stats.jsonl").read_text().splitlines()]
    assert records[-1]["main/mse"] < 0.5 * records[0]["main/mse"], [r["main/mse"] for r in records]
    model = vidgen.load(run)
    assert model.capabilities == {"reconstruct"}
    with pytest.raises(VidgenError, match="no sample"):
        model.sample(1)


def test_a_latent_model_needs_a_frame_autoencoder(tmp_path):
    with pytest.raises(ConfigError, match="model.autoencoder"):
        LatentVideoUNetConfig(autoencoder="")
    gan = Path(__file__).resolve().parents[2] / "fixtures" / "exports_v1" / "gan_cond_tiny"
    with pytest.raises(ConfigError, match="not a frame_vae"):
        LatentVideoUNet(config=LatentVideoUNetConfig(autoencoder=str(gan)), frames=4, resolution=16, channels=3)
    with pytest.raises(VidgenError, match="does not exist"):
        LatentVideoUNet(config=LatentVideoUNetConfig(autoencoder=str(tmp_path / "gone")), frames=4, resolution=16,
                        channels=3)


def test_latent_diffusion_trains_over_the_frozen_autoencoder_and_exports_both(autoencoder, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="vidgen.train"):
        run = _train("latent_video_unet_tiny.yaml", tmp_path / "run", f"model.autoencoder={autoencoder}")
    # the tiny autoencoder is far from good on these clips: training says so, and what to do
    warned = [r for r in caplog.records if "training clips at" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    assert "frame_vae_folder" in warned[0].getMessage()
    ae = vidgen.load(autoencoder).model
    # the export holds the autoencoder's architecture and its weights, unchanged by training
    meta = json.loads((run / "config.json").read_text())
    assert meta["model"]["autoencoder_model"]["latent_channels"] == ae.latent_channels
    moved = tmp_path / "moved"
    shutil.move(str(autoencoder), moved)  # the export loads without the autoencoder's folder
    try:
        model = vidgen.load(run)
    finally:
        shutil.move(str(moved), autoencoder)
    assert isinstance(model.model, LatentVideoUNet)
    for name, value in ae.state_dict().items():
        assert torch.equal(model.model.autoencoder.state_dict()[name], value), name
    assert float(model.model.latent_scale) > 0  # measured on the data at the start
    assert model.model.to_latent(clips(8, 8, 3, 16, seed=1)).shape == (8, 8, 4, 8, 8)
    # masked conditioning: given frames come back exactly, the others are generated
    clip = clips(2, 8, 3, 16, seed=2)
    mask = torch.tensor([1, 1, 0, 0, 0, 0, 1, 1.0])
    out = model.infill(clip, mask, sampling_steps=2)
    assert torch.equal(out[:, mask == 1], clip[:, mask == 1]) and out.abs().max() <= 1
    samples = model.sample(3, seed=1, sampling_steps=2, batch_size=3)
    assert samples.shape == (3, 8, 3, 16, 16)
    torch.testing.assert_close(model.sample(1, seed=2, sampling_steps=2)[0], samples[1], atol=1e-5, rtol=1e-5)


def test_the_latent_scale_gives_latents_of_sigma_data(autoencoder):
    cfg = LatentVideoUNetConfig(autoencoder=str(autoencoder), width=8, mults=(1, 2), attention=(1,), heads=2)
    net = LatentVideoUNet(config=cfg, frames=4, resolution=16, channels=3)
    net.load_autoencoder()
    data = clips(16, 4, 3, 16, seed=3)
    net.set_scale(data)
    assert float(net.to_latent(data).std()) == pytest.approx(net.sigma_data, rel=1e-4)
    # the reconstruction PSNR of those clips, per frame in [0, 1] pixels, then averaged
    recon = net.autoencoder.decode(net.autoencoder.encode(data)[0]).clamp(-1, 1)
    mse = ((recon - data) / 2).square().flatten(2).mean(2)
    assert net.recon_psnr == pytest.approx(float((-10 * torch.log10(mse)).mean()), abs=1e-3)
    assert net.from_latent(net.to_latent(data)).shape == data.shape


def test_a_changed_autoencoder_is_refused(autoencoder, tmp_path):
    cfg = LatentVideoUNetConfig(autoencoder=str(autoencoder), width=8, mults=(1, 2), attention=(1,), heads=2)
    net = LatentVideoUNet(config=cfg, frames=4, resolution=16, channels=3)
    other = _train("frame_vae_tiny.yaml", tmp_path / "other", "model.width=16", "train.kimg=0.016")
    net.config.autoencoder = str(other)
    with pytest.raises(ConfigError, match="not the autoencoder recorded"):
        net.load_autoencoder()


def test_fsdp_refuses_a_latent_model(autoencoder, tmp_path, capsys):
    code = main(["train", str(DEBUG / "latent_video_unet_tiny.yaml"), f"run_dir={tmp_path / 'run'}",
                 f"model.autoencoder={autoencoder}", "train.parallel=fsdp"])
    assert code != 0 and "ddp" in capsys.readouterr().err
