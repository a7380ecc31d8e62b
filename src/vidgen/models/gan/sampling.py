"""Sampling from a GAN generator in batches, independent of the batch size."""

from __future__ import annotations

import torch
from torch import nn


@torch.inference_mode()
def generate(generator: nn.Module, latents: torch.Tensor, *, batch_size: int = 32) -> torch.Tensor:
    """Run ``generator`` (in eval mode) over ``latents [N, z_dim]`` -> float ``[N, T, C, H, W]`` on CPU.

    Eval mode makes every sample depend on its own latent only, so sample i is the same
    whatever the batch size.
    """
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    try:
        out = [generator(z.to(device)).float().cpu() for z in latents.split(batch_size)]
    finally:
        generator.train(was_training)
    return torch.cat(out)
