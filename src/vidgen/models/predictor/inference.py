"""The predictor family's inference wrapper: :class:`VideoPredictor`, what ``vidgen.load`` returns for a predictor."""

from __future__ import annotations

from typing import Any

import torch

from vidgen.errors import VidgenError
from vidgen.inference import LoadedModel, predict


class VideoPredictor(LoadedModel):
    """A trained next-frame predictor loaded from an export; :meth:`predict` continues clips.

    Attributes:
        context, future: the model's training split (frames read, frames predicted); any
            context length >= 1 and any number of predicted frames work at prediction time.
        frames, resolution, channels, fps: the training clips' ``[T, C, H, W]`` and rate.
        meta: the export's ``config.json``; ``model``: the network (eval mode).
    """

    predicts = True
    capabilities = frozenset({"predict"})

    def __init__(self, *, model: torch.nn.Module, meta: dict[str, Any], device: torch.device):
        super().__init__(model=model, meta=meta, device=device)
        self.context: int = int(model.context)
        self.future: int = int(model.future)

    def predict(self, context: Any, *, frames: int, seed: int = 0, batch_size: int = 32) -> torch.Tensor:
        """Predict ``frames`` frames after ``context``: float ``[B, frames, C, H, W]`` in ``[-1, 1]`` (CPU).

        Args:
            context: float ``[B, Tc, C, H, W]`` in ``[-1, 1]`` (``[Tc, C, H, W]`` is one clip), or
                uint8 frames ``[Tc, H, W, C]`` / ``[B, Tc, H, W, C]`` (numpy or torch); any
                ``Tc >= 1``, at the model's resolution and channels (see :meth:`resize`).
            frames: how many frames to predict, any ``>= 1`` (past the training horizon too).
            seed: seeds the ``torch.Generator`` (CPU) handed to the model, so a stochastic
                model gives the same future for the same seed and another for another seed.
                Its draws run through the batches in order, so they depend on ``batch_size``.
            batch_size: clips predicted at once.
        """
        return predict(self, context, frames=frames, seed=seed, batch_size=batch_size)

    def sample(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Predictors make no clips from nothing: a clear error (``vidgen sample`` on a predictor run)."""
        raise VidgenError(f"{self.meta['model']['name']} is a next-frame predictor: it continues clips and samples "
                          "none", hint="use .predict(context, frames=N), or: vidgen predict RUN --input clip.mp4 "
                                       "--out pred.mp4")

    def __repr__(self) -> str:
        return (f"VideoPredictor({self.meta['model']['name']}, {self.context} -> {self.future} frames of "
                f"{self._shape()}, kimg={self.meta.get('kimg')})")
