"""YAML configs read into typed, validated dataclasses.

A config is data, never code: files are read with YAML's safe loader and mapped onto
dataclasses field by field. An unknown (e.g. misspelled) key, a duplicate key, a missing
required key or a value of the wrong type is a ConfigError naming the file and the dotted
key (or line), so an ablation that swaps a conf file never silently falls back to a
default or takes the last of two values. Anchors and aliases (and ``<<`` merges) work, but
a file whose aliases expand to more than MAX_VALUES values (a few hundred bytes can nest
aliases into billions) is refused before it is expanded, and error messages show values
abbreviated, so a hostile or broken config fails fast.

Supported field types: bool, int, float, str, Literal[...], Optional[T], list[T],
tuple[T, ...], dict[str, T] and nested dataclasses.
"""
from __future__ import annotations

import dataclasses
import reprlib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


MAX_VALUES = 100_000  # scalars, lists and mappings of a config, its aliases expanded

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60


class ConfigError(ValueError):
    """A config that does not fit its schema; the message names file and key."""


class _ConfigLoader(yaml.SafeLoader):
    """YAML's safe loader that refuses duplicate keys in a mapping, naming the line."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, typing.Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {_short.repr(key)}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int | None]) -> int:
    """How many values ``node`` holds once its aliases are expanded (aliases share nodes,
    so this is computed once per node; None in ``sizes`` marks a node being counted)."""
    key = id(node)
    if key in sizes:
        if sizes[key] is None:
            raise ConfigError(f"line {node.start_mark.line + 1}: an alias refers to a "
                              "value that holds it (a recursive config)")
        return sizes[key]
    sizes[key] = None
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    size = 1 + sum(_expanded_size(child, sizes) for child in children)
    sizes[key] = size
    return size


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
            raise ConfigError(f"{where}: {_short.repr(value)} is not one of {list(args)}")
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
            raise ConfigError(f"{where}: expected {tp.__name__}, got {_short.repr(value)}")
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
        with open(path, encoding="utf-8") as f:
            loader = _ConfigLoader(f.read())
        loader.name = str(path)  # YAML's error marks name the file and line
        try:
            node = loader.get_single_node()
            size = 0 if node is None else _expanded_size(node, {})
            if size > MAX_VALUES:
                raise ConfigError(f"its aliases expand to {size} values (more than "
                                  f"{MAX_VALUES}); write the values out")
            values = (None if node is None else loader.construct_document(node)) or {}
        finally:
            loader.dispose()
    except (OSError, yaml.YAMLError, ConfigError) as e:
        raise ConfigError(f"{path}: cannot read config: {e}") from None
    except RecursionError:
        raise ConfigError(f"{path}: cannot read config: nested too deeply") from None
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
