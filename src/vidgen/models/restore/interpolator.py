"""``ifnet``: a RIFE-style frame interpolator: intermediate flows, a fusion mask and a residual.

RIFE (Huang et al., ECCV 2022) estimates the flows from the unseen frame at time ``tau`` back
to both input frames directly (no flow between the inputs to reverse), warps each input
along its flow, and fuses the two with a predicted mask, plus a refinement residual. Here:

- the flows start from an estimate: ``flow_init: dis``, the classical op's intermediate
  flows (OpenCV DIS flow between the inputs, moved to time ``tau`` under linear motion,
  :func:`vidgen.metrics.temporal.flows_to_time`), or ``zero``;
- one U-Net reads both inputs, both inputs warped along the current flows, the flows and
  ``tau``, and outputs a correction of each flow, the mask's logit and a residual (zero at
  initialisation: with ``dis`` it starts as the classical op's warped blend), run
  ``iterations`` times (each reads the last one's warps), RIFE's coarse-to-fine refinement
  at one scale;
- the output is ``m * warp(a, g_a) + (1 - m) * warp(b, g_b) + residual`` with
  ``m = sigmoid(logit + log((1 - tau) / tau))`` (the plain ``1 - tau`` / ``tau`` weights at
  zero logit).

Flows are in pixels, OpenCV's ``remap`` convention (:func:`vidgen.nn.unet.backward_warp`);
DIS runs on the CPU in numpy, whatever the network's device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from vidgen.errors import ConfigError
from vidgen.metrics.temporal import flows_to_time
from vidgen.models.restore.common import check_frames, check_width
from vidgen.nn.unet import UNet2d, backward_warp
from vidgen.registry import MODELS

FLOW_SCALE = 8.0  # flows enter the U-Net divided by this (pixels -> values around 1)


@dataclass
class IFNetConfig:
    """Where the flows start, the refinement's iterations and the U-Net's widths."""

    flow_init: Literal["dis", "zero"] = "dis"
    iterations: int = 1
    width: int = 32
    levels: int = 2
    convs: int = 2

    def __post_init__(self) -> None:
        check_width("ifnet", self.width, self.levels)
        if self.flow_init not in ("dis", "zero"):
            raise ConfigError(f"model.flow_init must be dis or zero, got {self.flow_init!r}")
        if self.iterations < 1:
            raise ConfigError(f"model.iterations must be >= 1, got {self.iterations}")


def initial_flows(a: Tensor, b: Tensor, tau: Tensor) -> tuple[Tensor, Tensor]:
    """The classical intermediate flows ``(g_a, g_b)`` ``[B, 2, H, W]`` from DIS flow between ``a`` and
    ``b`` (``[B, C, H, W]`` in ``[-1, 1]``) to each clip's time ``tau [B]``."""
    fa = ((a.detach().float().cpu() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    fb = ((b.detach().float().cpu() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    pairs = [flows_to_time(x, y, [float(t)])[0] for x, y, t in zip(fa, fb, tau.tolist())]
    g_a = torch.from_numpy(np.stack([p[0] for p in pairs])).permute(0, 3, 1, 2)
    g_b = torch.from_numpy(np.stack([p[1] for p in pairs])).permute(0, 3, 1, 2)
    return g_a.to(a.device, a.dtype), g_b.to(a.device, a.dtype)


@MODELS.register("ifnet", config=IFNetConfig, family="restore")
class IFNet(nn.Module):
    """``forward(a, b, tau) -> [B, C, H, W]``: the frame at time ``tau [B]`` in (0, 1) between ``a`` and ``b``."""

    task = "interpolate"
    radius = 1  # reads the next frame

    def __init__(self, *, config: IFNetConfig, frames: int, resolution: int, channels: int, num_classes: int = 0):
        super().__init__()
        check_frames("ifnet", frames, 3)
        self.config = config
        self.channels = channels
        c = channels
        # a, b, warp(a), warp(b), g_a, g_b, tau -> dg_a, dg_b, mask logit, residual
        self.net = UNet2d(4 * c + 5, 5 + c, width=config.width, levels=config.levels, convs=config.convs)

    def forward(self, a: Tensor, b: Tensor, tau: Tensor, flows: tuple[Tensor, Tensor] | None = None) -> Tensor:
        tau = tau.to(a.device, a.dtype).view(-1, 1, 1, 1)
        if flows is None:
            flows = (initial_flows(a, b, tau.view(-1)) if self.config.flow_init == "dis" else
                     (torch.zeros_like(a[:, :2]), torch.zeros_like(a[:, :2])))
        g_a, g_b = flows
        prior = torch.log((1 - tau) / tau)
        logit = torch.zeros_like(a[:, :1])
        residual = torch.zeros_like(a)
        for _ in range(self.config.iterations):
            wa, wb = backward_warp(a, g_a), backward_warp(b, g_b)
            x = torch.cat([a, b, wa, wb, g_a / FLOW_SCALE, g_b / FLOW_SCALE, tau.expand_as(a[:, :1])], dim=1)
            out = self.net(x)
            g_a = g_a + FLOW_SCALE * out[:, 0:2]
            g_b = g_b + FLOW_SCALE * out[:, 2:4]
            logit, residual = out[:, 4:5], out[:, 5:]
        m = torch.sigmoid(logit + prior)
        return m * backward_warp(a, g_a) + (1 - m) * backward_warp(b, g_b) + residual

    @torch.no_grad()
    def restore(self, video: Tensor, *, factor: int = 2, batch: int = 8) -> Tensor:
        """``[B, T, C, H, W]`` -> ``[B, (T - 1) * factor + 1, C, H, W]``: ``factor - 1`` new frames
        between each pair."""
        if factor == 1:
            return video
        b, t = video.shape[:2]
        taus = [j / factor for j in range(1, factor)]
        a = video[:, :-1].reshape(-1, *video.shape[2:]).repeat_interleave(len(taus), dim=0)
        z = video[:, 1:].reshape(-1, *video.shape[2:]).repeat_interleave(len(taus), dim=0)
        tau = torch.tensor(taus).repeat(b * (t - 1))
        mids = torch.cat([self(x, y, s) for x, y, s in zip(a.split(batch), z.split(batch), tau.split(batch))])
        mids = mids.view(b, t - 1, len(taus), *video.shape[2:]).clamp(-1, 1)
        out = torch.cat([video[:, :-1, None], mids], dim=2).reshape(b, (t - 1) * factor, *video.shape[2:])
        return torch.cat([out, video[:, -1:]], dim=1)


