"""Quality of the post-processing ops, classical and learned, on held-out ``photo_pans`` clips.

    .venv/bin/python benchmarks/post_quality.py [--clips 12] [--frames 16] [--resolution 64] [--seeds 1 2 3]
        [--denoiser RUN ...] [--deflicker RUN ...] [--interpolator RUN ...] [--records FILE]

Clips: the ``test`` split of ``photo_pans`` (source images no op was tuned and no network
was trained on: chelsea, gravel, retina), ``--clips`` per data seed, pooled over ``--seeds``
into one held-out set; the degradations are drawn from the same seeds. Per task, the degraded
input and the ops that undo it, scored against the clean clip (frames in [0, 1]; PSNR and
SSIM per frame as ``vidgen.metrics.frame`` computes them, averaged over frames and clips):

- denoising: Gaussian noise of sigma 10, 30, 50 (0-255 scale, 8-bit); ``denoise`` (multi-frame
  NLM, strength estimated) and each ``--denoiser`` run (``denoise.model=RUN``, noise estimated);
- interpolation: every other frame dropped and recovered: frame repeat, linear blend,
  ``interpolate:x2`` (DIS warping), each ``--interpolator`` run; scored on the recovered frames;
- deflicker: ``gain``: a per-frame gain on each channel, uniform in [0.85, 1.15]; ``light``:
  that, a gamma in [0.9, 1.1] and a smooth spatial gain field within +-0.15, per frame; the
  warping error with the exact flow (``docs/metrics.md``; x 1000 in the table) and the PSNR
  to the clean clip;
  ``deflicker`` and each ``--deflicker`` run;
- sharpen: the warping error ``sharpen`` (amount 0.6) gives a clean clip.

Prints one markdown table (learned rows: mean over the runs, the spread over them in
brackets). ``--records FILE`` also writes the results-page records (one per row and metric;
learned rows one per run, under its recipe and training seed).
"""

from __future__ import annotations

import argparse
import json
import statistics
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from vidgen.convert import to_uint8, uint8_to_float
from vidgen.data import build_dataset
from vidgen.data.photo_pans import TEST_IMAGES, PhotoPansConfig
from vidgen.metrics.frame import psnr_per_frame, ssim_per_frame
from vidgen.metrics.temporal import warping_error
from vidgen.models.restore.degrade import _field
from vidgen.post import post_process
from vidgen.utils.hw import cpu_has_fast_bf16, cpu_name

SIGMAS = (10, 30, 50)


def _float(frames: np.ndarray) -> torch.Tensor:
    return uint8_to_float(torch.from_numpy(frames))[None]  # [1, T, C, H, W]


def scores(out: np.ndarray, clean: np.ndarray) -> tuple[float, float]:
    a, b = _float(out), _float(clean)
    return float(psnr_per_frame(a, b).mean()), float(ssim_per_frame(a, b).mean())


def light_flicker(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per frame: a gain per channel in [0.85, 1.15], a gamma in [0.9, 1.1], a smooth gain field +-0.15."""
    t, h, w, _ = clean.shape
    x = clean.astype(np.float32) / 255
    gains = rng.uniform(0.85, 1.15, (t, 1, 1, 3))
    gammas = rng.uniform(0.9, 1.1, (t, 1, 1, 1))
    g = torch.Generator().manual_seed(int(rng.integers(2**31)))
    field = _field(g, 1, t, 3, h, w, torch.tensor([0.15]))[0, :, 0, :, :, None].numpy()  # [T, H, W, 1]
    return np.clip((np.maximum(x, 1e-4) ** gammas) * gains * field * 255 + 0.5, 0, 255).astype(np.uint8)


class Table:
    """Values by (task, row, metric): a list per run (one for the classical rows)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], dict[str, list[float]]] = {}

    def add(self, task: str, row: str, metric: str, value: float, run: str = "") -> None:
        self.rows.setdefault((task, row, metric), {}).setdefault(run, []).append(value)

    def per_run(self, key: tuple[str, str, str]) -> dict[str, float]:
        return {run: statistics.fmean(v) for run, v in self.rows[key].items()}


def evaluate(args: argparse.Namespace, learned: dict[str, list[str]]) -> Table:
    table = Table()
    for seed in args.seeds:
        ds = build_dataset(PhotoPansConfig(frames=args.frames, resolution=args.resolution, num_clips=args.clips,
                                           seed=seed, split="test"))
        rng = np.random.default_rng(seed)
        for i in range(args.clips):
            clean = to_uint8(ds[i]["video"])  # [T, H, W, 3]
            flow, valid = ds.flow(i)
            for sigma in SIGMAS:
                noisy = np.clip(clean + rng.normal(0, sigma, clean.shape) + 0.5, 0, 255).astype(np.uint8)
                outs = [("noisy input", "", noisy), ("denoise (NLM-multi)", "", post_process(noisy, "denoise"))]
                outs += [("learned", run, post_process(noisy, "denoise", [f"denoise.model={run}"]))
                         for run in learned["denoise"]]
                for row, run, out in outs:
                    p, s = scores(out, clean)
                    table.add("denoise", row, f"psnr_sigma{sigma}", p, run)
                    table.add("denoise", row, f"ssim_sigma{sigma}", s, run)
            kept = clean[::2]
            truth = clean[1:len(kept) * 2 - 1:2]  # the dropped frames between kept ones
            blend = ((kept[:-1].astype(np.float32) + kept[1:]) / 2 + 0.5).astype(np.uint8)
            outs = [("frame repeat", "", kept[:-1]), ("linear blend", "", blend),
                    ("interpolate (DIS warping)", "", post_process(kept, "interpolate:x2")[1::2])]
            outs += [("learned", run, post_process(kept, "interpolate:x2", [f"interpolate.model={run}"])[1::2])
                     for run in learned["interpolate"]]
            for row, run, out in outs:
                p, s = scores(out, truth)
                table.add("interpolation", row, "psnr_x2", p, run)
                table.add("interpolation", row, "ssim_x2", s, run)
            gain = np.clip(clean * rng.uniform(0.85, 1.15, (len(clean), 1, 1, 3)) + 0.5, 0, 255).astype(np.uint8)
            for kind, flicker in (("gain", gain), ("light", light_flicker(clean, rng))):
                outs = [("clean", "", clean), ("flickering input", "", flicker),
                        ("deflicker (classical)", "", post_process(flicker, "deflicker"))]
                outs += [("learned", run, post_process(flicker, "deflicker", [f"deflicker.model={run}"]))
                         for run in learned["deflicker"]]
                for row, run, out in outs:
                    table.add("deflicker", row, f"ewarp1e3_{kind}", 1e3 * warping_error(out, flows=flow, valid=valid),
                              run)
                    if row != "clean":
                        table.add("deflicker", row, f"psnr_{kind}", scores(out, clean)[0], run)
            table.add("sharpen", "clean", "ewarp1e3", 1e3 * warping_error(clean, flows=flow, valid=valid))
            table.add("sharpen", "sharpen (amount 0.6)", "ewarp1e3",
                      1e3 * warping_error(post_process(clean, "sharpen"), flows=flow, valid=valid))
    return table


def _fmt(metric: str, value: float) -> str:
    return f"{value:.3f}" if metric.startswith("ewarp") else (f"{value:.4f}" if "ssim" in metric else f"{value:.2f}")


def _run_info(run: str) -> dict[str, Any]:
    cfg = yaml.safe_load((Path(run) / "config.yaml").read_text())
    stats = [json.loads(line) for line in (Path(run) / "stats.jsonl").read_text().splitlines()]
    return {"seed": cfg["seed"], "model": cfg["model"]["name"], "kimg": stats[-1]["kimg"],
            "minutes": round(stats[-1]["seconds"] / 60, 1)}  # the ticks' seconds count from the start


RECIPES = {"fastdvdnet": "configs/fastdvdnet_photo_pans.yaml", "ifnet": "configs/ifnet_photo_pans.yaml",
           "deflickernet": "configs/deflickernet_photo_pans.yaml"}


def records(table: Table, args: argparse.Namespace, hardware: str) -> list[dict[str, Any]]:
    held_out = (f"photo_pans test split ({', '.join(TEST_IMAGES)}), {args.clips} clips x data seeds "
                f"{', '.join(map(str, args.seeds))}, {args.frames} frames of {args.resolution}x{args.resolution}")
    bench = (f"python benchmarks/post_quality.py --clips {args.clips} --frames {args.frames} "
             f"--resolution {args.resolution} --seeds {' '.join(map(str, args.seeds))}")
    out = []
    for (task, row, metric), runs in table.rows.items():
        for run, values in runs.items():
            value = float(_fmt(metric, statistics.fmean(values)))  # as many decimals as the table shows
            base = {"task": task, "metric": metric, "results": {"metric": metric, "value": value, "clips": len(values)},
                    "held_out": held_out, "hardware": hardware, "date": date.today().isoformat(),
                    "source": "benchmarks/post_quality.py"}
            if run:
                info = _run_info(run)
                flag = {"fastdvdnet": "--denoiser", "ifnet": "--interpolator", "deflickernet": "--deflicker"}
                out.append({"recipe": RECIPES[info["model"]], "seed": info["seed"], **base,
                            "budget": {"kimg": info["kimg"], "minutes": info["minutes"]},
                            "command": [f"vidgen train {RECIPES[info['model']]} seed={info['seed']} train.threads=1",
                                        f"{bench} {flag[info['model']]} RUN"]})
            else:
                out.append({"reference": row, "seed": None, **base, "budget": {}, "command": [bench]})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=12)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--denoiser", nargs="*", default=[], metavar="RUN", help="trained denoisers to score")
    p.add_argument("--deflicker", nargs="*", default=[], metavar="RUN", help="trained deflicker networks to score")
    p.add_argument("--interpolator", nargs="*", default=[], metavar="RUN", help="trained interpolators to score")
    p.add_argument("--records", default=None, help="also append the results-page records to this .jsonl")
    p.add_argument("--hardware", default=None, help="the hardware text of the records (default: this CPU)")
    args = p.parse_args()
    learned = {"denoise": args.denoiser, "deflicker": args.deflicker, "interpolate": args.interpolator}
    table = evaluate(args, learned)
    print(f"photo_pans test split ({', '.join(TEST_IMAGES)}), {args.clips} clips x data seeds "
          f"{', '.join(map(str, args.seeds))}, {args.frames} frames of {args.resolution}x{args.resolution}\n")
    print("| task | input / op | metric | value (learned: mean, min-max over runs) |\n|---|---|---|---:|")
    for (task, row, metric) in table.rows:
        values = list(table.per_run((task, row, metric)).values())
        text = _fmt(metric, statistics.fmean(values))
        if len(values) > 1:
            text += f" ({_fmt(metric, min(values))}-{_fmt(metric, max(values))})"
        name = f"learned ({len(values)} runs)" if row == "learned" else row
        print(f"| {task} | {name} | {metric} | {text} |")
    if args.records:
        hardware = args.hardware or f"{cpu_name()}, {torch.get_num_threads()} threads, " + (
            "avx512_bf16" if cpu_has_fast_bf16() else "no fast bf16")
        with open(args.records, "a") as f:
            for record in records(table, args, hardware):
                f.write(json.dumps(record) + "\n")
        print(f"\nappended records to {args.records}")


if __name__ == "__main__":
    main()
