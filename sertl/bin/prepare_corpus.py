"""Kaldi data dirs from an ASR corpus (egs/<corpus>/s5/local/prepare_data.sh).

Usage:
  python -m sertl.bin.prepare_corpus timit [--phone-set 61|48|39] [--keep-sa]
      --phone-map FILE --dev-spk FILE --test-spk FILE <corpus-dir> <data-dir>
  python -m sertl.bin.prepare_corpus tedlium [--train-source legacy|data] <corpus-dir> <data-dir>
  python -m sertl.bin.prepare_corpus speechocean [--num-heldout-spk N] <corpus-dir> <data-dir>

Writes one data dir per set under <data-dir> (e.g. data/train, data/dev, data/test) and
prints their sizes. The expected layouts are described in sertl/corpora/<corpus>.py.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sertl.align.lang import LangError
from sertl.audio import AudioError
from sertl.corpora.common import CorpusError
from sertl.corpora.speechocean import prepare_speechocean
from sertl.corpora.tedlium import TRAIN_SOURCES, prepare_tedlium
from sertl.corpora.timit import PHONE_SETS, PhoneMap, prepare_timit, read_speaker_list
from sertl.datadir import DataDirError
from sertl.io import TableError

PROG = "prepare_corpus"


def _timit(args: argparse.Namespace) -> dict[str, int]:
    return prepare_timit(args.corpus_dir, args.data_dir, PhoneMap.load(args.phone_map),
                         read_speaker_list(args.dev_spk), read_speaker_list(args.test_spk),
                         phone_set=args.phone_set, keep_sa=args.keep_sa)


def _tedlium(args: argparse.Namespace) -> dict[str, int]:
    return prepare_tedlium(args.corpus_dir, args.data_dir, train_source=args.train_source)


def _speechocean(args: argparse.Namespace) -> dict[str, int]:
    return prepare_speechocean(args.corpus_dir, args.data_dir,
                               num_heldout_spk=args.num_heldout_spk)


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    corpora = parser.add_subparsers(dest="corpus", required=True)
    timit = corpora.add_parser("timit", help="TIMIT, LDC or NLTK sample layout")
    timit.add_argument("--phone-set", choices=PHONE_SETS, default="48",
                       help="phone set of text and phones.ctm (default 48)")
    timit.add_argument("--keep-sa", action="store_true", help="keep the SA sentences")
    timit.add_argument("--phone-map", type=Path, required=True,
                       help="61 -> 48 -> 39 map (conf/phones.60-48-39.map)")
    timit.add_argument("--dev-spk", type=Path, required=True, help="dev speaker list")
    timit.add_argument("--test-spk", type=Path, required=True, help="core test speaker list")
    timit.set_defaults(run=_timit)
    tedlium = corpora.add_parser("tedlium", help="TED-LIUM release 2 or 3")
    tedlium.add_argument("--train-source", choices=TRAIN_SOURCES, default="legacy",
                         help="release 3: train from legacy/train or from data/")
    tedlium.set_defaults(run=_tedlium)
    speechocean = corpora.add_parser("speechocean", help="speechocean762")
    speechocean.add_argument("--num-heldout-spk", type=_non_negative, default=0,
                             help="speakers moved from train to a heldout set (default 0)")
    speechocean.set_defaults(run=_speechocean)
    for sub in (timit, tedlium, speechocean):
        sub.add_argument("corpus_dir", type=Path)
        sub.add_argument("data_dir", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s")
    try:
        counts = args.run(args)
    except (CorpusError, DataDirError, LangError, TableError, AudioError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    for name, count in counts.items():
        print(f"{PROG}: {args.data_dir / name}: {count} utterances", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
