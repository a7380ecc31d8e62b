"""The registries are the one place names live: every entry is complete and consistent."""

from __future__ import annotations

import dataclasses

from vidgen.cli import build_parser
from vidgen.family import FamilySpec
from vidgen.inference import LoadedModel
from vidgen.registry import DATASETS, FAMILIES, MODELS


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


def test_models_name_a_registered_family():
    for entry in MODELS:
        assert entry.meta.get("family") in FAMILIES, entry.name
    assert {"gan", "vae", "predictor"} <= set(FAMILIES.names())


def test_every_family_declares_its_contract():
    for entry in FAMILIES:
        spec = entry.obj
        assert isinstance(spec, FamilySpec) and spec.name == entry.name and spec.summary
        assert dataclasses.is_dataclass(spec.objective) and entry.config is spec.objective
        spec.objective()  # default-constructible
        assert issubclass(spec.wrapper_class(), LoadedModel)
        training = spec.training_class()
        for method in ("optimizers", "phases", "sample", "prepare_export", "export_state", "sampler"):
            assert callable(getattr(training, method, None)), (spec.name, method)
        objective_fields = {f.name for f in dataclasses.fields(spec.objective)}
        assert set(spec.migrate) <= objective_fields, spec.name
        for model in MODELS:  # a key the objective took over is no model option any more
            if model.meta["family"] == spec.name:
                assert not set(spec.migrate) & {f.name for f in dataclasses.fields(model.config)}, model.name


def test_cli_parses_every_subcommand():
    parser = build_parser()
    args = parser.parse_args(["data", "info", "shapes", "resolution=32"])
    assert args.name == "shapes" and args.overrides == ["resolution=32"]
    args = parser.parse_args(["sample", "runs/x", "--out", "a.mp4"])
    assert args.num == 16
