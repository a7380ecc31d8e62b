"""The ``folder`` dataset on tiny videos written into tmp_path.

Frame ``i`` of a test video has brightness ``STEP * i + base`` so the first frame of a
loaded clip says where the clip started.
"""

from __future__ import annotations

import logging

import av
import numpy as np
import pytest
from PIL import Image

import vidgen.data.folder as folder_mod
from vidgen.config import from_dict
from vidgen.data import build_dataset
from vidgen.data.folder import FolderConfig, FolderDataset
from vidgen.data.transforms import TransformConfig
from vidgen.errors import ConfigError, DataError
from vidgen.io import write_video
from vidgen.registry import DATASETS

STEP = 10


def ramp(n: int, base: int = 0, h: int = 24, w: int = 32) -> np.ndarray:
    clip = np.empty((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        clip[i] = min(255, base + STEP * i)
        clip[i, 2:6, i % (w - 4) : i % (w - 4) + 4] = 255
    return clip


def first_index(clip: np.ndarray, base: int = 0) -> int:
    return int(round((float(clip[0, -4:, -4:].mean()) - base) / STEP))


def ids(clip: np.ndarray, base: int = 0) -> list[int]:
    return [int(round((float(f[-4:, -4:].mean()) - base) / STEP)) for f in clip]


def write_pyav(path, clip: np.ndarray, codec: str, pix_fmt: str = "yuv420p"):
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=8)
        stream.height, stream.width = clip.shape[1:3]
        stream.pix_fmt = pix_fmt
        for frame in clip:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def make(tmp_path, **kw) -> FolderConfig:
    kw.setdefault("frames", 4)
    kw.setdefault("resolution", 16)
    kw.setdefault("cache_dir", str(tmp_path / "cache"))
    return FolderConfig(**kw)


@pytest.fixture
def classes(tmp_path):
    """root/{cats,dogs}/*.mp4 with 12 frames each."""
    root = tmp_path / "videos"
    for cls in ("dogs", "cats"):
        for k in range(2):
            write_video(root / cls / f"{cls}{k}.mp4", ramp(12), fps=8)
    return root


# ------------------------------------------------------------------------------ config


def test_config_requires_path_and_is_strict():
    with pytest.raises(ConfigError, match="data.path is required for the folder dataset"):
        FolderConfig()
    with pytest.raises(ConfigError, match="frame_stride"):
        FolderConfig(path="x", frame_stride=0)
    with pytest.raises(ConfigError, match="clip_sampling"):
        from_dict(FolderConfig, {"path": "x", "clip_sampling": "middle"})
    with pytest.raises(ConfigError, match="pth"):
        from_dict(FolderConfig, {"pth": "x"})
    cfg = from_dict(FolderConfig, {"path": "x", "extensions": [".MP4", "gif"]})
    assert cfg.extensions == ("mp4", "gif")
    assert DATASETS.get("folder").obj is FolderDataset and DATASETS.get("folder").config is FolderConfig


# ---------------------------------------------------------------------------- indexing


def test_class_labels_from_subfolders(tmp_path, classes):
    ds = build_dataset(make(tmp_path, path=str(classes), clips_per_video=2))
    assert isinstance(ds, FolderDataset)
    assert ds.class_names == ["cats", "dogs"] and ds.num_classes == 2
    assert len(ds) == 4 * 2
    item = ds[0]
    assert item["video"].shape == (4, 3, 16, 16)
    assert item["video"].min() >= -1 and item["video"].max() <= 1
    assert (item["label"], item["caption"]) == (0, "cats")
    assert (ds[7]["label"], ds[7]["caption"]) == (1, "dogs")
    info = ds.info()
    assert info["videos"] == 4 and info["skipped"] == 0 and info["class_names"] == ["cats", "dogs"]
    assert info["path"] == str(classes.resolve()) and info["clips"] == 8


def test_unlabelled_when_videos_sit_in_the_root(tmp_path):
    root = tmp_path / "flat"
    write_video(root / "walk.mp4", ramp(10))
    write_video(root / "run.mp4", ramp(10))
    ds = FolderDataset(make(tmp_path, path=str(root)))
    assert ds.class_names == []
    captions = sorted(ds[i]["caption"] for i in range(len(ds)))
    assert captions == ["run", "walk"] and {ds[i]["label"] for i in range(2)} == {0}


def test_mixed_layout_is_unlabelled_with_a_warning(tmp_path, caplog):
    root = tmp_path / "mixed"
    write_video(root / "walk.mp4", ramp(10))
    write_video(root / "jumps" / "jump.mp4", ramp(10))
    root.joinpath("._walk.mp4").write_bytes(b"macOS resource fork")  # hidden: ignored
    with caplog.at_level(logging.WARNING, logger="vidgen.data.folder"):
        ds = FolderDataset(make(tmp_path, path=str(root)))
    assert ds.class_names == [] and len(ds) == 2 and not ds.skipped
    assert any("unlabelled" in r.getMessage() for r in caplog.records)
    assert sorted(ds.load_clip(i, ds.rng(i))[2] for i in range(2)) == ["jump", "walk"]


def test_dataset_pickles_for_loader_workers(tmp_path, classes):
    import pickle

    ds = FolderDataset(make(tmp_path, path=str(classes), clip_sampling="even"))
    copy = pickle.loads(pickle.dumps(ds))
    assert len(copy) == len(ds) and (copy[1]["video"] == ds[1]["video"]).all()


def test_bad_files_are_skipped_with_one_warning_each(tmp_path, caplog):
    root = tmp_path / "mixed"
    write_video(root / "good.mp4", ramp(12))
    write_video(root / "short.mp4", ramp(3))
    root.joinpath("bad.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 2048, dtype=np.uint8).tobytes())
    root.joinpath("zero.avi").write_bytes(b"")
    root.joinpath("readme.txt").write_text("ignored: not a video extension")
    with caplog.at_level(logging.WARNING, logger="vidgen.data.folder"):
        ds = FolderDataset(make(tmp_path, path=str(root)))
    assert len(ds) == 1
    assert sorted((p.split("/")[-1], r.split(":")[0]) for p, r in ds.skipped) == [
        ("bad.mp4", "unreadable"),
        ("short.mp4", "too short"),
        ("zero.avi", "empty"),
    ]
    lines = [r.getMessage() for r in caplog.records]
    assert sum("skipping" in m for m in lines) == 3
    assert any("bad.mp4" in m for m in lines) and any("short.mp4" in m and "3 frames" in m for m in lines)
    assert "skipped 3 of 4 files: 1 empty, 1 too short, 1 unreadable" in lines
    assert ds.info()["skipped"] == 3


def test_empty_or_missing_folder_says_what_was_found(tmp_path):
    root = tmp_path / "nothing"
    root.mkdir()
    root.joinpath("notes.txt").write_text("x")
    root.joinpath("clip.flv").write_bytes(b"x")
    with pytest.raises(DataError) as e:
        FolderDataset(make(tmp_path, path=str(root)))
    text = str(e.value)
    assert "no usable video" in text and "2 files" in text and ".txt" in text and "notes.txt" in text
    assert ".mp4" in text and ".webm" in text  # the supported extensions
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no files"):
        FolderDataset(make(tmp_path, path=str(empty)))
    with pytest.raises(DataError, match="does not exist"):
        FolderDataset(make(tmp_path, path=str(tmp_path / "missing")))
    write_video(empty / "short.mp4", ramp(2))
    with pytest.raises(DataError, match="too short"):
        FolderDataset(make(tmp_path, path=str(empty)))


def test_videos_too_short_for_the_clip_say_so_and_what_fits(tmp_path):
    root = tmp_path / "short"
    write_video(root / "a.mp4", ramp(12))
    write_video(root / "sub" / "b.mp4", ramp(9))
    with pytest.raises(DataError) as e:
        FolderDataset(make(tmp_path, path=str(root), frames=16))
    assert "2 too short" in e.value.message
    hint = e.value.hint
    assert "too short" in hint and "the longest has 12 frames, a clip needs 16" in hint
    assert "lower data.frames (at most 12 here)" in hint and "extensions" not in hint
    with pytest.raises(DataError) as e:
        FolderDataset(make(tmp_path, path=str(root), frames=8, transforms=TransformConfig(temporal_stride=2)))
    assert "at most 6 here" in e.value.hint and "data.transforms.temporal_stride" in e.value.hint


def test_every_claimed_extension(tmp_path, caplog):
    root = tmp_path / "formats"
    root.mkdir()
    clip = ramp(10)
    write_video(root / "a.mp4", clip)
    write_video(root / "b.gif", clip)
    write_pyav(root / "c.avi", clip, "mpeg4")
    write_pyav(root / "d.mov", clip, "libx264")
    write_pyav(root / "e.mkv", clip, "ffv1", "yuv444p")
    expected = ["a", "b", "c", "d", "e"]
    for codec in ("libvpx-vp9", "libvpx"):
        if codec in av.codecs_available:
            write_pyav(root / "f.webm", clip, codec)
            expected.append("f")
            break
    frames = root / "g_frames"
    frames.mkdir()
    for i, f in enumerate(clip):
        Image.fromarray(f).save(frames / f"{i}.png")
    expected.append("g_frames")
    with caplog.at_level(logging.WARNING):
        ds = FolderDataset(make(tmp_path, path=str(root), clip_sampling="even", cache=False))
    assert not ds.skipped and not [r for r in caplog.records if "skip" in r.getMessage()]
    assert sorted(ds[i]["caption"] for i in range(len(ds))) == expected
    for i in range(len(ds)):
        clip_i, _, caption = ds.load_clip(i, ds.rng(i))
        assert clip_i.shape == (4, 24, 32, 3), caption
        assert ids(clip_i) == [0, 1, 2, 3], caption


def test_frame_folders_in_class_folders(tmp_path):
    root = tmp_path / "frames"
    for cls in ("a", "b"):
        d = root / cls / "clip1"
        d.mkdir(parents=True)
        for i, f in enumerate(ramp(6)):
            Image.fromarray(f).save(d / f"img_{i}.png")
    ds = FolderDataset(make(tmp_path, path=str(root), frames=5, clip_sampling="even"))
    assert ds.class_names == ["a", "b"] and len(ds) == 2
    clip, label, caption = ds.load_clip(1, ds.rng(1))
    assert (label, caption) == (1, "b") and ids(clip) == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------- sampling


def test_even_sampling_and_frame_stride(tmp_path):
    root = tmp_path / "one"
    write_video(root / "v.mp4", ramp(20))
    # span = (4 - 1) * 2 + 1 = 7 frames; latest start 13; 3 clips at 0, 6.5 -> 6, 13
    ds = FolderDataset(make(tmp_path, path=str(root), frame_stride=2, clips_per_video=3, clip_sampling="even"))
    assert len(ds) == 3
    starts = [ds.clip_start(i, ds.rng(i)) for i in range(3)]
    assert starts[0] == 0 and starts[2] == 13 and starts[1] in (6, 7)
    for i, s in enumerate(starts):
        clip, _, _ = ds.load_clip(i, ds.rng(i))
        assert ids(clip) == [s, s + 2, s + 4, s + 6]
    single = FolderDataset(make(tmp_path, path=str(root), clip_sampling="even"))
    assert ids(single.load_clip(0, single.rng(0))[0]) == [0, 1, 2, 3]


def test_random_sampling_depends_on_seed_epoch_index(tmp_path):
    root = tmp_path / "one"
    write_video(root / "v.mp4", ramp(20))
    ds = FolderDataset(make(tmp_path, path=str(root), clips_per_video=2, cache=False))
    per_epoch = []
    for epoch in range(6):
        ds.set_epoch(epoch)
        per_epoch.append(tuple(ds.clip_start(i, ds.rng(i)) for i in range(2)))
    assert len(set(per_epoch)) > 1  # starts change with the epoch
    assert all(0 <= s <= 16 for starts in per_epoch for s in starts)
    ds.set_epoch(3)
    assert tuple(ds.clip_start(i, ds.rng(i)) for i in range(2)) == per_epoch[3]  # reproducible
    clip, _, _ = ds.load_clip(0, ds.rng(0))
    assert ids(clip)[0] == per_epoch[3][0]


def test_temporal_stride_loads_raw_frames(tmp_path):
    root = tmp_path / "one"
    write_video(root / "v.mp4", ramp(12))
    tf = TransformConfig(temporal_stride=2)
    ds = FolderDataset(make(tmp_path, path=str(root), frames=3, clip_sampling="even", transforms=tf))
    assert ds.raw_frames == 6
    raw, _, _ = ds.load_clip(0, ds.rng(0))
    assert ids(raw) == [0, 1, 2, 3, 4, 5]
    assert ds[0]["video"].shape == (3, 3, 16, 16)


# ------------------------------------------------------------------------------- cache


def test_decoded_clips_are_cached(tmp_path, monkeypatch, classes):
    calls = []
    real = folder_mod.read_video

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(folder_mod, "read_video", counting)
    cache = tmp_path / "clipcache"
    ds = FolderDataset(make(tmp_path, path=str(classes), clip_sampling="even", cache_dir=str(cache)))
    first = [ds[i]["video"] for i in range(len(ds))]
    assert len(calls) == 4
    assert len(list(cache.rglob("*.npy"))) == 4 and not list(cache.rglob("*.tmp"))

    def broken(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(folder_mod, "read_video", broken)
    ds.set_epoch(1)
    second = [ds[i]["video"] for i in range(len(ds))]
    for a, b in zip(first, second):
        assert (a == b).all()
    # a changed file (size/mtime) misses the cache
    write_video(classes / "cats" / "cats0.mp4", ramp(14))
    with pytest.raises(AssertionError, match="decoded again"):
        FolderDataset(make(tmp_path, path=str(classes), clip_sampling="even", cache_dir=str(cache)))[0]


def test_cache_off_and_default_location(tmp_path, monkeypatch, classes):
    monkeypatch.setenv("VIDGEN_CACHE", str(tmp_path / "envcache"))
    cfg = FolderConfig(path=str(classes), frames=4, resolution=16, clip_sampling="even")
    ds = FolderDataset(cfg)
    ds[0]
    assert len(list((tmp_path / "envcache" / "clips").rglob("*.npy"))) == 1
    off = FolderDataset(make(tmp_path, path=str(classes), cache=False, cache_dir=str(tmp_path / "off")))
    off[0]
    assert not (tmp_path / "off").exists()
