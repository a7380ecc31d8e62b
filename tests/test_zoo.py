"""The pretrained models shipped with the package: they load by name, and each still measures
what its listing claims (within the listing's tolerance), so a shipped model cannot rot unnoticed."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

import vidgen
import vidgen.zoo as zoo
from vidgen.cli import main

SHIPPED = zoo.shipped_models()
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "exports_v1" / "gan_cond_tiny"


def test_models_ship_and_stay_small():
    assert {"shapes-cond64", "mnist-simvp"} <= {m.name for m in SHIPPED}
    for model in SHIPPED:
        assert model.size_bytes < 16 * 2**20, (model.name, model.size_bytes)  # a few MB each
        card = model.card
        for key in ("summary", "task", "recipe", "command", "trained", "metrics", "capabilities"):
            assert card.get(key), (model.name, key)
        assert card["command"].startswith("vidgen train ") and Path(card["recipe"]).name in card["command"]


@pytest.mark.parametrize("model", SHIPPED, ids=[m.name for m in SHIPPED])
def test_a_shipped_model_loads_by_name_and_measures_what_its_listing_claims(model, tmp_path):
    loaded = vidgen.load(model.name)
    assert loaded.name == model.card["model"] and sorted(loaded.capabilities) == model.card["capabilities"]
    mnist = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    checked = 0
    for claim in model.card["metrics"]:
        words = shlex.split(claim["measure"])
        assert words[:3] == ["vidgen", "eval", model.name]
        if any("{mnist}" in w for w in words):
            if not mnist.is_dir():  # the claims on other data are still checked
                continue
            words = [w.replace("{mnist}", str(mnist)) for w in words]
        checked += 1
        out = tmp_path / f"{claim['metric']}.jsonl"
        assert main([*words[1:], "--out", str(out)]) == 0
        value = json.loads(out.read_text().splitlines()[-1])["results"][claim["key"]]
        assert value == pytest.approx(claim["value"], rel=claim["tolerance"]["rel"]), (claim["metric"], value)
    if not checked:
        pytest.skip(f"every claim of {model.name} needs the MNIST files at {mnist}")


def test_names_resolve_in_every_command(tmp_path, monkeypatch, capsys):
    """A model in the zoo folder is found by name by vidgen.load and the commands; a missing name says which exist."""
    zoo_dir = tmp_path / "zoo"
    shutil.copytree(FIXTURE, zoo_dir / "tiny-gan", ignore=shutil.ignore_patterns("*.npy", "README*"))
    (zoo_dir / "tiny-gan" / zoo.CARD).write_text(json.dumps({
        "summary": "a test generator", "task": "test", "family": "gan", "model": "dcgan3d", "clips": "4 frames",
        "capabilities": ["class", "generate", "interpolate"], "recipe": "configs/debug/gan_cond_tiny.yaml",
        "command": "vidgen train configs/debug/gan_cond_tiny.yaml", "metrics": [],
        "trained": {"kimg": 0.032, "minutes": 0.1, "hardware": "test"}}))
    monkeypatch.setattr(zoo, "ZOO_DIR", zoo_dir)
    monkeypatch.chdir(tmp_path)  # not the zoo folder: names must not resolve as paths here
    assert vidgen.load("tiny-gan").name == "dcgan3d"
    assert main(["sample", "tiny-gan", "--num", "2", "--out", str(tmp_path / "s.npy")]) == 0
    assert main(["models"]) == 0 and "tiny-gan" in capsys.readouterr().out
    assert main(["list", "shipped"]) == 0 and "a test generator" in capsys.readouterr().out
    from vidgen.cli.eval import record_path

    assert record_path("tiny-gan", "cond_acc96") == Path("metric-tiny-gan-cond_acc96.jsonl")  # not in the package
    assert main(["sample", "no-such-model", "--out", str(tmp_path / "x.npy")]) != 0
    assert "tiny-gan" in capsys.readouterr().err  # the hint names the shipped models


@pytest.mark.parametrize("what", ["models", "families", "datasets", "metrics", "recipes"])
def test_vidgen_list_reads_the_registries(what, capsys, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    assert main(["list", what]) == 0
    out = capsys.readouterr().out
    expected = {"models": "simvp", "families": "predictor", "datasets": "moving_digits", "metrics": "fvd{N}_{T}f",
                "recipes": "configs/debug/copy_last_tiny.yaml"}[what]
    assert expected in out
