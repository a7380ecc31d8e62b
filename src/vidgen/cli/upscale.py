"""``vidgen upscale RUN --input VIDEO --out OUT [--side-by-side SBS]``: a trained upscaler over a video, streamed."""

from __future__ import annotations

import argparse

from vidgen.cli.post import PRESETS, _fps


def add_parser(sub) -> None:
    p = sub.add_parser(
        "upscale", help="upscale a video x2 or x4 with a trained super-resolution model",
        description="Upscale a video (any file PyAV reads, a folder of frames or a uint8 .npy) with a trained "
                    "upscaler (a vsr run folder, an export or a shipped name). The video streams through in "
                    "chunks of --chunk frames with the model's context frames on each side, so memory stays "
                    "bounded however long it is. --side-by-side also writes the bicubic upscale beside it.",
        epilog="Examples:\n  vidgen upscale runs/basicvsr_photo_pans --input small.mp4 --out big.mp4\n"
               "  vidgen upscale runs/basicvsr_photo_pans --input small.mp4 --out big.mp4 --side-by-side cmp.mp4\n"
               "  vidgen sample runs/gan --post upscale:runs/basicvsr_photo_pans --out big_samples.mp4",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="the upscaler: a run folder, an export folder or a shipped name")
    p.add_argument("--input", required=True, help="the video: a file PyAV reads, a folder of frames or a uint8 .npy")
    p.add_argument("--out", required=True, help="output: .mp4, .gif, .png strip or .npy")
    p.add_argument("--side-by-side", default=None, metavar="PATH",
                   help="also write bicubic (left) beside the model's upscale (right) to PATH")
    p.add_argument("--fps", type=float, default=None, help="frame rate of the input (default: the file's, or 8)")
    p.add_argument("--chunk", type=int, default=32, help="frames upscaled at a time (default 32)")
    p.add_argument("--preset", default="medium", choices=PRESETS, help="H.264 encoder preset of an .mp4 output")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import contextlib
    import time
    from pathlib import Path

    import cv2
    import numpy as np

    from vidgen.cli.loading import load_for
    from vidgen.errors import VidgenError
    from vidgen.io.video import VideoWriter, iter_clip

    outs = [Path(args.out)] + ([Path(args.side_by_side)] if args.side_by_side else [])
    for out in outs:
        if not out.parent.is_dir():
            raise VidgenError(f"the folder of {out} does not exist", hint="create it first")
    if args.chunk < 1:
        raise VidgenError(f"--chunk must be >= 1, got {args.chunk}")
    if not Path(args.input).exists():
        raise VidgenError(f"--input {args.input}: no such file or folder")
    model = load_for(args.checkpoint, "upscale", device=args.device, command="vidgen upscale", needs="an upscaler")
    fps = args.fps or _fps(args.input) or 8.0
    seen: list[np.ndarray] = []  # the input frames not yet paired with their output (for the side-by-side)
    shape: dict[str, tuple[int, ...]] = {}

    def source():
        for frame in iter_clip(args.input):
            shape.setdefault("in", frame.shape)
            if args.side_by_side:
                seen.append(frame)
            yield frame

    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(VideoWriter(args.out, fps=fps, preset=args.preset))
        sbs = stack.enter_context(VideoWriter(args.side_by_side, fps=fps, preset=args.preset)) \
            if args.side_by_side else None
        for frame in model.stream(source(), chunk=args.chunk):
            writer.write(frame)
            if sbs is not None:
                low = seen.pop(0)
                h, w = frame.shape[:2]
                base = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, -1)
                sbs.write(np.concatenate([base, frame], axis=1))
    seconds = time.perf_counter() - start
    if writer.count == 0:
        raise VidgenError(f"{args.input} holds no frames")
    h, w = shape["in"][:2]
    print(f"{args.input}: {writer.count} frames of {w}x{h} -> {w * model.scale}x{h * model.scale} "
          f"({model.name} x{model.scale}; {seconds:.2f} s, {writer.count / seconds:.1f} frames/s)")
    print(f"wrote {', '.join(str(o) for o in outs)}")
    return 0
