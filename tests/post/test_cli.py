"""`vidgen post` and `vidgen sample --post` end to end on small inputs."""

from __future__ import annotations

import numpy as np

from vidgen.cli import main
from vidgen.io import read_video, write_video


def _clip(tmp_path, frames=6):
    rng = np.random.default_rng(0)
    clip = np.clip(96 + rng.normal(0, 25, (frames, 32, 32, 3)), 0, 255).astype(np.uint8)
    path = write_video(tmp_path / "in.mp4", clip, fps=8, crf=0)
    return path


def test_post_writes_the_chain_s_output_and_the_temporal_metrics(tmp_path, capsys):
    src = _clip(tmp_path)
    assert main(["post", str(src), "--ops", "denoise,sharpen,interpolate:x2", "--out", str(tmp_path / "o.mp4"),
                 "sharpen.amount=0.3"]) == 0
    out = read_video(tmp_path / "o.mp4")
    assert out.shape[0] == 11 and out.shape[1:3] == (32, 32)  # 6 frames -> 11
    printed = capsys.readouterr().out
    assert "warping error (DIS flow)" in printed and "flicker index" in printed
    assert not list(tmp_path.glob(".*partial*"))  # written under a temporary name, then renamed


def test_bad_post_requests_are_one_line_errors(tmp_path, capsys):
    src = _clip(tmp_path)
    assert main(["post", str(src), "--ops", "blur", "--out", str(tmp_path / "o.mp4")]) != 0
    assert "unknown post-processing op 'blur'" in capsys.readouterr().err
    assert main(["post", str(src), "--ops", "sharpen", "--out", str(tmp_path / "nope" / "o.mp4")]) != 0
    assert "does not exist" in capsys.readouterr().err
    np.save(tmp_path / "one.npy", np.zeros((1, 8, 8, 3), np.uint8))
    assert main(["post", str(tmp_path / "one.npy"), "--ops", "deflicker", "--out", str(tmp_path / "o.npy")]) != 0
    assert "needs at least 2" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()


def test_sample_post_processes_generated_clips(tmp_path):
    assert main(["sample", "shapes-cond64", "--num", "2", "--post", "interpolate:x2", "--out",
                 str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (2, 31, 64, 64, 3)  # 16 frames -> 31
    assert main(["sample", "shapes-cond64", "--num", "2", "--post", "blur", "--out", str(tmp_path / "x.npy")]) != 0
