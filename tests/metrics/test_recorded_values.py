"""Recorded metric values: FVD, KVD, cond_acc and frame metrics on fixed, seeded inputs.

The numbers in ``RECORDED`` were computed by the metrics code before its files were split
and its duplicate paths (two name parsers, two Fréchet distances, two cond_acc loops, an
isinstance-based sampler) were merged; these tests check that every path still gives them.
The inputs need nothing downloaded: seeded random clips, the shipped ``shapes`` evaluator,
a randomly initialised evaluator, a calibrated random I3D and the format-1 fixture exports.

Run this file as a script to print the values it computes (one JSON object)::

    python tests/metrics/test_recorded_values.py
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import vidgen
from vidgen.metrics.runs import build_test_set
from vidgen.convert import seed_labels
from vidgen.metrics import FrameMetrics, fvd
from vidgen.metrics.evaluate import evaluate_predictor
from vidgen.metrics.evaluator import EvaluatorArch, VideoEvaluator, cond_acc, load_evaluator, save_evaluator
from vidgen.metrics.generative import evaluate_generator, score_files, score_sampler
from vidgen.metrics.i3d import calibrated_random_i3d

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports_v1"

RECORDED: dict[str, float] = {}  # filled below the functions that compute them


def _clips(n: int, seed: int, *, t: int, s: int = 16, c: int = 3) -> torch.Tensor:
    """Seeded uniform clips, float ``[n, t, c, s, s]`` in ``[-1, 1]``."""
    return torch.rand(n, t, c, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _random_evaluator(folder: Path, *, frames: int, channels: int = 3) -> Path:
    """A randomly initialised 16x16 evaluator of the shapes classes, saved (a detector and a classifier)."""
    arch = EvaluatorArch(channels=channels, frames=frames, resolution=16, num_classes=3, widths=(8, 16),
                         feature_dim=16)
    torch.manual_seed(0)
    model = VideoEvaluator(arch=arch, name=f"random{frames}", class_names=["circle", "square", "triangle"]).eval()
    with torch.no_grad():  # running statistics away from identity, so BatchNorm matters
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif name.endswith("running_mean"):
                t.normal_(0.0, 0.1)
        model.fc.weight.mul_(30.0)  # logits far apart: the barely trained GANs' clips get different classes
        model.head.weight.mul_(30.0)
    return save_evaluator(model, folder / f"random{frames}")


def _add(out: dict[str, float], prefix: str, result: dict[str, Any], keys: tuple[str, ...] | None = None) -> None:
    """``result[key]`` for each key into ``out["prefix.key"]``; dicts and lists one number a key."""
    for key in keys if keys is not None else result:
        value = result[key]
        if isinstance(value, dict):
            _add(out, f"{prefix}.{key}", value)
        elif isinstance(value, list):
            _add(out, f"{prefix}.{key}", {str(i): v for i, v in enumerate(value)})
        else:
            out[f"{prefix}.{key}"] = value


def compute_values(tmp: Path) -> dict[str, float]:
    """Every recorded number, computed afresh (about 20 s on one CPU thread)."""
    out: dict[str, float] = {}

    # -- distances of fixed features: the Fréchet distance under both covariance normalisations, KVD
    rng = np.random.default_rng(0)
    fa, fb = rng.normal(size=(40, 6)), rng.normal(0.3, 1.2, size=(50, 6))
    out["features.fvd_tf"] = fvd.fvd_from_features(fa, fb, "tf")  # covariance / (N - 1)
    out["features.fvd_styleganv"] = fvd.fvd_from_features(fa, fb, "styleganv")  # covariance / N
    out["features.kvd"] = fvd.kernel_distance(fa, fb)
    out["features.kvd_subsets"] = fvd.kernel_distance(fa, fb, subsets=3, subset_size=30)

    # -- a calibrated random I3D: features, FVD under two protocols, KVD; and the files path end to end
    torch.manual_seed(0)
    real, fake = _clips(6, 1, t=9), _clips(6, 2, t=9) * 0.6
    model = calibrated_random_i3d(fvd.preprocess(real[:2]), seed=0)
    i3d = fvd.I3DDetector(model, name="random_i3d")
    sr = fvd.extract_features(i3d, real, batch_size=3, progress=False, keep=6)
    sf = fvd.extract_features(i3d, fake, batch_size=3, progress=False, keep=6)
    out["i3d.fvd_styleganv"] = fvd.fvd_from_stats(sr, sf, "styleganv")
    out["i3d.fvd_tf"] = fvd.fvd_from_stats(sr, sf, "tf")
    out["i3d.kvd"] = fvd.kernel_distance(sr.features, sf.features)
    out["i3d.feature_sum"] = float(sr.mean.sum())
    np.save(tmp / "real9.npy", real.numpy())
    np.save(tmp / "fake9.npy", fake.numpy())
    out["i3d.files.fvd6_9f"] = score_files(tmp / "real9.npy", tmp / "fake9.npy", "fvd6_9f", detector=i3d,
                                           batch_size=4, progress=False)["value"]

    # -- the files path with the shipped shapes evaluator (its features, 16 frames at 32x32)
    real16, fake16 = _clips(12, 3, t=16), (_clips(12, 4, t=16) * 0.5).clamp(-1, 1)
    np.save(tmp / "real16.npy", real16.numpy())
    np.save(tmp / "fake16.npy", ((fake16.permute(0, 1, 3, 4, 2) + 1) * 127.5).round().to(torch.uint8).numpy())
    for metric in ("fvd12_16f", "kvd12_16f", "fvd10_16f"):
        out[f"shapes.files.{metric}"] = score_files(tmp / "real16.npy", tmp / "fake16.npy", metric, detector="shapes",
                                                    batch_size=5, progress=False)["value"]

    # -- generators against their own data config: a conditional GAN, an any-length GAN, a clip VAE
    ev4, ev8 = _random_evaluator(tmp, frames=4), _random_evaluator(tmp, frames=8)
    cond = vidgen.load(EXPORTS / "gan_cond_tiny")
    data4, _ = build_test_set(cond.meta, [], frames=4, where="gan_cond_tiny")
    for metric in ("fvd16_4f", "kvd16_4f"):
        out[f"gan_cond.{metric}"] = evaluate_generator(cond, metric, data4, detector=str(ev4), batch_size=5,
                                                       progress=False, cache_dir=False)["value"]
    out["gan_cond.fvd16_4f.seed7"] = evaluate_generator(cond, "fvd16_4f", data4, detector=str(ev4), seed=7,
                                                        progress=False, cache_dir=False)["value"]
    moco = vidgen.load(EXPORTS / "mocogan_tiny")
    data16, _ = build_test_set(moco.meta, ["data.num_clips=20"], frames=16, where="mocogan_tiny")
    for metric in ("fvd16_16f", "kvd16_16f"):  # asks the any-length GAN for 16 frames; trained on 4
        out[f"mocogan.{metric}"] = evaluate_generator(moco, metric, data16, detector="shapes", batch_size=6,
                                                      progress=False, cache_dir=False)["value"]
    vae = vidgen.load(EXPORTS / "vae3d_tiny")
    data8, _ = build_test_set(vae.meta, [], frames=8, where="vae3d_tiny")
    out["vae3d.fvd16_8f"] = evaluate_generator(vae, "fvd16_8f", data8, detector=str(ev8), batch_size=5,
                                               progress=False, cache_dir=False)["value"]
    # a sampler function (what train.metrics scores) through the same path as the loaded generator
    sample = lambda seed, n, frames: cond.sample(n, seed=seed, batch_size=n)  # noqa: E731
    out["sampler.fvd16_4f"] = score_sampler(sample, "fvd16_4f", real=data4, detector=str(ev4), batch_size=5,
                                            progress=False)["value"]

    # -- cond_acc: streaming through the generator, and in memory on the same clips
    evaluator = load_evaluator(ev4)
    acc = evaluate_generator(cond, "cond_acc30", None, detector=str(ev4), batch_size=7, progress=False)
    _add(out, "gan_cond.cond_acc30", acc, ("value", "clips", "per_class"))
    acc = evaluate_generator(cond, "cond_acc", None, detector=evaluator, seed=5, batch_size=64, progress=False)
    _add(out, "gan_cond.cond_acc.seed5", acc, ("value", "clips"))
    videos, asked = cond.sample(30, seed=0), seed_labels(range(30), 3)
    out["cond_acc.in_memory"] = cond_acc(videos, asked, evaluator, batch_size=4)
    out["cond_acc.in_memory.by_name"] = cond_acc(videos, asked, evaluator,
                                                 class_names=["square", "circle", "triangle"])
    # the shipped evaluator on real shapes clips, a third of them asked for another class
    shapes_set, _ = build_test_set(moco.meta, ["data.num_clips=12", "data.seed=9", "data.resolution=32"], frames=16,
                                   where="shapes")
    items = [shapes_set[i] for i in range(12)]
    real_shapes, labels = torch.stack([it["video"] for it in items]), torch.tensor([it["label"] for it in items])
    labels[::3] = (labels[::3] + 1) % 3
    out["cond_acc.shapes"] = cond_acc(real_shapes, labels, load_evaluator("shapes"), batch_size=5)

    # -- frame metrics: a deterministic and a stochastic predictor on moving digits, and raw tensors
    conv = vidgen.load(EXPORTS / "convlstm_tiny")
    digits, _ = build_test_set(conv.meta, ["data.num_clips=12", "data.seed=3"], frames=8, where="convlstm_tiny")
    keys = ("mse", "mae", "mse_pixel", "mae_pixel", "psnr", "psnr_of_mean_mse", "ssim", "clips", "per_frame")
    _add(out, "convlstm.frames", evaluate_predictor(conv, digits, num=12, batch_size=5), keys)
    svg = vidgen.load(EXPORTS / "svg_tiny")
    _add(out, "svg.frames", evaluate_predictor(svg, digits, num=10, batch_size=4, seed=3), keys)
    _add(out, "svg.frames.2_6", evaluate_predictor(svg, digits, context=2, future=6, num=12, batch_size=6, seed=1),
         ("mse", "psnr", "ssim"))
    metrics = FrameMetrics()
    metrics.update(_clips(3, 5, t=4, s=12), _clips(3, 6, t=4, s=12))
    metrics.update(_clips(2, 7, t=4, s=12) * 0.2, _clips(2, 8, t=4, s=12) * 0.3)
    _add(out, "frame_metrics", metrics.compute(), ("mse", "mae", "psnr", "psnr_of_mean_mse", "ssim"))
    return {k: (int(v) if isinstance(v, (bool, np.integer)) else v) for k, v in out.items()}


# computed by the metrics code of the commit before the reorganisation (one CPU thread); the
# old evaluator._frechet(fa, fb) gave 1.47116218174736 too, features.fvd_tf below
RECORDED.update({
    'cond_acc.in_memory': 0.5,
    'cond_acc.in_memory.by_name': 0.5,
    'cond_acc.shapes': 0.6666666666666666,
    'convlstm.frames.clips': 12,
    'convlstm.frames.mae': 118.22819694397913,
    'convlstm.frames.mae_pixel': 0.46182889431241847,
    'convlstm.frames.mse': 59.083791942056735,
    'convlstm.frames.mse_pixel': 0.23079606227365912,
    'convlstm.frames.per_frame.mae.0': 118.20087438102928,
    'convlstm.frames.per_frame.mae.1': 118.04870805746759,
    'convlstm.frames.per_frame.mae.2': 118.32330373316654,
    'convlstm.frames.per_frame.mae.3': 118.3399016042531,
    'convlstm.frames.per_frame.mse.0': 59.126545282342285,
    'convlstm.frames.per_frame.mse.1': 58.97528978773991,
    'convlstm.frames.per_frame.mse.2': 59.11394582105529,
    'convlstm.frames.per_frame.mse.3': 59.11938687708945,
    'convlstm.frames.per_frame.psnr.0': 6.365150953839501,
    'convlstm.frames.per_frame.psnr.1': 6.376484290902931,
    'convlstm.frames.per_frame.psnr.2': 6.366014563514274,
    'convlstm.frames.per_frame.psnr.3': 6.365627217620397,
    'convlstm.frames.per_frame.ssim.0': -0.0023949993759707125,
    'convlstm.frames.per_frame.ssim.1': 0.00928285765185472,
    'convlstm.frames.per_frame.ssim.2': 0.0026770045258251774,
    'convlstm.frames.per_frame.ssim.3': 0.00404824093368862,
    'convlstm.frames.psnr': 6.368319256469276,
    'convlstm.frames.psnr_of_mean_mse': 6.367716051671282,
    'convlstm.frames.ssim': 0.0034032759338494508,
    'features.fvd_styleganv': 1.4625458284067676,
    'features.fvd_tf': 1.47116218174736,
    'features.kvd': 0.34082412637059045,
    'features.kvd_subsets': 0.611307645933103,
    'frame_metrics.mae': 101.47863616678048,
    'frame_metrics.mse': 45.19562582800003,
    'frame_metrics.psnr': 12.508626612389818,
    'frame_metrics.psnr_of_mean_mse': 9.803873423284834,
    'frame_metrics.ssim': 0.07180253741362737,
    'gan_cond.cond_acc.seed5.clips': 1000,
    'gan_cond.cond_acc.seed5.value': 0.3889999985694885,
    'gan_cond.cond_acc30.clips': 30,
    'gan_cond.cond_acc30.per_class.circle': 0.8999999761581421,
    'gan_cond.cond_acc30.per_class.square': 0.0,
    'gan_cond.cond_acc30.per_class.triangle': 0.6000000238418579,
    'gan_cond.cond_acc30.value': 0.5,
    'gan_cond.fvd16_4f': 41.72243663267415,
    'gan_cond.fvd16_4f.seed7': 41.849764856117396,
    'gan_cond.kvd16_4f': 55.723090355291966,
    'i3d.feature_sum': 12.32436092197895,
    'i3d.files.fvd6_9f': 110.52047802491927,
    'i3d.fvd_styleganv': 110.52047802908258,
    'i3d.fvd_tf': 111.65629290839193,
    'i3d.kvd': 1.4918755578661473,
    'mocogan.fvd16_16f': 1348.385475122336,
    'mocogan.kvd16_16f': 6320.2950822737275,
    'sampler.fvd16_4f': 41.72243663267415,
    'shapes.files.fvd10_16f': 915.9285899435431,
    'shapes.files.fvd12_16f': 911.2067551131966,
    'shapes.files.kvd12_16f': 22573.834701218846,
    'svg.frames.2_6.mse': 59.3192245906774,
    'svg.frames.2_6.psnr': 6.351368231303866,
    'svg.frames.2_6.ssim': 0.008507722188130866,
    'svg.frames.clips': 10,
    'svg.frames.mae': 119.46538666334091,
    'svg.frames.mae_pixel': 0.4666616666536754,
    'svg.frames.mse': 59.230158187538635,
    'svg.frames.mse_pixel': 0.2313678054200728,
    'svg.frames.per_frame.mae.0': 119.3291525521403,
    'svg.frames.per_frame.mae.1': 119.49854863495275,
    'svg.frames.per_frame.mae.2': 119.56613036857016,
    'svg.frames.per_frame.mae.3': 119.46771509770042,
    'svg.frames.per_frame.mse.0': 59.13931210964275,
    'svg.frames.per_frame.mse.1': 59.20987008496853,
    'svg.frames.per_frame.mse.2': 59.298943133650766,
    'svg.frames.per_frame.mse.3': 59.272507421892485,
    'svg.frames.per_frame.psnr.0': 6.364216848095893,
    'svg.frames.per_frame.psnr.1': 6.358869598723656,
    'svg.frames.per_frame.psnr.2': 6.352392093558148,
    'svg.frames.per_frame.psnr.3': 6.3545072931043105,
    'svg.frames.per_frame.ssim.0': 0.009145211168435476,
    'svg.frames.per_frame.ssim.1': 0.010837286243248064,
    'svg.frames.per_frame.ssim.2': 0.0027805102044592975,
    'svg.frames.per_frame.ssim.3': 0.005153195895737512,
    'svg.frames.psnr': 6.357496458370502,
    'svg.frames.psnr_of_mean_mse': 6.3569707278768135,
    'svg.frames.ssim': 0.006979050877970087,
    'vae3d.fvd16_8f': 41.82462148093905,
})


def _tolerance(key: str) -> dict[str, float]:
    # the I3D's features pass through ~60 convolutions: allow float rounding of another
    # convolution algorithm; everything else is float64 statistics of the same numbers
    return {"rel": 1e-5, "abs": 1e-9} if key.startswith("i3d.") else {"rel": 1e-6, "abs": 1e-12}


@pytest.fixture(scope="module")
def values(tmp_path_factory) -> dict[str, float]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before conftest's one-thread fixture
    try:
        return compute_values(tmp_path_factory.mktemp("recorded"))
    finally:
        torch.set_num_threads(threads)


def test_every_recorded_value_is_computed(values):
    assert set(values) == set(RECORDED)


@pytest.mark.parametrize("key", sorted(RECORDED))
def test_recorded_value(values, key):
    want, got = RECORDED[key], values[key]
    if isinstance(want, int):
        assert got == want
    elif math.isinf(want):
        assert got == want
    else:
        assert got == pytest.approx(want, **_tolerance(key))


if __name__ == "__main__":
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as d:
        result = compute_values(Path(d))
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    print()
