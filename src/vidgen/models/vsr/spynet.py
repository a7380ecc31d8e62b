"""A small SPyNet-style optical-flow pyramid (Ranjan and Black, CVPR 2017), trained from scratch.

No pretrained flow network can be had offline, so the flow that aligns BasicVSR's features is
learned with the upscaler: at each level of an average-pooled pyramid, coarse to fine, the
flow so far is doubled and upsampled, the second frame is warped by it, and a small CNN reads
(reference, warped frame, flow) and adds a correction. The last layer of each level starts at
zero, so an untrained network returns zero flow (BasicVSR then starts as unaligned
propagation). Flows are in pixels of the input frames, OpenCV's ``remap`` convention
(:func:`vidgen.nn.unet.backward_warp`): ``warp(supp, flow(ref, supp)) ~ ref``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidgen.nn.unet import backward_warp


class FlowLevel(nn.Module):
    def __init__(self, channels: int, width: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(2 * channels + 2, width, 5, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 5, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(2 * width, width, 5, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(width, 2, 5, padding=2))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class SPyNet(nn.Module):
    """``forward(ref [N, C, H, W], supp [N, C, H, W]) -> flow [N, 2, H, W]`` (any ``H``, ``W``: the frames
    are padded to a multiple of ``2 ** (levels - 1)`` and the flow cropped back)."""

    def __init__(self, *, channels: int, levels: int = 3, width: int = 16):
        super().__init__()
        self.levels = levels
        self.stages = nn.ModuleList(FlowLevel(channels, width) for _ in range(levels))

    def forward(self, ref: Tensor, supp: Tensor) -> Tensor:
        h, w = ref.shape[-2:]
        m = 2 ** (self.levels - 1)
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            ref = F.pad(ref, (0, pw, 0, ph), mode="replicate")
            supp = F.pad(supp, (0, pw, 0, ph), mode="replicate")
        refs, supps = [ref], [supp]
        for _ in range(self.levels - 1):
            refs.append(F.avg_pool2d(refs[-1], 2))
            supps.append(F.avg_pool2d(supps[-1], 2))
        flow = ref.new_zeros(ref.shape[0], 2, *refs[-1].shape[-2:])
        for level, stage in enumerate(self.stages):
            r, s = refs[-1 - level], supps[-1 - level]
            if flow.shape[-2:] != r.shape[-2:]:
                flow = 2 * F.interpolate(flow, size=r.shape[-2:], mode="bilinear", align_corners=False)
            warped = backward_warp(s, flow)
            flow = flow + stage(torch.cat([r, warped, flow], dim=1))
        return flow[..., :h, :w]
