"""What the restoration networks share: their task names, the frame-window helpers and checks.

A restoration model maps a degraded video to a restored one. Each declares

- ``task``: ``"denoise"``, ``"deflicker"`` or ``"interpolate"`` (the post-processing op it
  serves and the degradation it trains on);
- ``radius``: the frames it reads on each side of an output frame (the overlap a chunked,
  streamed run keeps between chunks);
- ``restore(video, **options)``: float ``[B, T, C, H, W]`` in ``[-1, 1]`` -> the restored
  clip (``T`` frames; ``(T - 1) * factor + 1`` for an interpolator), in eval mode.
"""

from __future__ import annotations

import torch
from torch import Tensor

from vidgen.errors import ConfigError

TASKS = ("denoise", "deflicker", "interpolate")


def check_width(name: str, width: int, levels: int) -> None:
    if width < 4 or levels < 0 or levels > 4:
        raise ConfigError(f"model.width must be >= 4 and model.levels in 0..4 for {name}, got {width} and {levels}")


def check_frames(name: str, frames: int, needed: int) -> None:
    if frames < needed:
        raise ConfigError(f"{name} trains on windows of {needed} frames: data.frames is {frames}",
                          hint=f"set data.frames={needed} (or more)")


def reflect_pad(video: Tensor, radius: int, dim: int = 1) -> Tensor:
    """``video`` with ``radius`` frames added at each end of ``dim`` by reflection (repeated where the
    clip is shorter than the radius)."""
    t = video.shape[dim]
    idx = torch.arange(-radius, t + radius).abs()  # reflect at the start
    idx = torch.where(idx > t - 1, 2 * (t - 1) - idx, idx).clamp(0, t - 1)  # reflect at the end
    return video.index_select(dim, idx.to(video.device))


def windows(video: Tensor, radius: int) -> Tensor:
    """Every frame's window of ``2 radius + 1`` frames, the ends padded by :func:`reflect_pad`:
    ``[B, T, C, H, W] -> [B * T, 2 radius + 1, C, H, W]``."""
    padded = reflect_pad(video, radius)  # [B, T + 2r, C, H, W]
    return padded.unfold(1, 2 * radius + 1, 1).permute(0, 1, 5, 2, 3, 4).reshape(-1, 2 * radius + 1,
                                                                                  *video.shape[2:])
