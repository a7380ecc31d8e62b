"""Strict config loading: defaults < YAML < overrides, errors that name the key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from vidgen import config as cfgmod
from vidgen.errors import ConfigError
from vidgen.train.config import ExperimentConfig


@dataclass
class Inner:
    rate: float = 0.5
    mode: Literal["a", "b"] = "a"


@dataclass
class Outer:
    name: str = "x"
    count: int = 3
    flag: bool = False
    size: tuple[int, int] | None = None
    inner: Inner = field(default_factory=Inner)


def test_defaults_yaml_overrides_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("count: 5\ninner:\n  rate: 0.25\n  mode: b\n")
    cfg = cfgmod.load(Outer, path, ["inner.rate=1e-4", "size=[2, 3]"])
    assert cfg.name == "x"  # default
    assert cfg.count == 5  # YAML
    assert cfg.inner.mode == "b"  # YAML
    assert cfg.inner.rate == pytest.approx(1e-4)  # override beats YAML; "1e-4" parsed as a float
    assert cfg.size == (2, 3)


def test_unknown_key_names_it_and_the_valid_ones():
    with pytest.raises(ConfigError) as e:
        cfgmod.from_dict(Outer, {"inner": {"rat": 1.0}})
    assert "inner.rat" in e.value.message
    assert "did you mean 'rate'" in e.value.hint
    assert "mode" in e.value.hint


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"count": "three"}, "count: expected an integer"),
        ({"count": True}, "count: expected an integer"),
        ({"flag": "yes"}, "flag: expected true or false"),
        ({"inner": {"mode": "c"}}, "inner.mode"),
        ({"size": [1, 2, 3]}, "size"),
        ({"inner": 4}, "inner"),
    ],
)
def test_wrong_types_are_errors(data, fragment):
    with pytest.raises(ConfigError) as e:
        cfgmod.from_dict(Outer, data)
    assert fragment in str(e.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        cfgmod.load(Outer, tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("count: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        cfgmod.load(Outer, bad)


def test_malformed_override():
    with pytest.raises(ConfigError, match="key.sub=value"):
        cfgmod.apply_overrides({}, ["count"])


def test_choice_fields_follow_the_registry():
    cfg = cfgmod.load(ExperimentConfig, None, ["data.name=moving_digits", "data.frames=8", "model.z_dim=7"])
    assert type(cfg.data).__name__ == "MovingDigitsConfig"
    assert cfg.data.frames == 8
    assert cfg.model.z_dim == 7
    with pytest.raises(ConfigError) as e:
        cfgmod.load(ExperimentConfig, None, ["data.name=nope"])
    assert "shapes" in e.value.hint and "folder" in e.value.hint
    with pytest.raises(ConfigError) as e:
        cfgmod.load(ExperimentConfig, None, ["model.name=dcgan3d", "model.zdim=3"])
    assert "model.zdim" in e.value.message


def test_round_trip_through_yaml(tmp_path):
    cfg = cfgmod.load(ExperimentConfig, None, ["data.resolution=32", "train.betas=[0.0, 0.99]", "train.minutes=2"])
    path = tmp_path / "resolved.yaml"
    path.write_text(cfgmod.dump_yaml(cfg))
    again = cfgmod.load(ExperimentConfig, path)
    assert again == cfg


def test_every_recipe_loads(repo_root):
    recipes = sorted((repo_root / "configs").rglob("*.yaml"))
    assert recipes, "no recipes under configs/"
    for recipe in recipes:
        cfgmod.load(ExperimentConfig, recipe)


def test_switching_a_choice_by_override_keeps_the_shared_keys_and_drops_the_others(repo_root, caplog):
    with caplog.at_level("WARNING", logger="vidgen.config"):
        cfg = cfgmod.load(ExperimentConfig, repo_root / "configs" / "dcgan3d_folder.yaml",
                          ["data.name=shapes", "data.frames=8"])
    assert type(cfg.data).__name__ == "ShapesConfig" and cfg.data.frames == 8
    assert cfg.data.resolution == 64 and cfg.data.transforms.hflip == 0.5  # the recipe's, shared by shapes
    assert "dropped clip_sampling, clips_per_video, frame_stride, path" in caplog.text
    # a shapes recipe switched to a folder keeps its clip shape (16 frames of 32x32 would become the defaults)
    cfg = cfgmod.load(ExperimentConfig, repo_root / "configs" / "mocogan_shapes.yaml", ["data.name=folder", "data.path=x"])
    assert (cfg.data.frames, cfg.data.resolution) == (16, 64) and cfg.data.path == "x"
    with pytest.raises(ConfigError, match="unknown config key 'data.num_shapez'"):  # a key set after the switch is checked
        cfgmod.load(ExperimentConfig, repo_root / "configs" / "mocogan_shapes.yaml", ["data.name=folder", "data.num_shapez=1"])
    # another family: the model keys it shares stay, the objective of the old family goes
    cfg = cfgmod.load(ExperimentConfig, repo_root / "configs" / "mocogan_shapes.yaml", ["model.name=convlstm"])
    assert type(cfg.objective).__name__ == "PredictorObjective"
    # the same name keeps the YAML's keys
    cfg = cfgmod.load(ExperimentConfig, repo_root / "configs" / "dcgan3d_folder.yaml", ["data.name=folder"])
    assert cfg.data.path == "data/my_clips"


@pytest.mark.parametrize("override", ["train.kimg=.inf", "train.lr=0", "train.num_samples=0", "data.fps=0",
                                      "data.seed=-1", "train.threads=0"])
def test_values_out_of_range_are_config_errors(override):
    with pytest.raises(ConfigError):
        cfgmod.load(ExperimentConfig, None, [override])


@pytest.mark.parametrize("text, expected", [("on", "on"), ("off", "off"), ("auto", "auto"), ('"on"', "on")])
def test_bare_on_off_reach_on_off_choices(repo_root, text, expected):
    # YAML 1.1 reads a bare on/off as true/false; a field whose choices are on/off takes them back
    cfg = cfgmod.load(ExperimentConfig, repo_root / "configs" / "demo.yaml", [f"train.channels_last={text}"])
    assert cfg.train.channels_last == expected
