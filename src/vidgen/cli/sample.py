"""``vidgen sample CHECKPOINT --num N --seed S --out FILE [--label K]``"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vidgen.cli.predict import OUTPUTS, check_flags
from vidgen.errors import VidgenError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "sample",
        help="generate clips from a trained model (a GAN or a clip VAE)",
        description="Generate clips from a trained GAN or clip VAE (vae3d: decoded from prior latents) and "
        "write them as one grid video (.mp4, .gif), a still with 8 frames of each clip, one row per clip (.png), "
        "or a uint8 array [N, T, H, W, C] (.npy). Predictors continue clips instead: see 'vidgen predict'.",
        epilog="Example: vidgen sample runs/demo --num 16 --seed 0 --out samples.mp4",
    )
    p.add_argument("checkpoint", help="run folder (or its model.safetensors) written by 'vidgen train'")
    p.add_argument("--num", type=int, default=16, help="number of clips (default 16)")
    p.add_argument("--seed", type=int, default=0, help="clip i uses seed SEED+i (default 0)")
    p.add_argument("--out", required=True, help="output file: .mp4, .gif, .png or .npy")
    p.add_argument("--label", type=int, default=None,
                   help="class K of every clip (class-conditional VAEs; default: clip i is class i mod classes)")
    p.add_argument("--nrow", type=int, default=None, help="clips per grid row (default: square grid)")
    p.add_argument("--fps", type=int, default=None, help="frames per second (default: the training data's)")
    p.add_argument("--batch-size", type=int, default=32, help="clips generated at once")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.set_defaults(func=run)


def check_out(path: str) -> Path:
    """The output path, which must end in one of :data:`OUTPUTS` (.mp4, .gif, .png, .npy)."""
    out = Path(path)
    if out.suffix.lower() not in OUTPUTS:
        raise VidgenError(f"cannot write {out.name!r}", hint=f"use an output ending in {', '.join(OUTPUTS)}")
    return out


def write_clips(out: Path, videos: Any, *, fps: int, nrow: int | None = None,
                labels: Sequence[str] | None = None) -> None:
    """Clips ``videos [N, T, C, H, W]`` as one grid video (a label per clip where given; .mp4, .gif), a still of
    8 frames per clip, one row each (.png), or uint8 ``[N, T, H, W, C]`` (.npy)."""
    import vidgen
    from vidgen.data.transforms import to_uint8

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, np.stack([to_uint8(v) for v in videos]))  # [N, T, H, W, C]
    elif out.suffix.lower() == ".png":  # a still: evenly spaced frames, one row per clip
        vidgen.io.write_video(out, vidgen.io.frame_strips(videos))
    else:
        vidgen.io.write_video(out, vidgen.io.make_grid(videos, nrow=nrow, labels=labels), fps=fps)


def run(args: argparse.Namespace) -> int:
    import vidgen

    check_flags(args, ("num", "batch_size", "nrow", "fps"))
    out = check_out(args.out)
    gen = vidgen.load(args.checkpoint, device=args.device)
    name = gen.meta["model"]["name"]
    if getattr(gen, "predicts", False):
        raise VidgenError(f"{args.checkpoint} holds a next-frame predictor ({name}): it continues clips and samples "
                          "none", hint=f"vidgen predict {args.checkpoint} --input clip.mp4 --out pred.mp4")
    if isinstance(gen, vidgen.api.VideoVAE):
        videos = gen.sample(args.num, seed=args.seed, label=args.label, batch_size=args.batch_size)
    elif args.label is not None:
        raise VidgenError(f"{name} is an unconditional generator: leave --label out")
    else:
        videos = gen.sample(args.num, seed=args.seed, batch_size=args.batch_size)  # [N, T, C, H, W]
    write_clips(out, videos, fps=args.fps if args.fps is not None else gen.fps, nrow=args.nrow)
    print(f"wrote {args.num} clips to {out}")
    return 0
