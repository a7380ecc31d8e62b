"""`vidgen demo` (what `make demo` runs): shipped-model samples first, then a short training run."""

from __future__ import annotations

from vidgen.cli import main
from vidgen.io import read_video


def test_the_demo_writes_shipped_samples_then_trains(tmp_path, capsys, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    out = tmp_path / "demo"
    assert main(["demo", "--minutes", "0.05", "--recipe", "configs/debug/gan_tiny.yaml", "--out", str(out),
                 "train.kimg=0.016"]) == 0
    printed = capsys.readouterr().out
    shapes = read_video(out / "shipped-shapes.mp4")
    assert shapes.shape[0] == 16 and shapes.shape[1] > 3 * 64  # three class rows of 64x64 clips
    digits = read_video(out / "shipped-digits.mp4")
    assert digits.shape[0] == 20
    assert (out / "samples.mp4").is_file() and (out / "model.safetensors").is_file()  # then it trained
    assert "shipped-shapes.mp4" in printed and "vidgen ui" in printed
