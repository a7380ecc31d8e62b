"""Fully sharded data parallel (PyTorch's FSDP2, ``fully_shard``): ``train.parallel=fsdp``.

Under torchrun, DDP keeps a whole copy of every parameter, gradient and Adam moment on each
process; FSDP2 splits them along their first dimension over the processes, gathers each unit's
parameters just before its forward and backward, and reduce-scatters the gradients, so a
model whose weights and optimizer state outgrow one device still trains. The losses are the
same as DDP's (gradients are averaged over the processes the same way), at the cost of one
more all-gather of the weights per step.

Units: every element of the model's top-level ``ModuleList`` s (a U-Net's levels and
resampling layers), plus the whole model for what is left.

What stays whole on every process: buffers, and one copy of the EMA network, which sampling,
metrics and exports use. The EMA is *averaged* on the shards (no communication per step) and
gathered into that copy at each tick (:meth:`ShardedEma.gather`).

Checkpoints hold full tensors in the same layout as a DDP or single-process run (the
optimizer's state keyed by parameter index), so a run resumes with either.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     get_optimizer_state_dict, set_model_state_dict,
                                                     set_optimizer_state_dict)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor

from vidgen.train.dist import DistInfo

_FULL = StateDictOptions(full_state_dict=True)


def units(net: nn.Module) -> list[nn.Module]:
    """The blocks sharded (gathered and freed) one at a time."""
    return [block for child in net.children() if isinstance(child, nn.ModuleList) for block in child]


def shard(net: nn.Module, info: DistInfo) -> nn.Module:
    """Apply ``fully_shard`` to ``net``'s units and to ``net`` itself, in place."""
    mesh = init_device_mesh(info.device.type, (info.world,))
    for block in units(net):
        fully_shard(block, mesh=mesh)
    fully_shard(net, mesh=mesh)
    return net


def local(t: torch.Tensor) -> torch.Tensor:
    """This process's shard of a sharded tensor (the tensor itself otherwise)."""
    return t.to_local() if isinstance(t, DTensor) else t


def model_state(net: nn.Module) -> dict[str, torch.Tensor]:
    """The full state dict (a collective), as ``net.state_dict()`` of an unsharded model."""
    return {k: v.cpu() for k, v in get_model_state_dict(net, options=_FULL).items()}


def load_model_state(net: nn.Module, state: dict[str, torch.Tensor]) -> None:
    set_model_state_dict(net, state, options=_FULL)


def optimizer_state(net: nn.Module, opt: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimizer's full state (a collective) in ``opt.state_dict()``'s own layout: parameters by index."""
    named = get_optimizer_state_dict(net, opt, options=_FULL)
    index: dict[str, int] = {}
    groups = []
    for group in named["param_groups"]:
        ids = []
        for name in group["params"]:
            index[name] = len(index)
            ids.append(index[name])
        groups.append({**group, "params": ids})
    state = {index[name]: {k: v.cpu() if torch.is_tensor(v) else v for k, v in s.items()}
             for name, s in named["state"].items()}
    return {"state": state, "param_groups": groups}


def load_optimizer_state(net: nn.Module, opt: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """Load a state in ``opt.state_dict()``'s layout (from any run) into a sharded model's optimizer."""
    names = [name for name, _ in net.named_parameters()]
    n_saved = sum(len(g["params"]) for g in saved["param_groups"])
    if n_saved != len(names):
        raise ValueError(f"the saved optimizer has {n_saved} parameters, this model {len(names)}")
    groups = [{**g, "params": [names[i] for i in g["params"]]} for g in saved["param_groups"]]
    state = {names[int(i)]: s for i, s in saved["state"].items()}
    set_optimizer_state_dict(net, opt, {"state": state, "param_groups": groups}, options=_FULL)


class ShardedEma:
    """The EMA of a sharded network, kept on the shards and gathered into a whole copy on demand."""

    def __init__(self, live: nn.Module, whole: nn.Module):
        self.live, self.whole = live, whole
        self.shards = [local(p).detach().clone() for p in live.parameters()]

    @torch.no_grad()
    def lerp(self, weight: float) -> None:
        """Move the averaged shards towards the live ones (buffers are whole: the engine copies them)."""
        torch._foreach_lerp_(self.shards, [local(p).detach() for p in self.live.parameters()], weight)

    @torch.no_grad()
    def gather(self) -> None:
        """Write the averaged shards into the whole copy (a collective)."""
        for target, shard, p in zip(self.whole.parameters(), self.shards, self.live.parameters()):
            if isinstance(p, DTensor):
                shard = DTensor.from_local(shard, p.device_mesh, p.placements, shape=p.shape,
                                           stride=p.stride()).full_tensor()
            target.copy_(shard)

    @torch.no_grad()
    def scatter(self) -> None:
        """Take the shards from the whole copy (after it was loaded from a checkpoint; a collective)."""
        for shard, source, p in zip(self.shards, self.whole.parameters(), self.live.parameters()):
            if isinstance(p, DTensor):
                source = distribute_tensor(source.detach().to(shard.device), p.device_mesh, p.placements).to_local()
            shard.copy_(source)
