"""``vidgen post INPUT --ops denoise,deflicker,sharpen,interpolate:x2 --out OUT [op.key=value ...]``"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "post", help="post-process a video: denoise, deflicker, sharpen, interpolate, upscale",
        description="Run a chain of post-processing ops on a video (any file PyAV reads, a folder of frames or "
                    "a uint8 .npy), write the result, and print the temporal metrics before and after (warping "
                    "error with DIS flow, flicker index). Ops: denoise (multi-frame non-local means, strength "
                    "estimated from the noise), deflicker, sharpen (unsharp mask), interpolate:xN (frame rate "
                    "x N), upscale:xN. Options of an op: op.key=value.",
        epilog="Examples:\n  vidgen post clip.mp4 --ops denoise,sharpen --out clean.mp4\n"
               "  vidgen post clip.mp4 --ops deflicker,interpolate:x2 --out smooth.mp4 deflicker.window=3\n"
               "  vidgen post clip.mp4 --ops denoise --out clean.mp4 denoise.strength=12",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="the video: a file PyAV reads, a folder of frames or a uint8 .npy [T, H, W, C]")
    p.add_argument("overrides", nargs="*", metavar="op.key=value", help="options of the ops, e.g. sharpen.amount=1.0")
    p.add_argument("--ops", required=True, help="comma-separated ops, in order, e.g. denoise,sharpen,interpolate:x2")
    p.add_argument("--out", required=True, help="output: .mp4, .gif, .png strip or .npy")
    p.add_argument("--fps", type=float, default=None, help="frame rate of the input (default: the file's, or 8)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from vidgen.io.video import read_clip
    from vidgen.errors import VidgenError
    from vidgen.io import write_video
    from vidgen.metrics.temporal import flicker_index, warping_error
    from vidgen.post import apply_chain, parse_chain

    steps = parse_chain(args.ops, args.overrides)  # a bad chain is refused before anything is read
    out = Path(args.out)
    if not out.parent.is_dir():
        raise VidgenError(f"the folder of --out ({out.parent}) does not exist", hint="create it first")
    frames = read_clip(args.input)
    fps = args.fps or _fps(args.input) or 8.0
    start = time.perf_counter()
    result = apply_chain(frames, steps)
    seconds = time.perf_counter() - start
    factor = len(result) / len(frames) if len(frames) > 1 else 1.0  # interpolation raises the frame rate
    write_video(out, result, fps=fps * factor)
    print(f"{args.input}: {len(frames)} frames of {frames.shape[2]}x{frames.shape[1]} -> {len(result)} frames of "
          f"{result.shape[2]}x{result.shape[1]} ({', '.join(s.name for s in steps)}; {seconds:.2f} s)")
    if len(frames) > 1 and len(result) > 1:
        print(f"  warping error (DIS flow)  {warping_error(frames):.6f} -> {warping_error(result):.6f}")
        print(f"  flicker index             {flicker_index(frames):.6f} -> {flicker_index(result):.6f}")
    print(f"wrote {out}")
    return 0


def _fps(path: str) -> float | None:
    from pathlib import Path

    if Path(path).suffix.lower() == ".npy" or Path(path).is_dir():
        return None
    try:
        from vidgen.io import probe_video

        return float(probe_video(path).fps) or None
    except Exception:  # no rate known: the default
        return None
