"""How close an upscaler's optical flow comes to the exact motion, on held-out photo_pans clips.

    .venv/bin/python benchmarks/vsr_flow.py [RUN ...] [--clips 12 --frames 20 --resolution 128 --data-seed 1]

The test clips are those of ``benchmarks/vsr_quality.py`` (the test split, BI x4). For each
frame pair the forward flow of the low-resolution input (frame ``t`` brought onto frame
``t + 1``) is compared with the exact one (``photo_pans`` with ``with_flow``, each 4x4 block's
mean over 4: the flow at the input pixel's centre): the mean end-point error in input pixels.
Rows: no flow (zeros: the exact flow's mean length), OpenCV's Farneback and DIS (``model.flow=dis``)
flows, and the flow each RUN aligns with (its learned pyramid, or DIS). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

import vidgen
from vidgen.convert import to_uint8
from vidgen.data import build_dataset
from vidgen.data.photo_pans import PhotoPansConfig
from vidgen.models.vsr.basicvsr import dis_flows, downscale_flow

sys.path.insert(0, str(Path(__file__).parent))
from vsr_quality import low_res  # noqa: E402


def farneback(video: torch.Tensor) -> torch.Tensor:
    """Forward flows ``[T - 1, 2, h, w]`` of ``video [1, T, 3, h, w]`` by OpenCV's Farneback."""
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in to_uint8(video[0])]
    flows = [cv2.calcOpticalFlowFarneback(gray[t + 1], gray[t], None, 0.5, 2, 7, 5, 5, 1.1, 0)
             for t in range(len(gray) - 1)]
    return torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="*")
    p.add_argument("--clips", type=int, default=12)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--resolution", type=int, default=128)
    p.add_argument("--data-seed", type=int, default=1)
    args = p.parse_args()

    ds = build_dataset(PhotoPansConfig(split="test", frames=args.frames, resolution=args.resolution,
                                       num_clips=args.clips, seed=args.data_seed, with_flow=True))
    estimators = {"no flow": lambda v: torch.zeros(v.shape[1] - 1, 2, *v.shape[-2:]),
                  "OpenCV Farneback": farneback,
                  "OpenCV DIS (model.flow=dis)": lambda v: dis_flows(v)[1][0]}
    for run in args.runs:
        model = vidgen.load(run).model.eval()
        estimators[f"{run} ({model.config.flow})"] = lambda v, m=model: m.flows(v)[1][0]
    errors: dict[str, list[float]] = {name: [] for name in estimators}
    for i in range(args.clips):
        item = ds[i]
        video = torch.from_numpy(low_res(to_uint8(item["video"]))).permute(0, 3, 1, 2).float()[None] / 127.5 - 1
        exact = downscale_flow(item["flow"], 4)
        with torch.no_grad():
            for name, estimate in estimators.items():
                errors[name].append(float((estimate(video).float() - exact).norm(dim=1).mean()))
    print(f"\nForward-flow end-point error (input pixels), {args.clips} held-out clips of {args.frames} frames of "
          f"{args.resolution // 4}x{args.resolution // 4} (BI x4 of {args.resolution}, data seed {args.data_seed})\n")
    print("| flow | end-point error |")
    print("|---|---:|")
    for name, values in errors.items():
        print(f"| {name} | {np.mean(values):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
