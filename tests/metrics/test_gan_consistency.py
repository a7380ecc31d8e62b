"""benchmarks/gan_consistency.py: colour drift, size kept and one-object fraction on clips made here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gan_consistency.py"


@pytest.fixture(scope="module")
def consistency():
    spec = importlib.util.spec_from_file_location("gan_consistency", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def square_clip(colours, sizes, *, second: bool = False, frames: int = 6) -> torch.Tensor:
    """One clip ``[1, T, 3, 16, 16]`` in [-1, 1]: a square of colour/size per frame on black, moving right."""
    video = -torch.ones(1, frames, 3, 16, 16)
    for t in range(frames):
        s = sizes[t]
        video[0, t, :, 2:2 + s, t:t + s] = torch.tensor(colours[t]).view(3, 1, 1) * 2 - 1
        if second:
            video[0, t, :, 12:15, 12:15] = 1
    return video


def test_a_steady_object_scores_no_drift_full_size_one_object(consistency):
    s = consistency.clip_stats(square_clip([(1, 0, 0)] * 6, [4] * 6), threshold=0.25)
    assert s["drift"] == pytest.approx(0, abs=1e-6) and s["size"] == 1 and s["one"] == 1


def test_drift_fading_and_splitting_are_measured(consistency):
    drifting = consistency.clip_stats(square_clip([(1, 0, 0)] * 5 + [(0, 1, 0)], [4] * 6), threshold=0.25)
    assert drifting["drift"] == pytest.approx(2 ** 0.5, rel=1e-5)
    fading = consistency.clip_stats(square_clip([(1, 0, 0)] * 6, [4, 4, 4, 3, 2, 2]), threshold=0.25)
    assert fading["size"] == pytest.approx(4 / 16) and fading["one"] == 1
    split = consistency.clip_stats(square_clip([(1, 0, 0)] * 6, [4] * 6, second=True), threshold=0.25)
    assert split["one"] == 0
    both = torch.cat([square_clip([(1, 0, 0)] * 6, [4] * 6), square_clip([(1, 0, 0)] * 6, [4] * 6, second=True)])
    assert consistency.clip_stats(both, threshold=0.25)["one"] == 0.5
