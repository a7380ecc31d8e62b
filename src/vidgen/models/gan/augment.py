"""DiffAugment for video: differentiable augmentations of the discriminator's input.

Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training" (NeurIPS 2020):
real *and* generated clips are augmented, in every phase, by transforms the generator's
gradient flows through, so a discriminator trained on little data cannot memorise it and the
generator is not pushed to reproduce the augmentations. Policies (applied in the order given)
and magnitudes are the paper's:

============  ===============================================================================
``color``     brightness ``+ U(-0.5, 0.5)``; saturation: the distance to the pixel's channel
              mean ``x U(0, 2)``; contrast: the distance to the clip's mean ``x U(0.5, 1.5)``
``translation``  an integer shift of up to 1/8 of the height and width, zeros shifted in
``cutout``    a zeroed square of half the height and width at a random centre
============  ===============================================================================

For video, every random quantity is drawn **once per clip** and shared by all its frames: a
shifted clip moves as a whole, a cut-out hole stays put, the colours change the same way in
every frame (the contrast pivot is the clip's mean, not each frame's), so the augmentation
never adds motion or flicker the discriminator could tell apart from the data. The draws are
an input (``u``, uniform in ``[0, 1)``): training passes the step's seeded noise, so runs stay
reproducible and resumable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidgen.errors import ConfigError

# policy -> uniform draws it needs per clip
POLICIES: dict[str, int] = {"color": 3, "translation": 2, "cutout": 2}
TRANSLATION_RATIO = 0.125  # the paper's largest shift, as a fraction of the frame size
CUTOUT_RATIO = 0.5  # the cut-out square's side, as a fraction of the frame size


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> ``("color", "translation", "cutout")``; ``""`` -> ``()``.

    Raises a ConfigError naming the valid choices for an unknown or repeated name.
    """
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    for name in names:
        if name not in POLICIES:
            raise ConfigError(f"objective.diffaugment: unknown augmentation {name!r} in {policy!r}",
                              hint=f"a comma-separated list of {', '.join(POLICIES)} (or empty: off)")
    if len(set(names)) != len(names):
        raise ConfigError(f"objective.diffaugment lists an augmentation twice: {policy!r}")
    return names


def num_draws(policy: str | tuple[str, ...]) -> int:
    """How many uniform numbers per clip :func:`diff_augment` reads for ``policy``."""
    names = parse_policy(policy) if isinstance(policy, str) else policy
    return sum(POLICIES[n] for n in names)


def diff_augment(video: torch.Tensor, policy: str | tuple[str, ...], u: torch.Tensor | None) -> torch.Tensor:
    """Augment ``video [B, T, C, H, W]`` by ``policy``, one transform per clip shared by its frames.

    Args:
        video: clips in ``[-1, 1]`` (the output may leave that range, as in the paper).
        policy: a policy string or the tuple :func:`parse_policy` returns; empty: ``video``
            itself is returned.
        u: ``[B, num_draws(policy)]`` uniform numbers in ``[0, 1)``, read left to right in the
            order of ``policy`` (None only for an empty policy).

    Differentiable with respect to ``video``; the transform depends on ``u`` only.
    """
    names = parse_policy(policy) if isinstance(policy, str) else policy
    if not names:
        return video
    need = num_draws(names)
    if u is None or u.shape != (video.shape[0], need):
        got = None if u is None else tuple(u.shape)
        raise ValueError(f"diff_augment({','.join(names)}) needs u of shape [{video.shape[0]}, {need}], got {got}")
    u = u.to(device=video.device, dtype=video.dtype)
    col = 0
    for name in names:
        k = POLICIES[name]
        video = _TRANSFORMS[name](video, u[:, col:col + k])
        col += k
    return video


def _per_clip(u: torch.Tensor) -> torch.Tensor:
    return u.view(-1, 1, 1, 1, 1)  # broadcasts over [T, C, H, W]


def _color(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    x = x + (_per_clip(u[:, 0]) - 0.5)  # brightness
    mean = x.mean(dim=2, keepdim=True)  # the pixel's channel mean: [B, T, 1, H, W]
    x = (x - mean) * (_per_clip(u[:, 1]) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3, 4), keepdim=True)  # the clip's mean: one pivot for every frame
    return (x - mean) * (_per_clip(u[:, 2]) + 0.5) + mean  # contrast


def _integers(u: torch.Tensor, count: int) -> torch.Tensor:
    """Uniform ``[0, 1)`` -> integers in ``[0, count)``, long."""
    return (u * count).long().clamp_(0, count - 1)


def _translation(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    b, t, c, h, w = x.shape
    sy, sx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
    dy = _integers(u[:, 0], 2 * sy + 1) - sy  # [B] in [-sy, sy]
    dx = _integers(u[:, 1], 2 * sx + 1) - sx
    padded = F.pad(x, [1, 1, 1, 1])  # a zero border to read from outside the frame: [B, T, C, H+2, W+2]
    rows = (torch.arange(h, device=x.device) + dy[:, None] + 1).clamp(0, h + 1)  # [B, H]
    cols = (torch.arange(w, device=x.device) + dx[:, None] + 1).clamp(0, w + 1)  # [B, W]
    # output pixel (i, j) reads input (i + dy, j + dx): the same offset for every frame of a clip
    out = padded.gather(3, rows.view(b, 1, 1, h, 1).expand(b, t, c, h, w + 2))
    return out.gather(4, cols.view(b, 1, 1, 1, w).expand(b, t, c, h, w))


def _cutout(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    b, t, c, h, w = x.shape
    ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    cy = _integers(u[:, 0], h + (1 - ch % 2))  # the square's centre, as in the paper's code
    cx = _integers(u[:, 1], w + (1 - cw % 2))
    ys = torch.arange(h, device=x.device)
    xs = torch.arange(w, device=x.device)
    top, left = (cy - ch // 2)[:, None], (cx - cw // 2)[:, None]
    inside_y = (ys >= top) & (ys < top + ch)  # [B, H]
    inside_x = (xs >= left) & (xs < left + cw)  # [B, W]
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])  # [B, H, W]
    return x * keep.to(x.dtype).view(b, 1, 1, h, w)


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}


def uniform_from_normal(noise: torch.Tensor) -> torch.Tensor:
    """Standard normal draws -> uniform ``[0, 1)`` ones (the normal CDF), for the step's seeded noise."""
    return (0.5 * (1.0 + torch.erf(noise.float() / 2**0.5))).clamp_(0.0, 1.0 - 2**-24)
