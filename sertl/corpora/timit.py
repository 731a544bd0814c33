"""TIMIT: data dirs with phone transcripts, the manual phone alignment, and its dict.

Two layouts are read:

- LDC: ``<corpus>/{TRAIN,TEST}/DR<n>/<SPKR>/<SENT>.{WAV,PHN,WRD}`` in upper or lower
  case (``<corpus>`` may also be the folder holding ``TIMIT/``). Sets: ``train`` (all of
  TRAIN), ``dev`` (the 50-speaker development set) and ``test`` (the 24-speaker core test
  set), both taken from TEST by the speaker lists given.
- NLTK sample: ``<corpus>/dr<n>-<spkr>/<sent>.{wav,phn,wrd}`` (8 speakers): one set,
  ``sample``, with all of them.

Audio is NIST SPHERE whatever the extension. Utterance ids are ``<spkr>_<sent>`` in lower
case (``fvmh0_si1466``), the speaker id including its gender letter (``spk2gender`` comes
from it). The SA sentences, read by every speaker, are left out unless asked for.

Per set the data dir holds ``text`` (the phone transcription in the 61-, 48- or 39-phone
set, as Kaldi's timit recipe), ``text.words`` (the word transcript from .WRD) and
``phones.ctm`` (the manual boundaries of .PHN as ``utt 1 start dur phone``, seconds with 4
decimals, one line per phone of ``text``, in the same phone set): the reference alignment.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import soundfile as sf

from sertl.align.lang import DictDir, write_lines
from sertl.corpora.common import CorpusError, child, sphere_wav_entry, write_data_dir
from sertl.io import c_sorted

log = logging.getLogger(__name__)

PHONE_SETS = ("61", "48", "39")
_SAMPLE_SPEAKER_DIR = re.compile(r"dr\d-([fm]\w+)", re.IGNORECASE)


class PhoneMap:
    """The Lee & Hon phone folding: each of the 61 TIMIT labels to the 48-phone training
    set and the 39-phone scoring set (None: deleted, as the glottal stop ``q``)."""

    def __init__(self, rows: dict[str, tuple[str, str] | None]):
        self.rows = rows

    @classmethod
    def load(cls, path: str | Path) -> PhoneMap:
        """Read ``label [phone48 phone39]`` lines (one column: the label is deleted)."""
        path = Path(path)
        rows: dict[str, tuple[str, str] | None] = {}
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                fields = line.split()
                if len(fields) not in (1, 3) or fields[0] in rows:
                    raise CorpusError(f"{path}:{lineno}: expected a new label followed by "
                                      "its 48- and 39-set phones, or the label alone")
                rows[fields[0]] = (fields[1], fields[2]) if len(fields) == 3 else None
        return cls(rows)

    def mapping(self, source: str, target: str) -> dict[str, str | None]:
        """Phone -> phone from set ``source`` to set ``target`` ('61', '48' or '39')."""
        if source not in PHONE_SETS or target not in PHONE_SETS or \
                PHONE_SETS.index(target) < PHONE_SETS.index(source):
            raise CorpusError(f"cannot map the {source}-phone set to the {target}-phone set")
        mapping: dict[str, str | None] = {}
        for label, row in self.rows.items():
            phones = {"61": label, "48": row and row[0], "39": row and row[1]}
            if phones[source] is None:
                continue
            previous = mapping.setdefault(phones[source], phones[target])
            if previous != phones[target]:
                raise CorpusError(f"phone map: {source}-set phone '{phones[source]}' maps to "
                                  f"both '{previous}' and '{phones[target]}'")
        return mapping

    def phones(self, phone_set: str) -> list[str]:
        """The distinct phones of a set, in map order."""
        return list(dict.fromkeys(p for p in self.mapping("61", phone_set).values() if p))


@dataclass(frozen=True)
class Utterance:
    """One TIMIT recording with its annotation files."""
    spk: str
    sent: str
    wav: Path
    phn: Path
    wrd: Path

    @property
    def utt(self) -> str:
        return f"{self.spk}_{self.sent}"


def _utterance(spk: str, wav: Path) -> Utterance:
    """The utterance of audio file ``wav``; its .PHN and .WRD must lie beside it."""
    annotations = {}
    for ext in ("phn", "wrd"):
        found = child(wav.parent, f"{wav.stem}.{ext}")
        if found is None:
            raise CorpusError(f"{wav}: no {wav.stem}.{ext} (in any case) beside it")
        annotations[ext] = found
    return Utterance(spk.lower(), wav.stem.lower(), wav, annotations["phn"], annotations["wrd"])


def _speaker_utterances(spk: str, spk_dir: Path) -> list[Utterance]:
    return [_utterance(spk, wav) for wav in sorted(spk_dir.iterdir())
            if wav.suffix.lower() == ".wav"]


def _ldc_root(corpus: Path) -> Path | None:
    """The folder holding TRAIN and TEST (the corpus or its TIMIT/ folder), if any."""
    for root in (corpus, child(corpus, "timit")):
        if root is not None and child(root, "train") and child(root, "test"):
            return root
    return None


def _ldc_part(part_dir: Path) -> list[Utterance]:
    """All utterances of TRAIN or TEST (``DR<n>/<SPKR>/*.WAV``)."""
    return [utt for dr in sorted(part_dir.iterdir()) if dr.is_dir()
            for spk_dir in sorted(dr.iterdir()) if spk_dir.is_dir()
            for utt in _speaker_utterances(spk_dir.name, spk_dir)]


def read_speaker_list(path: str | Path) -> set[str]:
    """Lower-case speaker ids, one per line (e.g. conf/test_spk.list)."""
    with open(path, encoding="utf-8") as f:
        return {line.strip().lower() for line in f if line.strip()}


def _select(utts: list[Utterance], speakers: set[str], name: str) -> list[Utterance]:
    chosen = [u for u in utts if u.spk in speakers]
    missing = speakers - {u.spk for u in chosen}
    if missing:
        log.warning("%s set: %d of its %d listed speakers are not in TEST: %s", name,
                    len(missing), len(speakers), " ".join(c_sorted(missing)[:10]))
    return chosen


def _sample_speakers(corpus: Path) -> list[tuple[str, Path]]:
    """(speaker, folder) for each ``dr<n>-<spkr>`` folder of the NLTK sample layout."""
    if not corpus.is_dir():
        return []
    found = []
    for d in sorted(corpus.iterdir()):
        match = _SAMPLE_SPEAKER_DIR.fullmatch(d.name)
        if match and d.is_dir():
            found.append((match.group(1), d))
    return found


def find_sets(corpus: Path, dev_speakers: set[str],
              test_speakers: set[str]) -> dict[str, list[Utterance]]:
    """The sets of a TIMIT corpus by layout (see the module docstring)."""
    root = _ldc_root(corpus)
    if root is not None:
        test_part = _ldc_part(child(root, "test"))
        return {"train": _ldc_part(child(root, "train")),
                "dev": _select(test_part, dev_speakers, "dev"),
                "test": _select(test_part, test_speakers, "test")}
    sample = _sample_speakers(corpus)
    if sample:
        return {"sample": [u for spk, d in sample for u in _speaker_utterances(spk, d)]}
    raise CorpusError(f"{corpus}: not a TIMIT corpus: expected the LDC layout "
                      "(TRAIN/ and TEST/ with DR<n>/<SPKR>/<SENT>.WAV, either case, possibly "
                      "under TIMIT/) or the NLTK sample layout (dr<n>-<spkr>/<sent>.wav)")


def read_annotation(path: Path) -> list[tuple[int, int, str]]:
    """Read a .PHN or .WRD file: ``start end label`` lines, sample offsets."""
    items = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 3 or not (fields[0].isdigit() and fields[1].isdigit()) \
                    or int(fields[1]) < int(fields[0]):
                raise CorpusError(f"{path}:{lineno}: expected '<start> <end> <label>' with "
                                  "sample offsets, start <= end")
            items.append((int(fields[0]), int(fields[1]), fields[2].lower()))
    if not items:
        raise CorpusError(f"{path}: empty")
    return items


def _utterance_tables(u: Utterance, mapping: dict[str, str | None]
                      ) -> tuple[list[str], list[str], list[str]]:
    """The phones, ctm lines and words of one utterance."""
    rate = sf.info(str(u.wav)).samplerate
    phones, ctm = [], []
    for lineno, (start, end, label) in enumerate(read_annotation(u.phn), 1):
        if label not in mapping:
            raise CorpusError(f"{u.phn}:{lineno}: '{label}' is not a TIMIT phone label")
        phone = mapping[label]
        if phone is not None:
            phones.append(phone)
            ctm.append(f"{u.utt} 1 {start / rate:.4f} {(end - start) / rate:.4f} {phone}")
    words = [word for _, _, word in read_annotation(u.wrd)]
    return phones, ctm, words


def write_set(d: Path, utts: Iterable[Utterance], mapping: dict[str, str | None]) -> int:
    """Write one TIMIT data dir; returns its number of utterances."""
    tables: dict[str, dict[str, str]] = {"wav.scp": {}, "utt2spk": {}, "spk2gender": {},
                                         "text": {}}
    ctm: dict[str, list[str]] = {}
    words: dict[str, str] = {}
    for u in utts:
        if u.utt in tables["utt2spk"]:
            raise CorpusError(f"{u.wav}: utterance '{u.utt}' also at "
                              f"{tables['wav.scp'][u.utt]}")
        phones, ctm[u.utt], word_list = _utterance_tables(u, mapping)
        tables["wav.scp"][u.utt] = sphere_wav_entry(u.wav.resolve())
        tables["utt2spk"][u.utt] = u.spk
        tables["spk2gender"][u.spk] = u.spk[0]
        tables["text"][u.utt] = " ".join(phones)
        words[u.utt] = " ".join(word_list)
    if not words:
        raise CorpusError(f"{d}: no utterances")
    write_data_dir(d, tables)
    keys = c_sorted(words)
    write_lines(d / "text.words", (f"{utt} {words[utt]}" for utt in keys))
    write_lines(d / "phones.ctm", (line for utt in keys for line in ctm[utt]))
    return len(keys)


def prepare_timit(corpus: Path, data_root: Path, phone_map: PhoneMap, dev_speakers: set[str],
                  test_speakers: set[str], phone_set: str = "48",
                  keep_sa: bool = False) -> dict[str, int]:
    """Write the data dirs of a TIMIT corpus under ``data_root``; returns set -> #utts."""
    mapping = phone_map.mapping("61", phone_set)
    counts = {}
    for name, utts in find_sets(corpus, dev_speakers, test_speakers).items():
        kept = [u for u in utts if keep_sa or not u.sent.startswith("sa")]
        counts[name] = write_set(data_root / name, kept, mapping)
    return counts


def timit_dict(phone_map: PhoneMap, phone_set: str = "48") -> DictDir:
    """A dict dir whose words are the phones themselves (TIMIT's ``text`` is phones).

    Silence phones are those of the begin/end marker ``h#`` and the pause ``pau`` (``sil``
    in the 48/39 sets); the pause is the optional silence.
    """
    mapping = phone_map.mapping("61", phone_set)
    silence = list(dict.fromkeys(mapping[label] for label in ("h#", "pau")))
    nonsilence = [p for p in phone_map.phones(phone_set) if p not in silence]
    return DictDir(lexicon={p: [(p,)] for p in silence + nonsilence}, silence_phones=silence,
                   nonsilence_phones=[[p] for p in c_sorted(nonsilence)],
                   optional_silence=mapping["pau"])
