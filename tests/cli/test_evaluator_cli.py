"""``vidgen evaluator train`` and ``vidgen evaluator show``: end to end on tiny settings, and errors."""

from __future__ import annotations

import json
import shlex

import pytest

from vidgen.cli import main
from vidgen.metrics.evaluator import load_evaluator

TINY = ["resolution=16", "frames=4", "num_clips=120", "data.min_size=0.35", "max_size=0.45"]


def test_train_then_show(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("run_dir: runs/x\ndata:\n  name: shapes\n  kinds: [circle, square]\nmodel:\n  name: dcgan3d\n")
    out = tmp_path / "ev"
    argv = ["evaluator", "train", str(recipe), *TINY, "--steps", "6", "--batch-size", "8", "--widths", "4,8",
            "--feature-dim", "8", "--held-out-seed", "3", "--out", str(out), "--name", "two-shapes"]
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "held-out accuracy:" in printed.out and "(2 classes, chance 0.500)" in printed.out
    assert str(out / "evaluator.safetensors") in printed.out and "step" in printed.err
    meta = json.loads((out / "evaluator.json").read_text())
    assert meta["name"] == "two-shapes" and meta["class_names"] == ["circle", "square"]
    assert meta["data"]["resolution"] == 16 and meta["data"]["min_size"] == 0.35 and meta["data"]["seed"] == 0
    assert meta["held_out"]["data"]["seed"] == 3 and meta["train"]["steps"] == 6
    assert meta["architecture"]["widths"] == [4, 8] and meta["architecture"]["frames"] == 4
    # the recorded command repeats the run with every setting spelled out
    command = shlex.split(meta["command"])
    assert command[:4] == ["vidgen", "evaluator", "train", str(recipe)] and "--held-out-seed" in command
    assert command[command.index("--steps") + 1] == "6" and command[command.index("--out") + 1] == str(out)
    assert load_evaluator(out).sha256 == meta["sha256"]

    assert main(["evaluator", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    for text in ("two-shapes", "2: circle, square", "held-out acc", meta["sha256"], "4 frames x 3 channels x 16x16",
                 "vidgen evaluator train"):
        assert text in shown
    assert main(["evaluator", "show", str(out / "evaluator.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == meta


def test_show_a_shipped_evaluator(capsys):
    assert main(["evaluator", "show", "shapes"]) == 0
    out = capsys.readouterr().out
    assert "circle, square, triangle" in out and "trained on:" in out and "held-out acc:  0.9" in out


@pytest.mark.parametrize("argv, message", [
    (["evaluator", "train", "bouncing_balls", "num_clips=8", "--steps", "1"], "1 class(es) ('balls')"),
    (["evaluator", "train", "nosuchset", "--steps", "1"], "unknown dataset 'nosuchset'"),
    (["evaluator", "train", "shapes", "nosuchkey=1", "--steps", "1"], "unknown config key 'data.nosuchkey'"),
    (["evaluator", "train", "shapes", "--held-out", "1.5"], "--held-out must be a fraction"),
    (["evaluator", "train", "shapes", "--steps", "0"], "--steps must be >= 1"),
    (["evaluator", "train", "shapes", "--widths", "8,x"], "--widths must be comma-separated"),
    (["evaluator", "train", "shapes", "--held-out-seed", "0"], "the training set's own seed"),
    (["evaluator", "train", "moving_digits", "--frames", "32"], "reads 32 frames"),
    (["evaluator", "show", "/no/such/folder"], "not a folder and not a shipped evaluator"),
])
def test_errors_are_one_line_with_a_hint(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)] if argv[1] == "train" else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not (tmp_path / "evaluator.json").exists()
