"""Conversions between the public forms of a clip, below both ``io`` and ``data``.

Two forms cross vidgen's boundaries (``docs/architecture.md``): float ``[B, T, C, H, W]``
in ``[-1, 1]`` between modules, uint8 ``[T, H, W, C]`` at the file boundary. A pixel value
``u`` in 0..255 maps to ``u / 127.5 - 1`` and back by rounding; that rule lives here once.
This module imports nothing of vidgen's but the errors, so any layer may use it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from vidgen.errors import VidgenError

# ITU-R BT.601 luma: how an RGB clip becomes the gray frames of a 1-channel model
LUMA = (0.299, 0.587, 0.114)


def to_tensor(clip: np.ndarray) -> torch.Tensor:
    """uint8 ``[T, H, W, C]`` -> float32 ``[T, C, H, W]`` in ``[-1, 1]``."""
    # numpy, not torch: torch's intra-op threads cost more than they save on one small clip
    x = clip.transpose(0, 3, 1, 2).astype(np.float32)  # [T, C, H, W]
    x *= 1.0 / 127.5
    x -= 1.0
    return torch.from_numpy(np.ascontiguousarray(x))


def to_uint8(video: torch.Tensor) -> np.ndarray:
    """float ``[T, C, H, W]`` in ``[-1, 1]`` -> uint8 ``[T, H, W, C]`` (rounded, clamped)."""
    x = (video.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5
    return x.round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()  # [T, H, W, C]


def uint8_to_float(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ``[..., H, W, C]`` (torch) -> float32 ``[..., C, H, W]`` in ``[-1, 1]``."""
    return frames.movedim(-1, -3).float() / 127.5 - 1.0


def seed_labels(seeds: Sequence[int] | torch.Tensor, num_classes: int) -> torch.Tensor | None:
    """The class of the clip drawn with each seed: seed ``s`` is class ``s mod num_classes``.

    The one rule behind every default label (API sampling, training previews, ``cond_acc``):
    a clip's class depends on its seed alone, whatever the batch. ``None`` when unconditional.
    """
    if not num_classes:
        return None
    return torch.as_tensor(list(seeds) if not isinstance(seeds, torch.Tensor) else seeds,
                           dtype=torch.long) % int(num_classes)


def check_count(name: str, value: Any) -> int:
    """``value`` must be an integer >= 1 (``frames``, ``batch_size``, ...)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise VidgenError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise VidgenError(f"a seed must be an integer, got {value!r}")
    return int(value)


def as_video_batch(video: Any) -> torch.Tensor:
    """A clip or batch in any public form -> float ``[B, T, C, H, W]`` in ``[-1, 1]``.

    Float tensors ``[B, T, C, H, W]`` (or one clip ``[T, C, H, W]``) pass through; uint8
    frames ``[T, H, W, C]``, ``[B, T, H, W, C]`` or gray ``[T, H, W]`` (numpy or torch) are
    rescaled. An alpha channel is dropped.
    """
    if isinstance(video, np.ndarray) and video.dtype != np.uint8:
        raise VidgenError(f"expected uint8 frames [T, H, W, C], got a {video.dtype} array",
                          hint="pass a float torch tensor [B, T, C, H, W] in [-1, 1] (torch.from_numpy(x)) "
                               "or uint8 frames as vidgen.io.read_video returns them")
    if isinstance(video, np.ndarray) or (isinstance(video, torch.Tensor) and video.dtype == torch.uint8):
        frames = torch.as_tensor(np.ascontiguousarray(video)) if isinstance(video, np.ndarray) else video.cpu()
        if frames.ndim == 3:
            frames = frames[..., None]  # gray [T, H, W] -> [T, H, W, 1]
        if frames.ndim == 4:
            frames = frames[None]
        if frames.ndim != 5 or frames.shape[-1] not in (1, 3, 4):
            raise VidgenError(f"expected uint8 frames [T, H, W, C] with C in 1, 3, 4, got shape "
                              f"{tuple(frames.shape)}")
        frames = frames[..., :3] if frames.shape[-1] == 4 else frames
        return uint8_to_float(frames)  # [B, T, C, H, W]
    if not isinstance(video, torch.Tensor) or not video.is_floating_point():
        raise VidgenError(f"expected a float tensor [B, T, C, H, W] in [-1, 1] or uint8 frames [T, H, W, C], "
                          f"got {type(video).__name__}")
    x = video[None] if video.ndim == 4 else video
    if x.ndim != 5:
        raise VidgenError(f"expected a float tensor [B, T, C, H, W], got shape {tuple(video.shape)}")
    if x.numel() and float(x.detach().abs().max()) > 1.01:
        lo, hi = float(x.min()), float(x.max())
        raise VidgenError(f"the clip's values lie in [{lo:.3g}, {hi:.3g}], not [-1, 1]",
                          hint="rescale it: uint8 frames x become x / 127.5 - 1 (or pass the uint8 frames)")
    return x.detach().float()


def check_input(x: torch.Tensor, *, resolution: int, channels: int, fix: str) -> torch.Tensor:
    """``x [B, T, C, H, W]`` must have the model's channels and ``resolution x resolution`` frames."""
    b, t, c, h, w = x.shape
    if b < 1 or t < 1:
        raise VidgenError(f"the input holds no frames (shape {tuple(x.shape)})")
    if c != channels:
        raise VidgenError(f"the model works on {channels}-channel frames, the input has {c} channel(s)",
                          hint=f"convert it with {fix} (RGB -> gray by luma, gray -> RGB)")
    if (h, w) != (resolution, resolution):
        raise VidgenError(f"the model works on {resolution}x{resolution} frames, the input's are {w}x{h}",
                          hint=f"resize it with {fix} (short side to {resolution}, centre crop)")
    return x


def resize_video(x: torch.Tensor, *, resolution: int, channels: int) -> torch.Tensor:
    """``x [B, T, C, H, W]`` -> ``[B, T, channels, resolution, resolution]``: short side to
    ``resolution`` (antialiased bilinear), centre crop; RGB -> gray by luma, gray -> RGB."""
    b, t, c, h, w = x.shape
    if c != channels:
        if (c, channels) == (3, 1):
            x = (x * x.new_tensor(LUMA).view(1, 1, 3, 1, 1)).sum(dim=2, keepdim=True)
        elif (c, channels) == (1, 3):
            x = x.expand(-1, -1, 3, -1, -1)
        else:
            raise VidgenError(f"cannot convert {c}-channel frames to the model's {channels} channels")
    if (h, w) != (resolution, resolution):
        scale = resolution / min(h, w)
        size = (max(resolution, round(h * scale)), max(resolution, round(w * scale)))
        frames = F.interpolate(x.reshape(b * t, channels, h, w), size=size, mode="bilinear", antialias=True,
                               align_corners=False)  # [B*T, C, H', W']
        top, left = (size[0] - resolution) // 2, (size[1] - resolution) // 2
        frames = frames[:, :, top:top + resolution, left:left + resolution]
        x = frames.reshape(b, t, channels, resolution, resolution).clamp(-1.0, 1.0)
    return x.contiguous()
