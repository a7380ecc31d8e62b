"""``vidgen reconstruct``, ``vidgen interpolate`` and ``vidgen sample`` on a tiny vae3d; one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

import vidgen
from vidgen import config as cfgmod
from vidgen.cli import main
from vidgen.data.transforms import to_uint8
from vidgen.io import read_video, write_video
from vidgen.metrics.frame import mse_per_frame
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig

RES, FRAMES = 16, 8  # the clip shape of configs/debug/vae3d_tiny.yaml


def _train(repo_root, run_dir, recipe: str, *overrides: str):
    cfg = cfgmod.load(ExperimentConfig, repo_root / "configs" / "debug" / recipe, [f"run_dir={run_dir}", *overrides])
    return loop.train(cfg, echo=lambda line: None)


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, repo_root):
    return _train(repo_root, tmp_path_factory.mktemp("vae3d"), "vae3d_tiny.yaml")


@pytest.fixture(scope="module")
def vae(vae_run):
    return vidgen.load(vae_run)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two random uint8 clips [T, H, W, 3] at the model's size, saved as a.npy and b.gif."""
    rng = np.random.default_rng(3)
    a, b = (rng.integers(0, 256, (FRAMES + 2, RES, RES, 3), dtype=np.uint8) for _ in range(2))
    folder = tmp_path_factory.mktemp("clips")
    np.save(folder / "a.npy", a)
    write_video(folder / "b.gif", b)
    return a, folder


def test_reconstruct_writes_input_beside_reconstruction_and_prints_mse(vae_run, vae, clips, tmp_path, capsys):
    frames, folder = clips
    out = tmp_path / "r.mp4"
    assert main(["reconstruct", str(vae_run), "--input", str(folder / "a.npy"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    video = read_video(out)
    assert video.shape[0] == FRAMES and video.shape[2] == 2 * (RES + 4) + 4  # two one-clip grids and a 4 px gap
    clip = vidgen.api.as_video_batch(frames[:FRAMES])
    expected = mse_per_frame(vae.reconstruct(clip), clip, clamp=True)[0]
    line = next(s for s in printed.splitlines() if s.startswith("per-frame MSE"))
    values = [float(v) for v in line.split(": ")[1].split(";")[0].split()]
    np.testing.assert_allclose(values, expected.numpy(), atol=0.006)

    assert main(["reconstruct", str(vae_run), "--input", str(folder / "a.npy"), "--out", str(tmp_path / "r.npy")]) == 0
    arr = np.load(tmp_path / "r.npy")  # [2, T, H, W, C]: the input, its reconstruction
    assert arr.shape == (2, FRAMES, RES, RES, 3)
    np.testing.assert_array_equal(arr[0], frames[:FRAMES])
    assert np.abs(arr[1].astype(int) - to_uint8(vae.reconstruct(clip)[0]).astype(int)).max() <= 1
    assert main(["reconstruct", str(vae_run), "--input", str(folder / "b.gif"), "--out", str(tmp_path / "r.png")]) == 0
    assert read_video(tmp_path / "r.png").shape[0] == 1  # a still: the input row above the reconstruction row


def test_reconstruct_resizes_another_size_with_a_note(vae_run, tmp_path, capsys):
    np.save(tmp_path / "gray.npy", np.full((FRAMES, 40, 30), 200, dtype=np.uint8))  # gray [T, H, W]
    assert main(["reconstruct", str(vae_run), "--input", str(tmp_path / "gray.npy"), "--out",
                 str(tmp_path / "g.npy")]) == 0
    assert "from 30x40 with 1 channel(s) to the model's 16x16 with 3" in capsys.readouterr().err
    arr = np.load(tmp_path / "g.npy")
    assert arr.shape == (2, FRAMES, RES, RES, 3) and np.abs(arr[0].astype(int) - 200).max() <= 1


def test_interpolate_between_seeds_ends_on_their_samples(vae_run, vae, tmp_path, capsys):
    out = tmp_path / "walk.npy"
    assert main(["interpolate", str(vae_run), "--from", "3", "--to", "11", "--steps", "5", "--out", str(out)]) == 0
    assert "weights 0, 0.25, 0.5, 0.75, 1" in capsys.readouterr().out
    arr = np.load(out).astype(int)  # [steps, T, H, W, C]
    assert arr.shape == (5, FRAMES, RES, RES, 3)
    first, last = (to_uint8(vae.sample(1, seed=s)[0]).astype(int) for s in (3, 11))
    assert np.abs(arr[0] - first).max() <= 1 and np.abs(arr[-1] - last).max() <= 1  # batch-size rounding only
    assert np.abs(arr[2] - first).max() > 1 and np.abs(arr[2] - last).max() > 1

    assert main(["interpolate", str(vae_run), "--from", "3", "--to", "11", "--steps", "5", "--nrow", "5",
                 "--out", str(tmp_path / "walk.gif")]) == 0
    grid = read_video(tmp_path / "walk.gif")
    assert grid.shape[0] == FRAMES and grid.shape[2] == 5 * RES + 6 * 2 and grid.shape[1] > RES + 4  # a label band
    assert main(["interpolate", str(vae_run), "--from", "3", "--to", "11", "--steps", "4",
                 "--out", str(tmp_path / "walk.png")]) == 0
    assert read_video(tmp_path / "walk.png").shape[0] == 1


def test_interpolate_between_clip_files_starts_on_the_reconstruction(vae_run, vae, clips, tmp_path):
    frames, folder = clips
    out = tmp_path / "walk.npy"
    assert main(["interpolate", str(vae_run), "--from", str(folder / "a.npy"), "--to", str(folder / "b.gif"),
                 "--steps", "3", "--out", str(out)]) == 0
    arr = np.load(out).astype(int)
    assert arr.shape == (3, FRAMES, RES, RES, 3)
    recon = to_uint8(vae.reconstruct(frames[:FRAMES])[0]).astype(int)
    assert np.abs(arr[0] - recon).max() <= 1
    assert main(["interpolate", str(vae_run), "--from", "0", "--to", str(folder / "b.gif"), "--steps", "3",
                 "--out", str(tmp_path / "mixed.mp4")]) == 0
    assert read_video(tmp_path / "mixed.mp4").shape[0] == FRAMES


def test_sample_draws_the_vae_prior(vae_run, vae, tmp_path):
    assert main(["sample", str(vae_run), "--num", "3", "--seed", "4", "--out", str(tmp_path / "s.npy")]) == 0
    arr = np.load(tmp_path / "s.npy").astype(int)
    expected = np.stack([to_uint8(v) for v in vae.sample(3, seed=4)]).astype(int)
    assert arr.shape == (3, FRAMES, RES, RES, 3) and np.abs(arr - expected).max() <= 1


@pytest.fixture(scope="module")
def other_runs(tmp_path_factory, repo_root):
    """One-step GAN and ConvLSTM runs from their debug recipes: checkpoints the VAE commands refuse."""
    one_step = ("train.kimg=0.008", "train.tick_kimg=0.008", "train.tensorboard=false")
    return {"gan": _train(repo_root, tmp_path_factory.mktemp("gan"), "gan_tiny.yaml", *one_step),
            "predictor": _train(repo_root, tmp_path_factory.mktemp("convlstm"), "convlstm_tiny.yaml", *one_step)}


@pytest.mark.parametrize("argv, kind, fragment", [
    (["reconstruct", "--input", "CLIP"], "gan", "holds a gan model (dcgan3d), not an autoencoder"),
    (["interpolate", "--from", "0", "--to", "1"], "gan", "vidgen interpolate needs a vae3d run"),
    (["reconstruct", "--input", "CLIP"], "predictor", "holds a predictor model (convlstm), not an autoencoder"),
    (["interpolate", "--from", "CLIP", "--to", "1"], "predictor", "not an autoencoder"),
    (["sample", "--num", "2"], "predictor", "next-frame predictor (convlstm)"),
    (["reconstruct", "--input", "SHORT"], "vae", "has 2 frame(s), the model encodes clips of 8"),
    (["interpolate", "--from", "0", "--to", "1", "--label", "1"], "vae", "unconditional: leave --label out"),
    (["interpolate", "--from", "0", "--to", "1", "--steps", "0"], "vae", "--steps must be >= 1"),
    (["reconstruct", "--input", "CLIP", "--out", "r.avi"], "vae", "cannot write 'r.avi'"),
])
def test_errors_are_one_line_and_a_hint(argv, kind, fragment, other_runs, vae_run, clips, tmp_path, capsys):
    _, folder = clips
    np.save(tmp_path / "short.npy", np.zeros((2, RES, RES, 3), dtype=np.uint8))
    checkpoint = vae_run if kind == "vae" else other_runs[kind]
    names = {"CLIP": str(folder / "a.npy"), "SHORT": str(tmp_path / "short.npy")}
    argv = [names.get(a, a) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out.mp4")]
    assert main([argv[0], str(checkpoint), *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) <= 2 and all(s.startswith(("error: ", "hint: ")) for s in lines)
    if kind != "vae":
        assert "hint: " in err and ("vidgen predict" if kind == "predictor" else "vidgen sample") in err
    assert not list(tmp_path.glob("out.*")) and not (tmp_path / "r.avi").exists()
