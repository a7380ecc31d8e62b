"""Long videos stream through ``vidgen post`` in chunks: memory stays bounded, the result is the whole-clip one."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import av
import numpy as np

from vidgen.io.video import VideoWriter, iter_clip
from vidgen.post import apply_chain, parse_chain, stream_chain


def _moving(t: int, h: int, w: int) -> np.ndarray:
    """Frame ``t`` of a pattern that pans and flickers."""
    xs = (np.arange(w) + 3 * t) % 256
    frame = np.empty((h, w, 3), np.uint8)
    frame[..., 0] = xs[None]
    frame[..., 1] = (np.arange(h) % 256)[:, None]
    frame[..., 2] = 128 + (20 if t % 3 == 0 else -10)  # flicker
    return frame


def test_streamed_chain_equals_the_whole_clip_chain():
    frames = np.stack([_moving(t, 24, 32) for t in range(45)])
    steps = parse_chain("deflicker,sharpen,interpolate:x2")
    whole = apply_chain(frames, steps)
    streamed = np.stack(list(stream_chain(iter(frames), steps, chunk=8)))
    assert np.array_equal(streamed, whole)
    # NLM with a fixed strength is local in time too: chunked equals whole
    steps = parse_chain("denoise", ["denoise.strength=12"])
    assert np.array_equal(np.stack(list(stream_chain(iter(frames[:12]), steps, chunk=4))), apply_chain(frames[:12], steps))


def _post_long_video(tmp_path, frames: int) -> tuple[int, str]:
    """``vidgen post`` (deflicker) on a 1080p video of ``frames`` frames written by the test, in a fresh
    process: (its peak memory in MiB, its output)."""
    src, out = tmp_path / f"long{frames}.mp4", tmp_path / f"out{frames}.mp4"
    with av.open(str(src), "w") as container:  # written frame by frame
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30"}
        for t in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(_moving(t, 1080, 1920), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    script = textwrap.dedent(f"""
        import resource, sys
        from vidgen.cli import main
        code = main(["post", {str(src)!r}, "--ops", "deflicker", "--out", {str(out)!r}, "--preset", "ultrafast"])
        print("PEAK_MIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
        sys.exit(code)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with av.open(str(out)) as container:
        assert container.streams.video[0].frames == frames
    assert next(iter_clip(out)).shape == (1080, 1920, 3)
    return int(done.stdout.split("PEAK_MIB")[1].split()[0]), done.stdout


def test_a_1080p_1000_frame_video_is_post_processed_without_being_loaded(tmp_path):
    short_peak, _ = _post_long_video(tmp_path, 100)
    peak, said = _post_long_video(tmp_path, 1000)
    assert "1000 frames of 1920x1080 -> 1000 frames of 1920x1080" in said
    whole = 1000 * 1080 * 1920 * 3 / 2**20  # MiB: the video decoded at once (~5.9 GiB)
    # ten times the frames, (nearly) the same memory: bounded by the chunk, not by the length
    assert peak < short_peak + 256 and peak < whole / 3, (short_peak, peak, whole)


def test_a_video_that_fails_mid_stream_leaves_no_file(tmp_path):
    out = tmp_path / "out.mp4"

    def frames():
        yield np.zeros((16, 16, 3), np.uint8)
        yield np.zeros((16, 16, 3), np.uint8)
        raise RuntimeError("decoder died")

    try:
        with VideoWriter(out, fps=8) as writer:
            for frame in frames():
                writer.write(frame)
    except RuntimeError:
        pass
    assert not out.exists() and not list(tmp_path.iterdir())
