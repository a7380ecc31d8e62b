"""Small pretrained models that ship inside the package, loadable by name.

Each lives in ``vidgen/zoo/<name>/``: the export (``model.safetensors`` + ``config.json``,
what ``vidgen train`` writes) and ``card.json``, its listing: what it does, the recipe and the
exact command that trained it, the hardware and budget, and the metrics measured on it by
protocol name, each with the command that measures it and the tolerance within which
``tests/test_zoo.py`` must measure it again (so a shipped model cannot rot unnoticed).
``vidgen.load("shapes-cond64")``, ``vidgen sample shapes-cond64 ...`` and every command that
takes a run folder take a shipped name too; ``vidgen models`` lists them.

New ones are made by ``benchmarks/ship_model.py`` from a finished run. This module imports
nothing of vidgen's, so the lowest layers (``io``) may resolve names through it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ZOO_DIR = Path(__file__).resolve().parent
CARD = "card.json"


@dataclass(frozen=True)
class ShippedModel:
    """One shipped model: its folder and its card (see the module docstring)."""

    name: str
    path: Path
    card: dict[str, Any]

    @property
    def size_bytes(self) -> int:
        """Bytes of the export in the package (weights and config)."""
        return sum(p.stat().st_size for p in self.path.iterdir() if p.name != CARD)

    @property
    def summary(self) -> str:
        return str(self.card.get("summary", ""))


def shipped_models() -> list[ShippedModel]:
    """Every model in the package, by name."""
    out = []
    for folder in sorted(ZOO_DIR.iterdir()):
        card = folder / CARD
        if folder.is_dir() and card.is_file() and (folder / "model.safetensors").is_file():
            out.append(ShippedModel(name=folder.name, path=folder, card=json.loads(card.read_text())))
    return out


def shipped_names() -> list[str]:
    return [m.name for m in shipped_models()]


def find_shipped(name: str) -> ShippedModel | None:
    """The shipped model called ``name`` (None when there is none)."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    for model in shipped_models():
        if model.name == name:
            return model
    return None


def resolve(path: str | Path) -> Path:
    """``path`` itself where it exists; else the folder of the shipped model of that name; else ``path``."""
    p = Path(path)
    if p.exists():
        return p
    shipped = find_shipped(str(path))
    return shipped.path if shipped is not None else p
