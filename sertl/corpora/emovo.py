"""EMOVO (Italian emotional speech): ``<corpus>/{f1,f2,f3,m1,m2,m3}/dis-f1-b1.wav``.

``<corpus>`` is the ``EMOVO`` folder. The name is emotion (dis disgust, gio joy,
neu neutral, pau fear, rab anger, sor surprise, tri sadness), speaker (gender letter f/m
and number, matching its folder) and sentence (``b1``..``b3``, ``l1``..``l4``,
``n1``..``n5``, ``d1``, ``d2``). Folds default to leave-one-speaker-out.
"""
from __future__ import annotations

import re
from pathlib import Path

from sertl.corpora.common import CorpusError
from sertl.corpora.emotion import EmotionCorpus, Recording, match_name, require_dir, wav_files

CORPUS = EmotionCorpus(name="emovo", language="it",
                       emotions=("dis", "gio", "neu", "pau", "rab", "sor", "tri"), num_folds=0)

_SPEAKER_DIR = re.compile(r"(?P<gender>[fm])\d")
_NAME = re.compile(r"(?P<emotion>dis|gio|neu|pau|rab|sor|tri)-(?P<speaker>[fm]\d)-[bldn]\d")
_NAMING = "<emotion:dis|gio|neu|pau|rab|sor|tri>-<speaker>-<sentence>.wav"


def scan(corpus_dir: Path) -> list[Recording]:
    """The recordings of the speaker folders (``f1`` ... ``m3``) of ``corpus_dir``."""
    speaker_dirs = sorted(p for p in require_dir(corpus_dir).iterdir()
                          if p.is_dir() and _SPEAKER_DIR.fullmatch(p.name))
    if not speaker_dirs:
        raise CorpusError(f"{corpus_dir}: no speaker folders (f1 ... m3); pass the EMOVO "
                          "folder itself")
    recordings = []
    for speaker_dir in speaker_dirs:
        speaker = speaker_dir.name
        for path in wav_files(speaker_dir):
            match = match_name(_NAME, path, _NAMING)
            if match["speaker"] != speaker:
                raise CorpusError(f"{path}: speaker '{match['speaker']}' in the name is not "
                                  f"that of its folder '{speaker}'")
            recordings.append(Recording(speaker, speaker[0], match["emotion"], path))
    return recordings
