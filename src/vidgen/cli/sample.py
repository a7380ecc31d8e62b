"""``vidgen sample CHECKPOINT --num N --seed S --out FILE [--label K | --per-class] [--truncation PSI]
[--frames T] [--interpolate SEED_A SEED_B --steps N]``"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vidgen.cli.predict import OUTPUTS, Given, check_flags, check_video_only, given
from vidgen.errors import VidgenError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "sample",
        help="generate clips from a trained model (a GAN or a clip VAE)",
        description="Generate clips from a trained GAN or clip VAE (vae3d: decoded from prior latents). The "
        "format comes from --out's extension: one grid video (.mp4, .gif); a still with 8 frames of each clip, "
        "one row per clip (.png); or an array [N, T, H, W, C] (.npy: uint8, or float32 in [-1, 1] with --dtype "
        "float32). Clip i uses seed SEED+i alone. For conditional models --label picks the class and "
        "--per-class draws one row per class (--num columns, the same seeds in every row). --interpolate walks "
        "the latent great circle (slerp) between two seeds in --steps clips whose ends are those seeds' "
        "samples. Predictors continue clips instead: see 'vidgen predict'.",
        epilog="Example: vidgen sample runs/demo --num 16 --seed 0 --out samples.mp4; "
               "vidgen sample runs/cond --per-class --num 8 --truncation 0.7 --out classes.mp4; "
               "vidgen sample runs/demo --interpolate 0 1 --steps 8 --out walk.gif",
    )
    p.add_argument("checkpoint", help="run folder (or its model.safetensors) written by 'vidgen train'")
    p.add_argument("--num", type=int, default=16, action=Given,
                   help="number of clips (with --per-class: per class; default 16)")
    p.add_argument("--seed", type=int, default=0, action=Given, help="clip i uses seed SEED+i (default 0)")
    p.add_argument("--out", required=True, help="output file: .mp4, .gif, .png or .npy")
    p.add_argument("--post", default=None, metavar="OPS",
                   help="post-process every clip with this chain of ops (as 'vidgen post --ops'), e.g. "
                        "denoise,sharpen or interpolate:x2")
    p.add_argument("--label", type=int, default=None,
                   help="class K of every clip (conditional models; default: GANs draw class s mod classes for "
                        "seed s, VAEs class i mod classes for clip i)")
    p.add_argument("--per-class", action="store_true",
                   help="conditional models: one row per class, --num clips each (column j: seed SEED+j)")
    p.add_argument("--truncation", type=float, default=None, metavar="PSI",
                   help="GANs: scale the Gaussian latents by PSI (>= 0; 1: none, 0.5-0.8: more typical clips)")
    p.add_argument("--frames", type=int, default=None,
                   help="GANs: clip length (default: the training length; others only for models that take any, "
                        "e.g. mocogan)")
    p.add_argument("--interpolate", type=int, nargs=2, default=None, metavar=("SEED_A", "SEED_B"),
                   help="GANs: --steps clips along the slerp path from SEED_A's latent to SEED_B's")
    p.add_argument("--steps", type=int, default=None,
                   help="with --interpolate: clips along the path, both ends included (default 8)")
    p.add_argument("--sampling-steps", type=int, default=None, metavar="N",
                   help="diffusion models: sampler steps (default 18; 10-50 is usual)")
    p.add_argument("--sampler", default=None, choices=("heun", "ddim"),
                   help="diffusion models: heun (2 network calls a step, default) or ddim (1)")
    p.add_argument("--guidance", type=float, default=None,
                   help="class-conditional diffusion models: classifier-free guidance (1: none, default; 0: "
                        "unconditional; 2-4 sharpens the class)")
    p.add_argument("--nrow", type=int, default=None,
                   help="clips per grid row of a video output (default: square grid)")
    p.add_argument("--fps", type=int, default=None,
                   help="frames per second of a video output (default: the training data's)")
    p.add_argument("--dtype", choices=("uint8", "float32"), default="uint8",
                   help=".npy only: uint8 pixels (default) or float32 in [-1, 1]")
    p.add_argument("--batch-size", type=int, default=32, help="clips generated at once")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.set_defaults(func=run)


def check_out(path: str) -> Path:
    """The output path, which must end in one of :data:`OUTPUTS` (.mp4, .gif, .png, .npy)."""
    out = Path(path)
    if out.suffix.lower() not in OUTPUTS:
        raise VidgenError(f"cannot write {out.name!r}", hint=f"use an output ending in {', '.join(OUTPUTS)}")
    return out


def write_clips(out: Path, videos: Any, *, fps: float, nrow: int | None = None, post: str | None = None,
                labels: Sequence[str] | None = None, dtype: str = "uint8") -> None:
    """Write clips ``videos [N, T, C, H, W]`` (float in ``[-1, 1]``) in the format of ``out``'s suffix.

    ``.mp4``, ``.gif``: one grid video (``nrow`` clips per row; ``labels``: one per clip or one
    per row); ``.png``: a still of 8 evenly spaced frames per clip, one row each; ``.npy``:
    ``[N, T, H, W, C]``, uint8 or (``dtype="float32"``) float32 in ``[-1, 1]``.
    """
    if post:  # each clip through the post-processing chain, then on as float clips again
        import torch

        from vidgen.convert import to_tensor, to_uint8
        from vidgen.post import apply_chain, parse_chain

        steps = parse_chain(post)
        processed = [apply_chain(to_uint8(v), steps) for v in videos]
        fps = fps * len(processed[0]) / max(1, videos.shape[1])  # interpolation raises the frame rate
        videos = torch.stack([to_tensor(np.ascontiguousarray(p)) for p in processed])
    import vidgen
    from vidgen.convert import to_uint8

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        if dtype == "float32":
            np.save(out, videos.permute(0, 1, 3, 4, 2).float().numpy())  # [N, T, H, W, C]
        else:
            np.save(out, np.stack([to_uint8(v) for v in videos]))  # [N, T, H, W, C]
    elif out.suffix.lower() == ".png":  # a still: evenly spaced frames, one row per clip
        vidgen.io.write_video(out, vidgen.io.frame_strips(videos))
    else:
        vidgen.io.write_video(out, vidgen.io.make_grid(videos, nrow=nrow, labels=labels), fps=fps)


def _class_name(gen: Any, k: int) -> str:
    return gen.class_names[k] if k < len(gen.class_names) else str(k)


def _check_args(args: argparse.Namespace, gen: Any, name: str) -> None:
    """Refuse flags that do not apply to this model, with the reason."""
    for flag, value in (("--truncation", args.truncation), ("--frames", args.frames),
                        ("--interpolate", args.interpolate), ("--sampling-steps", args.sampling_steps),
                        ("--sampler", args.sampler), ("--guidance", args.guidance)):
        if value is not None and flag.lstrip("-").replace("-", "_") not in gen.sample_options:
            hint = (f"vidgen interpolate {args.checkpoint} --from A --to B" if flag == "--interpolate"
                    else "models whose sampling takes it: the diffusion models" if flag in
                    ("--sampling-steps", "--sampler", "--guidance") else "models whose sampling takes it: the GANs")
            raise VidgenError(f"{flag} does not apply to {name} (a {gen.family.name} model)", hint=hint)
    if args.truncation is not None and args.truncation < 0:
        raise VidgenError(f"--truncation must be >= 0 (1: none), got {args.truncation}")
    if args.per_class:
        if args.interpolate is not None or args.label is not None:
            raise VidgenError("--per-class draws every class: leave --label and --interpolate out")
        if not getattr(gen, "num_classes", 0):
            raise VidgenError(f"{name} is unconditional: --per-class needs a class-conditional model",
                              hint="train one with model.conditional=true on a labelled dataset")


def _check_context(args: argparse.Namespace, out: Path) -> None:
    """Refuse flags that would do nothing with the others given (before a model is loaded)."""
    if args.interpolate is None:
        if args.steps is not None:
            raise VidgenError("--steps applies only with --interpolate SEED_A SEED_B",
                              hint=f"vidgen sample {args.checkpoint} --interpolate 0 1 --steps {args.steps} "
                                   f"--out {out.name}, or leave --steps out")
    else:
        for name in ("num", "seed"):
            if given(args, name):
                raise VidgenError(f"--{name} applies only without --interpolate: the walk is --steps clips from "
                                  "SEED_A's sample to SEED_B's", hint=f"leave --{name} out")
    if args.per_class and args.nrow is not None:
        raise VidgenError("--nrow applies only without --per-class, whose grid has one row per class",
                          hint="leave --nrow out (--num sets the clips per row)")
    check_video_only(args, out, ("fps", "nrow"))
    if args.dtype != "uint8" and out.suffix.lower() != ".npy":
        raise VidgenError(f"--dtype applies only with a .npy output, not {out.suffix.lower()}",
                          hint=f"write {out.with_suffix('.npy').name}, or leave --dtype out")


def run(args: argparse.Namespace) -> int:

    check_flags(args, ("num", "batch_size", "nrow", "fps", "frames", "steps"))
    out = check_out(args.out)
    _check_context(args, out)
    steps = args.steps if args.steps is not None else 8
    from vidgen.cli.loading import load_for

    if args.post:  # a bad chain is refused before anything is sampled
        from vidgen.post import parse_chain

        parse_chain(args.post)
    gen = load_for(args.checkpoint, "generate", device=args.device, command="vidgen sample")
    name = gen.meta["model"]["name"]
    _check_args(args, gen, name)
    options: dict[str, Any] = {}
    if "truncation" in gen.sample_options:
        options["truncation"] = 1.0 if args.truncation is None else args.truncation
    if "frames" in gen.sample_options:
        options["frames"] = args.frames
    for key in ("sampling_steps", "sampler", "guidance"):
        if key in gen.sample_options and getattr(args, key) is not None:
            options[key] = getattr(args, key)
    fps = args.fps if args.fps is not None else gen.fps
    common = dict(batch_size=args.batch_size, **options)

    if args.interpolate is not None:
        a, b = args.interpolate
        videos = gen.interpolate(a, b, steps, label=args.label, **common)  # [steps, T, C, H, W]
        weights = [f"{w:.2f}".rstrip("0").rstrip(".") for w in np.linspace(0.0, 1.0, steps)]
        write_clips(out, videos, fps=fps, nrow=args.nrow, labels=weights, dtype=args.dtype, post=args.post)
        print(f"wrote {steps} clips from seed {a} to seed {b} (weights {', '.join(weights)}) to {out}")
        return 0
    if args.per_class:
        import torch

        rows = [gen.sample(args.num, seed=args.seed, label=k, **common) for k in range(gen.num_classes)]
        videos = torch.cat(rows)  # [classes * num, T, C, H, W], class-major
        names = [_class_name(gen, k) for k in range(gen.num_classes)]
        write_clips(out, videos, fps=fps, nrow=args.num, labels=names, dtype=args.dtype, post=args.post)
        print(f"wrote {gen.num_classes} classes x {args.num} clips to {out}")
        return 0
    videos = gen.sample(args.num, seed=args.seed, label=args.label, **common)  # [N, T, C, H, W]
    write_clips(out, videos, fps=fps, nrow=args.nrow, dtype=args.dtype, post=args.post)
    print(f"wrote {args.num} clips to {out}")
    return 0
