"""The GAN family's part of training: phases G_main, D_main and (lazily) D_reg.

G_main draws noise, generates a batch and pushes the discriminator's verdict on it towards
"real"; it leaves the (detached) fakes in the step cache, where D_main reuses them, so each
step runs the generator forward once. D_reg is the R1 penalty on real clips, every
``r1_interval`` steps.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from vidgen.models.gan.losses import LOSSES
from vidgen.models.gan.sampling import generate
from vidgen.train.config import TrainConfig
from vidgen.train.family import Phase, StepContext, recompute_batchnorm


class GANFamily:
    """Training recipe for any model with ``.generator``, ``.discriminator``, ``.z_dim``, ``.latents()``."""

    ema_networks = ("generator",)

    def __init__(self, *, model: nn.Module, num_samples: int = 16):
        self.model = model
        self.config = model.config
        self.networks: dict[str, nn.Module] = {"generator": model.generator, "discriminator": model.discriminator}
        self.d_loss, self.g_loss = LOSSES[self.config.loss]
        self.r1_gamma: float = getattr(self.config, "r1_gamma", 0.0)
        self.r1_interval: int = getattr(self.config, "r1_interval", 16)
        self.preview_latents = model.latents(list(range(num_samples)))

    def optimizers(self, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        lr_d = cfg.lr_d if cfg.lr_d is not None else cfg.lr
        beta1, beta2 = cfg.betas
        # with lazy R1 the discriminator takes interval+1 steps per interval; StyleGAN2 rescales
        # lr and betas so that the main updates keep their strength
        ratio = self.r1_interval / (self.r1_interval + 1) if self.r1_gamma > 0 else 1.0
        adam = dict(weight_decay=cfg.weight_decay)
        return {
            "generator": torch.optim.Adam(self.model.generator.parameters(), lr=cfg.lr, betas=cfg.betas, **adam),
            "discriminator": torch.optim.Adam(self.model.discriminator.parameters(), lr=lr_d * ratio,
                                              betas=(beta1**ratio, beta2**ratio), **adam),
        }

    def phases(self) -> list[Phase]:
        phases = [Phase("G_main", "generator", self.g_main), Phase("D_main", "discriminator", self.d_main)]
        if self.r1_gamma > 0:
            # R1 differentiates D twice; DistributedDataParallel cannot, so its gradients are averaged by hand
            phases.append(Phase("D_reg", "discriminator", self.d_reg, interval=self.r1_interval, ddp=False))
        return phases

    def g_main(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        z = ctx.randn(self.model.z_dim)
        fake = ctx.net("generator")(z)  # [B, T, C, H, W]
        ctx.cache["fake"] = fake.detach()
        logits = ctx.net("discriminator")(fake)
        return {"loss": self.g_loss(logits.float())}

    def d_main(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        D = ctx.net("discriminator")
        real_logits = D(ctx.batch["video"]).float()
        fake_logits = D(ctx.cache["fake"]).float()
        return {
            "loss": self.d_loss(real_logits, fake_logits),
            "real_score": real_logits.detach().mean(),
            "fake_score": fake_logits.detach().mean(),
        }

    def d_reg(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        real = ctx.batch["video"].detach().requires_grad_(True)
        logits = ctx.net("discriminator")(real)
        (grad,) = torch.autograd.grad(logits.float().sum(), real, create_graph=True)
        penalty = grad.float().square().flatten(1).sum(1).mean()
        return {"loss": penalty * (self.r1_gamma / 2), "r1_penalty": penalty.detach()}

    def sample(self, nets: dict[str, nn.Module], count: int) -> torch.Tensor:
        return generate(nets["generator"], self.preview_latents[:count])

    def prepare_export(self, nets: dict[str, nn.Module], batches: int = 8, batch_size: int = 16) -> None:
        """Recompute the EMA generator's BatchNorm statistics on ``batches`` of fixed noise."""
        G = nets["generator"]
        device = next(G.parameters()).device
        gen = torch.Generator().manual_seed(0)
        recompute_batchnorm(G, (lambda: G(torch.randn(batch_size, self.model.z_dim, generator=gen).to(device))
                                for _ in range(batches)))
        G.eval()

    def export_state(self, nets: dict[str, nn.Module]) -> dict[str, Any]:
        return {f"generator.{k}": v for k, v in nets["generator"].state_dict().items()}
