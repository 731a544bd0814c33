"""Kaldi text tables and ark/scp archives.

Text tables (``wav.scp``, ``utt2spk``, ``text`` ...) are ``key rest-of-line`` files sorted
by key in the C locale. Archives are written with kaldi-io so that Kaldi binaries,
kaldiio and Lhotse read them; an ark is written under a temporary name and renamed only
when complete, and its scp is written after it, so a crash never leaves an scp pointing
into a half-written ark.

Ids (utterance, speaker, recording) must be ASCII: kaldi-io writes archive keys in
latin-1, so another id would give an unwritable key or an scp offset that points into the
wrong bytes, and Kaldi's own tools expect ASCII-safe ids in practice. Data-dir validation
refuses such ids naming the line (``check_id``), and so does every archive write.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import kaldi_io
import numpy as np


class TableError(ValueError):
    """A malformed Kaldi table line or archive entry; the message names the file and the
    line or key."""


def check_id(key: str, where: str) -> None:
    """Raise TableError (naming ``where``, a file and line or an ark) unless ``key`` is an
    ASCII id, the only ids that Kaldi archives written with kaldi-io hold intact."""
    if not key.isascii():
        raise TableError(f"{where}: id '{key}' is not ASCII; Kaldi archives (kaldi-io) "
                         "take ASCII ids only, so rename it (e.g. transliterate)")


def c_sorted(keys: Iterable[str]) -> list[str]:
    """Keys sorted as ``LC_ALL=C sort`` sorts them (byte order)."""
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def read_table(path: str | os.PathLike, *, allow_empty_value: bool = False) -> dict[str, str]:
    """Read ``key value...`` lines into an ordered dict (file order kept).

    Raises TableError naming the file and line for a duplicate key, a line with no key,
    or (unless ``allow_empty_value``) a key with no value.
    """
    table: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                raise TableError(f"{path}:{lineno}: empty line")
            parts = line.split(maxsplit=1)
            key = parts[0]
            value = parts[1].strip() if len(parts) > 1 else ""
            if not value and not allow_empty_value:
                raise TableError(f"{path}:{lineno}: key '{key}' has no value")
            if key in table:
                raise TableError(f"{path}:{lineno}: duplicate key '{key}'")
            table[key] = value
    return table


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator:
    """Open ``path.tmp`` for writing and rename it onto ``path`` only on success."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    f = open(tmp, mode, **kwargs)
    try:
        yield f
        f.flush()
        os.fsync(f.fileno())
        f.close()
        os.replace(tmp, path)
    except BaseException:
        f.close()
        tmp.unlink(missing_ok=True)
        raise


def write_table(path: str | os.PathLike, table: Mapping[str, object]) -> None:
    """Write ``key value`` lines sorted by key (C locale), atomically."""
    with atomic_open(path, encoding="utf-8") as f:
        for key in c_sorted(table):
            f.write(f"{key} {table[key]}\n")


def write_ark_scp(ark: str | os.PathLike, scp: str | os.PathLike,
                  items: Iterable[tuple[str, np.ndarray]]) -> dict[str, int]:
    """Write ``(key, array)`` pairs to a binary ark and its scp, atomically.

    2-d float arrays are written as matrices, 1-d float arrays as vectors and 1-d
    integer arrays as int32 vectors (Kaldi's alignment format). Returns the number of
    rows (or elements) per key, e.g. for ``utt2num_frames``. A non-ASCII key or an array
    holding NaN or inf is a TableError naming the key and the ark, and nothing is
    written: one bad utterance must not pass its NaNs on (CMVN would spread them to every
    utterance of its speaker).
    """
    ark, scp = Path(ark), Path(scp)
    sizes: dict[str, int] = {}
    offsets: dict[str, int] = {}
    with atomic_open(ark, "wb") as f:
        for key, array in items:
            if key in offsets:
                raise TableError(f"{ark}: duplicate key '{key}'")
            check_id(key, str(ark))
            if not np.isfinite(array).all():
                raise TableError(f"{ark}: '{key}' holds {np.count_nonzero(~np.isfinite(array))}"
                                 " non-finite values (NaN or inf)")
            offsets[key] = f.tell() + len(key) + 1
            if np.issubdtype(array.dtype, np.integer):
                kaldi_io.write_vec_int(f, array.astype(np.int32), key=key)
            elif array.ndim == 1:
                kaldi_io.write_vec_flt(f, array.astype(np.float32), key=key)
            else:
                kaldi_io.write_mat(f, array.astype(np.float32), key=key)
            sizes[key] = int(array.shape[0])
    write_table(scp, {k: f"{ark.resolve()}:{o}" for k, o in offsets.items()})
    return sizes


def read_scp(scp: str | os.PathLike) -> dict[str, str]:
    """Read an scp into ``{key: rxfilename}``."""
    return read_table(scp)


def load_matrix(rxfilename: str) -> np.ndarray:
    """Read one float matrix from an scp entry (``ark:offset``)."""
    return kaldi_io.read_mat(rxfilename)


def load_vector(rxfilename: str) -> np.ndarray:
    """Read one float vector from an scp entry."""
    return kaldi_io.read_vec_flt(rxfilename)
