"""What FVD costs: I3D feature extraction per clip, fp32 variants and the bf16 fast path.

Clips are 16 frames of 64 x 64 (resized to 224 x 224 by the StyleGAN-V protocol, as
for every protocol). The weights are random (no download), He-normal with batch-norm
statistics measured on two clips (:func:`~vidgen.metrics.i3d.calibrated_random_i3d`),
so the features vary like a trained network's and the FVD deviations mean something.

It prints:

1. seconds per clip and per 100 clips of I3D features for fp32 variants (threads, batch
   size, ``channels_last_3d``, batch norm folded into the convolutions, ``no_grad`` vs
   ``inference_mode``) and the bf16 autocast path, with each variant's largest feature
   deviation from the reference's operation order. The variants run interleaved, one
   batch each per round, and the fastest round is reported (with the median): on a
   machine shared with other work this is the least disturbed measurement;
2. an FVD on ``--fvd-clips`` + ``--fvd-clips`` clips with the reference operation order,
   the default fp32 detector (``channels_last_3d``, batch norm folded) and bf16, their
   relative deviations, and the time of a full ``fvd256_16f`` (256 + 256 clips)
   extrapolated from the measured per-clip time. Where bf16 is emulated by the CPU (no
   AMX / AVX512-BF16; tens of seconds per clip), the bf16 FVD is computed with bf16
   *rounding* simulated in fp32 (inputs, weights and outputs of every convolution and
   pool rounded to bf16, as autocast does), which is fast; the timing row still runs real
   autocast and prints how far its features are from the simulation's.

Feature extraction dominates: the Fréchet distance of 400-d statistics takes
milliseconds. This benchmark prints numbers and asserts nothing; CPUs without AMX or
AVX512-BF16 emulate bf16 and are slower with it.

Usage::

    python benchmarks/fvd_speed.py [--rounds 3] [--bf16-batch 1] [--fvd-clips 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
import warnings

import torch
import torch.nn.functional as F

from vidgen.metrics.fvd import I3DDetector, extract_features, fvd_from_stats, preprocess
from vidgen.metrics.i3d import calibrated_random_i3d, fold_batch_norm
from vidgen.utils.hw import cpu_has_fast_bf16, cpu_name


def clips(n: int, *, seed: int, frames: int = 16, size: int = 64, shift: float = 0.0) -> torch.Tensor:
    """Smooth random clips ``[N, T, 3, H, W]`` in ``[-1, 1]``: moving colour blobs on a gradient."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 3, 4, 4, generator=g) * 2 - 1  # [N, C, T', h, w]
    x = torch.nn.functional.interpolate(coarse, size=(frames, size, size), mode="trilinear", align_corners=False)
    return (x.permute(0, 2, 1, 3, 4) * 1.3 + shift).clamp(-1, 1)  # [N, T, C, H, W]


def run_batch(model, x, *, threads: int, channels_last: bool, mode: str, bf16: bool = False):
    """Seconds per clip of one forward pass over ``x`` ([B, 3, T, 224, 224]), and the features."""
    torch.set_num_threads(threads)
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    ctx = torch.inference_mode if mode == "inference_mode" else torch.no_grad
    amp = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    x = x.contiguous(memory_format=fmt)
    with ctx(), amp:
        start = time.perf_counter()
        out = model.to(memory_format=fmt)(x).float()
        return (time.perf_counter() - start) / len(x), out


@contextlib.contextmanager
def simulated_bf16():
    """fp32 kernels with autocast's bf16 rounding: conv inputs, weights and outputs, pool outputs."""
    r = lambda t: t.to(torch.bfloat16).float()  # noqa: E731
    conv, avg = F.conv3d, F.avg_pool3d

    def conv3d(x, w, b=None, *args, **kwargs):
        return r(conv(r(x), r(w), None if b is None else r(b), *args, **kwargs))

    F.conv3d, F.avg_pool3d = conv3d, lambda *a, **k: r(avg(*a, **k))
    try:
        yield r
    finally:
        F.conv3d, F.avg_pool3d = conv, avg


class SimulatedBf16Detector(I3DDetector):
    def features(self, videos):
        with simulated_bf16() as r:
            return r(super().features(videos))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds (one batch of every variant each)")
    ap.add_argument("--bf16-batch", type=int, default=1, help="clips timed once with bf16 autocast (0: skip)")
    ap.add_argument("--fvd-clips", type=int, default=16, help="clips per set for the FVD comparison (0: skip it)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-slow", action="store_true", help="leave out the 1-thread and batch-1 rows")
    args = ap.parse_args()
    threads = args.threads

    calib = preprocess(clips(2, seed=99), "styleganv")
    model = calibrated_random_i3d(calib, seed=0)  # eps 1e-3 (StyleGAN-V)
    folded = fold_batch_norm(model)
    x = preprocess(clips(8, seed=1), "styleganv")  # [8, 3, 16, 224, 224]

    print(f"I3D features, 16 frames of 64x64 resized to 224x224 (StyleGAN-V protocol), {args.rounds} rounds")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
          f"torch {torch.__version__}; native bf16: {cpu_has_fast_bf16()}")
    rows = []
    if not args.skip_slow:
        rows += [("fp32 reference order, 1 thread, no_grad", model, 1, 1, False, "no_grad", False),
                 (f"fp32, {threads} threads", model, 1, threads, False, "inference_mode", False)]
    rows += [
        (f"fp32, {threads} threads", model, 4, threads, False, "inference_mode", False),
        (f"fp32, {threads} threads, channels_last_3d", model, 4, threads, True, "inference_mode", False),
        (f"fp32, {threads} threads, channels_last_3d, BN folded (default)", folded, 4, threads, True,
         "inference_mode", False),
        (f"fp32, {threads} threads, channels_last_3d, BN folded", folded, 8, threads, True, "inference_mode", False),
        (f"fp32, {threads} threads, channels_last_3d, BN folded, no_grad", folded, 4, threads, True, "no_grad",
         False),
        ("fp32, 1 thread, channels_last_3d, BN folded", folded, 4, 1, True, "inference_mode", False),
    ]
    if args.bf16_batch > 0:
        rows.append((f"bf16 autocast, {threads} threads, channels_last_3d, BN folded", folded, args.bf16_batch,
                     threads, True, "inference_mode", True))
    # interleaved rounds: each variant runs one batch per round, so load from other processes
    # that comes and goes hits every variant alike; the fastest round is the least disturbed
    x = x[:max(batch for _, _, batch, *_ in rows)]
    with torch.no_grad():
        ref_feats = model(x)  # the reference's operation order
    times: list[list[float]] = [[] for _ in rows]
    feats: dict[int, torch.Tensor] = {}
    for rnd in range(args.rounds + 1):  # round 0 warms up (oneDNN primitives, allocator)
        for i, (name, net, batch, th, cl, mode, bf16) in enumerate(rows):
            if bf16 and rnd != 1:
                continue  # bf16 is emulated on most CPUs: one timed batch, no warm-up
            secs, out = run_batch(net, x[:batch], threads=th, channels_last=cl, mode=mode, bf16=bf16)
            if rnd or bf16:
                times[i].append(secs)
                feats.setdefault(i, out)
    print(f"{'variant':<66} {'batch':>5} {'best s/clip':>11} {'median':>7} {'s/100 clips':>12} "
          f"{'max rel feature dev':>20}")
    for i, (name, net, batch, th, cl, mode, bf16) in enumerate(rows):
        best, median = min(times[i]), sorted(times[i])[len(times[i]) // 2]
        ref = ref_feats[:batch]
        dev = ((feats[i] - ref).abs().max() / ref.abs().max()).item()
        print(f"{name:<66} {batch:>5} {best:>11.3f} {median:>7.3f} {best * 100:>12.1f} {dev:>20.1e}")
        if bf16:
            with simulated_bf16(), torch.inference_mode():
                sim = folded(x[:batch]).to(torch.bfloat16).float()
            sim_ref = ((sim - ref).abs().max() / ref.abs().max()).item()
            sim_dev = ((feats[i] - sim).abs().max() / sim.abs().max()).item()
            print(f"{'  bf16 rounding simulated in fp32 (used below), vs the first row':<66} {'':>5} {'':>11} "
                  f"{'':>7} {'':>12} {sim_ref:>20.1e}")
            print(f"{'  real autocast vs the simulation (independent rounding errors)':<66} {'':>5} {'':>11} "
                  f"{'':>7} {'':>12} {sim_dev:>20.1e}")

    if args.fvd_clips < 2:
        return
    # FVD: the default exact path against bf16, same clips
    torch.set_num_threads(threads)
    real, fake = clips(args.fvd_clips, seed=10), clips(args.fvd_clips, seed=20, shift=0.15)
    out = {}
    bf16_label = "bf16" if cpu_has_fast_bf16() else "bf16 (simulated rounding)"
    for precision in ("fp32", bf16_label):
        if precision == "fp32" or cpu_has_fast_bf16():
            det = I3DDetector(model, protocol="styleganv", name="random-i3d", precision=precision[:4])
        else:
            det = SimulatedBf16Detector(model, protocol="styleganv", name="random-i3d")
        start = time.perf_counter()
        sr = extract_features(det, real, batch_size=4, progress=False)
        sf = extract_features(det, fake, batch_size=4, progress=False)
        feats_secs = (time.perf_counter() - start) / (2 * args.fvd_clips)
        start = time.perf_counter()
        value = fvd_from_stats(sr, sf, "styleganv")
        dist_secs = time.perf_counter() - start
        out[precision] = (value, feats_secs, dist_secs)
    ref_det = I3DDetector(model, protocol="styleganv", name="random-i3d", channels_last=False, fold_bn=False)
    exact = fvd_from_stats(extract_features(ref_det, real, batch_size=4, progress=False),
                           extract_features(ref_det, fake, batch_size=4, progress=False), "styleganv")
    print(f"\nFVD on {args.fvd_clips} + {args.fvd_clips} clips (16 frames, 64x64), StyleGAN-V protocol:")
    print(f"  reference operation order (contiguous, BN unfolded), fp32: {exact:.6f}")
    for precision, (value, feats_secs, dist_secs) in out.items():
        line = f"  default detector, {precision}: {value:.6f} (rel. deviation {abs(value - exact) / abs(exact):.1e})"
        if precision == "fp32" or cpu_has_fast_bf16():
            line += (f"; {feats_secs:.3f} s/clip, distance {dist_secs * 1e3:.0f} ms; fvd256_16f (512 clips) "
                     f"~ {(512 * feats_secs + dist_secs) / 60:.1f} min")
        print(line)
    print(f"load average at the end {os.getloadavg()[0]:.1f} "
          "(other processes share the cores: timings are upper bounds)")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
