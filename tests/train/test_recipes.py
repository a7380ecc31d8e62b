"""Every recipe under configs/ loads strictly; every debug recipe trains in a few steps and exports."""

from __future__ import annotations

from pathlib import Path

import pytest

import vidgen
from vidgen import config as cfgmod
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
RECIPES = sorted(CONFIGS.rglob("*.yaml"))
DEBUG = sorted((CONFIGS / "debug").glob("*.yaml"))


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(CONFIGS)) for p in paths]


def test_the_recipes_are_found():
    assert len(RECIPES) >= 5 and {"gan_tiny", "vae3d_tiny", "svg_tiny", "convlstm_tiny",
                                  "predrnn_tiny"} <= {p.stem for p in DEBUG}


@pytest.mark.parametrize("path", RECIPES, ids=_ids(RECIPES))
def test_every_recipe_loads_strictly(path, request):
    data = cfgmod.read_yaml(path).get("data") or {}
    overrides = []
    if data.get("source") == "mnist" and not data.get("mnist_path"):  # skipped where the idx files are missing
        overrides.append(f"data.mnist_path={request.getfixturevalue('mnist_dir')}")
    resolved = cfgmod.to_dict(cfgmod.load(ExperimentConfig, path, overrides))
    assert resolved["data"]["name"] == data.get("name", "shapes")


def _data(path: Path, tmp_path: Path) -> list[str]:
    """A debug recipe on a folder of clips gets one: three short clips written here."""
    if (cfgmod.read_yaml(path).get("data") or {}).get("name") != "folder":
        return []
    from vidgen.convert import to_uint8
    from vidgen.data import build_dataset
    from vidgen.data.photo_pans import PhotoPansConfig
    from vidgen.io import write_video

    folder = tmp_path / "clips"
    folder.mkdir(exist_ok=True)
    clips = build_dataset(PhotoPansConfig(frames=8, resolution=32, num_clips=3, seed=4))
    for i in range(3):
        write_video(folder / f"clip{i}.mp4", to_uint8(clips[i]["video"]))
    return [f"data.path={folder}"]


@pytest.mark.parametrize("path", DEBUG, ids=_ids(DEBUG))
def test_every_debug_recipe_trains_in_a_few_steps(path, tmp_path):
    cfg = cfgmod.load(ExperimentConfig, path, [f"run_dir={tmp_path / 'run'}", *_data(path, tmp_path)])
    tmp_path = tmp_path / "run"
    name = cfgmod.to_dict(cfg)["model"]["name"]
    assert cfgmod.read_yaml(path)["run_dir"].startswith("runs/debug")
    steps = round(cfg.train.kimg * 1000 / cfg.train.batch_size)
    assert steps <= 20 and cfg.train.precision == "fp32", "debug recipes stay tiny: CPU seconds"
    assert loop.train(cfg, echo=lambda line: None) == tmp_path
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "config.json").is_file()
    model = vidgen.load(tmp_path)
    assert model.meta["model"]["name"] == name and model.meta["step"] == steps


@pytest.mark.parametrize("path", DEBUG, ids=_ids(DEBUG))
def test_every_debug_recipe_takes_bf16_autocast_steps(path, tmp_path):
    """What `train.precision: auto` picks on CPUs with AVX512-BF16 or AMX (emulated, and slower, elsewhere)."""
    data = _data(path, tmp_path)
    tmp_path = tmp_path / "run"
    cfg = cfgmod.load(ExperimentConfig, path, [f"run_dir={tmp_path}", "train.precision=bf16", "train.tensorboard=false",
                                               f"train.kimg={2 * cfgmod.load(ExperimentConfig, path).train.batch_size / 1000}",
                                               *data])
    assert loop.train(cfg, echo=lambda line: None) == tmp_path
    stats = (tmp_path / "stats.jsonl").read_text()
    assert '"step": 2' in stats and "nan" not in stats.lower()
    model = vidgen.load(tmp_path)
    assert model.meta["step"] == 2
