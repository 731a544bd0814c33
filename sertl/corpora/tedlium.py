"""TED-LIUM releases 2 and 3: data dirs from the .stm transcripts, dict dir from the .dic.

Layouts (``<corpus>`` is the release folder, the one holding ``TEDLIUM.152k.dic``):

- release 2: ``<corpus>/{train,dev,test}/{sph,stm}/<talk>.{sph,stm}``;
- release 3: ``<corpus>/legacy/{train,dev,test}/...`` (the release-2 split) and
  ``<corpus>/data/{sph,stm}`` (the full training set). dev and test come from
  ``legacy/``; train from ``legacy/train`` (default, as Kaldi's s5_r3 recipe) or from
  ``data/`` (``train_source="data"``).

A folder that holds ``{train,dev,test}`` directly (e.g. release 3's ``legacy/``) works too;
the dictionary is then looked for in its parent as well.

Each stm line is ``<file> <channel> <speaker> <start> <end> <label> <transcript>``;
``;;`` lines are comments and segments marked ``ignore_time_segment_in_scoring`` are
dropped. Transcripts lose ``<sil>`` tokens (silence is the optional silence of the lang),
pronunciation-variant marks (``word(2)`` -> ``word``) and a trailing ``(<name>)`` utterance
name; filler tokens such as ``{NOISE}`` stay as they are. Utterance ids are
``<speaker>-<start>-<end>`` with times in centiseconds (``%07d``), as Kaldi's tedlium recipe;
``segments`` use the same rounded times and refer to the recording ``<file>``.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from sertl.align.lang import DictDir, Lexicon, group_by_base, read_lexicon, report_oovs
from sertl.corpora.common import CorpusError, child, sphere_wav_entry, write_data_dir
from sertl.io import c_sorted

log = logging.getLogger(__name__)

IGNORED = "ignore_time_segment_in_scoring"
OOV_WORD = "<unk>"
NOISE_PHONE = "NSN"
SILENCE_PHONE = "SIL"
TRAIN_SOURCES = ("legacy", "data")
_VARIANT = re.compile(r"\(\d+\)$")
_DROPPED_WORDS = ("<s>", "</s>", "<unk>", "<sil>")
_FILLER = re.compile(r"[{\[<].*[}\]>]")


def _is_set_dir(d: Path) -> bool:
    return (d / "sph").is_dir() and (d / "stm").is_dir()


def find_sets(corpus: Path, train_source: str = "legacy") -> dict[str, Path]:
    """Set name -> folder holding ``sph/`` and ``stm/`` (see the module docstring)."""
    if train_source not in TRAIN_SOURCES:
        raise CorpusError(f"train source '{train_source}' is not one of "
                          f"{', '.join(TRAIN_SOURCES)}")
    legacy = child(corpus, "legacy")
    split_root = legacy if legacy is not None and legacy.is_dir() else corpus
    sets = {name: split_root / name for name in ("train", "dev", "test")
            if _is_set_dir(split_root / name)}
    if train_source == "data":
        if legacy is None or not _is_set_dir(corpus / "data"):
            raise CorpusError(f"{corpus}: train source 'data' needs release 3's legacy/ "
                              "and data/{sph,stm} (the full training set)")
        sets["train"] = corpus / "data"
    if not sets:
        raise CorpusError(f"{corpus}: not a TED-LIUM release: expected "
                          "{train,dev,test}/{sph,stm}/ (release 2) or legacy/{train,dev,test} "
                          "and data/ (release 3)")
    return sets


def normalise_transcript(words: list[str]) -> list[str]:
    """Transcript words without ``<sil>``, variant marks and a trailing utterance name."""
    if words and words[-1].startswith("(") and words[-1].endswith(")"):
        words = words[:-1]
    return [_VARIANT.sub("", w) for w in words if w != "<sil>"]


def _centiseconds(value: str, path: Path, lineno: int) -> int:
    try:
        return round(float(value) * 100)
    except ValueError:
        raise CorpusError(f"{path}:{lineno}: time '{value}' is not a number") from None


def read_stm(path: Path) -> list[tuple[str, str, int, int, list[str]]]:
    """The scored segments of an stm file: (file, speaker, start cs, end cs, words)."""
    segments = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields or fields[0].startswith(";;"):
                continue
            if len(fields) < 6:
                raise CorpusError(f"{path}:{lineno}: expected '<file> <channel> <speaker> "
                                  "<start> <end> <label> <transcript>'")
            if IGNORED in fields[6:]:
                continue
            start, end = (_centiseconds(v, path, lineno) for v in fields[3:5])
            if end <= start:
                raise CorpusError(f"{path}:{lineno}: segment ends ({fields[4]}) before it "
                                  f"starts ({fields[3]})")
            segments.append((fields[0], fields[2], start, end,
                             normalise_transcript(fields[6:])))
    return segments


def set_tables(set_dir: Path) -> dict[str, dict[str, str]]:
    """wav.scp, segments, utt2spk and text of one TED-LIUM set folder."""
    tables: dict[str, dict[str, str]] = {"wav.scp": {}, "segments": {}, "utt2spk": {},
                                         "text": {}}
    empty = 0
    for stm in sorted((set_dir / "stm").glob("*.stm")):
        for rec, spk, start, end, words in read_stm(stm):
            if not words:
                empty += 1
                continue
            utt = f"{spk}-{start:07d}-{end:07d}"
            if utt in tables["utt2spk"]:
                raise CorpusError(f"{stm}: utterance '{utt}' occurs twice")
            if rec not in tables["wav.scp"]:
                sph = set_dir / "sph" / f"{rec}.sph"
                if not sph.is_file():
                    raise CorpusError(f"{stm}: recording '{rec}' has no {sph}")
                tables["wav.scp"][rec] = sphere_wav_entry(sph.resolve())
            tables["segments"][utt] = f"{rec} {start / 100:.2f} {end / 100:.2f}"
            tables["utt2spk"][utt] = spk
            tables["text"][utt] = " ".join(words)
    if empty:
        log.info("%s: dropped %d segments with no words", set_dir, empty)
    if not tables["utt2spk"]:
        raise CorpusError(f"{set_dir / 'stm'}: no scored segments in any .stm file")
    return tables


def find_dictionary(corpus: Path) -> Path | None:
    """The release's ``TEDLIUM.*.dic`` in ``corpus`` or its parent, if there is one."""
    for folder in (corpus, corpus.resolve().parent):
        found = sorted(folder.glob("TEDLIUM*.dic"))
        if len(found) > 1:
            raise CorpusError(f"{folder}: several dictionaries: "
                              f"{', '.join(p.name for p in found)}")
        if found:
            return found[0]
    return None


def read_dictionary(path: Path) -> Lexicon:
    """Read a TED-LIUM (CMU Sphinx style) dictionary: ``word(2)`` marks a variant;
    sentence markers, ``<unk>`` and ``<sil>`` are left out."""
    lexicon: Lexicon = {}
    for entry, prons in read_lexicon(path).items():
        word = _VARIANT.sub("", entry)
        if word not in _DROPPED_WORDS:
            known = lexicon.setdefault(word, [])
            known.extend(pron for pron in prons if pron not in known)
    return lexicon


def prepare_tedlium(corpus: Path, data_root: Path, train_source: str = "legacy"
                    ) -> dict[str, int]:
    """Write the data dirs of a TED-LIUM release under ``data_root``; returns set -> #utts.

    With the release's dictionary at hand, each set's words missing from it are counted
    into ``<set>/oov_counts`` and summarised in the log.
    """
    dictionary = find_dictionary(corpus)
    lexicon = read_dictionary(dictionary) if dictionary else None
    if lexicon is None:
        log.warning("%s: no TEDLIUM*.dic here or in the parent; OOV words not counted", corpus)
    counts = {}
    for name, set_dir in find_sets(corpus, train_source).items():
        tables = set_tables(set_dir)
        write_data_dir(data_root / name, tables)
        if lexicon is not None:
            report_oovs(tables["text"], lexicon, str(data_root / name),
                        data_root / name / "oov_counts")
        counts[name] = len(tables["utt2spk"])
    return counts


def tedlium_dict(dictionary: Path) -> DictDir:
    """The dict dir of a TED-LIUM dictionary, as Kaldi's tedlium recipe builds it.

    ``<unk>`` is added with the noise phone NSN. Silence phones: SIL, NSN and the phones
    that only filler words (``{NOISE}``, ``[BREATH]`` ...) use; SIL is the optional silence.
    """
    lexicon = read_dictionary(dictionary)
    if not lexicon:
        raise CorpusError(f"{dictionary}: no words")
    lexicon[OOV_WORD] = [(NOISE_PHONE,)]
    speech = {p for word, prons in lexicon.items() if not _FILLER.fullmatch(word)
              for pron in prons for p in pron} - {SILENCE_PHONE, NOISE_PHONE}
    fillers = {p for prons in lexicon.values() for pron in prons for p in pron} - speech
    silence = [SILENCE_PHONE, NOISE_PHONE] + c_sorted(fillers - {SILENCE_PHONE, NOISE_PHONE})
    return DictDir(lexicon, silence, group_by_base(speech), SILENCE_PHONE)
