"""The loop's guards: bad weights are never exported, budgets stop runs, small data is a clear error."""

from __future__ import annotations

import pytest
import torch

import vidgen
from vidgen import config as cfgmod
from vidgen.errors import VidgenError
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig
from vidgen.models.gan.training import GANFamily

TINY = ["data.resolution=8", "data.frames=4", "data.num_clips=32", "model.z_dim=8", "model.g_channels=4",
        "model.d_channels=4", "train.batch_size=4", "train.kimg=0.04", "train.tick_kimg=0.004",
        "train.snapshot_ticks=3", "train.checkpoint_ticks=3", "train.num_samples=2", "train.precision=fp32",
        "train.tensorboard=false"]


def _cfg(tmp_path, *extra):
    return cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", *TINY, *extra])


def test_non_finite_weights_are_never_exported(tmp_path, monkeypatch):
    real_g, real_d = GANFamily.g_main, GANFamily.d_main

    def g_main(self, ctx):
        if ctx.step >= 4:  # the fifth step poisons the weights; its losses still look fine
            with torch.no_grad():
                next(self.model.generator.parameters()).fill_(float("inf"))
        return {k: v.nan_to_num() for k, v in real_g(self, ctx).items()}

    monkeypatch.setattr(GANFamily, "g_main", g_main)
    monkeypatch.setattr(GANFamily, "d_main", lambda self, ctx: {k: v.nan_to_num() for k, v in real_d(self, ctx).items()})
    with pytest.raises(VidgenError, match="no longer finite at step 6"):
        loop.train(_cfg(tmp_path), echo=lambda s: None)
    assert vidgen.load(tmp_path).meta["step"] == 3


def test_minutes_budget_stops_the_run(tmp_path):
    lines = []
    loop.train(_cfg(tmp_path, "train.kimg=1000", "train.minutes=0.001"), echo=lines.append)
    assert "done:" in lines[-1] and "1000" not in lines[-1]


def test_dataset_smaller_than_a_batch_is_a_clear_error(tmp_path):
    with pytest.raises(VidgenError, match="fewer than one global batch of 8"):
        loop.train(_cfg(tmp_path, "data.num_clips=6", "train.accumulate=2"), echo=lambda s: None)


def test_global_batch_sampler_splits_steps_the_same_way_for_any_layout():
    from vidgen.train.loop import GlobalBatchSampler

    def steps(batch_size, accumulate, world, start=0):
        per_rank = [list(GlobalBatchSampler(size=50, batch_size=batch_size, accumulate=accumulate, rank=r,
                                            world=world, seed=3, epoch=1, start=start)) for r in range(world)]
        chunks = [[rank[i:i + batch_size] for i in range(0, len(rank), batch_size)] for rank in per_rank]
        out = []  # reassemble global batches: micro-batch m of rank r is slice (m * world + r)
        for k in range(len(chunks[0]) // accumulate):
            out.append(sorted(i for m in range(accumulate) for r in range(world) for i in chunks[r][k * accumulate + m]))
        return out

    one = steps(8, 1, 1)
    assert len(one) == 6 and len({i for s in one for i in s}) == 48  # 50 clips, remainder dropped
    assert steps(4, 2, 1) == one == steps(2, 2, 2) == steps(4, 1, 2)
    assert steps(4, 1, 2, start=2) == one[2:]  # a resumed epoch continues where it stopped
    other_epoch = list(GlobalBatchSampler(size=50, batch_size=8, accumulate=1, rank=0, world=1, seed=3, epoch=2))
    assert other_epoch != [i for s in one for i in s]


def test_the_progress_bar_of_a_time_budget_ends_where_the_budget_does(tmp_path, monkeypatch):
    """With train.minutes the bar's total is the clips the budget reaches at the rate so far (not train.kimg),
    so its ETA is the budget's; at the end it stands at 100% of what was trained."""
    from vidgen.train import monitor as monitor_mod

    clock = iter([0.0, 10.0, 20.0])
    monkeypatch.setattr(monitor_mod.time, "perf_counter", lambda: next(clock))
    lines = []
    m = monitor_mod.Monitor(run_dir=tmp_path, total_nimg=100_000, start_nimg=0, progress=True, tensorboard=False,
                            echo=lines.append, budget_s=60.0)
    m.advance(100)  # 100 clips in 10 s: 600 in the minute
    assert m.bar.total == 600
    m.advance(100)  # 200 in 20 s: still 600
    assert m.bar.total == 600
    m.finish("done")
    assert m.bar.total == m.bar.n == 200 and lines == ["done"]
    m.close()
