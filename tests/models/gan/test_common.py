"""What every GAN architecture shares: options, spectral normalisation, class and length checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidgen.errors import ConfigError
from vidgen.models.gan.common import (
    GANOptions,
    any_length_models,
    apply_spectral_norm,
    check_frames,
    class_count,
    projection_classes,
    to_pixels,
)
from vidgen.models.gan.training import GANObjective
from vidgen.registry import MODELS


def _top_singular_values(module: nn.Module) -> list[float]:
    out = []
    for m in module.modules():
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear, nn.Embedding)):
            w = m.weight.detach()
            out.append(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item())
    return out


def test_spectral_norm_bounds_the_top_singular_value():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv3d(3, 8, 3), nn.LeakyReLU(0.2), nn.Conv3d(8, 16, 3), nn.Flatten(), nn.Linear(16, 4))
    emb = nn.Embedding(5, 16)
    for m in (*net.modules(), emb):
        if hasattr(m, "weight") and m.weight is not None and m.weight.dim() > 1:
            nn.init.normal_(m.weight, 0.0, 3.0)  # far from 1-Lipschitz
    assert min(_top_singular_values(net)) > 5
    apply_spectral_norm(net)
    apply_spectral_norm(emb)
    apply_spectral_norm(net)  # twice is harmless
    x = torch.randn(2, 3, 5, 5, 5)
    for _ in range(30):  # one power iteration per forward pass in training mode
        net(x)
        emb(torch.tensor([0, 1]))
    for sigma in _top_singular_values(net) + _top_singular_values(emb):
        assert sigma == pytest.approx(1.0, abs=0.02)
    assert all("original" in name or "bias" in name for name, _ in net.named_parameters())


def test_options_are_validated():
    with pytest.raises(ConfigError, match="gp_gamma"):
        GANObjective(gp_gamma=-1)
    with pytest.raises(ConfigError, match="r1_interval"):
        GANObjective(r1_interval=0)
    with pytest.raises(ConfigError, match="diffaugment"):
        GANObjective(diffaugment="flip")


def test_conditional_needs_two_classes():
    assert class_count("x", GANOptions(), 5) == 0
    assert class_count("x", GANOptions(conditional=True), 5) == 5
    for n in (0, 1):
        with pytest.raises(ConfigError, match="at least 2 classes"):
            class_count("x", GANOptions(conditional=True), n)


def test_info_classes_are_validated_and_need_no_labelled_dataset():
    assert class_count("x", GANOptions(info_classes=4), 0) == 4  # the generator's categories, whatever the data
    assert projection_classes(GANOptions(info_classes=4), 4) == 0  # ... which the discriminator never reads
    assert projection_classes(GANOptions(conditional=True), 3) == 3
    for bad in (-1, 1):
        with pytest.raises(ConfigError, match="info_classes"):
            GANOptions(info_classes=bad)
    with pytest.raises(ConfigError, match="info_classes") as e:
        GANOptions(info_classes=3, conditional=True)
    assert "conditional=false" in e.value.hint
    with pytest.raises(ConfigError, match="info_weight"):
        GANObjective(info_weight=-1.0)


def test_fixed_length_generators_name_the_models_that_take_any_length():
    check_frames("x", None, 8)
    check_frames("x", 8, 8)
    with pytest.raises(ConfigError, match="training length") as e:
        check_frames("x", 12, 8)
    assert "dcgan3d" not in any_length_models()
    for name in any_length_models():
        assert name in e.value.hint


def test_to_pixels_is_tanh_or_the_identity_clamped_when_sampling():
    x = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.7, 2.5])
    torch.testing.assert_close(to_pixels(x, "tanh", True), torch.tanh(x))
    torch.testing.assert_close(to_pixels(x, "tanh", False), torch.tanh(x))
    assert to_pixels(x, "linear", True) is x  # training: the discriminator sees what was made
    torch.testing.assert_close(to_pixels(x, "linear", False), torch.tensor([-1.0, -1.0, -0.5, 0.0, 0.7, 1.0]))


def _tiny_gan(name: str, **options) -> nn.Module:
    from vidgen.models.gan.dcgan3d import DCGAN3DConfig
    from vidgen.models.gan.mocogan import MoCoGANConfig
    from vidgen.models.gan.styleganv import StyleGANVConfig

    configs = {
        "dcgan3d": lambda: DCGAN3DConfig(z_dim=8, g_channels=4, d_channels=4, max_channels=16, **options),
        "mocogan": lambda: MoCoGANConfig(content_dim=6, motion_dim=4, noise_dim=3, g_channels=4, d_channels=4,
                                         max_channels=16, **options),
        "styleganv": lambda: StyleGANVConfig(content_dim=6, w_dim=8, motion_dim=4, motion_spacing=2, time_freqs=3,
                                             g_channels=4, d_channels=4, max_channels=16, **options),
    }
    torch.manual_seed(0)
    return MODELS.get(name).obj(config=configs[name](), frames=4, resolution=16, channels=3)


@pytest.mark.parametrize("name, options", [("dcgan3d", {}), ("dcgan3d", {"two_stream": True}), ("mocogan", {}),
                                           ("mocogan", {"content_norm": True}), ("styleganv", {})])
def test_linear_output_is_the_tanh_generators_pre_activation(name, options):
    tanh, linear = _tiny_gan(name, **options), _tiny_gan(name, g_output="linear", **options)
    assert tanh.state_dict().keys() == linear.state_dict().keys()  # the same weights: an activation, no layer
    z = torch.randn(3, tanh.z_dim, generator=torch.Generator().manual_seed(1))
    if options.get("two_stream"):  # the streams carry the output activation; the mask blends them
        for mode in (True, False):
            tanh.generator.train(mode), linear.generator.train(mode)
            for a, b in zip(tanh.generator.streams(z)[::2], linear.generator.streams(z)[::2]):
                bound = b.abs() < 1 if not mode else torch.ones_like(b, dtype=torch.bool)
                torch.testing.assert_close(a[bound], torch.tanh(b[bound]), atol=1e-5, rtol=1e-4)
        return
    with torch.no_grad():
        for p in linear.generator.parameters():  # larger weights: pre-activations well past +-1
            p.mul_(3.0)
        for p in tanh.generator.parameters():
            p.mul_(3.0)
    for net in (tanh, linear):
        for m in net.generator.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.momentum = None  # running statistics = this batch's, so eval mode sees the same scale
                m.reset_running_stats()
    tanh.generator.train(), linear.generator.train()
    made = linear.generator(z)
    assert made.abs().max() > 1.0  # unbounded while training
    torch.testing.assert_close(tanh.generator(z), torch.tanh(made), atol=1e-5, rtol=1e-4)
    tanh.generator.eval(), linear.generator.eval()
    sampled = linear.generator(z)
    assert sampled.min() >= -1.0 and sampled.max() <= 1.0 and (sampled.abs() == 1.0).any()  # clamped
    inside = sampled.abs() < 1.0
    torch.testing.assert_close(tanh.generator(z)[inside], torch.tanh(sampled[inside]), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["dcgan3d", "mocogan", "styleganv"])
def test_info_gan_generator_reads_its_category_and_the_discriminator_predicts_it_without_labels(name):
    """model.info_classes: a category steers the generator; the discriminator has a K-way head, no projection."""
    model = _tiny_gan(name, info_classes=3)
    assert model.num_classes == 3  # built on a dataset without classes (num_classes=0)
    z = torch.randn(2, model.z_dim, generator=torch.Generator().manual_seed(1))
    G, D = model.generator.eval(), model.discriminator.eval()
    with torch.no_grad():
        clips = [G(z, torch.full((2,), k)) for k in range(3)]
    assert clips[0].shape == (2, 4, 3, 16, 16)
    assert (clips[0] - clips[1]).abs().max() > 1e-3 and (clips[1] - clips[2]).abs().max() > 1e-3
    with pytest.raises(ConfigError, match="label"):
        G(z)  # a category is required, as a class is
    assert not any(isinstance(m, nn.Embedding) for m in D.modules())  # no projection term
    with torch.no_grad():
        torch.manual_seed(2)  # the same frames for mocogan's image discriminator in both calls
        logits = D(clips[0])  # no label
        torch.manual_seed(2)
        again, classes = D(clips[0], classes=True)
    for a, b in zip(*(x if isinstance(x, list) else [x] for x in (logits, again))):
        torch.testing.assert_close(a, b)
    heads = classes if isinstance(classes, list) else [classes]
    assert all(h.shape[-1] == 3 for h in heads)
    assert heads[0].shape[0] == 2  # one row per clip (per frame for mocogan's image discriminator)
