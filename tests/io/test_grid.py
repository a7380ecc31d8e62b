"""Preview grids: layout arithmetic, input forms, labels, side-by-side."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vidgen.data.transforms import to_tensor
from vidgen.io import make_grid, side_by_side, write_strip


def batch(b: int = 5, t: int = 4, h: int = 32, w: int = 40) -> np.ndarray:
    """uint8 [B, T, H, W, 3]: clip k has brightness 40 + 30 * k, plus a square moving with t."""
    out = np.empty((b, t, h, w, 3), dtype=np.uint8)
    for k in range(b):
        out[k] = 40 + 30 * k
        for i in range(t):
            out[k, i, 8:16, 4 * i : 4 * i + 8] = 255
    return out


def test_grid_shape_and_placement():
    clips = batch(5)
    grid = make_grid(clips, nrow=3, padding=2, pad_value=0)
    # rows = ceil(5 / 3) = 2
    assert grid.shape == (4, 2 * 32 + 3 * 2, 3 * 40 + 4 * 2, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[:, 2:34, 2:42], clips[0])
    np.testing.assert_array_equal(grid[:, 36:68, 44:84], clips[4])  # row 1, column 1
    assert (grid[:, 36:68, 86:126] == 0).all()  # the sixth slot is empty padding
    assert (grid[:, 0:2] == 0).all()


def test_grid_default_nrow_and_pad_value():
    grid = make_grid(batch(5), padding=3, pad_value=(255, 0, 0))
    assert grid.shape == (4, 2 * 32 + 3 * 3, 3 * 40 + 4 * 3, 3)  # nrow = ceil(sqrt(5)) = 3
    assert (grid[:, 0, 0] == [255, 0, 0]).all()
    assert make_grid(batch(4)).shape[1:3] == (2 * 32 + 3 * 2, 2 * 40 + 3 * 2)


def test_grid_float_tensor_matches_uint8():
    clips = batch(3)
    tensor = torch.stack([to_tensor(c) for c in clips])  # [B, T, C, H, W] in [-1, 1]
    np.testing.assert_array_equal(make_grid(tensor, nrow=2), make_grid(clips, nrow=2))


def test_grid_grayscale_and_ragged_lengths():
    gray = batch(2)[..., :1]
    assert make_grid(gray).shape[-1] == 3
    short, long_ = batch(1, t=2)[0], batch(1, t=5)[0]
    grid = make_grid([short, long_], nrow=2, padding=0)
    assert grid.shape[0] == 5
    np.testing.assert_array_equal(grid[4, :, :40], short[-1])  # short clip froze on its last frame


def test_grid_labels_draw_text():
    clips = batch(4)
    plain = make_grid(clips, nrow=2)
    per_clip = make_grid(clips, nrow=2, labels=["a", "b", "c", "d"])
    assert per_clip.shape[1] > plain.shape[1] and per_clip.shape[2] == plain.shape[2]
    band = (per_clip.shape[1] - plain.shape[1]) // 2  # one band per row of tiles
    assert per_clip[0, 2 : 2 + band].max() > 64  # white text on the grey band
    assert not np.array_equal(per_clip[0, 2 : 2 + band, :42], per_clip[0, 2 : 2 + band, 42:84])  # "a" != "b"
    per_row = make_grid(clips, nrow=2, labels=["class 0", "class 1"])
    assert per_row.shape[1] == plain.shape[1] and per_row.shape[2] > plain.shape[2]
    margin = per_row.shape[2] - plain.shape[2]
    assert per_row[0, :, :margin].max() > 64  # white text on the grey margin
    np.testing.assert_array_equal(per_row[:, :, margin:], plain)  # tiles unchanged, margin added
    with pytest.raises(ValueError, match="one per clip"):
        make_grid(clips, nrow=2, labels=["x", "y", "z"])


def test_grid_rejects_bad_input():
    with pytest.raises(ValueError):
        make_grid(np.zeros((4, 8, 8, 3), np.uint8))  # one clip, not a batch
    with pytest.raises(ValueError):
        make_grid([batch(1, h=8)[0], batch(1, h=16)[0]])
    with pytest.raises(ValueError):
        make_grid(batch(2), nrow=0)


def test_side_by_side(tmp_path):
    real = make_grid(batch(4, t=3), nrow=2)
    fake = make_grid(batch(6, t=5), nrow=3)
    both = side_by_side(real, fake)
    band = both.shape[1] - max(real.shape[1], fake.shape[1])
    assert band > 0
    assert both.shape == (5, band + max(real.shape[1], fake.shape[1]), real.shape[2] + 4 + fake.shape[2], 3)
    assert both[0, :band].max() > 0  # titles drawn
    np.testing.assert_array_equal(both[4, band : band + real.shape[1], : real.shape[2]], real[-1])
    # batches are gridded first; no titles -> no band
    plain = side_by_side(batch(4, t=3), batch(6, t=5), titles=None)
    assert plain.shape == (5, max(real.shape[1], fake.shape[1]), real.shape[2] + 4 + fake.shape[2], 3)
    path = write_strip(tmp_path / "side_by_side.png", both, max_frames=2)
    with Image.open(path) as im:
        assert im.size == (2 * both.shape[2], both.shape[1])


def test_frame_strips_one_row_per_clip():
    from vidgen.io import frame_strips

    videos = torch.linspace(-1, 1, 16).view(1, 16, 1, 1, 1).expand(3, 16, 3, 8, 8)  # brightness ramps in time
    still = frame_strips(videos, num_frames=4, padding=1)
    assert still.shape == (1, 3 * 8 + 4, 4 * 8 + 5, 3)
    first_row = still[0, 1:9]
    tiles = [first_row[:, 1 + i * 9 : 9 + i * 9] for i in range(4)]
    means = [float(t.mean()) for t in tiles]
    assert means == sorted(means) and means[0] < 10 and means[-1] > 245  # frames 0 .. 15, left to right
