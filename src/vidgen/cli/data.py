"""``vidgen data info NAME`` and ``vidgen data preview NAME --out FILE``"""

from __future__ import annotations

import argparse

from vidgen import config as cfgmod
from vidgen.registry import DATASETS


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="inspect the built-in and folder datasets",
                       description="Inspect datasets. Options of the dataset are given as key=value.")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("name", help=f"dataset name: {', '.join(DATASETS.names())}")
    common.add_argument("overrides", nargs="*", metavar="key=value",
                        help="dataset options, e.g. resolution=32 frames=8 (folder: path=DIR)")
    info = dsub.add_parser("info", parents=[common], help="print a dataset's size, shape, classes and options",
                           epilog="Example: vidgen data info folder path=my_clips/")
    info.set_defaults(func=run_info)
    prev = dsub.add_parser("preview", parents=[common], help="write a grid video of real clips",
                           epilog="Example: vidgen data preview shapes --out shapes.gif num_shapes=2")
    prev.add_argument("--out", required=True, help="output file: .mp4, .gif, .npy (the grid video) or .png "
                      "(a still: 8 frames of each clip, one row per clip)")
    prev.add_argument("--num", type=int, default=16, help="number of clips (default 16)")
    prev.add_argument("--labels", action="store_true", help="write each clip's class name on it")
    prev.set_defaults(func=run_preview)


def _dataset(args: argparse.Namespace):
    from vidgen.data import build_dataset

    entry = DATASETS.get(args.name)
    data = cfgmod.apply_overrides({}, args.overrides)
    config = cfgmod.from_dict(entry.config, data, "data")
    return config, build_dataset(config)


def run_info(args: argparse.Namespace) -> int:
    config, dataset = _dataset(args)
    print(f"dataset: {args.name}")
    for key, value in dataset.info().items():
        if isinstance(value, list) and len(value) > 12:
            value = ", ".join(map(str, value[:12])) + f", ... ({len(value)} in all)"
        elif isinstance(value, list):
            value = ", ".join(map(str, value)) or "-"
        print(f"{key}: {value}")
    print("options:")
    for line in cfgmod.dump_yaml(config).splitlines():
        print(f"  {line}")
    return 0


def run_preview(args: argparse.Namespace) -> int:
    import torch

    import vidgen

    from vidgen.errors import VidgenError

    if args.num < 1:
        raise VidgenError(f"--num must be >= 1, got {args.num}")
    config, dataset = _dataset(args)
    items = [dataset[i] for i in range(min(args.num, len(dataset)))]
    videos = torch.stack([item["video"] for item in items])  # [B, T, C, H, W]
    labels = None
    if args.labels and dataset.class_names:
        labels = [dataset.class_names[item["label"]] for item in items]
    if args.out.lower().endswith(".png"):  # a still: one row of frames per clip
        grid = vidgen.io.frame_strips(videos)
    else:
        grid = vidgen.io.make_grid(videos, labels=labels)
    path = vidgen.io.write_video(args.out, grid, fps=config.fps)
    print(f"wrote {len(items)} clips of {args.name} to {path}")
    return 0
