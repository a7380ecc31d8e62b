"""Run by the DDP test under torchrun: train, then save this rank's networks to OUT/rank<R>.pt.

    python -m torch.distributed.run --nproc_per_node 2 ddp_worker.py OUT key=value ...
"""

import os
import sys

import torch

from vidgen import config as cfgmod
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig


def main() -> None:
    out, overrides = sys.argv[1], sys.argv[2:]
    cfg = cfgmod.load(ExperimentConfig, None, overrides)
    rank = int(os.environ.get("RANK", "0"))

    def dump(trainer):
        if trainer.nimg >= trainer.total_nimg:  # the last tick: every rank writes what it holds
            torch.save({k: v.state_dict() for k, v in trainer.nets.items()}, os.path.join(out, f"rank{rank}.pt"))

    loop.train(cfg, echo=lambda line: None, on_tick=dump)


if __name__ == "__main__":
    main()
