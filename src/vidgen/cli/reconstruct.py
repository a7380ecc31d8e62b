"""``vidgen reconstruct CHECKPOINT --input CLIP --out FILE [--label K]``

Also the helpers the clip-VAE commands share (``vidgen interpolate`` imports them): loading a
``vae3d`` run with a clear error for anything else, reading a clip at the model's shape, and
checking ``--label``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from vidgen.cli.predict import check_flags, check_video_only
from vidgen.cli.sample import check_out
from vidgen.errors import VidgenError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "reconstruct",
        help="encode and decode a clip with a clip VAE",
        description="Read a clip, resize it to the model's clip shape (its first T frames, short side to the "
                    "resolution, centre crop, channels converted), decode it from its posterior mean and write "
                    "the input beside the reconstruction; prints the reconstruction's per-frame MSE (squared "
                    "error of the [0, 1] pixels summed over each frame, as 'vidgen eval --metric frames'). "
                    ".png: a still with 8 frames per row, the input on top; .npy: uint8 [2, T, H, W, C], the "
                    "input (at the model's shape) and its reconstruction.",
        epilog="Example: vidgen reconstruct runs/vae3d --input clip.mp4 --out recon.mp4",
    )
    p.add_argument("checkpoint", help="run folder (or its model.safetensors) of a vae3d trained by 'vidgen train'")
    p.add_argument("--input", required=True,
                   help="the clip to encode, at least the model's T frames (the first T are used): a video file, "
                        "a frame folder or a uint8 .npy [T, H, W, C], of any size and 1 or 3 channels")
    p.add_argument("--out", required=True, help="output file: .mp4, .gif, .png or .npy")
    add_common(p)
    p.set_defaults(func=run)


def add_common(p: argparse.ArgumentParser) -> None:
    """The options every clip-VAE command takes: ``--label``, ``--fps``, ``--device``."""
    p.add_argument("--label", type=int, default=None,
                   help="class index K (class-conditional VAEs only, where it is required)")
    p.add_argument("--fps", type=int, default=None, help="frames per second (default: the training data's)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")


def load_clip_vae(checkpoint: str, *, device: str, command: str, needs: str = "a vae3d run") -> Any:
    """``vidgen.load(checkpoint)``, refusing anything but an autoencoder (``vae3d``, ``frame_vae``) with a clear error."""
    from vidgen.cli.loading import load_for

    return load_for(checkpoint, "reconstruct", device=device, command=command, needs=needs)


def check_label(vae: Any, label: int | None) -> int | None:
    """``--label`` against the model: required by a conditional VAE, refused by an unconditional one."""
    name = vae.meta["model"]["name"]
    if vae.num_classes and label is None:
        classes = ", ".join(f"{i}={c}" for i, c in enumerate(vae.class_names)) or f"0..{vae.num_classes - 1}"
        raise VidgenError(f"this {name} is class-conditional ({vae.num_classes} classes): pass --label K",
                          hint=f"classes: {classes}")
    if not vae.num_classes and label is not None:
        raise VidgenError(f"this {name} is unconditional: leave --label out")
    if label is not None and not 0 <= label < vae.num_classes:
        raise VidgenError(f"--label must be a class in [0, {vae.num_classes}), got {label}")
    return label


def read_model_clip(path: str | Path, vae: Any) -> Any:
    """The first ``vae.frames`` frames of the clip at ``path``: float ``[1, T, C, H, W]`` at the model's size.

    Resized as ``vidgen predict`` resizes its input (with a note on stderr when it is).
    """
    import vidgen

    from vidgen.io.video import read_clip

    raw = read_clip(path, num_frames=vae.frames)
    if raw.shape[0] < vae.frames:
        raise VidgenError(f"{path} has {raw.shape[0]} frame(s), the model encodes clips of {vae.frames}",
                          hint=f"pass a clip of at least {vae.frames} frames (the first {vae.frames} are used)")
    clip = vidgen.api.as_video_batch(raw)  # [1, T, C, H, W]
    resized = vae.resize(clip)  # the same tensor's values where the size and channels already match
    if resized.shape != clip.shape:
        _, _, c, h, w = clip.shape
        print(f"resized {path} from {w}x{h} with {c} channel(s) to the model's {vae.resolution}x{vae.resolution} "
              f"with {vae.channels} (short side, centre crop)", file=sys.stderr)
    return resized


def run(args: argparse.Namespace) -> int:
    import torch

    import vidgen
    from vidgen.convert import to_uint8
    from vidgen.metrics.frame import mse_per_frame

    check_flags(args, ("fps",))
    out = check_out(args.out)
    check_video_only(args, out, ("fps",))
    vae = load_clip_vae(args.checkpoint, device=args.device, command="vidgen reconstruct",
                        needs="a vae3d or frame_vae run")
    label = check_label(vae, args.label)
    clip = read_model_clip(args.input, vae)  # [1, T, C, H, W]
    recon = vae.reconstruct(clip, label=label)  # [1, T, C, H, W]
    mse = mse_per_frame(recon, clip, clamp=True)[0]  # [T], summed over C*H*W on [0, 1] pixels
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, np.stack([to_uint8(clip[0]), to_uint8(recon[0])]))  # [2, T, H, W, C]
    elif out.suffix.lower() == ".png":  # a still: the input on top, the reconstruction below
        vidgen.io.write_video(out, vidgen.io.frame_strips(torch.cat([clip, recon])))
    else:
        both = vidgen.io.side_by_side(clip, recon, titles=("input", "reconstruction"))
        vidgen.io.write_video(out, both, fps=args.fps if args.fps is not None else vae.fps)
    print(f"per-frame MSE (squared error of [0, 1] pixels summed per frame): "
          f"{' '.join(f'{v:.2f}' for v in mse.tolist())}; mean {mse.mean().item():.2f}")
    print(f"wrote the input and its reconstruction ({vae.frames} frames) to {out}")
    return 0
