"""Where latent diffusion pays off: pixel against latent diffusion, training and sampling cost by resolution.

    .venv/bin/python benchmarks/latent_speed.py [--resolutions 32,64,128] [--steps 3] [--warmup 1]
        [--autoencoder shapes-frame-vae] [--sample-clips 2] [--sampling-steps 18]

For each resolution, the pixel recipe (``configs/video_unet_shapes.yaml``) and the latent recipe
(``configs/latent_video_unet_shapes.yaml``, over the autoencoder's ``f``-times smaller latents)
are built by the training engine at that ``data.resolution``, with the recipes' batch size and
the engine's precision; one training step is timed as ``benchmarks/train_throughput.py`` times
it (the latent step includes encoding the batch), then the EMA model samples
``--sample-clips`` clips with ``--sampling-steps`` Heun steps (the latent one includes
decoding). Prints a Markdown table of seconds per clip; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import bench_model  # noqa: E402

from vidgen import config as cfgmod  # noqa: E402
from vidgen.train.config import ExperimentConfig  # noqa: E402
from vidgen.train.loop import Trainer  # noqa: E402
from vidgen.utils.hw import cpu_name, keep_freed_memory  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PIXEL = ROOT / "configs" / "video_unet_shapes.yaml"
LATENT = ROOT / "configs" / "latent_video_unet_shapes.yaml"


def sampling_s_per_clip(recipe: Path, overrides: list[str], clips: int, steps: int) -> float:
    with tempfile.TemporaryDirectory() as run_dir:
        cfg = cfgmod.load(ExperimentConfig, recipe, [*overrides, f"run_dir={run_dir}", "train.tensorboard=false"])
        trainer = Trainer(cfg, echo=lambda line: None)
        model = trainer.ema["model"]
        with torch.inference_mode():
            trainer.family.draw(model, [0], None, steps=2)  # warm-up
            t0 = time.perf_counter()
            trainer.family.draw(model, list(range(clips)), None, steps=steps)
        return (time.perf_counter() - t0) / clips


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolutions", default="32,64,128")
    p.add_argument("--steps", type=int, default=3, help="timed training steps")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--autoencoder", default="shapes-frame-vae")
    p.add_argument("--sample-clips", type=int, default=2)
    p.add_argument("--sampling-steps", type=int, default=18)
    args = p.parse_args()
    keep_freed_memory()
    rows = []
    for res in (int(r) for r in args.resolutions.split(",")):
        for kind, name, recipe, extra in (("pixel", "video_unet", PIXEL, []), ("latent", "latent_video_unet", LATENT,
                                                                               [f"model.autoencoder={args.autoencoder}"])):
            overrides = [f"data.resolution={res}", *extra]
            r = bench_model(name, overrides, str(recipe), args.steps, args.warmup)
            s = sampling_s_per_clip(recipe, overrides, args.sample_clips, args.sampling_steps)
            rows.append((res, kind, r["works_on"], r["batch"], r["dtype"], r["ms_step"] / r["batch"], r["gflop_step"] /
                         r["batch"], s))
            print(f"measured {kind} at {res}", file=sys.stderr, flush=True)
    print(f"Machine: {cpu_name()}, {os.cpu_count()} logical cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; sampling: {args.sampling_steps} Heun steps")
    print()
    print("| resolution | model | denoiser works on | batch | dtype | train ms/clip | GFLOP/clip | sampling s/clip |")
    print("|---:|---|---|---:|---|---:|---:|---:|")
    for res, kind, shape, batch, dtype, ms, gf, s in rows:
        print(f"| {res} | {kind} | {shape} | {batch} | {dtype} | {ms:.0f} | {gf:.1f} | {s:.2f} |")


if __name__ == "__main__":
    main()
