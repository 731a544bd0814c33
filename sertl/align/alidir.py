"""Alignment dirs of steps/align_sb.sh: per-frame target ids (ali.scp), their names
(targets.txt, in the numbering of :mod:`sertl.align.topology`) and the lang's phones."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import kaldi_io
import numpy as np

from sertl.align.topology import Topology
from sertl.io import TableError, read_scp, read_table, write_ark_scp, write_table


@dataclass
class AlignmentDir:
    """An alignment dir of steps/align_sb.sh: per-frame target ids and their names."""
    path: Path
    targets: list[str]
    phones: dict[str, int]
    ali: dict[str, str]

    @classmethod
    def load(cls, path: str | Path) -> AlignmentDir:
        path = Path(path)
        for name in ("ali.scp", "num_targets", "targets.txt", "phones.txt"):
            if not (path / name).exists():
                raise TableError(f"{path}/{name}: missing (is {path} an alignment dir of "
                                 f"steps/align_sb.sh?)")
        num_targets = int((path / "num_targets").read_text().split()[0])
        ids = {name: int(i) for name, i in read_table(path / "targets.txt").items()}
        if sorted(ids.values()) != list(range(num_targets)):
            raise TableError(f"{path}/targets.txt: ids must be 0..{num_targets - 1} "
                             f"(num_targets), each once")
        phones = {name: int(i) for name, i in read_table(path / "phones.txt").items()}
        return cls(path, sorted(ids, key=ids.get), phones, read_scp(path / "ali.scp"))

    def targets_of(self, utt: str) -> np.ndarray:
        """Per-frame target ids of an utterance."""
        if utt not in self.ali:
            raise KeyError(f"{self.path}/ali.scp: no utterance '{utt}'")
        return np.asarray(kaldi_io.read_vec_int(self.ali[utt]), dtype=np.int64)


def fold_to_phones(src: AlignmentDir, out_dir: str | Path) -> int:
    """Write to ``out_dir`` an alignment dir with one target per phone: every state of a
    phone of ``src`` becomes the phone (the ids of :mod:`sertl.align.topology` with one
    state). ``phone_ali.scp`` and ``ali.ctm``, when present, are copied (the same for both).
    Returns the number of phones."""
    topology = Topology.from_targets(src.targets, src.phones)
    phones = Topology(topology.phones, 1)
    phone_of = topology.phone_of.astype(np.int32)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ali.scp").unlink(missing_ok=True)  # written last: the dir is complete with it
    (out / "num_targets").write_text(f"{phones.num_targets}\n")
    write_table(out / "targets.txt", {p: str(i) for i, p in enumerate(phones.target_names())})
    shutil.copy(src.path / "phones.txt", out / "phones.txt")
    for name in ("phone_ali.scp", "ali.ctm"):
        if (src.path / name).exists():
            shutil.copy(src.path / name, out / name)
    write_ark_scp(out / "ali.ark", out / "ali.scp",
                  ((utt, phone_of[src.targets_of(utt)]) for utt in src.ali))
    return phones.num_targets
