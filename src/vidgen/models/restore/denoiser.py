"""``fastdvdnet``: a two-stage temporal denoiser with a noise-level input and no flow.

FastDVDnet (Tassano, Delon and Veit, CVPR 2020): each output frame reads 5 noisy frames
``t-2 .. t+2`` and a noise-level map. Stage one runs one U-Net (shared weights) on the three
overlapping triplets ``(t-2, t-1, t)``, ``(t-1, t, t+1)``, ``(t, t+1, t+2)``, each with the
noise map, and gives three partly denoised frames; stage two runs a second U-Net on those
three and the map and gives frame ``t``. Motion is handled implicitly, by the U-Nets'
receptive field, as in the paper. Each stage adds its output to its middle input frame and
starts as the identity (zero-initialised heads).

The noise level is the estimate of :func:`~vidgen.models.restore.degrade.estimate_sigma`
(0-255 scale) in training and at inference, so a video denoises without being told its
noise; ``sigma=`` overrides it. Over a whole clip (:meth:`restore`) the stage-one output of
each triplet is computed once and shared by the three windows that read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vidgen.models.restore.common import check_frames, check_width, reflect_pad
from vidgen.models.restore.degrade import estimate_sigma
from vidgen.nn.unet import UNet2d
from vidgen.registry import MODELS

SIGMA_SCALE = 50.0  # the noise map holds sigma / 50 (0-255 scale): values around 1


@dataclass
class FastDVDnetConfig:
    """Widths of FastDVDnet's two U-Nets (the paper: 32 channels doubling over 2 levels)."""

    width: int = 32
    levels: int = 2
    convs: int = 2  # 3x3 convolutions per level

    def __post_init__(self) -> None:
        check_width("fastdvdnet", self.width, self.levels)


@MODELS.register("fastdvdnet", config=FastDVDnetConfig, family="restore")
class FastDVDnet(nn.Module):
    """``forward(window [B, 5, C, H, W], sigma [B]) -> [B, C, H, W]``, all in ``[-1, 1]``."""

    task = "denoise"
    radius = 2

    def __init__(self, *, config: FastDVDnetConfig, frames: int, resolution: int, channels: int,
                 num_classes: int = 0):
        super().__init__()
        check_frames("fastdvdnet", frames, 2 * self.radius + 1)
        self.config = config
        self.channels = channels
        unet = dict(width=config.width, levels=config.levels, convs=config.convs)
        self.stage1 = UNet2d(3 * channels + 1, channels, **unet)
        self.stage2 = UNet2d(3 * channels + 1, channels, **unet)

    def _stage(self, net: nn.Module, three: Tensor, noise_map: Tensor) -> Tensor:
        # three: [N, 3, C, H, W] -> the middle frame plus the U-Net's correction, [N, C, H, W]
        n, _, c, h, w = three.shape
        return three[:, 1] + net(torch.cat([three.reshape(n, 3 * c, h, w), noise_map], dim=1))

    def _map(self, sigma: Tensor, n: int, like: Tensor) -> Tensor:
        return (sigma.to(like.device, like.dtype) / SIGMA_SCALE).view(-1, 1, 1, 1).expand(n, 1, *like.shape[-2:])

    def forward(self, window: Tensor, sigma: Tensor) -> Tensor:
        b = window.shape[0]
        triplets = window.unfold(1, 3, 1).permute(0, 1, 5, 2, 3, 4)  # [B, 3 triplets, 3, C, H, W]
        noise_map = self._map(sigma.repeat_interleave(3), 3 * b, window)
        first = self._stage(self.stage1, triplets.reshape(3 * b, *triplets.shape[2:]), noise_map)
        first = first.view(b, 3, *first.shape[1:])
        return self._stage(self.stage2, first, self._map(sigma, b, window))

    @torch.no_grad()
    def restore(self, video: Tensor, *, sigma: Tensor | float | None = None, batch: int = 8) -> Tensor:
        """Denoise whole clips ``[B, T, C, H, W]``; ``sigma`` (0-255 scale, per clip or one for all):
        the noise level, estimated from the clip when None."""
        b = video.shape[0]
        if sigma is None:
            sigma = estimate_sigma(video)
        sigma = torch.as_tensor(sigma, dtype=torch.float32).reshape(-1).expand(b)
        out = []
        for i in range(b):  # stage one once per triplet, then stage two per frame
            frames = reflect_pad(video[i], self.radius, dim=0)  # [T + 4, C, H, W]
            trip = frames.unfold(0, 3, 1).permute(0, 4, 1, 2, 3)  # [T + 2, 3, C, H, W]
            first = torch.cat([self._stage(self.stage1, chunk, self._map(sigma[i:i + 1], len(chunk), chunk))
                               for chunk in trip.split(batch)])  # [T + 2, C, H, W]
            second = first.unfold(0, 3, 1).permute(0, 4, 1, 2, 3)  # [T, 3, C, H, W]
            out.append(torch.cat([self._stage(self.stage2, chunk, self._map(sigma[i:i + 1], len(chunk), chunk))
                                  for chunk in second.split(batch)]))
        return torch.stack(out).clamp(-1, 1)
