"""What every GAN architecture shares: options, spectral normalisation, class and length checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidgen.errors import ConfigError
from vidgen.models.gan.common import GANOptions, any_length_models, apply_spectral_norm, check_frames, class_count


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
        GANOptions(gp_gamma=-1)
    with pytest.raises(ConfigError, match="r1_interval"):
        GANOptions(r1_interval=0)
    with pytest.raises(ConfigError, match="diffaugment"):
        GANOptions(diffaugment="flip")


def test_conditional_needs_two_classes():
    assert class_count("x", GANOptions(), 5) == 0
    assert class_count("x", GANOptions(conditional=True), 5) == 5
    for n in (0, 1):
        with pytest.raises(ConfigError, match="at least 2 classes"):
            class_count("x", GANOptions(conditional=True), n)


def test_fixed_length_generators_name_the_models_that_take_any_length():
    check_frames("x", None, 8)
    check_frames("x", 8, 8)
    with pytest.raises(ConfigError, match="training length") as e:
        check_frames("x", 12, 8)
    assert "dcgan3d" not in any_length_models()
    for name in any_length_models():
        assert name in e.value.hint
