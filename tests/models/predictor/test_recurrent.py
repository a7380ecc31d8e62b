"""vidgen.nn.recurrent: space-to-depth round trip, cell shapes and state use, teacher-forcing draws."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vidgen.nn.recurrent import (
    ConvLSTMCell,
    FrameHead,
    SpatioTemporalLSTMCell,
    check_rollout_args,
    patchify,
    teacher_forcing_mask,
    unpatchify,
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


def test_filter_head_output_is_a_convex_combination():
    torch.manual_seed(0)
    head = _filter_head(2, k=5)
    frame = torch.full((3, 1, 8, 8), -1.0)  # a black background is reproduced exactly, whatever the kernels
    out = head(torch.randn(3, 4, 4, 4) * 10, patchify(frame, 2))
    assert torch.equal(out, patchify(frame, 2))
    frame = torch.rand(3, 1, 8, 8) * 1.6 - 0.8
    out = unpatchify(head(torch.randn(3, 4, 4, 4) * 10, patchify(frame, 2)), 2)
    assert out.min() >= frame.min() - 1e-6 and out.max() <= frame.max() + 1e-6


def test_frame_head_rejects_unknown_outputs_and_even_filters():
    with pytest.raises(ValueError, match="output must be one of"):
        FrameHead(4, 1, 1, output="warp")
    with pytest.raises(ValueError, match="odd"):
        FrameHead(4, 1, 1, output="filter", filter_size=4)
