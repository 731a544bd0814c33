"""Tests of the Kaldi data-dir tools (sertl.datadir and the utils/ wrappers)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

from sertl.datadir import (DataDirError, combine_data_dirs, compute_utt2dur, copy_data_dir,
                           fix_data_dir, read_spk2utt, spk2utt_to_utt2spk, split_data_dir,
                           subset_data_dir, utt2dur_is_complete, utt2spk_to_spk2utt,
                           validate_data_dir)
from sertl.io import read_table

REPO = Path(__file__).resolve().parents[1]

# Speaker A has 3 utterances, B 2, C 1; with segments, each speaker has one recording.
UTT2SPK = {"A-1": "A", "A-2": "A", "A-3": "A", "B-1": "B", "B-2": "B", "C-1": "C"}
SEGMENTS = {"A-1": "recA 0.0 1.5", "A-2": "recA 1.5 2.0", "A-3": "recA 2.5 4.0",
            "B-1": "recB 0 1", "B-2": "recB 1 3.25", "C-1": "recC 0.5 1"}


def write_lines(path: Path, rows: dict[str, str] | list[str]) -> None:
    """Write a table as given (dict rows in their order), to make broken files too."""
    lines = rows if isinstance(rows, list) else [f"{k} {v}" for k, v in rows.items()]
    path.write_text("".join(line + "\n" for line in lines))


def make_dir(d: Path, *, segmented: bool = False) -> Path:
    """A valid data dir with wav.scp, text, utt2emo, feats.scp, spk2gender and cmvn.scp."""
    d.mkdir(parents=True)
    write_lines(d / "utt2spk", UTT2SPK)
    write_lines(d / "spk2utt", {"A": "A-1 A-2 A-3", "B": "B-1 B-2", "C": "C-1"})
    write_lines(d / "text", {utt: f"words of {utt}" for utt in UTT2SPK})
    write_lines(d / "utt2emo", {utt: "ang" if utt.endswith("1") else "neu" for utt in UTT2SPK})
    write_lines(d / "feats.scp", {utt: f"/feats/raw.ark:{i * 100}"
                                  for i, utt in enumerate(UTT2SPK)})
    write_lines(d / "spk2gender", {"A": "f", "B": "m", "C": "f"})
    write_lines(d / "cmvn.scp", {spk: f"/feats/cmvn.ark:{i}" for i, spk in enumerate("ABC")})
    if segmented:
        write_lines(d / "segments", SEGMENTS)
        write_lines(d / "wav.scp", {f"rec{s}": f"sph2pipe -f wav /c/{s}.sph |" for s in "ABC"})
    else:
        write_lines(d / "wav.scp", {utt: f"/corpus/{utt}.wav" for utt in UTT2SPK})
    return d


def edit(name: str, change: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    """A mutation of one file of a data dir, as a function of its lines."""
    def mutate(d: Path) -> None:
        path = d / name
        write_lines(path, change(path.read_text().splitlines()))
    return mutate


def remove(name: str) -> Callable[[Path], None]:
    return lambda d: (d / name).unlink()


def table(d: Path, name: str) -> dict[str, str]:
    return read_table(d / name, allow_empty_value=name == "text")


# --- validate -------------------------------------------------------------------------

@pytest.mark.parametrize("segmented", [False, True])
def test_valid_dir_passes(tmp_path: Path, segmented: bool) -> None:
    validate_data_dir(make_dir(tmp_path / "d", segmented=segmented))


def test_empty_transcripts_allowed_only_in_text(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d")
    edit("text", lambda lines: ["A-1"] + lines[1:])(d)
    validate_data_dir(d)
    edit("utt2emo", lambda lines: ["A-1 "] + lines[1:])(d)
    with pytest.raises(DataDirError, match=r"utt2emo:1: key 'A-1' has no value"):
        validate_data_dir(d)


@pytest.mark.parametrize("segmented, mutate, message", [
    (False, remove("utt2spk"), r"d/utt2spk: missing"),
    (False, remove("spk2utt"), r"d/spk2utt: missing"),
    (False, remove("feats.scp"), r"d/feats.scp: missing \(if that is by design, pass --no-feats"),
    (False, remove("text"), r"d/text: missing .*--no-text"),
    (False, remove("wav.scp"), r"d/wav.scp: missing .*--no-wav"),
    (False, edit("text", lambda l: [l[1], l[0], *l[2:]]),
     r"d/text:2: 'A-1' comes after 'A-2'; tables must be sorted"),
    (False, edit("utt2emo", lambda l: [*l[:2], l[1], *l[2:]]),
     r"d/utt2emo:3: duplicate key 'A-2'"),
    (False, edit("spk2utt", lambda l: ["A A-1 A-2", "B A-3 B-1 B-2", l[2]]),
     r"d/spk2utt:2: utterance 'A-3' is under speaker 'B' but utt2spk gives 'A'"),
    (False, edit("spk2utt", lambda l: ["A A-1 A-2", *l[1:]]),
     r"d/spk2utt: lacks 1 utterances of utt2spk, e.g. 'A-3' of speaker 'A'"),
    (False, edit("text", lambda l: l[:-1]),
     r"d/text: lacks 1 utterances of utt2spk, e.g. 'C-1'"),
    (False, edit("utt2emo", lambda l: [*l, "D-1 sad"]),
     r"d/utt2emo:7: utterance 'D-1' is not in utt2spk"),
    (False, edit("feats.scp", lambda l: l[1:]),
     r"d/feats.scp: lacks 1 utterances of utt2spk, e.g. 'A-1'"),
    (False, edit("wav.scp", lambda l: [*l, "D-1 /corpus/D-1.wav"]),
     r"d/wav.scp:7: utterance 'D-1' is not in utt2spk"),
    (False, edit("spk2gender", lambda l: [l[0], "B male", l[2]]),
     r"d/spk2gender:2: speaker 'B': 'male' is not 'm' or 'f'"),
    (False, edit("cmvn.scp", lambda l: l[:2]),
     r"d/cmvn.scp: lacks 1 speakers of spk2utt, e.g. 'C'"),
    (False, edit("cmvn.scp", lambda l: [*l, "D /feats/cmvn.ark:9"]),
     r"d/cmvn.scp:4: speaker 'D' is not in spk2utt"),
    (False, edit("utt2emo", lambda l: ["A-1 very angry", *l[1:]]),
     r"d/utt2emo:1: utterance 'A-1': 'very angry' is not a single label word"),
    (True, edit("segments", lambda l: [*l[:5], "C-1 recZ 0.5 1"]),
     r"d/segments:6: utterance 'C-1': recording 'recZ' is not in wav.scp"),
    (True, edit("segments", lambda l: ["A-1 recA 1.5 1.5", *l[1:]]),
     r"d/segments:1: utterance 'A-1': segment 1.5-1.5 s is empty"),
    (True, edit("segments", lambda l: ["A-1 recA 1.5", *l[1:]]),
     r"d/segments:1: utterance 'A-1': expected '<utt> <recording> <start> <end>'"),
    (True, edit("wav.scp", lambda l: [*l, "recD /c/D.sph"]),
     r"d/wav.scp:4: recording 'recD' is not in segments"),
    (True, edit("segments", lambda l: l[:-1]),
     r"d/segments: lacks 1 utterances of utt2spk, e.g. 'C-1'"),
])
def test_validation_errors_name_file_and_key(tmp_path: Path, segmented: bool,
                                             mutate: Callable[[Path], None],
                                             message: str) -> None:
    d = make_dir(tmp_path / "d", segmented=segmented)
    mutate(d)
    with pytest.raises(DataDirError, match=message):
        validate_data_dir(d)


@pytest.mark.parametrize("rename, message", [
    ({"A-3": "A-ü3"}, r"d/[\w.]+:3: id 'A-ü3' is not ASCII"),
    ({"C": "语"}, r"d/spk2utt:3: id '语' is not ASCII"),
])
def test_non_ascii_ids_refused_naming_the_line(tmp_path: Path, rename: dict[str, str],
                                               message: str) -> None:
    """kaldi-io writes keys in latin-1: such an id would give a broken scp (issue 12)."""
    d = make_dir(tmp_path / "d")
    for path in d.iterdir():
        text = path.read_text()
        for old, new in rename.items():
            text = text.replace(old, new)
        path.write_text(text)
    with pytest.raises(DataDirError, match=message):
        validate_data_dir(d)


def test_no_options_allow_absent_files_but_check_present_ones(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d")
    for name in ("feats.scp", "text", "wav.scp"):
        (d / name).unlink()
    validate_data_dir(d, no_feats=True, no_text=True, no_wav=True)
    write_lines(d / "utt2dur", {utt: "0" for utt in UTT2SPK})
    with pytest.raises(DataDirError, match=r"utt2dur:1: utterance 'A-1': '0' is not a positive"):
        validate_data_dir(d, no_feats=True, no_text=True, no_wav=True)


def test_utterances_without_speaker_prefix_only_warn(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    d = tmp_path / "d"
    d.mkdir()
    write_lines(d / "utt2spk", {"u1": "B", "u2": "A"})
    write_lines(d / "spk2utt", {"A": "u2", "B": "u1"})
    with caplog.at_level(logging.WARNING):
        validate_data_dir(d, no_feats=True, no_text=True, no_wav=True)
    assert "2 utterance ids do not start with their speaker id, e.g. 'u1' of 'B'" in caplog.text


# --- fix ------------------------------------------------------------------------------

def test_fix_drops_inconsistent_entries_reports_and_backs_up(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    d = make_dir(tmp_path / "d")
    edit("text", lambda l: list(reversed(l)))(d)                  # unsorted
    edit("utt2emo", lambda l: [x for x in l if not x.startswith("B-2")])(d)
    edit("wav.scp", lambda l: [*l, "Z-1 /corpus/Z-1.wav"])(d)     # unused recording
    edit("spk2gender", lambda l: [*l, "Q m"])(d)                  # unknown speaker
    edit("cmvn.scp", lambda l: l[:2])(d)                          # speaker C has no cmvn
    (d / "spk2utt").unlink()
    originals = {p.name: p.read_bytes() for p in d.iterdir()}

    with caplog.at_level(logging.INFO):
        dropped = fix_data_dir(d)

    assert dropped == {"utt2spk": ["B-2", "C-1"], "text": ["C-1", "B-2"],
                       "feats.scp": ["B-2", "C-1"], "utt2emo": ["C-1"],
                       "wav.scp": ["B-2", "C-1", "Z-1"], "spk2gender": ["C", "Q"],
                       "spk2utt": ["C"]}
    validate_data_dir(d)
    assert list(table(d, "utt2spk")) == ["A-1", "A-2", "A-3", "B-1"]
    assert table(d, "spk2utt") == {"A": "A-1 A-2 A-3", "B": "B-1"}
    for name, content in originals.items():
        if name == "cmvn.scp":  # unchanged, so not rewritten
            assert not (d / ".backup" / name).exists()
        else:
            assert (d / ".backup" / name).read_bytes() == content
    assert "d/wav.scp: dropped 3: B-2, C-1, Z-1" in caplog.text
    assert "kept 4 of 6 utterances" in caplog.text
    # A second run finds nothing to do and keeps the first backups.
    assert fix_data_dir(d) == {}
    assert (d / ".backup" / "text").read_bytes() == originals["text"]


def test_fix_keeps_earlier_backups(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d")
    edit("text", lambda l: list(reversed(l)))(d)
    first_text = (d / "text").read_bytes()
    fix_data_dir(d)
    edit("utt2emo", lambda l: l[1:])(d)
    second_text = (d / "text").read_bytes()
    fix_data_dir(d)
    assert (d / ".backup" / "text.1").read_bytes() == first_text
    assert (d / ".backup" / "text").read_bytes() == second_text


def test_fix_segmented_drops_empty_segments_and_unused_recordings(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d", segmented=True)
    edit("segments", lambda l: [*l[:5], "C-1 recC 1 0.5"])(d)
    assert fix_data_dir(d)["wav.scp"] == ["recC"]
    validate_data_dir(d)
    assert "C-1" not in table(d, "text")


def test_fix_refuses_to_empty_a_dir(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d")
    write_lines(d / "utt2emo", {"X-1": "ang"})
    before = (d / "text").read_bytes()
    with pytest.raises(DataDirError, match="no utterance is in all of"):
        fix_data_dir(d)
    assert (d / "text").read_bytes() == before


# --- spk2utt <-> utt2spk --------------------------------------------------------------

def test_spk2utt_conversions(tmp_path: Path) -> None:
    spk2utt = utt2spk_to_spk2utt({"b-2": "b", "a-1": "a", "b-1": "b"})
    assert spk2utt == {"a": ["a-1"], "b": ["b-1", "b-2"]}
    assert list(spk2utt_to_utt2spk(spk2utt).items()) == [("a-1", "a"), ("b-1", "b"),
                                                          ("b-2", "b")]
    with pytest.raises(DataDirError, match="utterance 'x' is listed under speaker 'a' and "
                                           "speaker 'b'"):
        spk2utt_to_utt2spk({"a": ["x"], "b": ["x"]})
    d = make_dir(tmp_path / "d")
    assert spk2utt_to_utt2spk(read_spk2utt(d / "spk2utt")) == UTT2SPK


# --- split ----------------------------------------------------------------------------

@pytest.mark.parametrize("segmented", [False, True])
def test_split_by_speaker_gives_complete_disjoint_dirs(tmp_path: Path, segmented: bool) -> None:
    d = make_dir(tmp_path / "d", segmented=segmented)
    parts = split_data_dir(d, 2)
    assert parts == [d / "split2" / "1", d / "split2" / "2"]
    for part in parts:
        validate_data_dir(part)
    utt2spks = [table(part, "utt2spk") for part in parts]
    assert utt2spks == [{u: s for u, s in UTT2SPK.items() if s == "A"},
                        {u: s for u, s in UTT2SPK.items() if s != "A"}]
    assert table(parts[1], "cmvn.scp").keys() == {"B", "C"}
    assert table(parts[1], "spk2gender") == {"B": "m", "C": "f"}
    if segmented:
        assert table(parts[1], "wav.scp").keys() == {"recB", "recC"}


def test_split_sends_a_shared_recording_to_each_part_using_it(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    write_lines(d / "utt2spk", {"A-1": "A", "B-1": "B"})
    write_lines(d / "segments", {"A-1": "conv 0 1", "B-1": "conv 1 2"})
    write_lines(d / "wav.scp", {"conv": "/c/conv.wav"})
    for part in split_data_dir(d, 2):
        validate_data_dir(part, no_feats=True, no_text=True)
        assert table(part, "wav.scp") == {"conv": "/c/conv.wav"}


def test_split_balances_utterances_not_speakers(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    utt2spk = {f"{spk}-{i}": spk for spk, n in zip("ABCDEF", (5, 1, 1, 1, 1, 1))
               for i in range(n)}
    write_lines(d / "utt2spk", utt2spk)
    sizes = [len(table(part, "utt2spk")) for part in split_data_dir(d, 2)]
    assert sizes == [5, 5]
    sizes = [len(table(part, "utt2spk")) for part in split_data_dir(d, 4)]
    assert max(sizes) == 5 and min(sizes) > 0 and sum(sizes) == 10


def test_split_is_reused_until_the_source_changes(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d")
    split_data_dir(d, 3)
    marker = d / "split3" / "marker"
    marker.touch()
    split_data_dir(d, 3)
    assert marker.exists()
    edit("utt2emo", lambda l: [l[0].replace("ang", "hap"), *l[1:]])(d)
    later = (d / "split3").stat().st_mtime + 10
    os.utime(d / "utt2emo", (later, later))
    parts = split_data_dir(d, 3)
    assert not marker.exists()
    assert table(parts[0], "utt2emo")["A-1"] == "hap"


def test_split_needs_a_speaker_per_part(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d")
    with pytest.raises(DataDirError, match="cannot split 3 speakers into 4 parts"):
        split_data_dir(d, 4)


# --- subset ---------------------------------------------------------------------------

@pytest.mark.parametrize("selector, expected", [
    ({"first": 4}, ["A-1", "A-2", "A-3", "B-1"]),
    ({"per_spk": 1}, ["A-1", "B-1", "C-1"]),
    ({"spk_list": "B\nC\n"}, ["B-1", "B-2", "C-1"]),
    ({"utt_list": "C-1 extra\nA-2\nZ-9\n"}, ["A-2", "C-1"]),
])
@pytest.mark.parametrize("segmented", [False, True])
def test_subset_modes(tmp_path: Path, segmented: bool, selector: dict,
                      expected: list[str]) -> None:
    src = make_dir(tmp_path / "src", segmented=segmented)
    for name, value in selector.items():
        if isinstance(value, str):
            (tmp_path / "list").write_text(value)
            selector = {name: tmp_path / "list"}
    subset_data_dir(src, tmp_path / "dest", **selector)
    dest = tmp_path / "dest"
    validate_data_dir(dest)
    assert list(table(dest, "utt2spk")) == expected
    assert list(table(dest, "utt2emo")) == expected
    speakers = {UTT2SPK[utt] for utt in expected}
    assert table(dest, "cmvn.scp").keys() == speakers
    if segmented:
        assert table(dest, "wav.scp").keys() == {f"rec{spk}" for spk in speakers}


def test_subset_errors(tmp_path: Path) -> None:
    src = make_dir(tmp_path / "src")
    with pytest.raises(DataDirError, match="cannot take the first 7 of 6 utterances"):
        subset_data_dir(src, tmp_path / "dest", first=7)
    with pytest.raises(DataDirError, match="give exactly one of"):
        subset_data_dir(src, tmp_path / "dest", first=1, per_spk=1)
    dest = make_dir(tmp_path / "old")
    (src / "feats.scp").unlink()
    with pytest.raises(DataDirError, match="old: holds feats.scp, which the new data dir"):
        subset_data_dir(src, dest, first=1)


# --- combine --------------------------------------------------------------------------

@pytest.mark.parametrize("segmented", [False, True])
def test_combine_restores_the_union(tmp_path: Path, segmented: bool) -> None:
    src = make_dir(tmp_path / "src", segmented=segmented)
    (tmp_path / "a_list").write_text("A\n")
    (tmp_path / "bc_list").write_text("B\nC\n")
    subset_data_dir(src, tmp_path / "a", spk_list=tmp_path / "a_list")
    subset_data_dir(src, tmp_path / "bc", spk_list=tmp_path / "bc_list")
    combine_data_dirs(tmp_path / "all", [tmp_path / "a", tmp_path / "bc"])
    for path in src.iterdir():
        assert (tmp_path / "all" / path.name).read_text() == path.read_text(), path.name


def test_combine_conflict_and_partial_tables(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    a = make_dir(tmp_path / "a")
    b = tmp_path / "b"
    b.mkdir()
    write_lines(b / "utt2spk", {"D-1": "D"})
    write_lines(b / "text", {"D-1": "hello"})
    write_lines(b / "wav.scp", {"D-1": "/corpus/D-1.wav"})
    with caplog.at_level(logging.WARNING):
        combine_data_dirs(tmp_path / "ab", [a, b])
    assert "utt2emo: not in " + str(b) in caplog.text
    assert not (tmp_path / "ab" / "utt2emo").exists()
    assert table(tmp_path / "ab", "text")["D-1"] == "hello"
    write_lines(b / "text", {"A-1": "other words"})
    write_lines(b / "utt2spk", {"A-1": "A"})
    write_lines(b / "wav.scp", {"A-1": "/corpus/A-1.wav"})
    with pytest.raises(DataDirError, match=f"text: key 'A-1' is 'words of A-1' in {a} but "
                                           f"'other words' in {b}"):
        combine_data_dirs(tmp_path / "ab2", [a, b])


def test_combine_makes_segments_for_unsegmented_sources(tmp_path: Path) -> None:
    seg = make_dir(tmp_path / "seg", segmented=True)
    whole = tmp_path / "whole"
    whole.mkdir()
    write_lines(whole / "utt2spk", {"D-1": "D"})
    write_lines(whole / "wav.scp", {"D-1": "/corpus/D-1.wav"})
    with pytest.raises(DataDirError, match="whole: has no segments .* no utt2dur"):
        combine_data_dirs(tmp_path / "all", [seg, whole])
    write_lines(whole / "utt2dur", {"D-1": "2.500"})
    combine_data_dirs(tmp_path / "all", [seg, whole])
    assert table(tmp_path / "all", "segments")["D-1"] == "D-1 0 2.500"
    assert table(tmp_path / "all", "wav.scp")["D-1"] == "/corpus/D-1.wav"


# --- copy -----------------------------------------------------------------------------

def test_copy_renames_utterances_speakers_and_recordings(tmp_path: Path) -> None:
    src = make_dir(tmp_path / "src")
    dest = tmp_path / "dest"
    copy_data_dir(src, dest, utt_prefix="sp1.1-", spk_prefix="sp1.1-")
    assert table(dest, "utt2spk")["sp1.1-A-1"] == "sp1.1-A"
    assert table(dest, "wav.scp")["sp1.1-B-2"] == "/corpus/B-2.wav"
    assert table(dest, "feats.scp")["sp1.1-A-1"] == "/feats/raw.ark:0"
    assert table(dest, "cmvn.scp")["sp1.1-C"] == "/feats/cmvn.ark:2"
    assert table(dest, "spk2gender")["sp1.1-B"] == "m"
    assert table(dest, "utt2emo")["sp1.1-A-2"] == "neu"
    assert table(dest, "utt2uniq")["sp1.1-C-1"] == "C-1"
    assert table(dest, "spk2utt")["sp1.1-B"] == "sp1.1-B-1 sp1.1-B-2"


def test_copy_with_segments_keeps_recording_ids(tmp_path: Path) -> None:
    src = make_dir(tmp_path / "src", segmented=True)
    dest = tmp_path / "dest"
    copy_data_dir(src, dest, utt_suffix="-x", spk_suffix="-x")
    assert table(dest, "segments")["A-2-x"] == "recA 1.5 2.0"
    assert table(dest, "wav.scp") == table(src, "wav.scp")
    assert table(dest, "utt2spk")["A-2-x"] == "A-x"
    copy_data_dir(dest, tmp_path / "again", utt_prefix="p-")
    assert table(tmp_path / "again", "utt2uniq")["p-A-2-x"] == "A-2"


# --- utt2dur --------------------------------------------------------------------------

def test_utt2dur_from_segments(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d", segmented=True)
    assert not utt2dur_is_complete(d)
    compute_utt2dur(d, read_duration=lambda rec, entry: pytest.fail("audio read"))
    assert table(d, "utt2dur") == {"A-1": "1.500", "A-2": "0.500", "A-3": "1.500",
                                   "B-1": "1.000", "B-2": "2.250", "C-1": "0.500"}
    assert utt2dur_is_complete(d)
    validate_data_dir(d)


def test_utt2dur_from_audio(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d")
    entries = {}
    for i, utt in enumerate(UTT2SPK, 1):
        wav = tmp_path / f"{utt}.wav"
        sf.write(wav, np.zeros(800 * i, dtype=np.int16), 8000)
        entries[utt] = str(wav)
    write_lines(d / "wav.scp", entries)
    calls = []

    def duration(rec: str, entry: str) -> float:
        calls.append(rec)
        info = sf.info(entry)
        return info.frames / info.samplerate

    durations = compute_utt2dur(d, duration)
    assert calls == list(UTT2SPK)
    assert durations["C-1"] == pytest.approx(0.6)
    assert table(d, "utt2dur")["B-1"] == "0.400"
    with pytest.raises(DataDirError, match="utterance 'A-1' lasts 0.000 s"):
        compute_utt2dur(d, lambda rec, entry: 0.0)


# --- the bash wrappers ----------------------------------------------------------------

def run_tool(tool: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": f"{Path(sys.executable).parent}:{REPO / 'utils'}:/usr/bin:/bin",
           "PYTHONPATH": str(REPO), "LC_ALL": "C", "HOME": os.environ.get("HOME", "/")}
    return subprocess.run([str(REPO / "utils" / tool), *args], input=stdin, env=env,
                          capture_output=True, text=True, check=False)


def test_wrappers(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d")
    assert run_tool("validate_data_dir.sh", str(d)).returncode == 0
    edit("text", lambda l: l[1:])(d)
    bad = run_tool("validate_data_dir.sh", str(d))
    assert bad.returncode == 1
    assert bad.stderr == (f"validate_data_dir.sh: error: {d}/text: lacks 1 utterances of "
                          "utt2spk, e.g. 'A-1'\n")
    fixed = run_tool("fix_data_dir.sh", str(d))
    assert fixed.returncode == 0 and "kept 5 of 6 utterances" in fixed.stderr

    spk2utt = run_tool("utt2spk_to_spk2utt.sh", stdin="b-1 b\na-1 a\nb-2 b\n")
    assert spk2utt.stdout == "a a-1\nb b-1 b-2\n"
    assert run_tool("split_data.sh", str(d), "2").returncode == 0
    assert (d / "split2" / "2" / "utt2emo").is_file()

    kaldi_form = run_tool("subset_data_dir.sh", "--per-spk", str(d), "1", str(tmp_path / "s"))
    assert kaldi_form.returncode == 0, kaldi_form.stderr
    assert list(table(tmp_path / "s", "utt2spk")) == ["A-2", "B-1", "C-1"]
    assert run_tool("subset_data_dir.sh", str(d), "2", str(tmp_path / "f")).returncode == 0
    assert list(table(tmp_path / "f", "utt2spk")) == ["A-2", "A-3"]

    for usage_error in (["subset_data_dir.sh", str(d)], ["split_data.sh", str(d), "0"],
                        ["copy_data_dir.sh", "--help"]):
        result = run_tool(*usage_error)
        assert result.returncode == 1 and "usage:" in (result.stdout + result.stderr)
        assert "Traceback" not in result.stderr


def test_get_utt2dur_wrapper_reads_audio(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    sf.write(tmp_path / "a.wav", np.zeros(12000, dtype=np.int16), 16000)
    write_lines(d / "utt2spk", {"a": "a"})
    write_lines(d / "wav.scp", {"a": str(tmp_path / "a.wav")})
    result = run_tool("data/get_utt2dur.sh", str(d))
    assert result.returncode == 0, result.stderr
    assert table(d, "utt2dur") == {"a": "0.750"}
    write_lines(d / "wav.scp", {"a": str(tmp_path / "missing.wav")})
    (d / "utt2dur").unlink()
    result = run_tool("data/get_utt2dur.sh", str(d))
    assert result.returncode == 1
    assert result.stderr.startswith("get_utt2dur.sh: error: ") and "'a'" in result.stderr


def test_segment_end_minus_one_means_end_of_recording(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "wav.scp").write_text("rec /x/rec.wav\n")
    (d / "segments").write_text("rec-a rec 0.0 1.5\nrec-b rec 1.5 -1\n")
    (d / "utt2spk").write_text("rec-a rec\nrec-b rec\n")
    (d / "spk2utt").write_text("rec rec-a rec-b\n")
    validate_data_dir(d, no_feats=True, no_text=True)
    durations = compute_utt2dur(d, lambda rec, entry: 4.0)
    assert durations == {"rec-a": 1.5, "rec-b": 2.5}
