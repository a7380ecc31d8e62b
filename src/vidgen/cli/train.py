"""``vidgen train [CONFIG] [key=value ...] [--resume latest|PATH] [--dry-run]``

Runs alone or under torchrun unchanged: ``torchrun --nproc_per_node 4 -m vidgen train CONFIG``.
"""

from __future__ import annotations

import argparse
import os

from vidgen import config as cfgmod
from vidgen.errors import ConfigError, VidgenError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a YAML recipe, or resume a run",
        description="Train a model. Settings: dataclass defaults < the YAML recipe < key.sub=value overrides. "
                    "Under torchrun every process runs this same command.",
        epilog="Examples:\n"
               "  vidgen train configs/demo.yaml train.minutes=2 run_dir=runs/quick\n"
               "  vidgen train configs/demo.yaml --resume latest     # continue runs/demo where it stopped\n"
               "  vidgen train --resume runs/demo train.kimg=200     # the run's own config, trained longer\n"
               "  torchrun --nproc_per_node 4 -m vidgen train configs/demo.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", nargs="?", help="YAML recipe, e.g. configs/demo.yaml (optional with --resume PATH)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. train.batch_size=8")
    p.add_argument("--resume", metavar="latest|PATH",
                   help="continue from a training state: 'latest' in the recipe's run_dir (a fresh start if it "
                        "has none), a run folder, or a checkpoints/state-*.pt file")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=run)


def resolve_config(args: argparse.Namespace):
    """The run's config: the recipe + overrides, or the resumed run's own config + overrides."""
    from vidgen.io.checkpoint import find_state, load_state
    from vidgen.train.config import ExperimentConfig

    overrides = list(args.overrides)
    recipe = args.config
    if recipe is not None and "=" in recipe and not os.path.exists(recipe):
        overrides.insert(0, recipe)  # `vidgen train --resume RUN key=value`: no recipe given
        recipe = None
    if recipe is not None or args.resume in (None, "latest"):
        if recipe is None and not overrides:
            raise VidgenError("no recipe given",
                              hint="vidgen train configs/demo.yaml, or vidgen train --resume RUN_DIR")
        if recipe is not None:
            check_recipe(recipe, overrides)
        return cfgmod.load(ExperimentConfig, recipe, overrides)  # no recipe: the defaults + the overrides
    saved = load_state(find_state(args.resume))["config"]
    return cfgmod.from_dict(ExperimentConfig, cfgmod.apply_overrides(saved, overrides), "")


def check_recipe(recipe: str, overrides: list[str]) -> None:
    """Refuse an empty recipe (no keys, only comments), and one that names neither a model nor data
    (nor do the overrides): either would train the default model on the default data without a word."""
    data = cfgmod.read_yaml(recipe)
    named = {o.split("=", 1)[0].split(".")[0] for o in overrides} | set(data)
    if data and named & {"model", "data"}:
        return
    what = "is empty (no keys, or only comments)" if not data else \
        f"names no model and no data (it sets {', '.join(map(str, data))})"
    raise ConfigError(f"recipe {recipe} {what}: a recipe needs at least a 'model:' or a 'data:' section",
                      hint="start from one of the recipes in configs/ (e.g. configs/demo.yaml; 'ls configs/' lists "
                           "them), or write model: and data: sections into it")


def run(args: argparse.Namespace) -> int:
    cfg = resolve_config(args)
    if args.dry_run:
        print(cfgmod.dump_yaml(cfg), end="")
        return 0
    from vidgen.train.loop import train

    run_dir = train(cfg, resume=args.resume)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    print(f"samples:           {run_dir / 'samples.mp4'}  {run_dir / 'samples.gif'}")
    print(f"real vs generated: {run_dir / 'real_vs_generated.mp4'}  {run_dir / 'real_vs_generated.png'}")
    print(f"model:             {run_dir / 'model.safetensors'}  {run_dir / 'config.json'}")
    print(f"training state:    {run_dir / 'checkpoints'}/state-*.pt  (vidgen train --resume {run_dir})")
    print(f"logs:              {run_dir / 'stats.jsonl'}  {run_dir / 'samples'}/  {run_dir / 'config.yaml'}")
    print(f"                   tensorboard --logdir {run_dir / 'tensorboard'}")
    import vidgen

    if "generate" in vidgen.load(run_dir).capabilities:
        print(f"sample more with:  vidgen sample {run_dir} --num 16 --out more.mp4")
    return 0
