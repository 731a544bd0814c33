"""Kaldi data directories: validate, fix, split, subset, combine and copy them.

A data dir holds text tables keyed by utterance (``utt2spk``, ``text``, ``segments``,
``feats.scp``, ``vad.scp`` and every ``utt2*`` file, e.g. ``utt2emo``, ``utt2fold``), by
speaker (``spk2gender``, ``cmvn.scp``, other ``spk2*`` files, and ``spk2utt``, which is
always derived from ``utt2spk``) or by recording (``wav.scp`` when there is a
``segments`` file, ``reco2*`` files); without ``segments``, ``wav.scp`` is keyed by
utterance. Every tool here tells a table's key kind from its name, so label files such as
``utt2emo`` travel through all of them. The rules are those of Kaldi's
``utils/validate_data_dir.sh``; outputs are written with ``sertl.io.write_table``
(C-sorted, atomic).
"""
from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from sertl.io import TableError, c_sorted, check_id, read_table, write_table

log = logging.getLogger(__name__)

Table = dict[str, str]
Tables = dict[str, Table]

UTT_TABLES = ("text", "segments", "feats.scp", "vad.scp")
SPK_TABLES = ("cmvn.scp",)
# Whole-dir facts copied unchanged into a subset or copy: the frame shift
# (utils/data/get_frame_shift.sh), and the notes of how feats.scp was made (functionals,
# embeddings, spectrogram options), which hold for any subset of it.
VERBATIM_FILES = ("frame_shift", "functionals", "embedding", "spectrogram.conf")
_PREFIXED_TABLE = re.compile(r"(utt|spk|reco)2\w+")
_PREFIX_KIND = {"utt": "utt", "spk": "spk", "reco": "rec"}
_KIND_WORD = {"utt": "utterance", "spk": "speaker", "rec": "recording"}


class DataDirError(ValueError):
    """A missing, malformed or inconsistent data dir; the message names file and key or line."""


def _positive_float(value: str) -> bool:
    try:
        return float(value) > 0
    except ValueError:
        return False


# Per-table rules for values: (predicate, what a value must be).
_VALUE_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "utt2spk": (lambda v: len(v.split()) == 1, "a single speaker id"),
    "utt2emo": (lambda v: len(v.split()) == 1, "a single label word"),
    "spk2gender": (lambda v: v in ("m", "f"), "'m' or 'f'"),
    "utt2dur": (_positive_float, "a positive duration in seconds"),
    "reco2dur": (_positive_float, "a positive duration in seconds"),
    "utt2num_frames": (lambda v: v.isdecimal() and int(v) > 0, "a positive frame count"),
    "wav.scp": (lambda v: not v.startswith("~"),
                "a path or command not starting with '~' (it is not expanded)"),
}


def table_kind(name: str, segmented: bool) -> str | None:
    """Key kind of the data-dir table ``name``: 'utt', 'spk' or 'rec'.

    None for spk2utt (derived from utt2spk) and for files that are not keyed tables.
    ``segmented`` says whether the dir has a segments file (wav.scp is then per recording).
    """
    if name == "wav.scp":
        return "rec" if segmented else "utt"
    if name in UTT_TABLES:
        return "utt"
    if name in SPK_TABLES:
        return "spk"
    match = _PREFIXED_TABLE.fullmatch(name)
    if match and name != "spk2utt":
        return _PREFIX_KIND[match.group(1)]
    return None


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> dict[str, list[str]]:
    """Speaker -> its utterances, both C-sorted (Kaldi's utt2spk_to_spk2utt.pl)."""
    spk2utt: dict[str, list[str]] = {}
    for utt in c_sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    return {spk: spk2utt[spk] for spk in c_sorted(spk2utt)}


def spk2utt_to_utt2spk(spk2utt: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Utterance -> speaker, C-sorted; an utterance under two speakers is an error."""
    utt2spk: dict[str, str] = {}
    for spk, utts in spk2utt.items():
        for utt in utts:
            if utt in utt2spk:
                raise DataDirError(f"utterance '{utt}' is listed under speaker "
                                   f"'{utt2spk[utt]}' and speaker '{spk}'")
            utt2spk[utt] = spk
    return {utt: utt2spk[utt] for utt in c_sorted(utt2spk)}


def read_spk2utt(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read a spk2utt file into speaker -> utterance list."""
    return {spk: utts.split() for spk, utts in _read(Path(path)).items()}


def validate_data_dir(d: str | os.PathLike, *, no_feats: bool = False, no_text: bool = False,
                      no_wav: bool = False) -> None:
    """Raise DataDirError unless ``d`` passes Kaldi's validate_data_dir.sh checks.

    feats.scp, text and wav.scp are required unless ``no_feats``/``no_text``/``no_wav``
    say they are absent by design; every file present is checked. Ids must be ASCII
    (see sertl.io). Utterance ids that do not start with their speaker id only draw a
    warning.
    """
    d = Path(d)
    tables = _load_tables(d, strict=True)
    for name, optional, flag in (("feats.scp", no_feats, "--no-feats"),
                                 ("text", no_text, "--no-text"), ("wav.scp", no_wav, "--no-wav")):
        if not optional and name not in tables:
            raise DataDirError(f"{d / name}: missing (if that is by design, pass {flag})")
    utt2spk = tables["utt2spk"]
    _check_spk2utt(d, utt2spk)
    _warn_unprefixed(d, utt2spk)
    if "segments" in tables:
        _check_segments(d, tables)
    expected = {
        "utt": (list(utt2spk), "utt2spk"),
        "spk": (c_sorted(set(utt2spk.values())), "spk2utt"),
        "rec": (c_sorted(set(_utt2rec(d, tables).values())),
                "segments" if "segments" in tables else "utt2spk"),
    }
    for name, table in tables.items():
        kind = table_kind(name, "segments" in tables)
        keys, reference = expected[kind]
        _check_keys(d / name, table, keys, _KIND_WORD[kind], reference)
        _check_values(d / name, table, _KIND_WORD[kind])


def fix_data_dir(d: str | os.PathLike) -> dict[str, list[str]]:
    """Make ``d`` valid in place by sorting its tables and dropping what is inconsistent.

    Keeps the utterances present in every per-utterance table whose recording is in
    every per-recording table (wav.scp, reco2*), whose segment is non-empty, and whose
    speaker is in every per-speaker table (spk2gender, cmvn.scp, ...), like Kaldi's
    fix_data_dir.sh; then drops unused recordings and speakers and rebuilds spk2utt.
    Each changed file's previous version goes to ``d/.backup/`` (an older backup of the
    same file is kept as ``<file>.1``, ``<file>.2``, ...). Returns the dropped keys per
    file and logs a line per file with drops. Duplicate keys are an error: which line
    to keep is the user's decision.
    """
    d = Path(d)
    tables = _load_tables(d)
    utt2spk = tables["utt2spk"]
    utts = _consistent_utterances(d, tables)
    if not utts:
        raise DataDirError(f"{d}: no utterance is in all of {', '.join(tables)}; "
                           "nothing changed")
    fixed = _restrict(d, tables, utts)
    dropped = {name: [key for key in table if key not in fixed[name]]
               for name, table in tables.items()}
    dropped["spk2utt"] = c_sorted(set(utt2spk.values()) - set(fixed["utt2spk"].values()))
    fixed["spk2utt"] = _spk2utt_table(fixed["utt2spk"])
    changed = [name for name, table in fixed.items() if _replace_if_changed(d / name, table)]
    dropped = {name: keys for name, keys in dropped.items() if keys}
    for name, keys in dropped.items():
        log.info("%s: dropped %d: %s", d / name, len(keys), _examples(keys))
    log.info("%s: kept %d of %d utterances%s", d, len(utts), len(utt2spk),
             f"; previous {', '.join(changed)} saved in {d / '.backup'}" if changed else "")
    return dropped


def split_data_dir(d: str | os.PathLike, num_jobs: int) -> list[Path]:
    """Split ``d`` by speaker into complete data dirs ``d/split<N>/1..N``; return them.

    Each speaker goes to one part; parts are contiguous runs of the C-sorted speakers
    (so per-part outputs concatenated in part order stay sorted, as in Kaldi) with the
    largest part (in utterances) as small as possible, which Kaldi's
    ``split_scp.pl --utt2spk`` aims for. An existing split is reused when it is newer
    than every file of ``d``. A new split is built aside and renamed into place, so a
    crash never leaves a partial one.
    """
    d = Path(d)
    if num_jobs < 1:
        raise DataDirError(f"{d}: cannot split into {num_jobs} parts")
    root = d / f"split{num_jobs}"
    parts = [root / str(job) for job in range(1, num_jobs + 1)]
    if _split_is_current(d, root, parts):
        return parts
    tables = _load_tables(d)
    _warn_unhandled(d)
    tmp = d / f".split{num_jobs}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    groups = _speaker_groups(d, tables["utt2spk"], num_jobs)
    for part, part_tables in zip(parts, _distribute(d, tables, groups)):
        _write_data_dir(tmp / part.name, part_tables, _verbatim_files(d))
    if root.exists():
        shutil.rmtree(root)
    os.replace(tmp, root)
    os.utime(root)
    return parts


def subset_data_dir(src: str | os.PathLike, dest: str | os.PathLike, *,
                    utt_list: str | os.PathLike | None = None, first: int | None = None,
                    per_spk: int | None = None,
                    spk_list: str | os.PathLike | None = None) -> None:
    """Write to ``dest`` the part of ``src`` chosen by exactly one of the selectors.

    ``utt_list``/``spk_list``: files whose first field is an utterance/speaker id (ids
    not in ``src`` are warned about); ``first``: the first N utterances in sorted order;
    ``per_spk``: the first N utterances of each speaker. All tables are subsetted alike.
    """
    src, dest = Path(src), Path(dest)
    chosen = [name for name, value in (("utt_list", utt_list), ("first", first),
                                       ("per_spk", per_spk), ("spk_list", spk_list))
              if value is not None]
    if len(chosen) != 1:
        raise DataDirError(f"subset of {src}: give exactly one of utt_list, first, per_spk, "
                           f"spk_list (got {', '.join(chosen) or 'none'})")
    tables = _load_tables(src)
    utt2spk = tables["utt2spk"]
    if utt_list is not None:
        utts = _known_ids(Path(utt_list), utt2spk.keys(), src / "utt2spk")
    elif spk_list is not None:
        speakers = _known_ids(Path(spk_list), set(utt2spk.values()), src / "utt2spk")
        utts = [utt for utt, spk in utt2spk.items() if spk in speakers]
    elif first is not None:
        if not 0 < first <= len(utt2spk):
            raise DataDirError(f"{src}: cannot take the first {first} of "
                               f"{len(utt2spk)} utterances")
        utts = c_sorted(utt2spk)[:first]
    else:
        if per_spk < 1:
            raise DataDirError(f"{src}: cannot take {per_spk} utterances per speaker")
        utts = [utt for spk_utts in utt2spk_to_spk2utt(utt2spk).values()
                for utt in spk_utts[:per_spk]]
    if not utts:
        raise DataDirError(f"subset of {src}: no utterance selected; {dest} not written")
    _make_data_dir(dest, _restrict(src, tables, utts), _verbatim_files(src), [src])


def combine_data_dirs(dest: str | os.PathLike, srcs: Sequence[str | os.PathLike]) -> None:
    """Write the union of the data dirs ``srcs`` to ``dest`` and validate it.

    A key in several sources must have the same value in each (else an error names the
    key and both sources). A table missing from some sources is left out with a warning,
    as Kaldi's combine_data.sh does, also for per-utterance tables such as utt2emo: the
    result stays consistent, and the warning says what was lost. When only some sources
    have segments, the others get whole-recording segments from their utt2dur.
    """
    dest, srcs = Path(dest), [Path(s) for s in srcs]
    if not srcs:
        raise DataDirError(f"{dest}: no source data dirs to combine")
    loaded = [_load_tables(src) for src in srcs]
    if any("segments" in tables for tables in loaded):
        loaded = [_with_segments(src, tables) for src, tables in zip(srcs, loaded)]
    everywhere = set.intersection(*(set(tables) for tables in loaded))
    for name in c_sorted(set().union(*loaded) - everywhere):
        lacking = [str(src) for src, tables in zip(srcs, loaded) if name not in tables]
        log.warning("%s: not in %s; left out of %s", name, ", ".join(lacking), dest)
    combined = {name: _union(name, srcs, [tables[name] for tables in loaded])
                for name in c_sorted(everywhere)}
    _make_data_dir(dest, combined, _common_verbatim_files(srcs), srcs)
    _validate_written(dest, combined)


def copy_data_dir(src: str | os.PathLike, dest: str | os.PathLike, *, utt_prefix: str = "",
                  spk_prefix: str = "", utt_suffix: str = "", spk_suffix: str = "") -> None:
    """Copy ``src`` to ``dest`` renaming utterances and speakers (Kaldi's copy_data_dir.sh).

    Keys of per-utterance and per-speaker tables (feats.scp, cmvn.scp included) and the
    speakers in utt2spk are renamed; recording ids are renamed with the utterances when
    there is no segments file and kept otherwise. When utterances are renamed, utt2uniq
    maps each new id to the original one (an existing utt2uniq keeps its values).
    """
    src, dest = Path(src), Path(dest)
    tables = _load_tables(src)
    segmented = "segments" in tables

    def new_utt(utt: str) -> str:
        return f"{utt_prefix}{utt}{utt_suffix}"

    def new_spk(spk: str) -> str:
        return f"{spk_prefix}{spk}{spk_suffix}"

    rename = {"utt": new_utt, "spk": new_spk,
              "rec": (lambda rec: rec) if segmented else new_utt}
    copied = {name: {rename[table_kind(name, segmented)](key): value
                     for key, value in table.items()}
              for name, table in tables.items()}
    copied["utt2spk"] = {new_utt(utt): new_spk(spk) for utt, spk in tables["utt2spk"].items()}
    if (utt_prefix or utt_suffix) and "utt2uniq" not in tables:
        copied["utt2uniq"] = {new_utt(utt): utt for utt in tables["utt2spk"]}
    _make_data_dir(dest, copied, _verbatim_files(src), [src])
    _validate_written(dest, copied)


def compute_utt2dur(d: str | os.PathLike,
                    read_duration: Callable[[str, str], float]) -> dict[str, float]:
    """Write ``d/utt2dur`` (seconds, 3 decimals) and return the durations.

    From segments (end - start; an end of -1 is the recording's end) when ``d`` has
    them, else ``read_duration(rec_id, wav_entry)`` per wav.scp line (e.g.
    ``sertl.audio.recording_duration``).
    """
    d = Path(d)
    utterances = _utterance_source(d)
    if utterances.name == "segments":
        wav = _read(d / "wav.scp")
        durations = {utt: (end if end != -1 else read_duration(rec, wav[rec])) - start
                     for utt, (rec, start, end)
                     in _parse_segments(utterances, _read(utterances)).items()}
    else:
        durations = {utt: read_duration(utt, entry) for utt, entry in _read(utterances).items()}
    utt2dur = {utt: f"{duration:.3f}" for utt, duration in durations.items()}
    for utt, text in utt2dur.items():
        if not _positive_float(text):
            raise DataDirError(f"{utterances}: utterance '{utt}' lasts {text} s")
    write_table(d / "utt2dur", utt2dur)
    return durations


def utt2dur_is_complete(d: str | os.PathLike) -> bool:
    """Whether ``d/utt2dur`` exists and covers exactly the utterances of segments/wav.scp."""
    d = Path(d)
    utt2dur = d / "utt2dur"
    return utt2dur.is_file() and _read(utt2dur).keys() == _read(_utterance_source(d)).keys()


def _read(path: Path, *, strict: bool = False) -> Table:
    """One table (empty values allowed only in text); ``strict`` also demands C order."""
    try:
        table = read_table(path, allow_empty_value=path.name == "text")
    except TableError as e:
        raise DataDirError(str(e)) from None
    except UnicodeDecodeError as e:
        raise DataDirError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    if strict:
        _check_sorted(path, table)
    return table


def _check_sorted(path: Path, keys: Iterable[str]) -> None:
    previous = None
    for lineno, key in enumerate(keys, 1):
        if previous is not None and key.encode("utf-8") < previous.encode("utf-8"):
            raise DataDirError(f"{path}:{lineno}: '{key}' comes after '{previous}'; tables "
                               "must be sorted as LC_ALL=C sort does (utils/fix_data_dir.sh)")
        previous = key


def _load_tables(d: Path, *, strict: bool = False) -> Tables:
    """Every keyed table of data dir ``d``, by file name (spk2utt excluded)."""
    if not d.is_dir():
        raise DataDirError(f"{d}: no such data directory")
    if not (d / "utt2spk").is_file():
        raise DataDirError(f"{d / 'utt2spk'}: missing")
    segmented = (d / "segments").is_file()
    return {path.name: _read(path, strict=strict) for path in sorted(d.iterdir())
            if path.is_file() and table_kind(path.name, segmented)}


def _utterance_source(d: Path) -> Path:
    """The table that lists a dir's utterances with their audio: segments, else wav.scp."""
    for name in ("segments", "wav.scp"):
        if (d / name).is_file():
            return d / name
    raise DataDirError(f"{d}: has neither segments nor wav.scp")


def _segment(path: Path, lineno: int, utt: str, value: str) -> tuple[str, float, float]:
    """Parse one segments line into (recording, start, end)."""
    fields = value.split()
    try:
        if len(fields) != 3:
            raise ValueError
        return fields[0], float(fields[1]), float(fields[2])
    except ValueError:
        raise DataDirError(f"{path}:{lineno}: utterance '{utt}': expected "
                           "'<utt> <recording> <start> <end>'") from None


def _parse_segments(path: Path, segments: Table) -> dict[str, tuple[str, float, float]]:
    return {utt: _segment(path, lineno, utt, value)
            for lineno, (utt, value) in enumerate(segments.items(), 1)}


def _segment_is_valid(start: float, end: float) -> bool:
    """Kaldi's extract-segments convention: an end of -1 means the end of the recording."""
    return 0 <= start and (start < end or end == -1)


def _utt2rec(d: Path, tables: Tables) -> dict[str, str]:
    """Recording of each utterance (itself when there is no segments file)."""
    if "segments" in tables:
        return {utt: rec for utt, (rec, _, _)
                in _parse_segments(d / "segments", tables["segments"]).items()}
    return {utt: utt for utt in tables["utt2spk"]}


def _check_spk2utt(d: Path, utt2spk: Table) -> None:
    path = d / "spk2utt"
    if not path.is_file():
        raise DataDirError(f"{path}: missing (utils/fix_data_dir.sh makes it from utt2spk)")
    listed: set[str] = set()
    for lineno, (spk, utts) in enumerate(_read(path, strict=True).items(), 1):
        _check_id(spk, path, lineno)
        for utt in utts.split():
            if utt not in utt2spk:
                raise DataDirError(f"{path}:{lineno}: utterance '{utt}' is not in utt2spk")
            if utt in listed:
                raise DataDirError(f"{path}:{lineno}: utterance '{utt}' is listed twice")
            if utt2spk[utt] != spk:
                raise DataDirError(f"{path}:{lineno}: utterance '{utt}' is under speaker "
                                   f"'{spk}' but utt2spk gives '{utt2spk[utt]}'")
            listed.add(utt)
    missing = [utt for utt in utt2spk if utt not in listed]
    if missing:
        raise DataDirError(f"{path}: lacks {len(missing)} utterances of utt2spk, "
                           f"e.g. '{missing[0]}' of speaker '{utt2spk[missing[0]]}'")


def _warn_unprefixed(d: Path, utt2spk: Table) -> None:
    unprefixed = [utt for utt, spk in utt2spk.items() if not utt.startswith(spk)]
    if unprefixed:
        log.warning("%s: %d utterance ids do not start with their speaker id, e.g. '%s' of "
                    "'%s'; Kaldi tools need utt2spk sorted by speaker too, which a speaker "
                    "prefix guarantees", d / "utt2spk", len(unprefixed), unprefixed[0],
                    utt2spk[unprefixed[0]])


def _check_segments(d: Path, tables: Tables) -> None:
    path = d / "segments"
    wav_scp = tables.get("wav.scp")
    for lineno, (utt, value) in enumerate(tables["segments"].items(), 1):
        rec, start, end = _segment(path, lineno, utt, value)
        if not _segment_is_valid(start, end):
            raise DataDirError(f"{path}:{lineno}: utterance '{utt}': segment {start}-{end} s "
                               "is empty or starts before 0")
        if wav_scp is not None and rec not in wav_scp:
            raise DataDirError(f"{path}:{lineno}: utterance '{utt}': recording '{rec}' is "
                               "not in wav.scp")


def _check_keys(path: Path, table: Table, keys: Sequence[str], what: str,
                reference: str) -> None:
    """Raise unless ``table`` has exactly ``keys`` (ASCII ids), naming the first extra,
    missing or non-ASCII one."""
    expected = set(keys)
    for lineno, key in enumerate(table, 1):
        _check_id(key, path, lineno)
        if key not in expected:
            raise DataDirError(f"{path}:{lineno}: {what} '{key}' is not in {reference}")
    missing = [key for key in keys if key not in table]
    if missing:
        raise DataDirError(f"{path}: lacks {len(missing)} {what}s of {reference}, "
                           f"e.g. '{missing[0]}'")


def _check_id(key: str, path: Path, lineno: int) -> None:
    """sertl.io.check_id as a DataDirError naming the line."""
    try:
        check_id(key, f"{path}:{lineno}")
    except TableError as e:
        raise DataDirError(str(e)) from None


def _check_values(path: Path, table: Table, what: str) -> None:
    if path.name not in _VALUE_RULES:
        return
    is_valid, description = _VALUE_RULES[path.name]
    for lineno, (key, value) in enumerate(table.items(), 1):
        if not is_valid(value):
            raise DataDirError(f"{path}:{lineno}: {what} '{key}': '{value}' is not "
                               f"{description}")


def _consistent_utterances(d: Path, tables: Tables) -> set[str]:
    """Utterances that every table supports, with a valid segment if segmented."""
    segmented = "segments" in tables
    by_kind: dict[str, list[Table]] = {"utt": [], "spk": [], "rec": []}
    for name, table in tables.items():
        by_kind[table_kind(name, segmented)].append(table)
    if segmented:
        segments = _parse_segments(d / "segments", tables["segments"])
        utt2rec = {utt: rec for utt, (rec, start, end) in segments.items()
                   if _segment_is_valid(start, end)}
    else:
        utt2rec = _utt2rec(d, tables)
    utt2spk = tables["utt2spk"]
    return {utt for utt in set.intersection(*(set(table) for table in by_kind["utt"]))
            if utt in utt2rec
            and all(utt2rec[utt] in table for table in by_kind["rec"])
            and all(utt2spk[utt] in table for table in by_kind["spk"])}


def _restrict(d: Path, tables: Tables, utts: Iterable[str]) -> Tables:
    """The tables limited to ``utts``, their speakers and their recordings."""
    return _distribute(d, tables, [utts])[0]


def _distribute(d: Path, tables: Tables, groups: Sequence[Iterable[str]]) -> list[Tables]:
    """One set of tables per utterance group, each limited to the group's utterances,
    speakers and recordings (a recording shared by several groups goes to each).

    One pass over the tables, however many groups, so that splitting a large dir into
    many parts stays fast.
    """
    utt2spk, utt2rec = tables["utt2spk"], _utt2rec(d, tables)
    owners: dict[str, dict[str, set[int]]] = {"utt": {}, "spk": {}, "rec": {}}
    for i, utts in enumerate(groups):
        for utt in utts:
            owners["utt"].setdefault(utt, set()).add(i)
            if utt in utt2spk:
                owners["spk"].setdefault(utt2spk[utt], set()).add(i)
            if utt in utt2rec:
                owners["rec"].setdefault(utt2rec[utt], set()).add(i)
    segmented = "segments" in tables
    parts: list[Tables] = [{name: {} for name in tables} for _ in groups]
    for name, table in tables.items():
        owner = owners[table_kind(name, segmented)]
        for key, value in table.items():
            for i in owner.get(key, ()):
                parts[i][name][key] = value
    return parts


def _spk2utt_table(utt2spk: Mapping[str, str]) -> Table:
    return {spk: " ".join(utts) for spk, utts in utt2spk_to_spk2utt(utt2spk).items()}


def _examples(keys: Sequence[str], limit: int = 5) -> str:
    return ", ".join(keys[:limit]) + (", ..." if len(keys) > limit else "")


def _replace_if_changed(path: Path, table: Table) -> bool:
    """Write ``table`` to ``path`` unless the file already says exactly that.

    The previous version is backed up first; returns whether the file changed.
    """
    new = path.with_name(f".{path.name}.new")
    write_table(new, table)
    if path.is_file() and path.read_bytes() == new.read_bytes():
        new.unlink()
        return False
    if path.is_file():
        _backup(path, path.parent / ".backup")
    os.replace(new, path)
    return True


def _backup(path: Path, backup_dir: Path) -> None:
    """Copy ``path`` into ``backup_dir``, moving a differing older backup to ``<name>.<n>``."""
    backup_dir.mkdir(exist_ok=True)
    target = backup_dir / path.name
    if target.is_file() and target.read_bytes() != path.read_bytes():
        n = 1
        while (backup_dir / f"{path.name}.{n}").exists():
            n += 1
        os.replace(target, backup_dir / f"{path.name}.{n}")
    shutil.copy2(path, target)


def _split_is_current(d: Path, root: Path, parts: Sequence[Path]) -> bool:
    """Whether ``root`` holds every part and is newer than every file of ``d``."""
    if not all((part / "utt2spk").is_file() for part in parts):
        return False
    built = root.stat().st_mtime_ns
    return all(path.stat().st_mtime_ns < built for path in d.iterdir() if path.is_file())


def _speaker_groups(d: Path, utt2spk: Table, num_parts: int) -> list[list[str]]:
    """The utterances of ``num_parts`` balanced, contiguous runs of speakers."""
    spk2utt = utt2spk_to_spk2utt(utt2spk)
    speakers = list(spk2utt)
    if len(speakers) < num_parts:
        raise DataDirError(f"{d}: cannot split {len(speakers)} speakers into {num_parts} "
                           "parts (a speaker is never split); use fewer jobs")
    runs = _balanced_runs([len(spk2utt[spk]) for spk in speakers], num_parts)
    return [[utt for spk in speakers[run.start:run.stop] for utt in spk2utt[spk]]
            for run in runs]


def _balanced_runs(sizes: Sequence[int], num_runs: int) -> list[range]:
    """Cut ``sizes`` into ``num_runs`` non-empty contiguous runs minimising the largest sum."""
    low, high = max(sizes), sum(sizes)
    while low < high:
        cap = (low + high) // 2
        if len(_greedy_runs(sizes, cap)) <= num_runs:
            high = cap
        else:
            low = cap + 1
    runs = _greedy_runs(sizes, low)
    prefix = list(itertools.accumulate(sizes, initial=0))
    while len(runs) < num_runs:  # fewer runs than asked: split the largest splittable one
        i = max((i for i, run in enumerate(runs) if len(run) > 1),
                key=lambda i: prefix[runs[i].stop] - prefix[runs[i].start])
        run = runs[i]
        cut = min(range(run.start + 1, run.stop),
                  key=lambda c: max(prefix[c] - prefix[run.start], prefix[run.stop] - prefix[c]))
        runs[i:i + 1] = [range(run.start, cut), range(cut, run.stop)]
    return runs


def _greedy_runs(sizes: Sequence[int], cap: int) -> list[range]:
    """Fewest contiguous runs with sums of at most ``cap`` (single items may exceed it)."""
    runs, start, total = [], 0, 0
    for i, size in enumerate(sizes):
        if total + size > cap and i > start:
            runs.append(range(start, i))
            start, total = i, 0
        total += size
    runs.append(range(start, len(sizes)))
    return runs


def _known_ids(path: Path, known: Iterable[str], reference: Path) -> set[str]:
    """First fields of the lines of an id list, keeping those in ``known`` (warns on others)."""
    with open(path, encoding="utf-8") as f:
        ids = {line.split()[0] for line in f if line.strip()}
    unknown = ids.difference(known)
    if unknown:
        log.warning("%s: %d ids are not in %s: %s", path, len(unknown), reference,
                    _examples(c_sorted(unknown)))
    return ids - unknown


def _verbatim_files(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for name in VERBATIM_FILES if (d / name).is_file()}


def _common_verbatim_files(srcs: Sequence[Path]) -> dict[str, bytes]:
    """The verbatim files that every source has with the same content (warns on others)."""
    common = {}
    for name in VERBATIM_FILES:
        contents = {(src / name).read_bytes() if (src / name).is_file() else None
                    for src in srcs}
        if len(contents) == 1 and None not in contents:
            common[name] = contents.pop()
        elif contents != {None}:
            log.warning("%s: missing from or different in some sources; left out", name)
    return common


def _is_data_file(name: str) -> bool:
    return bool(table_kind(name, False)) or name in ("spk2utt", *VERBATIM_FILES)


def _warn_unhandled(d: Path) -> None:
    for path in sorted(d.iterdir()):
        if path.is_file() and not path.name.startswith(".") and not _is_data_file(path.name):
            log.warning("%s: not a known data-dir file; not carried over", path)


def _make_data_dir(dest: Path, tables: Tables, verbatim: Mapping[str, bytes],
                   srcs: Sequence[Path]) -> None:
    """Write a new data dir made from ``srcs``.

    Refuses to write over a source, or into a dir holding tables the new one lacks
    (they would be stale and inconsistent).
    """
    if any(dest.resolve() == src.resolve() for src in srcs):
        raise DataDirError(f"{dest}: destination is also a source")
    if dest.is_dir():
        written = {*tables, "spk2utt", *verbatim}
        stale = [path.name for path in sorted(dest.iterdir())
                 if path.is_file() and _is_data_file(path.name) and path.name not in written]
        if stale:
            raise DataDirError(f"{dest}: holds {', '.join(stale)}, which the new data dir "
                               "would lack; remove them or choose another destination")
    for src in srcs:
        _warn_unhandled(src)
    _write_data_dir(dest, tables, verbatim)


def _write_data_dir(dest: Path, tables: Tables, verbatim: Mapping[str, bytes]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_table(dest / name, table)
    write_table(dest / "spk2utt", _spk2utt_table(tables["utt2spk"]))
    for name, content in verbatim.items():
        (dest / name).write_bytes(content)


def _validate_written(dest: Path, tables: Tables) -> None:
    """Validate a dir just written, requiring only the optional files it has."""
    validate_data_dir(dest, no_feats="feats.scp" not in tables, no_text="text" not in tables,
                      no_wav="wav.scp" not in tables)


def _with_segments(src: Path, tables: Tables) -> Tables:
    """``tables`` with whole-recording segments made from utt2dur if it has none."""
    if "segments" in tables:
        return tables
    if "utt2dur" not in tables:
        raise DataDirError(f"{src}: has no segments while other sources do, and no utt2dur "
                           f"to make them from (run utils/data/get_utt2dur.sh {src})")
    log.info("%s: making whole-recording segments from utt2dur", src)
    return {**tables, "segments": {utt: f"{utt} 0 {dur}" for utt, dur
                                   in tables["utt2dur"].items()}}


def _union(name: str, srcs: Sequence[Path], tables: Sequence[Table]) -> Table:
    """Union of one table across sources; a key with differing values is an error."""
    merged: dict[str, tuple[str, Path]] = {}
    for src, table in zip(srcs, tables):
        for key, value in table.items():
            first_value, first_src = merged.setdefault(key, (value, src))
            if first_value != value:
                raise DataDirError(f"{name}: key '{key}' is '{first_value}' in {first_src} "
                                   f"but '{value}' in {src}")
    return {key: value for key, (value, _) in merged.items()}
