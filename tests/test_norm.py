"""vidgen.nn.norm.GroupNorm: nn.GroupNorm's values, gradients and state dict, channels-last in and out."""

from __future__ import annotations

import torch
from torch import nn

from vidgen.nn.norm import GroupNorm


def test_group_norm_equals_torchs_on_a_channels_last_clip():
    torch.manual_seed(0)
    ours, ref = GroupNorm(4, 8), nn.GroupNorm(4, 8)
    nn.init.normal_(ref.weight)
    nn.init.normal_(ref.bias)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 8, 3, 5, 6).contiguous(memory_format=torch.channels_last_3d)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(xa), ref(xb)
    assert ya.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(ya, yb)
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
    # other layouts go straight through
    y4 = torch.randn(2, 8, 5, 6)
    torch.testing.assert_close(ours(y4), ref(y4))
