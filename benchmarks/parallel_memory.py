"""Per-process memory and speed of ``train.parallel=ddp`` against ``fsdp`` under torchrun.

    .venv/bin/python benchmarks/parallel_memory.py [--recipe configs/video_unet_shapes.yaml]
        [--nproc 2] [--steps 6] [--set model.width=64 ...]

Trains the recipe for ``--steps`` optimizer steps under ``torchrun --nproc_per_node N`` (gloo
on CPUs, NCCL on GPUs), once with each setting, and prints per process: the bytes of the
parameters, gradients and optimizer state it holds (the sharded part with FSDP; the EMA copy
and buffers are whole either way), peak resident memory (CPU) or peak allocated memory (GPU),
and clips/s over the run's ticks after the first. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def worker(out: str, recipe: str, overrides: list[str]) -> None:
    """Under torchrun: train, then rank 0 writes what one process holds to ``out``."""
    import resource

    import torch

    from vidgen import config as cfgmod
    from vidgen.train import loop
    from vidgen.train.config import ExperimentConfig

    def size(tensors) -> int:
        total = 0
        for t in tensors:
            t = t.to_local() if hasattr(t, "to_local") else t
            total += t.numel() * t.element_size()
        return total

    held: dict[str, float] = {}

    def measure(trainer: loop.Trainer) -> None:
        if trainer.nimg < trainer.total_nimg:
            return
        params = [p for net in trainer.nets.values() for p in net.parameters()]
        state = [v for opt in trainer.opts.values() for s in opt.state.values() for v in s.values()
                 if torch.is_tensor(v)]
        held.update(params=size(params), grads=size(p.grad for p in params if p.grad is not None),
                    optimizer=size(state), ema=size(p for e in trainer.ema.values() for p in e.parameters()))
        if trainer.device.type == "cuda":
            held["peak"] = torch.cuda.max_memory_allocated(trainer.device)
        else:
            held["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    cfg = cfgmod.load(ExperimentConfig, recipe, overrides)
    run = loop.train(cfg, echo=lambda line: None, on_tick=measure)
    if int(os.environ.get("RANK", "0")) == 0:
        ticks = [json.loads(line) for line in (Path(run) / "stats.jsonl").read_text().splitlines()]
        held["clips_per_s"] = sum(t["clips_per_s"] for t in ticks[1:]) / max(1, len(ticks) - 1)
        Path(out).write_text(json.dumps(held))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="configs/video_unet_shapes.yaml")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--set", nargs="*", default=[], help="more key=value overrides of the recipe")
    parser.add_argument("--worker", nargs=2, metavar=("OUT", "RECIPE"), help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], rest)
        return

    from vidgen import config as cfgmod
    from vidgen.train.config import ExperimentConfig

    cfg = cfgmod.load(ExperimentConfig, args.recipe, args.set)
    global_batch = cfg.train.batch_size * cfg.train.accumulate * args.nproc
    kimg = args.steps * global_batch / 1000
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("ddp", "fsdp"):
            out = Path(tmp) / f"{mode}.json"
            overrides = [*args.set, f"run_dir={Path(tmp) / mode}", f"train.parallel={mode}", f"train.kimg={kimg}",
                         f"train.tick_kimg={kimg / 3}", "train.minutes=null", "train.lr_schedule_by=kimg",
                         "train.sample_ticks=1000",
                         "train.snapshot_ticks=1000", "train.checkpoint_ticks=1000", "train.tensorboard=false",
                         "train.progress=false", "train.threads=1"]
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                   str(args.nproc), __file__, "--worker", str(out), args.recipe, *overrides]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode:
                sys.exit(f"{mode} failed:\n{proc.stderr[-3000:]}")
            rows.append((mode, json.loads(out.read_text())))

    mib = lambda b: f"{b / 2 ** 20:.1f}"  # noqa: E731
    print(f"{args.recipe} {' '.join(args.set)} | {args.nproc} processes | global batch {global_batch} | "
          f"{args.steps} steps")
    print("| parallel | params MiB | grads MiB | optimizer MiB | EMA MiB | peak MiB | clips/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode, h in rows:
        print(f"| {mode} | {mib(h['params'])} | {mib(h['grads'])} | {mib(h['optimizer'])} | {mib(h['ema'])} | "
              f"{mib(h['peak'])} | {h['clips_per_s']:.1f} |")


if __name__ == "__main__":
    main()
