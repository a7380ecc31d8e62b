"""Inception-I3D: reference names, TF "SAME" padding, both file formats, finding and hashing files."""

from __future__ import annotations

import hashlib
import os
import warnings

import pytest
import torch
import torch.nn.functional as F

from vidgen.errors import VidgenError
from vidgen.metrics import i3d as i3d_mod
from vidgen.metrics.i3d import (
    I3D_STATE_DICT,
    I3D_TORCHSCRIPT,
    InceptionI3d,
    StyleGANVI3D,
    check_sha256,
    detect_format,
    file_sha256,
    find_i3d,
    fold_batch_norm,
    load_i3d_state_dict,
    load_i3d_torchscript,
    save_i3d_torchscript,
)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")


def random_i3d(seed: int = 0) -> InceptionI3d:
    """Random weights, with batch-norm statistics far enough from identity for eps to matter."""
    torch.manual_seed(seed)
    model = InceptionI3d()
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(1e-3, 2.0)  # small variances make eps 1e-3 vs 1e-5 visible
            elif name.endswith("running_mean") or name.endswith("bn.bias"):
                t.normal_(0.0, 0.1)
            elif name.endswith("bn.weight"):
                t.uniform_(0.8, 1.2)
    return model


@pytest.fixture(scope="module")
def model() -> InceptionI3d:
    return random_i3d()


@pytest.fixture(scope="module")
def files(model, tmp_path_factory):
    d = tmp_path_factory.mktemp("i3d")
    sd = d / I3D_STATE_DICT.name
    torch.save(model.state_dict(), sd)
    ts = save_i3d_torchscript(model, d / I3D_TORCHSCRIPT.name)
    return {"state_dict": sd, "torchscript": ts, "dir": d}


# --- the reference layout ------------------------------------------------------------------


def test_state_dict_has_the_287_reference_names(model):
    sd = model.state_dict()
    assert len(sd) == 287
    for key in ("Conv3d_1a_7x7.conv3d.weight", "Conv3d_1a_7x7.bn.running_var", "Conv3d_1a_7x7.bn.weight",
                "Conv3d_2c_3x3.bn.running_mean", "Mixed_3b.b1b.conv3d.weight", "Mixed_5c.b3b.bn.running_var",
                "Mixed_4f.b2a.bn.bias", "logits.conv3d.weight", "logits.conv3d.bias"):
        assert key in sd, key
    assert not any("num_batches_tracked" in k for k in sd)
    assert tuple(sd["Conv3d_1a_7x7.conv3d.weight"].shape) == (64, 3, 7, 7, 7)
    assert tuple(sd["Mixed_5c.b1b.conv3d.weight"].shape) == (384, 192, 3, 3, 3)
    assert tuple(sd["logits.conv3d.weight"].shape) == (400, 1024, 1, 1, 1)
    # 57 conv + batch-norm units (5 tensors each) and the logits' weight and bias
    assert sum(k.endswith("conv3d.weight") for k in sd) == 58


def test_bn_eps_is_settable(model):
    m = InceptionI3d(bn_eps=1e-5)
    assert m.bn_eps == 1e-5 and m.Mixed_5c.b3b.bn.eps == 1e-5
    m.set_bn_eps(1e-3)
    assert all(mod.eps == 1e-3 for mod in m.modules() if isinstance(mod, i3d_mod._FrozenBatchNorm))


@pytest.mark.parametrize("size,kernel,stride", [(224, 7, 2), (225, 7, 2), (9, 7, 2), (112, 3, 2), (111, 3, 2),
                                                (4, 2, 2), (5, 2, 2), (7, 3, 1), (1, 3, 1), (16, 1, 1)])
def test_same_pad_is_tensorflows(size, kernel, stride):
    front, back = i3d_mod._same_pad(size, kernel, stride)
    out = -(-size // stride)  # TF: out = ceil(size / stride), total = max((out - 1) s + k - size, 0)
    total = max((out - 1) * stride + kernel - size, 0)
    assert (front, back) == (total // 2, total - total // 2)
    assert (size + front + back - kernel) // stride + 1 == out


def _reference_unit(x, unit):
    """pytorch_i3d.py's Unit3D: explicit zero pad (odd element at the end), conv, bn, relu."""
    pads = []
    for dim in (2, 1, 0):  # F.pad order: W, H, T
        s, k, st = x.shape[2 + dim], unit.kernel[dim], unit.stride[dim]
        total = max(k - st, 0) if s % st == 0 else max(k - s % st, 0)
        pads += [total // 2, total - total // 2]
    y = F.conv3d(F.pad(x, pads), unit.conv3d.weight, unit.conv3d.bias, unit.stride)
    bn = unit.bn
    y = F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
    return F.relu(y)


@pytest.mark.parametrize("shape", [(1, 3, 5, 8, 9), (2, 3, 4, 7, 6)])
def test_units_and_pools_pad_like_the_pytorch_port(model, shape):
    torch.manual_seed(1)
    x = torch.randn(*shape)
    with torch.no_grad():
        first = model.Conv3d_1a_7x7  # 7x7x7 stride 2: asymmetric padding
        torch.testing.assert_close(first(x), _reference_unit(x, first), rtol=1e-5, atol=1e-6)
        unit = model.Mixed_3b.b1b  # 3x3x3 stride 1: symmetric, padded by the convolution itself
        h = torch.randn(shape[0], unit.conv3d.in_channels, *shape[2:])
        torch.testing.assert_close(unit(h), _reference_unit(h, unit), rtol=1e-5, atol=1e-6)
        pool = model.MaxPool3d_4a_3x3  # 3x3x3 stride 2, zero padded at the end
        r = torch.relu(torch.randn(*shape))
        pads = []
        for dim in (2, 1, 0):
            s = r.shape[2 + dim]
            total = max(3 - 2, 0) if s % 2 == 0 else max(3 - s % 2, 0)
            pads += [total // 2, total - total // 2]
        torch.testing.assert_close(pool(r), F.max_pool3d(F.pad(r, pads), 3, 2))


def test_eps_changes_the_numbers_and_inputs_are_checked(model):
    torch.manual_seed(2)
    x = torch.randn(1, 3, 4, 10, 10)
    unit = model.Conv3d_1a_7x7
    with torch.inference_mode():
        a = unit(x)
        unit.bn.eps = 1e-5
        b = unit(x)
        unit.bn.eps = 1e-3
    assert not torch.allclose(a, b, rtol=1e-4, atol=0)
    with pytest.raises(ValueError, match="T >= 9"):
        model(torch.zeros(1, 3, 8, 224, 224))
    with pytest.raises(ValueError, match="H, W >= 193"):
        model(torch.zeros(1, 3, 9, 192, 224))
    with pytest.raises(ValueError, match="channels before time"):
        model(torch.zeros(1, 9, 3, 224, 224))


def test_folded_batch_norm_is_the_same_function(model):
    folded = fold_batch_norm(model)
    assert folded.Conv3d_1a_7x7.bn is None and model.Conv3d_1a_7x7.bn is not None  # a copy
    torch.manual_seed(4)
    x = torch.randn(1, 3, 5, 9, 10)
    h = torch.relu(torch.randn(1, 480, 3, 4, 4))
    with torch.inference_mode():
        torch.testing.assert_close(folded.Conv3d_1a_7x7(x), model.Conv3d_1a_7x7(x), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(folded.Mixed_4b(h), model.Mixed_4b(h), rtol=1e-4, atol=1e-5)


# --- files ---------------------------------------------------------------------------------


def test_state_dict_file_loads_strictly(model, files):
    loaded = load_i3d_state_dict(files["state_dict"], bn_eps=1e-5)
    assert loaded.bn_eps == 1e-5
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    assert detect_format(files["state_dict"]) == "state_dict"


def test_wrong_keys_are_listed(model, tmp_path):
    sd = dict(model.state_dict())
    sd["Logits.conv3d.weight"] = sd.pop("logits.conv3d.weight")
    sd["extra.thing"] = torch.zeros(1)
    path = tmp_path / "bad.pt"
    torch.save(sd, path)
    with pytest.raises(VidgenError) as e:
        load_i3d_state_dict(path)
    msg = str(e.value)
    assert "missing keys: logits.conv3d.weight" in msg
    assert "unexpected keys: Logits.conv3d.weight, extra.thing" in msg
    assert I3D_STATE_DICT.sha256 in msg


def test_wrong_shape_and_unreadable_files(model, tmp_path):
    sd = dict(model.state_dict())
    sd["logits.conv3d.weight"] = torch.zeros(600, 1024, 1, 1, 1)
    torch.save(sd, tmp_path / "k600.pt")
    with pytest.raises(VidgenError, match="wrong shape"):
        load_i3d_state_dict(tmp_path / "k600.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(VidgenError, match="not a readable PyTorch state dict"):
        load_i3d_state_dict(tmp_path / "junk.pt")
    with pytest.raises(VidgenError, match="not a readable TorchScript file"):
        load_i3d_torchscript(tmp_path / "junk.pt")


def test_torchscript_file_has_stylegan_v_call_signature(model, files):
    assert detect_format(files["torchscript"]) == "torchscript"
    scripted = load_i3d_torchscript(files["torchscript"])
    args = [a.name for a in scripted.forward.schema.arguments]
    assert args == ["self", "x", "rescale", "resize", "return_features"]
    # its forward pass is compared with ours in test_fvd.py (one I3D pass is slow on a CPU)
    assert torch.equal(scripted.model.Mixed_5c.b3b.bn.running_var, model.Mixed_5c.b3b.bn.running_var)


def test_forward_returns_time_averaged_logits(model):
    torch.manual_seed(3)
    x = torch.rand(1, 3, 9, 193, 193) * 2 - 1  # the smallest input the final [2, 7, 7] pool accepts
    seen = []
    hook = model.Mixed_5c.register_forward_hook(lambda mod, inp, out: seen.append(out))
    try:
        with torch.inference_mode():
            out = model(x)
    finally:
        hook.remove()
    trunk = seen[0]  # [1, 1024, 2, 7, 7]
    with torch.inference_mode():
        pooled = F.avg_pool3d(trunk, (2, 7, 7), stride=1)
        want = model.logits(pooled).flatten(2).mean(2)
    assert trunk.shape == (1, 1024, 2, 7, 7) and out.shape == (1, 400)
    torch.testing.assert_close(out, want)


class _MeanNet(torch.nn.Module):
    def forward(self, x):  # [B, 3, T, H, W] -> [B, 3]
        return x.mean(dim=(2, 3, 4))


def test_stylegan_v_flags():
    u = torch.arange(2 * 3 * 2 * 4 * 4, dtype=torch.float32).reshape(2, 3, 2, 4, 4) % 256
    wrapper = StyleGANVI3D(_MeanNet(), size=8)
    torch.testing.assert_close(wrapper(u), u.mean(dim=(2, 3, 4)).softmax(dim=1))  # no flag: softmax of raw input
    torch.testing.assert_close(wrapper(u, rescale=True, return_features=True), (u / 127.5 - 1).mean(dim=(2, 3, 4)))
    resized = F.interpolate(u, size=(2, 8, 8), mode="trilinear", align_corners=False)
    torch.testing.assert_close(wrapper(u, resize=True, return_features=True), resized.mean(dim=(2, 3, 4)))


def test_find_i3d_precedence(files, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "detectors").mkdir(parents=True)
    monkeypatch.setenv("VIDGEN_CACHE", str(cache))
    monkeypatch.delenv("VIDGEN_I3D", raising=False)
    cached = cache / "detectors" / I3D_STATE_DICT.name
    cached.write_bytes(files["state_dict"].read_bytes())
    assert find_i3d() == cached  # cache folder
    monkeypatch.setenv("VIDGEN_I3D", str(files["torchscript"]))
    assert find_i3d() == files["torchscript"]  # environment beats the cache
    assert find_i3d(files["state_dict"]) == files["state_dict"]  # explicit path beats both
    assert find_i3d(files["dir"], prefer="state_dict") == files["state_dict"]  # a folder holding both
    assert find_i3d(files["dir"]) == files["torchscript"]


def test_missing_detector_says_what_to_get_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDGEN_CACHE", str(tmp_path / "empty"))
    monkeypatch.delenv("VIDGEN_I3D", raising=False)
    with pytest.raises(VidgenError) as e:
        find_i3d()
    text = str(e.value)
    for needle in (I3D_TORCHSCRIPT.name, I3D_TORCHSCRIPT.sha256, "dropbox.com/s/ge9e5ujwgetktms",
                   I3D_STATE_DICT.name, I3D_STATE_DICT.sha256, "1mQK8KD8G6UWRa5t87SRMm5PVXtlpneJT",
                   str(tmp_path / "empty" / "detectors"), "VIDGEN_I3D"):
        assert needle in text, needle
    with pytest.raises(VidgenError, match="does not exist"):
        find_i3d(tmp_path / "nope.pt")
    monkeypatch.setenv("VIDGEN_I3D", str(tmp_path / "gone.pt"))
    with pytest.raises(VidgenError, match=r"\$VIDGEN_I3D"):
        find_i3d()


def test_sha256_is_reported_cached_and_checked(files, tmp_path):
    path = tmp_path / "copy.pt"
    path.write_bytes(files["state_dict"].read_bytes())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_sha256(path) == digest
    key = next(k for k in i3d_mod._SHA_CACHE if k[0] == str(path.resolve()))
    i3d_mod._SHA_CACHE[key] = "cached"  # a second call with the same path, size and mtime is not rehashed
    assert file_sha256(path) == "cached"
    os.utime(path, ns=(1, 1))  # a new mtime is a new file
    assert file_sha256(path) == digest
    with pytest.warns(UserWarning, match="differs from the published"):
        assert check_sha256(path, I3D_STATE_DICT.sha256) == digest
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_sha256(path, digest) == digest
