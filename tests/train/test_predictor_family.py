"""Predictors train through the same engine: a tiny ConvLSTM learns, copy-last trains nothing."""

from __future__ import annotations

import json

import torch

from vidgen import config as cfgmod
from vidgen.io.checkpoint import load_export
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig

TINY = ["data.resolution=16", "data.frames=8", "data.num_clips=32", "model.context=4", "model.future=4",
        "train.batch_size=8", "train.tick_kimg=0.08", "train.num_samples=3", "train.precision=fp32",
        "train.tensorboard=false", "train.ema_kimg=0"]


def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]


def test_convlstm_learns_to_continue_moving_shapes(tmp_path):
    cfg = cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", "model.name=convlstm", *TINY,
                                               "model.hidden=[16]", "model.patch_size=2", "train.lr=2e-3",
                                               "train.betas=[0.9,0.999]", "train.kimg=0.48"])
    loop.train(cfg, echo=lambda line: None)
    records = _records(tmp_path)
    assert len(records) == 6 and records[-1]["step"] == 60
    first, last = records[0]["main/loss"], records[-1]["main/loss"]
    assert last < 0.5 * first, (first, last)
    state, meta = load_export(tmp_path)
    assert meta["family"] == "predictor" and any(k.startswith("model.cells.") for k in state)


def test_copy_last_needs_no_training_but_writes_its_outputs(tmp_path):
    cfg = cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", "model.name=copy_last", *TINY,
                                               "train.kimg=0.016"])
    loop.train(cfg, echo=lambda line: None)
    assert (tmp_path / "samples.mp4").is_file() and (tmp_path / "real_vs_generated.png").is_file()
    state, meta = load_export(tmp_path)
    assert state == {} and meta["model"]["name"] == "copy_last"


def test_a_predictor_loads_as_a_predictor_and_refuses_to_sample(tmp_path):
    import pytest

    import vidgen
    from vidgen.errors import VidgenError

    loop.train(cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", "model.name=copy_last", *TINY,
                                                    "train.kimg=0.008"]), echo=lambda line: None)
    predictor = vidgen.load(tmp_path)
    assert isinstance(predictor, vidgen.VideoPredictor)
    with pytest.raises(VidgenError, match="next-frame predictor"):
        predictor.sample(4)


def test_context_loss_and_scheduled_sampling_train_on_every_next_frame(tmp_path):
    from vidgen.models.predictor.convlstm import ConvLSTM, ConvLSTMConfig

    torch.manual_seed(0)
    model = ConvLSTM(config=ConvLSTMConfig(hidden=(8,), patch_size=2, context=4, future=4), frames=8,
                     resolution=16, channels=1)
    clip = torch.rand(2, 8, 1, 16, 16) * 2 - 1
    both = model(clip[:, :4], future=4, with_context=True)
    assert both.shape == (2, 7, 1, 16, 16)  # guesses of frames 2..8
    model.eval()
    torch.testing.assert_close(both[:, 3:].clamp(-1, 1), model(clip[:, :4], future=4))

    cfg = cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", "model.name=convlstm", *TINY, "model.hidden=[8]",
                                               "model.patch_size=2", "objective.context_loss=true",
                                               "objective.teacher_forcing=1.0", "objective.teacher_forcing_kimg=0.032",
                                               "train.kimg=0.048", "train.tick_kimg=0.016"])
    loop.train(cfg, echo=lambda line: None)
    records = _records(tmp_path)
    assert len(records) == 3 and all(r["main/loss"] > 0 and r["main/mse"] > 0 for r in records)


def test_simvp_trains_with_an_absolute_error_term(tmp_path):
    cfg = cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", "model.name=simvp", *TINY, "model.hid_s=8",
                                               "model.hid_t=16", "model.temporal_depth=1", "model.patch_size=2",
                                               "objective.l1_weight=0.5", "train.lr=2e-3", "train.kimg=0.16"])
    loop.train(cfg, echo=lambda line: None)
    records = _records(tmp_path)
    assert len(records) == 2
    for r in records:  # the loss is the logged squared error plus half the absolute error
        assert abs(r["main/loss"] - (r["main/mse"] + 0.5 * r["main/mae"])) < 1e-5, r
    state, meta = load_export(tmp_path)
    assert meta["family"] == "predictor" and any(k.startswith("model.translator.") for k in state)
