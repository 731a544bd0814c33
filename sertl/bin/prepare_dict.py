"""A Kaldi dict dir for an ASR corpus (egs/<corpus>/s5/local/prepare_dict.sh).

Usage:
  python -m sertl.bin.prepare_dict timit [--phone-set 61|48|39] --phone-map FILE <dict-dir>
  python -m sertl.bin.prepare_dict tedlium <corpus-dir> <dict-dir>
  python -m sertl.bin.prepare_dict speechocean <corpus-dir> <dict-dir>

Writes lexicon.txt, silence_phones.txt, nonsilence_phones.txt and optional_silence.txt,
ready for utils/prepare_lang.sh.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.align.lang import DictDir, LangError
from sertl.corpora.common import CorpusError
from sertl.corpora.speechocean import speechocean_dict
from sertl.corpora.tedlium import find_dictionary, tedlium_dict
from sertl.corpora.timit import PHONE_SETS, PhoneMap, timit_dict

PROG = "prepare_dict"


def _timit(args: argparse.Namespace) -> DictDir:
    return timit_dict(PhoneMap.load(args.phone_map), args.phone_set)


def _tedlium(args: argparse.Namespace) -> DictDir:
    dictionary = find_dictionary(args.corpus_dir)
    if dictionary is None:
        raise CorpusError(f"{args.corpus_dir}: no TEDLIUM*.dic here or in the parent")
    return tedlium_dict(dictionary)


def _speechocean(args: argparse.Namespace) -> DictDir:
    return speechocean_dict(args.corpus_dir)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    corpora = parser.add_subparsers(dest="corpus", required=True)
    timit = corpora.add_parser("timit", help="phones as words (TIMIT's text is phones)")
    timit.add_argument("--phone-set", choices=PHONE_SETS, default="48")
    timit.add_argument("--phone-map", type=Path, required=True,
                       help="61 -> 48 -> 39 map (conf/phones.60-48-39.map)")
    timit.set_defaults(run=_timit)
    for name, run in (("tedlium", _tedlium), ("speechocean", _speechocean)):
        sub = corpora.add_parser(name, help=f"the {name} corpus lexicon")
        sub.add_argument("corpus_dir", type=Path)
        sub.set_defaults(run=run)
    for sub in corpora.choices.values():
        sub.add_argument("dict_dir", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        dict_dir = args.run(args)
        dict_dir.save(args.dict_dir)
    except (CorpusError, LangError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    print(f"{PROG}: {args.dict_dir}: {len(dict_dir.lexicon)} words, "
          f"{len(dict_dir.phones())} phones ({len(dict_dir.silence_phones)} silence)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
