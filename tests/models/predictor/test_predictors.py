"""Predictor family (convlstm, predrnn, copy_last): the common forward interface, training signal, errors.

All models are tiny (a few thousand parameters, 8-16 pixel frames) so the file runs in seconds.
"""

from __future__ import annotations

import pytest
import torch

from vidgen.config import from_dict
from vidgen.errors import ConfigError
from vidgen.models import build_model
from vidgen.models.predictor.convlstm import ConvLSTM, ConvLSTMConfig
from vidgen.models.predictor.copy_last import CopyLast, CopyLastConfig
from vidgen.models.predictor.predrnn import PredRNN, PredRNNConfig
from vidgen.registry import MODELS

LEARNED = {"convlstm": (ConvLSTM, ConvLSTMConfig), "predrnn": (PredRNN, PredRNNConfig)}
ALL = {**LEARNED, "copy_last": (CopyLast, CopyLastConfig)}


def tiny(name: str, *, frames: int = 5, resolution: int = 8, channels: int = 1, context: int = 3, future: int = 2,
         **options):
    """A small predictor of ``name`` for ``[frames, channels, resolution, resolution]`` clips."""
    cls, cfg_cls = ALL[name]
    if name in LEARNED:
        options = {"hidden": (4, 4), "kernel_size": 3, "patch_size": 2, **options}
    cfg = cfg_cls(context=context, future=future, **options)
    return cls(config=cfg, frames=frames, resolution=resolution, channels=channels)


def clip(b: int, t: int, c: int = 1, s: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, t, c, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_registered_as_predictors():
    for name, (cls, cfg_cls) in ALL.items():
        entry = MODELS.get(name)
        assert entry.obj is cls and entry.config is cfg_cls and entry.meta["family"] == "predictor"
        model = build_model(cfg_cls(), frames=20, resolution=64, channels=1)
        assert (model.context, model.future) == (10, 10) and model.config == cfg_cls()
        assert model.trainable is (name != "copy_last")


@pytest.mark.parametrize("name", list(LEARNED))
@pytest.mark.parametrize(
    "resolution, channels, patch_size, context, future",
    [(8, 1, 1, 3, 2), (16, 3, 2, 2, 3), (16, 1, 4, 4, 1), (12, 3, 3, 1, 2)],
)
def test_output_shapes_and_range(name, resolution, channels, patch_size, context, future):
    torch.manual_seed(0)
    model = tiny(name, frames=context + future, resolution=resolution, channels=channels, context=context,
                 future=future, patch_size=patch_size)
    ctx = clip(2, context, channels, resolution) * 5  # out-of-range inputs must not leak through
    out = model(ctx, future=future)
    assert out.shape == (2, future, channels, resolution, resolution)
    assert out.min() >= -1 and out.max() <= 1
    # any context length works, not only the training split
    assert model(ctx[:, :1], future=future).shape == out.shape


@pytest.mark.parametrize("channels", [1, 3])
def test_copy_last_repeats_the_last_context_frame(channels):
    model = tiny("copy_last", channels=channels)
    assert list(model.parameters()) == [] and model.state_dict() == {}
    ctx = clip(3, 4, channels)
    out = model(ctx, future=6)
    assert out.shape == (3, 6, channels, 8, 8)
    assert torch.equal(out, ctx[:, -1:].expand(-1, 6, -1, -1, -1))
    out.add_(1)  # a new tensor, not a view of the context
    assert torch.equal(ctx, clip(3, 4, channels))


@pytest.mark.parametrize("name, layer_norm", [("convlstm", False), ("convlstm", True), ("predrnn", False),
                                              ("predrnn", True)])
def test_gradients_reach_every_parameter(name, layer_norm):
    torch.manual_seed(0)
    model = tiny(name, layer_norm=layer_norm)
    out = model(clip(2, 3), future=2, target=clip(2, 2, seed=1), teacher_forcing=0.5,
                generator=torch.Generator().manual_seed(0))
    ((out - clip(2, 2, seed=1)) ** 2).mean().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().max() > 0, pname


@pytest.mark.parametrize("name", list(ALL))
def test_rollout_past_the_training_horizon(name):
    torch.manual_seed(0)
    model = tiny(name, context=3, future=2)
    ctx = clip(2, 3)
    long = model(ctx, future=25)
    assert long.shape == (2, 25, 1, 8, 8)
    assert torch.isfinite(long).all() and long.abs().max() <= 1
    # a longer rollout starts with the shorter one (the prediction is causal)
    torch.testing.assert_close(long[:, :2], model(ctx, future=2))


@pytest.mark.parametrize("name", list(ALL))
def test_teacher_forcing_feeds_the_true_previous_frame(name):
    torch.manual_seed(0)
    model = tiny(name)
    ctx, target = clip(2, 3), clip(2, 4, seed=1)
    changed = target.clone()
    changed[:, 1] = -changed[:, 1]  # the true frame at future step 1

    forced = model(ctx, future=4, target=target, teacher_forcing=1.0)
    forced_changed = model(ctx, future=4, target=changed, teacher_forcing=1.0)
    # step t reads target frame t-1: steps 0 and 1 are untouched, step 2 is not
    torch.testing.assert_close(forced[:, :2], forced_changed[:, :2])
    assert not torch.allclose(forced[:, 2], forced_changed[:, 2])

    free = model(ctx, future=4)
    torch.testing.assert_close(model(ctx, future=4, target=target, teacher_forcing=0.0), free)
    torch.testing.assert_close(model(ctx, future=4, target=changed, teacher_forcing=0.0), free)
    if name == "copy_last":  # with full teacher forcing copy_last repeats the true previous frame
        assert torch.equal(forced[:, 1:], target[:, :3])


@pytest.mark.parametrize("name", list(ALL))
def test_scheduled_sampling_is_reproducible_with_a_seeded_generator(name):
    torch.manual_seed(0)
    model = tiny(name)
    ctx, target = clip(8, 3), clip(8, 6, seed=1)

    def run(seed: int) -> torch.Tensor:
        return model(ctx, future=6, target=target, teacher_forcing=0.5, generator=torch.Generator().manual_seed(seed))

    rng = torch.get_rng_state()
    a, b, c = run(1), run(1), run(2)
    assert torch.equal(rng, torch.get_rng_state())  # the global RNG is left alone
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("name, hidden, output", [("convlstm", (32,), "linear"), ("predrnn", (16,), "linear"),
                                                  ("convlstm", (16,), "filter"), ("predrnn", (16,), "filter")])
def test_tiny_model_overfits_a_moving_square(name, hidden, output, fit_moving_squares):
    torch.manual_seed(0)
    model = tiny(name, frames=4, context=2, future=2, hidden=hidden, patch_size=2, output=output, filter_size=3)
    losses = fit_moving_squares(model)
    # an all-black guess scores 9/64 * 4 = 0.56; the tiny model has to learn the motion
    assert losses[-1] < losses[0] / 50 and losses[-1] < 0.02, (losses[0], losses[-1])


@pytest.mark.parametrize("name", list(LEARNED))
def test_motion_input_is_read_and_changes_the_prediction(name):
    torch.manual_seed(0)
    plain = tiny(name)
    torch.manual_seed(0)
    moving = tiny(name, motion_radius=2, motion_stride=2)
    # the first layer reads the frame's patches plus the (2*1+1)^2 correlation channels
    def input_width(model):
        first = model.cells[0]
        weight = first.conv_x.weight if name == "predrnn" else first.conv.weight  # convlstm's conv reads [x, h]
        return weight.shape[1]

    assert input_width(moving) == input_width(plain) + 9
    video = clip(2, 5)
    out = moving(video[:, :3], future=4)
    assert out.shape == (2, 4, 1, 8, 8)
    shuffled = video[:, [1, 0, 2]]  # same last frame, other motion before it
    assert not torch.allclose(moving(shuffled, future=1), moving(video[:, :3], future=1))
    loss = out.square().mean()
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in moving.parameters())


@pytest.mark.parametrize("cfg_cls", [ConvLSTMConfig, PredRNNConfig])
def test_config_errors(cfg_cls):
    with pytest.raises(ConfigError, match="model.hidden"):
        cfg_cls(hidden=())
    with pytest.raises(ConfigError, match="model.hidden"):
        cfg_cls(hidden=(8, 0))
    with pytest.raises(ConfigError, match="model.hidden"):
        cfg_cls(hidden=8)
    with pytest.raises(ConfigError, match="kernel_size"):
        cfg_cls(kernel_size=4)
    for key in ("patch_size", "context", "future"):
        with pytest.raises(ConfigError, match=f"model.{key}"):
            cfg_cls(**{key: 0})
    with pytest.raises(ConfigError, match="model.motion_radius"):
        cfg_cls(motion_radius=-1)
    with pytest.raises(ConfigError, match="model.motion_stride=2 must divide") as err:
        cfg_cls(motion_radius=3)
    assert "motion_stride=1" in err.value.hint
    with pytest.raises(ConfigError, match="model.patch_size=1"):
        cfg_cls(motion_radius=4, patch_size=1)
    # YAML gives lists; they are kept as tuples
    assert from_dict(cfg_cls, {"hidden": [8, 8], "layer_norm": True}).hidden == (8, 8)
    with pytest.raises(ConfigError, match="hidden"):
        from_dict(cfg_cls, {"hidden": "64"})


def test_predrnn_layers_share_one_width():
    with pytest.raises(ConfigError, match="same width") as err:
        PredRNNConfig(hidden=(8, 16))
    assert "model.hidden=[16,16]" in err.value.hint


@pytest.mark.parametrize("name", list(ALL))
def test_clip_shape_errors(name):
    cfg_cls = ALL[name][1]
    with pytest.raises(ConfigError, match="data.frames") as err:
        build_model(cfg_cls(context=10, future=10), frames=16, resolution=64, channels=1)
    assert "data.frames=20" in err.value.hint
    with pytest.raises(ConfigError, match="model.context"):
        cfg_cls(context=0)
    if name in LEARNED:
        with pytest.raises(ConfigError, match="patch_size=4") as err:
            build_model(cfg_cls(), frames=20, resolution=30, channels=1)
        assert "divisor of 30" in err.value.hint
    else:
        assert build_model(cfg_cls(), frames=20, resolution=30, channels=1)(clip(1, 2, s=30), future=1).shape == (
            1, 1, 1, 30, 30)


@pytest.mark.parametrize("name", list(ALL))
def test_bad_forward_arguments(name):
    model = tiny(name)
    with pytest.raises(ValueError, match="future"):
        model(clip(1, 3), future=0)
    with pytest.raises(ValueError, match="target"):
        model(clip(1, 3), future=2, teacher_forcing=0.5)
    with pytest.raises(ValueError, match="channels"):
        model(clip(1, 3, 3), future=2)
