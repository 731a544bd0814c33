"""Dict dirs and lang dirs: symbol ids, stress removal, OOV policies, clear errors."""
from __future__ import annotations

import logging
import subprocess

import pytest

from conftest import REPO
from sertl.align.lang import (DictDir, Lang, LangError, count_oovs, group_by_base, prepare_lang,
                        read_lexicon, report_oovs, strip_stress)

LEXICON = """HELLO HH AH0 L OW1
HELLO HH EH0 L OW1
WORLD W ER1 L D
A AH0
A AH1
<UNK> SPN
"""


def make_dict(d, lexicon=LEXICON, silence="SIL\nSPN\n", optional="SIL\n",
              nonsilence="AH0 AH1\nEH0\nHH\nL\nOW1\nW\nER1\nD\n"):
    d.mkdir(parents=True, exist_ok=True)
    (d / "lexicon.txt").write_text(lexicon)
    (d / "silence_phones.txt").write_text(silence)
    (d / "nonsilence_phones.txt").write_text(nonsilence)
    (d / "optional_silence.txt").write_text(optional)
    return d


def table(path) -> list[tuple[str, int]]:
    return [(line.split()[0], int(line.split()[1])) for line in path.read_text().splitlines()]


def test_lang_dir_ids_and_files(tmp_path):
    lang = prepare_lang(make_dict(tmp_path / "dict"), "<UNK>", tmp_path / "lang")
    d = tmp_path / "lang"
    assert table(d / "phones.txt") == [("<eps>", 0), ("SIL", 1), ("SPN", 2), ("AH0", 3),
                                       ("AH1", 4), ("EH0", 5), ("HH", 6), ("L", 7), ("OW1", 8),
                                       ("W", 9), ("ER1", 10), ("D", 11)]
    assert table(d / "words.txt") == [("<eps>", 0), ("<UNK>", 1), ("A", 2), ("HELLO", 3),
                                      ("WORLD", 4)]
    assert (d / "oov.txt").read_text() == "<UNK>\n"
    assert (d / "oov_policy").read_text() == "unk\n"
    assert (d / "phones" / "silence.txt").read_text() == "SIL\nSPN\n"
    assert (d / "phones" / "optional_silence.txt").read_text() == "SIL\n"
    assert (d / "phones" / "nonsilence.txt").read_text().split()[:3] == ["AH0", "AH1", "EH0"]
    loaded = Lang.load(d)
    assert loaded == lang
    assert loaded.lexicon["HELLO"] == [("HH", "AH0", "L", "OW1"), ("HH", "EH0", "L", "OW1")]


def test_stress_removal_merges_phones_and_pronunciations(tmp_path):
    lang = prepare_lang(make_dict(tmp_path / "dict"), "<UNK>", tmp_path / "lang",
                        remove_stress=True)
    assert list(lang.phones) == ["<eps>", "SIL", "SPN", "AH", "EH", "HH", "L", "OW", "W", "ER",
                                 "D"]
    assert lang.lexicon["A"] == [("AH",)]  # AH0 and AH1 became one pronunciation
    assert lang.lexicon["HELLO"] == [("HH", "AH", "L", "OW"), ("HH", "EH", "L", "OW")]
    assert "A AH\n" in (tmp_path / "lang" / "lexicon.txt").read_text()
    assert strip_stress("AH0") == "AH" and strip_stress("B") == "B" and strip_stress("h#") == "h#"
    assert group_by_base(["AH1", "B", "AH0", "AH"]) == [["AH", "AH0", "AH1"], ["B"]]


def test_oov_policy_unk_uses_the_oov_pronunciation(tmp_path):
    lang = prepare_lang(make_dict(tmp_path / "dict"), "<UNK>", tmp_path / "lang")
    prons = lang.transcript_phones(["HELLO", "MARS", "A"], "utt1")
    assert prons == [lang.lexicon["HELLO"], [("SPN",)], [("AH0",), ("AH1",)]]
    assert lang.oov_words(["HELLO", "MARS"]) == ["MARS"]


def test_oov_policy_skip_drops_and_reports_the_utterance(tmp_path, caplog):
    lexicon = LEXICON.replace("<UNK> SPN\n", "")
    lang = prepare_lang(make_dict(tmp_path / "dict", lexicon), "<UNK>", tmp_path / "lang",
                        oov_policy="skip")
    assert "<UNK>" in lang.words and "<UNK>" not in lang.lexicon
    lang = Lang.load(tmp_path / "lang")
    with caplog.at_level(logging.WARNING):
        assert lang.transcript_phones(["HELLO", "MARS", "VENUS", "MARS"], "utt7") is None
    assert "utt7" in caplog.text and "MARS VENUS" in caplog.text
    assert lang.transcript_phones(["WORLD"], "utt8") == [[("W", "ER1", "L", "D")]]
    with pytest.raises(LangError, match="utt9.*empty"):
        lang.transcript_phones([], "utt9")


def test_oov_counts_and_report(tmp_path, caplog):
    lexicon = read_lexicon(make_dict(tmp_path / "dict") / "lexicon.txt")
    texts = {"u1": "HELLO MARS", "u2": "MARS VENUS A", "u3": "WORLD"}
    assert count_oovs((t.split() for t in texts.values()), lexicon) == {"MARS": 2, "VENUS": 1}
    with caplog.at_level(logging.WARNING):
        report_oovs(texts, lexicon, "data/x", tmp_path / "oov_counts")
    assert (tmp_path / "oov_counts").read_text() == "MARS 2\nVENUS 1\n"
    assert "data/x: 3 of 6 word tokens (2 distinct words)" in caplog.text


@pytest.mark.parametrize("change,message", [
    (dict(lexicon="HELLO HH XX\n<UNK> SPN\n"), "HELLO.*'XX'.*neither"),
    (dict(optional="NSN\n"), "'NSN' is not in silence_phones"),
    (dict(optional="SIL SPN\n"), "exactly one phone"),
    (dict(silence="SIL\nSPN\nHH\n"), "more than once.*HH"),
    (dict(lexicon="HELLO\n"), r"lexicon.txt:1: word 'HELLO' has no phones"),
])
def test_bad_dict_dirs_are_named(tmp_path, change, message):
    with pytest.raises(LangError, match=message):
        DictDir.load(make_dict(tmp_path / "dict", **change))


def test_unk_policy_needs_a_pronunciation_for_the_oov_word(tmp_path):
    d = make_dict(tmp_path / "dict")
    with pytest.raises(LangError, match="'<unk>' is not in the lexicon"):
        prepare_lang(d, "<unk>", tmp_path / "lang")
    with pytest.raises(LangError, match="'maybe' is not one of unk, skip"):
        prepare_lang(d, "<UNK>", tmp_path / "lang", oov_policy="maybe")


def test_inconsistent_lang_dir_is_refused(tmp_path):
    prepare_lang(make_dict(tmp_path / "dict"), "<UNK>", tmp_path / "lang")
    phones = tmp_path / "lang" / "phones.txt"
    phones.write_text("".join(line for line in phones.read_text().splitlines(True)
                              if not line.startswith("ER1 ")))
    with pytest.raises(LangError, match="nonsilence.txt: phone 'ER1' is not in phones.txt"):
        Lang.load(tmp_path / "lang")
    prepare_lang(make_dict(tmp_path / "dict"), "<UNK>", tmp_path / "lang")
    words = tmp_path / "lang" / "words.txt"
    words.write_text(words.read_text().replace("WORLD 4\n", ""))
    with pytest.raises(LangError, match="lexicon.txt: word 'WORLD' is not in words.txt"):
        Lang.load(tmp_path / "lang")


def test_prepare_lang_script(tmp_path, repo_env):
    make_dict(tmp_path / "dict")
    run = subprocess.run(["utils/prepare_lang.sh", "--remove-stress", "true", "--oov-policy",
                          "skip", str(tmp_path / "dict"), "<UNK>", str(tmp_path / "lang")],
                         cwd=REPO, env=repo_env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lang = Lang.load(tmp_path / "lang")
    assert lang.oov_policy == "skip" and "AH" in lang.phones
    bad = subprocess.run(["utils/prepare_lang.sh", str(tmp_path / "dict"), "<unk>",
                          str(tmp_path / "lang2")], cwd=REPO, env=repo_env,
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.startswith("prepare_lang: error: OOV word '<unk>'")
    assert "Traceback" not in bad.stderr
