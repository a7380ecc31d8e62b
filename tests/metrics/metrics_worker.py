"""Run under torchrun by test_generative.py: score a toy sampler in N processes, rank 0 writes the records."""

from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist

from vidgen.metrics import fvd
from vidgen.metrics.generative import score_sampler


class Moments(fvd.Detector):
    name = "moments"

    def features(self, videos: torch.Tensor) -> torch.Tensor:
        x = videos.float()
        return torch.cat([x.mean((1, 3, 4)), x.std((1, 3, 4))], 1)


def clip(seed: int) -> torch.Tensor:
    return torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def main() -> None:
    out = sys.argv[1]
    if "RANK" in __import__("os").environ:
        dist.init_process_group("gloo")
    real = [{"video": clip(1000 + i)} for i in range(21)]

    def sample(seed: int, n: int, frames: int | None) -> torch.Tensor:
        return torch.stack([clip(seed + i) * 0.8 for i in range(n)])

    records = {name: score_sampler(sample, name, real=real, detector=Moments(), progress=False, batch_size=4)
               for name in ("fvd21_4f", "kvd21_4f")}
    if not dist.is_initialized() or dist.get_rank() == 0:
        with open(out, "w") as f:
            json.dump(records, f)
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
