"""Synthetic degradations of clean clips, the inputs the restoration networks learn to undo.

Every function takes clean clips float ``[B, T, C, H, W]`` in ``[-1, 1]`` and a CPU
``torch.Generator`` (all draws come from it: a training step is reproducible and resumable)
and returns the degraded clips quantised to 8 bits, as a video file would hold them.

- :func:`add_noise`: per clip one of ``kinds``: ``gaussian`` (sigma uniform in
  ``[0, sigma_max]`` on the 0-255 scale), ``poisson`` (shot noise of a sensor collecting
  ``peak`` photons at white, ``peak`` log-uniform in ``poisson_peak``), ``h264`` (the clip
  encoded with libx264 through PyAV at a CRF drawn from ``crf``, and decoded).
- :func:`add_flicker`: a per-clip *base* filter (a gain per channel and a gamma) and, on
  top, per-frame jitter of the gain, the gamma and a smooth spatial gain field: the
  flickering clip; the base filter alone is the stable target.
- :func:`estimate_sigma`: Immerkaer's noise estimator, the noise level the denoiser is told
  in training and at inference alike (so ``strength: auto`` means the same in both).
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

NOISE_KINDS = ("gaussian", "poisson", "h264")


def quantize(video: Tensor) -> Tensor:
    """``[-1, 1]`` floats rounded to the 256 levels of an 8-bit video."""
    return torch.round((video.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1


_IMMERKAER = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])


def estimate_sigma(video: Tensor) -> Tensor:
    """The Gaussian noise sigma (0-255 scale) of each clip of ``video [B, T, C, H, W]`` in ``[-1, 1]``:
    Immerkaer's estimator (1996), the mean absolute response to a Laplacian difference that
    cancels smooth image structure, over every frame and channel. ``[B]``."""
    b, t, c, h, w = video.shape
    x = (video.float() + 1) * 127.5
    k = _IMMERKAER.to(x.device).view(1, 1, 3, 3)
    response = F.conv2d(x.reshape(b * t * c, 1, h, w), k)  # valid: the border is left out
    mean_abs = response.abs().reshape(b, -1).mean(dim=1)
    return math.sqrt(math.pi / 2) * mean_abs / 6.0


def _uniform(g: torch.Generator, n: int, low: float, high: float) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=g)


def _h264(clip: np.ndarray, crf: int) -> np.ndarray:
    """uint8 ``[T, H, W, C]`` through libx264 at ``crf`` (yuv420p, in memory) and back."""
    import av

    t, h, w, c = clip.shape
    rgb = np.repeat(clip, 3, axis=-1) if c == 1 else clip
    rgb = np.pad(rgb, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")  # yuv420p: even sizes
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = rgb.shape[2], rgb.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in rgb:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer, mode="r") as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    out = np.stack(frames)[:, :h, :w]
    return out.mean(axis=-1, keepdims=True).round().astype(np.uint8) if c == 1 else out


def add_noise(clean: Tensor, g: torch.Generator, *, kinds: tuple[str, ...], sigma_max: float,
              poisson_peak: tuple[float, float], crf: tuple[int, int]) -> Tensor:
    """Noisy copies of ``clean [B, T, C, H, W]``, one noise kind per clip (see the module docstring)."""
    b = clean.shape[0]
    kind = torch.randint(len(kinds), (b,), generator=g)
    sigma = _uniform(g, b, 0.0, sigma_max)
    peak = torch.exp(_uniform(g, b, math.log(poisson_peak[0]), math.log(poisson_peak[1])))
    crfs = torch.randint(crf[0], crf[1] + 1, (b,), generator=g)
    gauss = torch.randn(clean.shape, generator=g)
    cpu = clean.detach().float().cpu()
    noisy = torch.empty_like(cpu)
    for i in range(b):
        name = kinds[int(kind[i])]
        if name == "gaussian":
            noisy[i] = cpu[i] + sigma[i] / 127.5 * gauss[i]
        elif name == "poisson":
            photons = torch.poisson((cpu[i] + 1) / 2 * peak[i], generator=g)
            noisy[i] = photons / peak[i] * 2 - 1
        else:
            u8 = ((cpu[i] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
            noisy[i] = torch.from_numpy(_h264(u8, int(crfs[i]))).permute(0, 3, 1, 2).float() / 127.5 - 1
    return quantize(noisy).to(clean.device, clean.dtype)


def _field(g: torch.Generator, b: int, t: int, c: int, h: int, w: int, amplitude: Tensor) -> Tensor:
    """Smooth random gain fields ``[B, T, 1, H, W]`` around 1 (a 3x3 grid of gains, bicubic), the
    amplitude per clip."""
    grid = 1 + amplitude.view(b, 1, 1, 1) * (2 * torch.rand(b * t, 1, 3, 3, generator=g) - 1).view(b, t, 3, 3)
    up = F.interpolate(grid.view(b * t, 1, 3, 3), size=(h, w), mode="bicubic", align_corners=True)
    return up.view(b, t, 1, h, w)


def add_flicker(clean: Tensor, g: torch.Generator, *, gain: float, gamma: float, spatial: float,
                base_gain: float, base_gamma: float) -> tuple[Tensor, Tensor]:
    """``(flickering, stable)`` versions of ``clean [B, T, C, H, W]``.

    The stable clip is the clean one through a per-clip base filter (a gain per channel in
    ``1 +- base_gain``, a gamma in ``1 +- base_gamma``); the flickering one adds, frame by
    frame, a gain jitter per channel (up to ``+- gain``), a gamma jitter (``+- gamma``) and a
    smooth spatial gain field (``+- spatial``), each clip's amplitudes drawn in ``[0, max]``.
    """
    b, t, c, h, w = clean.shape
    x = (clean.detach().float().cpu() + 1) / 2  # [0, 1]
    g0 = 1 + base_gain * (2 * torch.rand(b, 1, c, 1, 1, generator=g) - 1)
    e0 = 1 + base_gamma * (2 * torch.rand(b, 1, 1, 1, 1, generator=g) - 1)
    a_gain, a_gamma, a_field = (_uniform(g, b, 0.0, m) for m in (gain, gamma, spatial))
    jg = 1 + a_gain.view(b, 1, 1, 1, 1) * (2 * torch.rand(b, t, c, 1, 1, generator=g) - 1)
    je = 1 + a_gamma.view(b, 1, 1, 1, 1) * (2 * torch.rand(b, t, 1, 1, 1, generator=g) - 1)
    field = _field(g, b, t, c, h, w, a_field)
    x = x.clamp_min(1e-4)
    stable = (x ** e0) * g0
    flicker = (x ** (e0 * je)) * g0 * jg * field
    to_device = lambda v: quantize(v.clamp(0, 1) * 2 - 1).to(clean.device, clean.dtype)  # noqa: E731
    return to_device(flicker), to_device(stable)
