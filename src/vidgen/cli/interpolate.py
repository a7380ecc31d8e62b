"""``vidgen interpolate CHECKPOINT --from A --to B --steps 8 --out FILE [--label K]``"""

from __future__ import annotations

import argparse
import re
from typing import Any

from vidgen.cli.predict import check_flags, check_video_only
from vidgen.cli.reconstruct import add_common, check_label, load_clip_vae, read_model_clip
from vidgen.cli.sample import check_out, write_clips

_SEED = re.compile(r"[+-]?\d+")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "interpolate",
        help="decode a latent walk between two seeds or clips",
        description="Walk the latent space of a clip VAE from A to B in --steps evenly spaced points (weights "
                    "0 to 1) and decode each. A and B are integer seeds (the prior latent 'vidgen sample "
                    "--seed' draws, so the end clips are those samples) or clip files (their posterior means; "
                    "resized to the model's clip shape as 'vidgen reconstruct' does). Writes one grid video, a "
                    "clip per cell in order, labelled with the weight (.mp4, .gif); a still with 8 frames per "
                    "row, one row per step (.png); or uint8 [steps, T, H, W, C] (.npy).",
        epilog="Example: vidgen interpolate runs/vae3d --from 0 --to clip.mp4 --steps 8 --out walk.mp4",
    )
    p.add_argument("checkpoint", help="run folder (or its model.safetensors) of a vae3d trained by 'vidgen train'")
    p.add_argument("--from", dest="start", required=True, metavar="A",
                   help="start: an integer seed or a clip (video file, frame folder or uint8 .npy; write ./7 "
                        "for a file named 7)")
    p.add_argument("--to", dest="end", required=True, metavar="B", help="end: an integer seed or a clip")
    p.add_argument("--steps", type=int, default=8, help="clips decoded, both ends included (default 8)")
    p.add_argument("--out", required=True, help="output file: .mp4, .gif, .png or .npy")
    p.add_argument("--nrow", type=int, default=None, help="clips per grid row (default: square grid)")
    add_common(p)
    p.set_defaults(func=run)


def _endpoint(value: str, vae: Any) -> Any:
    """An int seed, or the clip at path ``value`` as float ``[1, T, C, H, W]`` at the model's size."""
    return int(value) if _SEED.fullmatch(value) else read_model_clip(value, vae)


def run(args: argparse.Namespace) -> int:
    import torch

    check_flags(args, ("steps", "nrow", "fps"))
    out = check_out(args.out)
    check_video_only(args, out, ("fps", "nrow"))
    vae = load_clip_vae(args.checkpoint, device=args.device, command="vidgen interpolate")
    label = check_label(vae, args.label)
    a, b = _endpoint(args.start, vae), _endpoint(args.end, vae)
    clips = vae.interpolate(a, b, args.steps, label=label)  # [steps, T, C, H, W]
    # as VideoVAE.interpolate spaces them; short labels ("0", "0.5", "0.14", "1") fit small tiles
    weights = [f"{w:.2f}".rstrip("0").rstrip(".") for w in torch.linspace(0.0, 1.0, args.steps).tolist()]
    write_clips(out, clips, fps=args.fps if args.fps is not None else vae.fps, nrow=args.nrow, labels=weights)
    print(f"wrote {args.steps} clips from {args.start} to {args.end} (weights {', '.join(weights)}) to {out}")
    return 0
