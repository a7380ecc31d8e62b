"""How learnable is one step of Moving MNIST motion? A non-recurrent probe for the predictors.

    .venv/bin/python benchmarks/one_step_motion.py --mnist ../shared/data/mnist [--output filter] [--minutes 5]

Three 3x3 convolutions (64 channels) read the patches (4x4) of two consecutive frames and
their local correlation (``vidgen.nn.recurrent.FrameCorrelation``, radius 4, stride 2) and
drive a predictor readout (``FrameHead``: filter, warp or linear) that makes the next frame.
Trained on single steps only (batches of 32 frame pairs from 8 training clips, Adam 2e-3),
it prints the one-step MSE per frame on 64 test clips (digits 8000-9999, another seed) as
it trains, next to copying the previous frame. It bounds what a recurrent predictor's
rollout can reach: every free-running step starts from an error at least this large.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from vidgen.data.digits import MovingDigitsConfig, MovingDigitsDataset
from vidgen.metrics.frame import mse_per_frame
from vidgen.nn.recurrent import FrameCorrelation, FrameHead, patchify, unpatchify


def clips(dataset: MovingDigitsDataset, start: int, count: int) -> torch.Tensor:
    return torch.stack([torch.as_tensor(dataset[i]["video"]) for i in range(start, start + count)])


def one_step_mse(pred: torch.Tensor, true: torch.Tensor) -> float:
    """MSE per frame (summed over the pixels of [0, 1] frames, docs/metrics.md) of ``[N, C, H, W]`` frames."""
    return mse_per_frame(pred[:, None], true[:, None]).mean().item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", required=True, help="folder with the MNIST idx files")
    p.add_argument("--output", default="filter", choices=["filter", "warp", "linear"])
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = dict(resolution=64, frames=20, mnist_path=args.mnist)
    train = MovingDigitsDataset(MovingDigitsConfig(num_clips=1_000_000, digit_range=(0, 8000), **data))
    test = clips(MovingDigitsDataset(MovingDigitsConfig(num_clips=64, digit_range=(8000, 10000), seed=1, **data)),
                 0, 64)
    p4 = 4
    corr = FrameCorrelation(1, p4, radius=4, stride=2)
    net = nn.Sequential(nn.Conv2d(2 * p4 * p4 + corr.out_channels, 64, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 32, 3, padding=1), nn.ReLU())
    head = FrameHead(32, 1, p4, args.output, 9)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=2e-3)

    def step(before: torch.Tensor, now: torch.Tensor) -> torch.Tensor:
        a, b = patchify(before, p4), patchify(now, p4)
        return unpatchify(head(net(torch.cat([a, b, corr(a, b)], 1)), b), p4)

    def evaluate() -> float:
        with torch.no_grad():
            return one_step_mse(step(test[:, 8], test[:, 9]), test[:, 10])

    print(f"copy the previous frame: one-step MSE {one_step_mse(test[:, 9], test[:, 10]):.1f} per frame")
    print("| step | seconds | train loss | one-step MSE / frame |\n|---:|---:|---:|---:|")
    start, n = time.time(), 0
    while time.time() - start < args.minutes * 60:
        video = clips(train, n * 8, 8)  # [8, 20, 1, 64, 64]: 8 x 18 frame triples, 32 of them per step
        pick = torch.randperm(8 * 18)[:32]
        before, now, nxt = (video[:, i:i + 18].flatten(0, 1)[pick] for i in range(3))
        loss = ((step(before, now) - nxt) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        n += 1
        if n % 100 == 0:
            print(f"| {n} | {time.time() - start:.0f} | {loss.item():.4f} | {evaluate():.1f} |", flush=True)
    print(f"final one-step MSE per frame after {n} steps: {evaluate():.1f}")


if __name__ == "__main__":
    main()
