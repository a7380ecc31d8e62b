"""The side-by-side table of trained GAN runs: speed, size and quality by the evaluator metrics.

    .venv/bin/python benchmarks/gan_table.py RUN_DIR [RUN_DIR ...] [--metric fvd1024_16f --detector shapes]

For each run folder (trained by ``vidgen train``) it scores the exported EMA generator with
``--metric`` (a Fréchet distance on the detector's features, against the run's own data with
``data.seed=1``, i.e. clips the run never trained on) and, for class-conditional runs,
``cond_acc``; it adds the parameter count, GFLOP per generated clip, the mean training
clips/s over the run's ticks and how much it trained, and prints a Markdown table. The
scores are also appended to ``RUN_DIR/metric-<name>.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

import vidgen
from vidgen.metrics.generative import evaluate_generator
from vidgen.metrics.records import append_record
from vidgen.metrics.runs import build_test_set
from vidgen.utils.flops import flop_counter


def row(run: Path, metric: str, detector: str, cond_metric: str) -> dict:
    gen = vidgen.load(run)
    ticks = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    frames = int(metric.rsplit("_", 1)[1].rstrip("f"))
    dataset, data = build_test_set(gen.meta, ["data.seed=1"], frames=frames, where=str(run))
    scores = {}
    for name in [metric] + ([cond_metric] if gen.num_classes and not gen.info_classes else []):  # InfoGAN: no labels
        result = evaluate_generator(gen, name, dataset, data_config=data, detector=detector, progress=False)
        append_record(run / f"metric-{name}.jsonl", {"metric": name, "step": gen.meta.get("step"),
                                                     "kimg": gen.meta.get("kimg"), "data": data, "results": result})
        scores[name] = result["value"]
    with flop_counter() as counter, torch.inference_mode():
        gen.sample(1)
    return {
        "run": run.name,
        "model": gen.meta["model"]["name"],
        "params": sum(p.numel() for p in gen.model.generator.parameters()),
        "gflop_clip": counter.get_total_flops() / 1e9,
        "clips_s": statistics.mean(t["clips_per_s"] for t in ticks),
        "kimg": gen.meta.get("kimg", 0.0),
        "minutes": ticks[-1]["seconds"] / 60,
        "fd": scores[metric],
        "cond_acc": scores.get(cond_metric),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--metric", default="fvd1024_16f", help="Fréchet metric (default fvd1024_16f)")
    p.add_argument("--detector", default="shapes", help="detector: a shipped evaluator name, folder or I3D file")
    p.add_argument("--cond-metric", default="cond_acc960", help="for conditional runs (default cond_acc960)")
    args = p.parse_args()
    rows = [row(run, args.metric, args.detector, args.cond_metric) for run in args.runs]
    print(f"| run | model | G params | GFLOP / clip (G) | train clips/s | trained | {args.metric} ({args.detector}) "
          f"| {args.cond_metric} |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        acc = f"{r['cond_acc']:.3f}" if r["cond_acc"] is not None else "-"
        print(f"| {r['run']} | {r['model']} | {r['params'] / 1e6:.2f}M | {r['gflop_clip']:.2f} | {r['clips_s']:.1f} | "
              f"{r['kimg']:.1f} kimg in {r['minutes']:.0f} min | {r['fd']:.2f} | {acc} |")


if __name__ == "__main__":
    main()
