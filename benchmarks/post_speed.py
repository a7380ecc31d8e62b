"""Frames per second of each post-processing op at 64x64, 256x256 and 1280x720.

    .venv/bin/python benchmarks/post_speed.py [--frames 16] [--repeats 3] [--sizes 64 256 720]

Input: ``--frames`` frames of a ``photo_pans`` clip (a real photograph, panning), rendered at
each size (720: 1280x720 from a 720x720 clip resized). Each op runs ``--repeats`` times; the
table gives the median frames/s of input frames, on this machine (say which when quoting it).
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 720])
    args = p.parse_args()
    assert set(CHAINS) == set(POST_OPS.names()), "a new op needs its chain here"
    names = {64: "64x64", 256: "256x256", 720: "1280x720"}
    print(f"{cpu_name()}, {'avx512_bf16' if cpu_has_fast_bf16() else 'no fast bf16'}, {cv2.getNumThreads()} "
          f"OpenCV threads; {args.frames} frames, median of {args.repeats}\n")
    print("| op | " + " | ".join(f"{names[s]} frames/s" for s in args.sizes) + " |")
    print("|---|" + "---:|" * len(args.sizes))
    clips = {s: clip(s, args.frames) for s in args.sizes}
    for name, chain in CHAINS.items():
        cells = []
        for size in args.sizes:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                post_process(clips[size], chain)
                times.append(time.perf_counter() - start)
            cells.append(f"{args.frames / statistics.median(times):.1f}")
        print(f"| `{chain}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
