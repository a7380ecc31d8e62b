"""The two terms of a VAE's evidence lower bound (ELBO), shared by the VAE architectures.

A VAE maximises ``E_q[log p(x | z)] - KL(q(z | x) || p(z))``; the training loop minimises
``recon + w * kl`` with ``w`` ramping up to ``beta`` (see :mod:`vidgen.models.vae.training`). Here:

- :func:`gaussian_kl`: ``KL(N(mu_q, exp(logvar_q)) || N(mu_p, exp(logvar_p)))`` of diagonal
  Gaussians in closed form (the prior defaults to ``N(0, I)``), summed over every latent
  dimension (and over time for per-frame latents) and averaged over the batch.
- :func:`reparameterize`: ``z = mu + sigma * eps`` with ``eps`` from a given generator, so
  the noise is reproducible (Kingma & Welling, 2014).
- :func:`reconstruction_loss`: the negative log-likelihood of a clip under the decoder,
  up to constants, summed over the pixels of a clip and averaged over the batch:
  ``mse`` (Gaussian, variance 1/2), ``l1`` (Laplace, scale 1) or ``bce`` (Bernoulli on
  pixels mapped to ``[0, 1]``, for near-binary data such as moving digits).
- :func:`frame_mse`: SVG's reconstruction scale (per-frame mean squared error summed over
  frames), which its default ``beta = 1e-4`` assumes.

Everything is computed in float32, so the terms are safe under bf16/fp16 autocast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

RECON_KINDS = ("mse", "l1", "bce")


def gaussian_kl(
    mu: Tensor, logvar: Tensor, mu_prior: Tensor | None = None, logvar_prior: Tensor | None = None
) -> Tensor:
    """KL divergence between diagonal Gaussians, a scalar.

    Args:
        mu, logvar: the posterior's mean and log-variance, ``[B, ...]`` (``[B, z]`` for one
            latent per clip, ``[B, T, z]`` for one per frame).
        mu_prior, logvar_prior: the prior's, broadcastable to ``mu``; None: ``N(0, I)``.

    Returns:
        ``KL(q || p)`` summed over every dimension but the batch, averaged over the batch.
        Per dimension: ``0.5 * (logvar_p - logvar_q + (exp(logvar_q) + (mu_q - mu_p)^2) /
        exp(logvar_p) - 1)``; against ``N(0, I)``: ``0.5 * (exp(logvar) + mu^2 - 1 - logvar)``.
    """
    mu, logvar = mu.float(), logvar.float()
    if mu_prior is None and logvar_prior is None:
        kl = 0.5 * (logvar.exp() + mu.square() - 1.0 - logvar)
    else:
        mu_p = torch.zeros_like(mu) if mu_prior is None else mu_prior.float()
        logvar_p = torch.zeros_like(logvar) if logvar_prior is None else logvar_prior.float()
        kl = 0.5 * (logvar_p - logvar + (logvar.exp() + (mu - mu_p).square()) * torch.exp(-logvar_p) - 1.0)
    return kl.flatten(1).sum(1).mean()


def reparameterize(mu: Tensor, logvar: Tensor, generator: torch.Generator | None) -> Tensor:
    """A sample ``mu + exp(logvar / 2) * eps`` of ``N(mu, exp(logvar))``, shaped like ``mu``.

    ``eps`` is drawn from ``generator`` on the generator's own device (a CPU generator
    drives a GPU model, so the noise does not depend on the device), or from the global
    RNG on ``mu``'s device when ``generator`` is None.
    """
    draw_device = generator.device if generator is not None else mu.device
    eps = torch.randn(mu.shape, generator=generator, device=draw_device)
    return mu + eps.to(device=mu.device, dtype=mu.dtype) * torch.exp(0.5 * logvar)


def reconstruction_loss(kind: str, logits: Tensor, target: Tensor) -> Tensor:
    """Negative log-likelihood (up to constants) of ``target`` under the decoder, a scalar.

    Args:
        kind: ``"mse"``, ``"l1"`` or ``"bce"`` (see the module docstring).
        logits: the decoder's output before its ``tanh``, ``[B, ...]``; the clip the model
            returns is ``tanh(logits)``, which for ``bce`` is ``2 * sigmoid(2 * logits) - 1``,
            so ``2 * logits`` are the Bernoulli logits of the pixels in ``[0, 1]``.
        target: the true clip, shaped like ``logits``, in ``[-1, 1]``.

    Returns:
        The loss summed over every dimension but the batch, averaged over the batch.
    """
    logits, target = logits.float(), target.float()
    if kind == "mse":
        per = (torch.tanh(logits) - target).square()
    elif kind == "l1":
        per = (torch.tanh(logits) - target).abs()
    elif kind == "bce":
        per = F.binary_cross_entropy_with_logits(2.0 * logits, (target + 1.0) / 2.0, reduction="none")
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}; choose one of {', '.join(RECON_KINDS)}")
    return per.flatten(1).sum(1).mean()


def frame_mse(pred: Tensor, target: Tensor) -> Tensor:
    """SVG's reconstruction term: per-frame mean squared error, summed over frames, batch mean.

    ``pred`` and ``target`` are ``[B, T, C, H, W]``; the result is a scalar, equal to the
    sum over ``t`` of ``MSELoss()(pred[:, t], target[:, t])`` as in Denton & Fergus's code.
    """
    return (pred.float() - target.float()).square().mean(dim=(2, 3, 4)).sum(1).mean()


def elbo_terms(kind: str, video: Tensor, logits: Tensor, mu: Tensor, logvar: Tensor) -> dict[str, Tensor]:
    """A Gaussian-latent VAE's loss terms from its decoder's ``logits`` of ``video`` and its posterior:
    ``recon`` (:func:`reconstruction_loss` of ``kind``), ``kl`` (:func:`gaussian_kl`), and detached
    statistics ``mse`` (per pixel, of ``tanh(logits)``) and ``logvar`` (the mean posterior log-variance)."""
    with torch.no_grad():
        mse = (torch.tanh(logits.float()) - video.float()).square().mean()
    return {
        "recon": reconstruction_loss(kind, logits, video),
        "kl": gaussian_kl(mu, logvar),
        "mse": mse,
        "logvar": logvar.detach().float().mean(),
    }
