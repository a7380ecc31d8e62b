"""vidgen.nn.recurrent: space-to-depth round trip, cell shapes and state use, teacher-forcing draws."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vidgen.nn.recurrent import (
    ConvLSTMCell,
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
