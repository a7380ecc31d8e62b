"""Schedules of a run: the data order (global batches, resumable mid-epoch) and the learning rate."""

from __future__ import annotations

import math
import random
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class GlobalBatchSampler(Sampler[int]):
    """This process's clip indices for one epoch, from global batch ``start`` on.

    An epoch is a seeded permutation cut into global batches of
    ``batch_size x world x accumulate`` clips (the remainder is dropped); within a global
    batch, micro-batch ``m`` of rank ``r`` is the slice ``(m * world + r) * batch_size``.
    The split into processes and micro-batches therefore never changes which clips form a
    step, and ``start`` lets a resumed run continue mid-epoch.
    """

    def __init__(self, *, size: int, batch_size: int, accumulate: int, rank: int, world: int, seed: int,
                 epoch: int, start: int = 0):
        self.size, self.batch_size, self.accumulate = size, batch_size, accumulate
        self.rank, self.world, self.seed, self.epoch, self.start = rank, world, seed, epoch, start
        self.global_batch = batch_size * world * accumulate
        self.batches = size // self.global_batch

    def __iter__(self) -> Iterator[int]:
        gen = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % 2**63)
        perm = torch.randperm(self.size, generator=gen).tolist()
        for k in range(self.start, self.batches):
            for m in range(self.accumulate):
                offset = k * self.global_batch + (m * self.world + self.rank) * self.batch_size
                yield from perm[offset:offset + self.batch_size]

    def __len__(self) -> int:
        return max(0, self.batches - self.start) * self.accumulate * self.batch_size


def schedule_progress(nimg: int, *, total_nimg: int, warmup_nimg: float, time_progress: float = 0.0) -> float:
    """How far the decay after the warm-up has gone, in [0, 1]: by clips, or by time if further."""
    if nimg < warmup_nimg:
        return 0.0
    return min(1.0, max((nimg - warmup_nimg) / max(1.0, total_nimg - warmup_nimg), time_progress))


def lr_factor(nimg: int, *, total_nimg: int, warmup_nimg: float, schedule: str, min_ratio: float,
              time_progress: float = 0.0) -> float:
    """Learning-rate multiplier after ``nimg`` clips: linear warm-up, then constant or cosine.

    ``time_progress`` (the fraction of a time budget used) ends the cosine early when it runs
    ahead of the clips seen.
    """
    if nimg < warmup_nimg:
        return (nimg + 1) / warmup_nimg
    if schedule == "cosine":
        progress = schedule_progress(nimg, total_nimg=total_nimg, warmup_nimg=warmup_nimg, time_progress=time_progress)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return 1.0
