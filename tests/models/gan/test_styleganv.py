"""styleganv: shapes, continuous time and any clip length, per-seed sampling, a discriminator of k frames
and their gaps, conditioning, config errors, and a tiny model that learns a tiny problem through the engine."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import build, clips
from torch import nn

from vidgen import config as cfgmod
from vidgen.errors import ConfigError
from vidgen.models import build_model
from vidgen.models.gan.common import any_length_models
from vidgen.models.gan.losses import d_loss, g_loss
from vidgen.models.gan.sampling import generate
from vidgen.models.gan.styleganv import ModulatedConv, StyleGANV, StyleGANVConfig, motion_codes_needed, plan_stages
from vidgen.registry import MODELS
from vidgen.train.config import ExperimentConfig
from vidgen.train.loop import Trainer

TINY = dict(content_dim=6, w_dim=8, motion_dim=4, motion_spacing=2, time_freqs=3, embed_dim=4, g_channels=4,
            d_channels=4, max_channels=16)


def tiny(frames: int = 8, resolution: int = 16, channels: int = 3, num_classes: int = 0, **options) -> StyleGANV:
    return build(StyleGANV, StyleGANVConfig, TINY, frames=frames, resolution=resolution, channels=channels,
                 num_classes=num_classes, **options)


def test_registered_in_the_gan_family_with_the_default_config():
    entry = MODELS.get("styleganv")
    assert entry.obj is StyleGANV and entry.config is StyleGANVConfig and entry.meta["family"] == "gan"
    model = build_model(StyleGANVConfig(), frames=16, resolution=64, channels=3)
    # 16 frames, a grid point every 4: frames 0..15 read grid points 0..4, the convolutions 4 codes more
    assert motion_codes_needed(15, 4, 3) == 9
    assert model.z_dim == 64 + 9 * 32 and model.num_classes == 0
    assert StyleGANV.any_length and "styleganv" in any_length_models()


@pytest.mark.parametrize("frames, resolution, channels, d_frames", [
    (8, 16, 3, 3), (16, 32, 3, 3), (16, 64, 3, 3), (5, 32, 1, 3), (4, 8, 3, 4), (1, 16, 3, 1)])
def test_forward_shapes(frames, resolution, channels, d_frames):
    model = tiny(frames, resolution, channels, d_frames=d_frames)
    video = model.generator(torch.randn(2, model.z_dim))
    assert video.shape == (2, frames, channels, resolution, resolution)
    assert video.min() >= -1 and video.max() <= 1
    assert model.discriminator(video).shape == (2,)
    model.eval()
    assert model.discriminator(video).shape == (2,)


def test_any_length_and_the_prefix_is_the_shorter_clip():
    model = tiny(frames=8).eval()
    assert model.generator.slots == motion_codes_needed(7, 2, 3) == 9
    z = model.latents([0, 1, 2])
    with torch.no_grad():
        short = model.generator(z)
        one = model.generator(z, frames=1)
        three = model.generator(z, frames=3)
        long = model.generator(z, frames=40)  # codes past the 9 in z come from a hash of z
        again = model.generator(z, frames=40)
        longer = model.generator(z, frames=200)  # a second block of hashed codes
    assert long.shape == (3, 40, 3, 16, 16) and one.shape == (3, 1, 3, 16, 16)
    torch.testing.assert_close(long[:, :8], short, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(one, short[:, :1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(three, short[:, :3], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(longer[:, :40], long, atol=1e-5, rtol=1e-5)
    assert torch.equal(long, again)
    assert (long[:, 8:] - long[:, 7:8]).abs().amax() > 0  # it keeps moving past the training length
    assert (longer[:, 150:] - longer[:, 149:150]).abs().amax() > 0
    with pytest.raises(ConfigError, match=">= 1 frame"):
        model.generator(z, frames=0)


def test_time_is_continuous():
    model = tiny(frames=8).eval()
    z = model.latents([4, 5])
    G = model.generator
    with torch.no_grad():
        torch.testing.assert_close(G.render(z, torch.arange(8.0)), G(z), atol=1e-6, rtol=0)
        # frames between the integer times, and across a grid point (t = 4, spacing 2)
        near = G.render(z, [3.999, 4.0, 4.001, 4.5])
        assert (near[:, 0] - near[:, 1]).abs().amax() < 0.02 and (near[:, 2] - near[:, 1]).abs().amax() < 0.02
        assert (near[:, 3] - near[:, 1]).abs().amax() > 0.02
        # the motion code: continuous at the grid points, where it is the aligner of the trajectory
        noise = G._codes(z, motion_codes_needed(6.0, 2, 3))
        v = G.motion(noise, torch.tensor([2.0 - 1e-4, 2.0, 2.0 + 1e-4, 3.0]))
        torch.testing.assert_close(v[:, 0], v[:, 1], atol=1e-2, rtol=0)
        torch.testing.assert_close(v[:, 2], v[:, 1], atol=1e-2, rtol=0)
        u = G.motion.trajectory(noise, None)
        torch.testing.assert_close(v[:, 1], G.motion.align(u[:, 1]), atol=1e-5, rtol=1e-5)
        assert not torch.allclose(v[:, 3], 0.5 * (G.motion.align(u[:, 1]) + G.motion.align(u[:, 2])))
    for bad in ([-1.0], [], [float("nan")]):
        with pytest.raises(ValueError, match="times"):
            G.render(z, bad)


def test_max_frames_carries_more_codes_in_z():
    model = tiny(frames=8, max_frames=12).eval()
    slots = motion_codes_needed(11, 2, 3)
    assert model.z_dim == 6 + slots * 4
    z = model.latents([3]).repeat(2, 1)
    z[1, -4:] += 1  # the last code: the trajectory's last grid point (12), read from t = 10 on
    with torch.no_grad():
        video = model.generator(z, frames=12)
    torch.testing.assert_close(video[0, :11], video[1, :11])
    assert not torch.allclose(video[0, 11], video[1, 11])


def test_latents_depend_on_the_seed_alone():
    model = tiny()
    a = model.latents([3, 4, 5])
    assert a.shape == (3, model.z_dim)
    assert torch.equal(a[2], model.latents([5])[0]) and not torch.equal(a[0], a[1])


def test_the_discriminator_picks_k_frames():
    model = tiny(frames=8, d_frames=3)
    D = model.discriminator
    torch.manual_seed(1)
    a = D.pick(64, 8)
    assert a.shape == (64, 3) and (a[:, 1:] > a[:, :-1]).all() and a.min() >= 0 and a.max() <= 7  # distinct, in order
    assert len({tuple(r) for r in a.tolist()}) > 10  # drawn per clip
    torch.manual_seed(1)
    assert torch.equal(D.pick(64, 8), a)  # torch's seed decides the frames
    video = clips(2, 8, 3, 16)
    torch.manual_seed(2)
    logits = D(video)
    torch.manual_seed(2)
    torch.testing.assert_close(D(video), logits)
    D.eval()  # an even spread, the same at every call
    assert D.pick(2, 8).tolist() == [[0, 4, 7]] * 2 and D.pick(1, 3).tolist() == [[0, 1, 2]]
    spread = torch.tensor([[0, 4, 7]] * 2)
    torch.testing.assert_close(D(video), D.score(video[:, [0, 4, 7]], spread))
    D.train()
    assert D.pick(2, 3).tolist() == [[0, 1, 2]] * 2  # exactly k frames: all of them
    with pytest.raises(ValueError, match="3 frames per clip"):
        D(clips(2, 2, 3, 16))


def test_the_discriminator_judges_the_gaps_between_the_frames():
    model = tiny(frames=8)
    D = model.discriminator.eval()
    frames = clips(1, 3, 3, 16).expand(2, -1, -1, -1, -1)
    logits = D.score(frames, torch.tensor([[0, 1, 2], [0, 3, 7]]))  # the same frames, further apart
    assert not torch.allclose(logits[0], logits[1])
    # only the gaps count, not where the frames start
    torch.testing.assert_close(D.score(frames[:1], torch.tensor([[2, 5, 9]])), logits[1:], atol=1e-5, rtol=1e-5)
    # a clip whose frames 0, 1, 3 are the frames 0, 2, 4 of another: the same frames, other gaps
    x = clips(1, 5, 3, 16)
    stretched = torch.stack([x[:, 0], x[:, 2], x[:, 2], x[:, 4], x[:, 4]], 1)
    a = D.score(stretched[:, [0, 1, 3]], torch.tensor([[0, 1, 3]]))
    b = D.score(x[:, [0, 2, 4]], torch.tensor([[0, 2, 4]]))
    assert not torch.allclose(a, b)


def test_upsampling_draws_no_checkerboard():
    """A flat input must come out flat from the 2x-up convolution (no period-2 lattice), away from the borders."""
    torch.manual_seed(0)
    conv = ModulatedConv(4, 3, 5, up=True)
    with torch.no_grad():
        conv.affine.weight.zero_()  # style 1 on every channel: the plain transposed convolution
    out = conv(torch.ones(2, 4, 8, 8), torch.zeros(2, 5))
    assert out.shape == (2, 3, 16, 16)
    inner = out[:, :, 2:-2, 2:-2]
    assert (inner - inner.mean(dim=(2, 3), keepdim=True)).abs().max() < 1e-5
    # the unfiltered transposed convolution alone would not be flat: its four phases differ
    raw = nn.functional.conv_transpose2d(torch.ones(1, 4, 8, 8), conv.weight, stride=2, padding=1)[:, :, 2:-2, 2:-2]
    assert (raw - raw.mean(dim=(2, 3), keepdim=True)).abs().max() > 1e-2


def test_gradients_reach_every_weight():
    model = tiny(frames=8, num_classes=2, conditional=True)
    model.discriminator.eval()  # frames 0, 4, 7: one between grid points, so the sinusoids' weights matter
    label = torch.tensor([0, 1, 1])
    fake = model.generator(torch.randn(3, model.z_dim), label)
    fake_logits = model.discriminator(fake, label)
    real_logits = model.discriminator(clips(3, 8, 3, 16), label)
    d_loss("nonsaturating", real_logits, fake_logits).backward(retain_graph=True)
    grads = {n: p.grad for n, p in model.discriminator.named_parameters()}
    assert all(g is not None and g.abs().sum() > 0 for g in grads.values()), [n for n, g in grads.items()
                                                                               if g is None or g.abs().sum() == 0]
    model.zero_grad()
    g_loss("nonsaturating", fake_logits).backward()
    grads = {n: p.grad for n, p in model.generator.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads.values()), \
        [n for n, g in grads.items() if g is None or g.abs().sum() == 0]


def test_conditional_outputs_depend_on_the_label():
    model = tiny(frames=4, num_classes=3, conditional=True).eval()
    assert model.num_classes == 3
    z = model.latents([0, 0])
    with torch.no_grad():
        video = model.generator(z, torch.tensor([0, 2]))
        assert not torch.allclose(video[0], video[1])
        torch.testing.assert_close(model.generator(z[:1], torch.tensor([2])), video[1:])
        real = clips(1, 4, 3, 16).expand(2, -1, -1, -1, -1)
        logits = model.discriminator(real, torch.tensor([0, 2]))
    assert not torch.allclose(logits[0], logits[1])
    with pytest.raises(ConfigError, match="class-conditional"):
        model.generator(z)
    with pytest.raises(ConfigError, match="class-conditional"):
        model.discriminator(real)
    with pytest.raises(ConfigError, match="at least 2 classes"):
        tiny(num_classes=0, conditional=True)
    unconditional = tiny(num_classes=5)  # the labels are ignored
    assert unconditional.num_classes == 0 and unconditional.generator.embed is None


def test_auxiliary_class_head():
    model = tiny(frames=4, num_classes=3, conditional=True, aux_class=1.0).eval()
    real = clips(2, 4, 3, 16)
    with torch.no_grad():
        logits, classes = model.discriminator(real, torch.tensor([0, 2]), classes=True)
        assert logits.shape == (2,) and classes.shape == (2, 3)
        torch.testing.assert_close(logits, model.discriminator(real, torch.tensor([0, 2])))
        torch.testing.assert_close(classes, model.discriminator(real, torch.tensor([1, 1]), classes=True)[1])
    with pytest.raises(ConfigError, match="aux_class"):
        tiny(frames=4, num_classes=3, conditional=True).discriminator(real, torch.tensor([0, 2]), classes=True)


def test_spectral_norm_on_every_discriminator_weight():
    model = tiny(frames=4, spectral_norm=True, num_classes=2, conditional=True)
    D = model.discriminator
    weighted = [m for m in D.modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear, nn.Embedding))]
    assert weighted and all("weight" in m.parametrizations for m in weighted)
    assert not any(hasattr(m, "parametrizations") for m in model.generator.modules())
    assert torch.isfinite(D(clips(2, 4, 3, 16), torch.tensor([0, 1]))).all()


def test_config_errors():
    for bad in (dict(content_dim=0), dict(motion_spacing=0), dict(motion_kernel=0), dict(time_freqs=0),
                dict(mapping_layers=0), dict(g_channels=0), dict(d_frames=0), dict(max_frames=-1)):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            StyleGANVConfig(**bad)
    with pytest.raises(ConfigError, match="info_classes"):  # the shared options are checked too
        StyleGANVConfig(info_classes=3, conditional=True)
    with pytest.raises(ConfigError, match="max_frames"):
        tiny(frames=8, max_frames=4)
    with pytest.raises(ConfigError, match="d_frames"):
        tiny(frames=2, d_frames=3)
    with pytest.raises(ConfigError, match="power of two"):
        plan_stages(48)
    with pytest.raises(ConfigError, match="power of two"):
        tiny(resolution=4)
    with pytest.raises(ValueError, match="z must be"):
        tiny().generator(torch.randn(2, 5))


COLOURS = torch.tensor([[0.8, -0.6, 0.2], [-0.7, 0.5, 0.9]]).view(2, 1, 3, 1, 1)  # class 0, class 1
ENGINE = ["model.name=styleganv", "data.resolution=8", "data.frames=4", "data.num_clips=64", "model.content_dim=8",
          "model.w_dim=16", "model.motion_dim=4", "model.motion_spacing=2", "model.time_freqs=4", "model.embed_dim=8",
          "model.g_channels=8", "model.d_channels=8", "model.max_channels=16", "model.d_frames=2",
          "train.batch_size=16", "train.kimg=1.92", "train.tick_kimg=0.96", "train.lr=1e-3", "train.ema_kimg=0",
          "train.precision=fp32", "train.tensorboard=false", "train.num_samples=16"]


def test_generator_moves_towards_the_data_through_the_engine(tmp_path, solid_colour_gan):
    """A tiny StyleGAN-V trained by the engine on solid-colour clips: D tells them apart, G learns the colour."""
    cfg = cfgmod.load(ExperimentConfig, None, [f"run_dir={tmp_path}", *ENGINE])
    trainer, before, after = solid_colour_gan(cfg)
    assert trainer.step == 120
    assert after < 0.4 * before, (before, after)  # about 0.65 -> 0.11 with this seed
    first = json.loads((tmp_path / "stats.jsonl").read_text().splitlines()[0])
    assert first["D_main/real_score"] > first["D_main/fake_score"] + 1  # the discriminator separates them


def test_conditional_generator_learns_each_class(tmp_path):
    """Two classes, each one solid colour; hinge loss, spectral norm and DiffAugment: the label decides the colour."""
    cfg = cfgmod.load(ExperimentConfig, None, [
        f"run_dir={tmp_path}", *ENGINE, "data.kinds=[circle,square]", "model.conditional=true", "objective.loss=hinge",
        "model.spectral_norm=true", "objective.diffaugment=color,translation,cutout"])
    trainer = Trainer(cfg, echo=lambda line: None)
    assert trainer.model.num_classes == 2
    labels = torch.arange(16) % 2
    real = COLOURS[labels].expand(16, 4, 3, 8, 8).contiguous()

    def two_colour_batches():
        while True:
            yield [{"video": real, "label": labels}]

    trainer.batches = two_colour_batches
    z = trainer.model.latents(list(range(16)))

    def errors() -> tuple[float, float]:
        video = generate(trainer.ema["generator"], z, labels=labels)
        return (video - COLOURS[labels]).abs().mean().item(), (video - COLOURS[1 - labels]).abs().mean().item()

    own_before, _ = errors()
    trainer.run()
    own, other = errors()
    assert own < 0.5 * own_before, (own_before, own)  # about 0.67 -> 0.17 with this seed
    assert other > own + 0.5, (own, other)
