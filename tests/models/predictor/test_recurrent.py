"""vidgen.nn.recurrent: space-to-depth round trip, cell shapes and state use, teacher-forcing draws."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vidgen.nn.recurrent import (
    ConvLSTMCell,
    FrameCorrelation,
    FrameHead,
    SpatioTemporalLSTMCell,
    check_rollout_args,
    patchify,
    teacher_forcing_mask,
    unpatchify,
    warp,
)


@pytest.mark.parametrize("p", [1, 2, 4])
def test_patchify_is_pixel_unshuffle_and_unpatchify_inverts_it(p):
    x = torch.randn(2, 3, 3, 8, 12)
    y = patchify(x, p)
    assert y.shape == (2, 3, 3 * p * p, 8 // p, 12 // p)
    torch.testing.assert_close(y, F.pixel_unshuffle(x.flatten(0, 1), p).unflatten(0, (2, 3)))
    assert torch.equal(unpatchify(y, p), x)


def test_patchify_rejects_sizes_it_cannot_cut():
    with pytest.raises(ValueError, match="3x3 patches"):
        patchify(torch.zeros(1, 1, 1, 8, 8), 3)
    with pytest.raises(ValueError, match="patches"):
        unpatchify(torch.zeros(1, 1, 5, 2, 2), 2)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_convlstm_cell_shapes_and_zero_state(layer_norm):
    torch.manual_seed(0)
    cell = ConvLSTMCell(in_channels=3, hidden_channels=5, kernel_size=3, layer_norm=layer_norm)
    x = torch.randn(2, 3, 6, 7)
    h, c = cell(x)
    assert h.shape == c.shape == (2, 5, 6, 7)
    zeros = torch.zeros(2, 5, 6, 7)
    h0, c0 = cell(x, (zeros, zeros))
    assert torch.equal(h, h0) and torch.equal(c, c0)
    h2, _ = cell(x, (h, c))  # the state is used
    assert not torch.allclose(h2, h)
    assert h.abs().max() <= 1


@pytest.mark.parametrize("layer_norm", [False, True])
def test_st_lstm_cell_shapes_and_memory(layer_norm):
    torch.manual_seed(0)
    cell = SpatioTemporalLSTMCell(in_channels=4, hidden_channels=6, kernel_size=3, layer_norm=layer_norm)
    x = torch.randn(2, 4, 5, 5)
    h, c, m = cell(x, None, None)
    assert h.shape == c.shape == m.shape == (2, 6, 5, 5)
    # the spatio-temporal memory enters h (through o and the 1x1 conv over [c, m])
    h_m, c_m, m_m = cell(x, None, torch.randn(2, 6, 5, 5))
    assert not torch.allclose(h_m, h) and not torch.allclose(m_m, m)
    assert torch.equal(c_m, c)  # ... but not the temporal memory c
    h_s, c_s, m_s = cell(x, (h, c), None)
    assert not torch.allclose(c_s, c) and torch.equal(m_s, m)  # and (h, c) do not touch m


def test_cells_want_odd_kernels():
    with pytest.raises(ValueError, match="odd"):
        ConvLSTMCell(in_channels=1, hidden_channels=2, kernel_size=4)
    with pytest.raises(ValueError, match="odd"):
        SpatioTemporalLSTMCell(in_channels=1, hidden_channels=2, kernel_size=2)


def test_teacher_forcing_mask():
    cpu = torch.device("cpu")
    assert teacher_forcing_mask(4, 0.0, generator=None, device=cpu) is None
    assert teacher_forcing_mask(4, 1.0, generator=None, device=cpu).all()
    a = teacher_forcing_mask(64, 0.5, generator=torch.Generator().manual_seed(1), device=cpu)
    b = teacher_forcing_mask(64, 0.5, generator=torch.Generator().manual_seed(1), device=cpu)
    assert a.dtype == torch.bool and torch.equal(a, b) and 0 < a.sum() < 64


def test_check_rollout_args():
    ctx = torch.zeros(2, 3, 1, 8, 8)
    check_rollout_args(ctx, future=4, target=None, teacher_forcing=0.0, channels=1)
    check_rollout_args(ctx, future=4, target=torch.zeros(2, 3, 1, 8, 8), teacher_forcing=1.0, channels=1)
    with pytest.raises(ValueError, match="future"):
        check_rollout_args(ctx, future=0, target=None, teacher_forcing=0.0, channels=1)
    with pytest.raises(ValueError, match="channels"):
        check_rollout_args(ctx, future=1, target=None, teacher_forcing=0.0, channels=3)
    with pytest.raises(ValueError, match="target"):
        check_rollout_args(ctx, future=2, target=None, teacher_forcing=0.5, channels=1)
    with pytest.raises(ValueError, match="needs 3"):
        check_rollout_args(ctx, future=4, target=torch.zeros(2, 2, 1, 8, 8), teacher_forcing=0.5, channels=1)
    with pytest.raises(ValueError, match="probability"):
        check_rollout_args(ctx, future=1, target=None, teacher_forcing=1.5, channels=1)
    with pytest.raises(ValueError, match=r"\[B, T, C, H, W\]"):
        check_rollout_args(ctx[0], future=1, target=None, teacher_forcing=0.0, channels=1)


def _filter_head(p: int, k: int = 3, channels: int = 1) -> FrameHead:
    return FrameHead(hidden=4, channels=channels, patch_size=p, output="filter", filter_size=k)


@pytest.mark.parametrize("p", [1, 2])
def test_filter_head_starts_near_copying_the_frame_it_read(p):
    torch.manual_seed(0)
    head = _filter_head(p)
    frame = torch.rand(2, 1, 8, 8) * 2 - 1
    out = unpatchify(head(torch.zeros(2, 4, 8 // p, 8 // p), patchify(frame, p)), p)
    # zero hidden state: only the bias speaks, which favours the centre tap of both 1-D kernels
    w = torch.tensor([1.0, torch.e**4, 1.0])
    w = w / w.sum()
    padded = F.pad(frame, (0, 0, 1, 1), mode="replicate")
    columns = sum(w[i] * padded[..., i : i + 8, :] for i in range(3))
    padded = F.pad(columns, (1, 1, 0, 0), mode="replicate")
    expected = sum(w[j] * padded[..., :, j : j + 8] for j in range(3))
    torch.testing.assert_close(out, expected)
    assert (out - frame).abs().max() < 1  # close to a copy, slightly blurred


@pytest.mark.parametrize("p", [1, 2, 4])
@pytest.mark.parametrize("dy, dx", [(0, 2), (-1, 0), (2, -2)])
def test_filter_head_moves_content_exactly_with_one_hot_kernels(p, dy, dx):
    head = _filter_head(p, k=5, channels=3)
    with torch.no_grad():
        head.proj.weight.zero_()
        head.proj.bias.fill_(-50.0)
        # tap t of a kernel reads the neighbour t - 2 away: content moves by (2 - t) pixels
        for tap in (2 - dy, 5 + 2 - dx):
            head.proj.bias[tap * p * p : (tap + 1) * p * p] = 50.0
    frame = torch.full((1, 3, 8, 8), -1.0)
    frame[..., 3:5, 2:5] = torch.tensor([0.3, -0.2, 0.9]).view(1, 3, 1, 1)
    out = unpatchify(head(torch.zeros(1, 4, 8 // p, 8 // p), patchify(frame, p)), p)
    expected = torch.full_like(frame, -1.0)
    expected[..., 3 + dy : 5 + dy, 2 + dx : 5 + dx] = frame[..., 3:5, 2:5]
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("cells_dy, cells_dx, dy, dx", [(1, 0, 0, 1), (-2, 1, 1, -1), (0, 2, 0, 0)])
def test_coarse_stage_moves_whole_patches_then_the_filters_refine(cells_dy, cells_dx, dy, dx):
    p, radius = 4, 2
    head = FrameHead(hidden=4, channels=2, patch_size=p, output="filter", filter_size=3, cell_radius=radius)
    n = 2 * radius + 1
    with torch.no_grad():
        for conv in (head.proj, head.coarse):
            conv.weight.zero_()
            conv.bias.fill_(-50.0)
        # coarse tap t reads the cell t - radius away: patches move by (radius - t) cells
        head.coarse.bias[[radius - cells_dy, n + radius - cells_dx]] = 50.0
        for tap in (1 - dy, 3 + 1 - dx):  # fine taps as in the one-hot test above, k = 3
            head.proj.bias[tap * p * p : (tap + 1) * p * p] = 50.0
    frame = torch.full((1, 2, 32, 32), -1.0)
    frame[..., 13:18, 11:17] = torch.rand(1, 2, 5, 6) * 2 - 1
    out = unpatchify(head(torch.zeros(1, 4, 8, 8), patchify(frame, p)), p)
    shift = (cells_dy * p + dy, cells_dx * p + dx)  # pixels: whole cells, then the fine step
    torch.testing.assert_close(out, torch.roll(frame, shifts=shift, dims=(2, 3)))
    with pytest.raises(ValueError, match="cell_radius"):
        FrameHead(4, 1, 4, output="filter", cell_radius=-1)


def test_coarse_stage_starts_near_the_identity():
    torch.manual_seed(0)
    head = FrameHead(hidden=4, channels=1, patch_size=2, output="filter", filter_size=3, cell_radius=3)
    frame = torch.full((1, 1, 32, 32), -1.0)
    frame[..., 6:9, 6:10] = 1.0
    out = unpatchify(head(torch.zeros(1, 4, 16, 16), patchify(frame, 2)), 2)
    # most of the mass stays where it was; beyond the reach (3 cells of 2 pixels + 1) it stays exactly black
    assert out[..., 6:9, 6:10].mean() > 0 and torch.equal(out[..., :, 17:], frame[..., :, 17:])


def test_filter_head_output_is_a_convex_combination():
    torch.manual_seed(0)
    head = _filter_head(2, k=5)
    frame = torch.full((3, 1, 8, 8), -1.0)  # a black background is reproduced exactly, whatever the kernels
    out = head(torch.randn(3, 4, 4, 4) * 10, patchify(frame, 2))
    assert torch.equal(out, patchify(frame, 2))
    frame = torch.rand(3, 1, 8, 8) * 1.6 - 0.8
    out = unpatchify(head(torch.randn(3, 4, 4, 4) * 10, patchify(frame, 2)), 2)
    assert out.min() >= frame.min() - 1e-6 and out.max() <= frame.max() + 1e-6


def test_warp_moves_content_by_the_flow():
    torch.manual_seed(0)
    frame = torch.full((2, 3, 12, 12), -1.0)
    frame[..., 4:7, 3:8] = torch.rand(2, 3, 3, 5) * 2 - 1
    zero = torch.zeros(2, 2, 12, 12)
    torch.testing.assert_close(warp(frame, zero), frame)  # zero flow: the frame itself
    flow = zero.clone()
    flow[:, 0], flow[:, 1] = 2.0, -3.0  # everything moves 2 down, 3 left
    torch.testing.assert_close(warp(frame, flow), torch.roll(frame, shifts=(2, -3), dims=(2, 3)))
    flow[:, 0], flow[:, 1] = 0.0, 0.5  # half a pixel right: the mean of each pixel and its left neighbour
    expected = 0.5 * (frame + torch.cat([frame[..., :1], frame[..., :-1]], dim=3))
    torch.testing.assert_close(warp(frame, flow), expected)


@pytest.mark.parametrize("p", [1, 4])
def test_warp_head_starts_as_a_copy_and_reads_a_flow_per_pixel(p):
    head = FrameHead(hidden=4, channels=1, patch_size=p, output="warp")
    frame = torch.rand(1, 1, 8, 8) * 2 - 1
    top = torch.zeros(1, 4, 8 // p, 8 // p)
    torch.testing.assert_close(unpatchify(head(top, patchify(frame, p)), p), frame)  # zero bias: zero flow
    with torch.no_grad():
        head.proj.weight.zero_()
        head.proj.bias[: p * p] = 1.0  # dy = 1 at every pixel of a patch, dx = 0
    moved = unpatchify(head(top, patchify(frame, p)), p)
    torch.testing.assert_close(moved[..., 1:, :], frame[..., :-1, :])
    torch.testing.assert_close(moved[..., 0, :], frame[..., 0, :])  # the border replicates


def test_frame_head_rejects_unknown_outputs_and_even_filters():
    with pytest.raises(ValueError, match="output must be one of"):
        FrameHead(4, 1, 1, output="flow")
    with pytest.raises(ValueError, match="odd"):
        FrameHead(4, 1, 1, output="filter", filter_size=4)


def _textured_blob(channels: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    frame = torch.full((2, channels, 32, 32), -1.0)
    frame[..., 10:20, 12:19] = torch.rand(2, channels, 10, 7, generator=g) * 2 - 1
    return frame


@pytest.mark.parametrize("stride, shift", [(1, (3, -2)), (1, (0, 4)), (2, (2, -4)), (2, (-4, 0))])
@pytest.mark.parametrize("channels", [1, 3])
def test_frame_correlation_peaks_at_the_displacement(stride, shift, channels):
    p, radius = 4, 4
    corr = FrameCorrelation(channels, p, radius, stride)
    before = _textured_blob(channels)
    after = torch.roll(before, shifts=shift, dims=(2, 3))  # content moved by (dy, dx)
    out = corr(patchify(before, p), patchify(after, p))
    k = 2 * (radius // stride) + 1
    assert out.shape == (2, k * k, 8, 8) and corr.out_channels == k * k
    for volume in out.sum((2, 3)):  # per clip, summed over the patches
        i, j = divmod(int(volume.argmax()), k)
        assert ((radius // stride - i) * stride, (radius // stride - j) * stride) == shift


def test_frame_correlation_is_an_observation_without_gradient():
    corr = FrameCorrelation(1, 2, 2, 1)
    frame = patchify(_textured_blob(), 2).requires_grad_(True)
    out = corr(frame, frame)
    assert not out.requires_grad
    assert torch.equal(corr(None, frame), torch.zeros(2, 25, 16, 16))  # no previous frame: nothing known
    black = patchify(torch.full((1, 1, 8, 8), -1.0), 2)
    assert torch.equal(corr(black, black), torch.zeros(1, 25, 4, 4))  # background contributes nothing


def test_frame_correlation_rejects_strides_that_do_not_divide():
    for radius, patch, stride in [(3, 4, 2), (4, 2, 4), (0, 4, 1)]:
        with pytest.raises(ValueError, match="multiples of stride"):
            FrameCorrelation(1, patch, radius, stride)
