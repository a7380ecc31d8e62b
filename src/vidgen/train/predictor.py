"""The predictor family's part of training: one phase, next-frame regression.

Each training clip is split into ``context`` frames the model reads and ``future`` frames it
predicts (the model config's split, 10 -> 10 by default). The loss is the mean squared
error of the predicted future (on the [-1, 1] scale), plus ``l1_weight`` times the mean
absolute error where the model config sets it. Teacher forcing, the scheduled-sampling
probability of feeding the true previous frame instead of the model's own prediction, falls
linearly from ``teacher_forcing`` to 0 over the first ``teacher_forcing_kimg`` (both model
config fields where the model has them; off otherwise).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vidgen.data.base import ClipDataset
from vidgen.train.config import TrainConfig
from vidgen.train.family import Phase, StepContext


class PredictorFamily:
    """Training recipe for a model with ``.context``, ``.future`` and the predictor ``forward``."""

    ema_networks: tuple[str, ...] = ()

    def __init__(self, *, model: nn.Module, dataset: ClipDataset, num_samples: int = 16):
        self.model = model
        trainable = getattr(model, "trainable", True)
        self.networks: dict[str, nn.Module] = {"model": model} if trainable else {}
        self.ema_networks = ("model",) if trainable else ()
        self.context, self.future = model.context, model.future
        cfg = model.config
        self.teacher_forcing = float(getattr(cfg, "teacher_forcing", 0.0))
        self.teacher_forcing_nimg = 1000 * float(getattr(cfg, "teacher_forcing_kimg", 0.0))
        self.context_loss = bool(getattr(cfg, "context_loss", False))
        self.l1_weight = float(getattr(cfg, "l1_weight", 0.0))
        count = min(num_samples, len(dataset))
        self.preview_clips = torch.stack([dataset[i]["video"] for i in range(count)])  # [N, T, C, H, W]

    def optimizers(self, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        if not self.networks:
            return {}
        # Adam with the usual (0.9, 0.999) of the prediction literature unless the recipe says otherwise
        return {"model": torch.optim.Adam(self.model.parameters(), lr=cfg.lr, betas=cfg.betas,
                                          weight_decay=cfg.weight_decay)}

    def phases(self) -> list[Phase]:
        return [Phase("main", "model", self.main)] if self.networks else []

    def teacher_forcing_at(self, nimg: int) -> float:
        if self.teacher_forcing <= 0 or self.teacher_forcing_nimg <= 0:
            return 0.0
        return self.teacher_forcing * max(0.0, 1.0 - nimg / self.teacher_forcing_nimg)

    def main(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        video = ctx.batch["video"]  # [B, T, C, H, W]
        context = video[:, :self.context]
        target = video[:, self.context:self.context + self.future]
        p = self.teacher_forcing_at(ctx.nimg)
        kwargs = {"with_context": True} if self.context_loss else {}
        pred = ctx.net("model")(context, future=self.future, target=target if p > 0 else None, teacher_forcing=p,
                                generator=ctx.generator if p > 0 else None, **kwargs)
        if self.context_loss:  # every next frame from the second on: [B, Tc - 1 + Tf, C, H, W]
            loss = self.loss(pred, video[:, 1:self.context + self.future])
            pred = pred[:, self.context - 1:]
        else:
            loss = self.loss(pred, target)
        future = pred.detach().float()
        return {"loss": loss, "mse": F.mse_loss(future, target.float()), "mae": (future - target).abs().mean()}

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean squared error, plus ``l1_weight`` times the mean absolute error where the model sets it."""
        diff = pred.float() - target.float()
        loss = diff.square().mean()
        return loss + self.l1_weight * diff.abs().mean() if self.l1_weight else loss

    @torch.no_grad()
    def sample(self, nets: dict[str, nn.Module], count: int) -> torch.Tensor:
        """The preview clips' context followed by the model's prediction, ``[N, Tc + Tf, C, H, W]``."""
        model = nets.get("model", self.model)
        was_training = model.training
        model.eval()
        device = next(iter(model.parameters()), torch.empty(0)).device
        clips = self.preview_clips[:count].to(device)
        context = clips[:, :self.context]
        try:
            pred = model(context, future=self.future)
        finally:
            model.train(was_training)
        return torch.cat([context, pred], dim=1).float().cpu()

    def prepare_export(self, nets: dict[str, nn.Module]) -> None:
        pass

    def export_state(self, nets: dict[str, nn.Module]) -> dict[str, Any]:
        model = nets.get("model", self.model)
        return {f"model.{k}": v for k, v in model.state_dict().items()}
