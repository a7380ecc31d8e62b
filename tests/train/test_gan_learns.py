"""A tiny GAN actually learns a tiny problem through the engine: every clip is one solid colour."""

from __future__ import annotations

import torch

from vidgen import config as cfgmod
from vidgen.models.gan.sampling import generate
from vidgen.train.config import ExperimentConfig
from vidgen.train.loop import Trainer

TARGET = torch.tensor([0.8, -0.6, 0.2]).view(1, 1, 3, 1, 1)


def test_generator_moves_towards_the_data(tmp_path):
    cfg = cfgmod.load(ExperimentConfig, None, [
        f"run_dir={tmp_path}", "data.resolution=8", "data.frames=4", "data.num_clips=64", "model.z_dim=8",
        "model.g_channels=8", "model.d_channels=8", "model.max_channels=16", "train.batch_size=16",
        "train.kimg=1.92", "train.tick_kimg=0.96", "train.lr=1e-3", "train.ema_kimg=0", "train.precision=fp32",
        "train.tensorboard=false", "train.num_samples=16"])
    trainer = Trainer(cfg, echo=lambda line: None)
    real = TARGET.expand(16, 4, 3, 8, 8).contiguous()  # [B, T, C, H, W]

    def solid_colour_batches():
        while True:
            yield [{"video": real, "label": torch.zeros(16, dtype=torch.long)}]

    trainer.batches = solid_colour_batches
    z = trainer.model.latents(list(range(16)))

    def error() -> float:
        trainer.family.prepare_export(trainer.ema, batches=2)
        return (generate(trainer.ema["generator"], z) - TARGET).abs().mean().item()

    before = error()
    trainer.run()
    after = error()
    assert trainer.step == 120
    assert after < 0.5 * before, (before, after)
    assert after < 0.25
