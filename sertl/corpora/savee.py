"""SAVEE (Surrey Audio-Visual Expressed Emotion): ``<corpus>/AudioData/DC/sa01.wav``.

Four male speakers (DC, JE, JK, KL); the name is the emotion code (a anger, d disgust,
f fear, h happiness, n neutral, sa sadness, su surprise) and a 2-digit sentence number.
Folds default to leave-one-speaker-out.
"""
from __future__ import annotations

import re
from pathlib import Path

from sertl.corpora.common import CorpusError
from sertl.corpora.emotion import EmotionCorpus, Recording, match_name, require_dir, wav_files

CORPUS = EmotionCorpus(name="savee", language="en",
                       emotions=("a", "d", "f", "h", "n", "sa", "su"), num_folds=0)

SPEAKER_GENDER = {"DC": "m", "JE": "m", "JK": "m", "KL": "m"}
_NAME = re.compile(r"(?P<emotion>a|d|f|h|n|sa|su)\d\d")
_NAMING = "<emotion:a|d|f|h|n|sa|su><sentence:2 digits>.wav"


def scan(corpus_dir: Path) -> list[Recording]:
    """The recordings of the speaker folders of ``<corpus_dir>/AudioData``."""
    audio_dir = require_dir(corpus_dir / "AudioData")
    recordings = []
    for speaker_dir in sorted(p for p in audio_dir.iterdir() if p.is_dir()):
        speaker = speaker_dir.name
        if speaker not in SPEAKER_GENDER:
            raise CorpusError(f"{speaker_dir}: '{speaker}' is not one of SAVEE's speakers "
                              f"{' '.join(SPEAKER_GENDER)} (gender unknown)")
        for path in wav_files(speaker_dir):
            emotion = match_name(_NAME, path, _NAMING)["emotion"]
            recordings.append(Recording(speaker, SPEAKER_GENDER[speaker], emotion, path))
    if not recordings:
        raise CorpusError(f"{audio_dir}: no speaker folder with .wav files")
    return recordings
