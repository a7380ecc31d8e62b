"""Frames per second of each post-processing op at 64x64, 256x256 and 1280x720.

    .venv/bin/python benchmarks/post_speed.py [--frames 16] [--repeats 3] [--sizes 64 256 720]
        [--denoiser RUN] [--deflicker RUN] [--interpolator RUN] [--records FILE]

Input: ``--frames`` frames of a ``photo_pans`` clip (a real photograph, panning), rendered at
each size (720: 1280x720 from a 720x720 clip resized). Each op runs ``--repeats`` times; the
table gives the median frames/s of input frames, on this machine (say which when quoting it).
A trained network given by ``--denoiser`` / ``--deflicker`` / ``--interpolator`` is timed as its
op (``denoise.model=RUN``, ...), on the CPU, in float32. ``--records FILE`` appends the
results-page records (task ``post_speed``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml

from vidgen.convert import to_uint8
from vidgen.data import build_dataset
from vidgen.data.photo_pans import PhotoPansConfig
from vidgen.post import post_process
from vidgen.registry import POST_OPS
from vidgen.utils.hw import cpu_has_fast_bf16, cpu_name

CHAINS = {"denoise": "denoise", "deflicker": "deflicker", "sharpen": "sharpen", "interpolate": "interpolate:x2",
          "upscale": "upscale:x2"}


def clip(size: int, frames: int) -> np.ndarray:
    side = 720 if size == 720 else size
    ds = build_dataset(PhotoPansConfig(frames=frames, resolution=side, num_clips=1, split="test", seed=1))
    video = to_uint8(ds[0]["video"])
    if size == 720:
        video = np.stack([cv2.resize(f, (1280, 720), interpolation=cv2.INTER_LINEAR) for f in video])
    return video


RECIPES = {"fastdvdnet": "configs/fastdvdnet_photo_pans.yaml", "ifnet": "configs/ifnet_photo_pans.yaml",
           "deflickernet": "configs/deflickernet_photo_pans.yaml"}
NAMES = {"denoise": "denoise (NLM-multi)", "deflicker": "deflicker (classical)", "sharpen": "sharpen",
         "interpolate": "interpolate:x2 (DIS warping)", "upscale": "upscale:x2 (Lanczos)"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 720])
    p.add_argument("--denoiser", default=None, metavar="RUN")
    p.add_argument("--deflicker", default=None, metavar="RUN")
    p.add_argument("--interpolator", default=None, metavar="RUN")
    p.add_argument("--records", default=None, help="also append the results-page records to this .jsonl")
    args = p.parse_args()
    assert set(CHAINS) == set(POST_OPS.names()), "a new op needs its chain here"
    names = {64: "64x64", 256: "256x256", 720: "1280x720"}
    hardware = (f"{cpu_name()}, {torch.get_num_threads()} threads, "
                f"{'avx512_bf16' if cpu_has_fast_bf16() else 'no fast bf16'}")
    print(f"{hardware}, {cv2.getNumThreads()} OpenCV threads; {args.frames} frames, median of {args.repeats}\n")
    print("| op | " + " | ".join(f"{names[s]} frames/s" for s in args.sizes) + " |")
    print("|---|" + "---:|" * len(args.sizes))
    clips = {s: clip(s, args.frames) for s in args.sizes}
    rows = [(NAMES[name], chain, [], None) for name, chain in CHAINS.items()]
    for op, run in (("denoise", args.denoiser), ("deflicker", args.deflicker), ("interpolate", args.interpolator)):
        if run:
            name = yaml.safe_load((Path(run) / "config.yaml").read_text())["model"]["name"]
            rows.append((f"{op} (learned: {name})", CHAINS[op], [f"{op}.model={run}"], run))
    records = []
    command = f"python benchmarks/post_speed.py --frames {args.frames} --repeats {args.repeats}"
    for label, chain, options, run in rows:
        cells = []
        for size in args.sizes:
            times = []
            for _ in range(args.repeats + (1 if run else 0)):  # a network: one run more, to load it first
                start = time.perf_counter()
                post_process(clips[size], chain, options)
                times.append(time.perf_counter() - start)
            fps = args.frames / statistics.median(times[1:] if run else times)
            cells.append(f"{fps:.1f}")
            metric = f"fps_{names[size]}"
            record = {"task": "post_speed", "metric": metric, "results": {"metric": metric, "value": round(fps, 1)},
                      "held_out": None, "hardware": hardware, "budget": {}, "source": "benchmarks/post_speed.py",
                      "date": date.today().isoformat()}
            if run:
                cfg = yaml.safe_load((Path(run) / "config.yaml").read_text())
                flag = {"fastdvdnet": "--denoiser", "ifnet": "--interpolator", "deflickernet": "--deflicker"}
                name = cfg["model"]["name"]
                records.append({"recipe": RECIPES[name], "seed": cfg["seed"], **record,
                                "command": [f"vidgen train {RECIPES[name]} seed={cfg['seed']} train.threads=1",
                                            f"{command} {flag[name]} RUN"]})
            else:
                records.append({"reference": label, "seed": None, **record, "command": [command]})
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.records:
        with open(args.records, "a") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
        print(f"\nappended records to {args.records}")


if __name__ == "__main__":
    main()
