"""One registry per kind of thing (datasets, models, metrics), filled by decorators.

A name lives in one place: the decorator. The CLI choices, config validation and the
registry-consistency test all read these objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from vidgen.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    name: str
    obj: Any  # the class or factory
    config: type | None  # the dataclass that configures it
    meta: dict[str, Any] = field(default_factory=dict)
    # an entry registered for a family of names (metrics: ``fvd{N}_{T}f``) matches them with
    # ``pattern`` (in full); ``get`` returns it under the name asked for, with ``params`` the
    # values ``parse`` read from that name, and ``form`` the name it was registered under
    pattern: re.Pattern[str] | None = None
    parse: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    form: str = ""

    def __post_init__(self) -> None:
        if not self.form:
            object.__setattr__(self, "form", self.name)


class Registry:
    """A name -> (object, config dataclass) map filled with ``@REG.register(name, config=...)``."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, *, config: type | None = None, pattern: str | None = None,
                 parse: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
                 **meta: Any) -> Callable[[Any], Any]:
        """Register under ``name``; with ``pattern`` (a regular expression), under every name it
        matches in full, ``name`` being the form shown to users (``fvd{N}_{T}f``). The pattern's
        named groups are the parameters: digits become ints, empty groups None; ``parse(name,
        params)`` may check them and fill defaults (a :class:`ConfigError` for a bad name)."""

        def deco(obj: Any) -> Any:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = Entry(name=name, obj=obj, config=config, meta=dict(meta),
                                        pattern=re.compile(pattern) if pattern is not None else None, parse=parse)
            return obj

        return deco

    def get(self, name: str) -> Entry:
        """The entry called ``name``, or the one whose pattern matches it (with its ``params``)."""
        _import_builtins()
        entry = self._entries.get(name)
        if entry is not None and entry.pattern is None:
            return entry
        text = str(name).strip()
        for entry in self._entries.values():
            match = entry.pattern.fullmatch(text) if entry.pattern is not None else None
            if match:
                params = {k: int(v) if v and v.isdigit() else (v or None) for k, v in match.groupdict().items()}
                if entry.parse is not None:
                    params = entry.parse(text, params)
                return replace(entry, name=text, params=params, form=entry.form)
        shown = [e.form + (f" (e.g. {e.meta['example']})" if "example" in e.meta else "") for e in self]
        raise ConfigError(f"unknown {self.kind} {name!r}", hint=f"valid {self.kind}s: {', '.join(shown)}")

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
        if any(e.pattern is not None for e in self._entries.values()):
            try:
                self.get(name)
            except ConfigError:
                return False
            return True
        return name in self._entries

    def __iter__(self):
        _import_builtins()
        return iter(sorted(self._entries.values(), key=lambda e: e.name))


DATASETS = Registry("dataset")
MODELS = Registry("model")
FAMILIES = Registry("family")  # one FamilySpec per model family (vidgen/family.py)
METRICS = Registry("metric")
POST_OPS = Registry("post-processing op")  # denoise, deflicker, sharpen, ... (vidgen/post/)

_imported = False


def _import_builtins() -> None:
    """Import the modules whose decorators fill the registries (once, lazily)."""
    global _imported
    if _imported:
        return
    import vidgen.data  # noqa: F401
    import vidgen.metrics.cond_acc  # noqa: F401
    import vidgen.metrics.evaluate  # noqa: F401
    import vidgen.metrics.generative  # noqa: F401
    import vidgen.metrics.sr  # noqa: F401
    import vidgen.metrics.temporal  # noqa: F401
    import vidgen.models  # noqa: F401
    import vidgen.post  # noqa: F401

    _imported = True
