"""Shared command-line pieces of the sertl.bin tools: options, devices, error handling.

torch is imported only where a device or a process group is needed, so that the tools
that do without it (SVM systems, tables, data dirs) start fast: the steps start them once
per job."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from sertl.audio import AudioError
from sertl.io import TableError


def parse_bool(text: str) -> bool:
    """Kaldi's boolean option values: true/false."""
    if text not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")
    return text == "true"


def add_device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None,
                        help="torch device, e.g. cpu or cuda:0 (default: cuda when available)")


def choose_device(name: str | None) -> "torch.device":
    """The requested device, or cuda when available and the CPU otherwise."""
    import torch

    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def run_tool(name: str, body: Callable[[], object],
             errors: tuple[type[Exception], ...] | None = None) -> int:
    """Run a tool's body; an expected failure (one of ``errors``; by default model, table,
    audio, key and OS errors) prints ``<name>: error: <msg>`` and gives 1."""
    if errors is None:
        from sertl.ivector.store import ModelError
        errors = (ModelError, TableError, AudioError, KeyError, OSError)
    try:
        body()
    except errors as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"{name}: error: {message}", file=sys.stderr)
        return 1
    return 0


def log(name: str) -> Callable[[str], None]:
    """A logger writing ``<name>: <line>`` to stderr (the job's log file)."""
    return lambda line: print(f"{name}: {line}", file=sys.stderr, flush=True)


def run_training(prog: str, train: Callable[[], object]) -> int:
    """Run a training entry point's ``train()`` as a tool (:func:`run_tool`: input errors,
    i.e. ValueError such as ConfigError, TableError and TrainingError, KeyError and
    OSError, become one line on stderr and exit status 1); the process group of a
    data-parallel run is torn down either way."""
    import torch.distributed as dist

    try:
        return run_tool(prog, train, (ValueError, KeyError, OSError))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
