"""What every corpus preparation shares: errors, case-insensitive lookup, SPHERE audio
entries and writing a complete, validated data dir."""
from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import Mapping

from sertl.datadir import utt2spk_to_spk2utt, validate_data_dir
from sertl.io import write_table


class CorpusError(ValueError):
    """A corpus whose layout or files are not as expected; the message names the path."""


def child(directory: Path, name: str) -> Path | None:
    """The entry of ``directory`` named ``name`` in any letter case, or None."""
    if not directory.is_dir():
        return None
    matches = [p for p in directory.iterdir() if p.name.lower() == name.lower()]
    if len(matches) > 1:
        raise CorpusError(f"{directory}: both {' and '.join(p.name for p in matches)} exist")
    return matches[0] if matches else None


def sphere_wav_entry(path: Path) -> str:
    """wav.scp value for a NIST SPHERE file: a sph2pipe command if sph2pipe is on PATH
    (it also decodes shorten-compressed files), else the path (our reader reads
    uncompressed SPHERE)."""
    if shutil.which("sph2pipe"):
        return f"sph2pipe -f wav -p -c 1 {shlex.quote(str(path))} |"
    return str(path)


def write_data_dir(d: Path, tables: Mapping[str, Mapping[str, str]]) -> None:
    """Write a data dir from its tables (spk2utt derived from utt2spk) and validate it.

    The dir is built next to ``d`` and swapped in whole, so an old dir's derived files
    (feats.scp, splits) never survive next to new tables.
    """
    tmp, old = d.with_name(d.name + ".tmp"), d.with_name(d.name + ".old")
    for leftover in (tmp, old):  # from an interrupted run
        if leftover.exists():
            shutil.rmtree(leftover)
    tmp.mkdir(parents=True)
    for name, table in tables.items():
        write_table(tmp / name, table)
    spk2utt = utt2spk_to_spk2utt(tables["utt2spk"])
    write_table(tmp / "spk2utt", {spk: " ".join(utts) for spk, utts in spk2utt.items()})
    if d.exists():
        os.replace(d, old)
        shutil.rmtree(old)
    os.replace(tmp, d)
    validate_data_dir(d, no_feats=True, no_text="text" not in tables)
