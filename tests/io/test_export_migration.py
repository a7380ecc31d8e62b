"""Exports and recipes of the format that kept training options in the model config still work.

``tests/fixtures/exports_v1`` holds exports written by that format's trainer, each with the
clips it sampled then (``expected.npy``); they must load and give the same clips bit for bit.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

import vidgen
from vidgen import config as cfgmod
from vidgen.io.checkpoint import FORMAT_VERSION
from vidgen.train.config import ExperimentConfig

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports_v1"
EXPORTS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def _same_kernels() -> bool:
    """Whether this CPU runs the float32 kernels the fixtures were sampled with (AVX-512, one thread).

    oneDNN picks its convolution kernels by instruction set, and their summation order differs:
    on an AVX2-only CPU the same weights give clips that differ in the last bits, and the
    comparison allows for that (1e-6) instead of skipping."""
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def _assert_same(got: torch.Tensor, expected: torch.Tensor) -> None:
    if _same_kernels():
        assert torch.equal(got, expected), (got - expected).abs().max()
    else:
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def _clips(model, folder: Path) -> torch.Tensor:
    if "generate" in model.capabilities:
        return model.sample(3, seed=0)
    context = torch.from_numpy(np.load(folder / "context.npy"))
    return model.predict(context, frames=3, seed=0)


def test_there_are_old_exports_of_every_family():
    families = {json.loads((FIXTURES / name / "config.json").read_text())["family"] for name in EXPORTS}
    assert families == {"gan", "vae", "predictor"}
    for name in EXPORTS:
        assert json.loads((FIXTURES / name / "config.json").read_text())["format_version"] == 1


@pytest.mark.parametrize("name", EXPORTS)
def test_an_old_export_loads_and_samples_the_same_clips_bit_for_bit(name, tmp_path):
    folder = FIXTURES / name
    old = json.loads((folder / "config.json").read_text())
    model = vidgen.load(folder)
    assert model.meta["format_version"] == FORMAT_VERSION
    dropped = set(old["model"]) - set(model.meta["model"])
    assert dropped and dropped <= set(model.family.migrate)  # only the training options went
    expected = torch.from_numpy(np.load(folder / "expected.npy"))
    assert torch.get_num_threads() == 1  # the fixtures' clips were sampled with one thread (conftest)
    _assert_same(_clips(model, folder), expected)
    # saved again from Python, it is a current-format folder that gives the same clips
    again = vidgen.load(model.save(tmp_path / "again"))
    saved = json.loads((tmp_path / "again" / "config.json").read_text())
    assert saved["format_version"] == FORMAT_VERSION and not set(saved["model"]) & set(model.family.migrate)
    _assert_same(_clips(again, folder), expected)


def test_an_export_from_a_newer_format_is_refused(tmp_path):
    import shutil

    shutil.copytree(FIXTURES / "convlstm_tiny", tmp_path / "new")
    meta = json.loads((tmp_path / "new" / "config.json").read_text())
    (tmp_path / "new" / "config.json").write_text(json.dumps({**meta, "format_version": FORMAT_VERSION + 1}))
    with pytest.raises(vidgen.errors.VidgenError, match="newer than this vidgen reads"):
        vidgen.load(tmp_path / "new")


def test_old_recipe_keys_move_to_the_objective_with_a_warning(caplog, monkeypatch):
    import vidgen.train.config

    monkeypatch.setattr(vidgen.train.config, "_warned", set())  # one warning per key and process
    with caplog.at_level(logging.WARNING, logger="vidgen.config"):
        cfg = cfgmod.load(ExperimentConfig, None, ["model.name=mocogan", "model.d_noise=0.1", "model.r1_gamma=0.5",
                                                   "model.d_noise_kimg=4", "objective.loss=hinge"])
    assert (cfg.objective.r1_gamma, cfg.objective.d_noise_kimg, cfg.objective.loss) == (0.5, 4.0, "hinge")
    assert cfg.model.d_noise == 0.1 and not hasattr(cfg.model, "r1_gamma")
    assert "model.r1_gamma" in caplog.text and "objective.r1_gamma" in caplog.text
    # the objective of another family names its own keys
    with pytest.raises(vidgen.errors.ConfigError, match="unknown config key 'objective.r1_gamma'"):
        cfgmod.load(ExperimentConfig, None, ["model.name=convlstm", "objective.r1_gamma=1"])
    with pytest.raises(vidgen.errors.ConfigError, match="teacher_forcing does not apply to simvp"):
        cfgmod.load(ExperimentConfig, None, ["model.name=simvp", "objective.teacher_forcing=0.5"])
    with pytest.raises(vidgen.errors.ConfigError, match="model.d_noise is 0"):
        cfgmod.load(ExperimentConfig, None, ["model.name=mocogan", "objective.d_noise_kimg=4"])
