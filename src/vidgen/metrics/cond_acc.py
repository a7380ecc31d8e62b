"""``cond_acc``: the share of class-conditional samples a domain evaluator classifies as the class asked for.

One counter, :class:`CondAcc`, does the counting: it classifies batches of clips, keeps per
class asked for the clips seen and the clips classified as that class, and sums those
counts over processes. Two front ends feed it:

- the metric ``cond_acc{N}`` (``cond_acc`` alone: 1000 clips), registered in
  ``vidgen.registry.METRICS``: clip ``seed + i`` of a generator is asked for class
  :func:`vidgen.convert.seed_labels` gives it (``(seed + i) mod classes``), so the score does
  not depend on the batch size or the number of processes (each scores its own block);
- :func:`cond_acc`, for clips already generated (or a ``sample(labels)`` callable) and the
  labels they were asked for, in memory::

    from vidgen.metrics.cond_acc import cond_acc
    acc = cond_acc(videos, labels, load_evaluator("shapes"))

When the generator's classes have names and the evaluator's do too, they are matched by
name (the two may order them differently); otherwise class ``k`` is the evaluator's ``k``.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import torch

from vidgen.convert import seed_labels
from vidgen.errors import ConfigError, VidgenError
from vidgen.metrics.detectors import load_evaluator_for
from vidgen.metrics.stats import rank_block
from vidgen.registry import METRICS
from vidgen.utils.progress import progress

__all__ = ["CondAcc", "DEFAULT_CLIPS", "class_map", "cond_acc", "score_cond_acc"]

DEFAULT_CLIPS = 1000  # the clips of a bare ``cond_acc``


def class_map(evaluator: Any, class_names: Sequence[str] | None, num_classes: int) -> torch.Tensor:
    """``[num_classes]``: the evaluator's class index of each class asked for (by name when both name them)."""
    known = list(getattr(evaluator, "class_names", None) or [])
    if class_names and known:
        unknown = [c for c in class_names if c not in known]
        if unknown:
            raise VidgenError(f"cond_acc: classes {unknown} are unknown to evaluator "
                              f"{getattr(evaluator, 'name', 'evaluator')!r}",
                              hint=f"its classes: {', '.join(known)}; use an evaluator trained on the generator's "
                                   "dataset")
        return torch.tensor([known.index(c) for c in class_names])
    return torch.arange(num_classes)


@contextlib.contextmanager
def _eval_mode(module: Any) -> Iterator[None]:
    """``module`` in eval mode for the duration (its mode restored after)."""
    was = getattr(module, "training", False)
    if hasattr(module, "eval"):
        module.eval()
    try:
        yield
    finally:
        if hasattr(module, "train"):
            module.train(was)


class CondAcc:
    """Streaming ``cond_acc``: :meth:`update` with clips and the classes asked for, :meth:`compute` at the end.

    Args:
        evaluator: a classifier with ``classify(videos [B, T, C, H, W]) -> logits [B, K]``
            (a :class:`~vidgen.metrics.evaluator.VideoEvaluator`), used as it is (the caller
            puts it in eval mode).
        num_classes: the classes asked for (the generator's).
        class_names: the generator's class names (matched to the evaluator's by name).
    """

    def __init__(self, evaluator: Any, *, num_classes: int, class_names: Sequence[str] | None = None):
        self.evaluator = evaluator
        self.names = list(class_names) if class_names else [str(k) for k in range(num_classes)]
        self.target = class_map(evaluator, class_names, num_classes)  # [num_classes]
        self.counts = torch.zeros(num_classes, 2, dtype=torch.long)  # [class asked for, (hits, clips)]

    def update(self, videos: torch.Tensor, asked: torch.Tensor) -> None:
        """Classify ``videos [B, T, C, H, W]``, asked for the classes ``asked [B]`` (long, in range)."""
        param = next(iter(self.evaluator.parameters()), None) if hasattr(self.evaluator, "parameters") else None
        x = videos if param is None else videos.to(param.device)  # parameter-free stand-ins: as given
        with torch.inference_mode():
            got = self.evaluator.classify(x).argmax(1).cpu()
        hits = (got == self.target[asked]).long()
        self.counts.index_add_(0, asked, torch.stack([hits, torch.ones_like(hits)], 1))

    def compute(self, *, all_processes: bool = True) -> dict[str, Any]:
        """``{"value", "clips", "per_class"}``, the counts summed over processes (``torch.distributed``)
        unless ``all_processes`` is False."""
        import torch.distributed as dist

        counts = self.counts.clone()
        if all_processes and dist.is_available() and dist.is_initialized():
            dist.all_reduce(counts)
        hits, clips = counts[:, 0].tolist(), counts[:, 1].tolist()
        return {"value": sum(hits) / max(sum(clips), 1), "clips": sum(clips),
                "per_class": {name: hits[k] / max(clips[k], 1) for k, name in enumerate(self.names)}}


def cond_acc(
    source: torch.Tensor | Callable[[torch.Tensor], torch.Tensor],
    labels: Sequence[int] | torch.Tensor,
    evaluator: Any,
    *,
    batch_size: int = 32,
    class_names: Sequence[str] | None = None,
) -> float:
    """Share of class-conditional samples that ``evaluator`` classifies as the class asked for.

    Args:
        source: generated videos ``[N, T, C, H, W]`` in ``[-1, 1]``, or a callable
            ``sample(labels [b]) -> videos [b, T, C, H, W]`` called on chunks of ``labels`` of
            at most ``batch_size``.
        labels: ``[N]`` the class each sample was asked for.
        evaluator: a :class:`~vidgen.metrics.evaluator.VideoEvaluator` (e.g. ``load_evaluator("shapes")``).
        class_names: the generator's class names when its label order may differ from the
            evaluator's; labels are then mapped by name.

    Returns:
        The accuracy in ``[0, 1]``. ``evaluator.classify(videos).argmax(1)`` gives the
        predictions themselves; :class:`CondAcc` the per-class split.
    """
    labels = torch.as_tensor(labels).reshape(-1)
    if labels.numel() == 0:
        raise VidgenError("cond_acc needs at least one requested label")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise VidgenError(f"cond_acc: labels must be integers, got {labels.dtype}")
    labels = labels.long()
    num_classes = len(class_names) if class_names is not None else int(evaluator.num_classes)
    counter = CondAcc(evaluator, num_classes=num_classes, class_names=class_names)
    if (labels < 0).any() or (labels >= num_classes).any():
        if class_names is not None:
            raise VidgenError(f"cond_acc: labels must be in [0, {num_classes}), got {labels.tolist()[:8]}...")
        raise VidgenError(f"cond_acc: labels must be in [0, {num_classes}) (the classes of evaluator "
                          f"{evaluator.name!r}), got min {int(labels.min())}, max {int(labels.max())}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise VidgenError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if isinstance(source, torch.Tensor):
        if source.ndim != 5 or len(source) != len(labels):
            raise VidgenError(f"cond_acc: {len(labels)} labels for videos of shape {list(source.shape)}",
                              hint="pass videos [N, T, C, H, W] and one requested label per video")
    elif not callable(source):
        raise VidgenError(f"cond_acc takes videos or a callable sample(labels), got {type(source).__name__}")
    with _eval_mode(evaluator):
        for start in range(0, len(labels), batch_size):
            ask = labels[start:start + batch_size]
            if isinstance(source, torch.Tensor):
                videos = source[start:start + batch_size]
            else:
                videos = source(ask)
                if not isinstance(videos, torch.Tensor) or videos.ndim != 5 or len(videos) != len(ask):
                    got = list(videos.shape) if isinstance(videos, torch.Tensor) else type(videos).__name__
                    raise VidgenError(f"cond_acc: sample({len(ask)} labels) returned {got}, "
                                      f"expected videos [{len(ask)}, T, C, H, W]")
            counter.update(videos, ask)
    return counter.compute(all_processes=False)["value"]


def _parse(name: str, params: dict[str, Any]) -> dict[str, Any]:
    clips = DEFAULT_CLIPS if params["clips"] is None else params["clips"]
    if clips < 1:
        raise ConfigError(f"metric {name!r}: needs at least 1 clip", hint="e.g. cond_acc1000, or cond_acc (1000)")
    return {"clips": clips, "frames": None}


@METRICS.register("cond_acc{N}", pattern=r"cond_acc(?P<clips>\d*)", parse=_parse,
                  needs=("generate", "class", "evaluator"), example="cond_acc1000",
                  summary="share of N class-conditional samples (cond_acc: 1000) that a domain evaluator "
                          "classifies as the class asked for")
def score_cond_acc(metric: Any, sample: Callable[[int, int, Any], torch.Tensor], *, detector: Any = None,
                   seed: int = 0, batch_size: int = 16, num_classes: int = 0, class_names: Any = None,
                   device: str | torch.device = "cpu", **_: Any) -> dict[str, Any]:
    """``cond_acc{N}`` of a generator's ``sample(seed, n, frames)``; ``detector``: the evaluator (see
    :func:`~vidgen.metrics.detectors.load_evaluator_for`); ``num_classes``: the classes it is asked for."""
    if num_classes < 1:
        raise VidgenError("cond_acc scores class-conditional models; this one is unconditional (or its "
                          "categories, model.info_classes, were learned without labels)",
                          hint="train with model.conditional=true, or use an fvd/kvd metric")
    evaluator = load_evaluator_for(detector, device=device)
    counter = CondAcc(evaluator, num_classes=num_classes, class_names=class_names)
    start, count = rank_block(metric.params["clips"])
    with _eval_mode(evaluator):
        for i in progress(range(start, start + count, batch_size), desc="cond_acc"):
            n = min(batch_size, start + count - i)
            counter.update(sample(seed + i, n, None), seed_labels(range(seed + i, seed + i + n), num_classes))
    return {"metric": metric.name, **counter.compute(), "detector": getattr(evaluator, "name", "evaluator"),
            "detector_sha256": getattr(evaluator, "sha256", None)}
