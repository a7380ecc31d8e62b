"""Does each generated clip keep one object of one colour and size? A table, beside the real clips.

    .venv/bin/python benchmarks/gan_consistency.py RUN_DIR [RUN_DIR ...] [--num 256] [--threshold 0.25]

For datasets of coloured objects on a black background (``shapes``, ``bouncing_balls``),
where the Fréchet distance and the eye often disagree, it measures what the eye checks. Per
frame, the foreground is the pixels whose brightest channel exceeds ``--threshold`` (in
``[0, 1]``); then, over ``--num`` clips of each run (seeds 0..num-1) and as many real clips
of the run's data config with ``data.seed=1``:

- ``colour drift``: the distance in RGB (``[0, 1]`` per channel) between the mean foreground
  colour of the last frame and of the first, averaged over clips (real clips: ~0);
- ``size kept``: the smallest foreground area of a clip over its largest (1: the object
  neither fades nor grows; 0: it vanishes), averaged over clips;
- ``one object``: the fraction of frames whose foreground is one connected region (of at
  least 4 pixels), the others being empty or split;
- for ``mocogan`` runs, ``z_m spread first/last``: the spread of the GRU's motion codes over
  clips at the first frame over that at the last (1: stationary codes; far from 1: the code
  tells the frame index, a clock the image generator can read).
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch

import vidgen
from vidgen.metrics.runs import build_test_set
from vidgen.utils.hw import keep_freed_memory


def clip_stats(video: torch.Tensor, threshold: float) -> dict[str, float]:
    """``video [N, T, C, H, W]`` in ``[-1, 1]`` -> the three consistency figures (module docstring)."""
    x = ((video.float().clamp(-1, 1) + 1) / 2).numpy()  # [N, T, C, H, W] in [0, 1]
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    fg = x.max(axis=2) > threshold  # [N, T, H, W]
    area = fg.sum(axis=(2, 3)).astype(np.float64)  # [N, T]
    colour = (x * fg[:, :, None]).sum(axis=(3, 4)) / np.maximum(area, 1)[:, :, None]  # [N, T, 3]
    both = (area[:, 0] > 0) & (area[:, -1] > 0)
    drift = np.linalg.norm(colour[:, -1] - colour[:, 0], axis=1)[both]
    size = area.min(axis=1) / np.maximum(area.max(axis=1), 1)
    one = 0
    for mask in fg.reshape(-1, *fg.shape[2:]):
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        one += int((stats[1:, cv2.CC_STAT_AREA] >= 4).sum() == 1)
    return {"drift": float(drift.mean()) if both.any() else float("nan"), "size": float(size.mean()),
            "one": one / fg.shape[0] / fg.shape[1]}


def motion_spread(gen, num: int) -> float | None:
    """First-frame over last-frame spread of a mocogan generator's motion codes (None for other models)."""
    if gen.meta["model"]["name"] != "mocogan":
        return None
    g = gen.model.generator
    with torch.no_grad():
        z_m = g.motion_codes(gen.model.latents(list(range(num))), g.frames)
    spread = z_m.std(0).mean(1)
    return float(spread[0] / spread[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--num", type=int, default=256, help="clips per run (default 256)")
    p.add_argument("--threshold", type=float, default=0.25, help="foreground: brightest channel above this")
    args = p.parse_args()
    keep_freed_memory()  # sampling batch after batch, as vidgen sample does
    rows, real_done = [], False
    for run in args.runs:
        gen = vidgen.load(run)
        if not real_done:
            dataset, _ = build_test_set(gen.meta, ["data.seed=1"], frames=gen.meta["data"]["frames"], where=run)
            real = torch.stack([dataset[i]["video"] for i in range(min(args.num, len(dataset)))])
            rows.append(("real clips (data.seed=1)", clip_stats(real, args.threshold), None))
            real_done = True
        video = gen.sample(args.num, seed=0)
        rows.append((run, clip_stats(video, args.threshold), motion_spread(gen, args.num)))
    print("| run | colour drift (first -> last frame) | size kept (min/max area) | one object (frames) | z_m spread first/last |")
    print("|---|---:|---:|---:|---:|")
    for name, s, spread in rows:
        print(f"| {name} | {s['drift']:.3f} | {s['size']:.2f} | {s['one']:.2f} | "
              f"{'-' if spread is None else f'{spread:.2f}'} |")


if __name__ == "__main__":
    main()
