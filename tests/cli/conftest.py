"""Runs the command-line tests share."""

from __future__ import annotations

import pytest

from vidgen import config as cfgmod
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig


@pytest.fixture(scope="session")
def copy_last(tmp_path_factory):
    """A finished copy-last run trained through the engine (4 -> 4 frames of 16x16, one step, with its
    training state): its prediction is known exactly."""
    run_dir = tmp_path_factory.mktemp("copy_last")
    cfg = cfgmod.load(ExperimentConfig, None, [
        f"run_dir={run_dir}", "model.name=copy_last", "model.context=4", "model.future=4", "data.name=shapes",
        "data.resolution=16", "data.frames=8", "data.num_clips=16", "train.batch_size=8", "train.kimg=0.008",
        "train.tick_kimg=0.008", "train.tensorboard=false"])
    return loop.train(cfg, echo=lambda line: None)
