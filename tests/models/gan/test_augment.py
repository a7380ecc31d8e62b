"""DiffAugment for clips: one transform per clip shared by its frames, differentiable, validated policies."""

from __future__ import annotations

import pytest
import torch

from vidgen.errors import ConfigError
from vidgen.models.gan.augment import POLICIES, diff_augment, num_draws, parse_policy, uniform_from_normal
from vidgen.models.gan.training import GANObjective

ALL = "color,translation,cutout"


def _clips(b=4, t=5, c=3, h=16, w=16, seed=0) -> torch.Tensor:
    return torch.rand(b, t, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _u(b: int, policy: str, seed: int = 1) -> torch.Tensor:
    return torch.rand(b, num_draws(policy), generator=torch.Generator().manual_seed(seed))


def test_empty_policy_is_the_identity():
    x = _clips()
    assert diff_augment(x, "", None) is x
    assert parse_policy("") == () and num_draws("") == 0


def test_policies_are_validated_with_the_valid_choices():
    assert parse_policy(" color, cutout ") == ("color", "cutout")
    with pytest.raises(ConfigError, match="'colour'") as e:
        GANObjective(diffaugment="colour,translation")
    assert all(name in e.value.hint for name in POLICIES)
    with pytest.raises(ConfigError, match="twice"):
        parse_policy("cutout,cutout")
    with pytest.raises(ValueError, match="shape"):
        diff_augment(_clips(), "color", torch.rand(4, 2))


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", ALL])
def test_identical_frames_stay_identical(policy):
    frame = _clips(t=1)
    x = frame.expand(-1, 6, -1, -1, -1).contiguous()  # a still clip
    out = diff_augment(x, policy, _u(4, policy))
    assert out.shape == x.shape
    torch.testing.assert_close(out, out[:, :1].expand_as(out))
    assert not torch.equal(out, x)


@pytest.mark.parametrize("policy", ["translation", "cutout"])
def test_every_frame_gets_the_clip_s_transform(policy):
    x, u = _clips(), _u(4, policy)
    out = diff_augment(x, policy, u)
    for t in range(x.shape[1]):  # a frame alone, with the clip's draw, is transformed the same
        torch.testing.assert_close(out[:, t:t + 1], diff_augment(x[:, t:t + 1], policy, u))


def test_translation_moves_every_frame_by_the_same_offset():
    b, t, h = 8, 4, 16
    x = -torch.ones(b, t, 1, h, h)
    for i in range(t):  # a dot that moves one pixel per frame
        x[:, i, 0, 6 + i, 5] = 1.0
    out = diff_augment(x, "translation", _u(b, "translation", seed=3))
    moved = 0
    for clip in range(b):
        offsets = set()
        for i in range(t):
            ys, xs = torch.nonzero(out[clip, i, 0] == 1, as_tuple=True)
            assert len(ys) == 1  # shifts of at most 1/8 of 16 px keep the dot inside
            offsets.add((ys.item() - (6 + i), xs.item() - 5))
        assert len(offsets) == 1, offsets
        (dy, dx), = offsets
        assert abs(dy) <= 2 and abs(dx) <= 2
        moved += (dy, dx) != (0, 0)
    assert moved > 0
    # the pixels shifted in from outside the frame are zeros
    out = diff_augment(torch.ones(1, 2, 1, h, h), "translation", torch.tensor([[0.0, 0.999]]))  # dy=-2, dx=+2
    assert (out[0, :, 0, :2] == 0).all() and (out[0, :, 0, :, -2:] == 0).all() and (out[0, :, 0, 2:, :-2] == 1).all()


def test_cutout_zeroes_a_square_of_half_the_frame():
    x = torch.ones(6, 3, 2, 16, 16)
    out = diff_augment(x, "cutout", _u(6, "cutout"))
    holes = (out == 0).all(dim=(1, 2))  # [B, H, W]: zero in every frame and channel
    assert ((out == 0) == holes[:, None, None]).all()  # and nowhere else
    area = holes.flatten(1).sum(1)
    assert (area > 0).all() and (area <= 64).all()  # at most 8 x 8, less where it crosses the border


def test_color_changes_every_frame_by_the_same_affine_map():
    x, u = _clips(), _u(4, "color")
    out = diff_augment(x, "color", u)
    # brightness/saturation/contrast with one pivot per clip: out is affine in x with clip constants,
    # so frame differences are scaled, never shifted (no flicker is added)
    d_in = x[:, 1:] - x[:, :-1]
    d_out = out[:, 1:] - out[:, :-1]
    gray_in, gray_out = d_in.mean(2, keepdim=True), d_out.mean(2, keepdim=True)
    contrast = (u[:, 2] + 0.5).view(-1, 1, 1, 1, 1)
    torch.testing.assert_close(gray_out, gray_in * contrast, atol=1e-5, rtol=1e-5)


def test_augmentation_is_differentiable():
    x = _clips().requires_grad_(True)
    out = diff_augment(x, ALL, _u(4, ALL))
    out.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    x.grad = None
    diff_augment(x, "translation,cutout", _u(4, "translation,cutout")).sum().backward()
    assert (x.grad == 0).any() and (x.grad == 1).any()  # cut-out (and shifted-out) pixels get no gradient


def test_uniform_from_normal_is_uniform():
    u = uniform_from_normal(torch.randn(20000, generator=torch.Generator().manual_seed(0)))
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean().item() - 0.5) < 0.01 and abs(u.var().item() - 1 / 12) < 0.005
