"""URDU (Latif et al. 2018): ``<corpus>/{Angry,Happy,Neutral,Sad}/SM1_F10_A010.wav``.

The name is speaker (``S`` + gender letter M/F + id), ``F`` + file number of that
speaker, and the emotion letter (A, H, N, S, matching the folder) + its running number.
The corpus is 4-class natively. Folds default to 5 speaker-independent folds (see
:func:`sertl.corpora.emotion.speaker_folds`).
"""
from __future__ import annotations

import re
from pathlib import Path

from sertl.corpora.common import CorpusError
from sertl.corpora.emotion import EmotionCorpus, Recording, match_name, wav_files

CORPUS = EmotionCorpus(name="urdu", language="ur", emotions=tuple("AHNS"), num_folds=5)

EMOTION_FOLDERS = {"Angry": "A", "Happy": "H", "Neutral": "N", "Sad": "S"}
_NAME = re.compile(r"(?P<speaker>S(?P<gender>[MF])\d+)_F\d+_(?P<emotion>[AHNS])\d+")
_NAMING = "S<gender:M|F><id>_F<file number>_<emotion:A|H|N|S><number>.wav"


def scan(corpus_dir: Path) -> list[Recording]:
    """The recordings of the four emotion folders of ``corpus_dir``."""
    recordings = []
    for folder, letter in EMOTION_FOLDERS.items():
        for path in wav_files(corpus_dir / folder):
            match = match_name(_NAME, path, _NAMING)
            if match["emotion"] != letter:
                raise CorpusError(f"{path}: emotion letter '{match['emotion']}' does not "
                                  f"match its folder {folder} ('{letter}')")
            recordings.append(Recording(match["speaker"], match["gender"].lower(), letter, path))
    return recordings
