"""``vidgen demo``: the first five minutes. Samples from the shipped models at once, then a
training run of the demo recipe, then how to open the UI (``make demo`` runs it)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo", help="samples from the shipped models, then train the demo recipe for a few minutes",
        description="Within seconds: class rows of shapes from the shipped generator (shapes-cond64) and a Moving "
                    "MNIST clip continued by the shipped predictor (mnist-simvp), written under --out. Then "
                    "trains configs/demo.yaml (or --recipe) for --minutes, and says how to open the web UI.",
        epilog="Example: vidgen demo --minutes 5")
    p.add_argument("--minutes", type=float, default=5.0, help="training budget (default 5; 0: no training)")
    p.add_argument("--recipe", default="configs/demo.yaml", help="the recipe trained (default configs/demo.yaml)")
    p.add_argument("--out", default="runs/demo", help="where everything goes (default runs/demo)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="overrides of the recipe")
    p.set_defaults(func=run)


def shipped_samples(out: Path) -> list[Path]:
    """What the shipped models make, written under ``out``; the paths (none when none are installed)."""
    import torch

    import vidgen
    from vidgen.convert import to_uint8
    from vidgen.data import build_dataset
    from vidgen.data.digits import MovingDigitsConfig
    from vidgen.io import frame_strips, make_grid, side_by_side, write_video
    from vidgen.zoo import find_shipped

    written: list[Path] = []
    if find_shipped("shapes-cond64") is not None:
        gen = vidgen.load("shapes-cond64")
        rows = torch.cat([gen.sample(6, seed=0, label=k) for k in range(gen.num_classes)])
        grid = make_grid(rows, nrow=6, labels=gen.class_names)
        written.append(write_video(out / "shipped-shapes.mp4", grid, fps=gen.fps))
        written.append(write_video(out / "shipped-shapes.png", frame_strips(rows[::6])))
    if find_shipped("mnist-simvp") is not None:
        pred = vidgen.load("mnist-simvp")
        # digits rendered from Pillow's font: held out from the MNIST digits it was trained on
        data = build_dataset(MovingDigitsConfig(source="font", frames=pred.context + pred.future,
                                                resolution=pred.resolution, seed=3))
        clips = torch.stack([data[i]["video"] for i in range(4)])  # [4, T, C, H, W]
        future = pred.predict(clips[:, :pred.context], frames=pred.future, seed=0)
        predicted = torch.cat([clips[:, :pred.context], future], dim=1)
        grid = side_by_side(make_grid(clips, nrow=1), make_grid(predicted, nrow=1), titles=("real", "continued"))
        written.append(write_video(out / "shipped-digits.mp4", grid, fps=pred.fps))
        written.append(write_video(out / "shipped-digits.png", side_by_side(
            frame_strips(clips[:2]), frame_strips(predicted[:2]), titles=("real", "context + continued"))))
        write_video(out / "example-digits.mp4", to_uint8(clips[0]), fps=pred.fps, crf=10)
    return written


def run(args: argparse.Namespace) -> int:
    import time

    from vidgen import config as cfgmod
    from vidgen.train.config import ExperimentConfig
    from vidgen.train.loop import train

    out = Path(args.out)
    start = time.perf_counter()
    written = shipped_samples(out)
    if written:
        print(f"shipped models ({time.perf_counter() - start:.0f} s):")
        for path in written:
            print(f"  {path}")
    else:
        print("no shipped models are installed: skipping their samples")
    if args.minutes > 0:
        print(f"training {args.recipe} for {args.minutes:g} minutes ...")
        cfg = cfgmod.load(ExperimentConfig, args.recipe,
                          [f"run_dir={out}", f"train.minutes={args.minutes}", *args.overrides])
        run_dir = train(cfg)
        print(f"trained:           {run_dir / 'samples.mp4'}  {run_dir / 'real_vs_generated.png'}")
    example = out / "example-digits.mp4"
    print("next:              vidgen ui   (then open http://127.0.0.1:7860)")
    if example.is_file():
        print(f"                   vidgen predict mnist-simvp --input {example} --frames 20 --out continued.mp4")
    return 0
