"""vae3d and the ELBO terms: shapes, gradients, the KL in closed form, learning, the CVAE, per-seed latents.

Every model is tiny (widths of 4-8 channels, 8-32 pixel clips) so the file runs in seconds.
"""

from __future__ import annotations

import math

import pytest
import torch
from helpers import build, clips

from vidgen.errors import ConfigError
from vidgen.models import build_model
from vidgen.models.vae.losses import gaussian_kl, reconstruction_loss, reparameterize
from vidgen.models.vae.vae3d import VAE3D, VAE3DConfig
from vidgen.models.vae.training import VAEObjective
from vidgen.registry import MODELS

TINY = dict(z_dim=8, width=4, max_channels=16, embed_dim=4)



def tiny(*, frames: int = 4, resolution: int = 8, channels: int = 1, num_classes: int = 0, **options) -> VAE3D:
    return build(VAE3D, VAE3DConfig, TINY, frames=frames, resolution=resolution, channels=channels,
                 num_classes=num_classes, **options)


def test_registered_in_the_vae_family_with_the_default_config():
    entry = MODELS.get("vae3d")
    assert entry.obj is VAE3D and entry.config is VAE3DConfig and entry.meta["family"] == "vae"
    model = build_model(VAE3DConfig(), frames=16, resolution=32, channels=3)
    assert model.z_dim == 256 and model.num_classes == 0 and model.default_beta == 1.0


@pytest.mark.parametrize("frames, resolution, channels", [(4, 8, 1), (8, 16, 3), (5, 32, 1), (1, 16, 3), (12, 16, 1)])
def test_shapes_and_range(frames, resolution, channels):
    model = tiny(frames=frames, resolution=resolution, channels=channels)
    video = clips(2, frames, channels, resolution)
    mu, logvar = model.encode(video)
    assert mu.shape == logvar.shape == (2, 8)
    out = model.decode(mu)
    assert out.shape == video.shape and out.min() >= -1 and out.max() <= 1
    assert model(mu).shape == video.shape  # forward is the generative direction
    assert model.reconstruct(video).shape == video.shape
    terms = model.loss_terms(video, None, torch.Generator().manual_seed(0))
    assert {"recon", "kl", "mse", "logvar"} <= set(terms) and all(v.dim() == 0 for v in terms.values())


def test_wrong_clip_shape_is_a_clear_error():
    model = tiny()
    with pytest.raises(ValueError, match=r"\[B, 4, 1, 8, 8\]"):
        model.encode(clips(2, 5, 1, 8))


@pytest.mark.parametrize("recon", ["mse", "l1", "bce"])
def test_gradients_reach_every_parameter(recon):
    model = tiny(num_classes=3, conditional=True, recon=recon)
    terms = model.loss_terms(clips(3, 4, 1, 8), torch.tensor([0, 1, 2]), torch.Generator().manual_seed(0))
    (terms["recon"] + terms["kl"]).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_kl_to_the_standard_normal_in_closed_form():
    zeros = torch.zeros(4, 6)
    assert gaussian_kl(zeros, zeros).item() == 0.0
    # mu = (1, 2) and (0, 0), unit variance: 0.5 * |mu|^2 per clip -> mean of 2.5 and 0
    mu = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    assert gaussian_kl(mu, torch.zeros(2, 2)).item() == pytest.approx(1.25)
    # mu = 0, variance 2 in each of 3 dims: 3 * 0.5 * (2 - 1 - log 2)
    logvar = torch.full((1, 3), math.log(2.0))
    assert gaussian_kl(torch.zeros(1, 3), logvar).item() == pytest.approx(1.5 * (1 - math.log(2.0)), rel=1e-6)
    # grows with |mu|, whatever the sign
    kls = [gaussian_kl(torch.full((2, 5), a), torch.zeros(2, 5)).item() for a in (0.0, 0.5, -1.0, 2.0)]
    assert kls == sorted(kls) and kls[2] == pytest.approx(2.5)


def test_reparameterize_is_seeded_and_has_the_right_moments():
    mu, logvar = torch.full((20000, 1), 3.0), torch.full((20000, 1), math.log(4.0))
    a = reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    assert torch.equal(a, reparameterize(mu, logvar, torch.Generator().manual_seed(1)))
    assert a.mean().item() == pytest.approx(3.0, abs=0.05) and a.std().item() == pytest.approx(2.0, abs=0.05)


def test_reconstruction_terms_are_zero_at_a_perfect_fit():
    target = torch.tensor([[-0.5, 0.0, 0.5]])
    logits = torch.atanh(target)
    for kind in ("mse", "l1"):
        assert reconstruction_loss(kind, logits, target).item() == pytest.approx(0.0, abs=1e-6)
        assert reconstruction_loss(kind, logits + 1, target).item() > 0.1
    # Bernoulli: the cross-entropy of binary pixels vanishes for confident correct logits
    binary = torch.tensor([[-1.0, 1.0]])
    assert reconstruction_loss("bce", binary * 20, binary).item() < 1e-6
    with pytest.raises(ValueError, match="unknown reconstruction"):
        reconstruction_loss("huber", logits, target)


def test_reconstruction_falls_on_a_few_fixed_clips():
    model = tiny(z_dim=4, width=8)
    data = clips(4, 4, 1, 8, seed=3).sign() * 0.8  # a few fixed, sharp clips
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = []
    for step in range(100):
        terms = model.loss_terms(data, None, torch.Generator().manual_seed(step))
        opt.zero_grad()
        (terms["recon"] + terms["kl"]).backward()
        opt.step()
        history.append(terms["recon"].item())
    first, last = sum(history[:5]) / 5, sum(history[-5:]) / 5
    assert last < 0.5 * first, (first, last)


def test_the_cvae_decodes_differently_per_class():
    model = tiny(num_classes=3, conditional=True).eval()
    assert model.num_classes == 3
    z = model.latents([0, 0, 0])
    out = model.decode(z, torch.tensor([0, 1, 2]))
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[1], out[2])
    mu_a, _ = model.encode(clips(1, 4, 1, 8), torch.tensor([0]))
    mu_b, _ = model.encode(clips(1, 4, 1, 8), torch.tensor([2]))
    assert not torch.allclose(mu_a, mu_b)
    with pytest.raises(ValueError, match="pass label"):
        model.decode(z)


def test_conditional_without_classes_is_a_config_error():
    with pytest.raises(ConfigError, match="class labels"):
        tiny(conditional=True, num_classes=0)
    # an unconditional model ignores labels
    model = tiny(num_classes=5)
    assert model.num_classes == 0 and model.embed is None


def test_latents_and_samples_are_per_seed_whatever_the_batch():
    model = tiny().eval()
    batch = model.latents([3, 5, 7])
    assert batch.shape == (3, 8)
    assert torch.equal(batch[1], model.latents([5])[0])
    assert not torch.equal(batch[0], batch[1])
    # GroupNorm: a decoded clip depends on its own latent only, in train mode too
    model.train()
    assert torch.allclose(model.decode(batch)[1], model.decode(batch[1:2])[0], atol=1e-6)


@pytest.mark.parametrize("options, key", [
    (dict(z_dim=0), "z_dim"), (dict(width=-1), "width"), (dict(beta=-0.5), "beta"),
    (dict(kl_warmup_kimg=-1.0), "kl_warmup_kimg"), (dict(recon="huber"), "recon"), (dict(norm="batch"), "norm"),
])
def test_bad_config_values(options, key):
    with pytest.raises(ConfigError, match=key):
        (VAEObjective if {"beta", "kl_warmup_kimg"} & set(options) else VAE3DConfig)(**options)


def test_bad_resolution_names_the_model():
    with pytest.raises(ConfigError, match="vae3d needs a resolution"):
        tiny(resolution=24)
