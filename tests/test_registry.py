"""The registries are the one place names live: every entry is complete and consistent."""

from __future__ import annotations

import dataclasses

from vidgen.cli import build_parser
from vidgen.registry import DATASETS, MODELS


def test_builtin_datasets_and_models_are_registered():
    assert {"shapes", "bouncing_balls", "moving_digits", "folder"} <= set(DATASETS.names())
    assert "dcgan3d" in MODELS.names()


def test_every_entry_has_a_default_constructible_config():
    for registry in (DATASETS, MODELS):
        for entry in registry:
            assert dataclasses.is_dataclass(entry.config), entry.name
            if entry.name != "folder":  # folder needs a path, checked in its own tests
                entry.config()
            assert registry.name_of_config(entry.config) == entry.name
            assert entry.obj.__doc__, f"{entry.name} has no docstring"


def test_models_name_their_family():
    for entry in MODELS:
        assert entry.meta.get("family") in {"gan", "vae", "predictor"}


def test_cli_parses_every_subcommand():
    parser = build_parser()
    args = parser.parse_args(["data", "info", "shapes", "resolution=32"])
    assert args.name == "shapes" and args.overrides == ["resolution=32"]
    args = parser.parse_args(["sample", "runs/x", "--out", "a.mp4"])
    assert args.num == 16
