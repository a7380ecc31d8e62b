"""Quality of the classical post-processing ops on held-out ``photo_pans`` clips, against the clean clips.

    .venv/bin/python benchmarks/post_quality.py [--clips 12] [--frames 16] [--resolution 64] [--seeds 1 2 3]

Clips: the ``test`` split of ``photo_pans`` (source images no op was ever tuned on: chelsea,
gravel, retina), ``--clips`` per seed, each seed drawing other clips and other noise. Per
task, the degraded input and the ops that undo it, scored against the clean clip (frames in
[0, 1]; PSNR and SSIM per frame as ``vidgen.metrics.frame`` computes them, averaged):

- denoising: Gaussian noise of sigma 10, 30, 50 (0-255 scale); ``denoise`` (multi-frame NLM,
  strength estimated from the noise);
- interpolation: every other frame dropped and recovered: frame repeat, linear blend,
  ``interpolate:x2`` (DIS warping); scored on the recovered frames only;
- deflicker: a per-frame gain on each channel, uniform in [0.85, 1.15]; ``deflicker``; also
  the warping error with the exact flow (``docs/metrics.md``);
- sharpen: what ``sharpen`` (amount 0.6) does to the warping error of a clean clip.

Prints one markdown table: mean and, over the seeds, (min-max).
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch

from vidgen.convert import to_uint8, uint8_to_float
from vidgen.data import build_dataset
from vidgen.data.photo_pans import PhotoPansConfig
from vidgen.metrics.frame import psnr_per_frame, ssim_per_frame
from vidgen.metrics.temporal import warping_error
from vidgen.post import post_process


def _float(frames: np.ndarray) -> torch.Tensor:
    return uint8_to_float(torch.from_numpy(frames))[None]  # [1, T, C, H, W]


def scores(out: np.ndarray, clean: np.ndarray) -> tuple[float, float]:
    a, b = _float(out), _float(clean)
    return float(psnr_per_frame(a, b).mean()), float(ssim_per_frame(a, b).mean())


def run_seed(seed: int, clips: int, frames: int, resolution: int) -> dict[str, list[float]]:
    ds = build_dataset(PhotoPansConfig(frames=frames, resolution=resolution, num_clips=clips, seed=seed,
                                       split="test"))
    rng = np.random.default_rng(seed)
    rows: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        rows.setdefault(key, []).append(value)

    for i in range(clips):
        clean = to_uint8(ds[i]["video"])  # [T, H, W, 3]
        flow, valid = ds.flow(i)
        for sigma in (10, 30, 50):
            noisy = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).astype(np.uint8)
            for name, out in (("noisy input", noisy), ("denoise (NLM-multi)", post_process(noisy, "denoise"))):
                p, s = scores(out, clean)
                add(f"denoise sigma {sigma} | {name} | PSNR", p)
                add(f"denoise sigma {sigma} | {name} | SSIM", s)
        kept = clean[::2]
        truth = clean[1:len(kept) * 2 - 1:2]  # the dropped frames between kept ones
        repeat = kept[:-1]
        blend = ((kept[:-1].astype(np.float32) + kept[1:]) / 2 + 0.5).astype(np.uint8)
        warped = post_process(kept, "interpolate:x2")[1::2]
        for name, out in (("frame repeat", repeat), ("linear blend", blend), ("interpolate (DIS warping)", warped)):
            p, s = scores(out, truth)
            add(f"interpolation x2 | {name} | PSNR", p)
            add(f"interpolation x2 | {name} | SSIM", s)
        gains = rng.uniform(0.85, 1.15, (len(clean), 1, 1, 3))
        flicker = np.clip(clean * gains, 0, 255).astype(np.uint8)
        for name, out in (("clean", clean), ("flickering input", flicker),
                          ("deflicker", post_process(flicker, "deflicker"))):
            add(f"deflicker | {name} | E_warp (exact flow)", warping_error(out, flows=flow, valid=valid))
            if name != "clean":
                add(f"deflicker | {name} | PSNR", scores(out, clean)[0])
        add("sharpen | clean | E_warp (exact flow)", warping_error(clean, flows=flow, valid=valid))
        add("sharpen | sharpen (amount 0.6) | E_warp (exact flow)",
            warping_error(post_process(clean, "sharpen"), flows=flow, valid=valid))
    return {k: [statistics.fmean(v)] for k, v in rows.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=12)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = p.parse_args()
    per_seed = [run_seed(s, args.clips, args.frames, args.resolution) for s in args.seeds]
    print(f"photo_pans test split (chelsea, gravel, retina), {args.clips} clips x {len(args.seeds)} seeds "
          f"({', '.join(map(str, args.seeds))}), {args.frames} frames of {args.resolution}x{args.resolution}\n")
    print("| task | input / op | metric | mean (min-max over seeds) |\n|---|---|---|---:|")
    for key in per_seed[0]:
        values = [seed[key][0] for seed in per_seed]
        task, name, metric = key.split(" | ")
        fmt = "{:.5f}" if "E_warp" in metric else ("{:.4f}" if metric == "SSIM" else "{:.2f}")
        print(f"| {task} | {name} | {metric} | {fmt.format(statistics.fmean(values))} "
              f"({fmt.format(min(values))}-{fmt.format(max(values))}) |")


if __name__ == "__main__":
    main()
