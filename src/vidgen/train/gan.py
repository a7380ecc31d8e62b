"""The GAN family's training step: D update, then G update, then the EMA generator."""

from __future__ import annotations

import copy
from contextlib import nullcontext

import torch
from torch import nn

from vidgen.models.gan.losses import LOSSES
from vidgen.train.config import TrainConfig


class GANTrainer:
    """Owns the optimizers and the EMA copy of a model with ``.generator``/``.discriminator``.

    One :meth:`step` is one discriminator and one generator update on a batch of real clips
    (the non-saturating loss by default, Adam(2e-4, betas=(0.5, 0.999))).
    """

    def __init__(self, *, model: nn.Module, cfg: TrainConfig, device: torch.device, dtype: torch.dtype):
        self.model = model
        self.cfg = cfg
        self.device = device
        self.dtype = dtype
        self.G: nn.Module = model.generator
        self.D: nn.Module = model.discriminator
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
        self.d_loss, self.g_loss = LOSSES[model.config.loss]
        self.z_dim = model.z_dim

    def autocast(self):
        if self.dtype == torch.float32:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def step(self, real: torch.Tensor, nimg: int) -> dict[str, torch.Tensor]:
        """One update on ``real [B, T, C, H, W]``; ``nimg`` clips were seen before it.

        Returns detached loss tensors; reading them (``.item()``) is left to the caller so
        the step itself never waits on the device.
        """
        batch = real.shape[0]
        z = torch.randn(batch, self.z_dim, device=self.device)

        # D main: real up, fake down. The fake batch is reused by the G step below.
        self.D.requires_grad_(True)
        with self.autocast():
            fake = self.G(z)
            real_logits = self.D(real)
            fake_logits = self.D(fake.detach())
            loss_d = self.d_loss(real_logits.float(), fake_logits.float())
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        # G main: D frozen so its weights get no gradient
        self.D.requires_grad_(False)
        with self.autocast():
            loss_g = self.g_loss(self.D(fake).float())
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()

        self.update_ema(nimg + batch, batch)
        return {
            "loss_d": loss_d.detach(),
            "loss_g": loss_g.detach(),
            "d_real": real_logits.detach().float().mean(),
            "d_fake": fake_logits.detach().float().mean(),
        }

    @torch.no_grad()
    def update_ema(self, nimg: int, batch: int) -> None:
        """EMA with a half-life in kimg, ramped up early (StyleGAN2-ADA's schedule)."""
        if self.cfg.ema_kimg <= 0:
            self.G_ema.load_state_dict(self.G.state_dict())
            return
        ema_nimg = self.cfg.ema_kimg * 1000
        if self.cfg.ema_rampup is not None:
            ema_nimg = min(ema_nimg, nimg * self.cfg.ema_rampup)
        beta = 0.5 ** (batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.lerp_(p, 1.0 - beta)

    @torch.no_grad()
    def recalibrate_ema(self, batches: int = 8) -> None:
        """Recompute the EMA generator's BatchNorm statistics for its own weights.

        Running statistics collected by the live generator do not match the averaged
        weights; a few forward passes in train mode (cumulative average) fix that.
        """
        norms = [m for m in self.G_ema.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative moving average over the passes below
        self.G_ema.train()
        gen = torch.Generator().manual_seed(0)
        for _ in range(batches):
            z = torch.randn(max(self.cfg.batch_size, 16), self.z_dim, generator=gen).to(self.device)
            with self.autocast():
                self.G_ema(z)
        self.G_ema.eval()
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
