"""Prediction by a diffusion model, scored as the predictor table scores: one draw, best of k, mean of k, diversity.

    .venv/bin/python benchmarks/diffusion_prediction.py RUN [--k 4] [--num 200] [--sampling-steps 18]
        [--record FILE] [data.key=value ...]

The test set is the run's own data config with the overrides (e.g. the held-out digits
``data.digit_range=[8000,10000] data.seed=1``), as ``vidgen eval RUN --metric frames`` builds
it; each clip's first ``context`` frames are given and its next ``future`` frames predicted
``k`` times (seeds ``k * i .. k * i + k - 1`` for clip ``i``). Scored with the frame metrics
(``vidgen.metrics.frame.FrameMetrics``: MSE and MAE per frame, SSIM, PSNR):

- **one draw**: the first of the k futures (what ``vidgen eval --metric frames`` measures);
- **best of k**: per clip the future with the lowest MSE (MCVD's and SVG's protocol);
- **mean of k**: the pixel-wise mean of the k futures (a point estimate, blurrier);
- **diversity**: the mean over pixels of the standard deviation across the k futures, in
  ``[0, 1]`` pixel units (0: every seed predicts the same future).

Prints a Markdown table and, with ``--record``, appends one JSON line per row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import vidgen
from vidgen.metrics.frame import SSIM_WINDOW, FrameMetrics
from vidgen.metrics.runs import build_test_set
from vidgen.utils.hw import cpu_name, keep_freed_memory


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("overrides", nargs="*", metavar="data.key=value")
    p.add_argument("--k", type=int, default=4, help="futures per clip")
    p.add_argument("--num", type=int, default=200, help="test clips")
    p.add_argument("--context", type=int, default=10)
    p.add_argument("--future", type=int, default=10)
    p.add_argument("--sampling-steps", type=int, default=18)
    p.add_argument("--sampler", default="heun")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--record", help="append the rows to this JSONL file")
    args = p.parse_args()
    keep_freed_memory()
    model = vidgen.load(args.run)
    dataset, data = build_test_set(model.meta, args.overrides, frames=args.context + args.future, where=args.run)
    count = min(args.num, len(dataset))
    ssim = model.resolution >= SSIM_WINDOW
    rows = {"one draw": FrameMetrics(ssim=ssim), f"best of {args.k}": FrameMetrics(ssim=ssim),
            f"mean of {args.k}": FrameMetrics(ssim=ssim)}
    spread = 0.0
    t0 = time.perf_counter()
    for start in range(0, count, args.batch_size):
        clips = torch.stack([dataset[i]["video"] for i in range(start, min(start + args.batch_size, count))])
        context, target = clips[:, :args.context], clips[:, args.context:args.context + args.future]
        draws = torch.stack([model.predict(context, frames=args.future, seed=args.k * start + j * len(clips),
                                           sampling_steps=args.sampling_steps, sampler=args.sampler,
                                           batch_size=args.batch_size)
                             for j in range(args.k)])  # [k, B, T, C, H, W]
        err = (draws - target[None]).square().mean(dim=(2, 3, 4, 5))  # [k, B]
        best = draws[err.argmin(dim=0), torch.arange(len(clips))]
        rows["one draw"].update(draws[0], target)
        rows[f"best of {args.k}"].update(best, target)
        rows[f"mean of {args.k}"].update(draws.mean(dim=0), target)
        spread += float((draws / 2).std(dim=0).mean()) * len(clips)
        print(f"{min(start + args.batch_size, count)}/{count} clips", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    diversity = spread / count
    print(f"{model.name} from {args.run} (kimg {model.meta.get('kimg')}), {count} clips of {data['name']}, "
          f"{args.context} -> {args.future}, {args.k} futures each, {args.sampling_steps} {args.sampler} steps; "
          f"{cpu_name()}, {torch.get_num_threads()} threads, {seconds / (count * args.k):.2f} s per future")
    print()
    print("| protocol | MSE | MAE | SSIM | PSNR |")
    print("|---|---:|---:|---:|---:|")
    out = []
    for name, metrics in rows.items():
        r = metrics.compute()
        print(f"| {name} | {r['mse']:.1f} | {r['mae']:.1f} | {r.get('ssim', float('nan')):.3f} | {r['psnr']:.2f} |")
        out.append({"protocol": name, **{k: r[k] for k in ("mse", "mae", "psnr") if k in r},
                    "ssim": r.get("ssim"), "clips": count})
    print(f"\ndiversity (mean std over the {args.k} futures, [0, 1] pixels): {diversity:.4f}")
    if args.record:
        with Path(args.record).open("a") as f:
            for row in out:
                f.write(json.dumps({"run": args.run, "kimg": model.meta.get("kimg"), "data": data, **row,
                                    "diversity": diversity, "k": args.k, "steps": args.sampling_steps,
                                    "sampler": args.sampler}) + "\n")


if __name__ == "__main__":
    main()
