"""The inference export: ``model.safetensors`` + ``config.json``.

``config.json`` names the registry entry, the model config, the clip shape and the data
config, so a checkpoint describes itself. Weights are safetensors: nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from vidgen.errors import VidgenError

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
FORMAT_VERSION = 1


def _atomic_write(path: Path, write) -> None:
    # write to a temporary file in the same folder, fsync, rename: a crash leaves the old file
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_export(directory: str | Path, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write ``state`` (tensors) and ``meta`` (JSON-able) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    _atomic_write(directory / WEIGHTS, lambda p: save_file(tensors, p))
    meta = {"format_version": FORMAT_VERSION, **meta}
    _atomic_write(directory / CONFIG, lambda p: Path(p).write_text(json.dumps(meta, indent=2)))
    return directory


def find_export(path: str | Path) -> Path:
    """The export folder for ``path``: a run folder, an export folder or its weights file."""
    path = Path(path)
    if path.is_file() and path.name in (WEIGHTS, CONFIG):
        path = path.parent
    if not path.exists():
        raise VidgenError(f"checkpoint {str(path)!r} does not exist", hint="pass a run folder such as runs/demo")
    if not (path / CONFIG).is_file() or not (path / WEIGHTS).is_file():
        raise VidgenError(
            f"{str(path)!r} holds no exported model ({WEIGHTS} + {CONFIG})",
            hint="pass the run folder that 'vidgen train' wrote (it exports when training ends)",
        )
    return path


def load_export(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read an export written by :func:`save_export`: ``(tensors, meta)``."""
    directory = find_export(path)
    try:
        meta = json.loads((directory / CONFIG).read_text())
    except json.JSONDecodeError as e:
        raise VidgenError(f"{directory / CONFIG} is not valid JSON ({e.msg})") from None
    try:
        state = load_file(str(directory / WEIGHTS))
    except Exception as e:  # safetensors raises its own error types on truncated files
        raise VidgenError(f"{directory / WEIGHTS} cannot be read: {e}") from None
    return state, meta
