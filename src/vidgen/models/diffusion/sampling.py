"""Deterministic samplers of the diffusion family's probability-flow ODE (EDM's formulation).

The ODE ``dx / dsigma = (x - D(x; sigma)) / sigma`` runs from ``sigma_max`` to 0 over the noise
levels of Karras et al. (2022), ``sigma_i = (sigma_max^(1/rho) + i / (N - 1) (sigma_min^(1/rho) -
sigma_max^(1/rho)))^rho``, ``rho = 7``, then 0:

- ``ddim``: Euler steps, one network call each. In this parameterisation an Euler step is
  exactly DDIM's deterministic update (Song et al., 2021; Karras et al., section 4).
- ``heun``: Heun's second-order steps (EDM's Algorithm 1 without churn), two calls a step
  except the last one (``2N - 1`` calls): far more accurate per call, the default.

Every clip starts from its own seed's noise (clip ``i`` of a call seeded ``s`` draws from a
generator seeded ``s + i``) and the samplers add no noise, so a clip is the same whatever
the batch it is drawn in. ``denoise(x, sigma)`` is any function returning ``D(x; sigma)``:
classifier-free guidance and the conditioning frames live in it (:func:`guided`).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor

from vidgen.errors import VidgenError

SAMPLERS = ("heun", "ddim")
SIGMA_MIN, SIGMA_MAX, RHO = 0.002, 80.0, 7.0
GUIDANCE_WARN = 10.0  # guidance above this oversaturates: a warning


def check_sampling(steps: int, sampler: str) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise VidgenError(f"steps must be an integer >= 1, got {steps!r}", hint="10 to 50 is usual; 18 (heun) is a "
                                                                                  "good start")
    if sampler not in SAMPLERS:
        raise VidgenError(f"unknown sampler {sampler!r}", hint=f"samplers: {', '.join(SAMPLERS)}")


def sigmas(steps: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX, rho: float = RHO) -> Tensor:
    """The ``steps`` noise levels of the schedule, then 0: ``[steps + 1]`` (float64)."""
    i = torch.arange(steps, dtype=torch.float64)
    ramp = i / max(1, steps - 1)
    levels = (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([levels, torch.zeros(1, dtype=torch.float64)])


def initial_noise(seeds: Sequence[int], shape: Sequence[int], sigma_max: float = SIGMA_MAX) -> Tensor:
    """``[len(seeds), *shape]``: clip ``i`` is ``sigma_max`` times standard noise from a generator seeded ``seeds[i]``."""
    return torch.stack([torch.randn(*shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds]) * sigma_max


@torch.no_grad()
def solve(denoise: Callable[[Tensor, Tensor], Tensor], x: Tensor, *, steps: int = 18, sampler: str = "heun") -> Tensor:
    """Integrate the ODE from ``x`` (noise at ``sigma_max``) to a clean sample; ``x [B, ...]``."""
    check_sampling(steps, sampler)
    levels = sigmas(steps).tolist()
    x = x.float()
    for i in range(steps):
        s, s_next = levels[i], levels[i + 1]
        d = (x - denoise(x, torch.full((x.shape[0],), s, device=x.device))) / s
        x_next = x + (s_next - s) * d
        if sampler == "heun" and s_next > 0:  # the second-order correction, at the step's end
            d_next = (x_next - denoise(x_next, torch.full((x.shape[0],), s_next, device=x.device))) / s_next
            x_next = x + (s_next - s) * (d + d_next) / 2
        x = x_next
    return x


def guided(model: torch.nn.Module, cond: Tensor, mask: Tensor, labels: Tensor | None,
           guidance: float) -> Callable[[Tensor, Tensor], Tensor]:
    """``D(x; sigma)`` of ``model`` with the conditioning frames and classifier-free guidance:
    ``D_uncond + guidance (D_cond - D_uncond)``, so 1 is the conditional model and 0 the
    unconditional one (the null class). Given frames are set exactly in every estimate."""
    m = mask.to(cond.dtype)[:, :, None, None, None]

    def denoise(x: Tensor, sigma: Tensor) -> Tensor:
        dtype = next(model.parameters()).dtype
        if labels is None or guidance == 1.0:
            out = model(x.to(dtype), sigma, cond, mask, labels)
        elif guidance == 0.0:
            out = model(x.to(dtype), sigma, cond, mask, None)
        else:  # both branches in one batch
            both = model(torch.cat([x, x]).to(dtype), torch.cat([sigma, sigma]), torch.cat([cond, cond]),
                         torch.cat([mask, mask]), torch.cat([labels, torch.full_like(labels, model.num_classes)]))
            c, u = both.chunk(2)
            out = u + guidance * (c - u)
        return m * cond + (1 - m) * out.float()

    return denoise


def check_guidance(guidance: float, conditional: bool, warn: Callable[[str], None]) -> float:
    if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not math.isfinite(guidance) \
            or guidance < 0:
        raise VidgenError(f"guidance must be a number >= 0 (1: the conditional model, 0: unconditional), "
                          f"got {guidance!r}")
    if guidance != 1.0 and not conditional:
        raise VidgenError("guidance needs a class-conditional model", hint="leave guidance at 1")
    if guidance > GUIDANCE_WARN:
        warn(f"guidance {guidance} is far above the usual 1-4: expect oversaturated, repetitive clips")
    return float(guidance)
