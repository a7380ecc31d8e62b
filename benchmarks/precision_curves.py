"""Do bf16 loss curves match fp32 within run-to-run noise? A debug recipe, trained several ways.

    .venv/bin/python benchmarks/precision_curves.py [--config configs/debug/gan_tiny.yaml] [--seeds 3] [key=value ...]

Trains the recipe in fp32 with ``--seeds`` different seeds and in bf16 with the same seeds,
then compares per-tick losses: the spread between fp32 runs of different seeds (the noise)
against the gap between bf16 and fp32 runs of the same seed. Prints Markdown tables.
bf16 runs wherever PyTorch can run it (on CPUs without AMX/AVX512-BF16 it is emulated: correct
but slow, so keep the recipe tiny there).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from vidgen import config as cfgmod
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig


def run(recipe: str, overrides: list[str], *, seed: int, precision: str) -> tuple[list[dict], float]:
    with tempfile.TemporaryDirectory() as run_dir:
        cfg = cfgmod.load(ExperimentConfig, recipe, [*overrides, f"run_dir={run_dir}", f"seed={seed}",
                                                     f"train.precision={precision}", "train.tensorboard=false",
                                                     "train.progress=false"])
        t0 = time.perf_counter()
        loop.train(cfg, echo=lambda line: None)
        seconds = time.perf_counter() - t0
        lines = (Path(run_dir) / "stats.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines], seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.add_argument("--config", default="configs/debug/gan_tiny.yaml")
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()

    curves: dict[tuple[str, int], list[dict]] = {}
    seconds: dict[str, float] = {"fp32": 0.0, "bf16": 0.0}
    for seed in range(args.seeds):
        for precision in ("fp32", "bf16"):
            curves[precision, seed], s = run(args.config, args.overrides, seed=seed, precision=precision)
            seconds[precision] += s
    keys = [k for k in curves["fp32", 0][0] if "/" in k and not k.startswith("lr/") and k.endswith("loss")]
    ticks = len(curves["fp32", 0])

    print(f"Recipe {args.config} {' '.join(args.overrides)}: {ticks} ticks, {args.seeds} seeds per precision; "
          f"wall time fp32 {seconds['fp32']:.0f} s, bf16 {seconds['bf16']:.0f} s")
    print()
    print("| loss | mean abs gap fp32 seed vs seed (noise) | mean abs gap bf16 vs fp32, same seed | ratio |")
    print("|---|---:|---:|---:|")
    for key in keys:
        noise, gap = [], []
        for t in range(ticks):
            fp32 = [curves["fp32", s][t][key] for s in range(args.seeds)]
            noise += [abs(a - b) for i, a in enumerate(fp32) for b in fp32[i + 1:]]
            gap += [abs(curves["bf16", s][t][key] - curves["fp32", s][t][key]) for s in range(args.seeds)]
        n, g = statistics.mean(noise), statistics.mean(gap)
        print(f"| {key} | {n:.4f} | {g:.4f} | {g / n:.2f} |")
    print()
    print("| tick | " + " | ".join(f"{k} fp32 (mean of seeds) | {k} bf16" for k in keys) + " |")
    print("|---:|" + "---:|---:|" * len(keys))
    for t in range(ticks):
        cells = []
        for key in keys:
            cells.append(statistics.mean(curves["fp32", s][t][key] for s in range(args.seeds)))
            cells.append(statistics.mean(curves["bf16", s][t][key] for s in range(args.seeds)))
        print(f"| {t + 1} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
