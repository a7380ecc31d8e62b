"""The training loop: data -> family step -> logs, sample grids, exports.

Progress is counted in clips seen (kimg). Every ``snapshot_every`` steps the loop writes a
sample grid and an inference export, so an interrupted run always leaves a usable model;
at the end it writes ``samples.mp4``, ``samples.gif`` and ``real_vs_generated.mp4``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

import vidgen
from vidgen.config import dump_yaml, to_dict
from vidgen.data import build_dataset
from vidgen.data.base import ClipDataset
from vidgen.errors import VidgenError
from vidgen.io.checkpoint import save_export
from vidgen.io.grid import frame_strips, make_grid, side_by_side
from vidgen.io.video import write_video
from vidgen.models import build_model
from vidgen.models.gan.sampling import generate
from vidgen.registry import MODELS
from vidgen.train.config import ExperimentConfig
from vidgen.train.gan import GANTrainer
from vidgen.utils.hw import resolve_device, resolve_precision

log = logging.getLogger("vidgen.train")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def infinite_batches(dataset: ClipDataset, cfg: ExperimentConfig) -> Iterator[dict[str, Any]]:
    """Endless shuffled batches; each epoch reshuffles and re-draws augmentations."""
    if len(dataset) < cfg.train.batch_size:
        raise VidgenError(
            f"the dataset has {len(dataset)} clips, fewer than train.batch_size={cfg.train.batch_size}",
            hint="lower train.batch_size or add clips (data.clips_per_video for folders)",
        )
    gen = torch.Generator().manual_seed(cfg.seed)
    epoch = 0
    while True:
        dataset.set_epoch(epoch)
        loader = DataLoader(
            dataset,
            batch_size=cfg.train.batch_size,
            sampler=RandomSampler(dataset, generator=gen),
            drop_last=True,
            num_workers=cfg.train.num_workers,
            pin_memory=torch.cuda.is_available(),
        )
        yield from loader
        epoch += 1


def export_meta(cfg: ExperimentConfig, dataset: ClipDataset, *, step: int, nimg: int) -> dict[str, Any]:
    model_name = MODELS.name_of_config(type(cfg.model))
    return {
        "vidgen_version": vidgen.__version__,
        "family": MODELS.get(model_name).meta.get("family"),
        "model": {"name": model_name, **to_dict(cfg.model)},
        "video": {
            "frames": cfg.data.frames,
            "resolution": cfg.data.resolution,
            "channels": dataset.channels,
            "fps": cfg.data.fps,
        },
        "class_names": list(dataset.class_names),
        "data": to_dict(cfg)["data"],
        "step": step,
        "kimg": nimg / 1000,
    }


def _echo(line: str) -> None:
    print(line, flush=True)  # flushed: logs piped to a file or `tee` show up as they happen


def train(cfg: ExperimentConfig, *, echo: Callable[[str], None] = _echo) -> Path:
    """Train the model described by ``cfg``; returns the run folder with the export in it."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise VidgenError(
            "this training loop runs in one process; under torchrun every rank would train alone",
            hint="run 'vidgen train ...' without torchrun",
        )
    run_dir = Path(cfg.run_dir)
    (run_dir / "samples").mkdir(parents=True, exist_ok=True)
    for old in (run_dir / "samples").glob("step-*.gif"):  # a new run in the same folder starts clean
        old.unlink()
    (run_dir / "config.yaml").write_text(dump_yaml(cfg))
    seed_everything(cfg.seed)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    dtype = resolve_precision(cfg.train.precision, device)

    dataset = build_dataset(cfg.data)
    model = build_model(
        cfg.model,
        frames=cfg.data.frames,
        resolution=cfg.data.resolution,
        channels=dataset.channels,
        num_classes=dataset.num_classes,
    ).to(device)
    trainer = GANTrainer(model=model, cfg=cfg.train, device=device, dtype=dtype)
    n_params = sum(p.numel() for p in model.parameters())
    echo(
        f"training {MODELS.name_of_config(type(cfg.model))} ({n_params / 1e6:.2f}M parameters) on "
        f"{len(dataset)} clips of {cfg.data.frames}x{dataset.channels}x{cfg.data.resolution}x{cfg.data.resolution} "
        f"| device {device}, {str(dtype).replace('torch.', '')} | run folder {run_dir}"
    )

    seeds = list(range(cfg.train.num_samples))
    latents = model.latents(seeds)
    batches = infinite_batches(dataset, cfg)
    budget_s = cfg.train.minutes * 60 if cfg.train.minutes is not None else math.inf
    total = int(cfg.train.kimg * 1000)
    start = last_log = time.perf_counter()
    step = nimg = last_nimg = 0

    def snapshot(final: bool = False) -> None:
        trainer.recalibrate_ema()
        if not all(torch.isfinite(t).all() for t in trainer.G_ema.state_dict().values() if t.is_floating_point()):
            raise VidgenError(f"the generator's weights are no longer finite at step {step}; "
                              f"the last export in {run_dir} is kept",
                              hint="lower the learning rates (train.lr_g, train.lr_d) or use train.precision=fp32")
        save_export(run_dir, {f"generator.{k}": v for k, v in trainer.G_ema.state_dict().items()},
                    export_meta(cfg, dataset, step=step, nimg=nimg))
        videos = generate(trainer.G_ema, latents)
        if not final:
            write_video(run_dir / "samples" / f"step-{step:07d}.gif", make_grid(videos), fps=cfg.data.fps)
            return
        grid = make_grid(videos)
        write_video(run_dir / "samples.mp4", grid, fps=cfg.data.fps)
        write_video(run_dir / "samples.gif", grid, fps=cfg.data.fps)
        real = torch.stack([dataset[i]["video"] for i in range(min(len(dataset), len(seeds)))])
        write_video(run_dir / "real_vs_generated.mp4", side_by_side(make_grid(real), grid), fps=cfg.data.fps)
        # a still: one row of evenly spaced frames per clip, real clips beside generated ones
        write_video(run_dir / "real_vs_generated.png", side_by_side(frame_strips(real[:6]), frame_strips(videos[:6])))

    interrupted = False
    stats_file = open(run_dir / "log.jsonl", "w")
    try:
        while nimg < total and time.perf_counter() - start < budget_s:
            real = next(batches)["video"].to(device, non_blocking=True)
            losses = trainer.step(real, nimg)
            step += 1
            nimg += real.shape[0]
            if step % cfg.train.log_every == 0:
                now = time.perf_counter()
                values = {k: float(v) for k, v in losses.items()}  # the only device sync of the step
                bad = [k for k, v in values.items() if not math.isfinite(v)]
                if bad:
                    raise VidgenError(
                        f"{bad[0]} became {values[bad[0]]} at step {step}; the last export in {run_dir} is kept",
                        hint="lower the learning rates (train.lr_g, train.lr_d) or use train.precision=fp32",
                    )
                record = {
                    "step": step, "kimg": round(nimg / 1000, 3), "seconds": round(now - start, 2),
                    "clips_per_s": round((nimg - last_nimg) / (now - last_log), 2), **values,
                }
                stats_file.write(json.dumps(record) + "\n")
                stats_file.flush()
                echo(" ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
                last_log, last_nimg = now, nimg
            if step % cfg.train.snapshot_every == 0:
                snapshot()
    except KeyboardInterrupt:
        interrupted = True
        echo(f"interrupted at step {step}: exporting what was trained")
    finally:
        stats_file.close()
    snapshot(final=True)
    elapsed = time.perf_counter() - start
    echo(f"done: {step} steps, {nimg / 1000:.2f} kimg in {elapsed / 60:.1f} min"
         + (" (interrupted)" if interrupted else ""))
    return run_dir
