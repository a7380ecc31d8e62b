"""Build docs/results.md from the measurement records in benchmarks/records/*.jsonl.

    python benchmarks/results_page.py            # write docs/results.md
    python benchmarks/results_page.py --check    # exit 1 when docs/results.md is not what the records give

A record is one JSON line per (recipe, seed, metric) measurement, in the shape of the metric
records ``vidgen eval`` and ``train.metrics`` write, plus what a results row needs::

    {"recipe": "configs/mocogan_cond_shapes64.yaml",   # or "reference": "real clips, ..." (a row that is no recipe)
     "task": "conditional",                            # unconditional, conditional, prediction, vae, speed
     "seed": 0,                                        # the training seed (null: not seeded, e.g. a step benchmark)
     "metric": "fvd1024_16f",
     "results": {"value": 4.8, "detector": "shapes", ...},
     "held_out": "...",                                # what the row was scored on, when not the training data (or null)
     "hardware": "AMD EPYC, 2 threads, avx512_bf16, bf16",
     "budget": {"minutes": 15, "kimg": 39.7},          # and/or {"steps": 10} for a step benchmark
     "command": ["vidgen train ...", "vidgen eval ..."],
     "source": "...", "date": "2026-12-06",
     "note": "...",                                    # optional: what only this seed's run had
     "figure": {"path": "docs/x.png", "caption": "..."}}   # optional

``benchmarks/record_run.py`` writes such lines from a finished run folder. The page has one
table per task and one row per recipe and hardware: per metric the mean over the seeds
and, in brackets, the spread as the smallest and largest value over those seeds. Where a
(recipe, hardware, metric, seed) was measured more than once, the newest record counts.
Shipped recipes (``configs/*.yaml``) without a row are listed under their task.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]

# (key, title, what the task's rows show); the order of the page
TASKS = (
    ("unconditional", "Unconditional generation",
     "Clips generated from noise, scored against real clips of the training set's distribution."),
    ("conditional", "Class-conditional generation",
     "Clips generated for a class asked for; `cond_acc` says whether they show that class."),
    ("prediction", "Next-frame prediction",
     ("Future frames predicted from context frames (Moving MNIST: 10 frames in, 10 predicted, 64x64, "
     "two digits), scored against the true future of test clips.")),
    ("vae", "Clip VAE", "Clips encoded to and decoded from a latent space; samples of its prior."),
    ("denoise", "Video denoising",
     ("Held-out `photo_pans` clips (real photographs under a moving camera; source images no network was "
      "trained on) with Gaussian noise of sigma 10, 30 and 50 (0-255 scale), denoised and scored against the "
      "clean clips; the noise level is estimated from the clip (`vidgen post --ops denoise [denoise.model=RUN]`).")),
    ("interpolation", "Frame interpolation",
     ("Every other frame of held-out `photo_pans` clips dropped and put back by `interpolate:x2` "
      "(`interpolate.model=RUN` for a learned one), scored against the dropped frames.")),
    ("deflicker", "Deflicker",
     ("Held-out `photo_pans` clips with flicker added (`gain`: a per-frame gain per channel in [0.85, 1.15]; "
      "`light`: that, a per-frame gamma in [0.9, 1.1] and a smooth per-frame gain field within +-0.15), "
      "deflickered (`deflicker.model=RUN` for a learned one); the warping error with the exact flow and the "
      "PSNR to the clean clip.")),
    ("sharpen", "Sharpen", "What `sharpen` (amount 0.6) does to the warping error of clean held-out clips."),
    ("super_resolution", "Video super-resolution",
     ("Held-out `photo_pans` clips (source images no network was trained on) made low-resolution by BI x4 "
      "(MATLAB bicubic with antialiasing), upscaled, and scored by the published protocol (`vidgen.metrics.sr`: "
      "Y channel BT.601 and RGB, per clip then over clips, border crop 0) with TecoGAN's tOF; the bicubic row "
      "upscales with MATLAB's bicubic. `vidgen upscale RUN --input VIDEO --out OUT`, `--ops upscale:RUN`.")),
    ("post_speed", "Post-processing speed",
     "Input frames per second of each post-processing op (`benchmarks/post_speed.py`), classical and learned."),
    ("speed", "Speed", "How fast a recipe trains: in its measured runs, and in step benchmarks."),
)
TASK_KEYS = tuple(key for key, _, _ in TASKS)

# metric name pattern -> (short meaning, "lower"/"higher"/None is better); the legend of the page
METRICS = (
    (r"fvd(\d+)_(\d+)f", ("Fréchet distance between the detector's features of {0} generated and {0} real clips "
     "of {1} frames (`vidgen eval --metric fvd{0}_{1}f`, `docs/metrics.md`); detector `shapes` is the shipped "
     "domain evaluator of the `shapes` set"), "lower"),
    (r"kvd(\d+)_(\d+)f", "kernel (MMD) distance on the same features as `fvd{0}_{1}f`", "lower"),
    (r"cond_acc(\d+)", ("share of {0} class-conditional samples that the detector (a domain evaluator) classifies "
     "as the class asked for; chance is 1 / classes"), "higher"),
    (r"colour_drift(\d+)", ("mean RGB distance (each channel in [0, 1]) between the object's colour in the last "
     "frame and in the first, over {0} samples (seeds 0-{last}), `benchmarks/gan_consistency.py`"), "lower"),
    (r"size_kept(\d+)", ("smallest over largest object area within a clip (0: the object vanishes), mean over "
     "{0} samples, `benchmarks/gan_consistency.py`"), "higher"),
    (r"one_object(\d+)", ("fraction of the frames of {0} samples that hold exactly one connected object, "
     "`benchmarks/gan_consistency.py`"), "higher"),
    (r"mse", ("squared error summed over a frame's pixels in [0, 1], mean over the predicted frames and "
     "test clips (`vidgen eval --metric frames`)"), "lower"),
    (r"mae", ("absolute error summed over a frame's pixels in [0, 1], mean over the predicted frames and "
     "test clips (`vidgen eval --metric frames`)"), "lower"),
    (r"ssim", "mean SSIM of the predicted frames (`vidgen eval --metric frames`)", "higher"),
    (r"psnr", "mean PSNR of the predicted frames in dB (`vidgen eval --metric frames`)", "higher"),
    (r"train_clips_per_s", ("training clips per second: the mean `clips_per_s` of the run's ticks "
     "(`stats.jsonl`)"), "higher"),
    (r"step_clips_per_s", ("clips per second of the recipe's training step (every phase, optimizers and EMA; "
     "median after warm-up), `benchmarks/train_throughput.py --config RECIPE`"), "higher"),
    (r"step_ms", ("milliseconds per training step at the recipe's batch (median after warm-up), "
     "`benchmarks/train_throughput.py --config RECIPE`"), "lower"),
    (r"official_size_clips_per_s", ("clips per second of training steps at the official MoCoGAN code's default "
     "size (3 clips of 16x3x64x64 a step, `model.image_batch=4`) with the recipe's options, "
     "`benchmarks/mocogan_speed.py`"), "higher"),
    (r"x_official_replica", ("`official_size_clips_per_s` over the clips per second of a replica of the official "
     "MoCoGAN training step (fp32) timed on the same machine, `benchmarks/mocogan_speed.py --reference`"), "higher"),
    (r"psnr_sigma(\d+)", "PSNR in dB of the denoised clips at noise sigma {0}", "higher"),
    (r"ssim_sigma(\d+)", "SSIM of the denoised clips at noise sigma {0}", "higher"),
    (r"psnr_x2", "PSNR in dB of the frames put back between kept ones", "higher"),
    (r"ssim_x2", "SSIM of the frames put back between kept ones", "higher"),
    (r"ewarp1e3_(\w+)", ("warping error E_warp x 1000 with the exact flow (`docs/metrics.md`) of the `{0}` "
     "flicker clips after the op"), "lower"),
    (r"psnr_(gain|light)", "PSNR in dB to the clean clip of the `{0}` flicker clips after the op", "higher"),
    (r"ewarp1e3", "warping error E_warp x 1000 with the exact flow (`docs/metrics.md`)", "lower"),
    (r"(psnr|ssim)_(y|rgb)_x4bi", ("{0} on {1} of the x4 BI upscales of held-out clips (`vidgen.metrics.sr`, "
     "BasicSR's protocol)"), "higher"),
    (r"tof_x4bi", "tOF (TecoGAN, Farneback flow) of the x4 BI upscales against the ground truth", "lower"),
    (r"psnr_y_drift(\d+)", ("slope, in dB per 100 frames, of the Y-PSNR gain over bicubic along held-out clips "
     "of {0} frames (0: no drift; `benchmarks/vsr_quality.py --drift`)"), None),
    (r"fps_(\w+)", "input frames per second at {0} (`benchmarks/post_speed.py`, `benchmarks/vsr_speed.py`)",
     "higher"),
    (r"peak_rss_mib_(\w+)", "peak resident memory in MiB of `vidgen upscale` on a {0} video (`benchmarks/vsr_speed.py`)",
     "lower"),
    (r"peak_fraction_bf16", ("FLOP/s of the recipe's training step over the machine's measured bf16 matmul peak "
     "(`benchmarks/train_throughput.py --config RECIPE`)"), "higher"),
)
ARROW = {"lower": " ↓", "higher": " ↑", None: ""}
# where the model of a recipe file puts it when it has no row yet
PREDICTORS = {"copy_last", "convlstm", "predrnn", "simvp", "svg"}
CLIP_VAES = {"vae3d"}
RESTORERS = {"fastdvdnet": "denoise", "ifnet": "interpolation", "deflickernet": "deflicker",
             "basicvsr": "super_resolution"}

REQUIRED = ("task", "seed", "metric", "results", "held_out", "hardware", "budget", "command", "source", "date")


class RecordError(ValueError):
    """A record line that the page cannot use; the message names the file and line."""


def metric_info(name: str) -> tuple[int, str, str | None]:
    """(order on the page, meaning, which way is better) of a metric name."""
    for order, (pattern, text, better) in enumerate(METRICS):
        m = re.fullmatch(pattern, name)
        if m:
            groups = m.groups()
            last = int(groups[0]) - 1 if groups and groups[0].isdigit() else 0
            return order, text.format(*groups, last=last), better
    return len(METRICS), "", None


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every record of ``folder/*.jsonl``, checked, in file and line order."""
    records = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise RecordError(f"{where}: not JSON ({e})") from None
            check_record(record, where)
            records.append({**record, "_order": len(records)})
    return records


def check_record(record: Any, where: str) -> None:
    if not isinstance(record, dict):
        raise RecordError(f"{where}: a record is a JSON object")
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise RecordError(f"{where}: missing {', '.join(missing)}")
    if ("recipe" in record) == ("reference" in record):
        raise RecordError(f"{where}: a record names either a recipe or a reference row")
    if record["task"] not in TASK_KEYS:
        raise RecordError(f"{where}: task {record['task']!r} is none of {', '.join(TASK_KEYS)}")
    value = record["results"].get("value") if isinstance(record["results"], dict) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise RecordError(f"{where}: results.value must be a number")
    if not isinstance(record["command"], list) or not record["command"] or \
            not all(isinstance(c, str) and c for c in record["command"]):
        raise RecordError(f"{where}: command is a non-empty list of command lines")
    if not isinstance(record["budget"], dict):
        raise RecordError(f"{where}: budget is an object, e.g. {{\"minutes\": 15, \"kimg\": 40.1}}")


MAX_DECIMALS = 4  # a value computed to the last bit is shown to 4 decimals


def decimals(value: float) -> int | None:
    """The decimals ``value`` was recorded with, at most :data:`MAX_DECIMALS` (None: too large or small to say)."""
    if isinstance(value, int):
        return 0
    text = repr(float(value))
    if "e" in text or "inf" in text or "nan" in text:
        return None
    return min(MAX_DECIMALS, len(text.split(".")[1])) if "." in text else 0


def fmt(value: float, places: int | None = None) -> str:
    """``value`` with ``places`` decimals (default: as recorded); four significant digits when unsure."""
    places = decimals(value) if places is None else places
    if places is None:
        return f"{value:.4g}"
    return f"{value:.{places}f}"


def cell(values: list[float]) -> str:
    """``mean (min–max)`` over seeds, all with the most decimals any value was recorded with; or the value alone."""
    places = [decimals(v) for v in values]
    common = None if None in places else max(places)
    if len(values) == 1:
        return fmt(values[0], common)
    return f"{fmt(statistics.fmean(values), common)} ({fmt(min(values), common)}–{fmt(max(values), common)})"


def merge_budgets(budgets: list[dict[str, Any]]) -> str:
    """One text for a row: equal minutes said once, kimg as a range over the seeds."""
    trained = [b for b in budgets if b.get("minutes") is not None or b.get("kimg") is not None]
    texts = []
    for minutes in sorted({b.get("minutes") for b in trained}, key=lambda m: (m is None, m)):
        group = [b for b in trained if b.get("minutes") == minutes]
        kimg = sorted({b["kimg"] for b in group if b.get("kimg") is not None})
        parts = [f"{fmt(minutes)} min"] if minutes is not None else []
        if kimg:
            places = max(decimals(k) or 0 for k in kimg)
            parts.append(f"{fmt(kimg[0], places)} kimg" if len(kimg) == 1 else
                         f"{fmt(kimg[0], places)}–{fmt(kimg[-1], places)} kimg")
        texts.append(", ".join(parts))
    for steps in sorted({b["steps"] for b in budgets if b.get("steps") is not None}):
        texts.append(f"{steps} timed steps")
    return "; ".join(texts) or "-"


def newest(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (task, row, hardware, metric, seed): the newest (by date, then by order)."""
    best: dict[tuple, dict[str, Any]] = {}
    for r in records:
        key = (r["task"], r.get("recipe"), r.get("reference"), r["hardware"], r["metric"], r["seed"])
        if key not in best or (str(r["date"]), r["_order"]) >= (str(best[key]["date"]), best[key]["_order"]):
            best[key] = r
    return sorted(best.values(), key=lambda r: r["_order"])


def unify_commands(records: list[dict[str, Any]]) -> list[str]:
    """The distinct command lines of a row, in order; lines that differ only in ``seed=N`` are merged."""
    seeds = sorted({r["seed"] for r in records if r["seed"] is not None})
    lines: list[str] = []
    for r in records:
        for line in r["command"]:
            if len(seeds) > 1:
                line = re.sub(r"(?<![\w.])seed=\d+\b", "seed=S", line)
            if line not in lines:
                lines.append(line)
    return lines


def seeds_text(seeds: list[int]) -> str:
    if not seeds:
        return "-"
    listed = ", ".join(map(str, seeds))
    return f"1 seed ({listed})" if len(seeds) == 1 else f"{len(seeds)} seeds ({listed})"


def row_label(first: dict[str, Any]) -> str:
    if "recipe" in first:
        return f"`{first['recipe']}`"
    return f"*reference: {first['reference']}*"


def task_section(title: str, about: str, records: list[dict[str, Any]], unmeasured: list[str]) -> list[str]:
    """The Markdown of one task: its table, the commands and sources of its rows, its figures."""
    out = [f"## {title}", "", about, ""]
    if not records:
        out += ["No measured row yet.", ""]
    else:
        metrics = sorted({r["metric"] for r in records}, key=lambda m: (metric_info(m)[0], m))
        held_column = any(r["held_out"] for r in records)
        rows: dict[tuple, list[dict[str, Any]]] = {}
        for r in records:  # recipes first, then references; each by name, then hardware
            key = ("recipe" not in r, r.get("recipe") or r["reference"], r["hardware"] or "")
            rows.setdefault(key, []).append(r)
        header = ["recipe", "seeds", "hardware", "budget"]
        header += [f"`{m}`{ARROW[metric_info(m)[2]]}" for m in metrics] + (["held-out set"] if held_column else [])
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * 4 + "---:|" * len(metrics) + ("---|" if held_column else ""))
        for key in sorted(rows):
            group = rows[key]
            seeds = sorted({r["seed"] for r in group if r["seed"] is not None})
            cells = [row_label(group[0]), seeds_text(seeds), group[0]["hardware"] or "-",
                     merge_budgets([r["budget"] for r in group])]
            for m in metrics:
                values = [r["results"]["value"] for r in group if r["metric"] == m]
                cells.append(cell(values) if values else "-")
            if held_column:
                cells.append("; ".join(distinct(r["held_out"] for r in group)) or "-")
            out.append("| " + " | ".join(cells) + " |")
        out += ["", ("How to reproduce each row (`RUN` is a run folder of your choice; `seed=S` takes each seed "
                "listed):"), ""]
        for key in sorted(rows):
            group = rows[key]
            where = f", {group[0]['hardware']}" if group[0]["hardware"] else ""
            sources = "; ".join(distinct(f"{r['source']} ({r['date']})" for r in group))
            notes = "".join(f" Seed {r['seed']}: {r['note']}." if r["seed"] is not None else f" {r['note']}."
                            for r in distinct_notes(group))
            out.append(f"- {row_label(group[0])}{where}. Source: {sources}.{notes}")
            out += ["", "  ```", *(f"  {line}" for line in unify_commands(group)), "  ```", ""]
        figures: list[dict[str, str]] = []
        for r in records:
            if r.get("figure") and r["figure"]["path"] not in [f["path"] for f in figures]:
                figures.append(r["figure"])
        for figure in figures:
            path = Path(figure["path"])
            link = path.name if path.parent.as_posix() == "docs" else f"../{path.as_posix()}"
            out += [f"![{path.stem}]({link})", "", f"*{figure['caption']}*", ""]
    if unmeasured:
        out += ["Shipped recipes without a measured row here yet: "
                + ", ".join(f"`{name}`" for name in unmeasured) + ".", ""]
    return out


def distinct(items: Any) -> list[Any]:
    """The truthy items, each once, in order."""
    seen: list[Any] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen


def distinct_notes(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of a row that carry a ``note``, one per (seed, note)."""
    seen, out = set(), []
    for r in group:
        if r.get("note") and (r["seed"], r["note"]) not in seen:
            seen.add((r["seed"], r["note"]))
            out.append(r)
    return out


def recipe_task(path: Path) -> str | None:
    """The quality task a recipe file belongs to, read from its model (None: not a readable recipe)."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    model = data.get("model") if isinstance(data, dict) else None
    name = model.get("name") if isinstance(model, dict) else None
    if name in PREDICTORS:
        return "prediction"
    if name in CLIP_VAES:
        return "vae"
    if name in RESTORERS:
        return RESTORERS[name]
    if isinstance(model, dict) and model.get("conditional"):
        return "conditional"
    return "unconditional"


def build_page(records: list[dict[str, Any]], recipes: list[Path], root: Path) -> str:
    """The Markdown of docs/results.md from checked records and the shipped recipe files."""
    chosen = newest(records)
    names = {p: p.relative_to(root).as_posix() if p.is_relative_to(root) else p.name for p in recipes}
    lines = [
        "# Results",
        "",
        ("<!-- Generated by `python benchmarks/results_page.py` from `benchmarks/records/*.jsonl`; "
        "do not edit by hand. -->"),
        "",
        ("This page is generated: `python benchmarks/results_page.py` rebuilds it from the measurement "
        "records in `benchmarks/records/*.jsonl` (one JSON line per recipe, seed and metric), and "
        "`python benchmarks/results_page.py --check` says whether it is current. A run of your own "
        "becomes records with `python benchmarks/record_run.py RUN --recipe configs/x.yaml --task TASK` "
        "after `vidgen train` and `vidgen eval`."),
        "",
        ("Each row is one shipped recipe (a file in `configs/`) on one kind of hardware, trained for the "
        "budget shown. A metric cell is the **mean over the seeds listed, with the spread in brackets as "
        "the smallest and largest value over those seeds** (one seed: the value alone, no spread). "
        "↓: lower is better, ↑: higher is better. *Reference* rows are no recipe (real clips, for "
        "scale). \"Held-out set\" names the clips a row was scored on when they are not the training "
        "data. The commands under each table reproduce its rows; the source says where each figure "
        "comes from. What the runs taught along the way is in the training guide's "
        "[What we learned](training.md#what-we-learned)."),
        "",
    ]
    shown = [m for m in sorted({r["metric"] for r in chosen}, key=lambda m: (metric_info(m)[0], m))]
    lines += ["Metrics:", ""]
    for m in shown:
        _, text, better = metric_info(m)
        lines.append(f"- `{m}`: {text or 'see the row commands'}"
                     + (f" ({better} is better)." if better else "."))
    lines.append("")
    for key, title, about in TASKS:
        task_records = [r for r in chosen if r["task"] == key]
        measured = {r["recipe"] for r in task_records if "recipe" in r}
        if key == "speed":
            unmeasured = [names[p] for p in recipes if names[p] not in measured]
        else:
            unmeasured = [names[p] for p in recipes if recipe_task(p) == key and names[p] not in measured]
        lines += task_section(title, about, task_records, unmeasured)
    return "\n".join(lines).rstrip() + "\n"


def shipped_recipes(configs: Path) -> list[Path]:
    """The recipe files: ``configs/*.yaml`` (the tests' ``configs/debug/`` ones are not shipped recipes)."""
    return sorted(configs.glob("*.yaml"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=Path, default=ROOT / "benchmarks" / "records", help="folder of *.jsonl records")
    p.add_argument("--configs", type=Path, default=ROOT / "configs", help="folder of the shipped recipes")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md", help="the page to write or check")
    p.add_argument("--root", type=Path, default=ROOT, help="paths on the page are relative to this folder")
    p.add_argument("--check", action="store_true", help="exit 1 when --out differs from what the records give")
    args = p.parse_args(argv)
    try:
        records = read_records(args.records)
    except RecordError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    page = build_page(records, shipped_recipes(args.configs.resolve()), args.root.resolve())
    if args.check:
        current = args.out.read_text() if args.out.is_file() else None
        if current != page:
            print(f"{args.out} is not what the records give; regenerate it: python benchmarks/results_page.py",
                  file=sys.stderr)
            return 1
        print(f"{args.out} is current ({len(records)} records)")
        return 0
    args.out.write_text(page)
    print(f"wrote {args.out} ({len(records)} records)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
