"""``vidgen predict``: the side-by-side file, samples, formats, resizing, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from vidgen import config as cfgmod
from vidgen.cli import main
from vidgen.io import read_video, write_video
from vidgen.io.checkpoint import save_export

RES = 16


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 12-frame uint8 clip [T, H, W, 3] at the model's size, as .npy and .gif."""
    frames = np.random.default_rng(1).integers(0, 256, (12, RES, RES, 3), dtype=np.uint8)
    folder = tmp_path_factory.mktemp("clip")
    np.save(folder / "clip.npy", frames)
    write_video(folder / "clip.gif", frames)
    return frames, folder


def _width(samples_side: int = RES) -> int:
    return 2 * (samples_side + 4) + 4  # two one-column grids (2 px padding each side) and a 4 px gap


def test_side_by_side_video_has_context_plus_predicted_frames(copy_last, clip, tmp_path, capsys):
    frames, folder = clip
    out = tmp_path / "pred.mp4"
    assert main(["predict", str(copy_last), "--input", str(folder / "clip.gif"), "--context", "3", "--frames", "15",
                 "--out", str(out)]) == 0
    assert "3 context + 15 predicted frames" in capsys.readouterr().out
    video = read_video(out)
    assert video.shape[0] == 18 and video.shape[2] == _width()
    # the right half repeats the last context frame; the left half turns black after the input's 12 frames
    right, left = video[:, -(RES + 2):-2, -(RES + 2):-2].astype(int), video[:, -(RES + 2):-2, 2:RES + 2]
    assert np.abs(right[-1] - right[2]).max() <= 12  # H.264 rounding only
    assert left[12:].max() <= 16 and left[:12].mean() > 60


def test_samples_formats_and_exact_npy(copy_last, clip, tmp_path):
    frames, folder = clip
    assert main(["predict", str(copy_last), "--input", str(folder / "clip.npy"), "--samples", "3",
                 "--out", str(tmp_path / "p.npy")]) == 0
    arr = np.load(tmp_path / "p.npy")  # [K, context + frames, H, W, C], defaults: the model's 4 -> 4
    assert arr.shape == (3, 8, RES, RES, 3) and arr.dtype == np.uint8
    np.testing.assert_array_equal(arr[:, :4], np.broadcast_to(frames[:4], (3, 4, RES, RES, 3)))
    np.testing.assert_array_equal(arr[:, 4:], np.broadcast_to(frames[3], (3, 4, RES, RES, 3)))
    assert main(["predict", str(copy_last), "--input", str(folder / "clip.npy"), "--samples", "2",
                 "--out", str(tmp_path / "p.gif")]) == 0
    grid = read_video(tmp_path / "p.gif")
    assert grid.shape[0] == 8 and grid.shape[2] == _width() and grid.shape[1] > 2 * RES  # two rows
    assert main(["predict", str(copy_last), "--input", str(folder / "clip.npy"), "--out",
                 str(tmp_path / "p.png")]) == 0
    assert read_video(tmp_path / "p.png").shape[0] == 1  # a still: the input row above the prediction row


def test_another_size_and_gray_input_are_resized_with_a_note(copy_last, tmp_path, capsys):
    np.save(tmp_path / "gray.npy", np.full((6, 40, 30), 200, dtype=np.uint8))  # gray [T, H, W]
    assert main(["predict", str(copy_last), "--input", str(tmp_path / "gray.npy"), "--frames", "2",
                 "--out", str(tmp_path / "g.npy")]) == 0
    assert "resized the input from 30x40 with 1 channel(s) to the model's 16x16 with 3" in capsys.readouterr().err
    arr = np.load(tmp_path / "g.npy")
    assert arr.shape == (1, 6, RES, RES, 3) and np.abs(arr.astype(int) - 200).max() <= 1


def _gan_export(directory) -> str:
    from vidgen.models import build_model
    from vidgen.models.gan.dcgan3d import DCGAN3DConfig

    config = DCGAN3DConfig(z_dim=4, g_channels=4, d_channels=4)
    gen = build_model(config, frames=4, resolution=RES, channels=3).generator
    meta = {"family": "gan", "model": {"name": "dcgan3d", **cfgmod.to_dict(config)},
            "video": {"frames": 4, "resolution": RES, "channels": 3}}
    save_export(directory, {f"generator.{k}": v for k, v in gen.state_dict().items()}, meta)
    return str(directory)


@pytest.mark.parametrize("case, fragment", [
    ("gan", "not a frame predictor"),
    ("short", "has 2 frame(s), --context 4 needs at least 4"),
    ("channels", "with C in 1, 3, 4, got shape (1, 6, 16, 16, 2)"),
    ("float", "holds a float32 array"),
    ("suffix", "cannot write 'pred.avi'"),
    ("frames", "--frames must be >= 1"),
    ("missing", "does not exist"),
])
def test_errors_are_one_line_and_a_hint(case, fragment, copy_last, clip, tmp_path, capsys):
    _, folder = clip
    checkpoint, source, out, extra = str(copy_last), folder / "clip.npy", tmp_path / "pred.mp4", []
    if case == "gan":
        checkpoint = _gan_export(tmp_path / "gan")
    elif case == "short":
        source = folder / "short.npy"
        np.save(source, np.zeros((2, RES, RES, 3), dtype=np.uint8))
    elif case in ("channels", "float"):
        source = tmp_path / "bad.npy"
        np.save(source, np.zeros((6, RES, RES, 2), np.uint8) if case == "channels" else np.zeros((6, RES, RES, 3),
                                                                                                  np.float32))
    elif case == "suffix":
        out = tmp_path / "pred.avi"
    elif case == "frames":
        extra = ["--frames", "0"]
    else:
        source = tmp_path / "nothing.mp4"
    assert main(["predict", checkpoint, "--input", str(source), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2 and not out.exists()

