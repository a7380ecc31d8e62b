"""DistributedDataParallel on the CPU: 2 gloo processes under torchrun stay identical and
match one process with the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from vidgen import config as cfgmod
from vidgen.io.checkpoint import load_state
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig

WORKER = Path(__file__).with_name("ddp_worker.py")
# no BatchNorm (per-process statistics would differ from one big batch); lazy R1 every 2nd
# step exercises the phase whose gradients are averaged by hand
COMMON = ["data.resolution=8", "data.frames=4", "data.num_clips=24", "model.z_dim=8", "model.g_channels=4",
          "model.d_channels=4", "model.g_norm=none", "model.d_norm=none", "objective.r1_gamma=1.0",
          "objective.r1_interval=2", "train.kimg=0.032", "train.tick_kimg=0.008", "train.checkpoint_ticks=4",
          "train.num_samples=2", "train.precision=fp32", "train.tensorboard=false", "train.lr=1e-3"]


def test_two_gloo_processes_agree_and_match_one_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(WORKER), str(tmp_path), f"run_dir={tmp_path / 'ddp'}", *COMMON, "train.batch_size=4"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))

    loop.train(cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path / 'one'}", *COMMON, "train.batch_size=8"]),
               echo=lambda line: None)
    single = load_state(tmp_path / "one")["networks"]
    ddp_state = load_state(tmp_path / "ddp")
    assert ddp_state["step"] == 4 and ddp_state["data"]["global_batch"] == 8  # 4 per process x 2

    for net in ("generator", "discriminator"):
        for key, value in rank0[net].items():
            assert torch.equal(value, rank1[net][key]), (net, key)  # DDP keeps the ranks identical
            torch.testing.assert_close(value, single[net][key], rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(ddp_state["networks"][net][key], value, rtol=0, atol=0)
    # and the parameters did move
    first = torch.load(tmp_path / "rank0.pt", weights_only=True)["generator"]
    assert any(v.abs().sum() > 0 for v in first.values())
