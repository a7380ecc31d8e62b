"""The metric registry: one entry per metric (or name pattern), with what it needs, read by the CLI, train.metrics and the API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from vidgen.cli import main as cli_main
from vidgen.errors import ConfigError, VidgenError
from vidgen.metrics.generative import NEEDS, model_sampler, parse_name, score_files, score_sampler
from vidgen.registry import METRICS, Registry
from vidgen.train.config import TrainConfig

METRICS_SRC = Path(__file__).resolve().parents[2] / "src" / "vidgen" / "metrics"


def test_every_metric_is_registered_with_what_it_needs_and_a_summary():
    assert {"fvd{N}_{T}f", "kvd{N}_{T}f", "cond_acc{N}", "frames"} <= set(METRICS.names())
    for entry in METRICS:
        needs = entry.meta["needs"]
        assert needs and set(needs) <= set(NEEDS), entry.form
        assert {"generate", "predict", "upscale", "reconstruct", "clips", "video"} & set(needs), \
            f"{entry.form} scores nothing"
        assert entry.meta["summary"] and entry.obj.__doc__, entry.form


def test_names_resolve_to_their_entry_with_the_parsed_parameters():
    fvd = METRICS.get("fvd2048_16f")
    assert (fvd.name, fvd.form, fvd.params) == ("fvd2048_16f", "fvd{N}_{T}f", {"clips": 2048, "frames": 16})
    assert METRICS.get("kvd256_8f").params == {"clips": 256, "frames": 8}
    assert METRICS.get("cond_acc").params == {"clips": 1000, "frames": None}
    assert METRICS.get(" cond_acc500 ").name == "cond_acc500" and METRICS.get("cond_acc500").params["clips"] == 500
    frames = METRICS.get("frames")
    assert (frames.name, frames.form, frames.params) == ("frames", "frames", {})
    assert METRICS.get("fvd16_4f").obj is METRICS.get("kvd16_4f").obj  # one scorer for both distances
    assert "fvd2_1f" in METRICS and "fvd1_16f" not in METRICS and "fid50k" not in METRICS
    with pytest.raises(ConfigError, match=r"unknown metric 'fid50k'.*fvd\{N\}_\{T\}f \(e\.g\. fvd2048_16f\)"):
        METRICS.get("fid50k")
    with pytest.raises(ConfigError, match="at least 1 clip"):
        METRICS.get("cond_acc0")
    assert parse_name("fvd64_16f") == ("fvd64_16f", "fvd", 64, 16)
    assert parse_name("frames") == ("frames", "frames", None, None)


def test_a_registry_takes_name_patterns_and_keeps_exact_names():
    reg = Registry("thing")

    @reg.register("t{N}", pattern=r"t(?P<n>\d+)(?P<tag>[a-z]*)", summary="a family of names")
    def family():
        """A family."""

    @reg.register("plain", summary="one name")
    def plain():
        """One."""

    got = reg.get("t12")
    assert got.obj is family and got.params == {"n": 12, "tag": None} and got.form == "t{N}"
    assert reg.get("t3x").params == {"n": 3, "tag": "x"}
    assert reg.get("plain").obj is plain and reg.get("plain").params == {}
    assert reg.names() == ["plain", "t{N}"] and [e.form for e in reg] == ["plain", "t{N}"]
    assert "t7" in reg and "plain" in reg and "t" not in reg and "t{N}" not in reg
    with pytest.raises(ConfigError, match="valid things: plain, t{N}"):
        reg.get("u1")
    with pytest.raises(ValueError, match="twice"):
        reg.register("t{N}", pattern=r"t\d+")(family)


def test_eval_help_lists_every_registered_metric(capsys):
    with pytest.raises(SystemExit):
        cli_main(["eval", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse may wrap: compare words
    for entry in METRICS:
        assert entry.form in out and " ".join(entry.meta["summary"].split()) in out
    assert "needs a generator or two sets of clips; a detector (e.g. fvd2048_16f)" in out
    assert "needs a class-conditional generator; an evaluator" in out and "needs a predictor; a test set" in out


def test_train_metrics_take_the_names_of_the_registry():
    assert TrainConfig(metrics=(" fvd32_16f", "cond_acc", "kvd8_4f")).metrics == ("fvd32_16f", "cond_acc", "kvd8_4f")
    with pytest.raises(ConfigError, match=r"unknown metric 'fid50k'.*cond_acc\{N\}"):
        TrainConfig(metrics=("fid50k",))


def test_train_metrics_refuse_a_metric_of_predictions_before_training(repo_root, tmp_path):
    from vidgen.config import load
    from vidgen.train.config import ExperimentConfig
    from vidgen.train.loop import train

    cfg = load(ExperimentConfig, repo_root / "configs" / "debug" / "gan_tiny.yaml",
               [f"run_dir={tmp_path}", "train.metrics=[frames]"])
    with pytest.raises(ConfigError, match="frames does not score generated clips"):
        train(cfg, echo=lambda line: None)


def test_each_path_refuses_metrics_of_something_else(tmp_path):
    import numpy as np

    np.save(tmp_path / "a.npy", np.zeros((2, 4, 8, 8, 3), np.uint8))
    with pytest.raises(VidgenError, match="cond_acc8 does not score two sets of clips"):
        score_files(tmp_path / "a.npy", tmp_path / "a.npy", "cond_acc8")
    with pytest.raises(VidgenError, match="frames does not score generated clips") as e:
        score_sampler(lambda seed, n, frames: torch.zeros(n, 4, 3, 8, 8), "frames", real=None)
    assert "fvd{N}_{T}f" in e.value.hint


class _Generator:
    """Duck-typed generator: what a loaded model that generates offers."""

    capabilities = frozenset({"generate"})
    frames, any_length = 4, False

    def __init__(self):
        self.calls = []

    def sample(self, n, *, seed, batch_size, frames=None):
        self.calls.append((n, seed, batch_size, frames))
        return torch.zeros(n, frames or self.frames, 3, 8, 8)


def test_model_sampler_asks_what_a_model_can_do_not_what_it_is():
    gen = _Generator()
    sample, ask = model_sampler(gen, frames_needed=4)
    assert ask is None and sample(5, 2, None).shape == (2, 4, 3, 8, 8) and gen.calls == [(2, 5, 2, None)]
    assert model_sampler(gen)[1] is None
    with pytest.raises(VidgenError, match="needs clips of 8 frames, this _Generator makes 4"):
        model_sampler(gen, frames_needed=8)
    gen.any_length = True
    sample, ask = model_sampler(gen, frames_needed=8)
    assert ask == 8 and sample(0, 1, ask).shape[1] == 8
    # a sample method alone is not enough: the model must say it generates
    for caps in (frozenset({"predict"}), None):
        other = type("Other", (), {"frames": 4, "sample": gen.sample, **({"capabilities": caps} if caps else {})})()
        with pytest.raises(VidgenError, match="does not generate clips from noise"):
            model_sampler(other)


def test_the_metrics_layer_names_no_api_class():
    for path in sorted(METRICS_SRC.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "vidgen.api" and not (node.module == "vidgen" and any(
                    a.name == "api" for a in node.names)), f"{path.name} imports vidgen.api"
            elif isinstance(node, ast.Import):
                assert all(a.name != "vidgen.api" for a in node.names), f"{path.name} imports vidgen.api"
            elif isinstance(node, ast.Name):
                assert node.id not in {"VideoGenerator", "VideoPredictor", "VideoVAE"}, f"{path.name}: {node.id}"


def test_no_metrics_file_is_longer_than_600_lines():
    for path in METRICS_SRC.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 600, path.name
