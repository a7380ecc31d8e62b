"""``vidgen train CONFIG [key=value ...]``"""

from __future__ import annotations

import argparse

from vidgen import config as cfgmod


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a YAML recipe",
        description="Train a model. Settings: dataclass defaults < the YAML recipe < key.sub=value overrides.",
        epilog="Example: vidgen train configs/demo.yaml train.minutes=2 data.resolution=32 run_dir=runs/quick",
    )
    p.add_argument("config", help="YAML recipe, e.g. configs/demo.yaml")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. train.batch_size=8")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidgen.train.config import ExperimentConfig

    cfg = cfgmod.load(ExperimentConfig, args.config, args.overrides)
    if args.dry_run:
        print(cfgmod.dump_yaml(cfg), end="")
        return 0
    from vidgen.train.loop import train

    run_dir = train(cfg)
    print(f"samples:           {run_dir / 'samples.mp4'}  {run_dir / 'samples.gif'}")
    print(f"real vs generated: {run_dir / 'real_vs_generated.mp4'}  {run_dir / 'real_vs_generated.png'}")
    print(f"model:             {run_dir / 'model.safetensors'}  {run_dir / 'config.json'}")
    print(f"logs:              {run_dir / 'log.jsonl'}  {run_dir / 'samples'}/step-*.gif  {run_dir / 'config.yaml'}")
    print(f"sample more with:  vidgen sample {run_dir} --num 16 --out more.mp4")
    return 0
