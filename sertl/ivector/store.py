"""Files of the UBM and i-vector tools: models and statistics as plain numpy archives.

Every file is an uncompressed ``.npz`` archive (written atomically, whatever its name)
holding named float arrays plus one array ``__meta__``: a JSON string
``{"kind": ..., "version": 1, "options": {...}}``. ``numpy.load(path)`` reads it with no
pickled objects and no sertl code, so a model outlives the code that trained it; the
kinds and their arrays are listed in ``sertl/ivector/__init__.py``.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Mapping

import numpy as np
import torch

from sertl.io import atomic_open

VERSION = 1


class ModelError(ValueError):
    """A model, statistics file or input that the UBM/i-vector tools cannot use; the
    message names the file, utterance or option."""


def save_arrays(path: str | os.PathLike, kind: str, arrays: Mapping[str, np.ndarray | torch.Tensor],
                options: Mapping[str, object]) -> None:
    """Write ``arrays`` (tensors are moved to the CPU) and ``options`` as a ``kind`` file."""
    meta = json.dumps({"kind": kind, "version": VERSION, "options": dict(options)}, sort_keys=True)
    plain = {name: (a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a))
             for name, a in arrays.items()}
    with atomic_open(path, "wb") as f:
        np.savez(f, __meta__=np.array(meta), **plain)


def load_arrays(path: str | os.PathLike, kind: str) -> tuple[dict[str, np.ndarray], dict]:
    """Read a ``kind`` file written by save_arrays: ``(arrays, options)``."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, ValueError, EOFError) as e:
        raise ModelError(f"{path}: not a sertl model or statistics file ({e})") from e
    if "__meta__" not in arrays:
        raise ModelError(f"{path}: not a sertl model or statistics file (no __meta__)")
    meta = json.loads(str(arrays.pop("__meta__")))
    if meta.get("kind") != kind:
        raise ModelError(f"{path}: holds a '{meta.get('kind')}', expected a '{kind}'")
    if meta.get("version") != VERSION:
        raise ModelError(f"{path}: format version {meta.get('version')}, this code reads {VERSION}")
    return arrays, meta["options"]
