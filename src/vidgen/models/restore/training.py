"""The restoration family's training: degrade clean clips on the fly, learn to undo it.

Any clip set trains any restoration model: each step takes the batch's clean clips,
degrades them with the model's task (the draws come from the step's seeded generator, so a
run is reproducible and resumes exactly) and regresses the clean target:

- ``denoise``: 5 frames with noise added (:func:`~vidgen.models.restore.degrade.add_noise`:
  Gaussian, Poisson or H.264 at a random CRF, per clip); target the clean middle frame; the
  noise level the network reads is the noisy clip's own estimate;
- ``deflicker``: ``2 radius + 1`` frames with flicker added
  (:func:`~vidgen.models.restore.degrade.add_flicker`); target the stable middle frame;
- ``interpolate``: two frames ``s`` apart (``s`` from 2 to ``T - 1``) and one between them at
  ``tau = j / s``; target that frame.

The loss is ``objective.loss`` (Charbonnier by default: an L1 that is smooth at zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from vidgen.errors import ConfigError, VidgenError
from vidgen.family import Phase, StepContext
from vidgen.models.restore.degrade import NOISE_KINDS, add_flicker, add_noise, estimate_sigma


@dataclass
class RestoreObjective:
    """How a restoration network trains (the ``objective:`` section of its recipe); not exported."""

    loss: Literal["charbonnier", "l1", "mse"] = "charbonnier"
    # denoise: the noise kinds drawn per clip, and their ranges
    noise: tuple[str, ...] = ("gaussian", "poisson", "h264")
    sigma_max: float = 55.0  # Gaussian sigma, uniform in [0, sigma_max], 0-255 scale
    poisson_peak: tuple[float, float] = (20.0, 1000.0)  # photons at white, log-uniform
    crf: tuple[int, int] = (24, 40)  # H.264 quality, uniform
    # deflicker: the largest per-frame jitter, and the per-clip base filter the target keeps
    flicker_gain: float = 0.2  # gain per channel, 1 +- this
    flicker_gamma: float = 0.15  # gamma, 1 +- this
    flicker_spatial: float = 0.15  # a smooth spatial gain field, 1 +- this
    base_gain: float = 0.15
    base_gamma: float = 0.15

    def __post_init__(self) -> None:
        self.noise = tuple(self.noise)
        self.poisson_peak = tuple(self.poisson_peak)
        self.crf = tuple(self.crf)
        unknown = [k for k in self.noise if k not in NOISE_KINDS]
        if unknown or not self.noise:
            raise ConfigError(f"objective.noise: {unknown or 'empty'}: the kinds are {', '.join(NOISE_KINDS)}")
        if self.sigma_max < 0 or not 0 < self.poisson_peak[0] <= self.poisson_peak[1]:
            raise ConfigError("objective.sigma_max must be >= 0 and objective.poisson_peak [low, high] with "
                              "0 < low <= high")
        if not 0 <= self.crf[0] <= self.crf[1] <= 51:
            raise ConfigError(f"objective.crf must be [low, high] within 0..51, got {list(self.crf)}")
        amplitudes = (self.flicker_gain, self.flicker_gamma, self.flicker_spatial, self.base_gain, self.base_gamma)
        if min(amplitudes) < 0 or max(amplitudes) >= 1:
            raise ConfigError("objective.flicker_* and objective.base_* must be in [0, 1)")


def _loss(kind: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    diff = pred.float() - target.float()
    if kind == "mse":
        return diff.square().mean()
    if kind == "l1":
        return diff.abs().mean()
    return torch.sqrt(diff.square() + 1e-6).mean()


class RestoreFamily:
    """Training of a model with ``task``, ``radius``, ``restore`` and its task's ``forward``."""

    ema_networks: tuple[str, ...] = ("model",)
    generates = False  # it transforms videos: train.metrics (distribution metrics) do not apply

    def __init__(self, *, model: nn.Module, objective: RestoreObjective | None = None, dataset: Any,
                 num_samples: int = 16):
        self.model = model
        self.task: str = model.task
        self.networks: dict[str, nn.Module] = {"model": model}
        self.objective = objective if objective is not None else RestoreObjective()
        count = min(num_samples, len(dataset))
        self.preview_clips = torch.stack([dataset[i]["video"] for i in range(count)])  # [N, T, C, H, W]

    def optimizers(self, cfg: Any) -> dict[str, torch.optim.Optimizer]:
        return {"model": torch.optim.Adam(self.model.parameters(), lr=cfg.lr, betas=cfg.betas,
                                          weight_decay=cfg.weight_decay)}

    def phases(self) -> list[Phase]:
        return [Phase("main", "model", self.main)]

    def degrade(self, video: torch.Tensor, g: torch.Generator) -> tuple[tuple[Any, ...], torch.Tensor]:
        """The network's inputs and its target for clean clips ``video [B, T, C, H, W]``."""
        o = self.objective
        if self.task == "denoise":
            clean = video[:, :5]
            noisy = add_noise(clean, g, kinds=o.noise, sigma_max=o.sigma_max, poisson_peak=o.poisson_peak, crf=o.crf)
            return (noisy, estimate_sigma(noisy)), clean[:, 2]
        if self.task == "deflicker":
            r = self.model.radius
            flicker, stable = add_flicker(video[:, :2 * r + 1], g, gain=o.flicker_gain, gamma=o.flicker_gamma,
                                          spatial=o.flicker_spatial, base_gain=o.base_gain, base_gamma=o.base_gamma)
            return (flicker,), stable[:, r]
        b, t = video.shape[:2]
        span = torch.randint(2, t, (b,), generator=g)  # the two frames' distance, 2 .. T - 1
        j = (torch.rand(b, generator=g) * (span - 1)).long() + 1  # the one between, 1 .. span - 1
        start = (torch.rand(b, generator=g) * (t - span)).long()  # where the pair starts
        rows = torch.arange(b)
        pick = lambda idx: video[rows, idx.to(video.device)]  # noqa: E731  [B, C, H, W]
        return (pick(start), pick(start + span), (j / span).float()), pick(start + j)

    def main(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        inputs, target = self.degrade(ctx.batch["video"], ctx.generator)
        pred = ctx.net("model")(*inputs)
        loss = _loss(self.objective.loss, pred, target)
        mse = F.mse_loss(pred.detach().float().clamp(-1, 1), target.float())
        return {"loss": loss, "psnr": 10 * torch.log10(4.0 / mse.clamp_min(1e-10))}

    @torch.no_grad()
    def sample(self, nets: dict[str, nn.Module], count: int) -> torch.Tensor:
        """Preview: each clip degraded (a fixed draw) then restored, ``[N, 2T', C, H, W]``: the degraded frames
        followed by the restored ones (for an interpolator: every other frame, then the frames it put back)."""
        model = nets.get("model", self.model)
        was_training = model.training
        model.eval()
        device = next(iter(model.parameters())).device
        clips = self.preview_clips[:count].to(device)
        g = torch.Generator().manual_seed(0)
        o = self.objective
        try:
            if self.task == "denoise":
                seen = add_noise(clips, g, kinds=o.noise, sigma_max=o.sigma_max, poisson_peak=o.poisson_peak,
                                 crf=o.crf)
                out = model.restore(seen)
            elif self.task == "deflicker":
                seen, _ = add_flicker(clips, g, gain=o.flicker_gain, gamma=o.flicker_gamma, spatial=o.flicker_spatial,
                                      base_gain=o.base_gain, base_gamma=o.base_gamma)
                out = model.restore(seen)
            else:
                kept = clips[:, ::2]
                seen, out = kept, model.restore(kept, factor=2)
        finally:
            model.train(was_training)
        return torch.cat([seen, out], dim=1).float().cpu()

    def sampler(self, nets: dict[str, nn.Module]) -> Any:
        raise VidgenError("a restoration network makes no clips from noise",
                          hint="score it with benchmarks/post_quality.py --model RUN")

    def prepare_export(self, nets: dict[str, nn.Module]) -> None:
        pass

    def export_state(self, nets: dict[str, nn.Module]) -> dict[str, Any]:
        model = nets.get("model", self.model)
        return {f"model.{k}": v for k, v in model.state_dict().items()}


