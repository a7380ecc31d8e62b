"""``vidgen predict CHECKPOINT --input CLIP --context N --frames N --out FILE [--seed S] [--samples K]``"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from vidgen.errors import VidgenError

OUTPUTS = (".mp4", ".gif", ".png", ".npy")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="continue a clip with a trained predictor",
        description="Read a clip, take its first --context frames and predict --frames more. The output shows, "
                    "side by side, the input (context, then the true continuation where the clip has it, black "
                    "after) and the context followed by the prediction; one row per sample. .png: a still with "
                    "8 frames per row (the input on top, then each sample); .npy: uint8 [K, context + frames, "
                    "H, W, C], the context and each prediction.",
        epilog="Example: vidgen predict runs/convlstm --input clip.mp4 --context 10 --frames 30 --out pred.mp4",
    )
    p.add_argument("checkpoint", help="run folder (or its model.safetensors) of a predictor trained by 'vidgen train'")
    p.add_argument("--input", required=True,
                   help="the clip: any video file PyAV reads, a folder of frame images, or a .npy of uint8 "
                        "[T, H, W, C]; resized to the model's resolution and channels when they differ")
    p.add_argument("--context", type=int, default=None,
                   help="context frames taken from the start of the input (default: the model's training context)")
    p.add_argument("--frames", type=int, default=None,
                   help="frames to predict, any number (default: the model's training horizon)")
    p.add_argument("--out", required=True, help="output file: .mp4, .gif, .png or .npy")
    p.add_argument("--seed", type=int, default=0, help="sample k uses seed SEED+k (stochastic models; default 0)")
    p.add_argument("--samples", type=int, default=1, help="futures to predict, one row each (default 1)")
    p.add_argument("--fps", type=int, default=None, help="frames per second (default: the training data's)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.set_defaults(func=run)


def check_flags(args: argparse.Namespace, names: tuple[str, ...]) -> None:
    """Each of the integer options ``names`` (attribute names) must be unset or >= 1."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise VidgenError(f"--{name.replace('_', '-')} must be >= 1, got {value}")


class Given(argparse.Action):
    """``store`` that notes the option as given on the command line (``args.given``), so that a
    flag with a default that does nothing in context can be refused instead of ignored."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = {*getattr(namespace, "given", ()), self.dest}


def given(args: argparse.Namespace, name: str) -> bool:
    """Whether option ``name`` (its attribute name; a :class:`Given` option) was on the command line."""
    return name in getattr(args, "given", ())


def check_video_only(args: argparse.Namespace, out: Path, names: tuple[str, ...]) -> None:
    """Options ``names`` (``fps``, ``nrow``) shape a grid video: refused for a ``.png`` still or a ``.npy`` array."""
    suffix = out.suffix.lower()
    if suffix in (".png", ".npy"):
        for name in names:
            if getattr(args, name, None) is not None:
                flag = f"--{name.replace('_', '-')}"
                raise VidgenError(f"{flag} applies only with a video output (.mp4, .gif), not a {suffix} file",
                                  hint=f"leave {flag} out, or write {out.with_suffix('.mp4').name}")


def load_predictor(checkpoint: str, *, device: str, command: str) -> Any:
    """``vidgen.load(checkpoint)``, refusing anything that cannot :meth:`predict` with a clear error."""
    from vidgen.cli.loading import load_for, predictor_names

    return load_for(checkpoint, "predict", device=device, command=command,
                    needs=f"a predictor run ({', '.join(predictor_names())})")


def run(args: argparse.Namespace) -> int:
    import torch

    import vidgen

    check_flags(args, ("context", "frames", "samples", "fps"))
    out = Path(args.out)
    if out.suffix.lower() not in OUTPUTS:
        raise VidgenError(f"cannot write {out.name!r}", hint=f"use an output ending in {', '.join(OUTPUTS)}")
    check_video_only(args, out, ("fps",))
    predictor = load_predictor(args.checkpoint, device=args.device, command="vidgen predict")
    context = args.context if args.context is not None else predictor.context
    frames = args.frames if args.frames is not None else predictor.future
    from vidgen.io.video import read_clip

    raw = read_clip(args.input, num_frames=context + frames)
    if raw.shape[0] < context:
        raise VidgenError(f"{args.input} has {raw.shape[0]} frame(s), --context {context} needs at least {context}",
                          hint=f"pass a longer clip or a smaller --context (the model was trained with "
                               f"{predictor.context})")
    clip = vidgen.api.as_video_batch(raw)  # [1, T, C, H, W]
    _, _, c, h, w = clip.shape
    if (c, h, w) != (predictor.channels, predictor.resolution, predictor.resolution):
        clip = predictor.resize(clip)
        print(f"resized the input from {w}x{h} with {c} channel(s) to the model's {predictor.resolution}x"
              f"{predictor.resolution} with {predictor.channels} (short side, centre crop)", file=sys.stderr)
    seen = clip[:, :context]  # [1, Tc, C, H, W]
    preds = torch.cat([predictor.predict(seen, frames=frames, seed=args.seed + k) for k in range(args.samples)])
    if args.samples > 1 and all(torch.equal(preds[0], p) for p in preds[1:]):
        print(f"note: this model is deterministic, the {args.samples} futures are identical", file=sys.stderr)
    length = context + frames
    rows = torch.cat([seen.expand(args.samples, -1, -1, -1, -1), preds], dim=1)  # [K, Tc + F, C, H, W]
    truth = clip[:, :length]
    black = truth.new_full((1, length - truth.shape[1], *truth.shape[2:]), -1.0)
    truth = torch.cat([truth, black], dim=1)  # [1, Tc + F, C, H, W]: the input, black where it ends
    _write(out, truth, rows, fps=args.fps if args.fps is not None else predictor.fps)
    more = f" x {args.samples} samples" if args.samples > 1 else ""
    print(f"wrote {context} context + {frames} predicted frames{more} to {out}")
    return 0


def _write(out: Path, truth: Any, rows: Any, *, fps: int) -> None:
    """``truth [1, T, C, H, W]`` beside each of ``rows [K, T, C, H, W]``, in the format of ``out``."""
    import torch

    import vidgen
    from vidgen.convert import to_uint8

    if out.suffix.lower() == ".npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, np.stack([to_uint8(r) for r in rows]))  # [K, T, H, W, C]
        return
    if out.suffix.lower() == ".png":  # a still: the input on top, then one row per sample
        vidgen.io.write_video(out, vidgen.io.frame_strips(torch.cat([truth, rows])))
        return
    left = vidgen.io.make_grid(truth.expand(len(rows), -1, -1, -1, -1), nrow=1)  # one column, a row per sample
    right = vidgen.io.make_grid(rows, nrow=1)
    vidgen.io.write_video(out, vidgen.io.side_by_side(left, right, titles=("input", "prediction")), fps=fps)
