"""CREMA-D: ``<corpus>/AudioWAV/1001_DFA_ANG_XX.wav`` and ``<corpus>/VideoDemographics.csv``.

The name is actor (1001-1091), sentence code (one of 12), emotion (ANG, DIS, FEA, HAP,
NEU, SAD) and level (LO, MD, HI, XX unspecified). Genders come from the ``Sex`` column
(Male/Female) of VideoDemographics.csv (columns ActorID,Age,Sex,Race,Ethnicity). Folds
default to leave-one-speaker-out (91 folds); ``--num-folds`` makes fewer.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from sertl.corpora.common import CorpusError
from sertl.corpora.emotion import EmotionCorpus, Recording, match_name, wav_files

CORPUS = EmotionCorpus(name="cremad", language="en",
                       emotions=("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"), num_folds=0)

SENTENCES = ("DFA", "IEO", "IOM", "ITH", "ITS", "IWL", "IWW", "MTI", "TAI", "TIE", "TSI", "WSI")
_SEX = {"Male": "m", "Female": "f"}
_NAME = re.compile(r"(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})"
                   r"_(?P<emotion>ANG|DIS|FEA|HAP|NEU|SAD)_(?:LO|MD|HI|XX)")
_NAMING = "<actor>_<sentence>_<emotion:ANG|DIS|FEA|HAP|NEU|SAD>_<level:LO|MD|HI|XX>.wav"


def scan(corpus_dir: Path) -> list[Recording]:
    """The recordings of ``<corpus_dir>/AudioWAV`` with the demographics' genders."""
    demographics = corpus_dir / "VideoDemographics.csv"
    genders = read_genders(demographics)
    recordings = []
    for path in wav_files(corpus_dir / "AudioWAV"):
        match = match_name(_NAME, path, _NAMING)
        if match["sentence"] not in SENTENCES:
            raise CorpusError(f"{path}: '{match['sentence']}' is not a CREMA-D sentence "
                              f"code ({' '.join(SENTENCES)})")
        actor = match["actor"]
        if actor not in genders:
            raise CorpusError(f"{path}: actor {actor} is not in {demographics} "
                              "(gender unknown)")
        recordings.append(Recording(actor, genders[actor], match["emotion"], path))
    return recordings


def read_genders(path: Path) -> dict[str, str]:
    """ActorID -> 'm'/'f' from VideoDemographics.csv."""
    if not path.is_file():
        raise CorpusError(f"{path}: missing (CREMA-D's speaker demographics)")
    genders: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"ActorID", "Sex"} - set(reader.fieldnames or ())
        if missing:
            raise CorpusError(f"{path}: no column {' '.join(sorted(missing))} in the header")
        for row in reader:
            actor, sex = row["ActorID"].strip(), (row["Sex"] or "").strip()
            where = f"{path}:{reader.line_num}"
            if sex not in _SEX:
                raise CorpusError(f"{where}: actor {actor}: Sex '{sex}' is not Male or Female")
            if actor in genders:
                raise CorpusError(f"{where}: actor {actor} is listed twice")
            genders[actor] = _SEX[sex]
    return genders
