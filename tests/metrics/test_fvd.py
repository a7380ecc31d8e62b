"""FVD / KVD: protocol preprocessing, streaming statistics, distances, detectors, caching."""

from __future__ import annotations

import hashlib
import json
import sys
import types

import numpy as np
import pytest
import torch

from vidgen.errors import ConfigError, VidgenError
from vidgen.metrics import fvd as fvd_mod
from vidgen.metrics.fvd import (
    Detector,
    FeatureStats,
    I3DDetector,
    TorchScriptI3DDetector,
    all_reduce_stats,
    cached_stats,
    compute_fvd,
    compute_kvd,
    compute_metric,
    extract_features,
    frechet_distance,
    fvd_from_features,
    kernel_distance,
    load_detector,
    preprocess,
    quantize,
    real_stats_key,
    resize_half_pixel,
    resize_shorter_side_crop,
    resize_tf_legacy,
)
from vidgen.metrics.fvd import shorter_side_size, trace_sqrt_product
from vidgen.metrics.i3d import I3D_STATE_DICT, I3D_TORCHSCRIPT, InceptionI3d, save_i3d_torchscript
from vidgen.metrics.stats import _pack_stats
from vidgen.registry import METRICS

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")


class StubDetector(Detector):
    """Cheap deterministic features [B, 6] of clips, for testing everything around the network."""

    def __init__(self, sha256: str = "0" * 64, protocol: str = "styleganv"):
        self.name, self.sha256, self.protocol = "stub", sha256, protocol
        self.calls: list[int] = []

    def features(self, videos):
        self.calls.append(videos.shape[0])
        x = videos.float()
        return torch.stack([x.mean((1, 2, 3, 4)), x.std((1, 2, 3, 4)), x[:, :, 0].mean((1, 2, 3)),
                            (x ** 2).mean((1, 2, 3, 4)), x[:, 0].mean((1, 2, 3)), x[:, -1].amax((1, 2, 3))], 1)


def clips(n: int, t: int = 4, c: int = 3, h: int = 8, w: int = 8, *, seed: int = 0, shift: float = 0.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, t, c, h, w, generator=g) * 1.6 - 0.8 + shift).clamp(-1, 1)


# --- names and quantisation ----------------------------------------------------------------


def parse_fvd_name(name: str) -> tuple[int, int]:
    """``(clips, frames)`` of an FVD/KVD name, as the metric registry parses it."""
    params = METRICS.get(name).params
    return params["clips"], params["frames"]


def test_parse_metric_names():
    assert parse_fvd_name("fvd2048_16f") == (2048, 16)
    assert parse_fvd_name("fvd256_16f") == (256, 16)
    assert parse_fvd_name("fvd2048_128f") == (2048, 128)
    assert parse_fvd_name("kvd2048_16f") == (2048, 16)
    for bad in ("fvd", "fvd2048", "fvd2048_16", "fid50k_full", "fvd1_16f", "FVD2048_16f"):
        with pytest.raises(ConfigError, match="fvd2048_16f"):
            parse_fvd_name(bad)


def test_quantize_reproduces_the_references():
    x = torch.tensor([-1.0, -0.999, 0.0, 0.5, 0.99999, 1.0, 1.5, -3.0])
    # StyleGAN-V: (x * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    torch.testing.assert_close(quantize(x, "round"), (x * 127.5 + 128).clamp(0, 255).to(torch.uint8).float())
    # VideoGPT / TATS samples: ((x + 1) / 2 in [0, 1] * 255).astype(np.uint8)
    x01 = ((x + 1) / 2).clamp(0, 1).numpy()
    torch.testing.assert_close(quantize(x, "trunc"), torch.from_numpy((x01 * 255).astype(np.uint8)).float())
    torch.testing.assert_close(quantize(x, "none"), (x + 1) * 127.5)
    u = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(quantize(u.float() / 127.5 - 1, "round"), u.float())  # bytes survive the round trip
    assert torch.equal(quantize(u), u.float())
    with pytest.raises(ConfigError):
        quantize(x, "ceil")


# --- resizes, by hand ----------------------------------------------------------------------


def test_tf_legacy_resize_by_hand():
    row = torch.tensor([[[[0.0, 10.0]]]])  # [1, 1, 1, 2]
    # src = dst * in / out = [0, .5, 1, 1.5]; the upper neighbour is clamped to the last pixel
    torch.testing.assert_close(resize_tf_legacy(row, (1, 4)), torch.tensor([[[[0.0, 5.0, 10.0, 10.0]]]]))
    img = torch.arange(12.0).reshape(1, 1, 3, 4)
    out = resize_tf_legacy(img, (2, 2))  # src rows [0, 1.5], cols [0, 2]
    torch.testing.assert_close(out, torch.tensor([[[[0.0, 2.0], [6.0, 8.0]]]]))


def _tf_legacy_numpy(img: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """Pixel-by-pixel TF1 resize_bilinear(align_corners=False) of an [H, W] array."""
    h, w = img.shape
    out = np.zeros((oh, ow))
    for i in range(oh):
        y = i * h / oh
        y0, y1 = int(np.floor(y)), min(int(np.ceil(y)), h - 1)
        for j in range(ow):
            x = j * w / ow
            x0, x1 = int(np.floor(x)), min(int(np.ceil(x)), w - 1)
            top = img[y0, x0] + (img[y0, x1] - img[y0, x0]) * (x - x0)
            bottom = img[y1, x0] + (img[y1, x1] - img[y1, x0]) * (x - x0)
            out[i, j] = top + (bottom - top) * (y - y0)
    return out


@pytest.mark.parametrize("oh,ow", [(11, 13), (3, 4), (7, 7)])
def test_tf_legacy_resize_matches_the_formula(oh, ow):
    img = np.random.default_rng(0).uniform(0, 255, size=(5, 7))
    got = resize_tf_legacy(torch.tensor(img, dtype=torch.float32)[None, None], (oh, ow))[0, 0].double().numpy()
    np.testing.assert_allclose(got, _tf_legacy_numpy(img, oh, ow), atol=1e-3)


def test_half_pixel_resize_by_hand():
    row = torch.tensor([[[[0.0, 10.0]]]])
    # src = (dst + 0.5) * 2 / 4 - 0.5 = [-.25, .25, .75, 1.25], clamped to the edges
    torch.testing.assert_close(resize_half_pixel(row, (1, 4)), torch.tensor([[[[0.0, 2.5, 7.5, 10.0]]]]))


def test_shorter_side_resize_and_centre_crop_by_hand():
    assert shorter_side_size(64, 64, 224) == (224, 224)
    assert shorter_side_size(100, 100, 224) == (225, 224)  # VideoGPT's float ceil (224.00000000000003), reproduced
    assert shorter_side_size(64, 128, 224) == (224, 448)
    assert shorter_side_size(120, 90, 224) == (299, 224)
    img = torch.arange(8.0).reshape(1, 1, 2, 4)  # shorter side already 2: no resize, crop columns 1..2
    torch.testing.assert_close(resize_shorter_side_crop(img, 2), torch.tensor([[[[1.0, 2.0], [5.0, 6.0]]]]))
    wide = torch.tensor([[[[0.0, 10.0, 20.0, 30.0]]]])  # 1 x 4 -> 2 x 8 (half pixel), crop columns 3..4
    up = resize_half_pixel(wide, (2, 8))
    torch.testing.assert_close(resize_shorter_side_crop(wide, 2), up[..., 3:5])
    torch.testing.assert_close(up[0, 0, 0, 3:5], torch.tensor([12.5, 17.5]))


def test_preprocess_layout_and_scaling_per_protocol():
    u = torch.tensor([0, 51, 255], dtype=torch.uint8)
    for protocol in ("tf", "styleganv", "videogpt", "tats"):
        const = torch.stack([torch.full((2, 3, 1, 5, 6), int(v), dtype=torch.uint8) for v in u])  # [3, 2, 3, 5, 6]
        x = preprocess(const.reshape(3, 2, 3, 5, 6), protocol, size=4)
        assert x.shape == (3, 3, 2, 4, 4) and x.dtype == torch.float32  # [B, 3, T, S, S]
        torch.testing.assert_close(x[:, 0, 0, 0, 0], 2 * u.float() / 255 - 1, rtol=0, atol=2e-7)
    grey = clips(2, c=1)
    torch.testing.assert_close(preprocess(grey, "tf", size=4)[:, 0], preprocess(grey, "tf", size=4)[:, 2])
    # time stays in order and each frame is resized on its own
    v = clips(1, t=3)
    x = preprocess(v, "tats", size=6)
    frame1 = 2 * resize_half_pixel(quantize(v[:, 1]), 6) / 255 - 1
    torch.testing.assert_close(x[:, :, 1], frame1)
    x = preprocess(v, "tf", size=6)
    torch.testing.assert_close(x[:, :, 2], 2 * resize_tf_legacy(quantize(v[:, 2]), 6) / 255 - 1)
    x = preprocess(v, "videogpt", size=6)
    torch.testing.assert_close(x[:, :, 0], (resize_shorter_side_crop(quantize(v[:, 0]) / 255, 6) - 0.5) * 2)
    x = preprocess(v, "styleganv", size=6)
    torch.testing.assert_close(x[:, :, 0], resize_half_pixel(quantize(v[:, 0]) / 127.5 - 1, 6))
    with pytest.raises(VidgenError, match="channels"):
        preprocess(torch.zeros(1, 3, 4, 8, 8), "tf")
    with pytest.raises(ConfigError, match="valid protocols"):
        preprocess(v, "fid")


# --- statistics ----------------------------------------------------------------------------


def test_streaming_stats_equal_batch_stats():
    x = np.random.default_rng(1).normal(size=(101, 7)) * 3 + 100  # a large mean: no cancellation allowed
    x[[0, 1, 30]] = x[[0, 1, 30]].astype(np.float32)  # these rows are sent as float32 tensors
    stats = FeatureStats()
    for part in np.array_split(x, [1, 2, 30, 31, 77]):
        stats.update(torch.from_numpy(part).float() if len(part) == 1 else part)
    assert stats.n == 101
    np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-13)
    np.testing.assert_allclose(stats.cov(), np.cov(x, rowvar=False), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats.cov(unbiased=False), np.cov(x, rowvar=False, bias=True), rtol=1e-10, atol=1e-12)


def test_merge_equals_concatenation_and_files_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(40, 5)), rng.normal(size=(25, 5)) + 1
    merged = FeatureStats(keep=100).update(a).merge(FeatureStats(keep=100).update(b))
    whole = np.concatenate([a, b])
    np.testing.assert_allclose(merged.mean, whole.mean(0), rtol=1e-13)
    np.testing.assert_allclose(merged.cov(), np.cov(whole, rowvar=False), rtol=1e-12)
    np.testing.assert_allclose(merged.features, whole.astype(np.float32))  # all kept, in order
    assert FeatureStats().merge(merged).n == 65
    path = merged.save(tmp_path / "s.npz", meta={"a": 1})
    back = FeatureStats.load(path)
    assert back.n == 65 and back.meta == {"a": 1}
    np.testing.assert_array_equal(back.cov(), merged.cov())
    np.testing.assert_array_equal(back.features, merged.features)
    (tmp_path / "bad.npz").write_bytes(b"junk")
    with pytest.raises(VidgenError, match="not a readable"):
        FeatureStats.load(tmp_path / "bad.npz")


def test_reservoir_is_capped_and_uniform():
    x = np.arange(1000, dtype=np.float64)[:, None] * np.ones((1, 2))
    stats = FeatureStats(keep=100, seed=3)
    for part in np.array_split(x, 13):
        stats.update(part)
    kept = stats.features[:, 0]
    assert kept.shape == (100,) and len(set(kept)) == 100
    assert 300 < kept.mean() < 700  # drawn from the whole stream, not its start
    other = FeatureStats(keep=100, seed=4).update(x + 1000)
    stats.merge(other)
    assert stats.features.shape == (100, 2) and 20 < (stats.features[:, 0] >= 1000).sum() < 80
    with pytest.raises(VidgenError, match="keep="):
        FeatureStats().update(x).features


def test_all_reduce_is_a_no_op_alone_and_merges_ranks(monkeypatch):
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(10, 4)), rng.normal(size=(7, 4))
    mine = FeatureStats(keep=20).update(a)
    assert all_reduce_stats(mine) is mine  # no process group
    theirs = FeatureStats(keep=20).update(b)
    import torch.distributed as dist

    def all_gather(out, tensor):  # rank 0 is this process, rank 1 sends `theirs`
        out[0], out[1] = tensor, torch.from_numpy(_pack_stats(theirs, 4, (len(tensor) - 2 - 4 - 16) // 4))

    monkeypatch.setattr(dist, "is_available", lambda: True)
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(dist, "get_backend", lambda: "gloo")
    monkeypatch.setattr(dist, "all_reduce", lambda t, op=None: None)
    monkeypatch.setattr(dist, "all_gather", all_gather)
    merged = all_reduce_stats(mine)
    whole = np.concatenate([a, b])
    assert merged.n == 17
    np.testing.assert_allclose(merged.cov(), np.cov(whole, rowvar=False), rtol=1e-12)
    np.testing.assert_allclose(merged.features, whole.astype(np.float32))


# --- distances -----------------------------------------------------------------------------


def test_frechet_distance_closed_form_for_diagonal_covariances():
    rng = np.random.default_rng(6)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    d1, d2 = rng.uniform(0.1, 3, size=5), rng.uniform(0.1, 3, size=5)
    want = ((mu1 - mu2) ** 2).sum() + (d1 + d2 - 2 * np.sqrt(d1 * d2)).sum()
    assert frechet_distance(mu1, np.diag(d1), mu2, np.diag(d2)) == pytest.approx(want, rel=1e-12)
    assert frechet_distance(mu1, np.diag(d1), mu1, np.diag(d1)) == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("n,d", [(50, 8), (20, 30)])  # the second: both covariances singular (N < D)
def test_trace_sqrt_product_matches_the_eigenvalues_of_the_product(n, d):
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(n, d)), rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.3
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(s1 @ s2)  # tr sqrt(S1 S2) = sum of sqrt of its (real, >= 0) eigenvalues
    want = np.sqrt(np.clip(eig.real, 0, None)).sum()
    assert trace_sqrt_product(s1, s2) == pytest.approx(want, rel=1e-6)
    scipy_linalg = pytest.importorskip("scipy.linalg")
    root = scipy_linalg.sqrtm(s1 @ s2)
    assert trace_sqrt_product(s1, s2) == pytest.approx(np.trace(root).real, rel=1e-6)


def test_fvd_of_a_set_with_itself_is_zero_and_shift_is_not():
    f = np.random.default_rng(8).normal(size=(64, 16))
    for protocol in ("tf", "styleganv", "videogpt", "tats"):
        assert abs(fvd_from_features(f, f, protocol)) < 1e-6
    assert fvd_from_features(f, f + 0.5, "tf") == pytest.approx(16 * 0.25, rel=1e-9)
    g = f * 2  # covariance 4x: the trace term is tr(S + 4S - 2 * 2S) = tr(S)
    assert fvd_from_features(f, g, "styleganv") == pytest.approx(
        (f.mean(0) ** 2).sum() + np.trace(np.cov(f, rowvar=False, bias=True)), rel=1e-9)


def test_kernel_distance():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(200, 10)), rng.normal(size=(200, 10))
    same, shifted = kernel_distance(x, y), kernel_distance(x, y + 1.0)
    assert abs(same) < 0.05 * shifted and shifted > 0.1
    # the full-set estimate, written out as TATS' polynomial_mmd (sklearn kernel: gamma = 1 / D, coef0 = 1)
    a, b = x[:30], y[:20] + 0.3
    k = lambda p, q: (p @ q.T / 10 + 1) ** 3  # noqa: E731
    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    want = (kaa.sum() - np.trace(kaa)) / (30 * 29) + (kbb.sum() - np.trace(kbb)) / (20 * 19) - 2 * kab.mean()
    assert kernel_distance(a, b) == pytest.approx(want, rel=1e-12)
    # one subset holding every item is the full-set estimate (StyleGAN's KID with m = N)
    assert kernel_distance(x, y, subsets=1, subset_size=1000) == pytest.approx(kernel_distance(x, y), rel=1e-9)
    assert kernel_distance(x, y + 1, subsets=5, subset_size=50) > 0.1


# --- the pipeline with a stub detector -----------------------------------------------------


def test_extract_features_rebatches_any_source():
    v = clips(7, t=5)
    det = StubDetector()
    whole = extract_features(det, v, batch_size=3, progress=False)
    assert det.calls == [3, 3, 1]
    det.calls.clear()
    items = [{"video": c} for c in v]  # dataset items [T, C, H, W]
    streamed = extract_features(det, items, batch_size=4, progress=False, keep=10)
    assert det.calls == [4, 3]
    np.testing.assert_allclose(streamed.cov(), whole.cov(), rtol=1e-12)
    det.calls.clear()
    capped = extract_features(det, [v[:2], v[2:]], batch_size=4, progress=False, max_items=5, frames=3)
    assert capped.n == 5 and det.calls == [4, 1]
    with pytest.raises(VidgenError, match="needs 6"):
        extract_features(det, v, frames=6, progress=False)


def test_compute_fvd_records_and_checks_counts():
    det = StubDetector(sha256="ab" * 32)
    real, fake = clips(6, t=5, seed=1), clips(6, t=5, seed=2, shift=0.3)
    rec = compute_fvd(real, fake, det, num_clips=6, frames=4, batch_size=4, progress=False)
    assert rec["metric"] == "fvd6_4f" and rec["value"] > 0
    assert {k: rec[k] for k in ("protocol", "detector", "detector_sha256", "real_clips", "fake_clips", "frames")} == {
        "protocol": "styleganv", "detector": "stub", "detector_sha256": "ab" * 32, "real_clips": 6,
        "fake_clips": 6, "frames": 4}
    same = compute_fvd(real, real, det, frames=4, progress=False)
    assert abs(same["value"]) < 1e-6
    assert compute_metric("fvd6_4f", real, fake, det, progress=False)["value"] == pytest.approx(rec["value"])
    kvd = compute_metric("kvd6_4f", real, fake, det, progress=False)
    assert kvd["metric"] == "kvd6_4f" and kvd["value"] > compute_kvd(real, real, det, frames=4, progress=False)["value"]
    with pytest.raises(VidgenError, match="only 6 real clips"):
        compute_metric("fvd2048_4f", real, fake, det, progress=False)
    few = extract_features(det, real[:3], progress=False, frames=4)
    with pytest.raises(VidgenError, match="only 3 real clips"):
        compute_fvd(few, fake, det, num_clips=6, frames=4, progress=False)
    with pytest.raises(ConfigError, match="protocol"):
        compute_fvd(real, fake, det, "tf", progress=False)


def test_cached_stats_invalidate_on_detector_or_data_change(tmp_path):
    calls = []

    def compute(value):
        def fn():
            calls.append(value)
            return FeatureStats().update(np.full((3, 2), float(value)) + np.eye(3, 2))
        return fn

    data = {"name": "shapes", "root": "/data/x", "size": 64}
    det = StubDetector(sha256="11" * 32)
    key = real_stats_key(data, det, num_clips=256, frames=16)
    assert key["detector_sha256"] == "11" * 32 and key["protocol"] == "styleganv"
    first = cached_stats(key, compute(1), tmp_path)
    again = cached_stats(key, compute(2), tmp_path)
    assert calls == [1] and np.array_equal(again.mean, first.mean)
    cached_stats(real_stats_key(data, StubDetector(sha256="22" * 32), num_clips=256, frames=16), compute(3), tmp_path)
    cached_stats(real_stats_key({**data, "size": 128}, det, num_clips=256, frames=16), compute(4), tmp_path)
    cached_stats(real_stats_key(data, det, num_clips=256, frames=128), compute(5), tmp_path)
    cached_stats(real_stats_key(data, StubDetector(sha256="11" * 32, protocol="tf"), num_clips=256, frames=16),
                 compute(6), tmp_path)
    assert calls == [1, 3, 4, 5, 6]
    # through compute_fvd: the second call reads the real statistics, whatever clips it is given
    real, fake = clips(5, t=4, seed=1), clips(5, t=4, seed=2, shift=0.3)
    first = compute_fvd(real, fake, det, num_clips=5, frames=4, real_cache=data, cache_dir=tmp_path, progress=False)
    again = compute_fvd(fake, fake, det, num_clips=5, frames=4, real_cache=data, cache_dir=tmp_path, progress=False)
    assert again["value"] == pytest.approx(first["value"], rel=1e-12) and first["value"] > 0
    for f in tmp_path.glob("*.npz"):  # a damaged file is recomputed, not trusted
        f.write_bytes(b"junk")
    cached_stats(key, compute(7), tmp_path)
    assert calls[-1] == 7


# --- real detectors: loading and one pass each --------------------------------------------


@pytest.fixture(scope="module")
def detector_files(tmp_path_factory):
    torch.manual_seed(0)
    model = InceptionI3d()
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif name.endswith("running_mean"):
                t.normal_(0, 0.1)
    d = tmp_path_factory.mktemp("detectors")
    torch.save(model.state_dict(), d / I3D_STATE_DICT.name)
    save_i3d_torchscript(model, d / I3D_TORCHSCRIPT.name)
    return d


def test_load_detector_recognises_both_formats(detector_files, monkeypatch):
    monkeypatch.delenv("VIDGEN_I3D", raising=False)
    sd, ts = detector_files / I3D_STATE_DICT.name, detector_files / I3D_TORCHSCRIPT.name
    with pytest.warns(UserWarning, match="differs from the published"):
        det = load_detector(sd, "videogpt")
    assert isinstance(det, I3DDetector) and det.bn_eps == 1e-5 and det.protocol == "videogpt"
    assert det.sha256 == hashlib.sha256(sd.read_bytes()).hexdigest()
    assert det.describe()["detector_sha256"] == det.sha256 and det.name == I3D_STATE_DICT.name
    with pytest.warns(UserWarning):
        assert load_detector(sd, "tf").bn_eps == 1e-3
    with pytest.warns(UserWarning):
        det = load_detector(ts, "styleganv")
    assert isinstance(det, TorchScriptI3DDetector)
    assert det.sha256 == hashlib.sha256(ts.read_bytes()).hexdigest()
    with pytest.warns(UserWarning), pytest.raises(ConfigError, match="i3d_pretrained_400.pt"):
        load_detector(ts, "videogpt")
    monkeypatch.setenv("VIDGEN_I3D", str(detector_files))  # a folder holding both: videogpt picks the state dict
    with pytest.warns(UserWarning):
        assert isinstance(load_detector(None, "videogpt"), I3DDetector)


def test_styleganv_features_agree_between_formats_and_fvd_of_itself_is_zero(detector_files):
    with pytest.warns(UserWarning):
        ours = load_detector(detector_files / I3D_STATE_DICT.name, "styleganv")
        script = load_detector(detector_files / I3D_TORCHSCRIPT.name, "styleganv")
    v = clips(1, t=9, h=12, w=16, seed=4)  # 9 frames: the fewest the I3D accepts (one pass costs seconds)
    stats = extract_features(ours, v, progress=False, keep=1)
    feats = stats.features
    assert feats.shape == (1, 400) and np.isfinite(feats).all()
    with torch.jit.optimized_execution(False):  # skips the profiling runs
        torch.testing.assert_close(script.features(v), torch.from_numpy(feats), rtol=1e-4, atol=1e-4)
    both = FeatureStats().update(np.concatenate([feats, feats * 0.5]))  # two clips' worth of real features
    rec = compute_fvd(both, both, ours, "styleganv", progress=False)
    assert abs(rec["value"]) < 1e-6 and rec["detector_sha256"] == ours.sha256 and rec["real_clips"] == 2


def test_load_detector_delegates_evaluator_folders(tmp_path, monkeypatch):
    (tmp_path / "evaluator.json").write_text(json.dumps({"name": "domain"}))
    seen = []

    class Evaluator(torch.nn.Module):
        name, sha256 = "domain-eval", "cd" * 32

        def features(self, videos):
            return videos.float().mean(dim=(1, 3, 4))  # [B, C]

    def load_evaluator(path, device="cpu"):
        seen.append(path)
        return Evaluator()

    monkeypatch.setitem(sys.modules, "vidgen.metrics.evaluator", types.SimpleNamespace(load_evaluator=load_evaluator))
    det = load_detector(tmp_path)
    assert seen == [str(tmp_path)] and det.name == "domain-eval" and det.sha256 == "cd" * 32
    assert det.features(clips(2)).shape == (2, 3)
    rec = compute_fvd(clips(4), clips(4, seed=1, shift=0.2), det, progress=False)
    assert rec["detector"] == "domain-eval" and rec["value"] > 0


def test_bad_inputs_are_user_errors():
    det = StubDetector()
    with pytest.raises(VidgenError, match=r"\[B, T, C, H, W\]"):
        extract_features(det, torch.zeros(4, 8, 8), progress=False)
    with pytest.raises(VidgenError, match="dtype"):
        preprocess(torch.zeros(1, 2, 3, 4, 4, dtype=torch.int64), "tf")
    with pytest.raises(VidgenError, match="NaN"):
        FeatureStats().update(np.array([[np.nan, 1.0]]))
    with pytest.raises(VidgenError, match="at least 2"):
        FeatureStats().update(np.ones((1, 3))).cov()
    with pytest.raises(ConfigError, match="precision"):
        I3DDetector(InceptionI3d(), precision="fp16")
    with pytest.raises(VidgenError, match="at least 9 frames"):
        I3DDetector(InceptionI3d(), fold_bn=False).features(clips(1, t=8))
    assert fvd_mod.get_protocol(None).name == "styleganv"
