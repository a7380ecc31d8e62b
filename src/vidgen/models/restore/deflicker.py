"""``deflickernet``: a blind temporal-consistency network over a window of frames.

After Lai et al. (ECCV 2018, "Learning Blind Video Temporal Consistency"): a network that
takes a flickering video (frames processed one at a time: per-frame colour grading, exposure
jitter, per-frame filters) and outputs a stable one that keeps each frame's content. Lai et
al. read the original unprocessed frames too and feed their previous output back; this one
is blind (only the flickering frames, as the classical ``deflicker`` op) and reads a window of
``2 radius + 1`` frames around each output frame, so it streams in chunks with no state.

The U-Net reads the window's frames and, for each, the log-ratio of its mean colour to the
centre frame's, per channel, as constant maps (the global statistics a large frame's
receptive field would not reach; averaging them is the classical deflicker's gain), and
outputs a per-pixel log-gain and offset per channel applied to the centre frame
(``x * exp(a + prior) + b``), zero at initialisation. ``prior`` is the window's mean log-ratio,
the gain that gives the centre frame the window's (geometric) mean colour: the network starts
as a classical box-filter deflicker over the window and learns what that cannot fix (gamma,
uneven light across the frame, the content of a scene that really changes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vidgen.errors import ConfigError
from vidgen.models.restore.common import check_frames, check_width, windows
from vidgen.nn.unet import UNet2d
from vidgen.registry import MODELS


@dataclass
class DeflickerNetConfig:
    """The window and the U-Net's widths."""

    radius: int = 6  # frames read on each side of an output frame (a window of 13)
    width: int = 32
    levels: int = 2
    convs: int = 2

    def __post_init__(self) -> None:
        check_width("deflickernet", self.width, self.levels)
        if not 1 <= self.radius <= 8:
            raise ConfigError(f"model.radius must be in 1..8, got {self.radius}")


@MODELS.register("deflickernet", config=DeflickerNetConfig, family="restore")
class DeflickerNet(nn.Module):
    """``forward(window [B, 2 radius + 1, C, H, W]) -> [B, C, H, W]`` (the stable centre frame)."""

    task = "deflicker"

    def __init__(self, *, config: DeflickerNetConfig, frames: int, resolution: int, channels: int,
                 num_classes: int = 0):
        super().__init__()
        self.radius = config.radius
        check_frames("deflickernet", frames, 2 * self.radius + 1)
        self.config = config
        self.channels = channels
        k = 2 * self.radius + 1
        self.net = UNet2d(2 * k * channels, 2 * channels, width=config.width, levels=config.levels,
                          convs=config.convs)

    def forward(self, window: Tensor) -> Tensor:
        b, k, c, h, w = window.shape
        x = (window + 1) / 2  # gains act on [0, 1] intensities
        log_mean = torch.log(x.mean(dim=(3, 4), keepdim=True).clamp_min(1e-3))  # [B, k, C, 1, 1]
        ratios = (log_mean - log_mean[:, self.radius:self.radius + 1]).expand(b, k, c, h, w)
        a, off = self.net(torch.cat([window, ratios], dim=1).reshape(b, 2 * k * c, h, w)).chunk(2, dim=1)
        prior = ratios[:, :, :, :1, :1].mean(dim=1)  # [B, C, 1, 1]
        centre = x[:, self.radius]
        return (centre * torch.exp(a + prior) + off) * 2 - 1

    @torch.no_grad()
    def restore(self, video: Tensor, *, batch: int = 8) -> Tensor:
        """Deflicker whole clips ``[B, T, C, H, W]``."""
        b, t = video.shape[:2]
        out = torch.cat([self(chunk) for chunk in windows(video, self.radius).split(batch)])
        return out.view(b, t, *video.shape[2:]).clamp(-1, 1)
