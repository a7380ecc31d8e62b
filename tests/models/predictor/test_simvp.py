"""SimVP: shapes, context and horizon handling, gradients, learning a tiny motion, config errors.

Tiny widths (8-16 channels) and 8-16 pixel frames, so the file runs in seconds.
"""

from __future__ import annotations

import pytest
import torch

from vidgen.errors import ConfigError
from vidgen.models import build_model
from vidgen.models.predictor.simvp import SimVP, SimVPConfig
from vidgen.models.predictor.training import PredictorObjective
from vidgen.registry import MODELS


def tiny(*, frames: int = 5, resolution: int = 8, channels: int = 1, context: int = 3, future: int = 2,
         **options) -> SimVP:
    options = {"hid_s": 8, "hid_t": 16, "spatial_depth": 2, "temporal_depth": 2, "patch_size": 2, **options}
    return SimVP(config=SimVPConfig(context=context, future=future, **options), frames=frames,
                 resolution=resolution, channels=channels)


def clip(b: int, t: int, c: int = 1, s: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, t, c, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_registered_as_a_predictor():
    entry = MODELS.get("simvp")
    assert entry.obj is SimVP and entry.config is SimVPConfig and entry.meta["family"] == "predictor"
    model = build_model(SimVPConfig(), frames=20, resolution=64, channels=1)
    assert (model.context, model.future, model.trainable) == (10, 10, True)


@pytest.mark.parametrize("resolution, channels, patch_size, context, future",
                         [(8, 1, 1, 3, 2), (16, 3, 2, 2, 3), (16, 1, 4, 4, 1), (12, 3, 3, 1, 2)])
def test_output_shapes_and_range(resolution, channels, patch_size, context, future):
    torch.manual_seed(0)
    model = tiny(frames=context + future, resolution=resolution, channels=channels, context=context,
                 future=future, patch_size=patch_size).eval()
    ctx = clip(2, context, channels, resolution) * 5  # out-of-range inputs must not leak through
    out = model(ctx, future=future)
    assert out.shape == (2, future, channels, resolution, resolution)
    assert out.min() >= -1 and out.max() <= 1


def test_the_output_is_linear_while_training_and_clamped_otherwise():
    torch.manual_seed(0)
    model = tiny()
    with torch.no_grad():
        model.head.proj.bias.fill_(3.0)  # push every pixel out of range
    ctx = clip(2, 3)
    assert model(ctx, future=2).max() > 1
    assert model.eval()(ctx, future=2).max() == 1


def test_context_of_any_length():
    torch.manual_seed(0)
    model = tiny(context=3).eval()
    ctx = clip(2, 3)
    out = model(ctx, future=2)
    # a longer context: only its last config.context frames are read
    torch.testing.assert_close(model(torch.cat([clip(2, 4, seed=5), ctx], 1), future=2), out)
    # a shorter one is padded in front with copies of its first frame
    short = ctx[:, 1:]
    padded = torch.cat([short[:, :1], short], dim=1)
    torch.testing.assert_close(model(short, future=2), model(padded, future=2))
    assert model(ctx[:, -1:], future=2).shape == out.shape


def test_rollout_past_the_training_horizon_feeds_whole_blocks_back():
    torch.manual_seed(0)
    model = tiny(context=3, future=2).eval()
    ctx = clip(2, 3)
    long = model(ctx, future=7)
    assert long.shape == (2, 7, 1, 8, 8) and torch.isfinite(long).all()
    first = model(ctx, future=2)
    torch.testing.assert_close(long[:, :2], first)  # causal: a longer rollout starts with the shorter one
    # the second block reads the last 3 frames of context + first block
    second = model(torch.cat([ctx, first], 1)[:, -3:], future=2)
    torch.testing.assert_close(long[:, 2:4], second)


def test_teacher_forcing_arguments_are_checked_and_change_nothing():
    torch.manual_seed(0)
    model = tiny()
    ctx, target = clip(2, 3), clip(2, 2, seed=1)
    free = model(ctx, future=2)
    torch.testing.assert_close(model(ctx, future=2, target=target, teacher_forcing=1.0), free)
    with pytest.raises(ValueError, match="target"):
        model(ctx, future=2, teacher_forcing=0.5)
    with pytest.raises(ValueError, match="future"):
        model(ctx, future=0)
    with pytest.raises(ValueError, match="channels"):
        model(clip(1, 3, 3), future=2)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = tiny()
    ((model(clip(2, 3), future=2) - clip(2, 2, seed=1)) ** 2).mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().max() > 0, name


def test_each_future_frame_depends_on_the_context():
    torch.manual_seed(0)
    model = tiny(context=3, future=2).eval()
    ctx = clip(2, 3)
    changed = ctx.clone()
    changed[:, 0] = -changed[:, 0]  # the oldest frame only: the translator reads all of them
    a, b = model(ctx, future=2), model(changed, future=2)
    assert all(not torch.allclose(a[:, k], b[:, k]) for k in range(2))


@pytest.mark.parametrize("dilation, reach", [(3, 11), (1, 5)])
def test_attention_dilation_sets_how_far_one_block_reads(dilation, reach):
    """One gSTA block's attention reads 2 + 3 * dilation cells to each side (dw 5x5, then dw 7x7 dilated)."""
    from vidgen.models.predictor.simvp import _LargeKernelAttention

    torch.manual_seed(0)
    attn = _LargeKernelAttention(4, dilation).eval()
    attn.wide.weight.data.abs_()  # positive weights, so no two paths from the input cancel
    attn.local.weight.data.abs_()
    x = torch.zeros(1, 4, 32, 32, requires_grad=True)
    attn.wide(attn.local(x))[0, :, 16, 16].sum().backward()
    cols = x.grad[0].abs().sum((0, 1)).nonzero().flatten()
    assert (cols.min().item(), cols.max().item()) == (16 - reach, 16 + reach)


@pytest.mark.parametrize("options", [{}, {"output": "filter", "filter_size": 3, "filter_cells": 1}])
def test_tiny_model_learns_a_moving_square(options, fit_moving_squares):
    torch.manual_seed(0)
    losses = fit_moving_squares(tiny(frames=4, context=2, future=2, **options))
    # an all-black guess scores 9/64 * 4 = 0.56
    assert losses[-1] < losses[0] / 50 and losses[-1] < 0.02, (losses[0], losses[-1])


def test_motion_input_is_read_and_changes_the_prediction():
    torch.manual_seed(0)
    plain = tiny()
    torch.manual_seed(0)
    moving = tiny(motion_radius=2, motion_stride=2)
    # the first encoder convolution reads the patches plus the (2*1+1)^2 correlation channels
    assert moving.encoder[0][0].in_channels == plain.encoder[0][0].in_channels + 9
    video = clip(2, 4)
    shuffled = video[:, [1, 0, 2]]  # the same frames, other motion
    out = moving(video[:, :3], future=2)
    assert not torch.allclose(moving(shuffled, future=2), out)
    out.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in moving.parameters())


def test_filter_output_moves_the_last_context_frame():
    torch.manual_seed(0)
    model = tiny(output="filter", filter_size=3, filter_cells=1).eval()
    ctx = clip(2, 3)
    ctx[:, -1] = -1.0  # a black last frame: whatever the filters, the prediction is black
    assert torch.equal(model(ctx, future=2), torch.full((2, 2, 1, 8, 8), -1.0))
    ctx = clip(2, 3)
    out = model(ctx, future=2)  # a convex combination of the last frame's pixels
    assert out.min() >= ctx[:, -1].min() - 1e-6 and out.max() <= ctx[:, -1].max() + 1e-6


def test_config_and_clip_errors():
    for key in ("hid_s", "hid_t", "spatial_depth", "temporal_depth", "patch_size", "context", "future"):
        with pytest.raises(ConfigError, match=f"model.{key}"):
            SimVPConfig(**{key: 0})
    with pytest.raises(ConfigError, match="model.mlp_ratio"):
        SimVPConfig(mlp_ratio=0)
    with pytest.raises(ConfigError, match="model.layer_scale"):
        SimVPConfig(layer_scale=0)
    with pytest.raises(ConfigError, match="objective.l1_weight"):
        PredictorObjective(l1_weight=-1)
    with pytest.raises(ConfigError, match="model.lka_dilation"):
        SimVPConfig(lka_dilation=0)
    with pytest.raises(ConfigError, match="model.filter_cells"):
        SimVPConfig(filter_cells=-1)
    with pytest.raises(ConfigError, match="model.filter_size"):
        SimVPConfig(filter_size=4)
    with pytest.raises(ConfigError, match="model.motion_stride=2 must divide"):
        SimVPConfig(motion_radius=3)
    with pytest.raises(ConfigError, match="data.frames") as err:
        build_model(SimVPConfig(), frames=16, resolution=64, channels=1)
    assert "data.frames=20" in err.value.hint
    with pytest.raises(ConfigError, match="patch_size=4"):
        build_model(SimVPConfig(), frames=20, resolution=30, channels=1)
