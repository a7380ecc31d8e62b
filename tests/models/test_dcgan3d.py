"""dcgan3d: shapes for several clip sizes, per-seed latents, bad sizes rejected."""

from __future__ import annotations

import pytest
import torch

from vidgen.errors import ConfigError
from vidgen.models.gan.dcgan3d import DCGAN3D, DCGAN3DConfig, plan_stages
from vidgen.models.gan.losses import d_nonsaturating, g_nonsaturating
from vidgen.models.gan.sampling import generate

TINY = DCGAN3DConfig(z_dim=8, g_channels=4, d_channels=4, max_channels=16)


@pytest.mark.parametrize("frames, resolution, channels", [(4, 8, 3), (16, 32, 3), (10, 16, 1), (8, 64, 3), (1, 16, 3)])
def test_forward_shapes(frames, resolution, channels):
    torch.manual_seed(0)
    model = DCGAN3D(config=TINY, frames=frames, resolution=resolution, channels=channels)
    z = torch.randn(2, TINY.z_dim)
    video = model.generator(z)
    assert video.shape == (2, frames, channels, resolution, resolution)
    assert video.min() >= -1 and video.max() <= 1
    logits = model.discriminator(video)
    assert logits.shape == (2,)
    # gradients reach every generator weight through the discriminator
    g_nonsaturating(logits).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.generator.parameters())


def test_plan_stages():
    assert plan_stages(16, 64) == (4, 4)
    assert plan_stages(16, 32) == (3, 3)
    assert plan_stages(10, 32) == (3, 1)
    with pytest.raises(ConfigError, match="power of two"):
        plan_stages(16, 48)


def test_bad_config_values():
    with pytest.raises(ConfigError, match="z_dim"):
        DCGAN3DConfig(z_dim=0)


def test_latents_depend_on_the_seed_alone():
    model = DCGAN3D(config=TINY, frames=4, resolution=8, channels=3)
    a = model.latents([3, 4, 5])
    b = model.latents([5])
    assert torch.equal(a[2], b[0])
    assert not torch.equal(a[0], a[1])


def test_samples_do_not_depend_on_batch_size():
    torch.manual_seed(0)
    model = DCGAN3D(config=TINY, frames=4, resolution=8, channels=3)
    z = model.latents(list(range(6)))
    one = generate(model.generator, z, batch_size=1)
    six = generate(model.generator, z, batch_size=6)
    torch.testing.assert_close(one, six, atol=1e-5, rtol=1e-5)
    assert model.generator.training  # generate() restores the mode it found


def test_losses_match_their_definitions():
    real = torch.tensor([2.0, -1.0])
    fake = torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    expected_d = -torch.log(sig(real)).mean() - torch.log(1 - sig(fake)).mean()
    torch.testing.assert_close(d_nonsaturating(real, fake), expected_d)
    torch.testing.assert_close(g_nonsaturating(fake), -torch.log(sig(fake)).mean())
