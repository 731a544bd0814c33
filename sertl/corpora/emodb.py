"""EmoDB (Berlin Database of Emotional Speech): ``<corpus>/wav/03a01Fa.wav``.

The name is speaker (2 digits), text (``a01``..``b10``), emotion letter (W anger,
L boredom, E disgust, A fear, F happiness, T sadness, N neutral) and version letter.
Genders are those of the EmoDB documentation; folds default to leave-one-speaker-out.
"""
from __future__ import annotations

import re
from pathlib import Path

from sertl.corpora.common import CorpusError
from sertl.corpora.emotion import EmotionCorpus, Recording, match_name, wav_files

CORPUS = EmotionCorpus(name="emodb", language="de", emotions=tuple("WLEAFTN"), num_folds=0)

SPEAKER_GENDER = {"03": "m", "08": "f", "09": "f", "10": "m", "11": "m",
                  "12": "m", "13": "f", "14": "f", "15": "m", "16": "f"}
_NAME = re.compile(r"(?P<speaker>\d\d)[ab]\d\d(?P<emotion>[WLEAFTN])[a-z]")
_NAMING = "<speaker:2 digits><text:a01..b10><emotion:W|L|E|A|F|T|N><version:a-z>.wav"


def scan(corpus_dir: Path) -> list[Recording]:
    """The recordings of ``<corpus_dir>/wav``."""
    recordings = []
    for path in wav_files(corpus_dir / "wav"):
        match = match_name(_NAME, path, _NAMING)
        speaker = match["speaker"]
        if speaker not in SPEAKER_GENDER:
            raise CorpusError(f"{path}: speaker '{speaker}' is not one of EmoDB's "
                              f"speakers {' '.join(SPEAKER_GENDER)} (gender unknown)")
        recordings.append(Recording(speaker, SPEAKER_GENDER[speaker], match["emotion"], path))
    return recordings
