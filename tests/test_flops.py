"""The FLOP counter of the throughput benchmark counts grouped and dilated convolutions right."""

from __future__ import annotations

import pytest
import torch

from vidgen.utils.flops import flop_counter


@pytest.mark.parametrize("groups,dilation,transposed", [(1, 1, False), (64, 1, False), (8, 2, False), (4, 1, True)])
def test_a_training_step_of_a_conv_counts_three_forwards(groups, dilation, transposed):
    kind = torch.nn.ConvTranspose2d if transposed else torch.nn.Conv2d
    conv = kind(64, 64, 3, padding=dilation, dilation=dilation, groups=groups)
    x = torch.randn(2, 64, 16, 16, requires_grad=True)
    out_spatial = 16 * 16
    hand = 2 * 2 * out_spatial * 64 * (64 // groups) * 9  # multiply-adds of the forward, x 2
    with flop_counter() as fc:
        conv(x)
    assert fc.get_total_flops() == hand
    with flop_counter() as fc:
        conv(x).sum().backward()
    assert fc.get_total_flops() == 3 * hand  # forward, grad of the input, grad of the weight
