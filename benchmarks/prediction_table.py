"""The Moving-MNIST-style table of trained predictor runs.

    .venv/bin/python benchmarks/prediction_table.py RUN_DIR [RUN_DIR ...]

Each run folder must have been trained by ``vidgen train`` and evaluated by ``vidgen eval RUN
--metric frames ...`` (the newest record of ``RUN/metric-frames.jsonl`` is used). Adds the
parameter count, the FLOPs of predicting one clip (``torch.utils.flop_counter``, the
``context -> future`` rollout of the model's training split) and the training clips/s (mean
over the run's ticks in ``stats.jsonl``), and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

import vidgen
from vidgen.utils.flops import flop_counter


def row(run: Path) -> dict:
    predictor = vidgen.load(run)
    records = (run / "metric-frames.jsonl").read_text().splitlines()
    result = json.loads(records[-1])
    metrics = result["results"]
    ticks = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    clips_s = statistics.mean(t["clips_per_s"] for t in ticks) if ticks and predictor.model.trainable else None
    context = torch.zeros(1, predictor.context, predictor.channels, predictor.resolution, predictor.resolution)
    with flop_counter() as counter, torch.inference_mode():
        predictor.model.eval()(context, future=predictor.future)
    return {
        "model": predictor.meta["model"]["name"],
        "params": sum(p.numel() for p in predictor.model.parameters()),
        "gflop_clip": counter.get_total_flops() / 1e9,
        "clips_s": clips_s,
        "kimg": predictor.meta.get("kimg", 0.0),
        "minutes": ticks[-1]["seconds"] / 60 if ticks else 0.0,
        **{k: metrics[k] for k in ("mse", "mae", "ssim", "psnr", "psnr_of_mean_mse")},
        "clips": metrics.get("clips", result.get("num")),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    args = p.parse_args()
    rows = [row(run) for run in args.runs]
    print("| model | MSE / frame | MAE / frame | SSIM | PSNR (dB) | params | GFLOP / clip | train clips/s | trained |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        speed = f"{r['clips_s']:.1f}" if r["clips_s"] else "-"
        trained = f"{r['kimg']:.1f} kimg" if r["clips_s"] else "-"
        print(f"| {r['model']} | {r['mse']:.1f} | {r['mae']:.1f} | {r['ssim']:.4f} | {r['psnr']:.2f} | "
              f"{r['params'] / 1e6:.2f}M | {r['gflop_clip']:.2f} | {speed} | {trained} |")
    print(f"\n{rows[0]['clips']} test clips.")


if __name__ == "__main__":
    main()
