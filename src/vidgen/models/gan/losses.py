"""GAN losses and gradient penalties, selected by ``objective.loss``.

Every loss takes discriminator logits ``[B]`` (or ``[B, ...]``: patch or per-frame logits,
averaged) and returns a scalar. A discriminator may return a list of logit tensors (one per
sub-discriminator, as MoCoGAN's video and image discriminators): :func:`d_loss` and
:func:`g_loss` apply the loss to each and sum.

==================  ==========================================  ===========================
``objective.loss``      discriminator                               generator
==================  ==========================================  ===========================
``nonsaturating``   ``-log D(x) - log(1 - D(G(z)))``            ``-log D(G(z))``
``lsgan``           ``1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2``        ``1/2 (D(G(z)) - 1)^2``
``hinge``           ``relu(1 - D(x)) + relu(1 + D(G(z)))``      ``-D(G(z))``
``wgan-gp``         ``D(G(z)) - D(x)`` (+ :func:`gradient_penalty`)  ``-D(G(z))``
==================  ==========================================  ===========================

(``D`` is the logit; ``nonsaturating`` reads it through a sigmoid, the others use it raw.)
The penalties take a *critic*, a callable ``video -> logits`` (the discriminator with its
label and augmentation bound), and differentiate it twice (``create_graph=True``).
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

import torch
import torch.nn.functional as F

Logits = Union[torch.Tensor, Sequence[torch.Tensor]]
Critic = Callable[[torch.Tensor], Logits]


def d_nonsaturating(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss ``-log D(x) - log(1 - D(G(z)))``, written with softplus for stability."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss ``-log D(G(z))`` (the non-saturating form of Goodfellow et al.)."""
    return F.softplus(-fake_logits).mean()


def d_lsgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Least squares (Mao et al., 2017, targets a=0, b=c=1): ``1/2 E(D(x) - 1)^2 + 1/2 E D(G(z))^2``."""
    return 0.5 * (real_logits - 1).square().mean() + 0.5 * fake_logits.square().mean()


def g_lsgan(fake_logits: torch.Tensor) -> torch.Tensor:
    """Least squares generator loss ``1/2 E(D(G(z)) - 1)^2``."""
    return 0.5 * (fake_logits - 1).square().mean()


def d_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss (Lim & Ye 2017; SN-GAN, BigGAN): ``E relu(1 - D(x)) + E relu(1 + D(G(z)))``."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge generator loss ``-E D(G(z))``."""
    return -fake_logits.mean()


def d_wasserstein(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic loss ``E D(G(z)) - E D(x)``; needs a Lipschitz constraint (:func:`gradient_penalty`)."""
    return fake_logits.mean() - real_logits.mean()


def g_wasserstein(fake_logits: torch.Tensor) -> torch.Tensor:
    """Wasserstein generator loss ``-E D(G(z))``."""
    return -fake_logits.mean()


# objective.loss -> (discriminator loss, generator loss) on one logit tensor each
LOSSES = {
    "nonsaturating": (d_nonsaturating, g_nonsaturating),
    "lsgan": (d_lsgan, g_lsgan),
    "hinge": (d_hinge, g_hinge),
    "wgan-gp": (d_wasserstein, g_wasserstein),
}


def as_list(logits: Logits) -> list[torch.Tensor]:
    """A discriminator's output as a list of float32 logit tensors."""
    items = [logits] if isinstance(logits, torch.Tensor) else list(logits)
    return [t.float() for t in items]


def d_loss(kind: str, real_logits: Logits, fake_logits: Logits) -> torch.Tensor:
    """The discriminator loss ``kind`` summed over the sub-discriminators."""
    reals, fakes = as_list(real_logits), as_list(fake_logits)
    if len(reals) != len(fakes):
        raise ValueError(f"the discriminator returned {len(reals)} outputs for real clips, {len(fakes)} for fakes")
    fn = LOSSES[kind][0]
    return sum((fn(r, f) for r, f in zip(reals, fakes)), torch.zeros((), device=reals[0].device))


def g_loss(kind: str, fake_logits: Logits) -> torch.Tensor:
    """The generator loss ``kind`` summed over the sub-discriminators."""
    fakes = as_list(fake_logits)
    fn = LOSSES[kind][1]
    return sum((fn(f) for f in fakes), torch.zeros((), device=fakes[0].device))


def class_loss(class_logits: Logits, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of an auxiliary classifier (AC-GAN), summed over the sub-discriminators.

    Each tensor is ``[N, K]`` with ``N`` a multiple of the ``B`` labels (a sub-discriminator that
    judges several frames per clip gives ``N = B x frames``, clip-major): every row is scored
    against its clip's label.
    """
    items = as_list(class_logits)
    labels = labels.long().to(items[0].device)
    total = torch.zeros((), device=items[0].device)
    for t in items:
        if t.ndim != 2 or t.shape[0] % labels.shape[0]:
            raise ValueError(f"class logits must be [N, classes] with N a multiple of the batch "
                             f"({labels.shape[0]}), got {tuple(t.shape)}")
        total = total + F.cross_entropy(t, labels.repeat_interleave(t.shape[0] // labels.shape[0]))
    return total


def class_accuracy(class_logits: Logits, labels: torch.Tensor) -> torch.Tensor:
    """The share of rows of the first classifier output whose arg-max is their clip's label (logged)."""
    t = as_list(class_logits)[0].detach()
    labels = labels.long().to(t.device).repeat_interleave(t.shape[0] // labels.shape[0])
    return (t.argmax(1) == labels).float().mean()


def mean_score(logits: Logits) -> torch.Tensor:
    """The mean logit over every sub-discriminator (logged as ``real_score`` / ``fake_score``)."""
    items = as_list(logits)
    return torch.stack([t.detach().mean() for t in items]).mean()


def _per_clip(logits: torch.Tensor) -> torch.Tensor:
    """``[B, ...]`` logits -> ``[B]``: the clip's mean logit, the value the losses average."""
    return logits.float().reshape(logits.shape[0], -1).mean(1)


def _input_grads(critic: Critic, x: torch.Tensor) -> list[torch.Tensor]:
    """``d critic_k(x) / dx`` per sub-discriminator ``k`` and clip, each ``[B, ...]`` float, differentiable."""
    outs = as_list(critic(x))
    grads = []
    for out in outs:  # the graph is kept (create_graph): the penalty's backward runs through it
        (g,) = torch.autograd.grad(_per_clip(out).sum(), x, create_graph=True)
        grads.append(g.float().flatten(1))
    return grads


def r1_penalty(critic: Critic, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al., 2018): ``E ||d D(x) / dx||^2`` on real clips, summed over sub-discriminators.

    ``real`` ``[B, T, C, H, W]`` is detached here; the loss is ``r1_gamma / 2`` times this.
    """
    x = real.detach().requires_grad_(True)
    return sum(g.square().sum(1).mean() for g in _input_grads(critic, x))


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al., 2017): ``E (||d D(x^) / dx^|| - 1)^2`` on ``x^ = real + w (fake - real)``.

    Args:
        critic: ``video -> logits``.
        real, fake: ``[B, T, C, H, W]`` (detached here).
        weight: ``[B]`` interpolation weights, uniform in ``[0, 1]`` (one per clip).

    Returns the penalty summed over sub-discriminators; the loss is ``gp_gamma`` times this.
    """
    w = weight.to(real.device, real.dtype).view(-1, *([1] * (real.dim() - 1)))
    x = (real.detach() + w * (fake.detach() - real.detach())).requires_grad_(True)
    # the small constant keeps the norm differentiable where the gradient vanishes
    return sum(((g.square().sum(1) + 1e-12).sqrt() - 1).square().mean() for g in _input_grads(critic, x))
