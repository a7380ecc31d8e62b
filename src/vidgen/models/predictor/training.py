"""The predictor family's training: its objective and one phase, next-frame regression.

Each training clip is split into ``context`` frames the model reads and ``future`` frames it
predicts (the model config's split, 10 -> 10 by default). The loss is the mean squared
error of the predicted future (on the [-1, 1] scale), plus ``objective.l1_weight`` times the
mean absolute error. Teacher forcing, the scheduled-sampling probability of feeding the true
previous frame instead of the model's own prediction, falls linearly from
``objective.teacher_forcing`` to 0 over the first ``objective.teacher_forcing_kimg`` (for the
recurrent models, whose ``objective_options`` name it; off otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vidgen.errors import ConfigError, VidgenError
from vidgen.family import Phase, StepContext
from vidgen.registry import MODELS


@dataclass
class PredictorObjective:
    """How a predictor trains (the ``objective:`` section of a predictor recipe); not exported."""

    # + l1_weight x mean absolute error. The absolute error's optimum is the median, which is the
    # exact background wherever a digit is less likely than not: it removes the faint haze an
    # MSE-trained model leaves, which costs MAE and SSIM
    l1_weight: float = 0.0
    context_loss: bool = False  # train on the next-frame guesses over the context too (19 targets per 10->10 clip)
    # scheduled sampling: the chance of reading the true previous frame instead of the model's own
    # prediction starts at teacher_forcing and falls to 0 over teacher_forcing_kimg
    teacher_forcing: float = 0.0
    teacher_forcing_kimg: float = 0.0

    def __post_init__(self) -> None:
        if self.l1_weight < 0:
            raise ConfigError(f"objective.l1_weight must be >= 0 (0: mean squared error only), got {self.l1_weight}")
        if not 0.0 <= self.teacher_forcing <= 1.0 or self.teacher_forcing_kimg < 0:
            raise ConfigError(f"objective.teacher_forcing must be in [0, 1] and objective.teacher_forcing_kimg >= 0, "
                              f"got {self.teacher_forcing} and {self.teacher_forcing_kimg}",
                              hint="e.g. objective.teacher_forcing=1.0 objective.teacher_forcing_kimg=50")


MIGRATED = ("l1_weight", "context_loss", "teacher_forcing", "teacher_forcing_kimg")


def check(model_config: Any, objective: PredictorObjective) -> None:
    """Teacher forcing and the context loss only for the models that take them."""
    name = MODELS.name_of_config(type(model_config))
    takes = getattr(MODELS.get(name).obj, "objective_options", ())
    for option, on in (("teacher_forcing", objective.teacher_forcing > 0), ("context_loss", objective.context_loss)):
        if on and option not in takes:
            users = [e.name for e in MODELS if option in getattr(e.obj, "objective_options", ())]
            raise ConfigError(f"objective.{option} does not apply to {name}",
                              hint=f"models that take it: {', '.join(users)}")


class PredictorFamily:
    """Training recipe for a model with ``.context``, ``.future`` and the predictor ``forward``."""

    ema_networks: tuple[str, ...] = ()

    def __init__(self, *, model: nn.Module, objective: PredictorObjective | None = None, dataset: Any,
                 num_samples: int = 16):
        self.model = model
        trainable = getattr(model, "trainable", True)
        self.networks: dict[str, nn.Module] = {"model": model} if trainable else {}
        self.ema_networks = ("model",) if trainable else ()
        self.context, self.future = model.context, model.future
        objective = objective if objective is not None else PredictorObjective()
        self.teacher_forcing = objective.teacher_forcing
        self.teacher_forcing_nimg = 1000 * objective.teacher_forcing_kimg
        self.context_loss = objective.context_loss
        self.l1_weight = objective.l1_weight
        count = min(num_samples, len(dataset))
        self.preview_clips = torch.stack([dataset[i]["video"] for i in range(count)])  # [N, T, C, H, W]

    def optimizers(self, cfg: Any) -> dict[str, torch.optim.Optimizer]:
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
        """Mean squared error, plus ``l1_weight`` times the mean absolute error."""
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

    generates = False  # it continues clips: train.metrics (distribution metrics) do not apply

    def sampler(self, nets: dict[str, nn.Module]) -> Any:
        raise VidgenError("a next-frame predictor makes no clips from noise",
                          hint="score it with 'vidgen eval RUN --metric frames'")

    def prepare_export(self, nets: dict[str, nn.Module]) -> None:
        pass

    def export_state(self, nets: dict[str, nn.Module]) -> dict[str, Any]:
        model = nets.get("model", self.model)
        return {f"model.{k}": v for k, v in model.state_dict().items()}
