"""The results page: built from record lines, current with the committed records, fed by run folders."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    """Import benchmarks/<name>.py (the benchmarks folder is no package)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


results_page = _script("results_page")


def _record(recipe: str, seed: int | None, metric: str, value: float, **extra) -> dict:
    return {"recipe": recipe, "task": "unconditional", "seed": seed, "metric": metric,
            "results": {"metric": metric, "value": value}, "held_out": None, "hardware": "CPU X, 2 threads, fp32",
            "budget": {"minutes": 15, "kimg": 10.0 + (seed or 0)},
            "command": [f"vidgen train {recipe} run_dir=RUN seed={seed}", "vidgen eval RUN --metric " + metric],
            "source": "a test", "date": "2026-12-01", **extra}


def _write(folder: Path, name: str, records: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in records))


def test_page_rows_mean_spread_and_commands(tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        (configs / name).write_text("model:\n  name: dcgan3d\n")
    (configs / "p.yaml").write_text("model:\n  name: simvp\n")
    records = [_record("configs/a.yaml", s, "fvd1024_16f", v) for s, v in ((0, 1.0), (1, 2.0), (2, 4.0))]
    records += [_record("configs/a.yaml", 0, "fvd1024_16f", 9.0, date="2026-11-01"),  # older: replaced
                _record("configs/b.yaml", 0, "fvd1024_16f", 258, held_out="`data.seed=1`"),
                {**_record("configs/b.yaml", None, "step_clips_per_s", 219.0), "task": "speed",
                 "budget": {"steps": 20}, "command": ["python benchmarks/train_throughput.py --config configs/b.yaml"]}]
    _write(tmp_path / "records", "x.jsonl", records)
    out = tmp_path / "results.md"
    assert results_page.main(["--records", str(tmp_path / "records"), "--configs", str(configs),
                              "--out", str(out), "--root", str(tmp_path)]) == 0
    page = out.read_text()
    assert "python benchmarks/results_page.py" in page.splitlines()[2]  # the header says how to regenerate it
    assert "smallest and largest value" in page  # the spread is min/max, and the page says so
    row_a = next(line for line in page.splitlines() if line.startswith("| `configs/a.yaml`"))
    assert "| 3 seeds (0, 1, 2) |" in row_a and "| 2.3 (1.0–4.0) |" in row_a and "15 min, 10.0–12.0 kimg" in row_a
    row_b = next(line for line in page.splitlines() if line.startswith("| `configs/b.yaml`"))
    assert "| 1 seed (0) |" in row_b and "| 258 |" in row_b and "`data.seed=1`" in row_b
    # commands: one per row, seeds merged into seed=S
    assert "  vidgen train configs/a.yaml run_dir=RUN seed=S" in page
    assert "  vidgen train configs/b.yaml run_dir=RUN seed=0" in page
    assert "seed=9" not in page and "| 9.0" not in page
    speed = page[page.index("## Speed"):]
    assert "| 219.0 |" in speed and "20 timed steps" in speed and "train_throughput.py --config configs/b.yaml" in speed
    # recipes without a row are listed under their task
    assert "without a measured row here yet: `configs/c.yaml`." in page
    prediction = page[page.index("## Next-frame prediction"):page.index("## Clip VAE")]
    assert "No measured row yet." in prediction and "`configs/p.yaml`" in prediction
    # --check: current, then stale
    args = ["--records", str(tmp_path / "records"), "--configs", str(configs), "--out", str(out),
            "--root", str(tmp_path), "--check"]
    assert results_page.main(args) == 0
    out.write_text(page.replace("2.3", "2.4"))
    assert results_page.main(args) == 1


def test_bad_record_is_refused(tmp_path, capsys):
    _write(tmp_path / "records", "x.jsonl", [{**_record("configs/a.yaml", 0, "mse", 1.0), "task": "nope"}])
    assert results_page.main(["--records", str(tmp_path / "records"), "--out", str(tmp_path / "r.md")]) == 2
    assert "x.jsonl:1" in capsys.readouterr().err


def test_committed_page_is_current():
    assert results_page.main(["--check"]) == 0, "regenerate it: python benchmarks/results_page.py"


def test_committed_records_name_shipped_recipes():
    for record in results_page.read_records(ROOT / "benchmarks" / "records"):
        if "recipe" in record:
            assert (ROOT / record["recipe"]).is_file(), record["recipe"]
            assert record["command"][0].startswith(("vidgen train " + record["recipe"], ".venv/bin/python benchmarks/"))


@pytest.fixture
def fake_run(tmp_path):
    """A recipe and a run folder as vidgen train and vidgen eval leave them (no training)."""
    from vidgen import config as cfgmod
    from vidgen.train.config import ExperimentConfig

    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("run_dir: runs/tiny\ndata:\n  name: shapes\n  resolution: 16\n  frames: 4\n"
                      "model:\n  name: dcgan3d\n  g_channels: 8\n  d_channels: 8\ntrain:\n  batch_size: 4\n  kimg: 1\n")
    run = tmp_path / "run"
    run.mkdir()
    config = cfgmod.load(ExperimentConfig, recipe, ["seed=2", "train.minutes=15", "model.g_channels=16",
                                                    f"run_dir={run}"])
    (run / "config.yaml").write_text(cfgmod.dump_yaml(config))
    (run / "stats.jsonl").write_text(
        json.dumps({"tick": 1, "step": 10, "kimg": 0.5, "seconds": 30.0, "clips_per_s": 20.0}) + "\n"
        + json.dumps({"tick": 2, "step": 20, "kimg": 1.0, "seconds": 60.0, "clips_per_s": 10.0}) + "\n")
    data = {**cfgmod.to_dict(config)["data"], "seed": 1}
    (run / "metric-fvd256_16f.jsonl").write_text(json.dumps(
        {"metric": "fvd256_16f", "checkpoint": str(run), "model": "dcgan3d", "step": 20, "kimg": 1.0, "data": data,
         "seed": 0, "results": {"metric": "fvd256_16f", "value": 12.5, "protocol": "styleganv", "detector": "shapes",
                                "detector_sha256": "ab", "precision": "fp32", "real_clips": 256, "fake_clips": 256,
                                "frames": 16},
         "seconds": 3.0, "vidgen_version": "0", "time": "2026-12-07T10:00:00+00:00"}) + "\n")
    return recipe, run


def test_record_run_turns_a_run_folder_into_records(fake_run, tmp_path):
    record_run = _script("record_run")
    recipe, run = fake_run
    out = tmp_path / "records" / "tiny.jsonl"
    assert record_run.main([str(run), "--recipe", str(recipe), "--task", "unconditional",
                            "--hardware", "CPU X, 1 thread, fp32", "--out", str(out)]) == 0
    fvd, speed = [json.loads(line) for line in out.read_text().splitlines()]
    train = f"vidgen train {recipe.as_posix()} run_dir=RUN seed=2 model.g_channels=16 train.minutes=15.0"
    assert fvd["metric"] == "fvd256_16f" and fvd["results"]["value"] == 12.5
    assert fvd["results"]["detector_sha256"] == "ab"  # the metric record's results, as written
    assert (fvd["task"], fvd["seed"], fvd["hardware"]) == ("unconditional", 2, "CPU X, 1 thread, fp32")
    assert fvd["budget"] == {"minutes": 1.0, "kimg": 1.0} and fvd["date"] == "2026-12-07"
    assert fvd["command"] == [train, "vidgen eval RUN --metric fvd256_16f --detector shapes data.seed=1"]
    assert fvd["held_out"] == "`data.seed=1`, 256 clips"
    assert speed["task"] == "speed" and speed["metric"] == "train_clips_per_s"
    assert speed["results"]["value"] == 15.0 and speed["command"] == [train]
    # the page reads them
    records = results_page.read_records(out.parent)
    assert [r["metric"] for r in records] == ["fvd256_16f", "train_clips_per_s"]


def test_record_run_splits_frame_metrics(fake_run):
    record_run = _script("record_run")
    recipe, run = fake_run
    (run / "metric-fvd256_16f.jsonl").unlink()
    config = json.loads(json.dumps(record_run.resolved(run / "config.yaml")))
    data = {**config["data"], "seed": 1, "num_clips": 100}
    (run / "metric-frames.jsonl").write_text(json.dumps(
        {"metric": "frames", "data": data, "num": 100, "batch_size": 16, "seed": 0,
         "results": {"mse": 97.7, "mae": 195.9, "ssim": 0.73, "psnr": 16.5, "clips": 100, "context": 10,
                     "future": 10}}) + "\n")
    records = record_run.run_records(run, recipe=recipe, task="prediction", hardware="h", speed=False)
    assert [(r["metric"], r["results"]["value"]) for r in records] == [
        ("mse", 97.7), ("mae", 195.9), ("ssim", 0.73), ("psnr", 16.5)]
    assert records[0]["command"][1] == ("vidgen eval RUN --metric frames --num 100 --context 10 --future 10 "
                                        "data.seed=1 data.num_clips=100")
    assert records[0]["held_out"] == "`data.seed=1 data.num_clips=100`, 100 clips"
