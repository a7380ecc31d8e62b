"""Shared by the predictor tests: a tiny moving-square problem and a short fit on it."""

from __future__ import annotations

from typing import Callable

import pytest
import torch
from torch import nn


def moving_squares(batch: int, frames: int, size: int = 8, side: int = 3) -> torch.Tensor:
    """White ``side x side`` squares on black, one per clip, moving one pixel right per frame."""
    video = -torch.ones(batch, frames, 1, size, size)
    for i in range(batch):
        row = (2 * i) % (size - side)
        for t in range(frames):
            video[i, t, 0, row:row + side, i + t:i + t + side] = 1
    return video


@pytest.fixture
def fit_moving_squares() -> Callable[[nn.Module], list[float]]:
    """Train a 2 -> 2 predictor for 100 Adam steps on 4 moving squares; returns the losses."""

    def fit(model: nn.Module, steps: int = 100, lr: float = 5e-3) -> list[float]:
        video = moving_squares(4, 4)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        losses = []
        for _ in range(steps):
            loss = ((model(video[:, :2], future=2) - video[:, 2:]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    return fit
