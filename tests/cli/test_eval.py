"""``vidgen eval --metric frames`` and ``evaluate_predictor``: exact numbers, the JSONL record, errors."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import vidgen
from vidgen import config as cfgmod
from vidgen.cli import main
from vidgen.data import build_dataset
from vidgen.data.synthetic import ShapesConfig
from vidgen.metrics import FrameMetrics
from vidgen.metrics.evaluate import evaluate_predictor
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A copy-last run (4 -> 4 frames of 16x16 shapes) exported by the engine."""
    run_dir = tmp_path_factory.mktemp("copy_last_eval")
    overrides = ["model.name=copy_last", "model.context=4", "model.future=4", "data.name=shapes",
                 "data.resolution=16", "data.frames=8", "data.num_clips=64", "train.batch_size=8",
                 "train.kimg=0.008", "train.tick_kimg=0.008", "train.tensorboard=false", f"run_dir={run_dir}"]
    return loop.train(cfgmod.load(ExperimentConfig, None, overrides), echo=lambda line: None)


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _copy_last_metrics(dataset, *, num: int, batch: int, context: int = 4, future: int = 4) -> dict:
    """FrameMetrics on copy-last predictions, fed in the same batches as the command feeds it."""
    metrics = FrameMetrics()
    for start in range(0, num, batch):
        clips = torch.stack([dataset[i]["video"] for i in range(start, min(start + batch, num))])
        last = clips[:, context - 1:context]
        metrics.update(last.expand(-1, future, -1, -1, -1), clips[:, context:context + future])
    return metrics.compute()


def test_copy_last_scores_exactly_what_frame_metrics_give(run, capsys):
    assert main(["eval", str(run), "--metric", "frames", "--num", "12", "--batch-size", "5",
                 "data.seed=1", "data.num_clips=20"]) == 0
    out = capsys.readouterr().out
    [record] = _records(run / "metric-frames.jsonl")
    saved = json.loads((run / "config.json").read_text())["data"]
    test_set = build_dataset(cfgmod.from_dict(ShapesConfig, {**{k: v for k, v in saved.items() if k != "name"},
                                                             "seed": 1, "num_clips": 20}, "data"))
    expected = _copy_last_metrics(test_set, num=12, batch=5)
    assert record["results"] == {**expected, "context": 4, "future": 4}
    assert record["metric"] == "frames" and record["checkpoint"] == str(run.resolve())
    assert record["model"] == "copy_last" and record["num"] == 12 and record["seed"] == 0
    assert record["data"]["name"] == "shapes" and record["data"]["seed"] == 1 and record["data"]["num_clips"] == 20
    assert len(record["results"]["per_frame"]["ssim"]) == 4 and record["results"]["clips"] == 12
    for label, key in (("MSE per frame", "mse"), ("SSIM", "ssim"), ("MSE per pixel", "mse_pixel")):
        assert label in out and f"{expected[key]:.4f}" in out
    assert "PSNR" in out and "MAE per frame" in out and "metric-frames.jsonl" in out

    # the reusable function gives the same numbers from the API object and from the bare module
    predictor = vidgen.load(run)
    direct = evaluate_predictor(predictor, test_set, num=12, batch_size=5)
    assert direct == record["results"]
    assert evaluate_predictor(predictor.model, test_set, num=12, batch_size=5) == direct


def test_longer_horizons_out_file_and_appending(run, tmp_path, capsys):
    out = tmp_path / "scores" / "frames.jsonl"
    for _ in range(2):
        assert main(["eval", str(run / "model.safetensors"), "--metric", "frames", "--num", "6", "--future", "6",
                     "--out", str(out), "data.seed=2"]) == 0
    first, second = _records(out)
    assert first["results"] == second["results"] and first["results"]["future"] == 6
    assert first["data"]["frames"] == 10  # clips lengthened to context + future
    assert "test clips of 10 frames" in capsys.readouterr().err


def test_unknown_metric_is_rejected_with_the_valid_names(run, capsys):
    assert main(["eval", str(run), "--metric", "fid50k"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric 'fid50k'" in err and "fvd{N}_{T}f" in err and "frames" in err
    # a distribution metric on a predictor says what it scores instead
    assert main(["eval", str(run), "--metric", "fvd16_10f", "--detector", "shapes"]) == 2
    assert "does not generate clips from noise" in capsys.readouterr().err


@pytest.mark.parametrize("extra, fragment", [
    (["seed=1"], "'seed=1' does not change the test set"),
    (["data.nope=1"], "data.nope"),
    (["data.frames=8", "--future", "6"], "data.frames=10"),
    (["data.resolution=32"], "data.resolution=16"),
    (["--num", "0"], "--num must be >= 1"),
])
def test_errors_are_one_line_and_a_hint(run, extra, fragment, capsys):
    assert main(["eval", str(run), "--metric", "frames", *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and fragment in err
    assert [line.split(":")[0] for line in err.strip().splitlines() if not line.startswith("note")] in (
        ["error"], ["error", "hint"])


class _Noisy(nn.Module):
    """A stochastic predictor with the predictor interface: the last frame plus seeded noise."""

    context, future = 2, 2
    resolution, channels = 16, 3

    def forward(self, context, *, future, target=None, teacher_forcing=0.0, generator=None):
        noise = torch.randn(context.shape[0], future, *context.shape[2:], generator=generator)
        return (context[:, -1:] + 0.2 * noise).clamp(-1, 1)


def test_a_stochastic_predictor_is_scored_reproducibly_per_seed():
    dataset = build_dataset(ShapesConfig(frames=4, resolution=16, num_clips=6))
    a, b, c = (evaluate_predictor(_Noisy(), dataset, num=6, batch_size=4, seed=s) for s in (0, 0, 1))
    assert a == b and a["mse"] != c["mse"] and a["clips"] == 6
