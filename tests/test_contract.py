"""The family contract, checked for every registered model through its debug recipe.

Each model in the registry must have a debug recipe in ``configs/debug`` (a model without
one fails here). The recipe trains a few steps through the engine; the export reloads
through :func:`vidgen.load` as its family's wrapper; every capability the wrapper declares
is exercised (shapes, values in [-1, 1], seeds independent of the batch size where it
samples), the command lines its capabilities stand for run on it, and ``save`` writes a
folder that loads back to the same outputs. A new family or model is tested here as soon as
it registers and ships its debug recipe.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import vidgen
from vidgen import config as cfgmod
from vidgen.cli import main
from vidgen.family import CAPABILITIES, family_of
from vidgen.registry import MODELS
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig

DEBUG = Path(__file__).resolve().parents[1] / "configs" / "debug"


def debug_recipes() -> dict[str, list[Path]]:
    """Every debug recipe by the model it trains."""
    found: dict[str, list[Path]] = {}
    for path in sorted(DEBUG.glob("*.yaml")):
        found.setdefault(yaml.safe_load(path.read_text())["model"]["name"], []).append(path)
    return found


def _trained(name: str, tmp_path: Path) -> Path:
    recipes = debug_recipes().get(name)
    assert recipes, f"the registered model {name!r} has no debug recipe in configs/debug (model.name: {name})"
    cfg = cfgmod.load(ExperimentConfig, recipes[0], [f"run_dir={tmp_path / 'run'}"])
    steps = 4 if cfg.train.batch_size * 4 <= cfg.data.num_clips else 2
    cfg.train.kimg = steps * cfg.train.batch_size / 1000
    cfg.train.tick_kimg = cfg.train.kimg / 2
    cfg.train.sample_ticks = cfg.train.snapshot_ticks = cfg.train.checkpoint_ticks = 2
    return loop.train(cfg, echo=lambda line: None)


def _clip(model, frames: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(1, frames, model.channels, model.resolution, model.resolution, generator=g) * 2 - 1


def _run_cli(*argv: str) -> None:
    assert main(list(argv)) == 0, argv


@pytest.mark.parametrize("name", MODELS.names())
def test_every_registered_model_keeps_its_family_contract(name, tmp_path):
    run = _trained(name, tmp_path)
    model = vidgen.load(run)
    spec = family_of(name)
    assert isinstance(model, spec.wrapper_class()) and model.family is not None and model.name == name
    assert model.capabilities and model.capabilities <= set(CAPABILITIES), model.capabilities
    T, C, R = model.frames, model.channels, model.resolution
    outputs = {}

    if "generate" in model.capabilities:
        clips = model.sample(5, seed=3, batch_size=5)
        assert clips.shape == (5, T, C, R, R) and clips.dtype == torch.float32 and clips.abs().max() <= 1
        # clip i depends on seed 3 + i alone, whatever the number asked for and the batch size
        torch.testing.assert_close(model.sample(5, seed=3, batch_size=1), clips, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.sample(1, seed=5)[0], clips[2], atol=1e-5, rtol=1e-5)
        if getattr(model, "any_length", False):  # any clip length, batch-size independent too
            long = model.sample(3, seed=3, frames=T + 4, batch_size=3)
            assert long.shape == (3, T + 4, C, R, R)
            torch.testing.assert_close(model.sample(3, seed=3, frames=T + 4, batch_size=1), long, atol=1e-5, rtol=1e-5)
        outputs["sample"] = clips
        _run_cli("sample", str(run), "--num", "2", "--seed", "1", "--out", str(tmp_path / "s.npy"))
        assert np.load(tmp_path / "s.npy").shape == (2, T, R, R, C)
    if "class" in model.capabilities:
        assert model.num_classes >= 2 and len(model.class_names) == model.num_classes
        by_class = model.sample(2, seed=0, label=1)
        assert by_class.shape == (2, T, C, R, R)
        with pytest.raises(vidgen.errors.VidgenError, match="label"):
            model.sample(1, label=model.num_classes)
        _run_cli("sample", str(run), "--per-class", "--num", "1", "--out", str(tmp_path / "c.npy"))
        assert np.load(tmp_path / "c.npy").shape == (model.num_classes, T, R, R, C)
    if "predict" in model.capabilities:
        context = _clip(model, model.context)
        future = model.predict(context, frames=3, seed=0)
        assert future.shape == (1, 3, C, R, R) and future.abs().max() <= 1
        assert torch.equal(model.predict(context, frames=3, seed=0), future)
        outputs["predict"] = future
        np.save(tmp_path / "clip.npy", ((_clip(model, model.context + 2)[0] + 1) * 127.5).round()
                .to(torch.uint8).permute(0, 2, 3, 1).numpy())
        _run_cli("predict", str(run), "--input", str(tmp_path / "clip.npy"), "--frames", "3",
                 "--out", str(tmp_path / "p.npy"))
        _run_cli("eval", str(run), "--metric", "frames", "--num", "8", "--out", str(tmp_path / "frames.jsonl"))
        assert (tmp_path / "frames.jsonl").is_file()
    if "reconstruct" in model.capabilities:
        clip = _clip(model, T)
        recon = model.reconstruct(clip)
        assert recon.shape == (1, T, C, R, R) and recon.abs().max() <= 1
        outputs["reconstruct"] = recon
        np.save(tmp_path / "clip.npy", ((clip[0] + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
        _run_cli("reconstruct", str(run), "--input", str(tmp_path / "clip.npy"), "--out", str(tmp_path / "r.npy"))
    if "interpolate" in model.capabilities:
        label = 0 if "class" in model.capabilities else None  # one class along the walk
        walk = model.interpolate(0, 1, steps=3, label=label)
        assert walk.shape == (3, T, C, R, R)  # from seed 0's clip to seed 1's
        torch.testing.assert_close(walk[0], model.sample(1, seed=0, label=label)[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(walk[-1], model.sample(1, seed=1, label=label)[0], atol=1e-5, rtol=1e-5)
        if "reconstruct" in model.capabilities:
            _run_cli("interpolate", str(run), "--from", "0", "--to", "1", "--steps", "3",
                     "--out", str(tmp_path / "i.npy"))
        else:
            _run_cli("sample", str(run), "--interpolate", "0", "1", "--steps", "3", "--out", str(tmp_path / "i.npy"))

    if "restore" in model.capabilities:
        # any frame size (fully convolutional), uint8 in and out; a long video streams in chunks
        clip = (np.random.default_rng(0).random((7, R + 4, R + 8, C)) * 255).astype(np.uint8)
        out = model.restore(clip)
        n = 2 * len(clip) - 1 if model.task == "interpolate" else len(clip)
        assert out.shape == (n, R + 4, R + 8, C) and out.dtype == np.uint8
        options = {"sigma": 20.0} if model.task == "denoise" else {}
        streamed = np.stack(list(model.stream(iter(clip), chunk=2, **options)))
        assert np.array_equal(streamed, model.restore(clip, **options))
        outputs["restore"] = out
        np.save(tmp_path / "clip.npy", clip)
        _run_cli("post", str(tmp_path / "clip.npy"), "--ops", model.task, "--out", str(tmp_path / "x.npy"),
                 f"{model.task}.model={run}")
        assert np.array_equal(np.load(tmp_path / "x.npy"), out)  # the op runs the same network

    if "upscale" in model.capabilities:
        # any input size (odd too), uint8 in and out at scale x the size; streams; the CLI and the op agree
        s = model.scale
        clip = (np.random.default_rng(0).random((7, R // s + 3, R // s + 5, C)) * 255).astype(np.uint8)
        out = model.upscale(clip)
        assert out.shape == (7, (R // s + 3) * s, (R // s + 5) * s, C) and out.dtype == np.uint8
        assert np.array_equal(np.stack(list(model.stream(iter(clip), chunk=len(clip)))), out)
        outputs["upscale"] = out
        np.save(tmp_path / "clip.npy", clip)
        _run_cli("upscale", str(run), "--input", str(tmp_path / "clip.npy"), "--out", str(tmp_path / "u.npy"))
        assert np.array_equal(np.load(tmp_path / "u.npy"), out)
        _run_cli("post", str(tmp_path / "clip.npy"), "--ops", f"upscale:{run}", "--out", str(tmp_path / "x.npy"))
        assert np.array_equal(np.load(tmp_path / "x.npy"), out)  # the op runs the same network
        _run_cli("eval", str(run), "--metric", "vsr_psnr_y", "--num", "2", "--out", str(tmp_path / "vsr.jsonl"))
        assert (tmp_path / "vsr.jsonl").is_file()

    # saved from Python, it loads back as the same model with the same outputs
    again = vidgen.load(model.save(tmp_path / "saved"))
    assert type(again) is type(model) and again.capabilities == model.capabilities
    if "sample" in outputs:
        assert torch.equal(again.sample(5, seed=3, batch_size=5), outputs["sample"])
    if "predict" in outputs:
        assert torch.equal(again.predict(_clip(model, model.context), frames=3, seed=0), outputs["predict"])
    if "reconstruct" in outputs:
        assert torch.equal(again.reconstruct(_clip(model, T)), outputs["reconstruct"])
    if "restore" in outputs:
        assert np.array_equal(again.restore(clip), outputs["restore"])
    if "upscale" in outputs:
        assert np.array_equal(again.upscale(clip), outputs["upscale"])


def test_a_model_without_a_debug_recipe_fails_the_contract(tmp_path, monkeypatch):
    assert set(MODELS.names()) <= set(debug_recipes())  # today every registered model has one
    monkeypatch.setitem(globals(), "DEBUG", tmp_path)  # a configs/debug without them
    with pytest.raises(AssertionError, match="'dcgan3d' has no debug recipe"):
        _trained("dcgan3d", tmp_path)
