"""Fold an HMM-state alignment dir of steps/align_sb.sh to one target per phone.

Usage: python -m sertl.bin.ali_to_phones <ali-dir> <out-dir>

Target ``PHONE_<k>`` becomes ``PHONE``; <out-dir> gets ali.ark/ali.scp, num_targets,
targets.txt, phones.txt (and phone_ali.scp, ali.ctm), an alignment dir that
steps/train_asr.sh and steps/eval_asr.sh take.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.align.alidir import AlignmentDir, fold_to_phones
from sertl.bin.common import run_tool


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ali_to_phones", description=__doc__.split("\n")[0])
    parser.add_argument("ali_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)

    def body() -> None:
        src = AlignmentDir.load(args.ali_dir)
        phones = fold_to_phones(src, args.out_dir)
        print(f"ali_to_phones: {args.out_dir}: {len(src.ali)} utterances, "
              f"{len(src.targets)} targets -> {phones} phones", file=sys.stderr)

    return run_tool("ali_to_phones", body, (ValueError, KeyError, OSError))


if __name__ == "__main__":
    sys.exit(main())
