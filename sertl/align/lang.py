"""Pronunciation dictionaries (Kaldi dict dirs) and lang dirs.

A dict dir (Kaldi's ``data/local/dict``) holds ``lexicon.txt`` (``WORD ph1 ph2 ...``, one
line per pronunciation), ``silence_phones.txt``, ``nonsilence_phones.txt`` (a line groups
the variants of one base phone, e.g. ``AH AH0 AH1 AH2``) and ``optional_silence.txt``.
``prepare_lang`` turns it into a lang dir, the single description of the phone and word
inventories that the aligner and the acoustic models use:

- ``phones.txt``: ``<eps> 0``, then the silence phones, then the nonsilence phones, ids
  consecutive in file order; ``words.txt``: ``<eps> 0`` then the words C-sorted;
- ``oov.txt`` (the OOV word), ``oov_policy`` (``unk`` or ``skip``), ``lexicon.txt`` (after
  stress removal when asked), ``phones/{silence,nonsilence,optional_silence}.txt``.

A word missing from the lexicon is handled by the lang's OOV policy: ``unk`` puts the
OOV word's pronunciation (usually a spoken-noise phone such as SPN) in its place, so the
utterance is still used; ``skip`` leaves the utterance out (``Lang.transcript_phones``
returns None and logs the missing words).
"""
from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence, TypeVar

from sertl.io import atomic_open, c_sorted

log = logging.getLogger(__name__)

Lexicon = dict[str, list[tuple[str, ...]]]
OOV_POLICIES = ("unk", "skip")
EPSILON = "<eps>"
T = TypeVar("T")
_STRESS = re.compile(r"(?<=[A-Za-z])[012]$")


class LangError(ValueError):
    """A malformed or inconsistent dict or lang dir; the message names file and line or word."""


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    """Non-empty lines of ``path`` split into fields, with their line numbers."""
    if not path.is_file():
        raise LangError(f"{path}: missing")
    with open(path, encoding="utf-8") as f:
        return [(lineno, line.split()) for lineno, line in enumerate(f, 1) if line.strip()]


def read_lexicon(path: str | os.PathLike) -> Lexicon:
    """Read ``WORD ph1 ph2 ...`` lines into word -> pronunciations (file order, no repeats)."""
    path = Path(path)
    lexicon: Lexicon = {}
    for lineno, fields in _lines(path):
        if len(fields) < 2:
            raise LangError(f"{path}:{lineno}: word '{fields[0]}' has no phones")
        prons = lexicon.setdefault(fields[0], [])
        if tuple(fields[1:]) not in prons:
            prons.append(tuple(fields[1:]))
    return lexicon


def write_lexicon(path: str | os.PathLike, lexicon: Mapping[str, Sequence[Sequence[str]]]) -> None:
    """Write a lexicon C-sorted by word, pronunciations in their order, atomically."""
    with atomic_open(path, encoding="utf-8") as f:
        for word in c_sorted(lexicon):
            for pron in lexicon[word]:
                f.write(f"{word} {' '.join(pron)}\n")


def write_lines(path: str | os.PathLike, lines: Iterable[str]) -> None:
    """Write text lines (in the given order) to ``path``, atomically."""
    with atomic_open(path, encoding="utf-8") as f:
        f.writelines(f"{line}\n" for line in lines)


def strip_stress(phone: str) -> str:
    """An ARPAbet phone without its stress digit (``AH0`` -> ``AH``); others unchanged."""
    return _STRESS.sub("", phone)


def group_by_base(phones: Iterable[str]) -> list[list[str]]:
    """Phones grouped by their stress-free base, as Kaldi's nonsilence_phones.txt lines.

    Groups and members are C-sorted, e.g. ``[['AA', 'AA0', 'AA1'], ['B']]``.
    """
    groups: dict[str, list[str]] = {}
    for phone in c_sorted(set(phones)):
        groups.setdefault(strip_stress(phone), []).append(phone)
    return [groups[base] for base in c_sorted(groups)]


def _unique(items: Iterable[T]) -> list[T]:
    """The items without repeats, first occurrences kept in order."""
    return list(dict.fromkeys(items))


@dataclass
class DictDir:
    """A Kaldi dict dir in memory; ``nonsilence_phones`` keeps the file's line grouping."""
    lexicon: Lexicon
    silence_phones: list[str]
    nonsilence_phones: list[list[str]]
    optional_silence: str

    @classmethod
    def load(cls, d: str | os.PathLike) -> DictDir:
        """Read and validate a dict dir."""
        d = Path(d)
        silence = [p for _, fields in _lines(d / "silence_phones.txt") for p in fields]
        nonsilence = [fields for _, fields in _lines(d / "nonsilence_phones.txt")]
        optional = _lines(d / "optional_silence.txt")
        if len(optional) != 1 or len(optional[0][1]) != 1:
            raise LangError(f"{d / 'optional_silence.txt'}: must hold exactly one phone")
        dict_dir = cls(read_lexicon(d / "lexicon.txt"), silence, nonsilence, optional[0][1][0])
        dict_dir.validate(d)
        return dict_dir

    def save(self, d: str | os.PathLike) -> None:
        """Write the four files of a dict dir (validated first)."""
        d = Path(d)
        self.validate(d)
        d.mkdir(parents=True, exist_ok=True)
        write_lexicon(d / "lexicon.txt", self.lexicon)
        write_lines(d / "silence_phones.txt", self.silence_phones)
        write_lines(d / "nonsilence_phones.txt", (" ".join(g) for g in self.nonsilence_phones))
        write_lines(d / "optional_silence.txt", [self.optional_silence])

    def phones(self) -> list[str]:
        """All phones: silence first, then nonsilence, in file order."""
        return self.silence_phones + [p for group in self.nonsilence_phones for p in group]

    def validate(self, d: Path) -> None:
        """Raise LangError unless every phone is listed once and the lexicon uses only them."""
        phones = self.phones()
        repeated = c_sorted(p for p, n in Counter(phones).items() if n > 1)
        if repeated:
            raise LangError(f"{d}: phones listed more than once in silence_phones.txt and "
                            f"nonsilence_phones.txt: {' '.join(repeated)}")
        if EPSILON in phones or EPSILON in self.lexicon:
            raise LangError(f"{d}: '{EPSILON}' is reserved and cannot be a phone or a word")
        if self.optional_silence not in self.silence_phones:
            raise LangError(f"{d / 'optional_silence.txt'}: '{self.optional_silence}' is not "
                            "in silence_phones.txt")
        known = set(phones)
        for word, prons in self.lexicon.items():
            unknown = [p for pron in prons for p in pron if p not in known]
            if unknown:
                raise LangError(f"{d / 'lexicon.txt'}: word '{word}' uses phone '{unknown[0]}', "
                                "which is in neither silence_phones.txt nor "
                                "nonsilence_phones.txt")

    def without_stress(self) -> DictDir:
        """The same dict with stress digits removed from the nonsilence phones.

        Pronunciations that become identical are merged; silence phones are kept as they are.
        """
        silence = set(self.silence_phones)

        def strip(pron: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(p if p in silence else strip_stress(p) for p in pron)

        lexicon = {word: _unique(strip(pron) for pron in prons)
                   for word, prons in self.lexicon.items()}
        merged: dict[str, list[str]] = {}
        for group in self.nonsilence_phones:
            stripped = _unique(strip_stress(p) for p in group)
            merged[stripped[0]] = _unique(merged.get(stripped[0], []) + stripped)
        return DictDir(lexicon, list(self.silence_phones), list(merged.values()),
                       self.optional_silence)


def _symbol_table(symbols: Iterable[str]) -> dict[str, int]:
    """``<eps>`` 0, then the symbols with consecutive ids."""
    table = {EPSILON: 0}
    for symbol in symbols:
        table[symbol] = len(table)
    return table


@dataclass
class Lang:
    """A lang dir in memory: symbol tables, lexicon, silence phones and the OOV handling."""
    phones: dict[str, int]
    words: dict[str, int]
    lexicon: Lexicon
    silence_phones: list[str]
    nonsilence_phones: list[str]
    optional_silence: str
    oov: str
    oov_policy: str

    @classmethod
    def from_dict_dir(cls, dict_dir: DictDir, oov: str, oov_policy: str = "unk") -> Lang:
        """Build a lang from a (validated) dict dir; the OOV word must be in the lexicon
        under the ``unk`` policy, since its pronunciation stands in for missing words."""
        if oov_policy not in OOV_POLICIES:
            raise LangError(f"OOV policy '{oov_policy}' is not one of {', '.join(OOV_POLICIES)}")
        if oov_policy == "unk" and oov not in dict_dir.lexicon:
            raise LangError(f"OOV word '{oov}' is not in the lexicon; the 'unk' policy needs "
                            f"its pronunciation (add e.g. '{oov} SPN' to lexicon.txt)")
        nonsilence = [p for group in dict_dir.nonsilence_phones for p in group]
        return cls(phones=_symbol_table(dict_dir.silence_phones + nonsilence),
                   words=_symbol_table(c_sorted(set(dict_dir.lexicon) | {oov})),
                   lexicon=dict_dir.lexicon, silence_phones=list(dict_dir.silence_phones),
                   nonsilence_phones=nonsilence, optional_silence=dict_dir.optional_silence,
                   oov=oov, oov_policy=oov_policy)

    @classmethod
    def load(cls, lang_dir: str | os.PathLike) -> Lang:
        """Read a lang dir written by ``save`` (``utils/prepare_lang.sh``) and check it."""
        d = Path(lang_dir)
        lang = cls(phones=_read_symbols(d / "phones.txt"), words=_read_symbols(d / "words.txt"),
                   lexicon=read_lexicon(d / "lexicon.txt"),
                   silence_phones=_read_single_column(d / "phones" / "silence.txt"),
                   nonsilence_phones=_read_single_column(d / "phones" / "nonsilence.txt"),
                   optional_silence=_read_one(d / "phones" / "optional_silence.txt"),
                   oov=_read_one(d / "oov.txt"), oov_policy=_read_one(d / "oov_policy"))
        lang._check(d)
        return lang

    def save(self, lang_dir: str | os.PathLike) -> None:
        """Write the lang dir files (see the module docstring)."""
        d = Path(lang_dir)
        (d / "phones").mkdir(parents=True, exist_ok=True)
        write_lines(d / "phones.txt", (f"{p} {i}" for p, i in self.phones.items()))
        write_lines(d / "words.txt", (f"{w} {i}" for w, i in self.words.items()))
        write_lexicon(d / "lexicon.txt", self.lexicon)
        write_lines(d / "oov.txt", [self.oov])
        write_lines(d / "oov_policy", [self.oov_policy])
        write_lines(d / "phones" / "silence.txt", self.silence_phones)
        write_lines(d / "phones" / "nonsilence.txt", self.nonsilence_phones)
        write_lines(d / "phones" / "optional_silence.txt", [self.optional_silence])

    def oov_words(self, words: Iterable[str]) -> list[str]:
        """The words of a transcript that are not in the lexicon, in order."""
        return [w for w in words if w not in self.lexicon]

    def transcript_phones(self, words: Sequence[str], utt: str) -> list[tuple[str, ...]] | None:
        """The pronunciations of each word of ``utt``'s transcript, for alignment.

        Each item lists a word's pronunciations (the aligner uses the first). Words missing
        from the lexicon get the OOV word's pronunciations under the ``unk`` policy; under
        ``skip`` the result is None (the utterance is left out; a warning names the words).
        """
        if not words:
            raise LangError(f"utterance '{utt}': empty transcript")
        missing = self.oov_words(words)
        if missing and self.oov_policy == "skip":
            log.warning("utterance '%s': skipped, words not in the lexicon: %s", utt,
                        " ".join(_unique(missing)))
            return None
        return [self.lexicon[word if word in self.lexicon else self.oov] for word in words]

    def _check(self, d: Path) -> None:
        """Raise LangError unless the files of lang dir ``d`` agree with each other."""
        if self.oov_policy not in OOV_POLICIES:
            raise LangError(f"{d / 'oov_policy'}: '{self.oov_policy}' is not one of "
                            f"{', '.join(OOV_POLICIES)}")
        for name, phones in (("phones/silence.txt", self.silence_phones),
                             ("phones/nonsilence.txt", self.nonsilence_phones),
                             ("phones/optional_silence.txt", [self.optional_silence])):
            unknown = [p for p in phones if p not in self.phones]
            if unknown:
                raise LangError(f"{d / name}: phone '{unknown[0]}' is not in phones.txt")
        for word, prons in self.lexicon.items():
            if word not in self.words:
                raise LangError(f"{d / 'lexicon.txt'}: word '{word}' is not in words.txt")
            unknown = [p for pron in prons for p in pron if p not in self.phones]
            if unknown:
                raise LangError(f"{d / 'lexicon.txt'}: word '{word}' uses phone "
                                f"'{unknown[0]}', which is not in phones.txt")
        if self.oov not in self.words:
            raise LangError(f"{d / 'oov.txt'}: '{self.oov}' is not in words.txt")
        if self.oov_policy == "unk" and self.oov not in self.lexicon:
            raise LangError(f"{d / 'oov.txt'}: '{self.oov}' has no pronunciation in "
                            "lexicon.txt, which the 'unk' policy needs")


def _read_symbols(path: Path) -> dict[str, int]:
    """Read a ``symbol id`` table (phones.txt, words.txt)."""
    table: dict[str, int] = {}
    for lineno, fields in _lines(path):
        if len(fields) != 2 or not fields[1].isdigit():
            raise LangError(f"{path}:{lineno}: expected '<symbol> <id>'")
        if fields[0] in table:
            raise LangError(f"{path}:{lineno}: symbol '{fields[0]}' listed twice")
        table[fields[0]] = int(fields[1])
    return table


def _read_single_column(path: Path) -> list[str]:
    rows = _lines(path)
    for lineno, fields in rows:
        if len(fields) != 1:
            raise LangError(f"{path}:{lineno}: expected one symbol per line")
    return [fields[0] for _, fields in rows]


def _read_one(path: Path) -> str:
    symbols = _read_single_column(path)
    if len(symbols) != 1:
        raise LangError(f"{path}: must hold exactly one symbol")
    return symbols[0]


def prepare_lang(dict_dir: str | os.PathLike, oov: str, lang_dir: str | os.PathLike, *,
                 remove_stress: bool = False, oov_policy: str = "unk") -> Lang:
    """Make a lang dir from a dict dir (Kaldi's ``utils/prepare_lang.sh``, minus the FSTs)."""
    source = DictDir.load(dict_dir)
    lang = Lang.from_dict_dir(source.without_stress() if remove_stress else source, oov,
                              oov_policy)
    lang.save(lang_dir)
    return lang


def count_oovs(transcripts: Iterable[Sequence[str]], lexicon: Mapping[str, object]) -> Counter:
    """How often each word missing from ``lexicon`` occurs in the transcripts."""
    return Counter(word for words in transcripts for word in words if word not in lexicon)


def write_oov_counts(path: str | os.PathLike, counts: Counter) -> None:
    """Write ``word count`` lines, most frequent first (ties C-sorted), atomically."""
    ordered = sorted(c_sorted(counts), key=lambda w: -counts[w])
    write_lines(Path(path), (f"{word} {counts[word]}" for word in ordered))


def report_oovs(transcripts: Mapping[str, str], lexicon: Mapping[str, object], where: str,
                path: str | os.PathLike | None = None) -> Counter:
    """Count the OOV words of ``utt -> transcript``, log a summary and write the counts.

    The log line names ``where`` (e.g. the data dir), the token and type counts and the
    most frequent OOV words; the full counts go to ``path`` when given.
    """
    counts = count_oovs((text.split() for text in transcripts.values()), lexicon)
    tokens = sum(len(text.split()) for text in transcripts.values())
    if path is not None:
        write_oov_counts(path, counts)
    if counts:
        top = ", ".join(f"{w} ({n})" for w, n in counts.most_common(10))
        log.warning("%s: %d of %d word tokens (%d distinct words) are not in the lexicon; "
                    "most frequent: %s", where, sum(counts.values()), tokens, len(counts), top)
    else:
        log.info("%s: all %d word tokens are in the lexicon", where, tokens)
    return counts
