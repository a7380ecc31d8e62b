"""Feature statistics and the distances between them: the one Fréchet distance, and KVD.

:class:`FeatureStats` streams the float64 mean and covariance of detector features
(mergeable across batches and processes, with an optional reservoir of the features
themselves for KVD). :func:`frechet_distance` is the Fréchet distance of two Gaussians,
``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` in float64; every Fréchet number in vidgen
(FVD under each protocol, Fréchet distances of evaluator features, :func:`frechet_of_features`)
goes through it. :func:`kernel_distance` is the unbiased polynomial-kernel MMD of KVD / KID.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidgen.errors import VidgenError
from vidgen.metrics.protocols import FVDProtocol, get_protocol

__all__ = ["FeatureStats", "all_reduce_stats", "frechet_distance", "frechet_of_features", "fvd_from_features",
           "fvd_from_stats", "kernel_distance", "rank_block", "trace_sqrt_product"]


class FeatureStats:
    """Streaming float64 mean and covariance of features, mergeable across batches and ranks.

    Keeps the count ``n``, the mean and the centred sum of outer products
    ``M2 = sum (x - mean)(x - mean)^T``; batches are combined with Chan et al.'s pairwise
    update (``M2 = M2a + M2b + d d^T na nb / n`` with ``d = mean_b - mean_a``), which has
    no ``E[x x^T] - mu mu^T`` cancellation. Features are not stored, except an optional
    uniform reservoir of at most ``keep`` of them for KVD (all of them while ``n <= keep``,
    in arrival order).

    Args:
        keep: reservoir capacity (0: keep none).
        seed: seeds the reservoir's sampling once it is full.
    """

    def __init__(self, *, keep: int = 0, seed: int = 0):
        self.keep = int(keep)
        self.seed = int(seed)
        self.n = 0
        self._mean: np.ndarray | None = None  # [D] float64
        self._m2: np.ndarray | None = None  # [D, D] float64
        self._kept: np.ndarray | None = None  # [k, D] float32, k <= keep
        self._rng = np.random.default_rng(self.seed)

    @property
    def dim(self) -> int | None:
        return None if self._mean is None else int(self._mean.shape[0])

    @staticmethod
    def _as_array(features: Any) -> np.ndarray:
        if isinstance(features, torch.Tensor):
            features = features.detach().to("cpu", torch.float64).numpy()
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise VidgenError(f"features must be [N, D], got shape {x.shape}")
        if not np.isfinite(x).all():
            raise VidgenError("features contain NaN or inf",
                              hint="check the clips: they must be finite values in [-1, 1]")
        return x

    def update(self, features: Any) -> "FeatureStats":
        """Add a batch of features ``[N, D]`` (tensor or array; any float dtype)."""
        x = self._as_array(features)
        if x.shape[0] == 0:
            return self
        if self._mean is not None and x.shape[1] != self._mean.shape[0]:
            raise VidgenError(f"feature size changed from {self._mean.shape[0]} to {x.shape[1]}",
                              hint="use one detector for one FeatureStats")
        mean = x.mean(axis=0)
        xc = x - mean
        self._combine(x.shape[0], mean, xc.T @ xc)
        self._reservoir_add(x.astype(np.float32))
        return self

    def _combine(self, nb: int, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
        if nb == 0:
            return
        if self.n == 0 or self._mean is None or self._m2 is None:
            self.n, self._mean, self._m2 = nb, mean_b.copy(), m2_b.copy()
            return
        na, n = self.n, self.n + nb
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (nb / n)
        self._m2 = self._m2 + m2_b + np.outer(delta, delta) * (na * nb / n)
        self.n = n

    def _reservoir_add(self, x: np.ndarray, *, first_index: int | None = None) -> None:
        if self.keep <= 0:
            return
        seen = (self.n - x.shape[0]) if first_index is None else first_index  # items seen before this batch
        kept = np.zeros((0, x.shape[1]), np.float32) if self._kept is None else self._kept
        room = max(self.keep - kept.shape[0], 0)
        kept = np.concatenate([kept, x[:room]])
        for i in range(room, x.shape[0]):  # Algorithm R: item i replaces a random slot with prob keep / (seen + i + 1)
            j = int(self._rng.integers(0, seen + i + 1))
            if j < self.keep:
                kept[j] = x[i]
        self._kept = kept

    def merge(self, other: "FeatureStats") -> "FeatureStats":
        """Add ``other``'s items (another shard or rank); equals updating with its features."""
        if other.n == 0 or other._mean is None or other._m2 is None:
            return self
        if self._mean is not None and other._mean.shape != self._mean.shape:
            raise VidgenError(f"cannot merge features of size {other._mean.shape[0]} into {self._mean.shape[0]}")
        seen = self.n
        self._combine(other.n, other._mean, other._m2)
        if self.keep > 0 and other._kept is not None:
            if other._kept.shape[0] == other.n:  # other kept everything: stream it in
                self._reservoir_add(other._kept, first_index=seen)
            else:  # both sampled: draw from each in proportion to the items they stand for
                mine = np.zeros((0, other._kept.shape[1]), np.float32) if self._kept is None else self._kept
                k = min(self.keep, self.n)
                # how many of k uniform draws from all items fall on other's: hypergeometric
                take_other = int(self._rng.hypergeometric(other.n, seen, k)) if seen else k
                take_mine = k - take_other
                pick = lambda a, m: a[np.sort(self._rng.choice(a.shape[0], m, replace=False))]  # noqa: E731
                self._kept = np.concatenate([pick(mine, take_mine), pick(other._kept, take_other)])
        return self

    @property
    def mean(self) -> np.ndarray:
        """float64 ``[D]``."""
        if self._mean is None:
            raise VidgenError("no features were added")
        return self._mean.copy()

    def cov(self, unbiased: bool = True) -> np.ndarray:
        """float64 ``[D, D]``: ``M2 / (n - 1)`` (``unbiased``, numpy's default) or ``M2 / n``."""
        if self._m2 is None:
            raise VidgenError("no features were added")
        if unbiased and self.n < 2:
            raise VidgenError("an unbiased covariance needs at least 2 clips", hint="use more clips")
        return self._m2 / (self.n - 1 if unbiased else self.n)

    @property
    def features(self) -> np.ndarray:
        """The kept features, float32 ``[k, D]`` (all of them while ``n <= keep``)."""
        if self._kept is None:
            raise VidgenError("no features were kept", hint="create the FeatureStats with keep=N to compute KVD")
        return self._kept.copy()

    def save(self, path: str | os.PathLike, *, meta: dict[str, Any] | None = None) -> Path:
        """Write an ``.npz`` (atomic rename; read back with :meth:`load`, no pickles)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"n": np.array(self.n), "keep": np.array(self.keep), "seed": np.array(self.seed),
                  "meta": np.array(json.dumps(meta or {}, sort_keys=True, default=str))}
        if self._mean is not None:
            arrays.update(mean=self._mean, m2=self._m2)
        if self._kept is not None:
            arrays["kept"] = self._kept
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
        os.close(fd)
        try:
            np.savez(tmp, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FeatureStats":
        """Read a file written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as z:
                stats = cls(keep=int(z["keep"]), seed=int(z["seed"]))
                stats.n = int(z["n"])
                if "mean" in z:
                    stats._mean, stats._m2 = z["mean"].astype(np.float64), z["m2"].astype(np.float64)
                if "kept" in z:
                    stats._kept = z["kept"].astype(np.float32)
                stats.meta = json.loads(str(z["meta"]))
        except (OSError, KeyError, ValueError) as e:
            raise VidgenError(f"{path} is not a readable feature-statistics file ({e})",
                              hint="delete it; it is recomputed") from None
        return stats

    def __repr__(self) -> str:
        return f"FeatureStats(n={self.n}, dim={self.dim}, kept={0 if self._kept is None else len(self._kept)})"


def all_reduce_stats(stats: FeatureStats) -> FeatureStats:
    """Merge every rank's statistics into each rank's (``torch.distributed``), in rank order.

    A no-op without an initialised process group (or with one process). Every rank must
    call it, with statistics of the same feature size and ``keep``.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return stats
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    # agree on the feature size and the largest reservoir first (a rank may have seen no clip)
    kept = 0 if stats._kept is None else stats._kept.shape[0]
    sizes = torch.tensor([stats.dim or 0, kept], dtype=torch.int64, device=device)
    dist.all_reduce(sizes, op=dist.ReduceOp.MAX)
    d, rows = int(sizes[0].item()), int(sizes[1].item())
    if d == 0:
        return stats
    local = torch.from_numpy(_pack_stats(stats, d, rows)).to(device)
    gathered = [torch.empty_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, local)
    merged = FeatureStats(keep=stats.keep, seed=stats.seed)
    for g in gathered:
        merged.merge(_unpack_stats(g.cpu().numpy(), d, keep=stats.keep, seed=stats.seed))
    return merged


def _pack_stats(stats: FeatureStats, d: int, rows: int) -> np.ndarray:
    """One float64 vector: ``[n, kept rows, mean (d), M2 (d * d), kept (rows * d, zero padded)]``."""
    payload = np.zeros(2 + d + d * d + rows * d, np.float64)
    kept = np.zeros((0, d), np.float32) if stats._kept is None else stats._kept
    payload[0], payload[1] = stats.n, kept.shape[0]
    if stats.n and stats._mean is not None and stats._m2 is not None:
        payload[2:2 + d], payload[2 + d:2 + d + d * d] = stats._mean, stats._m2.ravel()
    payload[2 + d + d * d:2 + d + d * d + kept.size] = kept.ravel()
    return payload


def _unpack_stats(a: np.ndarray, d: int, *, keep: int, seed: int) -> FeatureStats:
    """The inverse of :func:`_pack_stats`."""
    stats = FeatureStats(keep=keep, seed=seed)
    stats.n, k = int(a[0]), int(a[1])
    if stats.n:
        stats._mean, stats._m2 = a[2:2 + d].copy(), a[2 + d:2 + d + d * d].reshape(d, d).copy()
        if keep:
            stats._kept = a[2 + d + d * d:2 + d + d * d + k * d].reshape(k, d).astype(np.float32)
    return stats



def rank_block(num: int) -> tuple[int, int]:
    """``(start, count)`` of this process's contiguous share of ``num`` items under
    ``torch.distributed`` (``(0, num)`` alone): each rank scores its own block of clips."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return 0, num
    world, rank = dist.get_world_size(), dist.get_rank()
    base, extra = divmod(num, world)
    return rank * base + min(rank, extra), base + (1 if rank < extra else 0)


# ---------------------------------------------------------------------------------------
# distances
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _one_thread():
    """One torch thread for the duration: a 400 x 400 eigendecomposition takes ~15 ms on one
    core, while multithreaded LAPACK on cores shared with other work can take seconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _sqrtm_psd(s: torch.Tensor) -> torch.Tensor:
    """Symmetric PSD square root through ``eigh`` (tiny negative eigenvalues from rounding -> 0)."""
    w, v = torch.linalg.eigh((s + s.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def trace_sqrt_product(s1: Any, s2: Any) -> float:
    """``tr((S1 S2)^(1/2))`` for symmetric PSD ``S1``, ``S2``, in float64.

    ``S1 S2 = A (A S2)`` with ``A = S1^(1/2)`` has the eigenvalues of ``A S2 A``, which is
    symmetric PSD: its ``eigvalsh`` is stable, never complex, and needs no ``eps * I``
    offset even when both covariances are singular (N clips < D features). This is
    TF-GAN's (and VideoGPT's) ``trace_sqrt_product``, with ``eigh`` instead of SVD, and
    equals the trace of ``scipy.linalg.sqrtm(S1 @ S2)`` whenever that converges.
    """
    with _one_thread():
        a = _sqrtm_psd(torch.as_tensor(np.asarray(s1, np.float64)))
        m = a @ torch.as_tensor(np.asarray(s2, np.float64)) @ a
        w = torch.linalg.eigvalsh((m + m.T) / 2)
        return float(w.clamp(min=0).sqrt().sum())


def frechet_distance(mu1: Any, s1: Any, mu2: Any, s2: Any) -> float:
    """``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))`` in float64.

    Args:
        mu1, mu2: means ``[D]``; s1, s2: covariances ``[D, D]`` (symmetric PSD).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.shape[0], mu1.shape[0]):
        raise VidgenError(f"statistics do not match: means {mu1.shape} / {mu2.shape}, "
                          f"covariances {s1.shape} / {s2.shape}")
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2))


def kernel_distance(f1: Any, f2: Any, *, subsets: int | None = None, subset_size: int = 1000, seed: int = 0) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel ``k(x, y) = (x . y / D + 1)^3`` (KVD / KID).

    Args:
        f1, f2: features ``[N1, D]``, ``[N2, D]``.
        subsets: ``None``: one estimate on the full sets, TATS' ``polynomial_mmd``
            (``mean_{i != j} k(x_i, x_j) + mean_{i != j} k(y_i, y_j) - 2 mean k(x_i, y_j)``);
            an int: the mean of that many estimates on random subsets of
            ``min(N1, N2, subset_size)`` items of each set, StyleGAN's KID.
        seed: seeds the subsets.
    """
    x, y = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise VidgenError(f"kernel_distance needs two [N, D] sets with N >= 2, got {x.shape} and {y.shape}")
    d = x.shape[1]

    def mmd(a: np.ndarray, b: np.ndarray) -> float:
        kaa, kbb, kab = (a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3
        m, n = len(a), len(b)
        return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                     - 2 * kab.mean())

    if subsets is None:
        return mmd(x, y)
    rng = np.random.default_rng(seed)
    m = min(len(x), len(y), subset_size)
    return float(np.mean([mmd(x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)])
                          for _ in range(subsets)]))



def fvd_from_stats(real: FeatureStats, fake: FeatureStats, protocol: str | FVDProtocol | None = None) -> float:
    """FVD of two :class:`FeatureStats` with the protocol's covariance normalisation."""
    proto = get_protocol(protocol)
    return frechet_distance(real.mean, real.cov(proto.unbiased), fake.mean, fake.cov(proto.unbiased))


def fvd_from_features(real: Any, fake: Any, protocol: str | FVDProtocol | None = None) -> float:
    """FVD of two feature sets ``[N, D]`` (arrays or tensors) under ``protocol``'s statistics."""
    return fvd_from_stats(FeatureStats().update(real), FeatureStats().update(fake), protocol)


def frechet_of_features(a: Any, b: Any, *, unbiased: bool = True) -> float:
    """Fréchet distance between Gaussians fitted to features ``a [N, D]`` and ``b [M, D]``.

    The covariances are ``/ (N - 1)`` (``unbiased``, numpy's and ``torch.cov``'s default) or
    ``/ N``; the distance is :func:`frechet_distance`.
    """
    sa, sb = FeatureStats().update(a), FeatureStats().update(b)
    return frechet_distance(sa.mean, sa.cov(unbiased), sb.mean, sb.cov(unbiased))
