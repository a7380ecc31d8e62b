"""Moving digits: MNIST idx files, the font fallback, the npy sequences, the clips."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from vidgen.config import from_dict
from vidgen.data.digits import (
    FONT_POOL,
    MovingDigitsConfig,
    MovingDigitsDataset,
    bounce_trajectories,
    font_digit,
    load_mnist,
    mnist_files,
    read_idx,
    render_font_digit,
)
from vidgen.errors import ConfigError, DataError
from vidgen.registry import DATASETS

# /work/main/tests/data/test_digits.py -> /work/shared/data/mnist (shared/ sits beside the repo)
MNIST_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"
SIZES = [(32, 8), (64, 16), (48, 5)]


def write_idx(path: Path, arr: np.ndarray, gz: bool = False) -> Path:
    """Write uint8 ``arr`` as an idx file: magic 0x08 0x<ndim>, big-endian dims, bytes."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    data = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def fake_mnist(folder: Path, n: int = 12, gz: bool = True, labels: bool = True, split: str = "t10k") -> np.ndarray:
    """A tiny MNIST: digit k is a bright square whose size encodes its label."""
    folder.mkdir(parents=True, exist_ok=True)
    lab = np.arange(n) % 10
    img = np.zeros((n, 28, 28), dtype=np.uint8)
    for k in range(n):
        img[k, 4 : 6 + 2 * lab[k], 4 : 6 + 2 * lab[k]] = 200 + k
    ext = ".gz" if gz else ""
    write_idx(folder / f"{split}-images-idx3-ubyte{ext}", img, gz)
    if labels:
        write_idx(folder / f"{split}-labels-idx1-ubyte{ext}", lab, gz)
    return img


def test_registered():
    entry = DATASETS.get("moving_digits")
    assert entry.obj is MovingDigitsDataset and entry.config is MovingDigitsConfig


# ---------------------------------------------------------------------------- idx files


@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip_and_mnist_layout(tmp_path, gz):
    img = fake_mnist(tmp_path, gz=gz)
    images, labels = load_mnist(tmp_path, "test")
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, img)
    np.testing.assert_array_equal(labels, np.arange(12) % 10)
    assert not images.flags.writeable  # shared through the cache: nobody may write to it
    # the images file itself also works, and its labels file is found beside it
    images_file, labels_file = mnist_files(tmp_path, "test")
    assert images_file.name.startswith("t10k-images") and labels_file.name.startswith("t10k-labels")
    images2, labels2 = load_mnist(images_file)
    assert images2 is images and labels2 is labels  # parsed once, cached


def test_train_split_and_dotted_names(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    img = np.full((3, 28, 28), 7, np.uint8)
    write_idx(folder / "train-images.idx3-ubyte", img)  # the Kaggle spelling
    images, labels = load_mnist(folder, "train")
    assert images.shape == (3, 28, 28) and labels is None
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        load_mnist(folder, "test")


def test_missing_mnist_says_what_to_get(tmp_path):
    with pytest.raises(DataError) as e:
        load_mnist(tmp_path, "test")
    assert "t10k-images-idx3-ubyte" in str(e.value) and "data.source=font" in e.value.hint
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "corrupt,needle",
    [
        (lambda raw: raw[:-5], "truncated or corrupt"),
        (lambda raw: raw + b"\x00", "truncated or corrupt"),
        (lambda raw: b"\x12\x34" + raw[2:], "bad magic"),
        (lambda raw: raw[:2] + b"\x0d" + raw[3:], "not unsigned bytes"),
        (lambda raw: raw[:6], "truncated idx header"),
        (lambda raw: gzip.compress(raw)[:-20], "damaged gzip"),
        (lambda raw: b"", "bad magic"),
    ],
)
def test_corrupt_idx_is_a_data_error(tmp_path, corrupt, needle):
    path = write_idx(tmp_path / "x-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(DataError, match=needle):
        read_idx(path)


def test_wrong_kind_of_idx_file(tmp_path):
    path = write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros(5, np.uint8))  # a labels array
    with pytest.raises(DataError, match="magic 2051"):
        load_mnist(tmp_path)


def test_labels_count_must_match(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="3 labels for the 4 images"):
        load_mnist(tmp_path)


# ------------------------------------------------------------------------- real MNIST


@pytest.fixture(scope="module")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the MNIST test split is not at {MNIST_DIR} (see shared/data/README.md)")
    return MNIST_DIR


def test_real_mnist_files(mnist_dir):
    images, labels = load_mnist(mnist_dir, "test")
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images[:, 0, 0].max() == 0  # white digits on black, empty border


def test_real_mnist_clips(mnist_dir):
    cfg = MovingDigitsConfig(mnist_path=str(mnist_dir), digit_range=(8000, 10000), frames=10, num_clips=50)
    ds = MovingDigitsDataset(cfg)
    assert ds.source == "mnist" and ds.class_names == [str(d) for d in range(10)] and ds.channels == 1
    for i in range(8):
        item = ds[i]
        assert item["video"].shape == (10, 1, 64, 64)
        assert item["caption"].startswith(f"digits {ds.class_names[item['label']]} and ")
    with pytest.raises(DataError, match="10000 digits"):
        MovingDigitsDataset(MovingDigitsConfig(mnist_path=str(mnist_dir), digit_range=(0, 20000)))
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        MovingDigitsDataset(MovingDigitsConfig(mnist_path=str(mnist_dir), mnist_split="train"))


def test_single_real_digit_keeps_its_mass(mnist_dir):
    # The digit is pasted whole at every frame: nothing is lost at the borders.
    ds = MovingDigitsDataset(MovingDigitsConfig(mnist_path=str(mnist_dir), num_digits=1, frames=30))
    for i in range(4):
        clip, label, caption = ds.load_clip(i, np.random.default_rng(0))
        mass = clip.astype(np.int64).sum(axis=(1, 2, 3))
        assert mass.min() == mass.max() > 0
        assert caption == f"digit {label}"
        assert np.abs(np.diff(clip.astype(np.int16), axis=0)).sum() > 0  # it moves


# ------------------------------------------------------------------ fake MNIST in clips


def test_clip_is_pixelwise_max_of_its_digits(tmp_path):
    fake_mnist(tmp_path)
    ds = MovingDigitsDataset(MovingDigitsConfig(mnist_path=str(tmp_path), frames=6, num_digits=3))
    assert ds.source == "mnist"  # auto picks mnist when mnist_path is given
    clip, label, caption = ds.load_clip(0, np.random.default_rng(0))
    assert clip.shape == (6, 64, 64, 1) and clip.dtype == np.uint8
    # the fake digits have distinct brightness 200 + k: the brightest one is visible on top
    values = set(np.unique(clip)) - {0}
    assert values and all(200 <= v < 212 for v in values)
    assert caption.startswith(f"digits {label}, ") and caption.count(" and ") == 1


def test_images_without_labels_file(tmp_path):
    fake_mnist(tmp_path, labels=False, gz=False)
    ds = MovingDigitsDataset(MovingDigitsConfig(mnist_path=str(tmp_path / "t10k-images-idx3-ubyte"), frames=3))
    assert ds.class_names == ["unknown"]
    item = ds[0]
    assert item["label"] == 0 and item["caption"] == "2 moving digits"


# ----------------------------------------------------------------------------- font


def test_font_glyphs_are_ten_distinct_digits():
    glyphs = [render_font_digit(d) for d in range(10)]
    for g in glyphs:
        assert g.shape == (28, 28) and g.dtype == np.uint8
        assert g.max() > 200 and 40 < (g > 128).sum() < 400
        assert g[0].max() == 0 and g[:, 0].max() == 0  # framed like MNIST, with a margin
    for a, b in itertools.combinations(range(10), 2):
        diff = np.abs(glyphs[a].astype(int) - glyphs[b].astype(int)).mean()
        assert diff > 10, (a, b, diff)


def test_jittered_font_digits_vary_but_stay_recognisable():
    # 1-nearest-neighbour over 300 other glyphs of the pool names the right digit about as
    # often as it does on real MNIST (~80% with 300 references): jitter keeps the identity.
    refs = np.stack([font_digit(j) for j in range(100, 400)]).reshape(300, -1).astype(np.float64)
    queries = np.stack([font_digit(j) for j in range(60)]).reshape(60, -1).astype(np.float64)
    nearest = ((queries[:, None] - refs[None]) ** 2).sum(-1).argmin(1) + 100
    assert (nearest % 10 == np.arange(60) % 10).mean() >= 0.7
    assert not np.array_equal(font_digit(3), font_digit(13))
    assert np.array_equal(font_digit(3), render_font_digit(3, 28, np.random.default_rng([0x5EED_D161, 3])))
    assert font_digit(5, 14).shape == (14, 14)


@pytest.mark.parametrize("res,frames", SIZES)
def test_font_clips_shape_range_and_labels(res, frames):
    ds = MovingDigitsDataset(MovingDigitsConfig(resolution=res, frames=frames, num_clips=9))
    assert ds.source == "font" and len(ds) == 9 and ds.channels == 1
    assert ds.digit_size == round(28 * res / 64)
    for i in (0, 8):
        item = ds[i]
        v = item["video"]
        assert v.shape == (frames, 1, res, res) and v.dtype == torch.float32
        assert v.min() == -1.0 and v.max() > 0.5 and v.max() <= 1.0
        assert 0 <= item["label"] < 10
        assert item["caption"].startswith(f"digits {item['label']} and ")


def test_font_clips_deterministic_and_moving():
    a = MovingDigitsDataset(MovingDigitsConfig(frames=8, resolution=32, seed=1))
    b = MovingDigitsDataset(MovingDigitsConfig(frames=8, resolution=32, seed=1))
    x = a[4]["video"]
    assert torch.equal(x, b[4]["video"])
    a.set_epoch(3)
    assert torch.equal(x, a[4]["video"])
    assert not torch.equal(x, MovingDigitsDataset(MovingDigitsConfig(frames=8, resolution=32, seed=2))[4]["video"])
    longer = MovingDigitsDataset(MovingDigitsConfig(frames=12, resolution=32, seed=1))[4]["video"]
    assert torch.equal(x, longer[:8])
    assert (x[0] - x[-1]).abs().max() > 0.5


def test_digit_range_restricts_the_pool():
    ds = MovingDigitsDataset(MovingDigitsConfig(frames=2, digit_range=(20, 30), num_digits=1, resolution=32))
    # glyphs 20..29 are one of each digit: labels follow index % 10 and all digits appear
    labels = {ds[i]["label"] for i in range(60)}
    assert labels == set(range(10))
    with pytest.raises(DataError, match=str(FONT_POOL)):
        MovingDigitsDataset(MovingDigitsConfig(digit_range=(0, FONT_POOL + 1)))


def test_bounce_trajectories():
    track = bounce_trajectories(np.random.default_rng(0), 4, 200, 0.1)
    assert track.shape == (200, 4, 2)
    assert track.min() >= 0.0 and track.max() <= 1.0
    step = np.diff(track, axis=0)
    flips = np.sign(step[1:]) != np.sign(step[:-1])
    near_wall = np.minimum(track[1:-1], 1 - track[1:-1]) <= 0.1 + 1e-9
    assert flips.any() and np.all(near_wall[flips])  # direction changes only at the borders
    speed = np.linalg.norm(step, axis=-1)
    assert speed.max() <= 0.1 + 1e-9
    # away from the walls every step is the full step length
    inside = np.all((track[:-1] > 0.1) & (track[:-1] < 0.9), axis=-1)
    np.testing.assert_allclose(speed[inside], 0.1, atol=1e-9)


# ------------------------------------------------------------------------------- npy


def test_npy_sequences(tmp_path):
    seqs = np.random.default_rng(0).integers(0, 256, size=(20, 3, 64, 64), dtype=np.uint8)
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, seqs)
    ds = MovingDigitsDataset(MovingDigitsConfig(npy_path=str(path), frames=20))
    assert ds.source == "npy" and len(ds) == 3 and ds.class_names == ["unknown"]
    for i in range(3):
        clip, label, caption = ds.load_clip(i, np.random.default_rng(0))
        np.testing.assert_array_equal(clip[..., 0], seqs[:, i])
        assert label == 0 and caption == "moving digits"
    small = MovingDigitsDataset(MovingDigitsConfig(npy_path=str(path), frames=5, resolution=32))
    item = small[2]
    assert item["video"].shape == (5, 1, 32, 32)
    assert MovingDigitsDataset(MovingDigitsConfig(npy_path=str(path), num_clips=2)).__len__() == 2
    with pytest.raises(DataError, match="has 20 frames"):
        MovingDigitsDataset(MovingDigitsConfig(npy_path=str(path), frames=21))


def test_bad_npy_files(tmp_path):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((20, 3, 64), np.uint8))
    with pytest.raises(DataError, match="expected uint8"):
        MovingDigitsDataset(MovingDigitsConfig(npy_path=str(bad)))
    floats = tmp_path / "floats.npy"
    np.save(floats, np.zeros((20, 3, 8, 8), np.float32))
    with pytest.raises(DataError, match="expected uint8"):
        MovingDigitsDataset(MovingDigitsConfig(npy_path=str(floats)))
    with pytest.raises(DataError, match="does not exist"):
        MovingDigitsDataset(MovingDigitsConfig(npy_path=str(tmp_path / "missing.npy")))
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not a numpy file")
    with pytest.raises(DataError, match="cannot read"):
        MovingDigitsDataset(MovingDigitsConfig(npy_path=str(junk)))


# ---------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"num_digits": 0}, "num_digits"),
        ({"num_clips": 0}, "num_clips"),
        ({"source": "mnist"}, "mnist_path"),
        ({"source": "npy"}, "npy_path"),
        ({"digit_range": (5, 5)}, "digit_range"),
        ({"digit_range": (-1, 5)}, "digit_range"),
        ({"npy_path": "x.npy", "digit_range": (0, 5)}, "digit_range"),
        ({"digit_size": 65}, "digit_size"),
        ({"step_length": -0.1}, "step_length"),
        ({"resolution": 2}, "resolution"),
    ],
)
def test_bad_config(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        MovingDigitsConfig(**kw)


def test_auto_source_and_strict_loading():
    assert MovingDigitsConfig().resolved_source == "font"
    assert MovingDigitsConfig(npy_path="a.npy").resolved_source == "npy"
    assert MovingDigitsConfig(npy_path="a.npy", mnist_path="m").resolved_source == "mnist"
    assert MovingDigitsConfig(source="font", mnist_path="m").resolved_source == "font"
    with pytest.raises(ConfigError, match="num_digits"):
        from_dict(MovingDigitsConfig, {"num_digit": 3})
    with pytest.raises(ConfigError, match="npy"):
        from_dict(MovingDigitsConfig, {"source": "mnst"})
    with pytest.raises(ConfigError, match="digit_range"):
        from_dict(MovingDigitsConfig, {"digit_range": [1, 2, 3]})
    cfg = from_dict(MovingDigitsConfig, {"digit_range": [0, 8000], "mnist_split": "train", "mnist_path": "/m"})
    assert cfg.digit_range == (0, 8000) and cfg.mnist_split == "train"
