"""Does a domain evaluator's Fréchet distance see motion? Real clips vs broken motion.

For each shipped evaluator: two real sets of N clips drawn from its training data config
with other seeds (A and B), then B with each clip's frames in a random order ("shuffled")
and B with its first frame repeated ("frozen"). Prints FD(A, B), the floor set by sampling
alone, next to FD(A, shuffled B) and FD(A, frozen B), plus the held-out accuracy and the
share of shuffled / frozen clips still given their true class (what the classifier sees
of the content). With several pairs of real sets (fresh seeds each), cells show the mean
and the range: at small N the class proportions of A and B differ by chance, and that
alone moves FD(A, B). Features: ``evaluator.features`` (the Fréchet detector interface);
distance: float64 means and covariances, matrix roots by eigendecomposition.

    python benchmarks/evaluator_separation.py                 # every shipped evaluator: 3 pairs of 2048 clips
    python benchmarks/evaluator_separation.py --num 512 --pairs 5 --evaluators shapes
    python benchmarks/evaluator_separation.py --evaluators moving_digits --data num_digits=2
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from vidgen import config as cfgmod
from vidgen.data import build_dataset
from vidgen.metrics.evaluator import load_evaluator, shipped_evaluators
from vidgen.metrics.stats import frechet_of_features
from vidgen.registry import DATASETS


def real_clips(meta_data: dict, seed: int, num: int, overrides: list[str] = ()) -> tuple[torch.Tensor, torch.Tensor]:
    """``num`` clips ``[N, T, C, H, W]`` and labels of the evaluator's training data config with
    ``seed`` and ``key=value`` overrides."""
    data = cfgmod.apply_overrides(dict(meta_data), list(overrides))
    name = data.pop("name")
    data.update(seed=seed, num_clips=max(num, int(data.get("num_clips", num))))
    dataset = build_dataset(cfgmod.from_dict(DATASETS.get(name).config, data, "data"))
    items = [dataset[i] for i in range(num)]
    return torch.stack([it["video"] for it in items]), torch.tensor([it["label"] for it in items])


def shuffled(videos: torch.Tensor, seed: int) -> torch.Tensor:
    """Each clip's frames in its own random order (never the identity)."""
    g = torch.Generator().manual_seed(seed)
    out = torch.empty_like(videos)
    t = videos.shape[1]
    for i in range(len(videos)):
        perm = torch.randperm(t, generator=g)
        while torch.equal(perm, torch.arange(t)):
            perm = torch.randperm(t, generator=g)
        out[i] = videos[i, perm]
    return out


def frozen(videos: torch.Tensor) -> torch.Tensor:
    """The first frame of each clip, repeated: the content without the motion."""
    return videos[:, :1].expand_as(videos).contiguous()


@torch.no_grad()
def features(model, videos: torch.Tensor, batch_size: int) -> torch.Tensor:
    return torch.cat([model.features(chunk) for chunk in videos.split(batch_size)])


@torch.no_grad()
def accuracy(model, videos: torch.Tensor, labels: torch.Tensor, batch_size: int) -> float:
    pred = torch.cat([model.classify(chunk).argmax(1) for chunk in videos.split(batch_size)])
    return float((pred == labels).float().mean())


def _cell(values: list[float], digits: int) -> str:
    """``mean`` for one value, ``mean (min-max)`` for several."""
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluators", nargs="*", default=None, help="names or folders (default: every shipped one)")
    parser.add_argument("--num", type=int, default=2048, help="clips per set (default 2048)")
    parser.add_argument("--pairs", type=int, default=3,
                        help="pairs of real sets (A, B) with fresh seeds; cells show mean (min-max) (default 3)")
    parser.add_argument("--seed", type=int, default=1000, help="pair i uses data seeds seed+2i and seed+2i+1")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", nargs="*", default=[], metavar="KEY=VALUE",
                        help="changes to the evaluators' training data config, e.g. num_digits=2")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = args.evaluators or shipped_evaluators()
    last = args.seed + 2 * args.pairs - 1
    print(f"# {args.num} clips per set, {args.pairs} pair(s) of sets (data seeds {args.seed}..{last}); "
          f"{platform.processor() or platform.machine()}, {args.threads} thread(s), torch {torch.__version__}"
          + (f"; data changed: {' '.join(args.data)}" if args.data else ""))
    columns = ["evaluator", "clips", "held-out acc", "FD(A, B)", "FD(A, shuffled B)", "FD(A, frozen B)",
               "acc shuffled", "acc frozen", "s"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for name in names:
        start = time.perf_counter()
        model = load_evaluator(name)
        fd: dict[str, list[float]] = {"real": [], "shuffled": [], "frozen": []}
        acc: dict[str, list[float]] = {"shuffled": [], "frozen": []}
        for pair in range(args.pairs):
            a, _ = real_clips(model.meta["data"], args.seed + 2 * pair, args.num, args.data)
            fa = features(model, a, args.batch_size)
            del a
            b, labels_b = real_clips(model.meta["data"], args.seed + 2 * pair + 1, args.num, args.data)
            for key, v in (("real", b), ("shuffled", shuffled(b, seed=pair)), ("frozen", frozen(b))):
                fd[key].append(frechet_of_features(fa, features(model, v, args.batch_size)))
                if key != "real":
                    acc[key].append(accuracy(model, v, labels_b, args.batch_size))
        cells = [model.name, str(args.num), f"{model.meta['held_out_accuracy']:.4f}", _cell(fd["real"], 3),
                 _cell(fd["shuffled"], 2), _cell(fd["frozen"], 2), _cell(acc["shuffled"], 3),
                 _cell(acc["frozen"], 3), f"{time.perf_counter() - start:.0f}"]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
