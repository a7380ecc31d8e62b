"""A run's maintenance: exports, sample grids and the run folder.

Called by the engine at ticks and at the end: :func:`export` writes ``model.safetensors`` +
``config.json`` (what inference needs: the model config, not the objective),
:func:`write_samples` a progress grid, :func:`write_final` the final grids and the real vs
generated strip.
"""

from __future__ import annotations

import logging
import shutil
from typing import TYPE_CHECKING, Any

import torch

import vidgen
from vidgen.config import dump_yaml, to_dict
from vidgen.data.base import ClipDataset
from vidgen.errors import VidgenError
from vidgen.family import family_of
from vidgen.io.checkpoint import list_states, save_export
from vidgen.io.grid import frame_strips, make_grid, side_by_side
from vidgen.io.video import write_video
from vidgen.registry import MODELS
from vidgen.train.config import ExperimentConfig

if TYPE_CHECKING:
    from vidgen.train.loop import Trainer

log = logging.getLogger("vidgen.train")


def export_meta(cfg: ExperimentConfig, dataset: ClipDataset, *, step: int, nimg: int) -> dict[str, Any]:
    """``config.json`` of an export: what inference needs (the model config, not the objective)."""
    model_name = MODELS.name_of_config(type(cfg.model))
    return {
        "vidgen_version": vidgen.__version__,
        "family": family_of(model_name).name,
        "model": {"name": model_name, **to_dict(cfg.model)},
        "video": {"frames": cfg.data.frames, "resolution": cfg.data.resolution,
                  "channels": dataset.channels, "fps": cfg.data.fps},
        "class_names": list(dataset.class_names),
        "data": to_dict(cfg)["data"],
        "step": step,
        "kimg": nimg / 1000,
    }


def preview(trainer: "Trainer") -> torch.Tensor:
    """Fixed preview clips from the EMA networks, ready for export."""
    trainer.family.prepare_export(trainer.ema)
    return trainer.family.sample(trainer.ema, trainer.tc.num_samples)


def export(trainer: "Trainer") -> None:
    trainer.family.prepare_export(trainer.ema)
    state = trainer.family.export_state(trainer.ema)
    if not all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()):
        raise VidgenError(f"the model's weights are no longer finite at step {trainer.step}; "
                          f"the last export in {trainer.run_dir} is kept",
                          hint="lower the learning rates (train.lr, train.lr_d) or use train.precision=fp32")
    save_export(trainer.run_dir, state, export_meta(trainer.cfg, trainer.dataset, step=trainer.step, nimg=trainer.nimg))


def write_samples(trainer: "Trainer") -> None:
    grid = make_grid(trainer.preview())
    fps = trainer.cfg.data.fps
    for ext in ("mp4", "gif"):
        write_video(trainer.run_dir / "samples" / f"step-{trainer.step:07d}.{ext}", grid, fps=fps)
    trainer.monitor.video("samples", grid, step=trainer.step, fps=fps)


def write_final(trainer: "Trainer") -> None:
    videos = trainer.preview()
    grid = make_grid(videos)
    fps = trainer.cfg.data.fps
    write_video(trainer.run_dir / "samples.mp4", grid, fps=fps)
    write_video(trainer.run_dir / "samples.gif", grid, fps=fps)
    real = torch.stack([trainer.dataset[i]["video"] for i in range(min(len(trainer.dataset), len(videos)))])
    write_video(trainer.run_dir / "real_vs_generated.mp4", side_by_side(make_grid(real), grid), fps=fps)
    # a still: one row of evenly spaced frames per clip, real clips beside generated ones
    write_video(trainer.run_dir / "real_vs_generated.png",
                side_by_side(frame_strips(real[:6]), frame_strips(videos[:6])))


def prepare_run_dir(trainer: "Trainer", resuming: bool) -> None:
    if not trainer.info.main:
        return
    (trainer.run_dir / "samples").mkdir(parents=True, exist_ok=True)
    if not resuming:
        for old in (trainer.run_dir / "samples").glob("step-*"):  # a new run in the same folder starts clean
            old.unlink()
        (trainer.run_dir / "stats.jsonl").unlink(missing_ok=True)
        if list_states(trainer.run_dir):
            previous = trainer.run_dir / "checkpoints-previous"
            shutil.rmtree(previous, ignore_errors=True)
            (trainer.run_dir / "checkpoints").rename(previous)
            log.warning("%s held training states of an earlier run: moved to %s (use --resume to continue "
                        "a run)", trainer.run_dir, previous)
        shutil.rmtree(trainer.run_dir / "tensorboard", ignore_errors=True)
    (trainer.run_dir / "config.yaml").write_text(dump_yaml(trainer.cfg))
