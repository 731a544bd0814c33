"""speechocean762: its Kaldi data dirs made self-contained, and its lexicon as a dict dir.

Layout: ``<corpus>/{train,test}/`` are Kaldi data dirs (``wav.scp`` with paths relative
to ``<corpus>``, ``text``, ``utt2spk``, ``spk2utt``, ``spk2gender``, ``spk2age``; either set
may be absent) and ``<corpus>/resource/lexicon.txt`` is the lexicon (ARPAbet phones with
stress digits). The data dirs are copied with absolute audio paths and every per-utterance
and per-speaker table (spk2utt is rebuilt). Speakers can be held out of train for
measurements (``heldout``): the choice is deterministic, speakers spread evenly over the
speaker list sorted by gender and id (see ``heldout_speakers``).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

from sertl.align.lang import DictDir, group_by_base, read_lexicon, report_oovs
from sertl.corpora.common import CorpusError, write_data_dir
from sertl.datadir import table_kind
from sertl.io import c_sorted, read_table

log = logging.getLogger(__name__)

SETS = ("train", "test")
OOV_WORD = "<UNK>"
NOISE_PHONE = "SPN"
SILENCE_PHONE = "SIL"


def lexicon_path(corpus: Path) -> Path:
    return corpus / "resource" / "lexicon.txt"


def _absolute_wav_scp(corpus: Path, wav_scp_path: Path) -> dict[str, str]:
    """wav.scp with paths made absolute (relative ones are relative to the corpus)."""
    wav_scp = {}
    for lineno, (utt, entry) in enumerate(read_table(wav_scp_path).items(), 1):
        if entry.endswith("|"):
            wav_scp[utt] = entry
            continue
        path = (corpus / entry).resolve()
        if not path.is_file():
            raise CorpusError(f"{wav_scp_path}:{lineno}: utterance '{utt}': no file {path}")
        wav_scp[utt] = str(path)
    return wav_scp


def read_set(corpus: Path, name: str) -> dict[str, dict[str, str]]:
    """The tables of one of the corpus's data dirs, with absolute audio paths."""
    src = corpus / name
    tables = {"wav.scp": _absolute_wav_scp(corpus, src / "wav.scp")}
    for path in sorted(src.iterdir()):
        if path.name != "wav.scp" and path.name != "spk2utt" and path.is_file() \
                and table_kind(path.name, segmented=False):
            tables[path.name] = read_table(path)
    for required in ("utt2spk", "text"):
        if required not in tables:
            raise CorpusError(f"{src / required}: missing")
    return tables


def heldout_speakers(speakers: list[str], count: int,
                     spk2gender: Mapping[str, str] | None = None) -> list[str]:
    """``count`` speakers spread evenly over the speakers sorted by gender, then id (C
    order): the middle one of each of ``count`` equal runs. The choice is fixed, spans
    the id range and keeps the gender proportions."""
    genders = spk2gender or {}
    ordered = sorted(c_sorted(speakers), key=lambda spk: genders.get(spk, ""))
    if not 0 < count < len(ordered):
        raise CorpusError(f"cannot hold out {count} of {len(ordered)} speakers")
    return c_sorted(ordered[(2 * i + 1) * len(ordered) // (2 * count)] for i in range(count))


def _restrict(tables: dict[str, dict[str, str]], speakers: set[str]
              ) -> dict[str, dict[str, str]]:
    """The tables limited to ``speakers`` and their utterances."""
    utt2spk = tables["utt2spk"]

    def speaker(name: str, key: str) -> str:
        return utt2spk.get(key, "") if table_kind(name, segmented=False) == "utt" else key

    return {name: {key: value for key, value in table.items() if speaker(name, key) in speakers}
            for name, table in tables.items()}


def prepare_speechocean(corpus: Path, data_root: Path, num_heldout_spk: int = 0
                        ) -> dict[str, int]:
    """Write the corpus's data dirs under ``data_root`` (train split into train and
    heldout when ``num_heldout_spk`` > 0); returns set -> #utts.

    Words missing from the corpus lexicon are counted into ``<set>/oov_counts``.
    """
    names = [name for name in SETS if (corpus / name / "wav.scp").is_file()]
    if not names:
        raise CorpusError(f"{corpus}: not speechocean762: no train/wav.scp or test/wav.scp")
    lexicon = read_lexicon(lexicon_path(corpus))
    sets = {name: read_set(corpus, name) for name in names}
    if num_heldout_spk:
        if "train" not in sets:
            raise CorpusError(f"{corpus}: no train set to hold speakers out of")
        train = sets["train"]
        heldout = set(heldout_speakers(list(set(train["utt2spk"].values())), num_heldout_spk,
                                       train.get("spk2gender")))
        kept = set(train["utt2spk"].values()) - heldout
        sets.update(train=_restrict(train, kept), heldout=_restrict(train, heldout))
    for name, tables in sets.items():
        write_data_dir(data_root / name, tables)
        report_oovs(tables["text"], lexicon, str(data_root / name),
                    data_root / name / "oov_counts")
    return {name: len(tables["utt2spk"]) for name, tables in sets.items()}


def speechocean_dict(corpus: Path) -> DictDir:
    """The dict dir of the corpus lexicon, with ``<UNK>`` as spoken noise (SPN) and SIL as
    the optional silence; nonsilence phones grouped by their stress-free base."""
    lexicon = read_lexicon(lexicon_path(corpus))
    phones = {p for prons in lexicon.values() for pron in prons for p in pron}
    lexicon[OOV_WORD] = [(NOISE_PHONE,)]
    return DictDir(lexicon, [SILENCE_PHONE, NOISE_PHONE],
                   group_by_base(phones - {SILENCE_PHONE, NOISE_PHONE}), SILENCE_PHONE)
