"""RAVDESS (speech part): ``<corpus>/Actor_12/03-01-05-01-02-01-12.wav`` (48 kHz).

The name is modality (01 audio-video, 02 video, 03 audio), vocal channel (01 speech,
02 song), emotion (01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful,
07 disgust, 08 surprised), intensity, statement, repetition and actor (01-24; odd male,
even female; matching its folder). Only audio-only speech (03-01-...) is kept; other
files are skipped and counted in the log. The raw labels are the emotion codes.
Folds default to leave-one-speaker-out.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from sertl.corpora.common import CorpusError
from sertl.corpora.emotion import EmotionCorpus, Recording, match_name, require_dir, wav_files

log = logging.getLogger(__name__)

CORPUS = EmotionCorpus(name="ravdess", language="en",
                       emotions=tuple(f"0{i}" for i in range(1, 9)), num_folds=0)

_ACTOR_DIR = re.compile(r"Actor_(?P<actor>\d\d)")
_NAME = re.compile(r"(?P<modality>0[1-3])-(?P<channel>0[12])-(?P<emotion>0[1-8])"
                   r"-0[12]-0[12]-0[12]-(?P<actor>\d\d)")
_NAMING = "<modality>-<channel>-<emotion:01..08>-<intensity>-<statement>-<repetition>-<actor>.wav"


def scan(corpus_dir: Path) -> list[Recording]:
    """The audio-only speech recordings of the ``Actor_XX`` folders of ``corpus_dir``."""
    actor_dirs = sorted(p for p in require_dir(corpus_dir).iterdir()
                        if p.is_dir() and p.name.startswith("Actor_"))
    if not actor_dirs:
        raise CorpusError(f"{corpus_dir}: no Actor_XX folders")
    recordings, skipped = [], 0
    for actor_dir in actor_dirs:
        folder = _ACTOR_DIR.fullmatch(actor_dir.name)
        if folder is None or not 1 <= int(folder["actor"]) <= 24:
            raise CorpusError(f"{actor_dir}: not an actor folder Actor_01 ... Actor_24")
        for path in wav_files(actor_dir):
            match = match_name(_NAME, path, _NAMING)
            if match["actor"] != folder["actor"]:
                raise CorpusError(f"{path}: actor {match['actor']} in the name is not that "
                                  f"of its folder {actor_dir.name}")
            if (match["modality"], match["channel"]) != ("03", "01"):
                skipped += 1
                continue
            gender = "m" if int(match["actor"]) % 2 else "f"
            recordings.append(Recording(actor_dir.name, gender, match["emotion"], path))
    if skipped:
        log.info("ravdess: skipped %d files that are not audio-only speech (03-01-...)",
                 skipped)
    return recordings
