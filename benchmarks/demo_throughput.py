"""Training and sampling speed of a recipe (the demo by default) on this machine.

    .venv/bin/python benchmarks/demo_throughput.py [CONFIG] [key=value ...] [--steps N]

Times the real training step (data loading included) after a warm-up and reports the
median; prints a Markdown table. Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import time

import torch

from vidgen import config as cfgmod
from vidgen.data import build_dataset
from vidgen.models import build_model
from vidgen.models.gan.sampling import generate
from vidgen.train.config import ExperimentConfig
from vidgen.train.gan import GANTrainer
from vidgen.train.loop import infinite_batches, seed_everything
from vidgen.utils.hw import resolve_device, resolve_precision


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", nargs="?", default="configs/demo.yaml")
    p.add_argument("overrides", nargs="*")
    p.add_argument("--steps", type=int, default=20, help="timed training steps (after 3 warm-up steps)")
    p.add_argument("--samples", type=int, default=64, help="clips generated for the sampling figure")
    args = p.parse_args()

    cfg = cfgmod.load(ExperimentConfig, args.config, args.overrides)
    seed_everything(cfg.seed)
    device = resolve_device(cfg.train.device)
    dtype = resolve_precision(cfg.train.precision, device)
    dataset = build_dataset(cfg.data)
    model = build_model(cfg.model, frames=cfg.data.frames, resolution=cfg.data.resolution,
                        channels=dataset.channels, num_classes=dataset.num_classes).to(device)
    trainer = GANTrainer(model=model, cfg=cfg.train, device=device, dtype=dtype)
    batches = infinite_batches(dataset, cfg)

    times = []
    for i in range(3 + args.steps):
        t0 = time.perf_counter()
        real = next(batches)["video"].to(device)
        losses = trainer.step(real, nimg=i * real.shape[0])
        float(losses["loss_d"])  # wait for the step to finish
        if i >= 3:
            times.append(time.perf_counter() - t0)
    step_s = statistics.median(times)

    latents = model.latents(list(range(args.samples)))
    generate(trainer.G_ema, latents[:8])  # warm-up
    t0 = time.perf_counter()
    generate(trainer.G_ema, latents, batch_size=32)
    sample_s = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    b = cfg.train.batch_size
    shape = f"{cfg.data.frames}x{dataset.channels}x{cfg.data.resolution}x{cfg.data.resolution}"
    print(f"machine: {cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"{str(dtype).replace('torch.', '')}")
    print(f"config: {args.config} {' '.join(args.overrides)}".rstrip())
    print()
    print("| model | clip T x C x H x W | batch | ms/step | train clips/s | sample clips/s | peak memory |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {type(model).__name__.lower()} | {shape} | {b} | {step_s * 1000:.0f} | {b / step_s:.1f} | "
          f"{args.samples / sample_s:.1f} | {peak_mib:.0f} MiB |")


if __name__ == "__main__":
    main()
