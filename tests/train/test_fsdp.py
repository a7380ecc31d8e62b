"""train.parallel=fsdp (FSDP2) on the CPU: 2 gloo processes train the diffusion model with the
same losses and weights as DDP, write checkpoints DDP and one process can read, and resume
from a DDP checkpoint to the same place as the uninterrupted DDP run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from vidgen import config as cfgmod
from vidgen.errors import ConfigError
from vidgen.io.checkpoint import list_states, load_state
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig

# 4 steps of a global batch of 8 (4 per process), 2 micro-batches each, clipped gradients; a
# tick (and a checkpoint) every 2 steps
COMMON = ["train.batch_size=2", "train.accumulate=2", "train.kimg=0.032", "train.tick_kimg=0.016",
          "train.checkpoint_ticks=1", "train.snapshot_ticks=2", "train.sample_ticks=2", "train.grad_clip=0.05",
          "train.ema_kimg=0.01", "train.threads=1", "data.num_clips=32"]


def _torchrun(*args: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "vidgen", "train", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _losses(run) -> list[float]:
    return [json.loads(line)["main/loss"] for line in (run / "stats.jsonl").read_text().splitlines()]


def _assert_states_close(a: dict, b: dict) -> None:
    # gradients are summed in another order (reduce-scatter against all-reduce), and Adam turns a
    # near-zero gradient's last bits into a step of up to lr (1e-3): weights agree to 2e-5
    for part in ("networks", "ema"):
        for key, value in a[part]["model"].items():
            torch.testing.assert_close(b[part]["model"][key], value, rtol=1e-4, atol=2e-5, msg=f"{part} {key}")
    oa, ob = a["optimizers"]["model"], b["optimizers"]["model"]
    assert [g["params"] for g in oa["param_groups"]] == [g["params"] for g in ob["param_groups"]]
    assert oa["state"].keys() == ob["state"].keys()
    for i, s in oa["state"].items():
        for key, value in s.items():
            torch.testing.assert_close(ob["state"][i][key], value, rtol=1e-4, atol=1e-8, msg=f"adam {i} {key}")


def test_fsdp_matches_ddp_and_resumes_from_its_checkpoints(tmp_path):
    recipe = "configs/debug/video_unet_tiny.yaml"
    ddp, fsdp, resumed = tmp_path / "ddp", tmp_path / "fsdp", tmp_path / "resumed"
    _torchrun(recipe, f"run_dir={ddp}", *COMMON)
    _torchrun(recipe, f"run_dir={fsdp}", *COMMON, "train.parallel=fsdp")

    losses = _losses(ddp)
    assert len(losses) == 2
    assert _losses(fsdp) == pytest.approx(losses, rel=1e-4)
    s_ddp, s_fsdp = load_state(ddp), load_state(fsdp)
    assert s_fsdp["step"] == s_ddp["step"] == 4
    _assert_states_close(s_ddp, s_fsdp)
    # the parameters did move, and the EMA is not the live model
    net = s_fsdp["networks"]["model"]
    assert any(not torch.equal(v, s_fsdp["ema"]["model"][k]) for k, v in net.items())
    # the export holds the EMA in whole
    assert (fsdp / "model.safetensors").exists() and (fsdp / "samples.mp4").exists()

    # FSDP resumes from the DDP run's checkpoint at step 2 and lands where DDP did at step 4
    first = sorted(list_states(ddp))[0]
    assert load_state(first)["step"] == 2
    _torchrun("--resume", str(first), f"run_dir={resumed}", "train.parallel=fsdp")
    _assert_states_close(s_ddp, load_state(resumed))

    # and one process reads an FSDP checkpoint
    one = loop.Trainer(cfgmod.load(ExperimentConfig, recipe, [f"run_dir={tmp_path / 'one'}", *COMMON]),
                       echo=lambda line: None)
    one.load_state_dict(s_fsdp, fsdp)
    torch.testing.assert_close(one.model.state_dict(), net)


def test_fsdp_refuses_a_gan_with_a_one_line_reason(tmp_path):
    cfg = cfgmod.load(ExperimentConfig, "configs/debug/mocogan_tiny.yaml",
                      [f"run_dir={tmp_path}", "train.parallel=fsdp"])
    with pytest.raises(ConfigError, match="train.parallel=ddp"):
        loop.Trainer(cfg, echo=lambda line: None)
