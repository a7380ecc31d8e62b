"""Training speed on a folder of video files against the same clips built in.

    .venv/bin/python benchmarks/folder_speed.py [--recipe configs/mocogan_shapes.yaml] [--videos 2000]
        [--kimg 2] [--workers 0,1,2] [--threads 2]

Writes ``--videos`` clips of the recipe's built-in set as H.264 ``.mp4`` files (one class
sub-folder each, as a user's folder would be), then trains the recipe for ``--kimg`` thousand
clips each way, in a fresh process, one after the other:

- ``built-in``: the recipe as it is;
- ``folder, first epoch``: ``data.name=folder`` on the files with an empty decoded-clip cache,
  so every clip is decoded from H.264 while the model trains (``--kimg`` should not exceed
  ``--videos`` / 1000, or later clips come from the cache);
- ``folder, cached``: the same again, the cache now full.

each with every ``train.num_workers`` of ``--workers``. Prints clips/s (the mean over the
run's ticks after the first, whose time includes start-up) and each as a fraction of the
built-in run's. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from vidgen.utils.hw import cpu_name


def write_folder(recipe: str, root: Path, videos: int) -> float:
    """The recipe's built-in clips as mp4 files under ``root/<class>/``; returns the seconds it took."""
    from vidgen import config as cfgmod
    from vidgen.convert import to_uint8
    from vidgen.data import build_dataset
    from vidgen.io.video import write_video
    from vidgen.train.config import ExperimentConfig

    cfg = cfgmod.load(ExperimentConfig, recipe, [f"data.num_clips={videos}", "data.seed=12345"])
    ds = build_dataset(cfg.data)
    t0 = time.perf_counter()
    for i in range(videos):
        item = ds[i]
        cls = ds.class_names[item["label"]] if ds.class_names else "clips"
        write_video(root / cls / f"{i:05d}.mp4", to_uint8(item["video"]), crf=18)
    return time.perf_counter() - t0


def train(recipe: str, run: Path, overrides: list[str], threads: int) -> float:
    """Mean clips/s over the run's ticks after the first."""
    cmd = [sys.executable, "-m", "vidgen", "train", recipe, f"run_dir={run}", f"train.threads={threads}",
           "train.minutes=null", "train.sample_ticks=1000", "train.snapshot_ticks=1000",
           "train.checkpoint_ticks=1000", "train.tensorboard=false", *overrides]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines() if line.strip()]
    return statistics.mean(s["clips_per_s"] for s in stats[1:] or stats)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="configs/mocogan_shapes.yaml")
    p.add_argument("--videos", type=int, default=2000)
    p.add_argument("--kimg", type=float, default=2.0)
    p.add_argument("--tick-kimg", type=float, default=0.25)
    p.add_argument("--workers", default="0,1,2")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    recipe_data = yaml.safe_load(Path(args.recipe).read_text()).get("data", {})
    base = [f"train.kimg={args.kimg}", f"train.tick_kimg={args.tick_kimg}"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        folder = tmp_path / "videos"
        seconds = write_folder(args.recipe, folder, args.videos)
        print(f"wrote {args.videos} mp4 clips in {seconds:.0f} s", file=sys.stderr)
        workers = [int(w) for w in args.workers.split(",")]
        for w in workers:
            built_in = train(args.recipe, tmp_path / f"builtin{w}", base + [f"train.num_workers={w}"], args.threads)
            rows.append(("built-in", w, built_in, 1.0))
            cache = tmp_path / f"cache{w}"
            folder_args = base + [f"train.num_workers={w}", "data.name=folder", f"data.path={folder}",
                                  f"data.cache_dir={cache}"]
            folder_args += [f"data.{k}={v}" for k, v in recipe_data.items() if k in ("frames", "resolution")]
            for label in ("folder, first epoch", "folder, cached"):
                speed = train(args.recipe, tmp_path / f"{label[8:13]}{w}", folder_args, args.threads)
                rows.append((label, w, speed, speed / built_in))
                print(f"{label}, {w} workers: {speed:.1f} clips/s", file=sys.stderr)
            shutil.rmtree(cache, ignore_errors=True)

    print(f"\n{args.recipe}, {args.videos} mp4 files, {args.kimg:g} kimg per run, {args.threads} threads, "
          f"{cpu_name()}\n")
    print("| data | train.num_workers | clips/s | of built-in |")
    print("|---|---:|---:|---:|")
    for label, w, speed, ratio in rows:
        print(f"| {label} | {w} | {speed:.1f} | {ratio:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
