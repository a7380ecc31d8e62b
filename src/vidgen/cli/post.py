"""``vidgen post INPUT --ops denoise,deflicker,sharpen,interpolate:x2 --out OUT [op.key=value ...]``"""

from __future__ import annotations

import argparse


PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "post", help="post-process a video: denoise, deflicker, sharpen, interpolate, upscale",
        description="Run a chain of post-processing ops on a video (any file PyAV reads, a folder of frames or "
                    "a uint8 .npy), write the result, and print the temporal metrics before and after (warping "
                    "error with DIS flow, flicker index). Ops: denoise (multi-frame non-local means, strength "
                    "estimated from the noise), deflicker, sharpen (unsharp mask), interpolate:xN (frame rate "
                    "x N), upscale:xN. Options of an op: op.key=value; denoise, deflicker and interpolate run a trained "
                    "network with OP.model=RUN (a run folder, an export or a shipped name).",
        epilog="Examples:\n  vidgen post clip.mp4 --ops denoise,sharpen --out clean.mp4\n"
               "  vidgen post clip.mp4 --ops deflicker,interpolate:x2 --out smooth.mp4 deflicker.window=3\n"
               "  vidgen post clip.mp4 --ops denoise --out clean.mp4 denoise.strength=12\n"
               "  vidgen post clip.mp4 --ops denoise --out clean.mp4 denoise.model=runs/fastdvdnet_photo_pans",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="the video: a file PyAV reads, a folder of frames or a uint8 .npy [T, H, W, C]")
    p.add_argument("overrides", nargs="*", metavar="op.key=value", help="options of the ops, e.g. sharpen.amount=1.0")
    p.add_argument("--ops", required=True, help="comma-separated ops, in order, e.g. denoise,sharpen,interpolate:x2")
    p.add_argument("--out", required=True, help="output: .mp4, .gif, .png strip or .npy")
    p.add_argument("--fps", type=float, default=None, help="frame rate of the input (default: the file's, or 8)")
    p.add_argument("--preset", default="medium", choices=PRESETS,
                   help="H.264 encoder preset of an .mp4 output: faster ones write larger files (default medium)")
    p.add_argument("--chunk", type=int, default=32,
                   help="frames processed at a time: the video streams through the ops, so memory stays bounded "
                        "however long it is (default 32)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import math
    import time
    from pathlib import Path

    import numpy as np

    from vidgen.errors import VidgenError
    from vidgen.io.video import VideoWriter, iter_clip
    from vidgen.metrics.temporal import flicker_index, warping_error
    from vidgen.post import parse_chain, stream_chain

    steps = parse_chain(args.ops, args.overrides)  # a bad chain is refused before anything is read
    out = Path(args.out)
    if not out.parent.is_dir():
        raise VidgenError(f"the folder of --out ({out.parent}) does not exist", hint="create it first")
    if args.chunk < 1:
        raise VidgenError(f"--chunk must be >= 1, got {args.chunk}")
    fps = args.fps or _fps(args.input) or 8.0
    factor = math.prod(step.factor() for step in steps)  # interpolation raises the frame rate
    head_in: list[np.ndarray] = []
    head_out: list[np.ndarray] = []
    count = {"in": 0}
    keep = {"in": HEAD}  # the first frames kept for the metrics: at most HEAD, and HEAD_BYTES of them

    def source():  # the input, decoded frame by frame (a long video is never held whole)
        for frame in iter_clip(args.input):
            count["in"] += 1
            if count["in"] == 1:
                keep["in"] = max(2, min(HEAD, HEAD_BYTES // frame.nbytes))
            if len(head_in) < keep["in"]:
                head_in.append(frame)
            yield frame

    start = time.perf_counter()
    with VideoWriter(out, fps=fps * factor, preset=args.preset) as writer:
        for frame in stream_chain(source(), steps, chunk=args.chunk):
            writer.write(frame)
            if len(head_out) < (keep["in"] - 1) * factor + 1:
                head_out.append(frame)
    seconds = time.perf_counter() - start
    h, w = head_in[0].shape[:2]
    oh, ow = head_out[0].shape[:2]
    print(f"{args.input}: {count['in']} frames of {w}x{h} -> {writer.count} frames of {ow}x{oh} "
          f"({', '.join(s.name for s in steps)}; {seconds:.2f} s, {count['in'] / seconds:.1f} frames/s)")
    if len(head_in) > 1 and len(head_out) > 1:
        scope = "" if count["in"] <= len(head_in) else f" (first {len(head_in)} frames)"
        a, b = np.stack(head_in), np.stack(head_out)
        print(f"  warping error (DIS flow){scope}  {warping_error(a):.6f} -> {warping_error(b):.6f}")
        print(f"  flicker index{scope}             {flicker_index(a):.6f} -> {flicker_index(b):.6f}")
    print(f"wrote {out}")
    return 0


HEAD = 64  # frames of input (and their output) the temporal metrics are printed for...
HEAD_BYTES = 64 * 2**20  # ...at most this much of them (10 frames of 1080p)


def _fps(path: str) -> float | None:
    from pathlib import Path

    if Path(path).suffix.lower() == ".npy" or Path(path).is_dir():
        return None
    try:
        from vidgen.io import probe_video

        return float(probe_video(path).fps) or None
    except Exception:  # no rate known: the default
        return None
