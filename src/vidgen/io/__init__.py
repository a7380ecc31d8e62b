"""Video files in and out (uint8 ``[T, H, W, C]`` at the file boundary) and preview grids."""

from __future__ import annotations

from vidgen.io.grid import frame_strips, make_grid, side_by_side
from vidgen.io.video import (
    VideoInfo,
    probe_video,
    read_frames_dir,
    read_video,
    write_strip,
    write_video,
)

__all__ = [
    "VideoInfo",
    "frame_strips",
    "make_grid",
    "probe_video",
    "read_frames_dir",
    "read_video",
    "side_by_side",
    "write_strip",
    "write_video",
]
