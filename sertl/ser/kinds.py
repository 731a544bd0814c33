"""The kinds of SER system (see sertl.ser.system), read from a conf without importing the
systems themselves: the steps ask for a conf's kind once per job."""
from __future__ import annotations

from pathlib import Path

from sertl.config import ConfigError, read_yaml

KINDS = ("network", "svm", "resnet34", "soundnet", "vgg16")


def system_kind(path: str | Path) -> str:
    """The ``system`` key of a conf (``network`` when absent)."""
    kind = read_yaml(path).get("system", "network")
    if kind not in KINDS:
        raise ConfigError(f"{path}: system: unknown kind '{kind}' (known: {', '.join(KINDS)})")
    return kind
