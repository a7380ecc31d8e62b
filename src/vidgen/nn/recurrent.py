"""Recurrent building blocks of the next-frame predictors.

- :class:`ConvLSTMCell`: the convolutional LSTM of Shi et al. (2015), all four gates from
  one convolution over ``[x, h]``.
- :class:`SpatioTemporalLSTMCell`: the ST-LSTM of PredRNN (Wang et al., 2017), which adds
  a spatio-temporal memory ``M`` that the model passes up the layer stack and then from
  the top layer at ``t - 1`` to the bottom layer at ``t`` (the zigzag flow).
- :func:`patchify` / :func:`unpatchify`: space-to-depth, so the recurrent layers run on
  ``H/p x W/p`` maps (OpenSTL uses ``p = 4`` for 64x64 Moving MNIST).
- :class:`FrameHead`: the readout from the top hidden state to the next frame, drawn
  directly or made by moving the previous frame (dynamic local filters or a flow field).
- :class:`FrameCorrelation`: an optional extra input, the local correlation (cost volume)
  between the frame just read and the one before, so motion is given to the model rather
  than found by it.
- :func:`stack_cells`: a stack of cells, each layer reading the hidden state of the one below.
- :func:`rollout`, with :func:`check_rollout_args`, :func:`teacher_forcing_mask` and
  :func:`mix_inputs`: the predictor interface (``forward(context, *, future, target,
  teacher_forcing, generator)``) that every predictor shares, kept here so the
  architectures do not inherit from each other.

Layer norm is optional in both cells. It is ``GroupNorm`` with one group per gate: a layer
norm over ``[C, H, W]`` of each gate's pre-activation with a per-channel affine. Unlike
OpenSTL's ``LayerNorm([C, H, W])`` it does not fix the spatial size at construction, so
one network runs at any resolution divisible by the patch size.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import torch
from torch import Tensor, nn


def patchify(x: Tensor, patch_size: int) -> Tensor:
    """Space-to-depth: ``x [B, T, C, H, W] -> [B, T, C*p*p, H/p, W/p]``.

    Any number of leading dimensions is accepted (``[..., C, H, W]``). Channel ``c*p*p +
    i*p + j`` of the output holds pixel ``(i, j)`` of each ``p x p`` patch of channel ``c``,
    the order of :func:`torch.nn.functional.pixel_unshuffle`.
    """
    p = int(patch_size)
    if p < 1:
        raise ValueError(f"patch_size must be >= 1, got {patch_size}")
    *lead, c, h, w = x.shape
    if h % p or w % p:
        raise ValueError(f"frames of {h}x{w} cannot be cut into {p}x{p} patches")
    if p == 1:
        return x
    n = len(lead)
    x = x.reshape(*lead, c, h // p, p, w // p, p)  # [..., C, H/p, p, W/p, p]
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)  # [..., C, p, p, H/p, W/p]
    return x.reshape(*lead, c * p * p, h // p, w // p)


def unpatchify(x: Tensor, patch_size: int) -> Tensor:
    """Depth-to-space, the inverse of :func:`patchify`: ``[B, T, C*p*p, h, w] -> [B, T, C, h*p, w*p]``."""
    p = int(patch_size)
    if p < 1:
        raise ValueError(f"patch_size must be >= 1, got {patch_size}")
    *lead, cpp, h, w = x.shape
    if cpp % (p * p):
        raise ValueError(f"{cpp} channels are not a whole number of {p}x{p} patches")
    if p == 1:
        return x
    n = len(lead)
    c = cpp // (p * p)
    x = x.reshape(*lead, c, p, p, h, w)  # [..., C, p, p, H/p, W/p]
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)  # [..., C, H/p, p, W/p, p]
    return x.reshape(*lead, c, h * p, w * p)


def _check_kernel(kernel_size: int) -> int:
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd and >= 1 (for 'same' padding), got {kernel_size}")
    return kernel_size // 2


def _gate_norm(gates: int, channels: int, enabled: bool) -> nn.Module:
    # one group per gate: each gate's pre-activation is normalised over its own [C, H, W]
    return nn.GroupNorm(gates, gates * channels) if enabled else nn.Identity()


class ConvLSTMCell(nn.Module):
    """Convolutional LSTM cell (Shi et al., 2015), without peephole connections.

    ``i, f, g, o = conv([x, h])``; ``c' = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(g)``;
    ``h' = sigmoid(o) * tanh(c')``. The peepholes of the paper are left out, as in OpenSTL
    and most later ConvLSTM code.

    Args:
        in_channels: channels of the input ``x``.
        hidden_channels: channels of ``h`` and ``c``.
        kernel_size: odd kernel of the gate convolution ('same' padding).
        layer_norm: normalise each gate's pre-activation (see the module docstring).
        forget_bias: added to the forget gate's pre-activation so the cell starts by remembering.
    """

    def __init__(
        self, *, in_channels: int, hidden_channels: int, kernel_size: int = 5, layer_norm: bool = False,
        forget_bias: float = 1.0,
    ):
        super().__init__()
        pad = _check_kernel(kernel_size)
        self.hidden_channels = hidden_channels
        self.forget_bias = float(forget_bias)
        self.conv = nn.Conv2d(in_channels + hidden_channels, 4 * hidden_channels, kernel_size, padding=pad,
                              bias=not layer_norm)
        self.norm = _gate_norm(4, hidden_channels, layer_norm)

    def initial_state(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Zero ``(h, c)``, each ``[B, hidden, H, W]``, on ``x``'s device and dtype."""
        z = x.new_zeros(x.shape[0], self.hidden_channels, x.shape[2], x.shape[3])
        return z, z

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """One step: ``x [B, C_in, H, W]``, ``state (h, c)`` each ``[B, hidden, H, W]`` or None (zeros).

        Returns the new ``(h, c)``.
        """
        h, c = self.initial_state(x) if state is None else state
        gates = self.norm(self.conv(torch.cat([x, h], dim=1)))  # [B, 4*hidden, H, W]
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f + self.forget_bias) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class SpatioTemporalLSTMCell(nn.Module):
    """The ST-LSTM cell of PredRNN (Wang et al., NeurIPS 2017, eq. 3).

    With ``*`` a convolution::

        g  = tanh(W_xg * x + W_hg * h)            g' = tanh(W'_xg * x + W_mg * m)
        i  = sigm(W_xi * x + W_hi * h)            i' = sigm(W'_xi * x + W_mi * m)
        f  = sigm(W_xf * x + W_hf * h + fb)       f' = sigm(W'_xf * x + W_mf * m + fb)
        c' = f * c + i * g                        m' = f' * m + i' * g'
        o  = sigm(W_xo * x + W_ho * h + W_co * c' + W_mo * m')
        h' = o * tanh(W_1x1 * [c', m'])

    ``c`` is the temporal memory of this layer (carried from ``t - 1``); ``m`` is the
    spatio-temporal memory coming from the layer below at ``t`` (or, for the bottom layer,
    from the top layer at ``t - 1``). The x-terms come from one convolution (7 gates), the
    h-terms from another (4), the m-terms from a third (3), as in the authors' code.

    Args:
        in_channels: channels of the input ``x``.
        hidden_channels: channels of ``h``, ``c`` and ``m`` (the memory ``m`` must have this
            width on the way in too, so a stack that shares it has one width throughout).
        kernel_size: odd kernel of the gate convolutions ('same' padding).
        layer_norm: normalise each gate's pre-activation (see the module docstring).
        forget_bias: added to both forget gates' pre-activations.
    """

    def __init__(
        self, *, in_channels: int, hidden_channels: int, kernel_size: int = 5, layer_norm: bool = False,
        forget_bias: float = 1.0,
    ):
        super().__init__()
        pad = _check_kernel(kernel_size)
        hc = hidden_channels
        self.hidden_channels = hc
        self.forget_bias = float(forget_bias)
        # one bias per gate is enough: the x-convolution carries it (or the norms do)
        self.conv_x = nn.Conv2d(in_channels, 7 * hc, kernel_size, padding=pad, bias=not layer_norm)
        self.conv_h = nn.Conv2d(hc, 4 * hc, kernel_size, padding=pad, bias=False)
        self.conv_m = nn.Conv2d(hc, 3 * hc, kernel_size, padding=pad, bias=False)
        self.conv_o = nn.Conv2d(2 * hc, hc, kernel_size, padding=pad, bias=False)  # W_co * c' + W_mo * m'
        self.conv_last = nn.Conv2d(2 * hc, hc, 1)  # W_1x1
        self.norm_x = _gate_norm(7, hc, layer_norm)
        self.norm_h = _gate_norm(4, hc, layer_norm)
        self.norm_m = _gate_norm(3, hc, layer_norm)
        self.norm_o = _gate_norm(1, hc, layer_norm)

    def zeros(self, x: Tensor) -> Tensor:
        """One zero state ``[B, hidden, H, W]`` (for ``h``, ``c`` or ``m``) on ``x``'s device and dtype."""
        return x.new_zeros(x.shape[0], self.hidden_channels, x.shape[2], x.shape[3])

    def forward(
        self, x: Tensor, state: tuple[Tensor, Tensor] | None, memory: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """One step: ``x [B, C_in, H, W]``; ``state (h, c)`` and ``memory m``, each ``[B, hidden, H, W]``
        or None (zeros). Returns ``(h', c', m')``, each ``[B, hidden, H, W]``."""
        h, c = (self.zeros(x), self.zeros(x)) if state is None else state
        m = self.zeros(x) if memory is None else memory
        xi, xf, xg, xi_m, xf_m, xg_m, xo = self.norm_x(self.conv_x(x)).chunk(7, dim=1)
        hi, hf, hg, ho = self.norm_h(self.conv_h(h)).chunk(4, dim=1)
        mi, mf, mg = self.norm_m(self.conv_m(m)).chunk(3, dim=1)

        c = torch.sigmoid(xf + hf + self.forget_bias) * c + torch.sigmoid(xi + hi) * torch.tanh(xg + hg)
        m = torch.sigmoid(xf_m + mf + self.forget_bias) * m + torch.sigmoid(xi_m + mi) * torch.tanh(xg_m + mg)
        cm = torch.cat([c, m], dim=1)  # [B, 2*hidden, H, W]
        o = torch.sigmoid(xo + ho + self.norm_o(self.conv_o(cm)))
        h = o * torch.tanh(self.conv_last(cm))
        return h, c, m


def stack_cells(
    cell: Callable[..., nn.Module], *, in_channels: int, hidden: tuple[int, ...], kernel_size: int, layer_norm: bool
) -> nn.ModuleList:
    """``len(hidden)`` cells, bottom to top: layer ``i`` reads ``hidden[i - 1]`` channels (``in_channels`` for 0).

    ``cell`` is a cell class such as :class:`ConvLSTMCell` or :class:`SpatioTemporalLSTMCell`.
    """
    widths = (in_channels, *hidden)
    return nn.ModuleList(
        cell(in_channels=widths[i], hidden_channels=widths[i + 1], kernel_size=kernel_size, layer_norm=layer_norm)
        for i in range(len(hidden))
    )


def teacher_forcing_mask(
    batch: int, probability: float, *, generator: torch.Generator | None, device: torch.device
) -> Tensor | None:
    """Which samples take the true frame as their next input: bool ``[B]``, or None for none.

    ``probability <= 0`` returns None and ``>= 1`` all True, both without drawing; in between
    one uniform number per sample is drawn from ``generator`` (on the generator's own device,
    so a CPU generator drives a GPU model) or from the global RNG when it is None.
    """
    if probability <= 0.0:
        return None
    if probability >= 1.0:
        return torch.ones(batch, dtype=torch.bool, device=device)
    draw_device = generator.device if generator is not None else device
    u = torch.rand(batch, generator=generator, device=draw_device)
    return (u < probability).to(device)


def mix_inputs(mask: Tensor | None, true: Tensor, predicted: Tensor) -> Tensor:
    """Per sample, the true frame where ``mask`` is set, else the prediction (both ``[B, ...]``)."""
    if mask is None:
        return predicted
    return torch.where(mask.view(-1, *([1] * (true.dim() - 1))), true.to(predicted.dtype), predicted)


def check_rollout_args(
    context: Tensor, *, future: int, target: Tensor | None, teacher_forcing: float, channels: int
) -> None:
    """Validate the arguments of a predictor's ``forward`` (see ``vidgen.models.predictor``).

    ``context [B, Tc, C, H, W]`` with ``Tc >= 1`` and ``C == channels``; ``future >= 1``;
    ``teacher_forcing`` in ``[0, 1]``; when it is positive, ``target [B, >= future - 1, C, H, W]``
    (the last future frame is never fed back, so it may be missing).
    """
    if context.dim() != 5:
        raise ValueError(f"context must be [B, T, C, H, W], got shape {tuple(context.shape)}")
    b, t, c, h, w = context.shape
    if t < 1:
        raise ValueError("context must hold at least one frame")
    if c != channels:
        raise ValueError(f"this model predicts {channels}-channel frames, the context has {c} channels")
    try:
        whole = not isinstance(future, bool) and operator.index(future) >= 1
    except TypeError:
        whole = False
    if not whole:
        raise ValueError(f"future must be an integer >= 1, got {future!r}")
    if not 0.0 <= teacher_forcing <= 1.0:
        raise ValueError(f"teacher_forcing is a probability in [0, 1], got {teacher_forcing}")
    if teacher_forcing > 0.0:
        if target is None:
            raise ValueError("teacher_forcing > 0 needs the ground-truth future as target")
        if target.dim() != 5 or target.shape[0] != b or tuple(target.shape[2:]) != (c, h, w):
            raise ValueError(f"target must be [{b}, T, {c}, {h}, {w}], got {tuple(target.shape)}")
        if target.shape[1] < future - 1:
            raise ValueError(
                f"target holds {target.shape[1]} frames, teacher forcing {future} steps needs {future - 1}"
            )


def squash_output(out: Tensor, kind: str, *, training: bool) -> Tensor:
    """A predictor's raw next-frame output mapped to frames.

    ``"tanh"`` squashes into ``[-1, 1]``; ``"linear"`` leaves it as it is while training (no
    vanishing gradient at the background value -1) and clamps it to ``[-1, 1]`` otherwise.
    """
    if kind == "tanh":
        return torch.tanh(out)
    return out if training else out.clamp(-1.0, 1.0)


OUTPUTS = ("linear", "tanh", "filter", "warp")


class FrameHead(nn.Module):
    """A recurrent predictor's readout: top hidden state (and the frame just read) -> next frame.

    ``output`` picks how the next frame is made:

    - ``"linear"`` / ``"tanh"``: a 1x1 convolution gives the next frame's patches directly
      (see :func:`squash_output`).
    - ``"filter"``: dynamic local filters (the dynamic filter networks of De Brabandere et al.,
      2016; Finn et al.'s CDNA is the same idea): for every pixel, the 1x1 convolution gives
      the logits of a vertical and of a horizontal ``filter_size``-tap kernel; their softmax
      weights the pixel's neighbours in the frame the model has just read, first along the
      columns, then along the rows. The next frame is thus a per-pixel convex combination of
      the previous one: content moves (up to ``filter_size // 2`` pixels per step in each
      direction; one-hot kernels shift it exactly) instead of being redrawn, so it stays
      sharp, the output stays in ``[-1, 1]``, and a flat background comes out exactly. The
      separable form costs ``2 k`` products per pixel instead of ``k * k``; it represents any
      translation, though not every 2-D kernel. The kernels start close to the identity (the
      centre tap's logit is ``centre_logit`` higher): the untrained model copies the last
      frame. It cannot draw what the previous frame does not show (objects entering the view).
      With ``cell_radius = R > 0`` a coarse stage comes first: per patch cell a vertical and
      a horizontal kernel of ``2R + 1`` taps over whole cells move the patches by up to ``R``
      cells (``R * p`` pixels), then the per-pixel kernels refine. Content travels up to
      ``R * p + filter_size // 2`` pixels for the cost of ``2R + 1 + filter_size`` taps a
      pixel, where one wide per-pixel kernel would cost ``2 R p + filter_size`` (Moving MNIST's
      36 pixels over 10 frames: 19 + 9 taps instead of 73).
    - ``"warp"``: a dense flow field (the ConvLSTM + differentiable warping of Patraucean et
      al., 2016): the 1x1 convolution gives, per pixel, the displacement ``(dy, dx)`` in
      pixels of the content arriving there, and the next frame is the previous one sampled
      bilinearly at ``x - (dy, dx)`` (borders replicate). Any displacement, sub-pixel ones
      included, at the cost of one bilinear interpolation per step; it starts at zero flow
      (a copy of the last frame).
    """

    def __init__(self, hidden: int, channels: int, patch_size: int, output: str = "linear", filter_size: int = 9,
                 centre_logit: float = 4.0, cell_radius: int = 0):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
        _check_kernel(filter_size)
        self.output, self.channels, self.patch_size, self.filter_size = output, channels, patch_size, filter_size
        if cell_radius < 0:
            raise ValueError(f"cell_radius must be >= 0, got {cell_radius}")
        self.cell_taps = 2 * cell_radius + 1 if output == "filter" and cell_radius else 0
        p2 = patch_size * patch_size
        k = filter_size
        per_pixel = {"filter": 2 * k, "warp": 2}.get(output, channels)
        self.proj = nn.Conv2d(hidden, per_pixel * p2, kernel_size=1)
        self.coarse = None  # the per-cell kernels of the coarse stage: logits of 2 x cell_taps taps
        if self.cell_taps:
            self.coarse = nn.Conv2d(hidden, 2 * self.cell_taps, kernel_size=1)
            with torch.no_grad():
                self.coarse.bias.zero_()
                self.coarse.bias[[cell_radius, self.cell_taps + cell_radius]] = centre_logit
                self.coarse.weight.mul_(0.1)
        if output == "warp":
            with torch.no_grad():
                self.proj.bias.zero_()
                self.proj.weight.mul_(0.1)
        if output == "filter":
            with torch.no_grad():
                # channel t*p*p + (i*p + j) is tap t at pixel (i, j) of a patch (the patchify order);
                # taps 0..k-1 are the vertical kernel, k..2k-1 the horizontal one
                self.proj.bias.zero_()
                for centre in (k // 2, k + k // 2):
                    self.proj.bias[centre * p2 : (centre + 1) * p2] = centre_logit
                self.proj.weight.mul_(0.1)  # start near the identity kernel everywhere

    def forward(self, top: Tensor, frame: Tensor) -> Tensor:
        """``top [B, hidden, h, w]``, ``frame [B, C*p*p, h, w]`` (the patchified frame just read) -> next frame ``[B, C*p*p, h, w]``."""
        out = self.proj(top)
        if self.output == "warp":
            return patchify(warp(unpatchify(frame, self.patch_size), unpatchify(out, self.patch_size)),
                            self.patch_size)
        if self.output != "filter":
            return squash_output(out, self.output, training=self.training)
        p, k = self.patch_size, self.filter_size
        b, _, h, w = out.shape
        if self.coarse is not None:  # move whole patches first: all C*p*p channels of a cell together
            n = self.cell_taps
            cells = self.coarse(top).view(b, 2, n, h, w).softmax(dim=2)
            frame = _filter_along(_filter_along(frame, cells[:, 0], dim=2), cells[:, 1], dim=3)
        # softmax over the taps of each kernel: [B, 2, k, p*p*h*w] keeps the taps in planes
        weights = unpatchify(out.view(b, 2, k, -1).softmax(dim=2).view(b, 2 * k * p * p, h, w), p)  # [B, 2k, H, W]
        prev = unpatchify(frame, p)  # [B, C, H, W]
        moved = _filter_along(prev, weights[:, :k], dim=2)
        return patchify(_filter_along(moved, weights[:, k:], dim=3), p)


class FrameCorrelation(nn.Module):
    """Local correlation between consecutive frames, pooled to the patch grid: motion as an input.

    For every displacement ``d`` in ``[-radius, radius]^2`` (in steps of ``stride`` pixels)
    and every pixel ``x``, the product ``a(x) * b(x - d)`` of the current frame ``a`` and the
    previous frame ``b`` (both mapped to ``[0, 1]``, summed over colour channels and
    average-pooled by ``stride``), averaged over each ``p x p`` patch: the cost volume of
    FlowNet-C / PWC-Net (Dosovitskiy et al. 2015, Sun et al. 2018) on raw pixels. Where
    content moved by ``v`` the channel ``d = v`` is the largest, so a recurrent predictor
    reads each region's displacement instead of having to discover it from its own hidden
    state (measured on Moving MNIST in docs/training.md). It has no parameters and
    is an observation, not a path for gradients (computed under ``no_grad``). The first frame
    of a clip (no previous frame) gets zeros.
    """

    def __init__(self, channels: int, patch_size: int, radius: int, stride: int = 2):
        super().__init__()
        if radius < 1 or stride < 1 or patch_size % stride or radius % stride:
            raise ValueError(f"radius ({radius}) and patch_size ({patch_size}) must be positive multiples of "
                             f"stride ({stride})")
        self.channels, self.patch_size, self.radius, self.stride = channels, patch_size, radius, stride
        self.out_channels = (2 * (radius // stride) + 1) ** 2

    def _plane(self, frame: Tensor) -> Tensor:
        """Patchified ``[B, C*p*p, h, w]`` in ``[-1, 1]`` -> ``[B, 1, H/s, W/s]`` in ``[0, C]``."""
        x = (unpatchify(frame, self.patch_size).sum(1, keepdim=True) + self.channels) * 0.5
        return nn.functional.avg_pool2d(x, self.stride) if self.stride > 1 else x

    @torch.no_grad()
    def forward(self, prev: Tensor | None, cur: Tensor) -> Tensor:
        """``prev``, ``cur``: patchified frames ``[B, C*p*p, h, w]`` in ``[-1, 1]`` -> ``[B, out_channels, h, w]``."""
        b, _, h, w = cur.shape
        if prev is None:
            return cur.new_zeros(b, self.out_channels, h, w)
        a, before = self._plane(cur), self._plane(prev)
        r, k = self.radius // self.stride, 2 * (self.radius // self.stride) + 1
        # tap (i, j) of the window at x is before(x + (i - r, j - r)): displacement d = (r - i, r - j) strides
        taps = nn.functional.unfold(nn.functional.pad(before, (r, r, r, r)), k)  # [B, k*k, (H/s)*(W/s)]
        corr = (taps * a.flatten(2)).view(b, k * k, *a.shape[2:])
        pool = self.patch_size // self.stride
        return nn.functional.avg_pool2d(corr, pool) if pool > 1 else corr


def warp(frame: Tensor, flow: Tensor) -> Tensor:
    """``frame [B, C, H, W]`` moved by ``flow [B, 2, H, W]``: ``out(y, x) = frame(y - dy, x - dx)``, bilinear.

    ``flow[:, 0]`` is the vertical and ``flow[:, 1]`` the horizontal displacement in pixels
    of the content arriving at each pixel; samples outside the frame take the border's value.
    """
    b, _, h, w = frame.shape
    ys = torch.arange(h, device=frame.device, dtype=flow.dtype).view(1, h, 1)
    xs = torch.arange(w, device=frame.device, dtype=flow.dtype).view(1, 1, w)
    # grid_sample's normalised coordinates (align_corners=False): pixel centre i -> (2 i + 1) / size - 1
    gy = (2 * (ys - flow[:, 0]) + 1) / h - 1
    gx = (2 * (xs - flow[:, 1]) + 1) / w - 1
    grid = torch.stack([gx, gy], dim=-1)  # [B, H, W, 2] as (x, y)
    return nn.functional.grid_sample(frame, grid.to(frame.dtype), mode="bilinear", padding_mode="border",
                                     align_corners=False)


def _filter_along(x: Tensor, weights: Tensor, dim: int) -> Tensor:
    """Per-pixel 1-D filtering of ``x [B, C, H, W]`` along ``dim`` (2: columns, 3: rows), ``weights [B, k, H, W]``.

    Borders replicate. ``sum_t w_t x_t`` is computed as ``x + sum_t w_t (x_t - x)``, equal
    because the weights sum to 1, so a flat neighbourhood comes out exactly.
    """
    k = weights.shape[1]
    pad = (0, 0, k // 2, k // 2) if dim == 2 else (k // 2, k // 2, 0, 0)
    taps = nn.functional.pad(x, pad, mode="replicate").unfold(dim, k, 1)  # [B, C, H, W, k], a view
    return x + ((taps - x.unsqueeze(-1)) * weights.movedim(1, -1).unsqueeze(1).to(x.dtype)).sum(-1)


def rollout(
    context: Tensor,
    *,
    future: int,
    target: Tensor | None,
    teacher_forcing: float,
    generator: torch.Generator | None,
    channels: int,
    step: Callable[[Tensor, Any], tuple[Tensor, Any]],
    state: Any = None,
    readout: Callable[[Tensor, Tensor], Tensor] | None = None,
    patch_size: int = 1,
    with_context: bool = False,
    motion: FrameCorrelation | None = None,
) -> Tensor:
    """The forward pass of a recurrent predictor: warm up on the context, then predict frame by frame.

    The frames are patchified (``p = patch_size``); ``step`` reads the context frames one by
    one (their outputs are dropped); from the last context frame on, each step's output goes
    through ``readout`` to give the next frame, and the step after reads either that
    prediction or, with probability ``teacher_forcing`` per sample, the true frame
    (scheduled sampling, Bengio et al. 2015). The rollout may run past the training horizon.

    Args:
        context: ``[B, Tc, C, H, W]`` in ``[-1, 1]``, any ``Tc >= 1``; ``H, W`` divisible by ``p``.
        future: number of frames to predict, any ``>= 1``.
        target: ``[B, >= future - 1, C, H, W]``, the ground-truth future, read only when
            ``teacher_forcing > 0`` (and then only its first ``future - 1`` frames).
        teacher_forcing: probability that a future step's input is the true previous frame
            instead of the model's own prediction, drawn per sample and per step.
        generator: the RNG of those draws (CPU or the input's device); None uses the global RNG.
        channels: the ``C`` the model predicts (checked against ``context``).
        step: ``(x [B, C*p*p, H/p, W/p], state) -> (output, new state)``, one time step.
        state: the initial state passed to the first ``step``.
        readout: ``(output, x) -> next frame [B, C*p*p, H/p, W/p]``, where ``x`` is the frame
            the step has just read (for outputs that transform it, see :class:`FrameHead`);
            None keeps the output as it is.
        patch_size: the space-to-depth factor ``p``.
        with_context: also return the next-frame guesses made while reading the context
            (frames ``2 .. Tc``), for a loss on every frame as OpenSTL trains.
        motion: when given, ``step`` reads the frame with its correlation to the frame read
            before appended along the channels (see :class:`FrameCorrelation`).

    Returns:
        ``[B, future, C, H, W]``, a new tensor (``[B, Tc - 1 + future, C, H, W]`` with
        ``with_context``: the prediction of frames ``2 .. Tc + future``).
    """
    check_rollout_args(context, future=future, target=target, teacher_forcing=teacher_forcing, channels=channels)
    batch, t_context = context.shape[:2]
    frames = patchify(context, patch_size)  # [B, Tc, C*p*p, H/p, W/p]
    truth = None
    if teacher_forcing > 0.0 and future > 1:
        truth = patchify(target[:, : future - 1], patch_size)  # [B, future-1, C*p*p, H/p, W/p]

    previous: Tensor | None = None

    def read(x: Tensor, state: Any) -> tuple[Tensor, Any]:
        nonlocal previous
        if motion is not None:
            x_in = torch.cat([x, motion(previous, x)], dim=1)
            previous = x
            x = x_in
        return step(x, state)

    preds: list[Tensor] = []
    for t in range(t_context - 1):  # warm-up on the context; its next-frame guesses only for with_context
        out, state = read(frames[:, t], state)
        if with_context:
            preds.append(out if readout is None else readout(out, frames[:, t]))

    x = frames[:, -1]
    for k in range(future):
        if k > 0:
            mask = teacher_forcing_mask(batch, teacher_forcing, generator=generator, device=context.device)
            x = preds[-1] if mask is None else mix_inputs(mask, truth[:, k - 1], preds[-1])
        out, state = read(x, state)
        preds.append(out if readout is None else readout(out, x))  # [B, C*p*p, H/p, W/p]
    return unpatchify(torch.stack(preds, dim=1), patch_size)  # [B, future, C, H, W]
