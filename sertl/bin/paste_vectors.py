"""Concatenate the utterance vectors of several data dirs (a fusion system's input), as
Kaldi's paste-feats does for frames.

Usage: python -m sertl.bin.paste_vectors <out-ark> <out-scp> <data-dir>...

Every <data-dir> holds feats.scp with one (1, D_i) vector per utterance, for the same
utterances; writes their (1, sum D_i) concatenations to a Kaldi ark/scp, atomically.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from sertl.bin.common import run_tool
from sertl.io import TableError, read_scp, write_ark_scp
from sertl.ser.svm import read_vectors


def paste(ark: str, scp: str, data_dirs: list[Path]) -> None:
    utts = list(read_scp(data_dirs[0] / "feats.scp"))
    for d in data_dirs[1:]:
        others = read_scp(d / "feats.scp")
        if set(others) != set(utts):
            utt = next(iter(set(others) ^ set(utts)))
            raise TableError(f"utterance '{utt}' is in only one of {data_dirs[0]}/feats.scp "
                             f"and {d}/feats.scp")
    parts = [read_vectors(d, utts)[1] for d in data_dirs]
    fused = np.hstack(parts).astype(np.float32)
    write_ark_scp(ark, scp, ((utt, row[None, :]) for utt, row in zip(utts, fused)))
    dims = " + ".join(str(p.shape[1]) for p in parts)
    print(f"paste_vectors: {len(utts)} utterances, {dims} = {fused.shape[1]} dims",
          file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ark")
    parser.add_argument("scp")
    parser.add_argument("data_dirs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if len(args.data_dirs) < 2:
        parser.error("give two or more data dirs")
    return run_tool("paste_vectors", lambda: paste(args.ark, args.scp, args.data_dirs),
                    (ValueError, OSError))


if __name__ == "__main__":
    sys.exit(main())
