"""Cross-validation folds of an emotion data dir, and their speaker hygiene.

A fold is a set of test utterances; its training part is every other utterance of the
data dir. Folds come from ``utt2fold`` (leave-one-session-out, or the corpus's speaker
folds), from the speakers (leave-one-speaker-out) or from a fold-list file of lines
``<fold> <utt>...``, the format :func:`write_fold_list` writes too. No speaker may be in
a fold's test part and its training part: that would let the test speaker shape the
model, its normalisation statistics or its model selection, so it is an error naming the
speaker and fold; the one exception is asked for by name: the random split of the
utterances that some papers report (Durrani & Arshad's 80/20), a single fold named
``speaker_dependent`` so that every table listing it says what it is. Every class must
have training utterances in every fold, so that the folds' models share one class list.

The command-line tool is sertl.bin.make_folds.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sertl.io import TableError, atomic_open, c_sorted, read_table

Folds = dict[str, list[str]]  # fold id -> its test utterances (sorted)
SPEAKER_DEPENDENT = "speaker_dependent"  # the fold of a random split
_FOLD_ID = re.compile(r"[A-Za-z0-9_.+-]+")


class FoldError(ValueError):
    """Folds that cannot be used; the message names the fold, speaker or file line."""


def _grouped(pairs: Mapping[str, str]) -> Folds:
    folds: Folds = {}
    for utt in c_sorted(pairs):
        folds.setdefault(pairs[utt], []).append(utt)
    return {fold: folds[fold] for fold in c_sorted(folds)}


def folds_from_utt2fold(utt2fold: Mapping[str, str]) -> Folds:
    """One fold per value of utt2fold."""
    return _grouped(utt2fold)


def folds_by_speaker(utt2spk: Mapping[str, str]) -> Folds:
    """Leave-one-speaker-out: one fold per speaker, named by the speaker id."""
    return _grouped(utt2spk)


def random_split(utterances: Sequence[str], test_fraction: float, seed: int,
                 utt2label: Mapping[str, str] | None = None) -> Folds:
    """One fold, :data:`SPEAKER_DEPENDENT`: a random ``test_fraction`` of the utterances
    (drawn with ``seed``) as its test part, whatever their speakers; with ``utt2label``,
    stratified: that fraction of each class (rounded, at least one)."""
    if not 0 < test_fraction < 1:
        raise FoldError(f"the test fraction of a random split must lie in (0, 1), not "
                        f"{test_fraction}")
    rng = np.random.default_rng(seed)
    groups = [c_sorted(utterances)]
    if utt2label is not None:
        labels = sorted({utt2label[u] for u in utterances})
        groups = [c_sorted(u for u in utterances if utt2label[u] == label) for label in labels]
    chosen = []
    for utts in groups:
        num_test = max(1, round(test_fraction * len(utts)))
        chosen += [utts[i] for i in rng.permutation(len(utts))[:num_test]]
    return {SPEAKER_DEPENDENT: c_sorted(chosen)}


def read_fold_list(path: str | Path, utterances: Sequence[str]) -> Folds:
    """Folds from ``<fold> <utt>...`` lines; an utterance unknown or listed twice is an
    error naming the line."""
    try:
        table = read_table(path)
    except TableError as e:
        raise FoldError(str(e)) from None
    known = set(utterances)
    seen: dict[str, str] = {}
    for lineno, (fold, utts) in enumerate(table.items(), 1):
        for utt in utts.split():
            if utt not in known:
                raise FoldError(f"{path}:{lineno}: fold '{fold}': utterance '{utt}' is "
                                "not in the data dir")
            if utt in seen:
                raise FoldError(f"{path}:{lineno}: utterance '{utt}' is in fold '{fold}' "
                                f"and fold '{seen[utt]}'")
            seen[utt] = fold
    return _grouped(seen)


def check_fold_hygiene(folds: Mapping[str, Sequence[str]],
                       utt2spk: Mapping[str, str]) -> None:
    """Raise FoldError unless each fold's test speakers are absent from its training part
    and each fold has test and training utterances."""
    fold_of = {utt: fold for fold, utts in folds.items() for utt in utts}
    for fold, utts in folds.items():
        if not _FOLD_ID.fullmatch(fold) or fold in (".", ".."):
            raise FoldError(f"fold id '{fold}' cannot name a directory (use letters, "
                            "digits, '_', '.', '+', '-')")
        if not utts or len(utts) == len(utt2spk):
            raise FoldError(f"fold '{fold}' has {len(utts)} of {len(utt2spk)} utterances "
                            "as its test part; it needs both test and training utterances")
    first: dict[str, tuple[str | None, str]] = {}  # speaker -> (fold, utterance)
    for utt in c_sorted(utt2spk):
        spk, fold = utt2spk[utt], fold_of.get(utt)
        first_fold, first_utt = first.setdefault(spk, (fold, utt))
        if fold != first_fold:
            raise FoldError(_split_speaker_message(spk, (first_fold, first_utt), (fold, utt)))


def check_fold_classes(folds: Mapping[str, Sequence[str]], utt2emo: Mapping[str, str]) -> None:
    """Raise FoldError unless each fold's training part holds every class: a fold's
    model knows only its training classes, and all folds must share one class list."""
    classes = set(utt2emo.values())
    for fold, test in folds.items():
        held_out = set(test)
        trained = {label for utt, label in utt2emo.items() if utt not in held_out}
        missing = c_sorted(classes - trained)
        if missing:
            raise FoldError(f"fold '{fold}': no training utterance has class '{missing[0]}' "
                            "(all its utterances are in the fold's test part)")


def _split_speaker_message(spk: str, one: tuple[str | None, str],
                           other: tuple[str | None, str]) -> str:
    """Say which fold has speaker ``spk`` on both sides, from two of its (fold, utt)."""
    (test_fold, test_utt), (train_fold, train_utt) = (one, other) if one[0] else (other, one)
    also = f", in the test part of fold '{train_fold}'" if train_fold else ""
    return (f"speaker '{spk}' is in the test part of fold '{test_fold}' (utterance "
            f"'{test_utt}') and in its training part (utterance '{train_utt}'{also})")


def fold_list_text(folds: Mapping[str, Sequence[str]]) -> str:
    """The ``<fold> <utt>...`` lines of ``folds``."""
    return "".join(f"{fold} {' '.join(folds[fold])}\n" for fold in c_sorted(folds))


def write_fold_list(path: str | Path, folds: Mapping[str, Sequence[str]]) -> None:
    """Write ``<fold> <utt>...`` lines, atomically."""
    with atomic_open(path, encoding="utf-8") as f:
        f.write(fold_list_text(folds))


def write_fold_parts(exp_dir: Path, folds: Mapping[str, Sequence[str]],
                     utterances: Sequence[str]) -> None:
    """``<exp_dir>/fold_<f>/{test,train}.utts`` for every fold."""
    for fold, test in folds.items():
        fold_dir = exp_dir / f"fold_{fold}"
        fold_dir.mkdir(parents=True, exist_ok=True)
        held_out = set(test)
        train = [u for u in utterances if u not in held_out]
        for name, utts in (("test", test), ("train", train)):
            with atomic_open(fold_dir / f"{name}.utts", encoding="utf-8") as f:
                f.writelines(f"{utt}\n" for utt in c_sorted(utts))


def make_folds(data_dir: Path, utt2spk: Mapping[str, str], source: str,
               fold_list: Path | None = None, test_fraction: float = 0.2,
               seed: int = 0, stratified: bool = False) -> Folds:
    """The folds of ``data_dir`` (whose utt2spk is given) from ``source`` ('utt2fold',
    'speaker', 'list': ``fold_list``, or 'random': :func:`random_split`, ``stratified``
    by utt2emo), checked for speaker hygiene (except the random split, speaker-dependent
    by name) and, when the dir has utt2emo, for classes in every training part."""
    if source == "utt2fold":
        utt2fold = read_table(data_dir / "utt2fold")
        if utt2fold.keys() != utt2spk.keys():
            utt = next(iter(utt2fold.keys() ^ utt2spk.keys()))
            raise FoldError(f"{data_dir / 'utt2fold'}: utterance '{utt}' is in only one "
                            "of utt2fold and utt2spk")
        folds = folds_from_utt2fold(utt2fold)
    elif source == "speaker":
        folds = folds_by_speaker(utt2spk)
    elif source == "random":
        utt2label = read_table(data_dir / "utt2emo") if stratified else None
        if utt2label is not None and utt2label.keys() != utt2spk.keys():
            raise FoldError(f"{data_dir / 'utt2emo'}: a stratified split needs a label "
                            "for every utterance of utt2spk")
        folds = random_split(list(utt2spk), test_fraction, seed, utt2label)
    else:
        folds = read_fold_list(fold_list, list(utt2spk))
    if list(folds) != [SPEAKER_DEPENDENT]:
        check_fold_hygiene(folds, utt2spk)
    if (data_dir / "utt2emo").is_file():
        check_fold_classes(folds, read_table(data_dir / "utt2emo"))
    return folds

