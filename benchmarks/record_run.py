"""Turn a finished run folder into result records for the results page.

    .venv/bin/python benchmarks/record_run.py RUN_DIR --recipe configs/x.yaml --task TASK [--hardware auto]
    .venv/bin/python benchmarks/results_page.py        # then rebuild docs/results.md

``RUN_DIR`` is a folder written by ``vidgen train`` (its resolved ``config.yaml`` and
``stats.jsonl``) and scored by ``vidgen eval`` or ``train.metrics`` (its ``metric-*.jsonl``).
For every metric file the newest record becomes one record line (``frames`` becomes one per
frame metric: ``mse``, ``mae``, ``ssim``, ``psnr``), in the shape of the metric record plus
what the page needs (see ``benchmarks/results_page.py``): the recipe and task, the seed and
budget of the run, the hardware, the held-out set the metric was scored on, and the
commands that reproduce it. The training command is the recipe with the overrides that make
its config the run's (``RUN_DIR/config.yaml`` against the recipe, both resolved); the
evaluation command is read off the metric record. A ``train_clips_per_s`` record (task
``speed``, the mean of the ticks' ``clips_per_s``) comes too, unless ``--no-speed``.

The lines are appended to ``--out`` (default ``benchmarks/records/<recipe name>.jsonl``).
``--hardware auto`` describes this machine (CPU model, threads, bf16 flags and precision, or
the GPU): run it where the run trained, or pass the description.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from results_page import TASK_KEYS, check_record

FRAME_METRICS = ("mse", "mae", "ssim", "psnr")
DEFAULT_PROTOCOL = "styleganv"


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"data": {"seed": 1}}`` -> ``{"data.seed": 1}`` (lists stay values)."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def format_value(value: Any) -> str:
    """A value as a ``key=value`` override reads it back (YAML scalars and flow lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    text = str(value)
    try:
        plain = yaml.safe_load(text) == text and " " not in text and "#" not in text
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text)


def overrides(base: dict[str, Any], target: dict[str, Any], *, skip: tuple[str, ...] = ()) -> list[str]:
    """The ``key=value`` overrides that turn the flat config ``base`` into ``target``.

    A changed ``...name`` (another dataset or model) comes first, since setting it drops the
    old entry's keys.
    """
    changed = [k for k, v in target.items() if k not in skip and (k not in base or _norm(base[k]) != _norm(v))]
    changed.sort(key=lambda k: not k.endswith(".name"))
    return [f"{k}={format_value(target[k])}" for k in changed]


def _norm(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_norm(v) for v in value]
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def resolved(path: Path) -> dict[str, Any]:
    """A recipe or a run's config.yaml as vidgen resolves it (defaults < YAML), as plain data."""
    from vidgen import config as cfgmod
    from vidgen.train.config import ExperimentConfig

    return cfgmod.to_dict(cfgmod.load(ExperimentConfig, path))


def train_command(recipe: str, recipe_config: dict[str, Any], run_config: dict[str, Any]) -> str:
    """``vidgen train RECIPE run_dir=RUN seed=S [overrides]`` that gives the run's config."""
    extra = overrides(flatten(recipe_config), flatten(run_config), skip=("run_dir", "seed"))
    return " ".join(["vidgen train", recipe, "run_dir=RUN", f"seed={run_config.get('seed', 0)}", *extra])


def eval_command(record: dict[str, Any], run_data: dict[str, Any], run_model: dict[str, Any]) -> str | None:
    """The ``vidgen eval`` command of a metric record (None: scored by ``train.metrics`` while training)."""
    if "tick" in record:
        return None
    results = record.get("results") or {}
    words = ["vidgen eval RUN --metric", str(record["metric"])]
    if record["metric"] == "frames":
        words.append(f"--num {record.get('num', results.get('clips'))}")
        if record.get("batch_size", 16) != 16:
            words.append(f"--batch-size {record['batch_size']}")
        for key in ("context", "future"):
            if results.get(key) is not None and results[key] != run_model.get(key):
                words.append(f"--{key} {results[key]}")
    else:
        if results.get("detector"):
            words.append(f"--detector {results['detector']}")
        if results.get("protocol") not in (None, DEFAULT_PROTOCOL) and results["protocol"] in ("tf", "videogpt", "tats"):
            words.append(f"--protocol {results['protocol']}")
        if results.get("precision") == "bf16":
            words.append("--precision bf16")
    if record.get("seed"):
        words.append(f"--seed {record['seed']}")
    words += data_overrides(record, run_data)
    return " ".join(words)


def data_overrides(record: dict[str, Any], run_data: dict[str, Any]) -> list[str]:
    """The ``data.key=value`` overrides of the test set a metric record was scored on."""
    if not isinstance(record.get("data"), dict):
        return []
    return overrides(flatten(run_data, "data"), flatten(record["data"], "data"))


def held_out(record: dict[str, Any], run_data: dict[str, Any], clips: Any) -> str | None:
    """What a metric was scored on when it is not the training data (None: the training data, or no real clips)."""
    changed = data_overrides(record, run_data)
    if not changed or str(record["metric"]).startswith("cond_acc"):
        return None
    text = "`" + " ".join(changed) + "`"
    return f"{text}, {clips} clips" if clips else text


def describe_hardware(run_config: dict[str, Any]) -> str:
    """This machine as the page shows it: the GPU, or the CPU model, threads, bf16 flags; and the precision."""
    import torch

    from vidgen.utils.hw import cpu_has_fast_bf16, cpu_name

    train = run_config.get("train", {})
    device, precision = str(train.get("device", "auto")), str(train.get("precision", "auto"))
    if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        count = torch.cuda.device_count()
        if precision == "auto":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return f"{torch.cuda.get_device_name(0)}, {count} GPU{'s' if count > 1 else ''} visible, {precision}"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    flags = [f for f in ("amx_bf16", "avx512_bf16") if f in cpuinfo] or (["avx2"] if "avx2" in cpuinfo else [])
    threads = train.get("threads") or torch.get_num_threads()
    if precision == "auto":
        precision = "bf16" if cpu_has_fast_bf16() else "fp32"
    return ", ".join([cpu_name(), f"{threads} thread{'s' if threads != 1 else ''}", *flags, precision])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def recipe_name(recipe: Path) -> str:
    """The recipe as the page names it: relative to the repository when inside it."""
    path = recipe.resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else recipe.as_posix()


def run_records(run_dir: str | Path, *, recipe: str | Path, task: str, hardware: str = "auto",
                source: str | None = None, note: str | None = None, speed: bool = True) -> list[dict[str, Any]]:
    """The record lines of one finished run (see the module docstring)."""
    run_dir, recipe = Path(run_dir), Path(recipe)
    if task not in TASK_KEYS:
        raise SystemExit(f"error: --task must be one of {', '.join(TASK_KEYS)}")
    if not (run_dir / "config.yaml").is_file():
        raise SystemExit(f"error: {run_dir} has no config.yaml; is it a folder written by 'vidgen train'?")
    run_config, recipe_config = resolved(run_dir / "config.yaml"), resolved(recipe)
    name = recipe_name(recipe)
    train = train_command(name, recipe_config, run_config)
    ticks = read_jsonl(run_dir / "stats.jsonl") if (run_dir / "stats.jsonl").is_file() else []
    budget = ({"minutes": round(ticks[-1]["seconds"] / 60, 1), "kimg": round(ticks[-1]["kimg"], 1)}
              if ticks else {"minutes": None, "kimg": None})
    machine = describe_hardware(run_config) if hardware == "auto" else hardware
    common = {"recipe": name, "seed": run_config.get("seed", 0)}
    origin = source or f"vidgen train and vidgen eval records of the run folder {run_dir.name}, by benchmarks/record_run.py"
    extra = {"note": note} if note else {}
    out: list[dict[str, Any]] = []
    for path in sorted(run_dir.glob("metric-*.jsonl")):
        lines = read_jsonl(path)
        if not lines:
            continue
        record = lines[-1]  # the newest score
        results = record.get("results") or {}
        command = [train] + [c for c in [eval_command(record, run_config["data"], run_config["model"])] if c]
        date = str(record.get("time", ""))[:10] or _today()
        provenance = {k: record[k] for k in ("step", "kimg", "vidgen_version") if k in record}
        if record["metric"] == "frames":
            split = [(k, {"metric": k, "value": results[k], "protocol": "frames",
                          **{c: results[c] for c in ("clips", "context", "future") if c in results}})
                     for k in FRAME_METRICS if k in results]
        else:
            split = [(str(record["metric"]), results)]
        clips = results.get("real_clips", results.get("clips"))
        for metric, result in split:
            out.append({**common, "task": task, "metric": metric, "results": result,
                        "held_out": held_out(record, run_config["data"], clips), "hardware": machine,
                        "budget": budget, "command": command, "source": origin, "date": date, **extra,
                        **provenance})
    if speed and ticks:
        stats = run_dir / "stats.jsonl"
        date = datetime.fromtimestamp(stats.stat().st_mtime, timezone.utc).date().isoformat()
        value = round(statistics.fmean(t["clips_per_s"] for t in ticks), 1)
        out.append({**common, "task": "speed", "metric": "train_clips_per_s",
                    "results": {"metric": "train_clips_per_s", "value": value, "ticks": len(ticks),
                                "protocol": "mean clips_per_s over the run's ticks"},
                    "held_out": None, "hardware": machine, "budget": budget, "command": [train],
                    "source": origin, "date": date, **extra})
    for i, record in enumerate(out):
        check_record(record, f"record {i + 1}")
    return out


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path, help="a run folder written by vidgen train and scored by vidgen eval")
    p.add_argument("--recipe", type=Path, required=True, help="the recipe file the run was trained from")
    p.add_argument("--task", required=True, choices=TASK_KEYS, help="the results-page task of its metrics")
    p.add_argument("--hardware", default="auto", help="'auto' (describe this machine) or a description")
    p.add_argument("--out", type=Path, default=None,
                   help="records file to append to (default benchmarks/records/<recipe name>.jsonl)")
    p.add_argument("--source", default=None, help="where the figures come from (default: this run folder)")
    p.add_argument("--note", default=None, help="what only this run had (e.g. a machine shared with other work)")
    p.add_argument("--no-speed", action="store_true", help="no train_clips_per_s record (e.g. nothing was trained)")
    p.add_argument("--dry-run", action="store_true", help="print the lines, append nothing")
    args = p.parse_args(argv)
    records = run_records(args.run_dir, recipe=args.recipe, task=args.task, hardware=args.hardware,
                          source=args.source, note=args.note, speed=not args.no_speed)
    if not records:
        print(f"error: {args.run_dir} holds no metric-*.jsonl and no stats.jsonl to record", file=sys.stderr)
        return 1
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if args.dry_run:
        print(text, end="")
        return 0
    out = args.out or ROOT / "benchmarks" / "records" / f"{args.recipe.stem}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as f:
        f.write(text)
    print(f"appended {len(records)} records to {out}; rebuild the page: python benchmarks/results_page.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
