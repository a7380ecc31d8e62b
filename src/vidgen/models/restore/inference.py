"""The restoration family's inference wrapper: :class:`VideoRestorer`, what ``vidgen.load`` returns
for a denoiser, a deflicker network or an interpolator."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np
import torch

from vidgen.convert import to_uint8
from vidgen.errors import VidgenError
from vidgen.inference import LoadedModel

OPTIONS = {"denoise": ("sigma",), "deflicker": (), "interpolate": ("factor",)}


class VideoRestorer(LoadedModel):
    """A trained restoration network; :meth:`restore` runs it on a clip, :meth:`stream` on a long video.

    Attributes:
        task: ``"denoise"``, ``"deflicker"`` or ``"interpolate"``, the post-processing op it serves
            (``vidgen post VIDEO --ops denoise --out OUT denoise.model=RUN``).
        radius: the frames it reads on each side of an output frame.
        channels: the channels of the frames it takes (any size: it is fully convolutional).
    """

    capabilities = frozenset({"restore"})

    def __init__(self, *, model: torch.nn.Module, meta: dict[str, Any], device: torch.device):
        super().__init__(model=model, meta=meta, device=device)
        self.task: str = model.task
        self.radius: int = int(model.radius)

    def _options(self, options: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - set(OPTIONS[self.task]))
        if unknown:
            raise VidgenError(f"{self.name} ({self.task}) takes no option {', '.join(unknown)}",
                              hint=f"its options: {', '.join(OPTIONS[self.task]) or 'none'}")
        return {k: v for k, v in options.items() if v is not None}

    def _frames(self, frames: np.ndarray) -> torch.Tensor:
        video = self.uint8_clip(frames)  # [1, T, C, H, W]
        if video.shape[1] < 2 and self.task == "interpolate":
            raise VidgenError("interpolation works between frames: the clip needs at least 2")
        return video

    def restore(self, frames: Any, **options: Any) -> np.ndarray:
        """Restore one clip: uint8 ``[T, H, W, C]`` (any size) -> uint8 frames (``T``; for an interpolator
        ``(T - 1) * factor + 1``). Options: ``sigma`` (denoise: the noise level, 0-255 scale; estimated
        when left out), ``factor`` (interpolate, default 2)."""
        frames = to_uint8(frames) if isinstance(frames, torch.Tensor) else np.asarray(frames)
        video = self._frames(frames).to(self.device)
        h, w = video.shape[-2:]
        batch = max(1, min(8, 512 * 512 // (h * w)))  # frames at once: fewer as they grow (memory)
        with torch.inference_mode():
            out = self.model.restore(video, batch=batch, **self._options(options))
        result = to_uint8(out[0].float().cpu())
        return result if frames.shape[-1] == result.shape[-1] else result[..., :1]

    def stream(self, frames: Iterable[np.ndarray], *, chunk: int = 32, **options: Any) -> Iterator[np.ndarray]:
        """:meth:`restore` over a long video, ``chunk`` frames at a time (with ``radius`` frames of
        overlap each side), yielding uint8 frames as they are done: memory stays bounded by the
        chunk, whatever the video's length. The result equals :meth:`restore` on the whole clip,
        except that a denoiser's estimated noise level comes from the first chunk."""
        from vidgen.utils.chunks import chunked

        options = self._options(options)
        if self.task == "denoise" and options.get("sigma") is None:
            def run(block: np.ndarray) -> np.ndarray:
                if "sigma" not in options:  # estimated once, from the first chunk
                    from vidgen.models.restore.degrade import estimate_sigma

                    options["sigma"] = float(estimate_sigma(self._frames(block))[0])
                return self.restore(block, **options)
        else:
            def run(block: np.ndarray) -> np.ndarray:
                return self.restore(block, **options)
        factor = int(options.get("factor", 2)) if self.task == "interpolate" else 1
        yield from chunked(run, frames, radius=self.radius, chunk=chunk, factor=factor)

    def sample(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        raise VidgenError(f"{self.name} is a restoration network ({self.task}): it transforms videos and samples "
                          "none", hint=f"vidgen post VIDEO --ops {self.task} --out OUT {self.task}.model=RUN")

    def __repr__(self) -> str:
        return f"VideoRestorer({self.name}: {self.task}, {self.channels} channels, kimg={self.meta.get('kimg')})"
