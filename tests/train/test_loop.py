"""The loop never loses work: a NaN stops the run naming the step, Ctrl-C still exports."""

from __future__ import annotations

import pytest
import torch

from vidgen import config as cfgmod
from vidgen.errors import VidgenError
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig
from vidgen.train.gan import GANTrainer

TINY = ["data.resolution=8", "data.frames=4", "data.num_clips=32", "model.z_dim=8", "model.g_channels=4",
        "model.d_channels=4", "train.batch_size=4", "train.kimg=0.04", "train.log_every=1",
        "train.snapshot_every=3", "train.num_samples=2", "train.precision=fp32"]


def _cfg(tmp_path, *extra):
    return cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", *TINY, *extra])


def test_nan_loss_stops_with_the_step_and_keeps_the_last_export(tmp_path, monkeypatch):
    real_step = GANTrainer.step

    def step(self, real, nimg):
        out = real_step(self, real, nimg)
        if nimg >= 4 * 4:  # the fifth step goes bad
            out["loss_g"] = torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(GANTrainer, "step", step)
    with pytest.raises(VidgenError, match="loss_g became nan at step 5"):
        loop.train(_cfg(tmp_path), echo=lambda s: None)
    # the export of step 3 is kept, and it is finite
    import vidgen

    gen = vidgen.load(tmp_path)
    assert gen.meta["step"] == 3
    assert all(torch.isfinite(p).all() for p in gen.model.generator.state_dict().values() if p.is_floating_point())


def test_non_finite_weights_are_never_exported(tmp_path, monkeypatch):
    real_step = GANTrainer.step

    def step(self, real, nimg):
        out = real_step(self, real, nimg)
        if nimg >= 4 * 4:  # the fifth step poisons the weights; its losses still look fine
            with torch.no_grad():
                next(self.G.parameters()).fill_(float("inf"))
        return out

    monkeypatch.setattr(GANTrainer, "step", step)
    with pytest.raises(VidgenError, match="no longer finite at step 6"):
        loop.train(_cfg(tmp_path, "train.log_every=100"), echo=lambda s: None)
    import vidgen

    assert vidgen.load(tmp_path).meta["step"] == 3


def test_interrupt_exports_what_was_trained(tmp_path, monkeypatch):
    real_step = GANTrainer.step
    calls = []

    def step(self, real, nimg):
        calls.append(nimg)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_step(self, real, nimg)

    monkeypatch.setattr(GANTrainer, "step", step)
    lines = []
    loop.train(_cfg(tmp_path), echo=lines.append)
    assert any("interrupted at step 2" in line for line in lines)
    assert (tmp_path / "samples.mp4").is_file() and (tmp_path / "model.safetensors").is_file()


def test_minutes_budget_stops_the_run(tmp_path):
    lines = []
    loop.train(_cfg(tmp_path, "train.kimg=1000", "train.minutes=0.001"), echo=lines.append)
    assert "done:" in lines[-1]


def test_torchrun_is_refused_until_distributed_training_exists(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(VidgenError, match="one process"):
        loop.train(_cfg(tmp_path), echo=lambda s: None)


def test_dataset_smaller_than_a_batch_is_a_clear_error(tmp_path):
    with pytest.raises(VidgenError, match="fewer than train.batch_size"):
        loop.train(_cfg(tmp_path, "data.num_clips=2"), echo=lambda s: None)
