"""Sampling a GAN through the API: per-seed clips (with labels and truncation), interpolation, lengths."""

from __future__ import annotations

import pytest
import torch

import vidgen
from vidgen import config as cfgmod
from vidgen.api import VideoGenerator
from vidgen.errors import VidgenError
from vidgen.io.checkpoint import save_export
from vidgen.models import build_model
from vidgen.models.gan.dcgan3d import DCGAN3DConfig
from vidgen.models.gan.sampling import generate, slerp, truncate

CLASSES = ["circle", "square", "triangle"]
VIDEO = {"frames": 4, "resolution": 8, "channels": 3, "fps": 8}


def _export(directory, **options) -> str:
    """An untrained dcgan3d export (conditional on 3 classes by default), as the engine writes one."""
    torch.manual_seed(0)
    config = DCGAN3DConfig(z_dim=8, g_channels=4, d_channels=4, max_channels=16, **options)
    classes = CLASSES if config.conditional else []
    model = build_model(config, frames=4, resolution=8, channels=3, num_classes=len(classes))
    with torch.no_grad():  # BatchNorm statistics that are not the identity, as after training
        for m in model.generator.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    state = {f"generator.{k}": v for k, v in model.generator.state_dict().items()}
    save_export(directory, state, {"family": "gan", "model": {"name": "dcgan3d", **cfgmod.to_dict(config)},
                                   "video": VIDEO, "class_names": classes})
    return str(directory)


@pytest.fixture(scope="module")
def cond(tmp_path_factory) -> VideoGenerator:
    return vidgen.load(_export(tmp_path_factory.mktemp("cond"), conditional=True, two_stream=True))


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> VideoGenerator:
    return vidgen.load(_export(tmp_path_factory.mktemp("plain")))


def test_loaded_generator_knows_its_classes(cond, plain):
    assert cond.num_classes == 3 and cond.class_names == CLASSES and cond.z_dim == 8 and not cond.any_length
    assert plain.num_classes == 0 and "3 classes" in repr(cond)


def test_a_clip_depends_on_its_seed_label_and_truncation_alone(cond):
    for kw in ({}, {"label": 2}, {"truncation": 0.5}, {"label": [0, 1, 2, 0, 1], "truncation": 0.7}):
        five = cond.sample(5, seed=10, batch_size=2, **kw)
        assert five.shape == (5, 4, 3, 8, 8)
        label = kw.get("label")
        for i in (0, 3):
            one_label = label[i] if isinstance(label, list) else label
            one = cond.sample(1, seed=10 + i, batch_size=1, label=one_label,
                              truncation=kw.get("truncation", 1.0))
            torch.testing.assert_close(one[0], five[i], atol=1e-5, rtol=1e-5)
    # default classes: the clip of seed s is class s mod 3
    torch.testing.assert_close(cond.sample(3, seed=4), cond.sample(3, seed=4, label=[1, 2, 0]))
    assert not torch.allclose(cond.sample(1, seed=4, label=0), cond.sample(1, seed=4, label=1))


def test_truncation_pulls_toward_the_mean(cond, plain):
    assert torch.equal(truncate(torch.ones(2, 3), 0.5), torch.full((2, 3), 0.5))
    for gen, kw in ((plain, {}), (cond, {"label": 1})):
        mean = gen.sample(4, seed=0, truncation=0.0, **kw)  # psi = 0: every seed gives the same clip
        torch.testing.assert_close(mean, mean[:1].expand_as(mean))
        full, half = gen.sample(4, seed=0, **kw), gen.sample(4, seed=0, truncation=0.5, **kw)
        assert (half - mean).abs().mean() < (full - mean).abs().mean()


def test_bad_labels_and_truncation_are_refused(cond, plain):
    with pytest.raises(VidgenError, match="unconditional"):
        plain.sample(2, label=0)
    with pytest.raises(VidgenError, match=r"a class in \[0, 3\)"):
        cond.sample(2, label=3)
    with pytest.raises(VidgenError, match=r"one per clip \(2\)"):
        cond.sample(2, label=[0, 1, 2])
    with pytest.raises(VidgenError, match="truncation"):
        cond.sample(2, truncation=-0.5)
    with pytest.raises(VidgenError, match="training length"):
        plain.sample(2, frames=8)
    assert plain.sample(2, frames=4).shape[1] == 4


def test_interpolation_ends_on_the_seed_samples(cond, plain):
    walk = plain.interpolate(3, 11, steps=5, batch_size=2)
    assert walk.shape == (5, 4, 3, 8, 8)
    torch.testing.assert_close(walk[0], plain.sample(1, seed=3)[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(walk[-1], plain.sample(1, seed=11)[0], atol=1e-5, rtol=1e-5)
    walk = cond.interpolate(3, 11, steps=4, label=2, truncation=0.7)
    torch.testing.assert_close(walk[-1], cond.sample(1, seed=11, label=2, truncation=0.7)[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(cond.interpolate(3, 11, steps=3)[0], cond.sample(1, seed=3)[0], atol=1e-5, rtol=1e-5)
    assert plain.interpolate(3, 11, steps=1).shape[0] == 1
    with pytest.raises(VidgenError, match="steps"):
        plain.interpolate(0, 1, steps=0)


def test_slerp_keeps_the_norm_of_gaussian_latents():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(512, generator=gen), torch.randn(512, generator=gen)
    z = slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.equal(z[0], a) and torch.equal(z[-1], b)
    assert (z.norm(dim=1) - 512**0.5).abs().max() < 2.5  # a straight line's middle is ~ sqrt(256) = 16
    assert ((a + b) / 2).norm() < 17
    torch.testing.assert_close(slerp(a, a, torch.tensor([0.3]))[0], a)  # parallel: the straight line


def test_generate_passes_labels_in_batches():
    torch.manual_seed(0)
    cfg = DCGAN3DConfig(z_dim=8, g_channels=4, d_channels=4, max_channels=16, conditional=True)
    model = build_model(cfg, frames=4, resolution=8, channels=3, num_classes=3)
    z, y = torch.randn(5, 8), torch.tensor([0, 1, 2, 1, 0])
    torch.testing.assert_close(generate(model.generator, z, labels=y, batch_size=2),
                               generate(model.generator, z, labels=y, batch_size=5), atol=1e-5, rtol=1e-5)


def test_generate_restores_the_mode_it_found(plain):
    """Batch-size independence is checked for every generator by tests/test_contract.py; generate()
    runs in eval mode for it and gives the module back as it found it."""
    G = plain.model.generator
    G.train()
    generate(G, plain.model.latents([0, 1]), batch_size=1)
    assert G.training
    G.eval()
    generate(G, plain.model.latents([0, 1]), batch_size=1)
    assert not G.training
