"""Training speed on a folder of video files against the same clips built in.

    .venv/bin/python benchmarks/folder_speed.py [--recipe configs/mocogan_shapes.yaml] [--videos 2000]
        [--kimg 2] [--workers 0,1,2] [--threads 2] [--repeat 3]

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
built-in run's (and, first, the milliseconds per dataset item in this process); with ``--repeat``, the median and range of that fraction over rounds, each
against the built-in run of its own round. Asserts nothing about speed.
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


def item_ms(recipe: str, folder: Path, cache: Path, count: int = 500) -> dict[str, float]:
    """Milliseconds per dataset item in this process: built-in, a folder's first epoch, cached."""
    import torch

    from vidgen import config as cfgmod
    from vidgen.data import build_dataset
    from vidgen.train.config import ExperimentConfig

    torch.set_num_threads(1)
    data = yaml.safe_load(Path(recipe).read_text()).get("data", {})
    sizes = [f"data.{k}={v}" for k, v in data.items() if k in ("frames", "resolution")]
    built_in = build_dataset(cfgmod.load(ExperimentConfig, recipe, []).data)
    files = build_dataset(cfgmod.load(ExperimentConfig, recipe, ["data.name=folder", f"data.path={folder}",
                                                                 f"data.cache_dir={cache}", *sizes]).data)
    out = {}
    for label, ds in (("built-in", built_in), ("folder, first epoch", files), ("folder, cached", files)):
        n = min(count, len(ds))
        t0 = time.perf_counter()
        for i in range(n):
            ds[i]
        out[label] = (time.perf_counter() - t0) / n * 1e3
    shutil.rmtree(cache, ignore_errors=True)
    return out


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
    p.add_argument("--repeat", type=int, default=1, help="rounds of every run (shared machines are noisy)")
    args = p.parse_args()

    recipe_data = yaml.safe_load(Path(args.recipe).read_text()).get("data", {})
    base = [f"train.kimg={args.kimg}", f"train.tick_kimg={args.tick_kimg}"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        folder = tmp_path / "videos"
        seconds = write_folder(args.recipe, folder, args.videos)
        print(f"wrote {args.videos} mp4 clips in {seconds:.0f} s", file=sys.stderr)
        per_item = item_ms(args.recipe, folder, tmp_path / "item-cache")
        workers = [int(w) for w in args.workers.split(",")]
        for r in range(args.repeat):  # rounds: each ratio is against the built-in run of its own round
            for w in workers:
                built_in = train(args.recipe, tmp_path / f"builtin{w}", base + [f"train.num_workers={w}"],
                                 args.threads)
                rows.append(("built-in", w, built_in, 1.0))
                cache = tmp_path / f"cache{w}"
                folder_args = base + [f"train.num_workers={w}", "data.name=folder", f"data.path={folder}",
                                      f"data.cache_dir={cache}"]
                folder_args += [f"data.{k}={v}" for k, v in recipe_data.items() if k in ("frames", "resolution")]
                for label in ("folder, first epoch", "folder, cached"):
                    speed = train(args.recipe, tmp_path / f"{label[8:13]}{w}", folder_args, args.threads)
                    rows.append((label, w, speed, speed / built_in))
                    print(f"round {r + 1}, {label}, {w} workers: {speed:.1f} clips/s ({speed / built_in:.0%})",
                          file=sys.stderr)
                shutil.rmtree(cache, ignore_errors=True)

    print(f"\n{args.recipe}, {args.videos} mp4 files, {args.kimg:g} kimg per run, {args.threads} threads, "
          f"{cpu_name()}, {args.repeat} round(s): median [min, max] over rounds\n")
    print("ms per dataset item in one process, 1 thread: "
          + ", ".join(f"{k} {v:.2f}" for k, v in per_item.items()) + "\n")
    print("| data | train.num_workers | clips/s | of built-in |")
    print("|---|---:|---:|---:|")
    for label in ("built-in", "folder, first epoch", "folder, cached"):
        for w in workers:
            got = [(speed, ratio) for lab, ww, speed, ratio in rows if lab == label and ww == w]
            speeds, ratios = [g[0] for g in got], [g[1] for g in got]
            spread = f" [{min(ratios):.0%}, {max(ratios):.0%}]" if len(got) > 1 and label != "built-in" else ""
            print(f"| {label} | {w} | {statistics.median(speeds):.1f} | {statistics.median(ratios):.0%}{spread} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
