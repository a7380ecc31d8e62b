"""Speed and memory of a trained upscaler: inference frames/s and the peak memory of a long video.

    python benchmarks/vsr_speed.py RUN [--frames 32] [--repeats 2] [--long 300] [--records FILE]

- **frames/s** of ``VideoUpscaler.upscale`` on ``--frames`` input frames at 64x64 (-> 256x256)
  and 320x180 (-> 1280x720), the best of ``--repeats`` (the model loaded once; input frames
  per second);
- **peak memory** of ``vidgen upscale RUN --input long.mp4 --out out.mp4`` (a subprocess, its
  peak resident set from ``getrusage``) on a 320x180 video of ``--long`` frames and on one of a
  third of that: the video streams in chunks, so the two peaks should match (bounded, not
  growing with the length). The videos are written by this script (a photograph panned by a
  sub-pixel camera, H.264).

Training speed and its fraction of the machine's peak come from
``benchmarks/train_throughput.py --config configs/basicvsr_photo_pans.yaml``. Prints a Markdown
table; ``--records`` appends the results-page records (task ``post_speed``, and ``speed`` for
the memory rows). Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import vidgen
from vidgen.utils.hw import cpu_name


def panning_video(path: Path, frames: int, width: int = 320, height: int = 180) -> None:
    """A photograph under a camera panning 0.7 px a frame (bilinear, sub-pixel), written as H.264."""
    import cv2
    import skimage.data

    from vidgen.io.video import VideoWriter

    photo = skimage.data.astronaut()
    big = cv2.resize(photo, (width * 2, height * 2), interpolation=cv2.INTER_AREA)
    with VideoWriter(path, fps=25, preset="veryfast") as writer:
        for t in range(frames):
            x = 0.7 * (t % 200) if (t // 200) % 2 == 0 else 0.7 * (200 - t % 200)
            m = np.float32([[1, 0, -x], [0, 1, -0.3 * x]])
            writer.write(cv2.warpAffine(big, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))


def peak_rss_mib(command: list[str]) -> tuple[float, float]:
    """(peak resident MiB, seconds) of ``command`` run alone in a fresh process (via a wrapper that reads its
    own children's peak)."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, check=True)
    mib, seconds = out.stdout.split()
    return float(mib), float(seconds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="the upscaler's run folder")
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--long", type=int, default=300, help="frames of the long video for the memory rows (0: none)")
    p.add_argument("--records", default=None)
    p.add_argument("--recipe", default="configs/basicvsr_photo_pans.yaml")
    p.add_argument("--hardware", default=None)
    args = p.parse_args(argv)

    model = vidgen.load(args.run)
    rng = np.random.default_rng(0)
    rows = []
    for w, h in ((64, 64), (320, 180)):
        clip = (rng.random((args.frames, h, w, 3)) * 255).astype(np.uint8)
        model.upscale(clip[:2])  # warm-up
        best = min(_timed(model.upscale, clip) for _ in range(args.repeats))
        rows.append((f"fps_{w}x{h}", args.frames / best, f"{w}x{h} -> {w * model.scale}x{h * model.scale}"))
    memory = []
    if args.long:
        with tempfile.TemporaryDirectory() as tmp:
            for n in (args.long // 3, args.long):
                src = Path(tmp) / f"long{n}.mp4"
                panning_video(src, n)
                mib, seconds = peak_rss_mib([sys.executable, "-m", "vidgen", "upscale", args.run, "--input", str(src),
                                             "--out", str(Path(tmp) / f"out{n}.mp4"), "--preset", "veryfast"])
                memory.append((n, mib, seconds))

    print(f"\n{model!r} on {cpu_name()}\n")
    print("| measure | value | what |")
    print("|---|---:|---|")
    for name, value, what in rows:
        print(f"| {name} | {value:.1f} | input frames/s, {what}, {args.frames} frames at once |")
    for n, mib, seconds in memory:
        print(f"| peak_rss_mib_{n}f_720p | {mib:.0f} | vidgen upscale of {n} frames of 320x180 -> 1280x720 "
              f"({seconds:.0f} s, {n / seconds:.1f} frames/s with decoding and H.264 encoding) |")

    if args.records:
        hardware = args.hardware or cpu_name()
        date = datetime.date.today().isoformat()
        name = Path(args.recipe).stem
        out = []
        for metric, value, _ in rows:
            out.append({"reference": f"upscale ({name}, x{model.scale})", "seed": None, "task": "post_speed",
                        "metric": metric, "results": {"metric": metric, "value": round(value, 1)},
                        "held_out": None, "hardware": hardware, "date": date, "source": "benchmarks/vsr_speed.py",
                        "budget": {}, "command": [f".venv/bin/python benchmarks/vsr_speed.py RUN --frames {args.frames} "
                                                  f"--repeats {args.repeats}"]})
        for n, mib, _ in memory:
            metric = f"peak_rss_mib_{n}f_720p"
            out.append({"recipe": args.recipe, "seed": None, "task": "speed", "metric": metric,
                        "results": {"metric": metric, "value": round(mib)}, "held_out": None, "hardware": hardware,
                        "date": date, "source": "benchmarks/vsr_speed.py", "budget": {},
                        "command": [f".venv/bin/python benchmarks/vsr_speed.py RUN --long {args.long}"]})
        with open(args.records, "a") as f:
            for record in out:
                f.write(json.dumps(record) + "\n")
        print(f"\nappended {len(out)} records to {args.records}")
    return 0


def _timed(fn, clip: np.ndarray) -> float:
    start = time.perf_counter()
    fn(clip)
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
