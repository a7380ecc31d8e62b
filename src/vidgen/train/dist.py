"""Distribution, applied from outside the model: one process, or one per device under torchrun.

``torchrun --nproc_per_node N -m vidgen train ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and the rendezvous address; :func:`setup` reads them, joins the process
group (NCCL between GPUs, gloo on CPUs) and picks this process's device. Without them
the same code runs as a single process.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from vidgen.errors import VidgenError
from vidgen.utils.hw import resolve_device


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0 logs and saves."""
        return self.rank == 0


def setup(device_name: str) -> DistInfo:
    """Join the process group when launched by torchrun; return this process's rank and device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(device=resolve_device(device_name))
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name != "cpu" and torch.cuda.is_available()
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise VidgenError(f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} visible)",
                              hint="start at most one process per GPU: torchrun --nproc_per_node <GPUs>")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=datetime.timedelta(minutes=30))
    return DistInfo(rank=rank, world=world, local_rank=local_rank, device=device)


def teardown(info: DistInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


def any_true(info: DistInfo, flag: bool) -> bool:
    """True on every rank when ``flag`` is true on any (a collective: all ranks must call it)."""
    if not info.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def max_value(info: DistInfo, value: float) -> float:
    """The largest of ``value`` over ranks, on every rank (a collective: all ranks must call it)."""
    if not info.distributed:
        return value
    t = torch.tensor([float(value)], dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def average_gradients(info: DistInfo, params: list[torch.nn.Parameter]) -> None:
    """Average ``.grad`` over ranks in one flat all-reduce (for phases that bypass DDP).

    Parameters without a gradient keep none (as on one process, where the optimizer then
    leaves them alone); every rank runs the same graph, so the set is the same on all.
    """
    if not info.distributed:
        return
    with_grad = [p for p in params if p.grad is not None]
    if not with_grad:
        return
    flat = torch.cat([p.grad.flatten() for p in with_grad])
    dist.all_reduce(flat)
    flat /= info.world
    offset = 0
    for p in with_grad:
        n = p.grad.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
        offset += n


def reduce_mean(info: DistInfo, values: torch.Tensor) -> torch.Tensor:
    """Mean of a tensor over ranks (for logged statistics)."""
    if not info.distributed:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / info.world
