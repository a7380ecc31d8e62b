"""The GAN family's training: its objective (``objective:``) and phases G_main, D_main, (lazily) D_reg.

G_main draws noise (and, for a conditional model, fake labels uniformly over the classes),
generates a batch and pushes the discriminator's verdict on it towards "real"; it leaves the
(detached) fakes and their labels in the step cache, where D_main reuses them, so each step
runs the generator forward once. D_main scores real clips (with their dataset labels) and
those fakes with ``objective.loss``; for ``wgan-gp`` it adds the gradient penalty on random
interpolates. D_reg is the R1 penalty on real clips, every ``r1_interval`` steps.

With ``model.aux_class > 0`` (conditional models: AC-GAN's auxiliary classifier) the
discriminator is called with ``classes=True`` and returns ``(logits, class_logits)``; D_main
adds ``aux_class`` x the cross-entropy of the class head on the real clips (their dataset
labels), G_main the same on the fakes (the labels they were drawn for). The class head is
trained on real clips only, so the generator cannot earn a low loss by agreeing with a
classifier that learned its own mistakes.

With ``model.info_classes = K`` (InfoGAN's categorical code, on unlabelled data) the
generator's "labels" are categories drawn uniformly in ``0..K-1``; the discriminator sees no
labels (no projection) but has a K-way head, and G_main and D_main both add ``info_weight`` x
its cross-entropy on the fakes' categories: the discriminator learns to tell the categories
apart, the generator to make them so. Real clips train only the real/fake logits.

With ``objective.diffaugment`` every clip the discriminator sees (real or fake, in every phase)
is augmented first, with its own draw. Every random draw (noise, fake labels, augmentation,
interpolation weights) comes from the step's seeded generator (``ctx.randn`` /
``ctx.randint``), drawn for the global batch: the run is reproducible, resumable, and does
not depend on how a batch is split into processes and micro-batches.

Phases that differentiate the discriminator twice (R1, and D_main with ``wgan-gp``) run
outside DistributedDataParallel (``ddp=False``: the engine averages their gradients with one
all-reduce) and use the plain network, since neither DDP nor ``torch.compile`` supports
double backward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from vidgen.models.gan.augment import diff_augment, num_draws, parse_policy, uniform_from_normal
from vidgen.models.gan.common import InstanceNoise
from vidgen.models.gan.losses import (as_list, class_accuracy, class_loss, d_loss, g_loss, gradient_penalty,
                                     mean_score, r1_penalty)
from vidgen.convert import seed_labels
from vidgen.errors import ConfigError
from vidgen.family import Phase, StepContext, recompute_batchnorm
from vidgen.models.gan.sampling import generate


@dataclass
class GANObjective:
    """How a GAN trains (the ``objective:`` section of a GAN recipe); none of it is exported."""

    # adversarial loss: "nonsaturating" (-log D), "lsgan" (least squares), "hinge", "wgan-gp"
    loss: Literal["nonsaturating", "lsgan", "hinge", "wgan-gp"] = "nonsaturating"
    gp_gamma: float = 10.0  # gradient-penalty weight of wgan-gp (on interpolates, target norm 1)
    wgan_drift: float = 0.0  # wgan-gp only: weight of E[D(x)^2] on real clips (ProGAN uses 1e-3)
    r1_gamma: float = 0.0  # R1 gradient penalty weight on real clips (0: off)
    r1_interval: int = 16  # lazy regularisation: the penalty runs every N steps
    # DiffAugment policy applied to real and fake clips before the discriminator, the same
    # transform for every frame of a clip: comma-separated from "color", "translation", "cutout"
    diffaugment: str = ""
    info_weight: float = 1.0  # InfoGAN's lambda for the categorical code (model.info_classes)
    # anneal the discriminators' instance noise (model.d_noise): its std falls linearly to 0 over
    # this many kimg (0: constant), so it holds them back early and stops masking faint detail later
    d_noise_kimg: float = 0.0

    def __post_init__(self) -> None:
        if self.r1_gamma < 0 or self.r1_interval < 1:
            raise ConfigError(f"objective.r1_gamma must be >= 0 and objective.r1_interval >= 1, "
                              f"got {self.r1_gamma} and {self.r1_interval}")
        if self.gp_gamma < 0:
            raise ConfigError(f"objective.gp_gamma must be >= 0, got {self.gp_gamma}")
        if self.wgan_drift < 0:
            raise ConfigError(f"objective.wgan_drift must be >= 0, got {self.wgan_drift}")
        if self.info_weight < 0:
            raise ConfigError(f"objective.info_weight is a loss weight, >= 0, got {self.info_weight}")
        if self.d_noise_kimg < 0:
            raise ConfigError(f"objective.d_noise_kimg must be >= 0 (0: constant noise), got {self.d_noise_kimg}")
        parse_policy(self.diffaugment)  # a clear error for an unknown augmentation


MIGRATED = ("loss", "gp_gamma", "wgan_drift", "r1_gamma", "r1_interval", "diffaugment", "info_weight", "d_noise_kimg")


def check(model_config: Any, objective: GANObjective) -> None:
    """Settle what the objective decides of the model: a WGAN-GP discriminator has no BatchNorm
    (the per-clip gradient penalty would couple the clips of a batch); noise to anneal must exist."""
    if objective.loss == "wgan-gp" and getattr(model_config, "d_norm", "none") != "none":
        model_config.d_norm = "none"
    if objective.d_noise_kimg > 0 and not getattr(model_config, "d_noise", 0.0):
        raise ConfigError("objective.d_noise_kimg anneals the discriminators' instance noise, and model.d_noise is 0",
                          hint="set model.d_noise (e.g. 0.1, mocogan), or objective.d_noise_kimg=0")


class GANFamily:
    """Training recipe for any model that keeps the contract of ``vidgen/models/gan/common.py``."""

    ema_networks = ("generator",)

    def __init__(self, *, model: nn.Module, objective: GANObjective | None = None, dataset: Any = None,
                 num_samples: int = 16):
        self.model = model
        self.config = model.config
        self.objective = objective = objective if objective is not None else GANObjective()
        self.networks: dict[str, nn.Module] = {"generator": model.generator, "discriminator": model.discriminator}
        self.loss: str = objective.loss
        self.num_classes: int = int(getattr(model, "num_classes", 0))
        self.policy = parse_policy(objective.diffaugment)
        self.draws = num_draws(self.policy)
        self.r1_gamma: float = objective.r1_gamma
        self.r1_interval: int = objective.r1_interval
        self.aux_class: float = self.config.aux_class  # > 0 only for conditional models (checked by the config)
        self.info: float = objective.info_weight if self.config.info_classes else 0.0  # InfoGAN's code
        self.noise_nimg = objective.d_noise_kimg * 1000
        self.preview_latents = model.latents(list(range(num_samples)))
        self.instance_noise = [m for m in model.discriminator.modules() if isinstance(m, InstanceNoise)]
        # previews: the clip of seed s is class s mod num_classes, as VideoGenerator.sample draws it
        self.preview_labels = seed_labels(range(num_samples), self.num_classes)

    def optimizers(self, cfg: Any) -> dict[str, torch.optim.Optimizer]:
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
        # wgan-gp's penalty differentiates D twice, every step: D_main leaves DDP for it
        phases = [Phase("G_main", "generator", self.g_main),
                  Phase("D_main", "discriminator", self.d_main, ddp=self.loss != "wgan-gp")]
        if self.r1_gamma > 0:
            # R1 differentiates D twice; DistributedDataParallel cannot, so its gradients are averaged by hand
            phases.append(Phase("D_reg", "discriminator", self.d_reg, interval=self.r1_interval, ddp=False))
        return phases

    # --- helpers -------------------------------------------------------------------------

    def _augment(self, ctx: StepContext, video: torch.Tensor) -> torch.Tensor:
        """DiffAugment ``video [B, T, C, H, W]`` with a fresh per-clip draw (identity without a policy)."""
        if not self.policy:
            return video
        return diff_augment(video, self.policy, uniform_from_normal(ctx.randn(self.draws)))

    def _anneal(self, ctx: StepContext) -> None:
        """Set annealed instance noise to its level after the clips seen so far."""
        for m in self.instance_noise:
            m.anneal(ctx.nimg, self.noise_nimg)

    def _real_labels(self, ctx: StepContext) -> torch.Tensor | None:
        return ctx.batch["label"].long() if self.num_classes and not self.info else None

    @staticmethod
    def _score(D: nn.Module, video: torch.Tensor, label: torch.Tensor | None) -> Any:
        return D(video) if label is None else D(video, label)

    # --- phases --------------------------------------------------------------------------

    def g_main(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        self._anneal(ctx)
        z = ctx.randn(self.model.z_dim)
        labels = ctx.randint(self.num_classes) if self.num_classes else None
        G = ctx.net("generator")
        fake = G(z) if labels is None else G(z, labels)  # [B, T, C, H, W]
        ctx.cache["fake"], ctx.cache["fake_label"] = fake.detach(), labels
        D = ctx.net("discriminator")
        if self.info:
            logits, classes = D(self._augment(ctx, fake), None, classes=True)
            info = class_loss(classes, labels)
            return {"loss": g_loss(self.loss, logits) + self.info * info, "info_loss": info.detach(),
                    "info_acc": class_accuracy(classes, labels)}
        if not self.aux_class:
            return {"loss": g_loss(self.loss, self._score(D, self._augment(ctx, fake), labels))}
        logits, classes = D(self._augment(ctx, fake), labels, classes=True)
        aux = class_loss(classes, labels)
        return {"loss": g_loss(self.loss, logits) + self.aux_class * aux, "class_loss": aux.detach(),
                "class_acc": class_accuracy(classes, labels)}

    def d_main(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        self._anneal(ctx)
        D = ctx.net("discriminator")
        real_labels, fake_labels = self._real_labels(ctx), ctx.cache["fake_label"]
        real = self._augment(ctx, ctx.batch["video"])
        fake = self._augment(ctx, ctx.cache["fake"])
        if self.aux_class:
            real_logits, real_classes = D(real, real_labels, classes=True)
        else:
            real_logits = self._score(D, real, real_labels)
        if self.info:
            fake_logits, fake_classes = D(fake, None, classes=True)
        else:
            fake_logits = self._score(D, fake, fake_labels)
        out = {"loss": d_loss(self.loss, real_logits, fake_logits),
               "real_score": mean_score(real_logits), "fake_score": mean_score(fake_logits)}
        if self.info:  # the head learns the categories of the fakes, the only clips that have one
            info = class_loss(fake_classes, fake_labels)
            out["loss"] = out["loss"] + self.info * info
            out["info_loss"], out["info_acc"] = info.detach(), class_accuracy(fake_classes, fake_labels)
        if self.aux_class:
            aux = class_loss(real_classes, real_labels)
            out["loss"] = out["loss"] + self.aux_class * aux
            out["class_loss"], out["class_acc"] = aux.detach(), class_accuracy(real_classes, real_labels)
        if self.loss == "wgan-gp":
            # on interpolates of the clips D sees (augmented), labelled with the real clips' classes
            weight = uniform_from_normal(ctx.randn(1)).view(-1)
            plain = self.networks["discriminator"]
            penalty = gradient_penalty(lambda x: self._score(plain, x, real_labels), real, fake, weight)
            out["loss"] = out["loss"] + self.objective.gp_gamma * penalty
            out["gp_penalty"] = penalty.detach()
            if self.objective.wgan_drift > 0:
                drift = sum(t.square().mean() for t in as_list(real_logits))
                out["loss"] = out["loss"] + self.objective.wgan_drift * drift
        return out

    def d_reg(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        self._anneal(ctx)
        plain = self.networks["discriminator"]
        labels = self._real_labels(ctx)
        # the gradient is taken with respect to the un-augmented clip (StyleGAN2-ADA's choice)
        penalty = r1_penalty(lambda x: self._score(plain, self._augment(ctx, x), labels), ctx.batch["video"])
        return {"loss": penalty * (self.r1_gamma / 2), "r1_penalty": penalty.detach()}

    # --- sampling and export -------------------------------------------------------------

    def sample(self, nets: dict[str, nn.Module], count: int) -> torch.Tensor:
        labels = self.preview_labels[:count] if self.preview_labels is not None else None
        return generate(nets["generator"], self.preview_latents[:count], labels=labels)

    generates = True  # clips from noise: train.metrics can score it (see sampler)

    def sampler(self, nets: dict[str, nn.Module]) -> Any:
        """``sample(seed, n, frames)``: clips of seeds ``seed .. seed + n - 1`` from the generator in
        ``nets``, as :meth:`VideoGenerator.sample` draws them (class ``s mod classes``)."""
        G = nets["generator"]

        def sample(seed: int, n: int, frames: int | None = None) -> torch.Tensor:
            seeds = list(range(seed, seed + n))
            labels = seed_labels(seeds, self.num_classes)
            return generate(G, self.model.latents(seeds), labels=labels, frames=frames, batch_size=n)

        return sample

    def prepare_export(self, nets: dict[str, nn.Module], batches: int = 8, batch_size: int = 16) -> None:
        """Recompute the EMA generator's BatchNorm statistics on ``batches`` of fixed noise (and labels)."""
        G = nets["generator"]
        device = next(G.parameters()).device
        gen = torch.Generator().manual_seed(0)

        def run() -> Any:
            z = torch.randn(batch_size, self.model.z_dim, generator=gen).to(device)
            if not self.num_classes:
                return G(z)
            return G(z, torch.randint(self.num_classes, (batch_size,), generator=gen).to(device))

        recompute_batchnorm(G, (run for _ in range(batches)))
        G.eval()

    def export_state(self, nets: dict[str, nn.Module]) -> dict[str, Any]:
        return {f"generator.{k}": v for k, v in nets["generator"].state_dict().items()}

