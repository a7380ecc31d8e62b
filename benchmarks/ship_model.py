"""Ship a trained run as a pretrained model inside the package: ``vidgen/zoo/<name>/``.

    .venv/bin/python benchmarks/ship_model.py runs/shipped/shapes-cond64 --name shapes-cond64 \\
        --summary "..." --task "class-conditional generation" --recipe configs/mocogan_cond_shapes64.yaml \\
        --command "vidgen train configs/mocogan_cond_shapes64.yaml train.kimg=36 seed=0" \\
        --metric "cond_acc960 --detector shapes" --tolerance 0.02 --try "vidgen sample shapes-cond64 ..."

Copies the run's export (``model.safetensors`` + ``config.json``), measures each ``--metric``
on the copy with ``vidgen eval`` (the string is the metric name and the rest of the eval
command line; ``{mnist}`` stands for the MNIST folder given by ``--mnist``), and writes
``card.json``: what the model does, how it was trained (recipe, command, hardware, minutes,
kimg), each metric's value with the command that measures it and the tolerance within which
``tests/test_zoo.py`` must measure it again, and the size of the files.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import vidgen
from vidgen.cli import main as cli_main
from vidgen.utils.hw import cpu_has_fast_bf16, cpu_name
from vidgen.zoo import CARD, ZOO_DIR

# the value each metric's card entry holds (the rest of the results is kept beside it)
PRIMARY = {"frames": "mse", "recon": "psnr_rgb"}


def measure(model: str | Path, spec: str, *, mnist: str | None) -> dict:
    """``vidgen eval MODEL --metric NAME ARGS...`` -> its JSON record (``{mnist}`` replaced)."""
    words = shlex.split(spec.replace("{mnist}", mnist or "{mnist}"))
    if any("{mnist}" in w for w in words):
        raise SystemExit(f"--metric {spec!r} needs --mnist DIR")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "record.jsonl"
        if cli_main(["eval", str(model), "--metric", words[0], *words[1:], "--out", str(out)]) != 0:
            raise SystemExit(f"vidgen eval failed for {spec!r}")
        return json.loads(out.read_text().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a finished run folder (its export is copied)")
    p.add_argument("--name", required=True)
    p.add_argument("--summary", required=True, help="what it does, one sentence")
    p.add_argument("--task", required=True)
    p.add_argument("--recipe", required=True)
    p.add_argument("--command", required=True, help="the exact training command")
    p.add_argument("--metric", action="append", default=[], help='"NAME eval-args..." (repeatable)')
    p.add_argument("--tolerance", type=float, default=0.02, help="relative tolerance of the re-measurement")
    p.add_argument("--try", dest="try_", action="append", default=[], help="a command that uses it (repeatable)")
    p.add_argument("--mnist", default=None, help="MNIST idx folder for metrics that say {mnist}")
    args = p.parse_args(argv)

    run = Path(args.run)
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines() if line.strip()]
    target = ZOO_DIR / args.name
    target.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "config.json"):
        shutil.copy2(run / name, target / name)
    model = vidgen.load(target)
    metrics = []
    for spec in args.metric:
        record = measure(target, spec, mnist=args.mnist)
        results = record["results"]
        key = PRIMARY.get(record["metric"], "value")
        metrics.append({
            "metric": record["metric"], "key": key, "value": results[key],
            "tolerance": {"rel": args.tolerance},
            "measure": f"vidgen eval {args.name} --metric {spec}",
            "results": {k: v for k, v in results.items() if isinstance(v, (int, float, str)) and k != "metric"},
            "data": record.get("data"),
        })
        print(f"{args.name}: {record['metric']} {key} = {results[key]:.4f}", file=sys.stderr)
    card = {
        "name": args.name,
        "summary": args.summary,
        "task": args.task,
        "family": model.family.name,
        "model": model.name,
        "capabilities": sorted(model.capabilities),
        "clips": f"{model.frames} frames of {model.channels}x{model.resolution}x{model.resolution}",
        "classes": model.class_names,
        "recipe": args.recipe,
        "command": args.command,
        "trained": {"kimg": stats[-1]["kimg"], "minutes": round(stats[-1]["seconds"] / 60, 1),
                    "hardware": f"{cpu_name()}, {'avx512_bf16' if cpu_has_fast_bf16() else 'no fast bf16'}"},
        "metrics": metrics,
        "try": args.try_,
    }
    (target / CARD).write_text(json.dumps(card, indent=2) + "\n")
    size = sum(p.stat().st_size for p in target.iterdir())
    print(f"shipped {args.name} in {target} ({size / 2**20:.2f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
