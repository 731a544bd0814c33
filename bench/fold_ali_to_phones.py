#!/usr/bin/env python3
"""Fold an HMM-state alignment dir of steps/align_sb.sh to one target per phone.

Usage: bench/fold_ali_to_phones.py <ali-dir> <out-dir>

Target ``PHONE_<k>`` becomes ``PHONE``; writes ali.ark/ali.scp, num_targets, targets.txt
and copies phones.txt, so <out-dir> is an alignment dir that steps/train_asr.sh takes.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

from sertl.align.alidir import AlignmentDir
from sertl.io import write_ark_scp, write_table


def main(ali_dir: str, out_dir: str) -> None:
    src = AlignmentDir.load(ali_dir)
    names = [name.rsplit("_", 1)[0] for name in src.targets]
    phones = sorted(set(names), key=names.index)
    phone_of = np.array([phones.index(name) for name in names], dtype=np.int32)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_ark_scp(out / "ali.ark", out / "ali.scp",
                  ((utt, phone_of[src.targets_of(utt)]) for utt in src.ali))
    (out / "num_targets").write_text(f"{len(phones)}\n")
    write_table(out / "targets.txt", {p: str(i) for i, p in enumerate(phones)})
    shutil.copy(src.path / "phones.txt", out / "phones.txt")
    print(f"{out}: {len(src.ali)} utterances, {len(src.targets)} targets -> {len(phones)} phones")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
