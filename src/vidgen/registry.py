"""One registry per kind of thing (datasets, models, metrics), filled by decorators.

A name lives in one place: the decorator. The CLI choices, config validation and the
registry-consistency test all read these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from vidgen.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    name: str
    obj: Any  # the class or factory
    config: type | None  # the dataclass that configures it
    meta: dict[str, Any] = field(default_factory=dict)


class Registry:
    """A name -> (object, config dataclass) map filled with ``@REG.register(name, config=...)``."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, *, config: type | None = None, **meta: Any) -> Callable[[Any], Any]:
        def deco(obj: Any) -> Any:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = Entry(name=name, obj=obj, config=config, meta=dict(meta))
            return obj

        return deco

    def get(self, name: str) -> Entry:
        _import_builtins()
        if name not in self._entries:
            raise ConfigError(
                f"unknown {self.kind} {name!r}",
                hint=f"valid {self.kind}s: {', '.join(self.names())}",
            )
        return self._entries[name]

    def names(self) -> list[str]:
        _import_builtins()
        return sorted(self._entries)

    def name_of_config(self, config_cls: type) -> str:
        for entry in self._entries.values():
            if entry.config is config_cls:
                return entry.name
        raise KeyError(f"no {self.kind} is configured by {config_cls.__name__}")

    def __contains__(self, name: str) -> bool:
        _import_builtins()
        return name in self._entries

    def __iter__(self):
        _import_builtins()
        return iter(sorted(self._entries.values(), key=lambda e: e.name))


DATASETS = Registry("dataset")
MODELS = Registry("model")
METRICS = Registry("metric")

_imported = False


def _import_builtins() -> None:
    """Import the modules whose decorators fill the registries (once, lazily)."""
    global _imported
    if _imported:
        return
    import vidgen.data  # noqa: F401
    import vidgen.metrics.evaluate  # noqa: F401
    import vidgen.models  # noqa: F401

    _imported = True
