"""`vidgen data export`: raw clips of a dataset, as eval --real and the folder dataset read them."""

from __future__ import annotations

import numpy as np
import pytest

from vidgen.cli import main
from vidgen.convert import to_uint8
from vidgen.data import build_dataset
from vidgen.data.synthetic import ShapesConfig
from vidgen.metrics.generative import load_clips


def test_a_npy_holds_the_exact_clips_eval_real_reads(tmp_path, capsys):
    out = tmp_path / "real.npy"
    assert main(["data", "export", "shapes", "--num", "3", "--start", "2", "--out", str(out),
                 "resolution=16", "frames=4", "seed=1"]) == 0
    clips = np.load(out)
    dataset = build_dataset(ShapesConfig(resolution=16, frames=4, seed=1))
    expected = np.stack([to_uint8(dataset[i]["video"]) for i in (2, 3, 4)])
    assert clips.dtype == np.uint8 and np.array_equal(clips, expected)  # no grid, no border
    assert load_clips(out).shape == (3, 4, 3, 16, 16)
    assert "uint8 [3, 4, 16, 16, 3]" in capsys.readouterr().out


def test_a_folder_by_class_is_a_labelled_folder_dataset(tmp_path):
    out = tmp_path / "clips"
    assert main(["data", "export", "shapes", "--num", "6", "--out", str(out), "--by-class",
                 "resolution=16", "frames=4"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["circle", "square", "triangle"]
    from vidgen.data.folder import FolderConfig

    folder = build_dataset(FolderConfig(path=str(out), frames=4, resolution=16, clips_per_video=1))
    assert len(folder) == 6 and sorted(folder.class_names) == ["circle", "square", "triangle"]


@pytest.mark.parametrize("argv, message", [
    (["--num", "99"], "holds 64 clips"),
    (["--out", "x.mp4"], "a .npy / .npz file or a folder"),
    (["--by-class", "--out", "x.npy"], "give a folder"),
])
def test_bad_requests_are_one_line(tmp_path, capsys, argv, message):
    args = ["data", "export", "shapes", "--out", str(tmp_path / "o.npy"), "num_clips=64", *argv]
    assert main(args) != 0
    assert message in capsys.readouterr().err
