"""FLOP counting that is right for grouped (depthwise) convolutions.

``torch.utils.flop_counter`` counts a convolution's forward pass correctly, but its formula for
``aten.convolution_backward`` ignores ``groups``: the gradients of a depthwise convolution with
``C`` channels are counted ``C`` times over (a 64-channel depthwise 3x3 conv's backward as 65x its
forward instead of 2x), which made grouped-convolution models (SimVP's inception blocks) report
more FLOP/s than the machine has. :func:`flop_counter` is ``FlopCounterMode`` with the formula
fixed: each of the two gradients (input, weight) costs what the forward does,
``2 N prod(spatial) prod(weight shape)`` (``spatial``: the output's, or the input's for a
transposed convolution), whatever the groups, stride or dilation.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode


def conv_backward_flop(grad_out_shape: Any, x_shape: Any, w_shape: Any, _bias: Any, _stride: Any, _padding: Any,
                       _dilation: Any, transposed: bool, _output_padding: Any, _groups: int, output_mask: Any,
                       out_shape: Any = None, **kwargs: Any) -> int:
    spatial = x_shape[2:] if transposed else grad_out_shape[2:]
    forward = 2 * x_shape[0] * math.prod(spatial) * math.prod(w_shape)
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def flop_counter(**kwargs: Any) -> FlopCounterMode:
    """``FlopCounterMode(display=False, ...)`` with the grouped-convolution backward counted right."""
    mapping = {torch.ops.aten.convolution_backward: conv_backward_flop, **kwargs.pop("custom_mapping", {})}
    return FlopCounterMode(display=kwargs.pop("display", False), custom_mapping=mapping, **kwargs)
