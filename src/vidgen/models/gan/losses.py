"""GAN losses. Each takes discriminator logits and returns a scalar."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_nonsaturating(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss ``-log D(x) - log(1 - D(G(z)))``, written with softplus for stability."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss ``-log D(G(z))`` (the non-saturating form of Goodfellow et al.)."""
    return F.softplus(-fake_logits).mean()


LOSSES = {"nonsaturating": (d_nonsaturating, g_nonsaturating)}
