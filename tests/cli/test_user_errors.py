"""What a new user runs into with the README and ``--help`` alone: each mistake gets one line that
names the file or flag, and a hint that says what to do instead."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from vidgen import config as cfgmod
from vidgen.cli import main
from vidgen.io import write_video

RES = 16


def _error(capsys) -> tuple[str, str]:
    """The ``error:`` line and the ``hint:`` line the CLI printed (and nothing else on stderr)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    lines = [line for line in err if line.startswith(("error: ", "hint: "))]
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), err
    return lines[0], lines[1]


# ------------------------------------------------------------------------- unreadable --input


@pytest.mark.parametrize("case", ["text", "truncated"])
def test_an_unreadable_input_is_named_with_how_to_check_it(case, copy_last, tmp_path, capsys):
    if case == "text":
        source = tmp_path / "notes.txt"
        source.write_text("not a video\n")
    else:
        whole = tmp_path / "whole.mp4"
        write_video(whole, np.random.default_rng(0).integers(0, 256, (12, RES, RES, 3), dtype=np.uint8))
        source = tmp_path / "cut.mp4"
        source.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    assert main(["predict", str(copy_last), "--input", str(source), "--out", str(tmp_path / "o.mp4")]) == 2
    error, hint = _error(capsys)
    assert f"{source} is not a readable video" in error and "Errno" not in error
    assert "ffprobe" in hint and "ffmpeg" in hint and "mp4" in hint
    assert "folder of frame images" in hint and ".npy" in hint


# ------------------------------------------------------------------------- flags that do nothing


@pytest.mark.parametrize("argv, fragment", [
    (["sample", "RUN", "--steps", "4", "--out", "x.mp4"], "--steps applies only with --interpolate"),
    (["sample", "RUN", "--interpolate", "0", "1", "--num", "4", "--out", "x.mp4"],
     "--num applies only without --interpolate"),
    (["sample", "RUN", "--interpolate", "0", "1", "--seed", "3", "--out", "x.mp4"],
     "--seed applies only without --interpolate"),
    (["sample", "RUN", "--per-class", "--nrow", "2", "--out", "x.mp4"], "--nrow applies only without --per-class"),
    (["sample", "RUN", "--fps", "4", "--out", "x.png"], "--fps applies only with a video output"),
    (["sample", "RUN", "--nrow", "4", "--out", "x.npy"], "--nrow applies only with a video output"),
    (["sample", "RUN", "--dtype", "float32", "--out", "x.gif"], "--dtype applies only with a .npy output"),
    (["predict", "RUN", "--input", "c.npy", "--fps", "4", "--out", "x.npy"], "--fps applies only with a video"),
    (["reconstruct", "RUN", "--input", "c.npy", "--fps", "4", "--out", "x.png"], "--fps applies only with a video"),
    (["interpolate", "RUN", "--from", "0", "--to", "1", "--nrow", "2", "--out", "x.png"],
     "--nrow applies only with a video"),
    (["data", "preview", "shapes", "--labels", "--out", "x.png", "--num", "2"], "--labels applies only with a grid"),
    (["eval", "--real", "a.npy", "--fake", "b.npy", "--metric", "fvd256_16f", "--num", "64"],
     "--num applies only with a predictor metric (frames): fvd256_16f scores 256 clips"),
    (["eval", "RUN", "--metric", "cond_acc", "--future", "8"], "--future applies only with a predictor metric"),
])
def test_a_flag_that_would_do_nothing_is_refused(argv, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    error, hint = _error(capsys)
    assert fragment in error
    assert not list(tmp_path.iterdir())  # refused before anything is written


def test_labels_of_a_set_without_classes_come_with_a_note(tmp_path, capsys):
    write_video(tmp_path / "clips" / "a.mp4", np.zeros((6, RES, RES, 3), np.uint8))
    assert main(["data", "preview", "folder", f"path={tmp_path / 'clips'}", "frames=4", f"resolution={RES}",
                 f"cache_dir={tmp_path / 'cache'}", "--labels", "--num", "1", "--out", str(tmp_path / "p.gif")]) == 0
    assert "note: --labels shows nothing: this folder set has no classes" in capsys.readouterr().err


# ------------------------------------------------------------------------- predictors, recipes, resume


def test_predict_on_a_gan_lists_every_registered_predictor(tmp_path, capsys):
    from vidgen.cli.loading import predictor_names
    from vidgen.io.checkpoint import save_export
    from vidgen.models import build_model
    from vidgen.models.gan.dcgan3d import DCGAN3DConfig
    from vidgen.registry import MODELS

    config = DCGAN3DConfig(z_dim=4, g_channels=4, d_channels=4)
    gen = build_model(config, frames=4, resolution=RES, channels=3).generator
    save_export(tmp_path / "gan", {f"generator.{k}": v for k, v in gen.state_dict().items()},
                {"family": "gan", "model": {"name": "dcgan3d", **cfgmod.to_dict(config)},
                 "video": {"frames": 4, "resolution": RES, "channels": 3}})
    np.save(tmp_path / "c.npy", np.zeros((8, RES, RES, 3), np.uint8))
    assert main(["predict", str(tmp_path / "gan"), "--input", str(tmp_path / "c.npy"),
                 "--out", str(tmp_path / "o.mp4")]) == 2
    error, _ = _error(capsys)
    names = predictor_names()
    assert {e.name for e in MODELS if e.meta["family"] == "predictor"} | {"svg"} <= set(names)
    assert "simvp" in names and "vae3d" not in names and "dcgan3d" not in names
    assert f"({', '.join(names)})" in error


@pytest.mark.parametrize("text", ["", "# a recipe to write later\n\n"])
def test_an_empty_recipe_is_refused(text, tmp_path, capsys):
    recipe = tmp_path / "empty.yaml"
    recipe.write_text(text)
    # (a budget of one step, so that a recipe taken for the defaults fails fast instead of training them)
    assert main(["train", str(recipe), f"run_dir={tmp_path / 'run'}", "train.kimg=0.001"]) == 2
    error, hint = _error(capsys)
    assert f"recipe {recipe} is empty" in error and "'model:'" in error
    assert "configs/" in hint
    assert not (tmp_path / "run").exists()


def test_a_recipe_without_model_or_data_is_refused(tmp_path, capsys):
    recipe = tmp_path / "train_only.yaml"
    recipe.write_text("train:\n  kimg: 1\n")
    assert main(["train", str(recipe), "--dry-run"]) == 2
    error, hint = _error(capsys)
    assert "names no model and no data (it sets train)" in error and "configs/" in hint
    assert main(["train", str(recipe), "--dry-run", "data.name=shapes"]) == 0  # named on the command line


def test_resuming_a_finished_run_says_so_and_how_to_train_longer(copy_last, capsys):
    assert main(["train", "--resume", str(copy_last)]) == 0
    out = capsys.readouterr().out
    assert "nothing to train: this run already finished at 0.008 kimg (train.kimg=0.008)" in out
    assert f"vidgen train --resume {copy_last} train.kimg=0.016" in out


# ------------------------------------------------------------------------- --detector typos


def test_a_detector_typo_lists_the_shipped_evaluators_and_the_i3d_files(tmp_path, capsys):
    from vidgen.metrics.evaluator import shipped_evaluators
    from vidgen.metrics.i3d import I3D_STATE_DICT, I3D_TORCHSCRIPT

    np.save(tmp_path / "a.npy", np.zeros((2, 4, 8, 8, 3), np.uint8))
    argv = ["eval", "--real", str(tmp_path / "a.npy"), "--fake", str(tmp_path / "a.npy"), "--metric", "fvd2_4f"]
    assert main([*argv, "--detector", "shapez"]) == 2
    error, hint = _error(capsys)
    assert "no detector 'shapez'" in error
    assert "did you mean 'shapes'?" in hint
    assert shipped_evaluators() and all(name in hint for name in shipped_evaluators())
    assert I3D_TORCHSCRIPT.name in hint and I3D_STATE_DICT.name in hint
    assert main([*argv, "--detector", "zzz"]) == 2
    assert "did you mean" not in _error(capsys)[1]


def test_a_cond_acc_evaluator_typo_suggests_the_shipped_one():
    from vidgen.errors import VidgenError
    from vidgen.metrics.detectors import load_evaluator_for

    with pytest.raises(VidgenError) as e:
        load_evaluator_for("moving_digit")
    assert "no evaluator 'moving_digit'" in e.value.message and "did you mean 'moving_digits'?" in e.value.hint
    assert "i3d" not in e.value.hint  # an I3D cannot classify


# ------------------------------------------------------------------------- vidgen --help


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["sample", "--help"], ["predict", "--help"],
                                  ["--version"]])
def test_help_imports_no_heavy_module(argv):
    code = ("import sys\nfrom vidgen.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'av', 'cv2', 'tensorboard', 'vidgen.models') if m in sys.modules))"
            % (argv,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]", out
