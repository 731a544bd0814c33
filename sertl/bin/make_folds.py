"""Cross-validation folds of an emotion data dir (sertl.ser.folds), checked and written
for steps/eval_ser.sh.

Usage: python -m sertl.bin.make_folds (--utt2fold | --by-speaker | --fold-list FILE |
           --random-split FRACTION [--stratified] [--seed N]) <data-dir> <exp-dir>
writes ``<exp-dir>/folds`` (fold list) and, per fold f, ``<exp-dir>/fold_<f>/test.utts``
and ``train.utts`` (one utterance per line, sorted), after the hygiene check. A rerun
with different folds than an existing ``<exp-dir>/folds`` is an error, so finished folds
of an old split are never mixed with new ones. --random-split is the speaker-dependent
protocol of some papers: one fold, ``speaker_dependent``, a random FRACTION of the
utterances as its test part, speakers on both sides (--stratified: that fraction of
each class of utt2emo, as Ragheb et al.'s EmoDB split); --fold-list with the folds file it
writes repeats it (the fold's name exempts it from the speaker check).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.io import TableError, read_table
from sertl.ser.folds import (FoldError, fold_list_text, make_folds, write_fold_list,
                             write_fold_parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--utt2fold", action="store_const", const="utt2fold", dest="source",
                        help="folds from <data-dir>/utt2fold")
    source.add_argument("--by-speaker", action="store_const", const="speaker", dest="source",
                        help="leave one speaker out")
    source.add_argument("--fold-list", type=Path, help="'<fold> <utt>...' lines")
    source.add_argument("--random-split", type=float, metavar="FRACTION",
                        help="speaker-dependent: a random FRACTION of the utterances as "
                             "the test part of one fold")
    parser.add_argument("--stratified", action="store_true",
                        help="--random-split by class (utt2emo)")
    parser.add_argument("--seed", type=int, default=0, help="of --random-split")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("exp_dir", type=Path)
    args = parser.parse_args(argv)
    if args.stratified and args.random_split is None:
        parser.error("--stratified goes with --random-split")
    try:
        utt2spk = read_table(args.data_dir / "utt2spk")
        source = args.source or ("list" if args.fold_list else "random")
        folds = make_folds(args.data_dir, utt2spk, source, args.fold_list,
                           args.random_split, args.seed, args.stratified)
        record = args.exp_dir / "folds"
        if record.is_file() and record.read_text(encoding="utf-8") != fold_list_text(folds):
            raise FoldError(f"{record}: the folds of an earlier run differ from these; "
                            "use a new exp dir (or remove the old one)")
        args.exp_dir.mkdir(parents=True, exist_ok=True)
        write_fold_parts(args.exp_dir, folds, list(utt2spk))
        write_fold_list(record, folds)
    except (FoldError, TableError, OSError) as e:
        print(f"folds: error: {e}", file=sys.stderr)
        return 1
    print(f"folds: {len(folds)} folds of {args.data_dir}: {' '.join(folds)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
