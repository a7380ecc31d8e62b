"""Typed configs with strict loading.

Every component owns a small dataclass. A YAML recipe combines them; loading is strict:
an unknown key, a wrong type or a missing file is a :class:`ConfigError` that names the
key and the valid choices. Precedence: dataclass defaults < YAML < ``key.sub=value``
overrides from the command line.

A field whose metadata carries ``registry=...`` is a *choice*: its mapping has a ``name``
that picks the registered entry, and the rest of the mapping is parsed strictly against
that entry's own config dataclass.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import types
import typing
from pathlib import Path
from typing import Any, Callable, Literal, TypeVar, get_args, get_origin

import yaml

from vidgen.errors import ConfigError

T = TypeVar("T")
log = logging.getLogger("vidgen.config")


def depends(parser: Callable[[dict[str, Any]], type]) -> Any:
    """A dataclass field whose config class follows from the fields parsed before it.

    ``parser(kwargs)`` gets the other fields' parsed values and returns the dataclass to read
    the field's mapping into (e.g. a run's ``objective`` is the training options of its
    model's family). Left out, the field is ``None`` and the owner's ``__post_init__`` fills
    in the default.
    """
    return dataclasses.field(default=None, metadata={"depends": parser})


def choice(registry: Any, default: str) -> Any:
    """A dataclass field that selects a registry entry by ``name`` (see module doc)."""

    def factory() -> Any:
        return registry.get(default).config()

    return dataclasses.field(default_factory=factory, metadata={"registry": registry, "default": default})


# ----------------------------------------------------------------------------- parsing


def _hint_keys(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    prefix = f"did you mean {close[0]!r}? " if close else ""
    return f"{prefix}valid keys: {', '.join(valid)}"


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _parse_value(tp: Any, value: Any, where: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _parse_value(arg, value, where)
            except ConfigError as e:
                errors.append(e)
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        allowed = get_args(tp)
        if isinstance(value, bool) and {"on", "off"} <= set(allowed):
            value = "on" if value else "off"  # YAML 1.1 reads a bare on/off as a boolean
        if value not in allowed:
            raise ConfigError(
                f"{where}: {value!r} is not allowed",
                hint=f"valid choices: {', '.join(map(str, allowed))}",
            )
        return value
    if origin in (list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_parse_value(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        items = [_parse_value(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise TypeError(f"{where}: unsupported config type {tp!r}")


def from_dict(cls: type[T], data: Any, where: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, strictly (unknown keys and bad types raise)."""
    label = where or cls.__name__
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a mapping of keys, got {data!r}")
    migrate = getattr(cls, "migrate_dict", None)
    if migrate is not None:  # keys older versions wrote elsewhere (see e.g. ExperimentConfig)
        data = migrate(dict(data))
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        raise ConfigError(f"unknown config key {_join(where, str(key))!r}", hint=_hint_keys(str(key), sorted(fields)))
    kwargs: dict[str, Any] = {}
    # a field with a "depends" parser is read last: its type follows from the other fields
    for name, value in sorted(data.items(), key=lambda kv: "depends" in fields[kv[0]].metadata):
        f = fields[name]
        sub = _join(where, name)
        registry = f.metadata.get("registry")
        if "depends" in f.metadata:
            kwargs[name] = from_dict(f.metadata["depends"](kwargs), value, sub)
        elif registry is not None:
            kwargs[name] = _parse_choice(registry, value, sub, f.metadata.get("default"))
        else:
            kwargs[name] = _parse_value(hints[name], value, sub)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{label}: {e}") from None


def _parse_choice(registry: Any, value: Any, where: str, default: str | None) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping with a 'name' key, got {value!r}")
    value = dict(value)
    name = value.pop("name", default)
    if name is None:
        raise ConfigError(f"{where}.name is missing", hint=f"valid names: {', '.join(registry.names())}")
    switched = value.pop(SWITCHED, None)
    try:
        entry = registry.get(str(name))
    except ConfigError as e:
        raise ConfigError(f"{where}.name: {e.message}", hint=e.hint) from None
    if switched is not None:  # an override changed the name: keep the keys the new entry shares
        fields = {f.name for f in dataclasses.fields(entry.config) if f.init}
        dropped = sorted(k for k in value if k not in fields and k not in switched["set"])
        for key in dropped:
            del value[key]
        if dropped:
            kept = sorted(k for k in value if k not in switched["set"])
            log.warning("%s.name=%s (the recipe had %s): kept %s; dropped %s, which %s does not take",
                        where, name, switched["from"], ", ".join(kept) or "nothing", ", ".join(dropped), name)
    return from_dict(entry.config, value, where)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


# ---------------------------------------------------------------------------- dumping


def to_dict(obj: Any) -> Any:
    """Plain-data form of a config (choices get their ``name`` back), YAML/JSON friendly."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            registry = f.metadata.get("registry")
            if registry is not None:
                out[f.name] = {"name": registry.name_of_config(type(value)), **to_dict(value)}
            else:
                out[f.name] = to_dict(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def dump_yaml(obj: Any) -> str:
    return yaml.safe_dump(to_dict(obj), sort_keys=False, default_flow_style=None)


def dump_json(obj: Any) -> str:
    return json.dumps(to_dict(obj), indent=2)


# --------------------------------------------------------------------- YAML + overrides


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist", hint="list the recipes with 'ls configs/'")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.lr=1e-4"`` -> (["train", "lr"], 1e-4). Values are read as YAML scalars."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key.sub=value", hint="for example train.batch_size=8")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


SWITCHED = "__switched__"  # marks a choice whose name an override changed (see _set_path)


def _set_path(data: dict[str, Any], keys: list[str], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``data[k0][k1]... = value`` (the caller's mappings untouched).

    Setting a ``name`` that differs from the one there switches the choice (``data.name=folder``
    on a shapes recipe): the old entry's keys stay, marked, and the parser keeps those the new
    entry also has (``frames``, ``resolution``, ``seed``, ...) and drops the others with a
    warning that lists them (:func:`_parse_choice`). Keys set after the switch are the new
    entry's own: an unknown one is an error as usual.
    """
    out = dict(data)
    node = out
    for k in keys[:-1]:
        child = node.get(k)
        node[k] = dict(child) if isinstance(child, dict) else {}
        node = node[k]
    last = keys[-1]
    if last == "name" and len(keys) > 1 and node.get("name", value) != value:
        switched = node.get(SWITCHED) or {"from": node.get("name"), "set": []}
        node[SWITCHED] = {"from": switched["from"], "set": []}
    elif SWITCHED in node:
        node[SWITCHED] = {**node[SWITCHED], "set": [*node[SWITCHED]["set"], last]}
    node[last] = value
    return out


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides to ``data``, in order (see :func:`_set_path`)."""
    for text in overrides:
        keys, value = parse_override(text)
        data = _set_path(data, keys, value)
    return data


def load(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """defaults < YAML at ``path`` < ``key.sub=value`` overrides, parsed strictly into ``cls``."""
    data: dict[str, Any] = read_yaml(path) if path is not None else {}
    data = apply_overrides(data, overrides or [])
    return from_dict(cls, data)
