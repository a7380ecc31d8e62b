"""Sampling from a GAN generator in batches, independent of the batch size.

Latents are drawn per seed (``model.latents(seeds)``), so a clip is a function of its seed
(and label) alone; :func:`truncate` and :func:`slerp` transform latents before
:func:`generate` runs the generator over them.
"""

from __future__ import annotations

import torch
from torch import nn

from vidgen.utils.progress import progress


@torch.inference_mode()
def generate(generator: nn.Module, latents: torch.Tensor, *, labels: torch.Tensor | None = None,
             frames: int | None = None, batch_size: int = 32) -> torch.Tensor:
    """Run ``generator`` (in eval mode) over ``latents [N, z_dim]`` -> float ``[N, T, C, H, W]`` on CPU.

    ``labels`` ``[N]`` (conditional generators) and ``frames`` (generators that take any
    length) are passed on as ``generator(z, label=, frames=)``, each only when given. Eval
    mode makes every sample depend on its own latent (and label) only, so sample i is the same
    whatever the batch size.
    """
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    chunks = latents.split(batch_size)
    label_chunks = labels.split(batch_size) if labels is not None else [None] * len(chunks)
    try:
        out = []
        for z, y in progress(zip(chunks, label_chunks), total=len(chunks), desc="sampling"):
            kwargs = {}
            if y is not None:
                kwargs["label"] = y.to(device)
            if frames is not None:
                kwargs["frames"] = frames
            out.append(generator(z.to(device), **kwargs).float().cpu())
    finally:
        generator.train(was_training)
    return torch.cat(out)


def truncate(latents: torch.Tensor, psi: float) -> torch.Tensor:
    """The truncation trick for Gaussian latents: ``psi * z``.

    Truncation pulls a latent toward the mean of its distribution, ``mean + psi (z - mean)``
    (StyleGAN's form; BigGAN resamples outliers instead). ``z ~ N(0, I)`` has mean 0, so this is
    ``psi * z``: ``psi = 1`` leaves samples as trained, smaller values trade variety for
    typical-looking clips, ``psi = 0`` gives the single "average" clip.
    """
    if psi < 0:
        raise ValueError(f"truncation psi must be >= 0, got {psi}")
    return latents * psi


def slerp(a: torch.Tensor, b: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latents ``a`` and ``b`` (``[z_dim]`` each) -> ``[len(weights), z_dim]``.

    Follows the great circle between them (Shoemake; White, "Sampling generative networks"),
    so every point keeps the norm a Gaussian latent typically has, unlike a straight line whose
    middle is too short. Weight 0 gives ``a`` and weight 1 ``b`` exactly; nearly parallel
    latents fall back to the straight line.
    """
    a, b = a.float().reshape(-1), b.float().reshape(-1)
    w = weights.float().reshape(-1, 1)
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    theta = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(torch.sin(theta)) < 1e-6:
        z = (1 - w) * a + w * b
    else:
        z = (torch.sin((1 - w) * theta) * a + torch.sin(w * theta) * b) / torch.sin(theta)
    z[w.reshape(-1) == 0] = a  # exact ends, whatever the rounding
    z[w.reshape(-1) == 1] = b
    return z
