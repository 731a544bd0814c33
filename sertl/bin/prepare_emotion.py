"""Kaldi data dir of an emotion corpus (egs/<corpus>/s5/local/prepare_data.sh).

Usage: python -m sertl.bin.prepare_emotion <corpus> --label-map FILE [options]
           <corpus-dir> <data-dir>
  <corpus>: iemocap emodb ravdess savee cremad urdu emovo
  --num-folds N           (not iemocap) 0: one fold per speaker; N: N speaker folds
  --sessions 1,2,3,4,5    (iemocap) sessions to take
  --subset all            (iemocap) improvised, scripted or all dialogs

Writes wav.scp utt2spk spk2utt spk2gender utt2emo utt2fold utt2lang (see
sertl.corpora.emotion) and logs the counts per class, speaker and fold.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable

from sertl.config import ConfigError
from sertl.corpora import cremad, emodb, emovo, iemocap, ravdess, savee, urdu
from sertl.corpora.common import CorpusError
from sertl.corpora.emotion import (EmotionCorpus, PrepSummary, Recording, load_label_map,
                                   prepare_emotion_dir)
from sertl.datadir import DataDirError
from sertl.io import TableError

PROG = "prepare_emotion"
SPEAKER_FOLD_CORPORA = (emodb, ravdess, savee, cremad, urdu, emovo)

log = logging.getLogger(PROG)


def _sessions(text: str) -> list[int]:
    try:
        sessions = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected e.g. 1,2,3, got '{text}'") from None
    if any(s not in iemocap.SESSIONS for s in sessions) or len(set(sessions)) < len(sessions):
        raise argparse.ArgumentTypeError(f"expected distinct sessions 1-5, got '{text}'")
    return sessions


def _folds(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected 0 or a positive integer, got '{text}'")
    return int(text)


def _add_corpus(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser,
                corpus: EmotionCorpus, scan: Callable[[argparse.Namespace], list[Recording]]
                ) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(corpus.name, parents=[common], prog=f"{PROG} {corpus.name}")
    parser.set_defaults(corpus=corpus, scan=scan)
    return parser


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--label-map", type=Path, required=True,
                        help="YAML conf: map (raw label -> class) and classes (their order)")
    common.add_argument("corpus_dir", type=Path)
    common.add_argument("data_dir", type=Path)
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    subparsers = parser.add_subparsers(dest="corpus_name", required=True)
    ie = _add_corpus(subparsers, common, iemocap.CORPUS,
                     lambda a: iemocap.scan(a.corpus_dir, a.sessions, a.subset))
    ie.add_argument("--sessions", type=_sessions, default=list(iemocap.SESSIONS))
    ie.add_argument("--subset", choices=("improvised", "scripted", "all"), default="all")
    ie.set_defaults(num_folds=None)
    for module in SPEAKER_FOLD_CORPORA:
        sub = _add_corpus(subparsers, common, module.CORPUS,
                          lambda a, scan=module.scan: scan(a.corpus_dir))
        sub.add_argument("--num-folds", type=_folds, default=module.CORPUS.num_folds,
                         help="0: leave-one-speaker-out; N: N speaker-independent folds "
                              f"(default {module.CORPUS.num_folds})")
    return parser


def _log_summary(name: str, summary: PrepSummary, classes: list[str]) -> None:
    log.info("%s: %d utterances, %d speakers, %d folds", name,
             sum(summary.per_class.values()), len(summary.per_speaker), len(summary.per_fold))
    log.info("per class: %s", " ".join(f"{c}={summary.per_class[c]}" for c in classes))
    log.info("per speaker: %s", _counts(summary.per_speaker))
    log.info("per fold: %s", _counts(summary.per_fold))
    if summary.dropped:
        log.info("dropped (raw label not in the label map): %s", _counts(summary.dropped))


def _counts(counter: dict[str, int]) -> str:
    return " ".join(f"{key}={counter[key]}" for key in sorted(counter))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s", stream=sys.stderr)
    try:
        label_map = load_label_map(args.label_map, args.corpus)
        recordings = args.scan(args)
        summary = prepare_emotion_dir(args.corpus, recordings, label_map, args.data_dir,
                                      args.num_folds)
    except (CorpusError, ConfigError, DataDirError, TableError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    _log_summary(f"{args.corpus.name} -> {args.data_dir}", summary, label_map.classes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
