"""``vidgen sample CHECKPOINT --num N --seed S --out FILE``"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def add_parser(sub) -> None:
    p = sub.add_parser(
        "sample",
        help="generate clips from a trained model",
        description="Generate clips from a trained model and write them as one grid video (.mp4, .gif), "
        "a still with 8 frames of each clip, one row per clip (.png), or a uint8 array [N, T, H, W, C] (.npy).",
        epilog="Example: vidgen sample runs/demo --num 16 --seed 0 --out samples.mp4",
    )
    p.add_argument("checkpoint", help="run folder (or its model.safetensors) written by 'vidgen train'")
    p.add_argument("--num", type=int, default=16, help="number of clips (default 16)")
    p.add_argument("--seed", type=int, default=0, help="clip i uses seed SEED+i (default 0)")
    p.add_argument("--out", required=True, help="output file: .mp4, .gif, .png or .npy")
    p.add_argument("--nrow", type=int, default=None, help="clips per grid row (default: square grid)")
    p.add_argument("--fps", type=int, default=None, help="frames per second (default: the training data's)")
    p.add_argument("--batch-size", type=int, default=32, help="clips generated at once")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import vidgen
    from vidgen.data.transforms import to_uint8
    from vidgen.errors import VidgenError

    for flag in ("num", "batch_size", "nrow", "fps"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise VidgenError(f"--{flag.replace('_', '-')} must be >= 1, got {value}")
    out = Path(args.out)
    if out.suffix.lower() not in (".mp4", ".gif", ".png", ".npy"):
        raise VidgenError(f"cannot write {out.name!r}", hint="use an output ending in .mp4, .gif, .png or .npy")
    gen = vidgen.load(args.checkpoint, device=args.device)
    videos = gen.sample(args.num, seed=args.seed, batch_size=args.batch_size)  # [N, T, C, H, W]
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, np.stack([to_uint8(v) for v in videos]))  # [N, T, H, W, C]
    elif out.suffix.lower() == ".png":  # a still: evenly spaced frames, one row per clip
        vidgen.io.write_video(out, vidgen.io.frame_strips(videos))
    else:
        grid = vidgen.io.make_grid(videos, nrow=args.nrow)
        vidgen.io.write_video(out, grid, fps=args.fps if args.fps is not None else gen.fps)
    print(f"wrote {args.num} clips to {out}")
    return 0
