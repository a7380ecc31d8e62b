"""The diffusion family's training: EDM's denoising loss with masked frame conditioning.

Each step draws, per clip, a noise level ``ln sigma ~ N(p_mean, p_std^2)`` (EDM's log-normal,
which puts the training where the loss can still fall), noise ``n``, and which frames are
given clean (MCVD's masked conditioning): none (generation, weight ``cond_generate``), the
first ``k`` (prediction, ``cond_predict``, ``k`` uniform in ``1..T-1``) or the first ``k`` and
the last ``j`` (interpolation, ``cond_interpolate``). The network sees ``x + sigma n`` and the
given frames and is trained on the frames it was not given, with EDM's weight
``(sigma^2 + s_d^2) / (sigma s_d)^2`` (a unit-variance target at every level). A conditional
model's label is replaced by the null class with probability ``label_dropout``, so the same
network is also the unconditional one that classifier-free guidance needs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vidgen.convert import seed_labels
from vidgen.errors import ConfigError
from vidgen.family import Phase, StepContext
from vidgen.models.diffusion.latent import RECON_WARN_DB, SCALE_CLIPS
from vidgen.models.diffusion.sampling import guided, initial_noise, solve

log = logging.getLogger("vidgen.train")


@dataclass
class DiffusionObjective:
    """How a diffusion model trains (the ``objective:`` section of its recipe); not exported."""

    p_mean: float = -1.2  # the log-normal of the training noise levels (EDM's defaults)
    p_std: float = 1.2
    cond_generate: float = 0.5  # how often no frame is given ...
    cond_predict: float = 0.35  # ... the first k ...
    cond_interpolate: float = 0.15  # ... or the first k and the last j
    label_dropout: float = 0.1  # conditional models: the null class this often (classifier-free guidance)
    preview_steps: int = 12  # Heun steps of the training previews and train.metrics samples

    def __post_init__(self) -> None:
        weights = (self.cond_generate, self.cond_predict, self.cond_interpolate)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ConfigError("objective.cond_generate, cond_predict and cond_interpolate are weights >= 0, not all 0")
        if self.p_std <= 0 or not 0 <= self.label_dropout < 1 or self.preview_steps < 1:
            raise ConfigError("objective.p_std must be > 0, objective.label_dropout in [0, 1), "
                              "objective.preview_steps >= 1")


def frame_masks(b: int, t: int, g: torch.Generator, objective: DiffusionObjective) -> torch.Tensor:
    """``[B, T]`` masks of given frames (1) drawn as the module docstring says."""
    weights = torch.tensor([objective.cond_generate, objective.cond_predict, objective.cond_interpolate])
    mode = torch.multinomial(weights / weights.sum(), b, replacement=True, generator=g)
    first = torch.randint(1, max(2, t), (b,), generator=g)  # 1 .. T-1 given in front
    last = torch.randint(1, max(2, t), (b,), generator=g)
    idx = torch.arange(t)[None]
    mask = torch.zeros(b, t)
    mask = torch.where((mode[:, None] >= 1) & (idx < first[:, None]), 1.0, mask)
    tail = (mode[:, None] == 2) & (idx >= t - last[:, None])
    mask = torch.where(tail, 1.0, mask)
    # at least one frame to generate: an interpolation mask that covers the clip gives up its tail
    full = mask.sum(dim=1) >= t
    mask[full, -1] = 0.0
    return mask if t > 1 else torch.zeros(b, t)


class DiffusionFamily:
    """Training of a :class:`~vidgen.models.diffusion.unet.VideoUNet` (or any network with its ``forward``)."""

    generates = True  # clips from noise: train.metrics can score it

    def __init__(self, *, model: nn.Module, objective: DiffusionObjective | None = None, dataset: Any,
                 num_samples: int = 16):
        self.model = model
        self.networks: dict[str, nn.Module] = {"model": model}
        self.ema_networks: tuple[str, ...] = ("model",)
        self.objective = objective if objective is not None else DiffusionObjective()
        self.num_classes = int(getattr(model, "num_classes", 0))
        self.num_samples = num_samples
        self.shape = model.latent_shape(*dataset[0]["video"].shape[-2:])  # what the denoiser works on
        if hasattr(model, "load_autoencoder"):  # latent diffusion: the frozen autoencoder's weights, the scale
            model.load_autoencoder()
            count = min(len(dataset), SCALE_CLIPS)
            model.set_scale(torch.stack([dataset[i]["video"] for i in range(count)]))
            message = (f"the autoencoder {model.config.autoencoder} reconstructs {count} training clips at "
                       f"{model.recon_psnr:.1f} dB PSNR")
            if model.recon_psnr < RECON_WARN_DB:
                log.warning("%s: the samples cannot be sharper than that. Train an autoencoder on these clips "
                            "first (vidgen train configs/frame_vae_folder.yaml data.path=..., then "
                            "model.autoencoder=runs/frame_vae_folder)", message)
            else:
                log.info(message)

    def optimizers(self, cfg: Any) -> dict[str, torch.optim.Optimizer]:
        return {"model": torch.optim.Adam(self.model.parameters(), lr=cfg.lr, betas=cfg.betas,
                                          weight_decay=cfg.weight_decay)}

    def phases(self) -> list[Phase]:
        return [Phase("main", "model", self.main)]

    def main(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        x0 = self.model.to_latent(ctx.batch["video"]).float()  # [B, T, C, H, W] (latents: [B, T, c, h, w])
        b, t = x0.shape[:2]
        o = self.objective
        sigma = torch.exp(o.p_mean + o.p_std * ctx.randn(1).view(-1)).to(x0.device)  # [B]
        noise = ctx.randn(*x0.shape[1:])
        g = ctx.generator
        mask = frame_masks(b, t, g, o).to(x0.device)
        labels = None
        if self.num_classes:
            labels = ctx.batch["label"].to(x0.device).long()
            drop = (torch.rand(b, generator=g) < o.label_dropout).to(x0.device)
            labels = torch.where(drop, torch.full_like(labels, self.num_classes), labels)
        net = ctx.net("model")
        s = sigma.view(-1, 1, 1, 1, 1)
        denoised = net((x0 + s * noise).to(x0.dtype), sigma, x0, mask, labels)
        sd = self.model.sigma_data
        weight = (s ** 2 + sd ** 2) / (s * sd) ** 2
        free = (1 - mask)[:, :, None, None, None]  # the frames to generate
        per = (weight * (denoised.float() - x0) ** 2 * free).sum(dim=(1, 2, 3, 4))
        loss = (per / (free.sum(dim=(1, 2, 3, 4)) * x0[0, 0].numel()).clamp_min(1)).mean()
        mse = ((denoised.detach().float() - x0) ** 2 * free).sum() / (free.sum() * x0[0, 0].numel()).clamp_min(1)
        return {"loss": loss, "mse": mse, "sigma": sigma.detach().mean()}

    def draw(self, model: nn.Module, seeds: list[int], labels: torch.Tensor | None, *, steps: int,
             sampler: str = "heun", guidance: float = 1.0) -> torch.Tensor:
        """Clips of ``seeds`` from noise with ``model`` (no frame given): ``[N, T, C, H, W]`` on the CPU."""
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        try:
            x = initial_noise(seeds, self.shape).to(device)
            cond = torch.zeros_like(x)
            mask = torch.zeros(x.shape[:2], device=device)
            labels = labels.to(device) if labels is not None else None
            out = model.from_latent(solve(guided(model, cond, mask, labels, guidance), x, steps=steps,
                                          sampler=sampler))
        finally:
            model.train(was_training)
        return out.clamp(-1, 1).float().cpu()

    @torch.no_grad()
    def sample(self, nets: dict[str, nn.Module], count: int) -> torch.Tensor:
        seeds = list(range(count))
        labels = seed_labels(seeds, self.num_classes) if self.num_classes else None
        return self.draw(nets.get("model", self.model), seeds, labels, steps=self.objective.preview_steps)

    def sampler(self, nets: dict[str, nn.Module]) -> Any:
        """``sample(seed, n, frames)``: clips of seeds ``seed .. seed + n - 1`` as :meth:`VideoDiffusion.sample`
        draws them with ``objective.preview_steps`` Heun steps (class ``s mod classes``)."""
        model = nets.get("model", self.model)

        def sample(seed: int, n: int, frames: int | None = None) -> torch.Tensor:
            seeds = list(range(seed, seed + n))
            labels = seed_labels(seeds, self.num_classes) if self.num_classes else None
            return self.draw(model, seeds, labels, steps=self.objective.preview_steps)

        return sample

    def prepare_export(self, nets: dict[str, nn.Module]) -> None:
        pass

    def export_state(self, nets: dict[str, nn.Module]) -> dict[str, Any]:
        model = nets.get("model", self.model)
        return {f"model.{k}": v for k, v in model.state_dict().items()}
