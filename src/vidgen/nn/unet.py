"""A small 2-D U-Net and a backward warp, the building blocks of the restoration networks.

:class:`UNet2d` is FastDVDnet's denoising block in spirit (Tassano et al., CVPR 2020): a
3x3 convolution stem, ``levels`` strided downsamplings that double the width, as many
pixel-shuffle upsamplings with additive skips, and a 3x3 head. It takes any ``H, W``
(padded by reflection to a multiple of ``2 ** levels`` and cropped back). The head starts at
zero when ``zero_head`` is set, so a network that adds its output to an estimate starts as
that estimate.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _block(cin: int, cout: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class UNet2d(nn.Module):
    """``[B, cin, H, W] -> [B, cout, H, W]``; widths ``width * 2 ** level``."""

    def __init__(self, cin: int, cout: int, *, width: int = 32, levels: int = 2, convs: int = 2,
                 zero_head: bool = True):
        super().__init__()
        self.levels = levels
        self.stem = _block(cin, width, convs)
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        w = width
        for _ in range(levels):
            self.down.append(nn.Sequential(nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.ReLU(inplace=True),
                                           _block(2 * w, 2 * w, convs)))
            w *= 2
        for _ in range(levels):
            # pixel shuffle: 2w channels -> w channels at twice the size (4w -> depth-to-space)
            self.up.append(nn.Sequential(_block(w, w, convs), nn.Conv2d(w, 2 * w, 3, padding=1), nn.PixelShuffle(2)))
            w //= 2
        self.head = nn.Conv2d(width, cout, 3, padding=1)
        if zero_head:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        m = 2 ** self.levels
        ph, pw = -h % m, -w % m
        if ph or pw:  # reflection needs the pad smaller than the size: replicate for tiny frames
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if ph < h and pw < w else "replicate")
        skips = [self.stem(x)]
        for down in self.down:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.up:
            y = up(y) + skips.pop()
        return self.head(y)[..., :h, :w]


def backward_warp(frame: Tensor, flow: Tensor) -> Tensor:
    """``frame [B, C, H, W]`` sampled at ``p + flow(p)``: ``flow [B, 2, H, W]`` holds (x, y) in pixels,
    OpenCV's ``remap`` convention (as :func:`vidgen.metrics.temporal.warp`); bilinear, border values
    outside the frame."""
    _, _, h, w = frame.shape
    # in float32 whatever the autocast: in bf16 a coordinate near 100 moves in steps of 0.5 pixel
    with torch.autocast(device_type=frame.device.type, enabled=False):
        flow = flow.float()
        ys = torch.arange(h, device=frame.device, dtype=torch.float32).view(1, h, 1)
        xs = torch.arange(w, device=frame.device, dtype=torch.float32).view(1, 1, w)
        gx = (2 * (xs + flow[:, 0]) + 1) / w - 1  # grid_sample's coordinates, align_corners=False
        gy = (2 * (ys + flow[:, 1]) + 1) / h - 1
        grid = torch.stack([gx, gy], dim=-1)  # [B, H, W, 2] as (x, y)
        out = F.grid_sample(frame.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.to(frame.dtype)
