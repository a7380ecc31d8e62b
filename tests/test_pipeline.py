"""`input -> pre -> model -> post -> output` from a YAML description, end to end on small inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidgen.cli import main
from vidgen.errors import ConfigError
from vidgen.io import read_video
from vidgen.pipeline import load_pipeline, run_pipeline

PREDICTOR = Path(__file__).resolve().parent / "fixtures" / "exports_v1" / "convlstm_tiny"


def _input(tmp_path, frames=8, size=40):
    clip = (np.random.default_rng(0).random((frames, size, size, 3)) * 255).astype(np.uint8)
    np.save(tmp_path / "in.npy", clip)
    return tmp_path / "in.npy"


def test_pre_and_post_without_a_model(tmp_path):
    src = _input(tmp_path)
    (tmp_path / "p.yaml").write_text(f"input: {src}\noutput: {tmp_path / 'out.mp4'}\npre:\n  resize: 32\n  crop: 32\n"
                                     "post: deflicker,interpolate:x2\n")
    result = run_pipeline(load_pipeline(tmp_path / "p.yaml"))
    out = read_video(tmp_path / "out.mp4")
    assert out.shape == (15, 32, 32, 3) and result["frames"] == [8, 15]
    assert read_video(result["side_by_side"]).shape[0] == 15
    assert set(result["metrics"]) == {"input", "output"} and "warp_error" in result["metrics"]["output"]


def test_a_predictor_continues_the_input_then_post_processing(tmp_path, capsys):
    src = _input(tmp_path, frames=6, size=16)
    assert main(["pipeline", f"input={src}", f"output={tmp_path / 'o.npy'}", f"model.run={PREDICTOR}",
                 "model.frames=5", "post=sharpen"]) == 0
    out = np.load(tmp_path / "o.npy")
    assert out.shape == (4 + 5, 16, 16, 3)  # the model's 4 context frames, then 5 predicted
    printed = capsys.readouterr().out
    assert "pre -> model convlstm -> sharpen" in printed and "warping error" in printed


def test_a_restoration_network_transforms_the_input(tmp_path, capsys):
    from vidgen import config as cfgmod
    from vidgen.post import post_process
    from vidgen.train import loop
    from vidgen.train.config import ExperimentConfig

    run = tmp_path / "ifnet"
    recipe = Path(__file__).resolve().parents[1] / "configs" / "debug" / "ifnet_tiny.yaml"
    loop.train(cfgmod.load(ExperimentConfig, recipe, [f"run_dir={run}"]), echo=lambda line: None)
    src = _input(tmp_path, frames=5, size=24)
    assert main(["pipeline", f"input={src}", f"output={tmp_path / 'o.npy'}", f"model.run={run}", "model.factor=3"]) == 0
    out = np.load(tmp_path / "o.npy")
    assert np.array_equal(out, post_process(np.load(src), "interpolate:x3", [f"interpolate.model={run}"]))
    assert out.shape == (13, 24, 24, 3) and "pre -> model ifnet (interpolate)" in capsys.readouterr().out


def test_bad_pipelines_are_clear_errors(tmp_path, capsys):
    with pytest.raises(ConfigError, match="unknown config key 'postt'"):
        load_pipeline(None, ["input=a.mp4", "output=b.mp4", "postt=sharpen"])
    with pytest.raises(ConfigError, match="needs an input and an output"):
        load_pipeline(None, ["input=a.mp4"])
    src = _input(tmp_path)
    assert main(["pipeline", f"input={src}", f"output={tmp_path / 'x.mp4'}", "post=blur"]) != 0
    assert "unknown post-processing op 'blur'" in capsys.readouterr().err
    assert main(["pipeline", f"input={tmp_path / 'missing.mp4'}", f"output={tmp_path / 'x.mp4'}"]) != 0
    assert "does not exist" in capsys.readouterr().err
