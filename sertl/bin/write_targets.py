"""Describe an aligner's targets in an alignment dir (steps/align_sb.sh).

Usage: python -m sertl.bin.write_targets <model> <ali-dir>

<model> is an aligner (final.mdl) or the acoustic model (final.pt) that aligned.

Writes <ali-dir>/num_targets (the number of classes of ali.scp) and
<ali-dir>/targets.txt ("name id" per target: the phone name with one state per phone,
else PHONE_<state> with states counted from 0).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.align import AlignError
from sertl.align.lang import write_lines
from sertl.align.model import AlignerModel
from sertl.models import load_file

PROG = "write_targets"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("ali_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.model.suffix == ".pt":
            names = load_file(args.model)["targets"]
        else:
            names = AlignerModel.load(args.model).topo.target_names()
        write_lines(args.ali_dir / "num_targets", [str(len(names))])
        write_lines(args.ali_dir / "targets.txt", (f"{name} {i}" for i, name in enumerate(names)))
    except (AlignError, OSError, ValueError, KeyError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
