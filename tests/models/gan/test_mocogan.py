"""mocogan: shapes, any clip length, per-seed sampling, two discriminators, conditioning, config errors,
and a tiny model that learns a tiny problem through the engine."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from helpers import build, clips
from torch import nn

from vidgen import config as cfgmod
from vidgen.errors import ConfigError
from vidgen.models import build_model
from vidgen.models.gan.common import InstanceNoise, gaussian_like
from vidgen.models.gan.losses import d_loss, g_loss
from vidgen.models.gan.mocogan import MoCoGAN, MoCoGANConfig, plan_stages
from vidgen.registry import MODELS
from vidgen.train.config import ExperimentConfig
from vidgen.models.gan.training import GANFamily, GANObjective

TINY = dict(content_dim=6, motion_dim=4, noise_dim=3, embed_dim=4, g_channels=4, d_channels=4, max_channels=16)


def tiny(frames: int = 8, resolution: int = 16, channels: int = 3, num_classes: int = 0, **options) -> MoCoGAN:
    return build(MoCoGAN, MoCoGANConfig, TINY, frames=frames, resolution=resolution, channels=channels,
                 num_classes=num_classes, **options)


def test_registered_in_the_gan_family_with_the_default_config():
    entry = MODELS.get("mocogan")
    assert entry.obj is MoCoGAN and entry.config is MoCoGANConfig and entry.meta["family"] == "gan"
    model = build_model(MoCoGANConfig(), frames=16, resolution=64, channels=3)
    assert model.z_dim == 50 + 10 + 16 * 10 and model.num_classes == 0 and MoCoGAN.any_length


@pytest.mark.parametrize("frames, resolution, channels", [(8, 32, 3), (16, 64, 3), (16, 32, 1), (5, 16, 3),
                                                          (1, 8, 3)])
def test_forward_shapes(frames, resolution, channels):
    model = tiny(frames, resolution, channels, image_batch=3)
    video = model.generator(torch.randn(2, model.z_dim))
    assert video.shape == (2, frames, channels, resolution, resolution)
    assert video.min() >= -1 and video.max() <= 1
    video_logits, image_logits = model.discriminator(video)
    assert video_logits.shape == (2,) and image_logits.shape == (2, min(3, frames))


def test_any_length_and_the_prefix_is_the_training_length_clip():
    model = tiny(frames=8).eval()
    assert model.generator.slots == 8
    z = model.latents([0, 1, 2])
    with torch.no_grad():
        short = model.generator(z)
        long = model.generator(z, frames=40)  # frames 9..40 read noise derived from z
        again = model.generator(z, frames=40)
        one = model.generator(z, frames=1)
    assert long.shape == (3, 40, 3, 16, 16) and one.shape == (3, 1, 3, 16, 16)
    torch.testing.assert_close(long[:, :8], short, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(one, short[:, :1], atol=1e-5, rtol=1e-5)
    assert torch.equal(long, again)
    assert (long[:, 8:] - long[:, 7:8]).abs().amax() > 0  # it keeps moving past the training length
    with pytest.raises(ConfigError, match=">= 1 frame"):
        model.generator(z, frames=0)


def test_max_frames_carries_more_noise_in_z():
    model = tiny(frames=8, max_frames=12)
    assert model.z_dim == 6 + 4 + 12 * 3
    z = model.latents([3]).repeat(2, 1)
    z[1, -3:] += 1  # the noise of frame 12 only
    model.eval()
    with torch.no_grad():
        video = model.generator(z, frames=12)
    torch.testing.assert_close(video[0, :11], video[1, :11])
    assert not torch.allclose(video[0, 11], video[1, 11])


def test_motion_burnin_runs_the_gru_on_its_own_noise_before_the_first_frame():
    model = tiny(frames=8, motion_burnin=5).eval()
    assert model.z_dim == 6 + 4 + (5 + 8) * 3
    g, cfg = model.generator, model.config
    z = model.latents([0, 1])
    _, h0, burn, slots = z.split([6, 4, 5 * 3, 8 * 3], dim=1)
    with torch.no_grad():
        expected = g.motion(h0, torch.cat([burn.reshape(2, 5, 3), slots.reshape(2, 8, 3)], dim=1))[:, 5:]
        torch.testing.assert_close(g.motion_codes(z, 8), expected)
        z_m = g.motion(h0, slots.reshape(2, 8, 3))
        assert not torch.allclose(expected, z_m)  # the burn-in changed the state the first frame starts from
        video = g(z)
        long = g(z, frames=20)
        moved = z.clone()
        moved[:, 6 + 4:6 + 4 + 5 * 3] += 1  # the burn-in noise only
        other = g(moved)
    torch.testing.assert_close(long[:, :8], video, atol=1e-5, rtol=1e-5)
    assert (video[0] - other[0]).abs().amax(dim=(1, 2, 3)).min() > 0  # every frame starts from another state
    # the codes the image generator reads are the GRU's states after the burn-in
    code = torch.cat([z[:, :cfg.content_dim, None].expand(-1, -1, 8).transpose(1, 2), expected], dim=2)
    with torch.no_grad():
        direct = g.image(code.reshape(16, -1))
    torch.testing.assert_close(direct.reshape(video.shape), video, atol=1e-5, rtol=1e-5)


def test_motion_burnin_makes_the_motion_codes_stationary_over_time():
    """h_0 ~ N(0, 1) lies outside the GRU's range: without burn-in the codes' spread over clips
    shrinks over the first frames (a clock the image generator can read); with it, no frame differs."""
    for burnin, stationary in ((0, False), (8, True)):
        torch.manual_seed(0)
        model = MoCoGAN(config=MoCoGANConfig(motion_burnin=burnin), frames=16, resolution=16, channels=3)
        with torch.no_grad():
            z_m = model.generator.motion_codes(model.latents(list(range(1024))), 16)
        spread = z_m.std(0).mean(1)  # [T]: how much the clips' codes differ, per frame
        ratio = (spread[0] / spread[-1]).item()
        if stationary:
            assert 0.85 < ratio < 1.15, ratio
        else:
            assert ratio > 1.5, ratio


def test_latents_depend_on_the_seed_alone():
    model = tiny()
    a = model.latents([3, 4, 5])
    assert a.shape == (3, model.z_dim)
    assert torch.equal(a[2], model.latents([5])[0]) and not torch.equal(a[0], a[1])


def test_the_image_discriminator_sees_distinct_random_frames():
    model = tiny(frames=4, image_batch=4, d_norm="none")
    video = clips(1, 4, 3, 16)
    torch.manual_seed(1)
    a = model.discriminator(video)[1]
    b = model.discriminator(video)[1]
    # every frame once, in a random order: the same logits, permuted
    torch.testing.assert_close(a.sort().values, b.sort().values)
    assert not torch.equal(a, b)
    torch.manual_seed(1)
    torch.testing.assert_close(model.discriminator(video)[1], a)  # torch's seed decides the frames
    singles = torch.stack([model.discriminator.image(video[:, t]) for t in range(4)], 1)
    torch.testing.assert_close(a.sort().values, singles.sort().values)


def test_the_pair_discriminator_judges_two_frames_of_one_clip_in_time_order():
    model = tiny(frames=2, image_batch=1, pair_batch=3, d_norm="none")
    video = clips(2, 2, 3, 16)
    v, i, p = model.discriminator(video)
    assert v.shape == (2,) and i.shape == (2, 1) and p.shape == (2, 3)
    # two frames: every pair is (frame 0, frame 1), stacked along channels in that order
    expected = model.discriminator.pair(torch.cat([video[:, 0], video[:, 1]], dim=1))
    torch.testing.assert_close(p, expected[:, None].expand(2, 3))
    swapped = model.discriminator.pair(torch.cat([video[:, 1], video[:, 0]], dim=1))
    assert not torch.allclose(expected, swapped)  # the order is information
    # longer clips: p pairs of distinct frames, each in time order
    model = tiny(frames=6, image_batch=2, pair_batch=4, d_norm="none")
    video = clips(3, 6, 3, 16)
    seen = []
    model.discriminator.pair.forward = lambda x, label=None, classes=False: seen.append(x) or x.sum((1, 2, 3))
    p = model.discriminator(video)[2]
    assert p.shape == (3, 4) and seen[0].shape == (12, 6, 16, 16)
    for n, pair in enumerate(seen[0]):
        clip = video[n // 4]
        first = [t for t in range(6) if torch.equal(clip[t], pair[:3])]
        second = [t for t in range(6) if torch.equal(clip[t], pair[3:])]
        assert len(first) == 1 and len(second) == 1 and first[0] < second[0]
    # the pair discriminator trains and passes its gradient to the generator
    model = tiny(frames=4, pair_batch=2)
    g_loss("nonsaturating", model.discriminator(model.generator(torch.randn(2, model.z_dim)))[2]).backward()
    assert model.generator.gru.weight_ih.grad.abs().sum() > 0
    assert all(p.grad.abs().sum() > 0 for p in model.discriminator.pair.parameters())
    assert tiny(frames=1, pair_batch=2).discriminator.pair is None  # one-frame clips have no pairs


def test_minibatch_stddev_lets_the_discriminators_see_a_batch_of_identical_clips():
    from vidgen.models.gan.common import minibatch_stddev

    x = torch.randn(8, 3, 2, 2)
    y = minibatch_stddev(x, 4)
    assert y.shape == (8, 4, 2, 2) and torch.equal(y[:, :3], x)
    groups = x.view(4, 2, 3, 2, 2)  # 2 groups of 4, members 2 apart
    torch.testing.assert_close(y[:, 3, 0, 0], groups.std(0, unbiased=False).flatten(1).mean(1).repeat(4))
    assert minibatch_stddev(x[:1].expand(8, -1, -1, -1), 4)[:, 3].abs().max() < 1e-3  # all alike: ~0
    assert minibatch_stddev(torch.randn(6, 2, 1, 1, 1), 4).shape == (6, 3, 1, 1, 1)  # groups of 3
    model = tiny(frames=4, image_batch=2, mbstd_group=4)
    same, varied = clips(1, 4, 3, 16).expand(4, -1, -1, -1, -1), clips(4, 4, 3, 16)
    torch.manual_seed(0)
    a = model.discriminator(same)
    torch.manual_seed(0)
    b = model.discriminator(varied)
    assert a[0].shape == (4,) and a[1].shape == (4, 2)
    assert torch.allclose(a[0], a[0][:1].expand(4))  # identical clips, identical logits
    with torch.no_grad():  # the head reads the spread: zeroing its weight on that channel changes the logits
        model.discriminator.video.head.weight[:, -1] = 0
    torch.manual_seed(0)
    assert not torch.allclose(model.discriminator(varied)[0], b[0])


def test_auxiliary_class_heads_on_every_discriminator():
    model = tiny(frames=4, num_classes=3, conditional=True, aux_class=1.0, image_batch=2, pair_batch=3)
    video, label = clips(5, 4, 3, 16), torch.tensor([0, 1, 2, 0, 1])
    torch.manual_seed(0)
    logits, classes = model.discriminator(video, label, classes=True)
    assert [t.shape for t in logits] == [(5,), (5, 2), (5, 3)]
    assert [t.shape for t in classes] == [(5, 3), (10, 3), (15, 3)]
    torch.manual_seed(0)
    for a, b in zip(model.discriminator(video, label), logits):
        torch.testing.assert_close(a, b)  # the class heads leave the logits as they are
    # the class heads read the clip, not the label
    torch.manual_seed(0)
    other = model.discriminator(video, torch.tensor([2, 2, 2, 2, 2]), classes=True)[1]
    for a, b in zip(classes, other):
        torch.testing.assert_close(a, b)
    with pytest.raises(ConfigError, match="aux_class"):
        tiny(frames=4, num_classes=3, conditional=True).discriminator(video, label, classes=True)
    with pytest.raises(ConfigError, match="conditional"):
        MoCoGANConfig(aux_class=1.0)


def test_gradients_reach_both_discriminators_and_the_generator():
    model = tiny(frames=8, image_batch=2)
    fake = model.generator(torch.randn(3, model.z_dim))
    logits = model.discriminator(fake)
    d_loss("nonsaturating", model.discriminator(clips(3, 8, 3, 16)), logits).backward(retain_graph=True)
    for net in (model.discriminator.video, model.discriminator.image):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    model.zero_grad()
    g_loss("nonsaturating", logits).backward()
    grads = {n: p.grad for n, p in model.generator.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads.values()), \
        [n for n, g in grads.items() if g is None or g.abs().sum() == 0]


def test_the_image_logits_alone_train_the_generator():
    model = tiny(frames=8)
    g_loss("hinge", model.discriminator(model.generator(torch.randn(2, model.z_dim)))[1]).backward()
    assert model.generator.gru.weight_ih.grad.abs().sum() > 0  # through the frames' motion codes


def test_conditional_outputs_depend_on_the_label():
    model = tiny(frames=4, num_classes=3, conditional=True).eval()
    assert model.num_classes == 3
    z = model.latents([0, 0])
    with torch.no_grad():
        video = model.generator(z, torch.tensor([0, 2]))
        assert not torch.allclose(video[0], video[1])
        real = clips(1, 4, 3, 16).expand(2, -1, -1, -1, -1)
        torch.manual_seed(0)
        v, i = model.discriminator(real, torch.tensor([0, 2]))
    assert not torch.allclose(v[0], v[1]) and not torch.allclose(i[0], i[1])
    with pytest.raises(ConfigError, match="class-conditional"):
        model.generator(z)
    with pytest.raises(ConfigError, match="class-conditional"):
        model.discriminator(real)
    with pytest.raises(ConfigError, match="at least 2 classes"):
        tiny(num_classes=0, conditional=True)
    assert tiny(num_classes=5).num_classes == 0  # unconditional: the labels are ignored


def test_class_conditional_norms_start_as_plain_batchnorm_and_learn_per_class():
    from vidgen.models.gan.mocogan import ClassBatchNorm2d

    plain = tiny(frames=4, num_classes=3, conditional=True)
    model = tiny(frames=4, num_classes=3, conditional=True, cond_norm=True)
    norms = [m for m in model.generator.image.modules() if isinstance(m, ClassBatchNorm2d)]
    assert len(norms) == sum(isinstance(m, nn.BatchNorm2d) for m in plain.generator.image.modules()) > 0
    z, label = model.latents([0, 1, 2]), torch.tensor([0, 1, 2])
    assert model.generator(z, label).shape == (3, 4, 3, 16, 16)
    # per-class gains and shifts get gradients only for the classes in the batch
    model.generator(z[:2], torch.tensor([0, 2])).square().mean().backward()
    grad = norms[0].gain.weight.grad
    assert grad[0].abs().sum() > 0 and grad[2].abs().sum() > 0 and grad[1].abs().sum() == 0
    # a class's own gain changes its clips and no other class's
    model.eval()
    with torch.no_grad():
        before = model.generator(z, label)
        norms[-1].gain.weight[1].mul_(3.0)
        after = model.generator(z, label)
    assert torch.equal(before[0], after[0]) and torch.equal(before[2], after[2])
    assert not torch.allclose(before[1], after[1])
    with pytest.raises(ConfigError, match="g_norm"):
        MoCoGANConfig(cond_norm=True, g_norm="none")


def test_content_conditional_norms_start_as_plain_batchnorm_and_read_the_content_code():
    from vidgen.models.gan.mocogan import ContentBatchNorm2d

    model = tiny(frames=4, content_norm=True)
    norms = [m for m in model.generator.image.modules() if isinstance(m, ContentBatchNorm2d)]
    assert len(norms) == sum(isinstance(m, nn.BatchNorm2d) for m in tiny(frames=4).generator.image.modules()) > 0
    assert all(torch.equal(m.affine.weight, torch.zeros_like(m.affine.weight)) for m in norms)  # plain BN at first
    z = model.latents([0, 1, 2])
    assert model.generator(z).shape == (3, 4, 3, 16, 16)
    assert model.generator(z, frames=9).shape == (3, 9, 3, 16, 16)  # any length still
    model.generator(z).square().mean().backward()
    assert all(m.affine.weight.grad.abs().sum() > 0 for m in norms)  # the projections learn
    # once the projections are non-zero, changing z_c alone changes every frame of its clip only
    model.eval()
    with torch.no_grad():
        for m in norms:
            m.affine.weight.normal_(0, 0.5)
        before = model.generator(z)
        z2 = z.clone()
        z2[1, :TINY["content_dim"]] += 1.0
        after = model.generator(z2)
    assert torch.equal(before[0], after[0]) and torch.equal(before[2], after[2])
    assert all(not torch.allclose(before[1, t], after[1, t]) for t in range(4))
    conditional = tiny(frames=4, num_classes=3, conditional=True, content_norm=True)  # reads [z_c, embed(y)]
    assert conditional.generator(conditional.latents([0, 1]), torch.tensor([0, 2])).shape == (2, 4, 3, 16, 16)
    with pytest.raises(ConfigError, match="g_norm"):
        MoCoGANConfig(content_norm=True, g_norm="none")
    with pytest.raises(ConfigError, match="cond_norm"):
        MoCoGANConfig(content_norm=True, cond_norm=True)


def test_spectral_norm_on_every_discriminator_weight_and_no_batchnorm():
    model = tiny(frames=4, spectral_norm=True, num_classes=2, conditional=True)
    D = model.discriminator
    weighted = [m for m in D.modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear, nn.Embedding))]
    assert weighted and all("weight" in m.parametrizations for m in weighted)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.generator.modules())
    v, i = D(clips(2, 4, 3, 16), torch.tensor([0, 1]))
    assert torch.isfinite(v).all() and torch.isfinite(i).all()


def test_discriminator_noise_only_while_training():
    plain, noisy = tiny(frames=4), tiny(frames=4, d_noise=0.5)
    assert noisy.state_dict().keys() == plain.state_dict().keys()  # checkpoints interchange
    video = clips(3, 4, 3, 16)
    first, second = noisy.discriminator(video)[0], noisy.discriminator(video)[0]
    assert not torch.allclose(first, second)  # fresh noise on every call while training
    noisy.eval()
    a, b = noisy.discriminator(video)[0], noisy.discriminator(video)[0]
    assert torch.equal(a, b)  # eval mode: no noise, the video logits are deterministic
    plain.load_state_dict(noisy.state_dict())  # the same weights (and BatchNorm statistics) without noise
    plain.eval()
    torch.testing.assert_close(plain.discriminator(video)[0], a)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last_3d, "strided"])
def test_gaussian_like_keeps_the_layout_and_draws_standard_normal_noise(layout):
    base = torch.zeros(4, 8, 6, 10, 12, dtype=torch.bfloat16)
    x = base[:, :, ::2] if layout == "strided" else base.contiguous(memory_format=layout)
    torch.manual_seed(0)
    noise = gaussian_like(x)
    assert noise.shape == x.shape and noise.dtype == x.dtype
    if layout != "strided":
        assert noise.stride() == x.stride()  # the same memory layout, so adding it keeps the fast path
    flat = noise.float().flatten()
    assert flat.mean().abs() < 0.05 and flat.std().item() == pytest.approx(1.0, abs=0.05)
    # independent along every axis, including across channels that sit side by side in channels_last
    across_channels = torch.corrcoef(torch.stack([noise[:, 0].float().flatten(), noise[:, 1].float().flatten()]))
    assert across_channels[0, 1].abs() < 0.1
    assert not torch.equal(gaussian_like(x), noise)  # a fresh draw each call


def test_annealed_discriminator_noise_falls_to_zero():
    model = tiny(frames=4, d_noise=0.5)
    family = GANFamily(model=model, objective=GANObjective(d_noise_kimg=0.1), num_samples=2)  # 0.5 -> 0 over 100 clips
    assert len(family.instance_noise) == 2  # one in each discriminator
    noise = family.instance_noise[0]
    x = torch.zeros(4000)
    family._anneal(SimpleNamespace(nimg=0))
    assert noise(x).std().item() == pytest.approx(0.5, rel=0.05)
    family._anneal(SimpleNamespace(nimg=50))
    assert noise(x).std().item() == pytest.approx(0.25, rel=0.05)
    family._anneal(SimpleNamespace(nimg=500))  # past the end: off, and the logits deterministic
    state = torch.get_rng_state()
    assert noise(x) is x
    assert torch.equal(torch.get_rng_state(), state)  # off means no draw at all, not a draw times 0
    silent = InstanceNoise(0.0)  # sigma 0 with a schedule: off from the start
    silent.anneal(0, decay_nimg=100)
    assert silent(x) is x and torch.equal(torch.get_rng_state(), state)
    video = clips(3, 4, 3, 16)
    torch.testing.assert_close(model.discriminator(video)[0], model.discriminator(video)[0])
    assert model.state_dict().keys() == tiny(frames=4).state_dict().keys()  # nothing new in checkpoints


@pytest.mark.parametrize("upsample", ["transposed", "nearest"])
def test_upsampling_path_and_the_checkerboard_of_transposed_convolutions(upsample):
    """A flat feature map stays flat through the resize convolution; the transposed one paints a
    2x2 checkerboard on it (uneven kernel overlap), the speckle and fringes of its RGB layer."""
    torch.manual_seed(0)
    model = tiny(resolution=16, g_upsample=upsample)
    layers = list(model.generator.image.modules())
    assert any(isinstance(m, nn.ConvTranspose2d) for m in layers) == (upsample == "transposed")
    assert any(isinstance(m, nn.Upsample) for m in layers) == (upsample == "nearest")
    assert model.generator(model.latents([0, 1])).shape == (2, 8, 3, 16, 16)
    last = model.generator.image.blocks[-1]
    with torch.no_grad():
        c_in = 2 * TINY["g_channels"]  # the last stage reads twice the finest width
        out = last(torch.ones(1, c_in, 8, 8) * torch.randn(1, c_in, 1, 1))[0, :, 1:-1, 1:-1]  # off the borders
    spread = (out - out.mean(dim=(1, 2), keepdim=True)).abs().max().item()
    if upsample == "nearest":
        assert spread < 1e-6
    else:
        assert spread > 1e-3 and torch.allclose(out[:, 0::2, 0::2], out[:, 0, 0, None, None])  # periodic with 2


def test_config_errors():
    for bad in (dict(content_dim=0), dict(noise_dim=0), dict(image_batch=0), dict(g_channels=0),
                dict(max_frames=-1), dict(motion_burnin=-1), dict(d_noise=-0.1), dict(pair_batch=-1), dict(mbstd_group=-1),
                dict(aux_class=-1.0)):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            MoCoGANConfig(**bad)
    with pytest.raises(ConfigError, match="max_frames"):
        tiny(frames=8, max_frames=4)
    with pytest.raises(ConfigError, match="power of two"):
        plan_stages(48)
    with pytest.raises(ConfigError, match="info_classes"):  # the shared options are checked too
        MoCoGANConfig(info_classes=1)
    with pytest.raises(ConfigError, match="d_noise_kimg"):  # the noise schedule is the objective's
        GANObjective(d_noise_kimg=-1)
    with pytest.raises(ValueError, match="z must be"):
        tiny().generator(torch.randn(2, 5))


@pytest.mark.parametrize("upsample", ["transposed", "nearest"])
def test_generator_moves_towards_the_data_through_the_engine(tmp_path, solid_colour_gan, upsample):
    """A tiny MoCoGAN trained by the engine (both discriminators, summed losses) on solid-colour clips."""
    cfg = cfgmod.load(ExperimentConfig, None, [f"model.g_upsample={upsample}",
        f"run_dir={tmp_path}", "model.name=mocogan", "data.resolution=8", "data.frames=4", "data.num_clips=64",
        "model.content_dim=8", "model.motion_dim=4", "model.noise_dim=4", "model.g_channels=8",
        "model.d_channels=8", "model.max_channels=16", "model.image_batch=2", "train.batch_size=16",
        "train.kimg=1.92", "train.tick_kimg=0.96", "train.lr=1e-3", "train.ema_kimg=0", "train.precision=fp32",
        "train.tensorboard=false", "train.num_samples=16"])
    trainer, before, after = solid_colour_gan(cfg)
    assert trainer.step == 120
    assert after < 0.6 * before, (before, after)  # about 0.4 with this seed
