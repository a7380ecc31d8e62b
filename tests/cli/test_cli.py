"""The CLI end to end: train a tiny GAN, sample from it, inspect data; errors are one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import vidgen
from vidgen.cli import main
from vidgen.io import read_video

TINY = ["data.resolution=16", "data.frames=4", "data.num_clips=32", "model.z_dim=8", "model.g_channels=4",
        "model.d_channels=4", "train.batch_size=4", "train.kimg=0.04", "train.tick_kimg=0.008",
        "train.snapshot_ticks=2", "train.num_samples=4", "train.precision=fp32"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, repo_root):
    run_dir = tmp_path_factory.mktemp("run")
    code = main(["train", str(repo_root / "configs" / "debug" / "gan_tiny.yaml"), f"run_dir={run_dir}", *TINY])
    assert code == 0
    return run_dir


def test_train_writes_samples_export_and_logs(trained_run):
    for name in ("samples.mp4", "samples.gif", "real_vs_generated.mp4", "model.safetensors", "config.json",
                 "config.yaml", "stats.jsonl"):
        assert (trained_run / name).is_file(), name
    video = read_video(trained_run / "samples.mp4")
    assert video.ndim == 4 and video.shape[0] == 4 and video.shape[-1] == 3
    assert len(read_video(trained_run / "samples.gif")) == 4
    records = [json.loads(line) for line in (trained_run / "stats.jsonl").read_text().splitlines()]
    assert len(records) == 5 and records[-1]["step"] == 10  # 40 clips / batch 4, a tick every 8 clips
    assert all(np.isfinite(r["D_main/loss"]) and np.isfinite(r["G_main/loss"]) for r in records)
    assert list((trained_run / "samples").glob("step-*.gif")) and list((trained_run / "samples").glob("step-*.mp4"))
    assert list((trained_run / "tensorboard").glob("events.out.tfevents.*"))
    assert (trained_run / "checkpoints" / "state-000000010.pt").is_file()
    meta = json.loads((trained_run / "config.json").read_text())
    assert meta["model"]["name"] == "dcgan3d" and meta["video"]["frames"] == 4


def test_resolved_config_is_written_and_reloads(trained_run):
    from vidgen import config as cfgmod
    from vidgen.train.config import ExperimentConfig

    cfg = cfgmod.load(ExperimentConfig, trained_run / "config.yaml")
    assert cfg.data.resolution == 16 and cfg.model.z_dim == 8


def test_sample_command_and_api_agree(trained_run, tmp_path):
    out = tmp_path / "s.npy"
    assert main(["sample", str(trained_run), "--num", "3", "--seed", "5", "--out", str(out)]) == 0
    arr = np.load(out)
    assert arr.shape == (3, 4, 16, 16, 3) and arr.dtype == np.uint8
    gen = vidgen.load(trained_run)
    videos = gen.sample(3, seed=5)
    assert videos.shape == (3, 4, 3, 16, 16)
    from vidgen.data.transforms import to_uint8

    np.testing.assert_array_equal(arr[1], to_uint8(videos[1]))
    # sample i depends on seed + i only, not on how many are drawn
    torch.testing.assert_close(gen.sample(1, seed=6)[0], videos[1])
    for suffix in (".mp4", ".gif", ".png"):
        path = tmp_path / f"grid{suffix}"
        assert main(["sample", str(trained_run), "--num", "4", "--out", str(path)]) == 0
        assert path.stat().st_size > 0
    assert read_video(tmp_path / "grid.mp4").shape[0] == 4


def test_dry_run_prints_the_resolved_config(capsys, repo_root):
    assert main(["train", str(repo_root / "configs" / "demo.yaml"), "--dry-run", "train.batch_size=3"]) == 0
    out = capsys.readouterr().out
    assert "batch_size: 3" in out and "name: shapes" in out and "name: mocogan" in out  # the demo recipe's model


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["train", "configs/demo.yaml", "train.batchsize=3"], "train.batchsize"),
        (["train", "no/such.yaml"], "does not exist"),
        (["sample", "no/such/run", "--out", "x.mp4"], "does not exist"),
        (["data", "info", "nosuchset"], "unknown dataset"),
        (["data", "info", "folder"], "path"),
        (["data", "preview", "shapes", "--out", "x.gif", "--num", "0"], "--num"),
        (["sample", "no/such/run", "--out", "x.mp4", "--num", "0"], "--num"),
        (["train", "configs/demo.yaml", "data.name=nope"], "unknown dataset"),
    ],
)
def test_errors_are_one_line_and_a_hint(argv, fragment, capsys, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ") and fragment in err


def test_debug_flag_shows_the_traceback(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    from vidgen.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["--debug", "train", "configs/demo.yaml", "train.batchsize=3"])


def test_data_info_and_preview(capsys, tmp_path):
    assert main(["data", "info", "shapes", "resolution=32", "num_clips=100"]) == 0
    out = capsys.readouterr().out
    assert "clips: 100" in out and "circle" in out and "resolution: 32" in out
    path = tmp_path / "preview.gif"
    assert main(["data", "preview", "bouncing_balls", "--out", str(path), "--num", "4", "frames=6",
                 "resolution=24"]) == 0
    video = read_video(path)
    assert video.shape[0] == 6
    assert main(["data", "preview", "shapes", "--labels", "--out", str(tmp_path / "p.npy"), "--num", "3"]) == 0
    assert main(["data", "preview", "shapes", "--out", str(tmp_path / "q.npy"), "--num", "3"]) == 0
    labelled, plain = np.load(tmp_path / "p.npy"), np.load(tmp_path / "q.npy")
    assert labelled.shape[1] > plain.shape[1]  # a label band above every clip


def test_help_texts(capsys):
    for argv in (["--help"], ["train", "--help"], ["sample", "--help"], ["data", "preview", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
    out = capsys.readouterr().out
    assert "Example" in out


CLASSES = ["circle", "square", "triangle"]


@pytest.fixture(scope="module")
def cond_run(tmp_path_factory):
    """An untrained conditional dcgan3d export (3 classes, 4 frames of 8x8): sampling needs no training."""
    from vidgen import config as cfgmod
    from vidgen.io.checkpoint import save_export
    from vidgen.models import build_model
    from vidgen.models.gan.dcgan3d import DCGAN3DConfig

    torch.manual_seed(0)
    config = DCGAN3DConfig(z_dim=8, g_channels=4, d_channels=4, max_channels=16, conditional=True)
    gen = build_model(config, frames=4, resolution=8, channels=3, num_classes=3).generator
    directory = tmp_path_factory.mktemp("cond")
    save_export(directory, {f"generator.{k}": v for k, v in gen.state_dict().items()},
                {"family": "gan", "model": {"name": "dcgan3d", **cfgmod.to_dict(config)},
                 "video": {"frames": 4, "resolution": 8, "channels": 3, "fps": 8}, "class_names": CLASSES})
    return directory


def test_sample_writes_every_format_with_its_shape(cond_run, tmp_path):
    from PIL import Image

    from vidgen.data.transforms import to_uint8

    gen = vidgen.load(cond_run)
    run = str(cond_run)
    assert main(["sample", run, "--num", "4", "--seed", "2", "--label", "1", "--out", str(tmp_path / "a.npy")]) == 0
    arr = np.load(tmp_path / "a.npy")
    assert arr.shape == (4, 4, 8, 8, 3) and arr.dtype == np.uint8
    expected = gen.sample(4, seed=2, label=1)
    np.testing.assert_array_equal(arr[3], to_uint8(expected[3]))
    assert main(["sample", run, "--num", "4", "--seed", "2", "--label", "1", "--dtype", "float32",
                 "--truncation", "0.5", "--out", str(tmp_path / "f.npy")]) == 0
    floats = np.load(tmp_path / "f.npy")
    assert floats.shape == (4, 4, 8, 8, 3) and floats.dtype == np.float32
    np.testing.assert_allclose(floats, gen.sample(4, seed=2, label=1, truncation=0.5).permute(0, 1, 3, 4, 2).numpy(),
                               atol=1e-5)
    grid = 2 * 8 + 3 * 2  # 2 x 2 clips of 8 px with 2 px padding
    for suffix in (".mp4", ".gif"):
        assert main(["sample", run, "--num", "4", "--out", str(tmp_path / f"g{suffix}")]) == 0
        video = read_video(tmp_path / f"g{suffix}")
        assert video.shape[1:] == (grid, grid, 3) and video.shape[0] <= 4
    assert read_video(tmp_path / "g.mp4").shape[0] == 4
    assert main(["sample", run, "--num", "3", "--out", str(tmp_path / "s.png")]) == 0
    still = Image.open(tmp_path / "s.png")  # one row of the 4 frames per clip
    assert still.size == (4 * 8 + 5 * 2, 3 * 8 + 4 * 2)


def test_sample_per_class_grid(cond_run, tmp_path):
    gen = vidgen.load(cond_run)
    assert main(["sample", str(cond_run), "--per-class", "--num", "5", "--seed", "7",
                 "--out", str(tmp_path / "c.npy"), "--dtype", "float32"]) == 0
    arr = np.load(tmp_path / "c.npy")  # class-major: row k holds class k's 5 clips
    assert arr.shape == (3 * 5, 4, 8, 8, 3)
    for k in range(3):
        np.testing.assert_allclose(arr[5 * k:5 * k + 5], gen.sample(5, seed=7, label=k).permute(0, 1, 3, 4, 2).numpy(),
                                   atol=1e-5)
    assert main(["sample", str(cond_run), "--per-class", "--num", "5", "--out", str(tmp_path / "c.mp4")]) == 0
    video = read_video(tmp_path / "c.mp4")
    assert video.shape[0] == 4 and video.shape[1] == 3 * 8 + 4 * 2  # 3 rows
    assert video.shape[2] > 5 * 8 + 6 * 2  # 5 columns and a margin with the class names


def test_sample_interpolates_between_seeds(trained_run, tmp_path):
    out = tmp_path / "walk.npy"
    assert main(["sample", str(trained_run), "--interpolate", "3", "9", "--steps", "5", "--dtype", "float32",
                 "--out", str(out)]) == 0
    walk = torch.from_numpy(np.load(out)).permute(0, 1, 4, 2, 3)  # [steps, T, C, H, W]
    gen = vidgen.load(trained_run)
    assert walk.shape == (5, 4, 3, 16, 16)
    torch.testing.assert_close(walk[0], gen.sample(1, seed=3)[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(walk[-1], gen.sample(1, seed=9)[0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(walk[2], walk[0])
    assert main(["sample", str(trained_run), "--interpolate", "3", "9", "--steps", "3",
                 "--out", str(tmp_path / "walk.gif")]) == 0


@pytest.mark.parametrize("extra, fragment", [
    (["--frames", "8"], "training length"),
    (["--label", "0"], "unconditional"),
    (["--per-class"], "--per-class needs a class-conditional model"),
    (["--truncation", "-1"], "--truncation"),
    (["--steps", "0"], "--steps"),
])
def test_sample_errors_are_one_line(trained_run, tmp_path, capsys, extra, fragment):
    assert main(["sample", str(trained_run), "--out", str(tmp_path / "x.npy"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and "Traceback" not in err
