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
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from vidgen.errors import VidgenError

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
FORMAT_VERSION = 2  # 2: the model config holds no training options (vidgen.inference.migrate_meta)


def _atomic_write(path: Path, write) -> None:
    """Write ``path`` through ``write(tmp_path)`` so that a crash never leaves it half-written.

    Temporary file in the same folder, fsync, rename over the old file, fsync the folder:
    a process killed at any moment leaves either the old or the new file, whole. A failed
    write (a full disk, say) is reported with the path and the old file is kept.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: give the file the mode open() would
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as e:
        kept = " (the previous file is kept)" if path.exists() else ""
        raise VidgenError(f"could not write {path}: {e.strerror or e}{kept}",
                          hint="free disk space or point run_dir at a disk with room, then resume") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it: set and restore at once
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_export(directory: str | Path, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write ``state`` (tensors) and ``meta`` (JSON-able) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    blob = safetensors_bytes(tensors)  # written by Python file I/O, so a full disk is an OSError
    _atomic_write(directory / WEIGHTS, lambda p: Path(p).write_bytes(blob))
    meta = {"format_version": FORMAT_VERSION, **meta}
    _atomic_write(directory / CONFIG, lambda p: Path(p).write_text(json.dumps(meta, indent=2)))
    return directory


def find_export(path: str | Path) -> Path:
    """The export folder for ``path``: a run folder, an export folder, its weights file, or the
    name of a model shipped with the package (``vidgen models`` lists them)."""
    from vidgen.zoo import resolve, shipped_names

    path = resolve(path)
    if path.is_file() and path.name in (WEIGHTS, CONFIG):
        path = path.parent
    if not path.exists():
        names = ", ".join(shipped_names()) or "none installed"
        raise VidgenError(f"checkpoint {str(path)!r} does not exist",
                          hint=f"pass a run folder such as runs/demo, or a shipped model's name ({names})")
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


# --- training states (for resuming) ------------------------------------------------------
#
# One file per checkpoint, RUN_DIR/checkpoints/state-<step>.pt: every network, EMA copy,
# optimizer, scaler, RNG and the data position. Written with torch.save (tensors, numbers,
# strings, lists and dicts only) and read back with torch.load(weights_only=True), which
# refuses anything that would run code.

STATES = "checkpoints"
STATE_PREFIX = "state-"


def save_state(run_dir: str | Path, state: dict[str, Any], *, step: int, keep: int) -> Path:
    """Write ``state`` atomically as ``RUN_DIR/checkpoints/state-<step>.pt``; keep the newest ``keep``."""
    directory = Path(run_dir) / STATES
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{STATE_PREFIX}{step:09d}.pt"

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a Python file, so a full disk surfaces as an OSError
            torch.save(state, f)

    _atomic_write(path, write)
    for leftover in directory.glob(f".{STATE_PREFIX}*.tmp"):  # from a process killed while saving
        leftover.unlink(missing_ok=True)
    for old in list_states(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def list_states(run_dir: str | Path) -> list[Path]:
    """The complete training states of a run, oldest first (temporary files are skipped)."""
    directory = Path(run_dir) / STATES
    if not directory.is_dir():
        return []
    found = []
    for p in directory.glob(f"{STATE_PREFIX}*.pt"):
        try:
            found.append((int(p.stem.removeprefix(STATE_PREFIX)), p))
        except ValueError:
            continue
    return [p for _, p in sorted(found)]


def find_state(path: str | Path) -> Path:
    """A training-state file from ``path``: the file itself, or the newest one in a run folder."""
    path = Path(path)
    if path.is_file():
        return path
    if path.name == STATES:
        path = path.parent
    if not path.exists():
        raise VidgenError(f"nothing to resume from: {str(path)!r} does not exist",
                          hint="pass a run folder, its checkpoints/state-*.pt file, or 'latest' with the recipe")
    states = list_states(path)
    if not states:
        raise VidgenError(f"{str(path)!r} holds no training state ({STATES}/{STATE_PREFIX}*.pt)",
                          hint="training states are written every train.checkpoint_ticks ticks and when a run stops")
    return states[-1]


def load_state(path: str | Path) -> dict[str, Any]:
    """Read a training state written by :func:`save_state` (no unrestricted unpickling)."""
    path = find_state(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, foreign pickle, ...
        raise VidgenError(f"{path} is not a readable training state ({str(e).splitlines()[0][:200]})",
                          hint="resume from an older state in the same folder") from None
    if not isinstance(state, dict) or "step" not in state:
        raise VidgenError(f"{path} is not a vidgen training state")
    return state
