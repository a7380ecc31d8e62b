"""A run's training state: what ``checkpoints/state-<step>.pt`` holds and how a resume reads it.

Every network, EMA copy, optimizer, the scaler, every RNG, the data position and the tick's
statistics, as tensors, numbers, strings, lists and dicts (``torch.load(weights_only=True)``
reads it back). A resume refuses other model or data settings; the objective (losses,
regularisers, schedules) and the engine's settings may change, and a change of the objective
is said.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

import vidgen
from vidgen.config import from_dict, to_dict
from vidgen.errors import VidgenError
from vidgen.train.config import ExperimentConfig

if TYPE_CHECKING:
    from vidgen.train.loop import Trainer

log = logging.getLogger("vidgen.train")
STATE_FORMAT = 1


def _saved_config(saved: dict[str, Any]) -> dict[str, Any]:
    """A training state's config in today's form (older states kept the objective in ``model``)."""
    try:
        return to_dict(from_dict(ExperimentConfig, saved))
    except VidgenError:
        return saved  # compared as written: any difference is then reported by key


def _changed(saved: dict[str, Any], current: dict[str, Any], parts: tuple[str, ...]) -> list[str]:
    """``part.key`` of every setting that differs between two configs, in ``parts``."""
    return [f"{part}.{k}" for part in parts
            for k in sorted(set(saved.get(part) or {}) | set(current.get(part) or {}))
            if (saved.get(part) or {}).get(k) != (current.get(part) or {}).get(k)]


def state_dict(trainer: "Trainer") -> dict[str, Any]:
    """The whole training state (with FSDP a collective: every process calls it; the EMA is gathered)."""
    np_state = np.random.get_state()
    if trainer.fsdp:
        from vidgen.train import sharding

        networks = {k: sharding.model_state(v) for k, v in trainer.nets.items()}
        optimizers = {k: sharding.optimizer_state(trainer.nets[k], v) for k, v in trainer.opts.items()}
    else:
        networks = {k: v.state_dict() for k, v in trainer.nets.items()}
        optimizers = {k: v.state_dict() for k, v in trainer.opts.items()}
    return {
        "format": STATE_FORMAT,
        "vidgen_version": vidgen.__version__,
        "config": to_dict(trainer.cfg),
        "step": trainer.step, "nimg": trainer.nimg, "tick": trainer.tick, "elapsed_s": trainer.elapsed_s,
        "lr_progress": trainer.lr_progress,
        "data": {"epoch": trainer.epoch, "batch_in_epoch": trainer.batch_in_epoch, "global_batch": trainer.global_batch},
        "networks": networks,
        "ema": {k: v.state_dict() for k, v in trainer.ema.items()},
        "optimizers": optimizers,
        "scaler": trainer.scaler.state_dict(),
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                      "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
            "python": random.getstate(),
            "noise": trainer.noise_gen.get_state(),
        },
        "tick_stats": {"sums": trainer.tick_sums, "counts": trainer.tick_counts,
                       "bad_step": trainer.bad_step, "bad_value": trainer.bad_value},
    }


def load_state_dict(trainer: "Trainer", state: dict[str, Any], source: Path) -> None:
    saved = _saved_config(state.get("config", {}))
    current = to_dict(trainer.cfg)
    changed = _changed(saved, current, ("model", "data"))
    if changed:
        raise VidgenError(f"{source} was trained with other model/data settings: {', '.join(changed)}",
                          hint="resume with the run's own config.yaml (or just: vidgen train --resume RUN_DIR)")
    for key in _changed(saved, current, ("objective",)):  # the objective may change; say so
        part, name = key.split(".", 1)
        if trainer.info.main:
            trainer.echo(f"resuming with {key}={current[part].get(name)!r} (the run trained with "
                      f"{saved.get(part, {}).get(name)!r})")
    try:
        for k, ema in trainer.ema.items():
            ema.load_state_dict(state["ema"][k])
        if trainer.fsdp:  # the same full tensors, split over the processes
            from vidgen.train import sharding

            for k, net in trainer.nets.items():
                sharding.load_model_state(net, state["networks"][k])
            for k, opt in trainer.opts.items():
                sharding.load_optimizer_state(trainer.nets[k], opt, state["optimizers"][k])
            for shards in trainer._ema_shards.values():
                shards.scatter()
        else:
            for k, net in trainer.nets.items():
                net.load_state_dict(state["networks"][k])
            for k, opt in trainer.opts.items():
                opt.load_state_dict(state["optimizers"][k])
    except (KeyError, RuntimeError, ValueError) as e:
        raise VidgenError(f"{source} does not fit this model ({str(e).splitlines()[0][:200]})") from None
    trainer.scaler.load_state_dict(state["scaler"])
    trainer.step, trainer.nimg, trainer.tick = state["step"], state["nimg"], state["tick"]
    trainer.elapsed_s = state.get("elapsed_s", 0.0)
    trainer.lr_progress = state.get("lr_progress", 0.0)
    data = state["data"]
    trainer.epoch = data["epoch"]
    trainer.batch_in_epoch = data["batch_in_epoch"]
    if data["global_batch"] != trainer.global_batch:
        log.warning("the global batch changed from %d to %d: the data order differs from an uninterrupted run",
                    data["global_batch"], trainer.global_batch)
        trainer.batch_in_epoch = data["batch_in_epoch"] * data["global_batch"] // trainer.global_batch
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    n = rng["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    random.setstate(rng["python"])
    trainer.noise_gen.set_state(rng["noise"])
    ts = state["tick_stats"]
    to = lambda d: {k: v.to(trainer.device) for k, v in d.items()}  # noqa: E731
    trainer.tick_sums, trainer.tick_counts = to(ts["sums"]), dict(ts["counts"])
    trainer.bad_step, trainer.bad_value = to(ts["bad_step"]), to(ts["bad_value"])
