"""VAEs train through the same engine: a tiny CVAE and a tiny SVG learn; KL warm-up, previews, exports."""

from __future__ import annotations

import json

import pytest
import torch

from vidgen import config as cfgmod
from vidgen.data import build_dataset
from vidgen.io.checkpoint import load_export
from vidgen.models import build_model
from vidgen.models.vae.svg import SVGConfig
from vidgen.models.vae.vae3d import VAE3DConfig
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig
from vidgen.models.vae.training import VAEFamily, VAEObjective

TINY = ["data.resolution=16", "data.frames=8", "data.num_clips=32", "train.batch_size=8", "train.tick_kimg=0.08",
        "train.num_samples=3", "train.precision=fp32", "train.tensorboard=false", "train.ema_kimg=0",
        "train.betas=[0.9,0.999]", "train.kimg=0.32"]



def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]


def test_a_conditional_vae3d_learns_with_kl_warmup(tmp_path):
    cfg = cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", "model.name=vae3d", *TINY, "model.z_dim=16",
                                               "model.width=8", "model.max_channels=16", "model.conditional=true",
                                               "objective.kl_warmup_kimg=0.24", "train.lr=2e-3"])
    loop.train(cfg, echo=lambda line: None)
    records = _records(tmp_path)
    assert len(records) == 4 and records[-1]["step"] == 40
    first, last = records[0]["main/recon"], records[-1]["main/recon"]
    assert last < 0.7 * first, (first, last)
    assert {"main/loss", "main/kl", "main/kl_weight", "main/mse"} <= set(records[0])
    weights = [r["main/kl_weight"] for r in records]
    assert weights[0] < 0.2 and weights[-1] == 1.0 and weights == sorted(weights)
    state, meta = load_export(tmp_path)
    assert meta["family"] == "vae" and meta["model"]["name"] == "vae3d"
    assert state and all(k.startswith("model.") for k in state) and "model.embed.weight" in state
    assert (tmp_path / "samples.mp4").is_file() and (tmp_path / "real_vs_generated.png").is_file()


def test_svg_learns_through_the_engine(tmp_path):
    cfg = cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", "model.name=svg", *TINY, "model.context=4",
                                               "model.future=4", "model.g_dim=16", "model.z_dim=4",
                                               "model.rnn_size=32", "model.width=8", "train.lr=2e-3"])
    loop.train(cfg, echo=lambda line: None)
    records = _records(tmp_path)
    first, last = records[0]["main/recon"], records[-1]["main/recon"]
    assert last < 0.7 * first, (first, last)
    assert records[-1]["main/kl_weight"] == pytest.approx(1e-4)
    state, meta = load_export(tmp_path)
    assert meta["family"] == "vae" and meta["model"]["name"] == "svg"
    assert any(k.startswith("model.prior.") for k in state) and all(k.startswith("model.") for k in state)


def _dataset(frames=8):
    from vidgen.data.synthetic import ShapesConfig

    return build_dataset(ShapesConfig(resolution=16, frames=frames, num_clips=8))


def test_kl_weight_ramps_linearly_to_beta():
    model = build_model(VAE3DConfig(z_dim=4, width=4, max_channels=8), frames=4, resolution=16, channels=3)
    family = VAEFamily(model=model, objective=VAEObjective(beta=0.5, kl_warmup_kimg=2.0), dataset=_dataset(4),
                       num_samples=2)
    assert [family.kl_weight(n) for n in (0, 1000, 2000, 5000)] == [0.0, 0.25, 0.5, 0.5]
    no_warmup = VAEFamily(model=build_model(VAE3DConfig(z_dim=4, width=4, max_channels=8), frames=4, resolution=16,
                                            channels=3), dataset=_dataset(4), num_samples=2)
    assert no_warmup.kl_weight(0) == 1.0


def test_previews_are_fixed_and_batchnorm_statistics_are_recomputed():
    dataset = _dataset()
    torch.manual_seed(0)
    model = build_model(SVGConfig(g_dim=8, z_dim=2, rnn_size=8, width=4, context=3, future=5), frames=8,
                        resolution=16, channels=3)
    family = VAEFamily(model=model, dataset=dataset, num_samples=2)
    assert family.networks == {"model": model} and family.ema_networks == ("model",)
    first = family.sample(family.networks, 2)
    assert first.shape == (2, 8, 3, 16, 16) and torch.equal(first, family.sample(family.networks, 2))
    assert torch.equal(first[:, :3], torch.stack([dataset[i]["video"][:3] for i in range(2)]))
    norm = model.encoder.stages[1][1]
    before = norm.running_var.clone()
    family.prepare_export(family.networks)
    assert not torch.equal(before, norm.running_var) and norm.momentum == 0.1 and model.training
    assert all(torch.equal(v, model.state_dict()[k[len("model."):]])
               for k, v in family.export_state(family.networks).items())

    clip_vae = build_model(VAE3DConfig(z_dim=4, width=4, max_channels=8), frames=8, resolution=16, channels=3)
    family = VAEFamily(model=clip_vae, dataset=dataset, num_samples=3)
    out = family.sample({"model": clip_vae}, 3)
    assert out.shape == (3, 8, 3, 16, 16) and torch.equal(out[1:2], family.sample({"model": clip_vae}, 3)[1:2])
    assert torch.allclose(out[:2], family.sample({"model": clip_vae}, 2), atol=1e-6)  # per seed, any count
