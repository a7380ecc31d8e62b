"""Video read/write round-trips on tiny clips the tests write themselves.

Frame ``i`` of a test clip has a background brightness of ``STEP * i`` (so a decoded frame
says which source frame it is) and a white square that moves with ``i``.
"""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from PIL import Image

import vidgen.io.video as video_mod
from vidgen.data.transforms import to_tensor
from vidgen.errors import DataError
from vidgen.io import probe_video, read_frames_dir, read_video, write_strip, write_video

STEP = 12


def ramp_clip(n: int = 16, h: int = 32, w: int = 40, step: int = STEP) -> np.ndarray:
    """uint8 [n, h, w, 3]: background step * i, a moving 8x8 white square."""
    clip = np.empty((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        clip[i] = step * i
        x = (2 * i) % (w - 8)
        clip[i, 4:12, x : x + 8] = 255
    return clip


def frame_ids(frames: np.ndarray, step: int = STEP) -> list[int]:
    """Recover the source index of decoded frames from a background patch."""
    return [int(round(float(f[-6:, -6:].mean()) / step)) for f in frames]


def write_with_pyav(path, clip: np.ndarray, codec: str, fps: int = 8, gop: int | None = None, pix_fmt: str = "yuv420p"):
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = clip.shape[1:3]
        stream.pix_fmt = pix_fmt
        if gop is not None:
            stream.codec_context.gop_size = gop
        for frame in clip:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


# ------------------------------------------------------------------------------ writing


def test_mp4_round_trip(tmp_path):
    clip = ramp_clip()
    path = write_video(tmp_path / "a.mp4", clip, fps=8)
    assert path == tmp_path / "a.mp4" and path.is_file()
    out = read_video(path)
    assert out.shape == clip.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - clip).mean() < 8
    assert frame_ids(out) == list(range(16))
    info = probe_video(path)
    assert (info.num_frames, info.height, info.width) == (16, 32, 40)
    assert info.fps == pytest.approx(8.0)


def test_mp4_low_crf_is_closer(tmp_path):
    clip = ramp_clip(8)
    hi = read_video(write_video(tmp_path / "hi.mp4", clip, crf=35))
    lo = read_video(write_video(tmp_path / "lo.mp4", clip, crf=0))
    assert np.abs(lo.astype(int) - clip).mean() <= np.abs(hi.astype(int) - clip).mean()
    assert np.abs(lo.astype(int) - clip).mean() < 3


def test_mp4_odd_size_is_padded_to_even(tmp_path):
    clip = ramp_clip(6, h=33, w=41)
    out = read_video(write_video(tmp_path / "odd.mp4", clip))
    assert out.shape == (6, 34, 42, 3)
    assert np.abs(out[:, :33, :41].astype(int) - clip).mean() < 8
    # edge padding: the extra row/column repeats the last one
    assert np.abs(out[:, 33].astype(int) - out[:, 32]).mean() < 8
    assert np.abs(out[:, :, 41].astype(int) - out[:, :, 40]).mean() < 8


def test_float_tensor_input(tmp_path):
    clip = ramp_clip(5)
    tensor = to_tensor(clip)  # [T, C, H, W] in [-1, 1]
    assert tensor.shape == (5, 3, 32, 40)
    np.testing.assert_array_equal(np.load(write_video(tmp_path / "t.npy", tensor)), clip)
    out = read_video(write_video(tmp_path / "t.mp4", tensor))
    assert out.shape == clip.shape and np.abs(out.astype(int) - clip).mean() < 8


def test_grayscale_input(tmp_path):
    gray = ramp_clip(5)[..., :1]  # [T, H, W, 1]
    out = read_video(write_video(tmp_path / "g.mp4", gray))
    assert out.shape == (5, 32, 40, 3)
    assert np.abs(out.astype(int) - gray).mean() < 8  # every channel close to the gray value
    assert np.load(write_video(tmp_path / "g.npy", gray)).shape == (5, 32, 40, 1)
    gif = read_video(write_video(tmp_path / "g.gif", gray[..., 0]))  # [T, H, W] works too
    assert np.abs(gif.astype(int) - gray).max() <= 1
    gray_tensor = torch.linspace(-1, 1, 5 * 32 * 40).reshape(5, 1, 32, 40)
    assert read_video(write_video(tmp_path / "gt.gif", gray_tensor)).shape == (5, 32, 40, 3)


def test_gif_round_trip(tmp_path):
    clip = ramp_clip(10)
    path = write_video(tmp_path / "a.gif", clip, fps=10)
    with Image.open(path) as im:
        assert im.info.get("loop") == 0 and im.info.get("duration") == 100
    out = read_video(path)
    assert out.shape == clip.shape
    assert np.abs(out.astype(int) - clip).max() <= 1  # few colours: the palette is exact
    assert probe_video(path).num_frames == 10


def test_png_strip(tmp_path):
    clip = ramp_clip(6)
    with Image.open(write_video(tmp_path / "s.png", clip)) as im:
        strip = np.asarray(im)
    assert strip.shape == (32, 6 * 40, 3)
    np.testing.assert_array_equal(strip[:, 40:80], clip[1])
    with Image.open(write_strip(tmp_path / "sub" / "s3.png", clip, max_frames=3)) as im:
        strip = np.asarray(im)
    assert strip.shape == (32, 3 * 40, 3)
    assert frame_ids(np.stack([strip[:, :40], strip[:, 40:80], strip[:, 80:]])) == [0, 2, 5]


def test_npy_is_exact_and_parents_created(tmp_path):
    clip = ramp_clip(4)
    path = write_video(tmp_path / "deep" / "er" / "c.npy", clip)
    np.testing.assert_array_equal(np.load(path), clip)


def test_unknown_suffix_lists_formats(tmp_path):
    with pytest.raises(DataError) as e:
        write_video(tmp_path / "c.xyz", ramp_clip(2))
    assert ".mp4" in str(e.value) and ".gif" in str(e.value) and ".npy" in str(e.value)


def test_bad_frames_raise(tmp_path):
    with pytest.raises(ValueError):
        write_video(tmp_path / "c.mp4", np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError):
        write_video(tmp_path / "c.mp4", np.zeros((2, 8, 8, 5), np.uint8))


# ------------------------------------------------------------------------------ reading


def test_read_start_num_frames_stride(tmp_path):
    path = write_video(tmp_path / "r.mp4", ramp_clip(16))
    assert frame_ids(read_video(path, start=3, num_frames=4)) == [3, 4, 5, 6]
    assert frame_ids(read_video(path, start=1, num_frames=4, stride=3)) == [1, 4, 7, 10]
    assert frame_ids(read_video(path, start=10, stride=2)) == [10, 12, 14]
    # runs out: fewer frames come back
    assert frame_ids(read_video(path, start=12, num_frames=10)) == [12, 13, 14, 15]
    with pytest.raises(DataError):
        read_video(path, start=16)
    with pytest.raises(ValueError):
        read_video(path, stride=0)


def test_read_stops_after_last_needed_frame(tmp_path, monkeypatch):
    path = write_video(tmp_path / "r.mp4", ramp_clip(16))
    seen = []
    orig = video_mod._decode_sequential

    def counting(decoded, start, last, stride):
        def gen():
            for f in decoded:
                seen.append(f)
                yield f

        return orig(gen(), start, last, stride)

    monkeypatch.setattr(video_mod, "_decode_sequential", counting)
    read_video(path, start=2, num_frames=3)
    assert len(seen) == 5  # frames 0..4 decoded, not 16


def test_seek_matches_sequential_decoding(tmp_path, monkeypatch):
    clip = ramp_clip(64, step=4)
    path = write_with_pyav(tmp_path / "long.mp4", clip, "libx264", gop=4)
    start = video_mod._SEEK_MIN_START + 5
    seek = read_video(path, start=start, num_frames=4, stride=2)
    monkeypatch.setattr(video_mod, "_SEEK_MIN_START", 10**9)
    seq = read_video(path, start=start, num_frames=4, stride=2)
    np.testing.assert_array_equal(seek, seq)
    assert frame_ids(seek, step=4) == [start, start + 2, start + 4, start + 6]


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv444p"])
def test_reused_rgb_converter_gives_pyav_frames_exactly(tmp_path, pix_fmt):
    # reading converts every frame through one swscale context: the result is what
    # frame.to_ndarray(format="rgb24") gives, frame by frame, with colours that change
    clip = ramp_clip(6)
    clip[..., 1] = 255 - clip[..., 1]
    path = write_with_pyav(tmp_path / "c.mp4", clip, "libx264", pix_fmt=pix_fmt)
    with av.open(str(path)) as container:
        expected = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    np.testing.assert_array_equal(read_video(path), expected)
    np.testing.assert_array_equal(np.stack(list(video_mod.iter_clip(path))), expected)


CONTAINERS = [
    ("avi", "mpeg4", "yuv420p"),
    ("mov", "libx264", "yuv420p"),
    ("mkv", "ffv1", "yuv444p"),
    ("webm", "libvpx-vp9", "yuv420p"),
    ("webm", "libvpx", "yuv420p"),
]


@pytest.mark.parametrize("ext,codec,pix_fmt", CONTAINERS, ids=[f"{e}-{c}" for e, c, _ in CONTAINERS])
def test_other_containers(tmp_path, ext, codec, pix_fmt):
    if codec not in av.codecs_available:
        pytest.skip(f"{codec} encoder not available")
    clip = ramp_clip(12)
    path = write_with_pyav(tmp_path / f"c.{ext}", clip, codec, pix_fmt=pix_fmt)
    info = probe_video(path)  # webm/mkv store no frame count: decoded and counted
    assert (info.num_frames, info.height, info.width) == (12, 32, 40)
    out = read_video(path, start=2, num_frames=5, stride=2)
    assert out.shape == (5, 32, 40, 3)
    assert frame_ids(out) == [2, 4, 6, 8, 10]
    assert probe_video(path, exact=True).num_frames == 12


def test_frames_dir_natural_order(tmp_path):
    clip = ramp_clip(12)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(clip):
        ext = "png" if i % 2 else "jpg"
        Image.fromarray(frame).save(folder / f"frame_{i}.{ext}", quality=98)
    (folder / "notes.txt").write_text("not a frame")
    out = read_frames_dir(folder)
    assert out.shape == (12, 32, 40, 3)
    assert frame_ids(out) == list(range(12))  # frame_2 before frame_10
    np.testing.assert_array_equal(out[1], clip[1])  # png is exact; RGB order kept
    assert frame_ids(read_video(folder, start=1, num_frames=3, stride=4)) == [1, 5, 9]
    info = probe_video(folder)
    assert (info.num_frames, info.height, info.width, info.fps) == (12, 32, 40, None)


def test_bad_files_raise_data_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for path in (bad, empty, tmp_path / "missing.mp4"):
        with pytest.raises(DataError, match=path.name):
            read_video(path)
        with pytest.raises(DataError, match=path.name):
            probe_video(path)
    (tmp_path / "noframes").mkdir()
    with pytest.raises(DataError):
        read_frames_dir(tmp_path / "noframes")
    (tmp_path / "noframes" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png"):
        read_frames_dir(tmp_path / "noframes")


def test_truncated_file_raises_or_returns_fewer(tmp_path):
    path = write_video(tmp_path / "t.mp4", ramp_clip(16))
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    # a cut mp4 loses its index (moov is at the end): unreadable, reported as DataError
    with pytest.raises(DataError):
        read_video(cut)
