"""``vidgen evaluator train DATASET [--out DIR] [--minutes M | --steps N] [key=value ...]``
and ``vidgen evaluator show PATH``

A domain evaluator is a small video classifier trained on a labelled dataset; its features
are a Fréchet space for that domain and its predictions score class-conditional samples
(see :mod:`vidgen.metrics.evaluator` and :mod:`vidgen.metrics.evaluator_train`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from vidgen import config as cfgmod
from vidgen.errors import ConfigError, VidgenError


def add_parser(sub) -> None:
    from vidgen.registry import DATASETS

    p = sub.add_parser(
        "evaluator",
        help="train or inspect a domain evaluator (a video classifier for FVD-style features and cond-acc)",
        description="Domain evaluators: small 3D-CNN classifiers trained on a labelled dataset. Their features "
                    "replace Kinetics I3D for Fréchet distances on that domain; their predictions score "
                    "class-conditional samples.",
    )
    esub = p.add_subparsers(dest="evaluator_command", metavar="ACTION", required=True)
    t = esub.add_parser(
        "train",
        help="train an evaluator on a built-in set or a YAML data config",
        description="Train an evaluator on DATASET (a built-in name, or a YAML file holding a data config or a\n"
                    "recipe with a 'data:' section), changed by key=value overrides (data.key=value works too).\n"
                    "Some clips are held out (--held-out FRACTION, or --held-out-seed S: the same set with another\n"
                    "seed); the held-out accuracy is printed and saved with the weights in DIR/evaluator.safetensors\n"
                    "+ DIR/evaluator.json, with the command that repeats the training.",
        epilog="Examples:\n"
               "  vidgen evaluator train shapes --resolution 32 --steps 600 --out evaluators/shapes\n"
               "  vidgen evaluator train moving_digits num_digits=1 --minutes 5 --out evaluators/digits\n"
               "  vidgen evaluator train folder path=clips/ frames=16 resolution=64 --held-out 0.2\n"
               "  vidgen evaluator train configs/dcgan3d_folder.yaml --steps 2000 --out evaluators/mine",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("dataset", help=f"a built-in dataset ({', '.join(DATASETS.names())}) or a YAML data config")
    t.add_argument("overrides", nargs="*", metavar="key=value",
                   help="dataset options, e.g. resolution=32 frames=8 (folder: path=DIR)")
    t.add_argument("--out", default=None, help="output folder (default runs/evaluators/<name>)")
    budget = t.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, default=None, help="optimizer steps (default 1000)")
    budget.add_argument("--minutes", type=float, default=None, help="train for this many minutes instead")
    held = t.add_mutually_exclusive_group()
    held.add_argument("--held-out", type=float, default=None, metavar="FRACTION",
                      help="fraction of the clips kept out of training (default 0.1; folder sets: whole videos)")
    held.add_argument("--held-out-seed", type=int, default=None, metavar="SEED",
                      help="score on the same dataset built with data.seed=SEED instead (synthetic sets)")
    t.add_argument("--batch-size", type=int, default=32, help="clips per step (default 32)")
    t.add_argument("--lr", type=float, default=2e-3, help="peak learning rate, cosine to 0 (default 2e-3)")
    t.add_argument("--seed", type=int, default=0, help="initial weights, split and clip order (default 0)")
    t.add_argument("--resolution", type=int, default=None,
                   help="the evaluator's input size; clips are resized to it (default: the data's)")
    t.add_argument("--frames", type=int, default=None,
                   help="frames the evaluator reads; longer clips are cut (default: the data's)")
    t.add_argument("--widths", default="16,32,64,128", help="channels of the stem and stages (default 16,32,64,128)")
    t.add_argument("--feature-dim", type=int, default=128, help="size of the feature layer (default 128)")
    t.add_argument("--name", default=None, help="the evaluator's name (default: the dataset's)")
    t.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    t.add_argument("--workers", type=int, default=0,
                   help="processes that build clips while the model trains (default 0: none)")
    t.set_defaults(func=run_train)

    s = esub.add_parser("show", help="print what an evaluator is: classes, input, training data, accuracy",
                        epilog="Examples:\n  vidgen evaluator show shapes\n"
                               "  vidgen evaluator show runs/evaluators/mine",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("path", help="an evaluator folder or a shipped name (shapes, moving_digits)")
    s.add_argument("--json", action="store_true", help="print evaluator.json as it is")
    s.set_defaults(func=run_show)


def _data_config(dataset: str, overrides: list[str], seed: int | None = None):
    """The data config from a built-in name or a YAML file, with ``key=value`` overrides."""
    from vidgen.registry import DATASETS

    overrides = [o[len("data."):] if o.startswith("data.") else o for o in overrides]
    if dataset in DATASETS:
        data: dict[str, Any] = {"name": dataset}
    elif dataset.endswith((".yaml", ".yml")) or Path(dataset).is_file():
        raw = cfgmod.read_yaml(dataset)
        data = raw["data"] if "data" in raw else raw
        if not isinstance(data, dict) or "name" not in data:
            raise ConfigError(f"{dataset} holds no data config with a 'name'",
                              hint="a data mapping (name: shapes, ...) or a recipe with a 'data:' section")
        data = dict(data)
    else:
        raise ConfigError(f"unknown dataset {dataset!r}",
                          hint=f"a built-in name ({', '.join(DATASETS.names())}) or a YAML data config")
    data = cfgmod.apply_overrides(data, overrides)
    if seed is not None:
        data["seed"] = seed
    name = str(data.pop("name"))
    return cfgmod.from_dict(DATASETS.get(name).config, data, "data"), name


def _command(args: argparse.Namespace) -> str:
    """The command line that repeats this training, every setting spelled out."""
    parts = ["vidgen", "evaluator", "train", args.dataset, *args.overrides]
    parts += ["--steps", str(args.steps)] if args.minutes is None else ["--minutes", f"{args.minutes:g}"]
    if args.held_out_seed is not None:
        parts += ["--held-out-seed", str(args.held_out_seed)]
    else:
        parts += ["--held-out", f"{args.held_out if args.held_out is not None else 0.1:g}"]
    parts += ["--batch-size", str(args.batch_size), "--lr", f"{args.lr:g}", "--seed", str(args.seed)]
    for flag, value in (("--resolution", args.resolution), ("--frames", args.frames), ("--name", args.name),
                        ("--threads", args.threads)):
        if value is not None:
            parts += [flag, str(value)]
    parts += ["--widths", args.widths, "--feature-dim", str(args.feature_dim), "--workers", str(args.workers),
              "--out", str(args.out)]
    return shlex.join(parts)


def run_train(args: argparse.Namespace) -> int:
    import torch

    from vidgen.metrics.evaluator_train import train_evaluator

    for flag in ("steps", "batch_size", "resolution", "frames", "feature_dim", "threads"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise VidgenError(f"--{flag.replace('_', '-')} must be >= 1, got {value}")
    if args.minutes is not None and not args.minutes > 0:
        raise VidgenError(f"--minutes must be > 0, got {args.minutes}")
    if args.workers < 0:
        raise VidgenError(f"--workers must be >= 0, got {args.workers}")
    if args.held_out is not None and not 0 < args.held_out < 1:
        raise VidgenError(f"--held-out must be a fraction in (0, 1), got {args.held_out}")
    try:
        widths = tuple(int(w) for w in args.widths.split(","))
    except ValueError:
        raise VidgenError(f"--widths must be comma-separated integers, got {args.widths!r}") from None
    if args.steps is None and args.minutes is None:
        args.steps = 1000
    data, data_name = _data_config(args.dataset, list(args.overrides))
    held_out: Any = args.held_out if args.held_out is not None else 0.1
    if args.held_out_seed is not None:
        held_out, _ = _data_config(args.dataset, list(args.overrides), seed=args.held_out_seed)
        if held_out.seed == data.seed:
            raise VidgenError(f"--held-out-seed {args.held_out_seed} is the training set's own seed",
                              hint="pick another seed, or use --held-out FRACTION")
    name = args.name or data_name
    args.out = args.out or str(Path("runs") / "evaluators" / name)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    result = train_evaluator(
        data, out_dir=args.out, held_out=held_out, steps=args.steps, minutes=args.minutes,
        batch_size=args.batch_size, lr=args.lr, seed=args.seed, resolution=args.resolution, frames=args.frames,
        widths=widths, feature_dim=args.feature_dim, name=name, workers=args.workers, command=_command(args),
        echo=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(f"held-out accuracy: {result['held_out_accuracy']:.4f} on {result['held_out_clips']} clips "
          f"({len(result['class_names'])} classes, chance {1 / len(result['class_names']):.3f})")
    print(f"trained:           {result['steps']} steps, {result['clips_seen']} clips, {result['seconds']:.0f} s")
    print(f"evaluator:         {Path(args.out) / 'evaluator.safetensors'}  {Path(args.out) / 'evaluator.json'}")
    print(f"sha256:            {result['sha256']}")
    print(f"inspect with:      vidgen evaluator show {args.out}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from vidgen.metrics.evaluator import WEIGHTS, read_evaluator_meta

    directory, meta = read_evaluator_meta(args.path)
    if args.json:
        print(json.dumps(meta, indent=2))
        return 0
    arch = meta.get("architecture", {})
    data = dict(meta.get("data") or {})
    train = meta.get("train") or {}
    held = meta.get("held_out") or {}
    acc = meta.get("held_out_accuracy")
    size = (directory / WEIGHTS).stat().st_size
    classes = meta.get("class_names", [])
    settings = ", ".join(f"{k}={data[k]}" for k in ("resolution", "frames", "seed", "num_clips", "num_shapes",
                                                    "num_digits", "source", "label", "path") if k in data)
    if "fraction" in held:
        held_text = f"{held['fraction']:g} of the clips ({held.get('clips', '?')} scored)"
    elif "data" in held:
        held_text = f"{held['data'].get('name')} with seed {held['data'].get('seed')} ({held.get('clips', '?')} clips)"
    else:
        held_text = "-"
    rows = [
        ("name", meta.get("name")),
        ("folder", str(directory)),
        ("weights", f"{WEIGHTS} ({size / 1e6:.2f} MB), sha256 {meta.get('sha256')}"),
        ("input", f"{arch.get('frames')} frames x {arch.get('channels')} channels x {arch.get('resolution')}x"
                  f"{arch.get('resolution')} (longer clips are cut, other sizes resized)"),
        ("architecture", f"widths {arch.get('widths')}, features {arch.get('feature_dim')}"),
        ("classes", f"{len(classes)}: {', '.join(map(str, classes))}"),
        ("trained on", f"{data.get('name')} ({settings})" if data else "-"),
        ("held out", held_text),
        ("held-out acc", f"{acc:.4f}" if isinstance(acc, (int, float)) else "-"),
        ("training", f"{train.get('steps')} steps of {train.get('batch_size')} clips, {train.get('seconds')} s, "
                     f"{train.get('threads')} thread(s)" if train else "-"),
        ("command", meta.get("command") or "-"),
        ("version", f"vidgen {meta.get('vidgen_version')}, format {meta.get('format_version')}"),
    ]
    for key, value in rows:
        print(f"{key + ':':<14} {value}")
    return 0
