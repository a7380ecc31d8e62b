"""dcgan3d: shapes for several clip sizes, per-seed latents, bad sizes rejected."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from vidgen.errors import ConfigError
from vidgen.models.gan.dcgan3d import DCGAN3D, DCGAN3DConfig, plan_stages
from vidgen.family import family_of
from vidgen.models.gan.training import GANObjective
from vidgen.models.gan.losses import d_nonsaturating, g_nonsaturating

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


def test_losses_match_their_definitions():
    real = torch.tensor([2.0, -1.0])
    fake = torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    expected_d = -torch.log(sig(real)).mean() - torch.log(1 - sig(fake)).mean()
    torch.testing.assert_close(d_nonsaturating(real, fake), expected_d)
    torch.testing.assert_close(g_nonsaturating(fake), -torch.log(sig(fake)).mean())


def test_options_config_inherits_the_shared_gan_options():
    from vidgen.models.gan.common import GANOptions

    cfg = DCGAN3DConfig(spectral_norm=True, conditional=True)
    assert isinstance(cfg, GANOptions) and cfg.spectral_norm and cfg.conditional
    # the training options are the family's objective, not the model's (exports do not carry them)
    assert not {"loss", "r1_gamma", "diffaugment"} & {f.name for f in dataclasses.fields(cfg)}
    with pytest.raises(ConfigError, match="embed_dim"):
        DCGAN3DConfig(embed_dim=0)


def _conditional(**kw) -> DCGAN3D:
    torch.manual_seed(0)
    cfg = DCGAN3DConfig(z_dim=8, g_channels=4, d_channels=4, max_channels=16, conditional=True, embed_dim=6, **kw)
    return DCGAN3D(config=cfg, frames=4, resolution=8, channels=3, num_classes=3).eval()


def test_conditional_generator_depends_on_the_label():
    model = _conditional()
    assert model.num_classes == 3
    z = torch.randn(1, 8).expand(3, 8)
    video = model.generator(z, torch.tensor([0, 1, 2]))
    assert video.shape == (3, 4, 3, 8, 8)
    assert not torch.allclose(video[0], video[1]) and not torch.allclose(video[1], video[2])
    torch.testing.assert_close(model.generator(z[:1], torch.tensor([1])), video[1:2])
    with pytest.raises(ConfigError, match="class-conditional"):
        model.generator(z)


def test_projection_discriminator_uses_the_label():
    model = _conditional()
    video = torch.rand(1, 4, 3, 8, 8).expand(3, -1, -1, -1, -1) * 2 - 1
    logits = model.discriminator(video, torch.tensor([0, 1, 2]))
    assert logits.shape == (3,) and len(set(logits.tolist())) == 3
    # logit = unconditional head + <embed(y), sum-pooled features>: the difference between two
    # labels is the projection onto the difference of their embeddings
    D = model.discriminator
    h = D.features(video[:1].transpose(1, 2)).sum(dim=(2, 3, 4))[0]
    torch.testing.assert_close(logits[1] - logits[0], h @ (D.embed.weight[1] - D.embed.weight[0]))


def test_auxiliary_class_head_reads_the_clip_not_the_label():
    model = _conditional(aux_class=1.0)
    video = torch.rand(2, 4, 3, 8, 8) * 2 - 1
    logits, classes = model.discriminator(video, torch.tensor([0, 1]), classes=True)
    assert logits.shape == (2,) and classes.shape == (2, 3)
    torch.testing.assert_close(logits, model.discriminator(video, torch.tensor([0, 1])))
    torch.testing.assert_close(classes, model.discriminator(video, torch.tensor([2, 2]), classes=True)[1])
    h = model.discriminator.features(video.transpose(1, 2)).sum(dim=(2, 3, 4))
    torch.testing.assert_close(classes, model.discriminator.classifier(h))  # linear on sum-pooled features
    with pytest.raises(ConfigError, match="aux_class"):
        _conditional().discriminator(video, torch.tensor([0, 1]), classes=True)


def test_conditional_needs_a_labelled_dataset():
    cfg = DCGAN3DConfig(z_dim=8, g_channels=4, d_channels=4, conditional=True)
    with pytest.raises(ConfigError, match="at least 2 classes"):
        DCGAN3D(config=cfg, frames=4, resolution=8, channels=3, num_classes=1)
    unconditional = DCGAN3D(config=TINY, frames=4, resolution=8, channels=3, num_classes=5)
    assert unconditional.num_classes == 0 and unconditional.generator.embed is None


def _norms(module) -> list:
    return [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


@pytest.mark.parametrize("option", [{"spectral_norm": True}, {"loss": "wgan-gp"}])
def test_spectral_norm_and_wgan_gp_drop_batchnorm_in_the_discriminator(option):
    objective = GANObjective(**{k: v for k, v in option.items() if k == "loss"})
    cfg = DCGAN3DConfig(z_dim=8, g_channels=4, d_channels=4, max_channels=16,
                        **{k: v for k, v in option.items() if k != "loss"})
    family_of(cfg).check(cfg, objective)  # the family settles what the objective decides of the model
    model = DCGAN3D(config=cfg, frames=4, resolution=16, channels=3)
    assert _norms(DCGAN3D(config=TINY, frames=4, resolution=16, channels=3).discriminator)
    assert not _norms(model.discriminator) and _norms(model.generator)
    parametrized = [m for m in model.discriminator.modules() if hasattr(m, "parametrizations")]
    convs = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv3d)]
    assert len(parametrized) == (len(convs) if cfg.spectral_norm else 0)


def test_spectral_norm_covers_the_projection_embedding():
    model = _conditional(spectral_norm=True)
    assert hasattr(model.discriminator.embed, "parametrizations")
    assert not any(hasattr(m, "parametrizations") for m in model.generator.modules())


def test_fixed_length_generator_refuses_other_lengths():
    model = DCGAN3D(config=TINY, frames=4, resolution=8, channels=3)
    assert model.any_length is False
    z = torch.randn(2, TINY.z_dim)
    assert model.generator(z, frames=4).shape[1] == 4
    with pytest.raises(ConfigError, match="training length") as e:
        model.generator(z, frames=8)
    from vidgen.models.gan.common import any_length_models

    assert all(name in e.value.hint for name in any_length_models())


@pytest.mark.parametrize("conditional", [False, True])
def test_two_stream_generator(conditional):
    torch.manual_seed(0)
    cfg = DCGAN3DConfig(z_dim=8, g_channels=4, d_channels=4, max_channels=16, two_stream=True,
                        conditional=conditional)
    model = DCGAN3D(config=cfg, frames=8, resolution=16, channels=3, num_classes=2)
    label = torch.tensor([0, 1]) if conditional else None
    z = torch.randn(2, 8)
    video = model.generator(z, label)
    assert video.shape == (2, 8, 3, 16, 16) and video.min() >= -1 and video.max() <= 1
    model.eval()
    fg, mask, bg = model.generator.streams(z, label)
    assert fg.shape == (2, 8, 3, 16, 16) and mask.shape == (2, 8, 1, 16, 16) and bg.shape == (2, 3, 16, 16)
    assert mask.min() > 0 and mask.max() < 1
    torch.testing.assert_close(model.generator(z, label), mask * fg + (1 - mask) * bg[:, None])
    g_nonsaturating(model.discriminator(model.generator(z, label), label)).backward()
    assert all(p.grad is not None for p in model.generator.background.parameters())
    with pytest.raises(ConfigError, match="two_stream"):
        DCGAN3D(config=TINY, frames=4, resolution=8, channels=3).generator.streams(z)
