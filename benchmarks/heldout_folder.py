"""Write the held-out clip folder: moving shapes no recipe was tuned on, as mp4 files a user would have.

    .venv/bin/python benchmarks/heldout_folder.py OUT_DIR [--videos 2000] [--seed 777]

The recipes were tuned on the built-in ``shapes`` set (circles, squares and triangles of 15-30%
of the frame, 8 colours, 2-5% of the frame per frame, upright). This folder changes every one
of those but the colours: stars and hexagons (two classes, one sub-folder each), of 8-16% of the
frame, in 4 of the 8 colours (orange, cyan, white, magenta), moving 5-8% of the frame per frame
and spinning up to 12 degrees per frame, 16 frames of 64x64 per file, H.264 at CRF 18. Train on it with
``data.name=folder data.path=OUT_DIR``; score generated clips against it with
``benchmarks/gan_consistency.py``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from vidgen.convert import to_uint8
from vidgen.data import build_dataset
from vidgen.data.synthetic import ShapesConfig
from vidgen.io.video import write_video

HELD_OUT = dict(resolution=64, frames=16, kinds=("star", "hexagon"), colors=("orange", "cyan", "white", "magenta"),
                min_size=0.08, max_size=0.16, min_speed=0.05, max_speed=0.08, rotation=12.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--videos", type=int, default=2000)
    p.add_argument("--seed", type=int, default=777)
    args = p.parse_args()
    ds = build_dataset(ShapesConfig(**HELD_OUT, num_clips=args.videos, seed=args.seed))
    root = Path(args.out)
    t0 = time.perf_counter()
    for i in range(args.videos):
        item = ds[i]
        write_video(root / ds.class_names[item["label"]] / f"{i:05d}.mp4", to_uint8(item["video"]), crf=18)
    print(f"wrote {args.videos} clips to {root} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
