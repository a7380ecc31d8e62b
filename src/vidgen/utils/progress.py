"""Progress bars for long work (sampling, scoring, prediction, evaluator training).

On a terminal a tqdm bar on stderr; when stderr is a file or a pipe, nothing (training
prints its own tick lines). ``VIDGEN_PROGRESS=1`` or ``0`` forces either. Work of a single
step shows no bar, so short calls (and the training previews) stay quiet.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterable, TypeVar

T = TypeVar("T")


def enabled() -> bool:
    forced = os.environ.get("VIDGEN_PROGRESS")
    if forced is not None:
        return forced not in ("", "0", "false", "no")
    return sys.stderr.isatty()


def progress(items: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "batch") -> Iterable[T]:
    """``items``, with a bar where one helps (see the module docstring)."""
    if total is None:
        total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
    if not enabled() or (total is not None and total <= 1):
        return items
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, file=sys.stderr)


def bar(total: int, *, desc: str = "", unit: str = "step") -> Any:
    """A bar to ``update`` by hand (a no-op object where none is shown)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, file=sys.stderr,
                disable=not enabled() or total <= 1)
