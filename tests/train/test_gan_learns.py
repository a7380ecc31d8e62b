"""A tiny GAN actually learns a tiny problem: every clip is one solid colour."""

from __future__ import annotations

import torch

from vidgen.models.gan.dcgan3d import DCGAN3D, DCGAN3DConfig
from vidgen.models.gan.sampling import generate
from vidgen.train.config import TrainConfig
from vidgen.train.gan import GANTrainer


def test_generator_moves_towards_the_data():
    torch.manual_seed(0)
    cfg = DCGAN3DConfig(z_dim=8, g_channels=8, d_channels=8, max_channels=16)
    model = DCGAN3D(config=cfg, frames=4, resolution=8, channels=3)
    target = torch.tensor([0.8, -0.6, 0.2]).view(1, 1, 3, 1, 1)
    real = target.expand(16, 4, 3, 8, 8).contiguous()  # [B, T, C, H, W]
    trainer = GANTrainer(model=model, cfg=TrainConfig(batch_size=16, ema_kimg=0.0, lr_g=1e-3, lr_d=1e-3),
                         device=torch.device("cpu"), dtype=torch.float32)
    z = model.latents(list(range(16)))

    def error() -> float:
        trainer.recalibrate_ema(batches=2)
        return (generate(trainer.G_ema, z) - target).abs().mean().item()

    before = error()
    losses = [trainer.step(real, nimg=16 * i) for i in range(120)]
    after = error()
    assert all(torch.isfinite(v).all() for step in losses for v in step.values())
    assert after < 0.5 * before, (before, after)
    assert after < 0.25
