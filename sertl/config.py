"""YAML configs read into typed, validated dataclasses.

A config is data, never code: files are read with ``yaml.safe_load`` and mapped onto
dataclasses field by field. An unknown (e.g. misspelled) key, a missing required key or a
value of the wrong type is a ConfigError naming the file and the dotted key, so an
ablation that swaps a conf file never silently falls back to a default.

Supported field types: bool, int, float, str, Literal[...], Optional[T], list[T],
tuple[T, ...], dict[str, T] and nested dataclasses.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config that does not fit its schema; the message names file and key."""


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0])
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return _build(tp, value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        item = args[0] if args else Any
        items = [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return {str(k): _convert(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (bool, int, float, str):
        if type(value) is not tp:
            raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported field type {tp}")


def _build(cls: type[T], values: dict, where: str) -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ConfigError(f"unknown key '{key}' (known here: {', '.join(fields)})")
    kwargs = {}
    for name, field in fields.items():
        key = f"{where}.{name}" if where else name
        if name in values:
            kwargs[name] = _convert(values[name], hints[name], key)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"required key '{key}' missing")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where or cls.__name__}: {e}") from None


def from_dict(cls: type[T], values: dict, source: str = "<dict>") -> T:
    """Build ``cls`` from a plain mapping, with the checks of :func:`load_config`."""
    try:
        return _build(cls, values, "")
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def read_yaml(path: str | Path) -> dict:
    """The top-level mapping of a YAML config file, as plain data."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read config: {e}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return values


def load_config(path: str | Path, cls: type[T]) -> T:
    """Read a YAML file into the dataclass ``cls`` (see module docstring)."""
    return from_dict(cls, read_yaml(path), str(path))


def to_dict(config: Any) -> dict:
    """The config as plain data (for saving a copy in an experiment dir)."""
    return dataclasses.asdict(config, dict_factory=lambda items: {
        k: list(v) if isinstance(v, tuple) else v for k, v in items})


def save_config(path: str | Path, config: Any) -> None:
    """Write the config as YAML (the copy an exp dir keeps)."""
    Path(path).write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
