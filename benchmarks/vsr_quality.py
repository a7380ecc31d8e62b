"""Video super-resolution quality on held-out photo_pans clips, by the published protocol.

    python benchmarks/vsr_quality.py --model recurrent=runs/vsr_s0,runs/vsr_s1,runs/vsr_s2 \
        --model frame-by-frame=runs/vsr_fbf [--clips 12 --frames 20 --resolution 128] [--drift 100] \
        [--records benchmarks/records/vsr_quality.jsonl --recipe configs/basicvsr_photo_pans.yaml]

The test clips come from ``photo_pans``' test split (the source images chelsea, gravel and retina,
which no training saw), ``--clips`` clips of ``--frames`` frames of ``--resolution`` pixels,
data seed ``--data-seed``. Each is made low-resolution by BI x4 (MATLAB bicubic with
antialiasing, :func:`vidgen.models.vsr.degrade.bi`), upscaled, and scored on the Y channel
(BT.601) and on RGB, per clip then over clips, border crop 0 (:mod:`vidgen.metrics.sr`), with
TecoGAN's tOF. The bicubic row upscales with MATLAB's bicubic (``imresize`` x4), as the papers'.

``--drift N`` also scores ``--drift-clips`` clips of N frames and prints the mean Y-PSNR by frame
index (every 10th frame) and the slope over the clip of each model's gain over bicubic (dB per
100 frames): a recurrent upscaler whose features drift would lose quality along the clip.

``--model LABEL=RUN[,RUN...]``: the runs of one row (several seeds: mean and spread). Prints a
Markdown table; with ``--records`` also appends the results-page records (``--recipe`` names the
recipe of the rows whose label is ``recurrent``; other labels are written as references).
``--exact-flow LABEL``: that row's models align with each test clip's exact flow instead of
their own (the oracle of a model trained with ``objective.align_with=exact``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

import vidgen
from vidgen.convert import to_uint8
from vidgen.data import build_dataset
from vidgen.data.photo_pans import TEST_IMAGES, PhotoPansConfig
from vidgen.metrics.sr import average, clip_scores, frame_scores
from vidgen.models.vsr.basicvsr import downscale_flow
from vidgen.models.vsr.degrade import bi, imresize, quantise
from vidgen.utils.hw import cpu_name

METRICS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "tof")


def test_clips(n: int, frames: int, resolution: int, seed: int) -> list[np.ndarray]:
    ds = build_dataset(PhotoPansConfig(split="test", frames=frames, resolution=resolution, num_clips=n, seed=seed))
    return [to_uint8(ds[i]["video"]) for i in range(n)]


def clip_sources(n: int, frames: int, resolution: int, seed: int) -> list[str]:
    """The source photograph of each test clip."""
    ds = build_dataset(PhotoPansConfig(split="test", frames=frames, resolution=resolution, num_clips=n, seed=seed))
    return [ds.class_names[ds.camera(i)[0]] for i in range(n)]


def low_res(hr: np.ndarray, scale: int = 4) -> np.ndarray:
    video = torch.from_numpy(hr).permute(0, 3, 1, 2).float()[None] / 127.5 - 1
    return to_uint8(bi(video, scale)[0])


def bicubic(lr: np.ndarray, scale: int = 4) -> np.ndarray:
    """MATLAB's bicubic upscaling (``imresize(lr, scale)``), rounded to 8 bits."""
    video = torch.from_numpy(lr).permute(0, 3, 1, 2).float() / 127.5 - 1
    h, w = video.shape[-2:]
    return to_uint8(quantise(imresize(video, (h * scale, w * scale))))


def exact_flows(n: int, frames: int, resolution: int, seed: int, scale: int = 4) -> list[tuple]:
    """The test clips' exact flows at the input's resolution, as an upscaler's ``(backward, forward)``."""
    ds = build_dataset(PhotoPansConfig(split="test", frames=frames, resolution=resolution, num_clips=n, seed=seed,
                                       with_flow=True))
    return [tuple(downscale_flow(ds[i][k], scale)[None] for k in ("flow_reverse", "flow")) for i in range(n)]


def with_exact_flow(model: Any, flows: list[tuple]) -> Any:
    """An upscale function that aligns with the exact flow of the clip it is given (clips in order)."""
    calls = iter(flows)

    def upscale(lr: np.ndarray) -> np.ndarray:
        video = torch.from_numpy(lr).permute(0, 3, 1, 2).float()[None] / 127.5 - 1
        with torch.no_grad():
            return to_uint8(model.model.eval()(video, flows=next(calls)).clamp(-1, 1)[0])

    return upscale


def score(upscale: Any, clips: list[np.ndarray], per_clip: list | None = None) -> dict[str, float]:
    """Mean scores over the clips; ``per_clip`` (a list) also receives each clip's."""
    scores = [clip_scores(upscale(low_res(hr)), hr) for hr in clips]
    if per_clip is not None:
        per_clip.extend(scores)
    return average(scores)


def by_frame(upscale: Any, clips: list[np.ndarray]) -> np.ndarray:
    return np.mean([frame_scores(upscale(low_res(hr)), hr)["psnr_y"] for hr in clips], axis=0)


def drift(curve: np.ndarray, curves: dict[str, np.ndarray]) -> float:
    """The slope (dB per 100 frames) of a model's Y-PSNR gain over bicubic along the clip: the content's own
    ups and downs cancel, what stays is the model losing (or gaining) quality as it runs."""
    gain = curve - curves["bicubic"]
    return float(np.polyfit(np.arange(len(gain)), gain, 1)[0] * 100)


def mean_spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} [{min(values):.3f}, {max(values):.3f}]"


def budget_of(run: str) -> dict[str, Any]:
    """The run's budget from its ``stats.jsonl``: kimg, minutes, mean clips/s."""
    stats = [json.loads(line) for line in (Path(run) / "stats.jsonl").read_text().splitlines() if line.strip()]
    out: dict[str, Any] = {"kimg": round(float(stats[-1]["kimg"]), 1),
                           "minutes": round(float(stats[-1]["seconds"]) / 60, 1)}
    out["clips_per_s"] = round(float(np.mean([s["clips_per_s"] for s in stats])), 1)
    return out


def yaml_seed(run: str) -> int:
    import yaml

    return int(yaml.safe_load((Path(run) / "config.yaml").read_text())["seed"])


# the settings a measured run may have changed from its recipe, with their defaults
SWITCHES = {"model": {"propagation": "bidirectional", "alignment": "flow", "flow": "spynet", "width": 32, "blocks": 5},
            "data": {"with_flow": False}, "objective": {"flow_supervision": 0.0, "align_with": "network"}}


def train_command(recipe: str, run: str) -> str:
    """The ``vidgen train`` line of a run of ``recipe``: its seed, the settings it changed from the recipe, its
    minutes."""
    import yaml

    cfg = yaml.safe_load((Path(run) / "config.yaml").read_text())
    base = yaml.safe_load(Path(recipe).read_text())
    parts = [f"vidgen train {recipe} seed={cfg['seed']}"]
    for section, keys in SWITCHES.items():
        for k, default in keys.items():
            value = (cfg.get(section) or {}).get(k, default)
            if value != (base.get(section) or {}).get(k, default):
                parts.append(f"{section}.{k}={str(value).lower() if isinstance(value, bool) else value}")
    if cfg["train"].get("minutes") not in (None, 30):
        parts.append(f"train.minutes={cfg['train']['minutes']:g}")
    return " ".join(parts + ["train.threads=1"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", default=[], metavar="LABEL=RUN[,RUN...]")
    p.add_argument("--clips", type=int, default=12)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--resolution", type=int, default=128)
    p.add_argument("--data-seed", type=int, default=1)
    p.add_argument("--drift", type=int, default=0, help="also the PSNR-by-frame curve over clips of this many frames")
    p.add_argument("--drift-clips", type=int, default=4)
    p.add_argument("--exact-flow", action="append", default=[], metavar="LABEL",
                   help="the row LABEL aligns with each test clip's exact flow (an oracle; no drift curve)")
    p.add_argument("--records", default=None)
    p.add_argument("--recipe", default="configs/basicvsr_photo_pans.yaml")
    p.add_argument("--hardware", default=None)
    args = p.parse_args(argv)

    clips = test_clips(args.clips, args.frames, args.resolution, args.data_seed)
    held_out = (f"photo_pans test split ({', '.join(TEST_IMAGES)}), {args.clips} clips of {args.frames} frames of "
                f"{args.resolution}x{args.resolution} (data seed {args.data_seed}), BI x4, crop 0")
    per_clip: dict[str, list[dict[str, float]]] = {"bicubic": []}  # of the first run of each row
    rows: list[tuple[str, list[str], list[dict[str, float]]]] = [("bicubic", [], [score(bicubic, clips,
                                                                                         per_clip["bicubic"])])]
    models = []
    for spec in args.model:
        label, _, runs = spec.rpartition("=")  # (a label may hold "=")
        loaded = [(run, vidgen.load(run)) for run in runs.split(",")]
        models.append((label, loaded))
        per_clip[label] = []
        if label in args.exact_flow:  # the oracle: each clip's exact motion instead of the model's own flow
            flows = exact_flows(args.clips, args.frames, args.resolution, args.data_seed)
            fns = [with_exact_flow(m, flows) for _, m in loaded]
        else:
            fns = [m.upscale for _, m in loaded]
        rows.append((label, [r for r, _ in loaded], [score(fn, clips, per_clip[label] if k == 0 else None)
                                                    for k, fn in enumerate(fns)]))
        print(f"scored {label}", file=sys.stderr)

    print(f"\nHeld out: {held_out}\n")
    print("| model | runs | " + " | ".join(METRICS) + " |")
    print("|---|---:|" + "---:|" * len(METRICS))
    for label, runs, scores in rows:
        print(f"| {label} | {max(1, len(runs))} | " + " | ".join(mean_spread([s[m] for s in scores]) for m in METRICS)
              + " |")

    sources = clip_sources(args.clips, args.frames, args.resolution, args.data_seed)
    names = sorted(set(sources))
    print("\nY-PSNR by source image (first run of each row; clips of each image in brackets):\n")
    print("| model | " + " | ".join(f"{n} ({sources.count(n)})" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    for label, scores in per_clip.items():
        print(f"| {label} | " + " | ".join(
            f"{np.mean([s['psnr_y'] for s, src in zip(scores, sources) if src == n]):.2f}" for n in names) + " |")

    curves: dict[str, np.ndarray] = {}
    if args.drift:
        long_clips = test_clips(args.drift_clips, args.drift, args.resolution, args.data_seed + 100)
        curves["bicubic"] = by_frame(bicubic, long_clips)
        for label, loaded in models:
            if label not in args.exact_flow:
                curves[label] = by_frame(loaded[0][1].upscale, long_clips)
        print(f"\nY-PSNR by frame index, {args.drift_clips} held-out clips of {args.drift} frames (first run of each "
              "row):\n")
        idx = list(range(0, args.drift, 10)) + [args.drift - 1]
        print("| model | " + " | ".join(f"f{i}" for i in idx) + " | gain over bicubic: slope dB/100 frames |")
        print("|---|" + "---:|" * (len(idx) + 1))
        for label, curve in curves.items():
            print(f"| {label} | " + " | ".join(f"{curve[i]:.2f}" for i in idx) + f" | {drift(curve, curves):+.3f} |")

    if args.records:
        hardware = args.hardware or f"{cpu_name()} (trained on 1 thread, bf16)"
        date = datetime.date.today().isoformat()
        command = (f"python benchmarks/vsr_quality.py --clips {args.clips} --frames {args.frames} "
                   f"--resolution {args.resolution} --data-seed {args.data_seed}")
        out = []
        for label, runs, scores in rows:
            for i, s in enumerate(scores):
                run = runs[i] if runs else None
                base: dict[str, Any] = {"task": "super_resolution", "held_out": held_out, "hardware": hardware,
                                        "date": date, "source": "benchmarks/vsr_quality.py"}
                if label == "recurrent" and run:
                    seed = int(yaml_seed(run))
                    base.update(recipe=args.recipe, seed=seed, budget=budget_of(run),
                                command=[train_command(args.recipe, run), f"{command} --model recurrent=RUN"])
                else:  # a reference of several runs: a row each
                    base.update(reference=label if len(runs) < 2 else f"{label}, seed {yaml_seed(run)}", seed=None, budget=budget_of(run) if run else {},
                                command=([train_command(args.recipe, run)] if run else [])
                                + [f"{command}" + (f" --model '{label}=RUN'" if run else "")
                                   + (f" --exact-flow '{label}'" if label in args.exact_flow else "")])
                for m in METRICS:
                    out.append({**base, "metric": f"{m}_x4bi", "results": {"metric": f"{m}_x4bi",
                                                                           "value": round(s[m], 4),
                                                                           "clips": args.clips}})
        for label, curve in curves.items():
            if label == "bicubic":
                continue
            slope = drift(curve, curves)
            base = {"task": "super_resolution",
                    "held_out": held_out.replace(f"{args.clips} clips of {args.frames}",
                                                 f"{args.drift_clips} clips of {args.drift}")
                    .replace(f"data seed {args.data_seed}", f"data seed {args.data_seed + 100}"),
                    "hardware": args.hardware or f"{cpu_name()} (trained on 1 thread, bf16)", "date": date,
                    "source": "benchmarks/vsr_quality.py --drift", "budget": {}, "seed": None,
                    "command": [f"python benchmarks/vsr_quality.py --drift {args.drift} --drift-clips {args.drift_clips}"
                                + (f" --model '{label}=RUN'" if label != "bicubic" else "")]}
            if label == "recurrent":
                run = models[[m[0] for m in models].index(label)][1][0][0]
                base.update(recipe=args.recipe, seed=yaml_seed(run))
                base["command"] = [train_command(args.recipe, run), *base["command"]]
            else:
                runs = models[[m[0] for m in models].index(label)][1]
                base["reference"] = label if len(runs) < 2 else f"{label}, seed {yaml_seed(runs[0][0])}"
            out.append({**base, "metric": f"psnr_y_drift{args.drift}",
                        "results": {"metric": f"psnr_y_drift{args.drift}", "value": round(slope, 4),
                                    "clips": args.drift_clips}})
        with open(args.records, "a") as f:
            for record in out:
                f.write(json.dumps(record) + "\n")
        print(f"\nappended {len(out)} records to {args.records}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
