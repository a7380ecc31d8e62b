"""FVD reference check: each protocol of ``vidgen.metrics.fvd`` against its reference formulation.

For every protocol the same clips and the same random I3D weights go through two
pipelines and the two FVDs are printed with their relative difference (the bar is
0.1 %):

- ours: the public API, ``load_detector(file, protocol)`` + ``compute_fvd``;
- reference: the reference code's steps written out again here, independently of
  ``vidgen.metrics.fvd`` (only the I3D network is shared, see below):

  ``tf``         numpy TF1 ``resize_bilinear`` (legacy, ``src = dst * in / out``),
                 ``2 v / 255 - 1``, BN eps 1e-3, TF-GAN's float64 distance (mean,
                 covariance / (N - 1), ``trace_sqrt_product`` through SVD);
  ``styleganv``  the TorchScript detector called as StyleGAN-V calls it (uint8
                 ``[B, 3, T, H, W]``, ``rescale=True, resize=True, return_features=True``),
                 StyleGAN-V's raw-sum statistics (covariance / N) and
                 ``scipy.linalg.sqrtm(S_gen @ S_real)`` (numpy ``eig`` square root
                 without scipy);
  ``videogpt``   VideoGPT's per-video torch preprocessing (``/ 255``, shorter side to
                 224 with ``ceil``, centre crop, ``- 0.5``, ``* 2``), BN eps 1e-5, its
                 float32 torch distance (``cov`` / (N - 1), SVD square roots);
  ``tats``       TATS' preprocessing (whole frame to 224 x 224, ``2 v / 255 - 1``),
                 BN eps 1e-5, the same float32 distance, and ``polynomial_mmd`` for KVD.

The clips are uint8 (as data files are); the reference pipelines read those bytes, ours
reads them as vidgen floats ``u / 127.5 - 1`` (so this also checks that quantisation
gives the bytes back). Frames are 48 x 64 by default, so VideoGPT's crop and TATS'
stretch differ. The network is our ``InceptionI3d`` with random weights (He-normal convolutions, batch-norm
statistics measured on two of the clips, :func:`~vidgen.metrics.i3d.calibrated_random_i3d`);
pass ``--reference-i3d
path/to/pytorch_i3d.py`` (VideoGPT's or TATS' file, from your own checkout; it is not
shipped) to run the reference pipelines through that network instead, after loading our
state dict into it strictly.

Usage::

    python benchmarks/fvd_reference_check.py [--clips 8] [--frames 9] [--threads 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vidgen.metrics.fvd import compute_fvd, compute_kvd, extract_features, load_detector
from vidgen.metrics.fvd import preprocess
from vidgen.metrics.i3d import InceptionI3d, calibrated_random_i3d, save_i3d_torchscript


# --- inputs and weights --------------------------------------------------------------------


def make_clips(n: int, t: int, h: int, w: int, *, seed: int, speed: float) -> np.ndarray:
    """uint8 ``[N, T, H, W, 3]`` clips of moving colour gratings and a bright square."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    out = np.zeros((n, t, h, w, 3))
    for i in range(n):
        kx, ky = rng.uniform(0.05, 0.4, size=2)
        phase, colour = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 1.0, size=3)
        cy, cx, size = rng.integers(0, h - 8), rng.integers(0, w - 8), rng.integers(4, 9)
        for j in range(t):
            wave = 0.5 + 0.5 * np.sin(kx * xx + ky * yy + phase + speed * j)
            out[i, j] = wave[..., None] * colour
            y0, x0 = int(cy + 2 * speed * j) % (h - size), int(cx + 3 * speed * j) % (w - size)
            out[i, j, y0:y0 + size, x0:x0 + size] = 1.0
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


# --- the reference steps, written out ------------------------------------------------------


def tf1_resize_bilinear(frames: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """TF1 resize_bilinear(align_corners=False) of float32 ``[N, H, W, C]`` (resize_bilinear_op.cc)."""
    n, h, w, c = frames.shape

    def weights(in_size: int, out_size: int):
        scale = np.float32(in_size) / np.float32(out_size)
        src = np.arange(out_size, dtype=np.float32) * scale
        lower = np.floor(src).astype(np.int64)
        upper = np.minimum(np.ceil(src).astype(np.int64), in_size - 1)
        return lower, upper, (src - np.floor(src)).astype(np.float32)

    y0, y1, dy = weights(h, oh)
    x0, x1, dx = weights(w, ow)
    f = frames.astype(np.float32)
    tl, tr = f[:, y0][:, :, x0], f[:, y0][:, :, x1]
    bl, br = f[:, y1][:, :, x0], f[:, y1][:, :, x1]
    dx = dx[None, None, :, None]
    top = tl + (tr - tl) * dx
    bottom = bl + (br - bl) * dx
    return top + (bottom - top) * dy[None, :, None, None]


def tfgan_frechet(a1: np.ndarray, a2: np.ndarray) -> float:
    """TF-GAN frechet_classifier_distance_from_activations (float64)."""
    a1, a2 = a1.astype(np.float64), a2.astype(np.float64)
    m1, m2 = a1.mean(0), a2.mean(0)
    s1 = (a1 - m1).T @ (a1 - m1) / (len(a1) - 1)
    s2 = (a2 - m2).T @ (a2 - m2) / (len(a2) - 1)

    def sym_sqrt(mat, eps=1e-10):
        u, s, vt = np.linalg.svd(mat)
        si = np.where(s < eps, s, np.sqrt(s))
        return (u * si) @ vt

    root = sym_sqrt(s1)
    trace_sqrt = np.trace(sym_sqrt(root @ s2 @ root))
    return float(np.trace(s1) + np.trace(s2) - 2 * trace_sqrt + ((m1 - m2) ** 2).sum())


def stylegan_v_frechet(f_real: np.ndarray, f_gen: np.ndarray) -> tuple[float, str]:
    """StyleGAN-V: raw sums -> mean, cov / N; ``scipy.linalg.sqrtm(S_gen @ S_real)``."""

    def stats(x):
        x64 = x.astype(np.float32).astype(np.float64)
        mean = x64.sum(0) / len(x)
        return mean, x64.T @ x64 / len(x) - np.outer(mean, mean)

    mu_r, s_r = stats(f_real)
    mu_g, s_g = stats(f_gen)
    try:
        import scipy.linalg

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s, _ = scipy.linalg.sqrtm(s_g @ s_r, disp=False)
        how = "scipy sqrtm"
    except ImportError:  # the principal square root through an eigendecomposition
        w, v = np.linalg.eig(s_g @ s_r)
        s = (v * np.sqrt(w.astype(complex))) @ np.linalg.inv(v)
        how = "numpy eig sqrtm (no scipy)"
    return float(np.real(np.square(mu_g - mu_r).sum() + np.trace(s_g + s_r - s * 2))), how


def videogpt_preprocess(videos: np.ndarray, resolution: int = 224) -> torch.Tensor:
    """VideoGPT: per video THWC uint8 -> [C, T, 224, 224], stacked, times 2."""
    out = []
    for v in torch.from_numpy(videos):
        v = v.permute(0, 3, 1, 2).float() / 255.0  # TCHW
        _, _, h, w = v.shape
        scale = resolution / min(h, w)
        size = (resolution, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), resolution)
        v = F.interpolate(v, size=size, mode="bilinear", align_corners=False)
        top, left = (v.shape[2] - resolution) // 2, (v.shape[3] - resolution) // 2
        v = v[:, :, top:top + resolution, left:left + resolution].permute(1, 0, 2, 3).contiguous()
        out.append(v - 0.5)
    return torch.stack(out) * 2


def tats_preprocess(videos: np.ndarray) -> torch.Tensor:
    b, t, h, w, c = videos.shape
    frames = torch.FloatTensor(videos).flatten(end_dim=1).permute(0, 3, 1, 2).contiguous()
    frames = F.interpolate(frames, size=(224, 224), mode="bilinear", align_corners=False)
    return 2.0 * frames.view(b, t, c, 224, 224).transpose(1, 2).contiguous() / 255.0 - 1


def torch_frechet(x1: torch.Tensor, x2: torch.Tensor) -> float:
    """VideoGPT/TATS' frechet_distance (float32 torch, unbiased cov, SVD square roots)."""

    def cov(m):
        m = m.t()
        m = m - m.mean(dim=1, keepdim=True)
        return m.matmul(m.t()) / (m.size(1) - 1)

    def sym_sqrt(mat, eps=1e-10):
        u, s, v = torch.svd(mat)
        return u @ torch.diag(torch.where(s < eps, s, torch.sqrt(s))) @ v.t()

    s1, s2 = cov(x1), cov(x2)
    root = sym_sqrt(s1)
    tr = torch.trace(sym_sqrt(root @ s2 @ root))
    return float(torch.trace(s1 + s2) - 2.0 * tr + ((x1.mean(0) - x2.mean(0)) ** 2).sum())


def polynomial_mmd(x: np.ndarray, y: np.ndarray) -> float:
    """TATS' polynomial_mmd with sklearn's polynomial_kernel defaults (degree 3, gamma 1 / D, coef0 1)."""
    k = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.sum() / (m * n))


# --- driver --------------------------------------------------------------------------------


def reference_network(args, state: dict, eps: float):
    if args.reference_i3d is None:
        net = InceptionI3d(bn_eps=eps)
        net.load_state_dict(state)
        return net.eval(), "ours"
    spec = importlib.util.spec_from_file_location("reference_pytorch_i3d", args.reference_i3d)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    net = module.InceptionI3d(400, in_channels=3)
    net.load_state_dict(state)  # strict: our names must be theirs
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            m.eps = eps
    return net.eval(), Path(args.reference_i3d).name


def batched(fn, x: torch.Tensor, bs: int) -> np.ndarray:
    with torch.inference_mode():
        return torch.cat([fn(x[i:i + bs]) for i in range(0, len(x), bs)]).float().numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=8, help="clips per set")
    ap.add_argument("--frames", type=int, default=9, help="frames per clip (>= 9)")
    ap.add_argument("--height", type=int, default=48)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference-i3d", default=None, help="VideoGPT/TATS pytorch_i3d.py to run the reference "
                                                          "pipelines through")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    start = time.time()

    real_u8 = make_clips(args.clips, args.frames, args.height, args.width, seed=args.seed, speed=0.3)
    fake_u8 = make_clips(args.clips, args.frames, args.height, args.width, seed=args.seed + 1, speed=0.8)
    as_vidgen = lambda u: torch.from_numpy(u).permute(0, 1, 4, 2, 3).float() / 127.5 - 1  # noqa: E731 [N, T, C, H, W]
    real, fake = as_vidgen(real_u8), as_vidgen(fake_u8)
    # He-normal weights, batch-norm statistics measured on two real clips (else the features barely vary)
    model = calibrated_random_i3d(preprocess(real[:2], "tf"), seed=args.seed)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    tmp = Path(tempfile.mkdtemp(prefix="fvd_reference_check_"))
    torch.save(state, tmp / "i3d_pretrained_400.pt")
    save_i3d_torchscript(model, tmp / "i3d_torchscript.pt")

    rows = []
    for protocol in ("tf", "styleganv", "videogpt", "tats"):
        t0 = time.time()
        file = tmp / ("i3d_torchscript.pt" if protocol == "styleganv" else "i3d_pretrained_400.pt")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # random weights: the sha256 differs from the published one
            det = load_detector(file, protocol)
        sr = extract_features(det, real, batch_size=args.batch_size, progress=False, keep=args.clips)
        sf = extract_features(det, fake, batch_size=args.batch_size, progress=False, keep=args.clips)
        ours = compute_fvd(sr, sf, det)["value"]
        note = ""
        if protocol == "tf":
            net, netname = reference_network(args, state, 1e-3)
            prep = lambda u: torch.from_numpy(  # noqa: E731
                2.0 * tf1_resize_bilinear(u.reshape(-1, *u.shape[2:]), 224, 224) / 255.0 - 1
            ).float().reshape(len(u), u.shape[1], 224, 224, 3).permute(0, 4, 1, 2, 3)
            fr = batched(net, prep(real_u8), args.batch_size)
            ff = batched(net, prep(fake_u8), args.batch_size)
            ref = tfgan_frechet(fr, ff)
            note = f"network: {netname}; TF-GAN distance (float64, SVD)"
        elif protocol == "styleganv":
            script = torch.jit.load(str(file)).eval()
            call = lambda u: script(u, rescale=True, resize=True, return_features=True)  # noqa: E731
            fr = batched(call, torch.from_numpy(real_u8).permute(0, 4, 1, 2, 3).contiguous(), args.batch_size)
            ff = batched(call, torch.from_numpy(fake_u8).permute(0, 4, 1, 2, 3).contiguous(), args.batch_size)
            ref, how = stylegan_v_frechet(fr, ff)
            note = f"network: the TorchScript file; raw-sum stats, {how}"
        else:
            net, netname = reference_network(args, state, 1e-5)
            prep = videogpt_preprocess if protocol == "videogpt" else tats_preprocess
            fr = batched(net, prep(real_u8), args.batch_size)
            ff = batched(net, prep(fake_u8), args.batch_size)
            ref = torch_frechet(torch.from_numpy(fr), torch.from_numpy(ff))
            ref64 = torch_frechet(torch.from_numpy(fr).double(), torch.from_numpy(ff).double())
            note = (f"network: {netname}; float32 torch distance (SVD); the same in float64: "
                    f"{ref64:.6f} (rel diff {abs(ours - ref64) / abs(ref64):.1e})")
            if protocol == "tats":
                kvd_ours = compute_kvd(sr, sf, det)["value"]
                kvd_ref = polynomial_mmd(fr.astype(np.float64), ff.astype(np.float64))
                rows.append(("tats KVD", kvd_ours, kvd_ref, "polynomial_mmd on the same clips", time.time() - t0))
        ours_feats = np.concatenate([sr.features, sf.features])
        dev = np.abs(ours_feats - np.concatenate([fr, ff])).max() / np.abs(ours_feats).max()
        rows.append((protocol, ours, ref, f"{note}; max feature diff {dev:.1e} of max |feature|", time.time() - t0))

    print(f"\nFVD reference check: {args.clips} + {args.clips} clips of {args.frames} frames at "
          f"{args.height}x{args.width}, random I3D weights (seed {args.seed}), torch {torch.__version__}, "
          f"{args.threads} threads")
    print(f"{'protocol':<10} {'ours':>14} {'reference':>14} {'rel diff':>10}  {'s':>6}  reference formulation")
    worst = 0.0
    for name, ours, ref, note, secs in rows:
        rel = abs(ours - ref) / max(abs(ref), 1e-12)
        worst = max(worst, rel)
        print(f"{name:<10} {ours:>14.6f} {ref:>14.6f} {rel:>10.2e}  {secs:>6.1f}  {note}")
    print(f"worst relative difference {worst:.2e} ({'within' if worst <= 1e-3 else 'ABOVE'} the 0.1% bar); "
          f"total {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
