"""The super-resolution figures of ``docs/vsr.md``, from a trained upscaler.

    python benchmarks/vsr_figures.py RUN [--generator shapes-cond64] [--out docs]

- ``vsr_generated.png`` / ``.mp4``: a clip of the 64x64 generator (a shipped name or a run) upscaled
  to 256x256 by the upscaler, beside its bicubic upscale (OpenCV's);
- ``vsr_photo.png``: a held-out ``photo_pans`` clip (test split, data seed 1, 256x256): rows of the
  BI x4 low-resolution input (nearest-neighbour enlarged), MATLAB bicubic, the upscaler, and the
  ground truth, with each row's Y-PSNR in the caption printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

import vidgen
from vidgen.convert import to_uint8
from vidgen.io import frame_strips, side_by_side, write_video
from vidgen.metrics.sr import clip_scores

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vsr_quality import bicubic, low_res, test_clips  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("--generator", default="shapes-cond64")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--out", default="docs")
    args = p.parse_args(argv)
    out = Path(args.out)
    model = vidgen.load(args.run)

    gen = vidgen.load(args.generator)
    clip = to_uint8(gen.sample(1, seed=args.seed)[0])  # [T, 64, 64, 3]
    ours = model.upscale(clip)
    h, w = ours.shape[1:3]
    base = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in clip])
    grid = side_by_side(base, ours, titles=("bicubic x4", f"{model.name} x4"))
    write_video(out / "vsr_generated.mp4", grid, fps=8)
    write_video(out / "vsr_generated.png", side_by_side(frame_strips([base], num_frames=4),
                                                        frame_strips([ours], num_frames=4),
                                                        titles=("bicubic x4", f"{model.name} x4")))

    hr = test_clips(1, 12, 256, 1)[0]
    lr = low_res(hr)
    rows = {"input (BI x4, enlarged)": np.stack([cv2.resize(f, (256, 256), interpolation=cv2.INTER_NEAREST)
                                                 for f in lr]),
            "bicubic": bicubic(lr), model.name: model.upscale(lr), "ground truth": hr}
    write_video(out / "vsr_photo.png", frame_strips(list(rows.values()), num_frames=4))
    for label, frames in rows.items():
        if label != "ground truth" and not label.startswith("input"):
            s = clip_scores(frames, hr)
            print(f"{label}: Y-PSNR {s['psnr_y']:.2f} dB, SSIM-Y {s['ssim_y']:.4f}, tOF {s['tof']:.3f}")
    print(f"rows of vsr_photo.png: {', '.join(rows)}")
    print(f"wrote {out / 'vsr_generated.mp4'}, {out / 'vsr_generated.png'}, {out / 'vsr_photo.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
