"""Temporal metrics: how much a video flickers or wobbles, against its motion or a reference.

All take clips as uint8 ``[T, H, W, C]`` or float ``[T, C, H, W]`` in ``[-1, 1]`` and work on
values in ``[0, 1]``.

- :func:`warping_error` (E_warp, Lai et al. 2018, "Learning Blind Video Temporal
  Consistency"): each frame ``t + 1`` against frame ``t`` warped to it by the backward flow,
  the squared difference averaged over the pixels the flow says were visible, then over the
  frame pairs. The flow is the exact one where the data knows it (``photo_pans``'
  :meth:`~vidgen.data.photo_pans.PhotoPansDataset.flow`), else OpenCV's DIS flow from frame
  ``t + 1`` to ``t`` with a forward-backward check (pixels whose round trip misses by more
  than :data:`FB_TOLERANCE` pixels count as occluded). A static clip scores 0.
- :func:`tof` (TecoGAN's tOF, Chu et al. 2020): the mean absolute difference between the
  Farneback flow of the output's consecutive frames and that of the reference's.
- :func:`flicker_index`: the frame-to-frame change of each frame's mean colour (per channel),
  against the reference's change where one is given (else against no change), mean absolute.

``docs/metrics.md`` gives the formulas.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch

from vidgen.errors import VidgenError
from vidgen.registry import METRICS

FB_TOLERANCE = 1.0  # pixels: a forward-backward round trip missing by more marks an occlusion


def as_unit_frames(video: Any) -> np.ndarray:
    """A clip as float32 ``[T, H, W, C]`` in ``[0, 1]`` (from uint8 ``[T, H, W, C]`` or float ``[T, C, H, W]``)."""
    if isinstance(video, torch.Tensor):
        if video.dtype == torch.uint8:
            video = video.numpy()
        else:
            return ((video.detach().float().cpu().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()
    video = np.asarray(video)
    if video.dtype != np.uint8 or video.ndim != 4:
        raise VidgenError(f"expected uint8 frames [T, H, W, C] or a float tensor [T, C, H, W], got {video.dtype} "
                          f"{list(video.shape)}")
    return video.astype(np.float32) / 255.0


def _gray_u8(frame: np.ndarray) -> np.ndarray:
    gray = frame.mean(axis=2) if frame.shape[2] == 3 else frame[..., 0]
    return np.clip(gray * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def warp(frame: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``frame [H, W, C]`` sampled at ``p + flow[p]`` (bilinear; OpenCV's ``remap``)."""
    xs, ys = _grid(*frame.shape[:2])
    out = cv2.remap(frame, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out[..., None] if out.ndim == 2 else out


def dis_pair(ga: np.ndarray, gb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's DIS flow (medium preset) both ways between 8-bit gray frames ``[H, W]``: ``(f_ab, f_ba)``,
    ``ga(p)`` lying at ``gb(p + f_ab)``. Frames under 16 pixels a side (DIS needs 12) are padded with
    their edge and the flows cropped back."""
    h, w = ga.shape
    ph, pw = max(0, 16 - h), max(0, 16 - w)
    if ph or pw:
        ga, gb = (np.pad(g, ((0, ph), (0, pw)), mode="edge") for g in (ga, gb))
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(ga, gb, None)[:h, :w], dis.calc(gb, ga, None)[:h, :w]


def dis_flows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """DIS flow both ways between frames ``a`` and ``b`` (float ``[H, W, C]`` in ``[0, 1]``) and, for each,
    the mask of pixels that pass the forward-backward check: ``(f_ab, ok_ab, f_ba, ok_ba)``, where
    ``a(p)`` lies at ``b(p + f_ab)``."""
    f_ab, f_ba = dis_pair(_gray_u8(a), _gray_u8(b))
    # a round trip ends back where it started when the pixel is visible in both frames
    ok_ab = np.linalg.norm(f_ab + warp(f_ba, f_ab), axis=-1) <= FB_TOLERANCE
    ok_ba = np.linalg.norm(f_ba + warp(f_ab, f_ba), axis=-1) <= FB_TOLERANCE
    return f_ab, ok_ab, f_ba, ok_ba


def dis_flow(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DIS flow from frame ``src`` to frame ``dst`` (``src(p)`` lies at ``dst(p + flow)``) and the mask of
    pixels that pass the forward-backward check; frames float ``[H, W, C]`` in ``[0, 1]``."""
    flow, valid, _, _ = dis_flows(src, dst)
    return flow, valid


def _flow_to_time(flow: np.ndarray, tau: float, steps: int = 4) -> np.ndarray:
    """The flow from the frame at time ``tau`` back to the frame ``flow`` starts from: the fixed point
    of ``g(p) = -tau * flow(p + g(p))`` (each pixel follows its own motion back), by iteration."""
    g = -tau * flow
    for _ in range(steps):
        g = -tau * warp(flow, g)
    return g


def flows_to_time(a: np.ndarray, b: np.ndarray, taus: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Intermediate flows between frames ``a`` and ``b`` (float ``[H, W, C]`` in ``[0, 1]``) under linear
    motion: for each ``tau`` in (0, 1), ``(g_a, g_b)``, so that the frame at time ``tau`` shows at ``p``
    what ``a`` shows at ``p + g_a(p)`` and ``b`` at ``p + g_b(p)``.

    DIS flow is computed both ways; both ends move along the direction whose flows pass the
    forward-backward check more often (DIS can fail one way in flat regions).
    """
    f_ab, ok_ab, f_ba, ok_ba = dis_flows(a, b)  # a(p) lies at b(p + f_ab)
    forward = ok_ab.mean() >= ok_ba.mean()
    flow = f_ab if forward else f_ba
    out = []
    for tau in taus:
        s_near = tau if forward else 1 - tau  # the flow's start frame is `tau` (or 1 - tau) away
        # the frame at tau shows at p what the start frame showed at p + g, g = -s flow(p + g)
        # (a few fixed-point steps), and the other end at p - (1 - s) / s g
        g = _flow_to_time(flow, s_near)
        g_other = -(1 - s_near) / s_near * g
        out.append((g, g_other) if forward else (g_other, g))
    return out


def warping_error(video: Any, *, flows: np.ndarray | None = None, valid: np.ndarray | None = None) -> float:
    """E_warp of a clip (see the module docstring); ``flows`` ``[T - 1, H, W, 2]``: the backward flow
    from frame ``t + 1`` to ``t`` with its mask ``valid`` ``[T - 1, H, W]``, or None for DIS flow."""
    frames = as_unit_frames(video)
    if len(frames) < 2:
        raise VidgenError("the warping error compares consecutive frames: the clip needs at least 2")
    errors = []
    for t in range(len(frames) - 1):
        if flows is None:
            flow, mask = dis_flow(frames[t + 1], frames[t])
        else:
            flow, mask = flows[t], (valid[t] if valid is not None else np.ones(frames.shape[1:3], bool))
        warped = warp(frames[t], flow)
        diff = np.square(frames[t + 1] - warped).mean(axis=-1)
        errors.append(float(diff[mask].mean()) if mask.any() else 0.0)
    return float(np.mean(errors))


def _farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cv2.calcOpticalFlowFarneback(_gray_u8(a), _gray_u8(b), None, 0.5, 3, 15, 3, 5, 1.2, 0)


def tof(output: Any, reference: Any) -> float:
    """TecoGAN's tOF: mean over frame pairs and pixels of ``|F(out_t, out_t+1) - F(ref_t, ref_t+1)|_1``
    (Farneback flow, pixels), so 0 when the output moves exactly as the reference does."""
    out, ref = as_unit_frames(output), as_unit_frames(reference)
    if out.shape != ref.shape:
        raise VidgenError(f"tOF compares clips of one shape, got {list(out.shape)} and {list(ref.shape)}")
    if len(out) < 2:
        raise VidgenError("tOF compares consecutive frames: the clips need at least 2")
    return float(np.mean([np.abs(_farneback(out[t], out[t + 1]) - _farneback(ref[t], ref[t + 1])).sum(-1).mean()
                          for t in range(len(out) - 1)]))


def flicker_index(output: Any, reference: Any | None = None) -> float:
    """Mean absolute frame-to-frame change of the mean colour per channel (values in ``[0, 1]``),
    less the reference's change where one is given: 0 for a clip whose brightness and colour
    change exactly as the reference's (or, without one, not at all)."""
    means = as_unit_frames(output).mean(axis=(1, 2))  # [T, C]
    change = np.diff(means, axis=0)
    if reference is not None:
        ref = as_unit_frames(reference).mean(axis=(1, 2))
        if ref.shape != means.shape:
            raise VidgenError(f"the reference has {len(ref)} frames of {ref.shape[1]} channels, the clip "
                              f"{len(means)} of {means.shape[1]}")
        change = change - np.diff(ref, axis=0)
    return float(np.abs(change).mean()) if len(change) else 0.0


# ------------------------------------------------------------------ registered (vidgen eval --fake [--real])


def _result(name: str, value: float, video: np.ndarray, reference: Any) -> dict[str, Any]:
    return {"metric": name, "value": value, "frames": int(len(video)), "reference": reference is not None}


@METRICS.register("warp_error", needs=("video",),
                  summary="warping error E_warp of a video (DIS flow, occlusions masked): 0 for a static clip")
def score_warp_error(video: Any, reference: Any = None) -> dict[str, Any]:
    """E_warp of ``video`` (the reference, if given, is not needed: the flow is the video's own)."""
    return _result("warp_error", warping_error(video), as_unit_frames(video), reference)


@METRICS.register("tof", needs=("video", "reference"),
                  summary="TecoGAN's tOF: how differently a video moves than its reference (Farneback flow)")
def score_tof(video: Any, reference: Any = None) -> dict[str, Any]:
    """tOF of ``video`` against ``reference`` (required)."""
    if reference is None:
        raise VidgenError("tof compares a video's motion with its reference's", hint="give the reference as --real")
    return _result("tof", tof(video, reference), as_unit_frames(video), reference)


@METRICS.register("flicker", needs=("video",),
                  summary="flicker index: frame-to-frame change of the mean colour, against the reference's (--real)")
def score_flicker(video: Any, reference: Any = None) -> dict[str, Any]:
    """The flicker index of ``video``, against ``reference`` where given."""
    return _result("flicker", flicker_index(video, reference), as_unit_frames(video), reference)
