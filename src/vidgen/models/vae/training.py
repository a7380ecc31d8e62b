"""The VAE family's training: its objective and one phase, the (beta-weighted) negative ELBO.

The model computes its own terms, ``model.loss_terms(video, label, generator) -> {"recon",
"kl", ...}`` (reparameterised noise from the micro-batch's seeded generator); the phase
minimises ``recon + w * kl`` where the KL weight ``w`` rises linearly from 0 to
``objective.beta`` over the first ``objective.kl_warmup_kimg`` thousand clips (KL annealing,
Bowman et al. 2016, against posterior collapse), as a function of the clips seen so a
resumed run continues the same ramp. Logged: ``main/recon``, ``main/kl``,
``main/kl_weight`` and the model's extra statistics (``main/mse``, ...).

Previews: a clip VAE (``vae3d``) decodes the prior latents of seeds ``0..N-1``, fixed for
the run (class ``i mod num_classes`` for sample ``i`` when conditional); a stochastic
predictor (``svg``, which has ``context`` / ``future``) continues the first dataset clips'
context with futures drawn from its learned prior under a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vidgen.convert import seed_labels
from vidgen.errors import ConfigError
from vidgen.family import Phase, StepContext, recompute_batchnorm

PREVIEW_SEED = 0  # seed of the generator behind every preview prediction
STAT_CLIPS = 16  # clips kept for recomputing BatchNorm statistics before an export


@dataclass
class VAEObjective:
    """How a VAE trains (the ``objective:`` section of a VAE recipe); none of it is exported."""

    # weight of the KL term after the warm-up (beta-VAE); null: the model's own default
    # (vae3d: 1, the ELBO itself; svg: 1e-4, the paper's, for its per-frame MSE summed over frames)
    beta: float | None = None
    kl_warmup_kimg: float = 0.0  # the KL weight ramps 0 -> beta over this many kimg (0: beta from the start)

    def __post_init__(self) -> None:
        if self.beta is not None and not self.beta >= 0:
            raise ConfigError(f"objective.beta must be >= 0, got {self.beta}", hint="1.0 is the plain ELBO")
        if not self.kl_warmup_kimg >= 0:
            raise ConfigError(f"objective.kl_warmup_kimg must be >= 0, got {self.kl_warmup_kimg}")


MIGRATED = ("beta", "kl_warmup_kimg")


class VAEFamily:
    """Training recipe for a model with ``loss_terms``, ``num_classes`` and ``default_beta``.

    Clip VAEs also need ``latents(seeds)`` and ``decode(z, label)``; models with ``context``
    and ``future`` attributes are previewed as predictors (``forward(context, *, future,
    generator)``).
    """

    ema_networks: tuple[str, ...] = ("model",)

    def __init__(self, *, model: nn.Module, objective: VAEObjective | None = None, dataset: Any,
                 num_samples: int = 16):
        self.model = model
        self.networks: dict[str, nn.Module] = {"model": model}
        objective = objective if objective is not None else VAEObjective()
        self.beta = float(objective.beta if objective.beta is not None else model.default_beta)
        self.warmup_nimg = 1000.0 * objective.kl_warmup_kimg
        self.num_classes = int(getattr(model, "num_classes", 0))
        self.predicts = hasattr(model, "future")
        self.reconstructs = not self.predicts and not getattr(model, "generates", True)  # frame_vae
        count = min(max(num_samples, STAT_CLIPS), len(dataset))
        items = [dataset[i] for i in range(count)]
        self.clips = torch.stack([item["video"] for item in items])  # [N, T, C, H, W]
        self.labels = torch.tensor([item["label"] for item in items], dtype=torch.long)  # [N]
        if self.predicts:
            self.context, self.future = model.context, model.future
        elif not self.reconstructs:
            self.preview_latents = model.latents(list(range(num_samples)))  # [num_samples, z_dim]
            self.preview_labels = seed_labels(range(num_samples), max(self.num_classes, 1))

    def optimizers(self, cfg: Any) -> dict[str, torch.optim.Optimizer]:
        return {"model": torch.optim.Adam(self.model.parameters(), lr=cfg.lr, betas=cfg.betas,
                                          weight_decay=cfg.weight_decay)}

    def phases(self) -> list[Phase]:
        # loss_terms is not the model's forward, which DistributedDataParallel would need to hook:
        # the phase runs on the plain model and the engine averages the gradients in one all-reduce
        return [Phase("main", "model", self.main, ddp=False)]

    def kl_weight(self, nimg: int) -> float:
        """The weight of the KL term after ``nimg`` clips: ``beta * min(1, nimg / warm-up)``."""
        if self.warmup_nimg <= 0:
            return self.beta
        return self.beta * min(1.0, nimg / self.warmup_nimg)

    def main(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        video = ctx.batch["video"]  # [B, T, C, H, W]
        label = ctx.batch["label"] if self.num_classes else None
        terms = ctx.net("model").loss_terms(video, label, ctx.generator)
        weight = self.kl_weight(ctx.nimg)
        loss = terms["recon"] + weight * terms["kl"]
        stats = {key: value.detach() for key, value in terms.items()}
        return {"loss": loss, **stats, "kl_weight": torch.tensor(weight, device=loss.device)}

    @torch.no_grad()
    def sample(self, nets: dict[str, nn.Module], count: int) -> torch.Tensor:
        """``count`` preview clips ``[count, T, C, H, W]`` on the CPU (see the module docstring)."""
        model = nets.get("model", self.model)
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        try:
            if self.predicts:
                context = self.clips[:count, :self.context].to(device)
                generator = torch.Generator().manual_seed(PREVIEW_SEED)
                pred = model(context, future=self.future, generator=generator)
                return torch.cat([context, pred], dim=1).float().cpu()
            if self.reconstructs:  # an autoencoder without a prior: its reconstructions of the first clips
                return torch.cat([model.reconstruct(x.to(device)).float().cpu() for x in self.clips[:count].split(8)])
            out = []
            for z, y in zip(self.preview_latents[:count].split(32), self.preview_labels[:count].split(32)):
                label = y.to(device) if self.num_classes else None
                out.append(model.decode(z.to(device), label).float().cpu())
            return torch.cat(out)
        finally:
            model.train(was_training)

    @property
    def generates(self) -> bool:
        """Whether it makes clips from noise (clip VAEs; not the predicting svg, not frame_vae): see :meth:`sampler`."""
        return not self.predicts and not self.reconstructs

    def sampler(self, nets: dict[str, nn.Module]) -> Any:
        """``sample(seed, n, frames)``: clips of seeds ``seed .. seed + n - 1`` from the prior, as
        :meth:`VideoVAE.sample` draws them (clip of seed s is class s mod classes)."""
        model = nets.get("model", self.model)

        @torch.no_grad()
        def sample(seed: int, n: int, frames: int | None = None) -> torch.Tensor:
            seeds = list(range(seed, seed + n))
            device = next(model.parameters()).device
            was_training = model.training
            model.eval()
            try:
                label = seed_labels(seeds, self.num_classes)
                label = label.to(device) if label is not None else None
                return model.decode(model.latents(seeds).to(device), label).float().cpu()
            finally:
                model.train(was_training)

        return sample

    def prepare_export(self, nets: dict[str, nn.Module]) -> None:
        """Recompute the EMA model's BatchNorm statistics by the training computation on the kept clips."""
        model = nets.get("model", self.model)
        device = next(model.parameters()).device
        generator = torch.Generator().manual_seed(PREVIEW_SEED)
        recompute_batchnorm(model, (
            lambda video=video, label=label: model.loss_terms(
                video.to(device), label.to(device) if self.num_classes else None, generator)
            for video, label in zip(self.clips.split(8), self.labels.split(8))))

    def export_state(self, nets: dict[str, nn.Module]) -> dict[str, Any]:
        model = nets.get("model", self.model)
        return {f"model.{k}": v for k, v in model.state_dict().items()}
