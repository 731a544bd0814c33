"""What the emotion corpora share: labelled recordings, label maps, folds, the data dir.

Each corpus module (``iemocap``, ``emodb``, ``ravdess``, ``savee``, ``cremad``, ``urdu``,
``emovo``) turns the corpus's published layout and file naming into a list of
:class:`Recording` (speaker, gender, raw emotion label as the corpus writes it, audio
path), failing with a :class:`~sertl.corpora.common.CorpusError` that names the file when
a name or the layout does not fit. :func:`prepare_emotion_dir` then maps the raw labels to
classes with a :class:`LabelMap` conf, assigns folds and writes the Kaldi data dir:
``wav.scp`` (absolute paths, audio as distributed: the reader resamples), ``utt2spk``,
``spk2utt``, ``spk2gender``, ``utt2emo``, ``utt2fold`` and ``utt2lang``.

Decisions:

- Utterance ids are ``<speaker>-<file stem>`` (``03-03a01Fa``, ``SM1-SM1_F10_A010``).
  ``-`` sorts before every character of a speaker id, so sorting utterances also sorts
  them by speaker, even when one speaker id is a prefix of another (``SM1``, ``SM17``),
  which Kaldi's tools require. Speaker ids are as the corpus writes them, and differ
  between the seven corpora (RAVDESS ``Actor_01``, CREMA-D ``1001``, EmoDB ``03``, ...),
  so their data dirs combine without clashes.
- Folds hold whole speakers, so every speaker is in exactly one test fold. IEMOCAP's
  folds are its sessions (``1``..``5``); elsewhere ``num_folds`` 0 means
  leave-one-speaker-out (the fold is the speaker id), and N > 0 makes folds ``1``..``N``
  by a deterministic greedy balance of the folds' class and gender counts (see
  :func:`speaker_folds`). Speakers are dealt by size, not round-robin: in URDU one
  speaker has 80 of the 400 utterances and most speakers show one emotion only, so
  dealing the speakers round-robin gave folds of 28 to 150 utterances (greedy: 74-92).
- Raw labels that the label map leaves out are dropped and counted in the summary.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from sertl.config import ConfigError, load_config
from sertl.corpora.common import CorpusError, write_data_dir
from sertl.io import c_sorted


@dataclass(frozen=True)
class EmotionCorpus:
    """What the preparation needs to know about a corpus besides its files."""
    name: str
    language: str                # ISO 639-1 code written to utt2lang
    emotions: tuple[str, ...]    # raw labels as the corpus writes them
    num_folds: int | None        # default speaker folds (0: one per speaker); None: fixed


@dataclass(frozen=True)
class Recording:
    """One labelled recording of an emotion corpus."""
    speaker: str
    gender: str                  # 'm' or 'f'
    emotion: str                 # raw label, one of the corpus's ``emotions``
    path: Path
    fold: str | None = None      # set when the corpus design fixes the folds (IEMOCAP)

    @property
    def utt(self) -> str:
        return f"{self.speaker}-{self.path.stem}"


@dataclass
class LabelMap:
    """Raw corpus label -> class; ``classes`` fixes the class order (the output index).

    Raw labels absent from ``map`` are dropped; several raw labels may map to one class
    (IEMOCAP ``exc`` -> ``hap``).
    """
    map: dict[str, str]
    classes: list[str]

    def __post_init__(self) -> None:
        if not self.classes:
            raise ValueError("classes is empty")
        repeated = [c for c, n in Counter(self.classes).items() if n > 1]
        if repeated:
            raise ValueError(f"class '{repeated[0]}' is listed twice in classes")
        for raw, cls in self.map.items():
            if cls not in self.classes:
                raise ValueError(f"map.{raw}: class '{cls}' is not in classes {self.classes}")
        unused = [c for c in self.classes if c not in self.map.values()]
        if unused:
            raise ValueError(f"class '{unused[0]}' has no raw label mapped to it")


@dataclass
class PrepSummary:
    """Counts of a finished preparation, for the log."""
    per_class: Counter = field(default_factory=Counter)
    per_speaker: Counter = field(default_factory=Counter)
    per_fold: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)     # raw label -> utterances


def load_label_map(path: str | Path, corpus: EmotionCorpus) -> LabelMap:
    """Read a label-map conf; a raw label the corpus does not have is an error.

    That check also catches YAML turning an unquoted ``01`` into ``1`` (RAVDESS codes).
    """
    label_map = load_config(path, LabelMap)
    for raw in label_map.map:
        if raw not in corpus.emotions:
            raise ConfigError(f"{path}: map.{raw}: '{raw}' is not a {corpus.name} label "
                              f"(its labels: {' '.join(corpus.emotions)})")
    return label_map


def match_name(pattern: re.Pattern[str], path: Path, naming: str) -> re.Match[str]:
    """Match a file's stem against the corpus naming, or fail naming the file."""
    match = pattern.fullmatch(path.stem)
    if match is None:
        raise CorpusError(f"{path}: file name does not follow the naming {naming}")
    return match


def wav_files(directory: Path) -> list[Path]:
    """The ``.wav`` files of a corpus folder, sorted; hidden files (``._x.wav``) skipped."""
    return sorted(p for p in require_dir(directory).iterdir()
                  if p.suffix.lower() == ".wav" and not p.name.startswith(".") and p.is_file())


def require_dir(directory: Path) -> Path:
    """``directory`` itself, or a CorpusError saying the layout lacks it."""
    if not directory.is_dir():
        raise CorpusError(f"{directory}: no such directory (see the recipe's README.md "
                          "for the expected corpus layout)")
    return directory


def speaker_folds(utterances: Iterable[tuple[str, str, str]], num_folds: int) -> dict[str, str]:
    """Fold of each speaker from its ``(speaker, class, gender)`` utterances.

    ``num_folds`` 0: the speaker id. Else speakers go, largest first, each to the fold
    whose utterances share least with its own classes and gender (the smallest dot
    product of the count vectors; ties to the fold with fewer utterances, then the lower
    number), which balances the folds' class and gender counts. Fewer speakers than
    folds is an error; no fold is left empty.
    """
    profiles: dict[str, Counter] = {}
    for speaker, cls, gender in utterances:
        profiles.setdefault(speaker, Counter()).update((f"class {cls}", f"gender {gender}"))
    if num_folds == 0:
        return {spk: spk for spk in profiles}
    if num_folds > len(profiles):
        raise CorpusError(f"cannot make {num_folds} speaker-independent folds from "
                          f"{len(profiles)} speakers")
    folds: dict[str, str] = {}
    totals = [Counter() for _ in range(num_folds)]
    for spk in sorted(profiles, key=lambda s: (-profiles[s].total(), _natural_key(s))):
        profile = profiles[spk]
        best = min(range(num_folds), key=lambda i: (
            sum(totals[i][k] * n for k, n in profile.items()), totals[i].total(), i))
        totals[best].update(profile)
        folds[spk] = str(best + 1)
    return folds


def prepare_emotion_dir(corpus: EmotionCorpus, recordings: Sequence[Recording],
                        label_map: LabelMap, data_dir: Path,
                        num_folds: int | None = None) -> PrepSummary:
    """Map labels, assign folds and write the data dir (replacing an old one whole).

    ``num_folds`` is used for corpora without fixed folds (default: the corpus's own).
    """
    spk2gender = _speaker_genders(recordings)
    _check_unique(recordings)
    kept = [r for r in recordings if r.emotion in label_map.map]
    summary = PrepSummary(dropped=Counter(r.emotion for r in recordings
                                          if r.emotion not in label_map.map))
    if not kept:
        raise CorpusError(f"{corpus.name}: the label map keeps none of the "
                          f"{len(recordings)} recordings")
    utt2fold = _utterance_folds(corpus, kept, label_map, spk2gender, num_folds)
    tables = {
        "wav.scp": {r.utt: str(r.path.resolve()) for r in kept},
        "utt2spk": {r.utt: r.speaker for r in kept},
        "spk2gender": {r.speaker: spk2gender[r.speaker] for r in kept},
        "utt2emo": {r.utt: label_map.map[r.emotion] for r in kept},
        "utt2fold": utt2fold,
        "utt2lang": {r.utt: corpus.language for r in kept},
    }
    write_data_dir(data_dir, tables)
    summary.per_class.update(tables["utt2emo"].values())
    summary.per_speaker.update(tables["utt2spk"].values())
    summary.per_fold.update(utt2fold.values())
    return summary


def _utterance_folds(corpus: EmotionCorpus, kept: Sequence[Recording], label_map: LabelMap,
                     spk2gender: Mapping[str, str], num_folds: int | None) -> dict[str, str]:
    if corpus.num_folds is None:
        if num_folds is not None:
            raise CorpusError(f"{corpus.name}: folds are fixed by the corpus; "
                              "num_folds does not apply")
        return {r.utt: str(r.fold) for r in kept}
    folds = speaker_folds(((r.speaker, label_map.map[r.emotion], spk2gender[r.speaker])
                           for r in kept), corpus.num_folds if num_folds is None else num_folds)
    return {r.utt: folds[r.speaker] for r in kept}


def _speaker_genders(recordings: Sequence[Recording]) -> dict[str, str]:
    """spk2gender; a speaker given two genders is an error naming both files."""
    genders: dict[str, Recording] = {}
    for rec in recordings:
        first = genders.setdefault(rec.speaker, rec)
        if first.gender != rec.gender:
            raise CorpusError(f"speaker '{rec.speaker}' is '{first.gender}' in {first.path} "
                              f"but '{rec.gender}' in {rec.path}")
    return {spk: genders[spk].gender for spk in c_sorted(genders)}


def _check_unique(recordings: Sequence[Recording]) -> None:
    seen: dict[str, Path] = {}
    for rec in recordings:
        if rec.utt in seen:
            raise CorpusError(f"utterance id '{rec.utt}' is given by both {seen[rec.utt]} "
                              f"and {rec.path}")
        seen[rec.utt] = rec.path


def _natural_key(name: str) -> list[str | int]:
    """Sort key that orders digit runs by value (``SF2`` < ``SF10``)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
