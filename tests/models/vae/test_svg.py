"""svg (SVG-LP): shapes, gradients, the KL between Gaussians, seeded futures, the predictor interface.

Every model is tiny (widths of 4-8 channels, LSTMs of 16 units, 8-64 pixel frames) so the
file runs in seconds.
"""

from __future__ import annotations

import math

import pytest
import torch
from helpers import clips

from vidgen.errors import ConfigError
from vidgen.models import build_model
from vidgen.models.vae.losses import frame_mse, gaussian_kl
from vidgen.models.vae.svg import SVG, SVGConfig
from vidgen.models.vae.training import VAEObjective
from vidgen.registry import MODELS

TINY = dict(g_dim=8, z_dim=3, rnn_size=16, width=4, max_channels=8, context=3, future=2)



def tiny(*, frames: int = 5, resolution: int = 16, channels: int = 1, **options) -> SVG:
    torch.manual_seed(0)
    return SVG(config=SVGConfig(**{**TINY, **options}), frames=frames, resolution=resolution, channels=channels)


def lively(model: SVG, *, prior_logvar: float = 6.0) -> SVG:
    """``model`` in eval mode, changed so that an untrained one shows what its futures depend on.

    A fresh SVG's frames are ~0 (DCGAN init) and depend mostly on the skips: PyTorch's
    default init of the convolutions, a wide learned prior (std ~20), a louder predictor
    input and decoder input make the effect of ``z_t`` and of the frames read visible.
    """
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            m.reset_parameters()
    with torch.no_grad():
        model.prior.out.bias[model.z_dim:] = prior_logvar  # log-variance of p(z_t)
        model.decoder.head[0].weight.mul_(30.0)
        model.predictor.embed.weight.mul_(10.0)
    return model.eval()


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_registered_in_the_vae_family_with_the_papers_defaults():
    entry = MODELS.get("svg")
    assert entry.obj is SVG and entry.config is SVGConfig and entry.meta["family"] == "vae"
    model = build_model(SVGConfig(), frames=20, resolution=64, channels=1)
    assert (model.context, model.future, model.trainable, model.num_classes) == (10, 10, True, 0)
    cfg = model.config
    assert (cfg.g_dim, cfg.z_dim, cfg.rnn_size, model.default_beta) == (128, 10, 256, 1e-4)
    assert VAEObjective().beta is None  # a recipe without objective.beta trains with the default_beta
    assert (cfg.predictor_layers, cfg.posterior_layers, cfg.prior_layers) == (2, 1, 1)


@pytest.mark.parametrize("resolution, channels, norm", [(8, 1, "batch"), (16, 3, "group"), (32, 1, "batch"),
                                                        (64, 3, "batch")])
def test_shapes_and_range(resolution, channels, norm):
    model = tiny(resolution=resolution, channels=channels, norm=norm)
    video = clips(2, 5, channels, resolution)
    terms = model.loss_terms(video, None, gen(0))
    assert {"recon", "kl", "mse"} <= set(terms) and all(v.dim() == 0 for v in terms.values())
    model.eval()
    for context in (1, 3, 4):  # any context length, not only the training split
        out = model(video[:, :context], future=2, generator=gen(0))
        assert out.shape == (2, 2, channels, resolution, resolution) and out.abs().max() <= 1


def test_gradients_reach_every_parameter():
    for last_frame_skip in (False, True):
        model = tiny(last_frame_skip=last_frame_skip)
        terms = model.loss_terms(clips(3, 6, 1, 16), None, gen(0))  # longer clips: the first 5 frames are used
        (terms["recon"] + terms["kl"]).backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_kl_between_two_gaussians_in_closed_form():
    # KL(N(1, 1) || N(0, 4)) = log(2 / 1) + (1 + 1) / (2 * 4) - 1/2 per dim
    one = gaussian_kl(torch.ones(1, 1), torch.zeros(1, 1), torch.zeros(1, 1), torch.full((1, 1), math.log(4.0)))
    assert one.item() == pytest.approx(math.log(2.0) + 0.25 - 0.5, rel=1e-6)
    # equal distributions: 0; per-frame latents [B, T, z] are summed over time and z, averaged over B
    mu, logvar = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    assert gaussian_kl(mu, logvar, mu, logvar).item() == pytest.approx(0.0, abs=1e-6)
    shifted = gaussian_kl(mu + 1, logvar, mu, logvar).item()
    assert shifted == pytest.approx(0.5 * (1 / logvar.exp()).sum().item() / 2, rel=1e-5)
    # a standard-normal prior given explicitly equals the default
    assert gaussian_kl(mu, logvar, torch.zeros(1), torch.zeros(1)).item() == pytest.approx(
        gaussian_kl(mu, logvar).item(), rel=1e-6)


def test_frame_mse_is_svgs_sum_over_frames():
    pred, target = torch.zeros(2, 3, 1, 4, 4), torch.zeros(2, 3, 1, 4, 4)
    target[:, 1] = 0.5  # one frame off by 0.5 everywhere
    assert frame_mse(pred, target).item() == pytest.approx(0.25)


def test_seeds_give_different_futures_and_the_same_seed_the_same():
    model = lively(tiny())
    context = clips(2, 3, 1, 16)
    a = model(context, future=4, generator=gen(1))
    b = model(context, future=4, generator=gen(1))
    c = model(context, future=4, generator=gen(2))
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 0.01


def test_future_beyond_the_training_horizon():
    model = tiny().eval()
    out = model(clips(2, 3, 1, 16), future=model.future + 5, generator=gen(0))
    assert out.shape == (2, 7, 1, 16, 16) and torch.isfinite(out).all()


def test_teacher_forcing_reads_the_target():
    model = lively(tiny(), prior_logvar=-6.0)  # a narrow prior: the frames read, not z, drive the LSTM
    context, target = clips(2, 3, 1, 16), clips(2, 3, 1, 16, seed=1)
    free = model(context, future=3, generator=gen(0))
    forced = model(context, future=3, target=target, teacher_forcing=1.0, generator=gen(0))
    assert torch.equal(free[:, 0], forced[:, 0])  # the first future frame reads the context alone
    assert (free[:, 1:] - forced[:, 1:]).abs().amax(dim=(0, 2, 3, 4)).min() > 1e-3
    with pytest.raises(ValueError, match="target"):
        model(context, future=3, teacher_forcing=0.5)


def test_reconstruction_falls_when_trained():
    data = clips(4, 5, 1, 8, seed=2).sign() * 0.8
    model = tiny(resolution=8, norm="group")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = []
    for step in range(60):
        terms = model.loss_terms(data, None, gen(step))
        opt.zero_grad()
        (terms["recon"] + 1e-4 * terms["kl"]).backward()
        opt.step()
        history.append(terms["recon"].item())
    assert sum(history[-5:]) < 0.7 * sum(history[:5]), history


@pytest.mark.parametrize("options, match", [(dict(z_dim=0), "z_dim"), (dict(beta=-1.0), "beta"),
                                            (dict(context=0), "context"), (dict(norm="layer"), "norm")])
def test_bad_config_values(options, match):
    with pytest.raises(ConfigError, match=match):
        (VAEObjective if "beta" in options else SVGConfig)(**options)


def test_bad_clip_shapes():
    with pytest.raises(ConfigError, match="data.frames=5"):
        tiny(frames=4)
    with pytest.raises(ConfigError, match="power-of-two"):
        tiny(resolution=24)
    with pytest.raises(ValueError, match="svg trains on clips"):
        tiny().loss_terms(clips(2, 4, 1, 16), None, gen(0))
