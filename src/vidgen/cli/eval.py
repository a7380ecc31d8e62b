"""``vidgen eval CHECKPOINT --metric NAME [--num N] [--batch-size N] [data.key=value ...]``

The test set is built by the dataset registry from the run's own data config
(``config.json``'s ``"data"``) with the overrides applied; the metric is a protocol
registered in ``vidgen.registry.METRICS`` (see :mod:`vidgen.metrics.evaluate`). Each run
appends one JSON record to ``RUN_DIR/metric-<name>.jsonl`` (or ``--out FILE``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vidgen import __version__
from vidgen import config as cfgmod
from vidgen.errors import VidgenError
from vidgen.metrics import evaluate as _protocols  # noqa: F401 (registers the metrics)
from vidgen.registry import METRICS


def add_parser(sub) -> None:
    names = METRICS.names()
    p = sub.add_parser(
        "eval",
        help="score a trained model on a test set",
        description="Score a trained model on a test set built from the run's own data config, changed by\n"
                    "data.key=value overrides. Prints a table and appends a JSON record (metric, checkpoint,\n"
                    "data config, results with per-frame curves) to RUN_DIR/metric-<metric>.jsonl or --out.\n\n"
                    "metrics:\n" + "\n".join(f"  {e.name:<10} {e.meta.get('summary', '')}" for e in METRICS),
        epilog="Examples:\n"
               "  vidgen eval runs/convlstm --metric frames data.seed=1 data.num_clips=1000\n"
               "  vidgen eval runs/mnist --metric frames --num 2000 data.digit_range=[8000,10000] data.seed=1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="run folder (or its model.safetensors) written by 'vidgen train'")
    p.add_argument("overrides", nargs="*", metavar="data.key=value",
                   help="changes to the run's data config for the test set, e.g. data.seed=1 data.num_clips=1000")
    p.add_argument("--metric", required=True, choices=names, help=f"what to measure: {', '.join(names)}")
    p.add_argument("--num", type=int, default=1000, help="clips to score (default 1000, or the whole test set)")
    p.add_argument("--batch-size", type=int, default=16, help="clips per batch (default 16)")
    p.add_argument("--context", type=int, default=None, help="context frames (default: the model's training split)")
    p.add_argument("--future", type=int, default=None, help="frames predicted and scored (default: the model's)")
    p.add_argument("--seed", type=int, default=0, help="seed of a stochastic model's draws (default 0)")
    p.add_argument("--out", default=None,
                   help="JSONL file to append the record to (default RUN_DIR/metric-<metric>.jsonl)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.set_defaults(func=run)


def build_test_set(meta: dict[str, Any], overrides: list[str], *, frames: int,
                   where: str) -> tuple[Any, dict[str, Any]]:
    """The dataset of the run's data config with ``data.key=value`` overrides, and its resolved config.

    Clips get at least ``frames`` frames unless ``data.frames`` is overridden explicitly.
    """
    from vidgen.data import build_dataset
    from vidgen.registry import DATASETS

    data = meta.get("data")
    if not isinstance(data, dict) or "name" not in data:
        raise VidgenError(f"{where}: config.json holds no data config to build a test set from",
                          hint="export the run again with this vidgen ('vidgen train --resume RUN_DIR')")
    for text in overrides:
        if not text.startswith("data."):
            raise VidgenError(f"{text!r} does not change the test set",
                              hint="overrides of vidgen eval are data.key=value, e.g. data.seed=1 data.num_clips=1000")
    data = dict(cfgmod.apply_overrides({"data": data}, overrides)["data"])
    if not any(text.startswith("data.frames=") for text in overrides) and data.get("frames", frames) < frames:
        print(f"note: test clips of {frames} frames (the run's data.frames is {data['frames']})", file=sys.stderr)
        data["frames"] = frames  # a longer horizon than training needs longer clips
    if not overrides:
        print("note: the test set is the run's own data config; give held-out clips with e.g. data.seed=1 "
              "(synthetic sets) or data.path=DIR (folder)", file=sys.stderr)
    name = data.pop("name")
    config = cfgmod.from_dict(DATASETS.get(str(name)).config, data, "data")
    return build_dataset(config), {"name": name, **cfgmod.to_dict(config)}


def run(args: argparse.Namespace) -> int:
    from vidgen.cli.predict import check_flags, load_predictor
    from vidgen.io.checkpoint import find_export

    check_flags(args, ("num", "batch_size", "context", "future"))
    entry = METRICS.get(args.metric)
    if entry.meta.get("needs") != "predictor":  # the only kind of metric so far
        raise VidgenError(f"vidgen eval cannot run the metric {args.metric!r} yet")
    predictor = load_predictor(args.checkpoint, device=args.device, command=f"--metric {args.metric}")
    context = args.context if args.context is not None else predictor.context
    future = args.future if args.future is not None else predictor.future
    dataset, data = build_test_set(predictor.meta, list(args.overrides), frames=context + future,
                                   where=args.checkpoint)
    start = time.perf_counter()
    results = entry.obj(predictor, dataset, context=context, future=future, num=args.num,
                        batch_size=args.batch_size, seed=args.seed)
    if results["clips"] < args.num:
        print(f"note: the test set holds {results['clips']} clips, fewer than --num {args.num}", file=sys.stderr)
    meta = predictor.meta
    record = {
        "metric": args.metric,
        "checkpoint": str(find_export(args.checkpoint).resolve()),
        "model": meta["model"]["name"],
        "step": meta.get("step"),
        "kimg": meta.get("kimg"),
        "data": data,
        "num": args.num,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "results": results,
        "seconds": round(time.perf_counter() - start, 3),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "vidgen_version": __version__,
    }
    out = Path(args.out) if args.out else find_export(args.checkpoint) / f"metric-{args.metric}.jsonl"
    print(f"{args.metric}: {record['model']} (step {record['step']}) on {results['clips']} clips of {data['name']}, "
          f"{context} context -> {future} predicted frames")
    for label, key, fmt in entry.meta.get("table", ()):
        print(f"  {label:<14} {fmt.format(results[key]) if key in results else '-'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a") as f:
            f.write(json.dumps(record) + "\n")
    except OSError as e:
        raise VidgenError(f"could not write {out}: {e.strerror or e}",
                          hint="pass --out FILE somewhere writable") from None
    print(f"record appended to {out}")
    return 0
