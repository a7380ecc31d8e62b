"""``basicvsr``: a BasicVSR-style recurrent video upscaler (Chan et al., CVPR 2021).

Two recurrent branches run over the whole low-resolution clip, one backward in time and one
forward. At each frame a branch warps the feature it carries from the previous frame (of its
direction) by the optical flow between the two frames (:class:`~vidgen.models.vsr.spynet.SPyNet`,
trained with the upscaler from scratch, or OpenCV's classical DIS flow with ``flow: dis``), concatenates the frame, and refines the result with
residual blocks. Each output frame fuses the two branches' features, upsamples them by
pixel shuffle (x2 per stage) and adds the bilinear upscale of its input frame.

Ablation variants (``model.alignment`` / ``model.propagation``): ``alignment: none`` carries the
features without warping; ``propagation: none`` carries nothing, so each frame is upscaled
from itself alone (a single-image network of the same size, "frame by frame").

Any input size works: the flow network pads frames to its pyramid's multiple and crops
back; the output is exactly ``scale`` times the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidgen.errors import ConfigError
from vidgen.models.vsr.degrade import DEGRADATIONS
from vidgen.models.vsr.spynet import SPyNet
from vidgen.nn.unet import backward_warp
from vidgen.registry import MODELS


@dataclass
class BasicVSRConfig:
    """The upscaler's scale and sizes, the ablation switches, and the input it was trained for."""

    scale: int = 4  # 2 or 4
    width: int = 32  # feature channels of each branch
    blocks: int = 5  # residual blocks per branch
    flow: Literal["spynet", "dis"] = "spynet"  # spynet: learned with the upscaler; dis: OpenCV's DIS flow (no training)
    flow_levels: int = 3  # the flow pyramid's levels
    flow_width: int = 16
    alignment: Literal["flow", "none"] = "flow"
    propagation: Literal["bidirectional", "none"] = "bidirectional"
    degradation: Literal["bi", "bd", "realistic"] = "bi"  # the low-resolution input it expects
    overlap: int = 8  # frames of context each side when a long video is upscaled in chunks

    def __post_init__(self) -> None:
        if self.scale not in (2, 4):
            raise ConfigError(f"model.scale must be 2 or 4, got {self.scale}")
        if self.width < 4 or self.blocks < 0 or not 1 <= self.flow_levels <= 5 or self.flow_width < 2:
            raise ConfigError("model.width must be >= 4, model.blocks >= 0, model.flow_levels in 1..5 and "
                              "model.flow_width >= 2")
        if self.alignment not in ("flow", "none") or self.propagation not in ("bidirectional", "none"):
            raise ConfigError("model.alignment must be flow or none, model.propagation bidirectional or none")
        if self.flow not in ("spynet", "dis"):
            raise ConfigError(f"model.flow must be spynet or dis, got {self.flow!r}")
        if self.degradation not in DEGRADATIONS:
            raise ConfigError(f"model.degradation must be one of {', '.join(DEGRADATIONS)}, got {self.degradation!r}")
        if self.overlap < 0:
            raise ConfigError(f"model.overlap must be >= 0, got {self.overlap}")


class ResBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        for conv in (self.conv1, self.conv2):  # small residuals at the start (as BasicVSR)
            nn.init.kaiming_normal_(conv.weight)
            conv.weight.data.mul_(0.1)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class Branch(nn.Module):
    """One propagation direction: ``(frame [N, C, h, w], carried feature [N, W, h, w]) -> feature``."""

    def __init__(self, channels: int, width: int, blocks: int):
        super().__init__()
        self.head = nn.Conv2d(channels + width, width, 3, padding=1)
        self.body = nn.Sequential(*(ResBlock(width) for _ in range(blocks)))

    def forward(self, frame: Tensor, feature: Tensor) -> Tensor:
        return self.body(F.leaky_relu(self.head(torch.cat([frame, feature], dim=1)), 0.1))


def dis_flows(lr: Tensor) -> tuple[Tensor, Tensor]:
    """:meth:`BasicVSR.flows` by OpenCV's DIS optical flow (Kroeger et al., ECCV 2016; the medium
    preset, :func:`vidgen.metrics.temporal.dis_pair`) on the frames' 8-bit BT.601 luma: a classical
    estimator, nothing to train, no gradient. Float32 whatever ``lr``'s dtype."""
    from vidgen.metrics.temporal import dis_pair

    b, t, c, h, w = lr.shape
    frames = ((lr.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round()
    if c == 3:
        frames = (frames * torch.tensor([0.299, 0.587, 0.114]).view(1, 1, 3, 1, 1)).sum(2, keepdim=True).round()
    gray = frames[:, :, 0].to(torch.uint8).numpy()
    pairs = [dis_pair(gray[n, i], gray[n, i + 1]) for n in range(b) for i in range(t - 1)]
    back, fwd = (torch.from_numpy(np.stack([p[k] for p in pairs])).view(b, t - 1, h, w, 2).permute(0, 1, 4, 2, 3)
                 .to(lr.device) for k in (0, 1))
    return back, fwd


def downscale_flow(flow: Tensor, scale: int) -> Tensor:
    """A flow ``[..., 2, H, W]`` in pixels of the high resolution, at the resolution ``scale`` times lower:
    each ``scale`` x ``scale`` block's mean over ``scale``, the flow at the low-resolution pixel's
    centre where the motion is affine (``photo_pans``' exact flows)."""
    *lead, _, h, w = flow.shape
    low = F.avg_pool2d(flow.reshape(-1, 2, h, w).float(), scale) / scale
    return low.view(*lead, 2, h // scale, w // scale)


@MODELS.register("basicvsr", config=BasicVSRConfig, family="vsr")
class BasicVSR(nn.Module):
    """``forward(lr [B, T, C, h, w]) -> [B, T, C, s h, s w]`` in ``[-1, 1]``; ``flows(lr)`` the backward and
    forward flows it aligns with."""

    task = "upscale"

    def __init__(self, *, config: BasicVSRConfig, frames: int, resolution: int, channels: int, num_classes: int = 0):
        super().__init__()
        if resolution % config.scale:
            raise ConfigError(f"data.resolution {resolution} is not a multiple of model.scale {config.scale}",
                              hint=f"set data.resolution={resolution // config.scale * config.scale or config.scale}")
        self.config = config
        self.channels = channels
        self.scale = config.scale
        self.radius = config.overlap
        self.aligned = config.alignment == "flow" and config.propagation == "bidirectional"
        self.spynet = SPyNet(channels=channels, levels=config.flow_levels, width=config.flow_width) \
            if self.aligned and config.flow == "spynet" else None
        w = config.width
        self.backward_branch = Branch(channels, w, config.blocks)
        self.forward_branch = Branch(channels, w, config.blocks)
        self.fuse = nn.Conv2d(2 * w, w, 1)
        ups = []
        for _ in range({2: 1, 4: 2}[config.scale]):
            ups += [nn.Conv2d(w, 4 * w, 3, padding=1), nn.PixelShuffle(2), nn.LeakyReLU(0.1, inplace=True)]
        self.upsample = nn.Sequential(*ups, nn.Conv2d(w, w, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
                                      nn.Conv2d(w, channels, 3, padding=1))

    def flows(self, lr: Tensor) -> tuple[Tensor, Tensor]:
        """``(backward, forward)`` flows ``[B, T - 1, 2, h, w]``: ``backward[:, i]`` brings frame ``i + 1``
        onto frame ``i``, ``forward[:, i]`` frame ``i`` onto frame ``i + 1``."""
        b, t = lr.shape[:2]
        if self.spynet is None:
            return dis_flows(lr)
        a, z = lr[:, :-1].flatten(0, 1), lr[:, 1:].flatten(0, 1)
        both = self.spynet(torch.cat([a, z]), torch.cat([z, a]))  # [2 B (T - 1), 2, h, w]
        back, fwd = both.chunk(2)
        return back.view(b, t - 1, *back.shape[1:]), fwd.view(b, t - 1, *fwd.shape[1:])

    def propagate(self, lr: Tensor, flows: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """The two branches over the clip ``lr [B, T, C, h, w]``: each frame's fused feature ``[B, T, W, h, w]``."""
        b, t, c, h, w = lr.shape
        propagate = self.config.propagation == "bidirectional"
        if self.aligned and t > 1 and flows is None:
            flows = self.flows(lr)
        zero = lr.new_zeros(b, self.config.width, h, w)
        backward: list[Tensor] = [zero] * t
        feature = zero
        for i in reversed(range(t)):
            if not propagate or i == t - 1:
                feature = zero
            elif self.aligned:
                feature = backward_warp(feature, flows[0][:, i])
            feature = self.backward_branch(lr[:, i], feature)
            backward[i] = feature
        fused = []
        feature = zero
        for i in range(t):
            if not propagate or i == 0:
                feature = zero
            elif self.aligned:
                feature = backward_warp(feature, flows[1][:, i - 1])
            feature = self.forward_branch(lr[:, i], feature)
            fused.append(F.leaky_relu(self.fuse(torch.cat([backward[i], feature], dim=1)), 0.1))
            backward[i] = zero  # (released as it is used)
        return torch.stack(fused, 1)

    def reconstruct(self, fused: Tensor, frames: Tensor) -> Tensor:
        """Output frames ``[N, C, s h, s w]`` from fused features ``[N, W, h, w]`` and their input frames ``[N, C, h, w]``."""
        return self.upsample(fused) + F.interpolate(frames, scale_factor=self.scale, mode="bilinear",
                                                    align_corners=False)

    def forward(self, lr: Tensor, flows: tuple[Tensor, Tensor] | None = None, batch: int | None = None,
                return_flows: bool = False) -> Tensor | tuple[Tensor, tuple[Tensor, Tensor] | None]:
        """``batch``: frames upsampled at once (all by default; fewer bound the memory of large frames);
        ``return_flows``: also the flows it aligned with (None where it does not align)."""
        b, t, c, h, w = lr.shape
        if self.aligned and t > 1 and flows is None:
            flows = self.flows(lr)
        flat, frames = self.propagate(lr, flows).flatten(0, 1), lr.flatten(0, 1)  # [B T, W, h, w], [B T, C, h, w]
        step = batch or len(flat)
        out = [self.reconstruct(f, x) for f, x in zip(flat.split(step), frames.split(step))]
        result = torch.cat(out).view(b, t, c, h * self.scale, w * self.scale)
        return (result, flows) if return_flows else result

    @torch.no_grad()
    def upscale(self, lr: Tensor, batch: int | None = None) -> Tensor:
        """Eval-mode ``forward`` of a clip, clamped to ``[-1, 1]``."""
        was = self.training
        self.eval()
        try:
            return self(lr, batch=batch).clamp(-1, 1)
        finally:
            self.train(was)
