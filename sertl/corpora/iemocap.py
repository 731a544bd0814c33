"""IEMOCAP: ``<corpus>/Session{1..5}/sentences/wav/<dialog>/<turn>.wav``.

``<corpus>`` is the ``IEMOCAP_full_release`` folder. Labels are the consensus category
of each turn in ``Session<n>/dialog/EmoEvaluation/<dialog>.txt``, lines such as
``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]``
(neu hap sad ang exc fru sur fea dis oth, and xxx for no agreement). A turn's speaker is
its session and the gender letter of its last field (``Ses01F_impro01_M003`` -> the male
speaker of session 1, ``Ses01M``). Dialogs are improvised (``impro``) or scripted
(``script``). The folds are the sessions.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Sequence

from sertl.corpora.common import CorpusError
from sertl.corpora.emotion import EmotionCorpus, Recording, match_name, require_dir, wav_files

CORPUS = EmotionCorpus(name="iemocap", language="en",
                       emotions=("neu", "hap", "sad", "ang", "exc", "fru", "sur", "fea",
                                 "dis", "oth", "xxx"), num_folds=None)

SESSIONS = (1, 2, 3, 4, 5)
Subset = Literal["improvised", "scripted", "all"]
_DIALOG_KINDS = {"impro": "improvised", "script": "scripted"}
_TURN = re.compile(r"(?P<dialog>Ses(?P<session>\d\d)[FM]_(?:impro|script)\w*)"
                   r"_(?P<gender>[FM])\d+")
_NAMING = "Ses<session:2 digits><F|M>_<impro|script...>_<gender:F|M><number>.wav"
_EVALUATION = re.compile(r"\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(?P<turn>\S+)\s+(?P<emotion>\S+)"
                         r"\s+\[.*\]\s*")


def scan(corpus_dir: Path, sessions: Sequence[int] = SESSIONS,
         subset: Subset = "all") -> list[Recording]:
    """The labelled turns of the chosen sessions and dialog kinds."""
    if not (corpus_dir / "Session1").exists() and (corpus_dir / "IEMOCAP_full_release").is_dir():
        raise CorpusError(f"{corpus_dir}: no Session1; "
                          f"pass {corpus_dir / 'IEMOCAP_full_release'}")
    recordings = []
    for session in sessions:
        if session not in SESSIONS:
            raise CorpusError(f"IEMOCAP has no session {session} (sessions: 1-5)")
        recordings += _scan_session(corpus_dir / f"Session{session}", session, subset)
    return recordings


def read_emo_evaluation(path: Path) -> dict[str, str]:
    """Turn -> consensus label from one EmoEvaluation file (the ``[start - end]`` lines)."""
    if not path.is_file():
        raise CorpusError(f"{path}: label file missing")
    labels: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.startswith("["):
                continue
            match = _EVALUATION.fullmatch(line.rstrip("\n"))
            if match is None:
                raise CorpusError(f"{path}:{lineno}: not a "
                                  "'[start - end] turn label [v, a, d]' line")
            if match["turn"] in labels:
                raise CorpusError(f"{path}:{lineno}: turn {match['turn']} is labelled twice")
            if match["emotion"] not in CORPUS.emotions:
                raise CorpusError(f"{path}:{lineno}: unknown label '{match['emotion']}' "
                                  f"(known: {' '.join(CORPUS.emotions)})")
            labels[match["turn"]] = match["emotion"]
    return labels


def _scan_session(session_dir: Path, session: int, subset: Subset) -> list[Recording]:
    wav_root = require_dir(session_dir / "sentences" / "wav")
    dialogs = sorted(p for p in wav_root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not dialogs:
        raise CorpusError(f"{wav_root}: no dialog folders")
    recordings = []
    for dialog_dir in dialogs:
        kind = next((k for p, k in _DIALOG_KINDS.items() if p in dialog_dir.name), None)
        if kind is None:
            raise CorpusError(f"{dialog_dir}: dialog name has neither 'impro' nor 'script'")
        if subset in ("all", kind):
            label_file = session_dir / "dialog" / "EmoEvaluation" / f"{dialog_dir.name}.txt"
            recordings += _scan_dialog(dialog_dir, session, read_emo_evaluation(label_file),
                                       label_file)
    return recordings


def _scan_dialog(dialog_dir: Path, session: int, unlabelled: dict[str, str],
                 label_file: Path) -> list[Recording]:
    """The turns of one dialog; takes their labels out of ``unlabelled``."""
    recordings = []
    for path in wav_files(dialog_dir):
        match = match_name(_TURN, path, _NAMING)
        if match["dialog"] != dialog_dir.name or int(match["session"]) != session:
            raise CorpusError(f"{path}: turn is not of dialog {dialog_dir.name} "
                              f"(Session{session})")
        if path.stem not in unlabelled:
            raise CorpusError(f"{path}: turn has no label in {label_file}")
        speaker = f"Ses{match['session']}{match['gender']}"
        recordings.append(Recording(speaker, match["gender"].lower(),
                                    unlabelled.pop(path.stem), path, fold=str(session)))
    if unlabelled:
        raise CorpusError(f"{label_file}: {len(unlabelled)} labelled turns have no wav in "
                          f"{dialog_dir}, e.g. {next(iter(unlabelled))}")
    return recordings
