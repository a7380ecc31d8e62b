"""Training throughput of every registered model at its default config, against the machine's peak.

    .venv/bin/python benchmarks/train_throughput.py [--models dcgan3d,...] [--steps 10] [key=value ...]
    .venv/bin/python benchmarks/train_throughput.py --config configs/demo.yaml      # one recipe

Each model is built by the training engine exactly as ``vidgen train`` builds it (defaults,
or the recipe, plus the overrides), then one training step (every phase, forward and
backward, optimizer and EMA) is timed: warm-up steps, then the median of ``--steps``.
FLOPs of a step are counted by ``torch.utils.flop_counter`` (matmuls and convolutions,
forward and backward; ``vidgen.utils.flops`` fixes its count of grouped convolutions' backward); the peak is a large fp32 and bf16 matmul measured in the same run.
Data loading is timed separately (one batch, from the engine's own loader). Prints a
Markdown table; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import torch

from vidgen import config as cfgmod
from vidgen.errors import VidgenError
from vidgen.registry import MODELS
from vidgen.train.config import ExperimentConfig
from vidgen.train.loop import Trainer
from vidgen.train.monitor import peak_memory_mib
from vidgen.utils.flops import flop_counter
from vidgen.utils.hw import cpu_name

# the data each family trains on by default, the standard setting of its literature (the
# config defaults are shapes, 16 frames of 64x64); svg is a VAE that predicts like a predictor
MOVING_MNIST = ["data.name=moving_digits", "data.frames=20"]
FAMILY_DATA = {"predictor": MOVING_MNIST, "svg": MOVING_MNIST}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(dtype: torch.dtype, device: torch.device, n: int, repeats: int = 7) -> float:
    """Achieved FLOP/s of an ``n x n`` matmul in ``dtype`` (the best of ``repeats``: a peak)."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    a @ b
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / min(times)


def bench_model(name: str, overrides: list[str], recipe: str | None, steps: int, warmup: int) -> dict:
    family = MODELS.get(name).meta.get("family")
    with tempfile.TemporaryDirectory() as run_dir:
        args = [] if recipe else [f"model.name={name}", *FAMILY_DATA.get(name, FAMILY_DATA.get(family, []))]
        cfg = cfgmod.load(ExperimentConfig, recipe, [*args, *overrides, f"run_dir={run_dir}", "train.tensorboard=false"])
        trainer = Trainer(cfg, echo=lambda line: None)
        if not list(trainer.nets):
            return {"model": name, "note": "nothing to train"}
        batches = trainer.batches()
        t0 = time.perf_counter()
        micro = next(batches)
        data_s = time.perf_counter() - t0
        device = trainer.device
        times = []
        for i in range(warmup + steps):
            _sync(device)
            t0 = time.perf_counter()
            trainer.run_step(micro)
            trainer.step += 1
            trainer.nimg += trainer.global_batch
            _sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
        with flop_counter() as counter:
            trainer.run_step(micro)
        step_s = statistics.median(times)
        return {
            "model": name,
            "family": family,
            "params_m": sum(p.numel() for p in trainer.model.parameters()) / 1e6,
            "shape": f"{cfg.data.frames}x{trainer.dataset.channels}x{cfg.data.resolution}x{cfg.data.resolution}",
            "works_on": "x".join(map(str, getattr(trainer.family, "shape", ()))),  # diffusion: pixels or latents
            "batch": trainer.global_batch,
            "dtype": str(trainer.dtype).replace("torch.", ""),
            "ms_step": step_s * 1000,
            "clips_s": trainer.global_batch / step_s,
            "data_ms": data_s * 1000,
            "gflop_step": counter.get_total_flops() / 1e9,
            "gflops": counter.get_total_flops() / step_s / 1e9,
            "mem_mib": peak_memory_mib(device),
        }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", metavar="key=value", help="applied to every model, e.g. train.batch_size=8")
    p.add_argument("--models", help="comma-separated registry names (default: every registered model)")
    p.add_argument("--config", help="benchmark this recipe's model instead of the defaults")
    p.add_argument("--steps", type=int, default=10, help="timed steps per model")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--peak-size", type=int, default=None, help="matmul size for the peak (default 2048 CPU, 8192 GPU)")
    args = p.parse_args()

    # the device and precision settings (the data/model overrides may need another model's defaults)
    cfg0 = cfgmod.load(ExperimentConfig, args.config, [o for o in args.overrides if o.startswith("train.")])
    names = [cfg0_name(cfg0)] if args.config else (args.models.split(",") if args.models else MODELS.names())
    device = torch.device("cuda" if torch.cuda.is_available() and cfg0.train.device != "cpu" else "cpu")
    n = args.peak_size or (8192 if device.type == "cuda" else 2048)
    peaks = {"float32": matmul_peak(torch.float32, device, n),
             "bfloat16": matmul_peak(torch.bfloat16, device, n if device.type == "cuda" else n // 2)}

    rows = []
    for name in names:
        try:
            rows.append(bench_model(name, args.overrides, args.config, args.steps, args.warmup))
        except VidgenError as e:
            rows.append({"model": name, "note": str(e).splitlines()[0]})
        print(f"measured {name}", file=sys.stderr, flush=True)

    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    print(f"Machine: {machine}, {os.cpu_count()} logical cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"Measured peak ({n}x{n} matmul): fp32 {peaks['float32'] / 1e9:.1f} GFLOP/s, "
          f"bf16 {peaks['bfloat16'] / 1e9:.1f} GFLOP/s (bf16 size {n if device.type == 'cuda' else n // 2})")
    print()
    print("| model | family | params (M) | clip | global batch | dtype | ms/step | clips/s | data ms/batch "
          "| GFLOP/step | GFLOP/s | % of peak | peak mem (MiB) |")
    print("|---|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "note" in r:
            print(f"| {r['model']} | | | | | | | | | | | | {r['note']} |")
            continue
        share = 100 * r["gflops"] * 1e9 / peaks[r["dtype"]]
        print(f"| {r['model']} | {r['family']} | {r['params_m']:.2f} | {r['shape']} | {r['batch']} | {r['dtype']} "
              f"| {r['ms_step']:.0f} | {r['clips_s']:.1f} | {r['data_ms']:.0f} | {r['gflop_step']:.1f} "
              f"| {r['gflops']:.1f} | {share:.0f}% | {r['mem_mib']:.0f} |")


def cfg0_name(cfg: ExperimentConfig) -> str:
    return MODELS.name_of_config(type(cfg.model))


if __name__ == "__main__":
    main()
