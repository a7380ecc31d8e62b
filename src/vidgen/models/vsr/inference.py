"""The super-resolution family's inference wrapper: :class:`VideoUpscaler`, what ``vidgen.load`` returns
for an upscaler."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np
import torch

from vidgen.convert import to_uint8
from vidgen.errors import VidgenError
from vidgen.inference import LoadedModel


class VideoUpscaler(LoadedModel):
    """A trained upscaler; :meth:`upscale` runs it on a clip, :meth:`stream` on a long video.

    Attributes:
        scale: output size over input size (2 or 4).
        degradation: the low-resolution input it was trained on (``bi``, ``bd`` or ``realistic``);
            :meth:`degrade` makes it from high-resolution frames (for measuring).
        radius: frames of context each side that :meth:`stream` keeps between chunks.
    """

    capabilities = frozenset({"upscale"})
    task = "upscale"  # the post-processing op it serves (vidgen post VIDEO --ops upscale:RUN)

    def __init__(self, *, model: torch.nn.Module, meta: dict[str, Any], device: torch.device):
        super().__init__(model=model, meta=meta, device=device)
        self.scale: int = int(model.scale)
        self.degradation: str = model.config.degradation
        self.radius: int = int(model.radius)

    def upscale(self, frames: Any) -> np.ndarray:
        """Upscale one clip: uint8 ``[T, H, W, C]`` of any size -> uint8 ``[T, scale H, scale W, C]``."""
        frames = to_uint8(frames) if isinstance(frames, torch.Tensor) else np.asarray(frames)
        video = self.uint8_clip(frames).to(self.device)  # [1, T, C, H, W]
        t, _, h, w = video.shape[1:]
        s = self.scale
        batch = max(1, min(16, 256 * 256 // (h * w * s * s)))  # frames upsampled at once (memory)
        out = np.empty((t, h * s, w * s, self.channels), np.uint8)
        with torch.inference_mode():
            fused = self.model.propagate(video)[0]  # [T, W, H, W']: the recurrence at low resolution
            for i in range(0, t, batch):  # then the frames at full size, a few at a time, straight to uint8
                out[i:i + batch] = to_uint8(self.model.reconstruct(fused[i:i + batch], video[0, i:i + batch]))
        return out if frames.shape[-1] in (out.shape[-1], 4) else out[..., :1]

    def stream(self, frames: Iterable[np.ndarray], *, chunk: int = 32) -> Iterator[np.ndarray]:
        """:meth:`upscale` over a long video, ``chunk`` frames at a time with ``radius`` frames of
        context each side, yielding uint8 frames as they are done: memory is bounded by the chunk,
        whatever the video's length. A clip of at most ``chunk`` frames is upscaled whole (equal to
        :meth:`upscale`); over longer ones the recurrence sees ``radius`` frames beyond each chunk
        instead of the whole video (the difference is measured in ``docs/vsr.md``)."""
        from vidgen.utils.chunks import chunked

        yield from chunked(self.upscale, frames, radius=self.radius, chunk=chunk)

    def degrade(self, frames: Any, *, seed: int = 0) -> np.ndarray:
        """The low-resolution input this upscaler expects, made from high-resolution uint8 frames
        ``[T, H, W, C]`` (``H``, ``W`` multiples of ``scale``) by its degradation (seeded)."""
        from vidgen.models.vsr.degrade import degrade

        frames = to_uint8(frames) if isinstance(frames, torch.Tensor) else np.asarray(frames)
        video = self.uint8_clip(frames)
        lr = degrade(video, self.degradation, self.scale, torch.Generator().manual_seed(seed))
        return to_uint8(lr[0])

    def sample(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        raise VidgenError(f"{self.name} is an upscaler: it transforms videos and samples none",
                          hint="vidgen upscale RUN --input VIDEO --out OUT")

    def __repr__(self) -> str:
        return (f"VideoUpscaler({self.name}: x{self.scale} {self.degradation}, {self.channels} channels, "
                f"kimg={self.meta.get('kimg')})")
