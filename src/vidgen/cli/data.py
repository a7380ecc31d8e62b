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
    exp = dsub.add_parser(
        "export", parents=[common], help="write raw clips of a dataset (for eval --real, a folder dataset, ...)",
        description="Write clips start .. start+num-1 of a dataset as they are (no grid, no border): a .npy/.npz "
                    "file holds uint8 [N, T, H, W, C] (what 'vidgen eval --real' reads, exactly); a folder gets "
                    "one video per clip (.mp4 by default, H.264 at --crf; .gif or .npy per clip with --format), "
                    "in one sub-folder per class with --by-class (a 'folder' dataset with those labels).",
        epilog="Examples: vidgen data export shapes --num 1024 --out real.npy resolution=64 frames=16 seed=1\n"
               "          vidgen data export shapes --num 200 --out my_clips/ --by-class")
    exp.add_argument("--out", required=True, help="a .npy / .npz file, or a folder")
    exp.add_argument("--num", type=int, default=16, help="number of clips (default 16)")
    exp.add_argument("--start", type=int, default=0, help="index of the first clip (default 0)")
    exp.add_argument("--format", choices=("mp4", "gif", "npy"), default="mp4", help="file type per clip in a folder")
    exp.add_argument("--crf", type=int, default=18, help="H.264 quality of .mp4 clips (0 best, default 18)")
    exp.add_argument("--by-class", action="store_true", help="a folder: one sub-folder per class name")
    exp.set_defaults(func=run_export)


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
    import sys

    import torch

    import vidgen

    from vidgen.errors import VidgenError

    if args.num < 1:
        raise VidgenError(f"--num must be >= 1, got {args.num}")
    if args.labels and args.out.lower().endswith(".png"):  # a still has no room for them
        raise VidgenError("--labels applies only with a grid video (.mp4, .gif, .npy), not a .png still",
                          hint="leave --labels out, or write a .gif")
    config, dataset = _dataset(args)
    if args.labels and not dataset.class_names:  # a note, not an error: a preview is how one finds out
        print(f"note: --labels shows nothing: this {args.name} set has no classes (a folder set gets them from "
              "class sub-folders)", file=sys.stderr)
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


def run_export(args: argparse.Namespace) -> int:
    """Write raw clips (see the ``export`` parser's description)."""
    from pathlib import Path

    import numpy as np

    import vidgen
    from vidgen.convert import to_uint8
    from vidgen.errors import VidgenError

    if args.num < 1 or args.start < 0:
        raise VidgenError(f"--num must be >= 1 and --start >= 0, got {args.num} and {args.start}")
    config, dataset = _dataset(args)
    if args.start + args.num > len(dataset):
        raise VidgenError(f"{args.name} holds {len(dataset)} clips; clips {args.start}..{args.start + args.num - 1} "
                          "were asked for", hint="lower --num or --start, or raise num_clips=...")
    out = Path(args.out)
    indices = range(args.start, args.start + args.num)
    if out.suffix.lower() in (".npy", ".npz"):
        if args.by_class:
            raise VidgenError("--by-class makes class sub-folders: give a folder as --out, not a file")
        clips = np.stack([to_uint8(dataset[i]["video"]) for i in indices])  # [N, T, H, W, C]
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp{out.suffix}")
        (np.save(tmp, clips) if out.suffix.lower() == ".npy" else np.savez_compressed(tmp, videos=clips))
        tmp.replace(out)
        print(f"wrote {len(clips)} clips of {args.name}, uint8 {list(clips.shape)}, to {out}")
        return 0
    if out.suffix:
        raise VidgenError(f"--out {out}: a .npy / .npz file or a folder (no suffix)")
    if args.by_class and not dataset.class_names:
        raise VidgenError(f"{args.name} has no classes: leave --by-class out")
    for i in indices:
        item = dataset[i]
        folder = out / dataset.class_names[item["label"]] if args.by_class else out
        frames = to_uint8(item["video"])  # [T, H, W, C]
        path = folder / f"clip-{i:06d}.{args.format}"
        if args.format == "npy":
            folder.mkdir(parents=True, exist_ok=True)
            np.save(path, frames)
        else:
            vidgen.io.write_video(path, frames, fps=config.fps, **({"crf": args.crf} if args.format == "mp4" else {}))
    print(f"wrote {args.num} clips of {args.name} as .{args.format} files to {out}/"
          + (" (one sub-folder per class)" if args.by_class else ""))
    return 0
