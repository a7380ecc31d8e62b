"""The one writer of metric records: one JSON line per score, appended to a ``.jsonl`` file.

``vidgen eval`` (``RUN_DIR/metric-<name>.jsonl`` or ``--out``), ``train.metrics``
(``RUN_DIR/metric-<name>.jsonl`` at every score) and the benchmarks all append through
:func:`append_record`; the results page is built from these files.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vidgen.errors import VidgenError

__all__ = ["append_record"]


def append_record(path: str | Path, record: dict[str, Any]) -> Path:
    """Append ``record`` (plus a UTC time) as one JSON line to ``path``; a clear error if it cannot."""
    path = Path(path)
    record = {**record, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            f.write(json.dumps(record, default=str) + "\n")
    except OSError as e:
        raise VidgenError(f"could not write {path}: {e.strerror or e}",
                          hint="pass --out FILE somewhere writable") from None
    return path
