"""The default recipe's generated corpus: deterministic, consistent, sorted, learnable."""
from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO
from sertl.io import c_sorted, read_table

TINY = ["--num-asr-speakers", "2", "--num-ser-speakers", "2", "--asr-utts-per-speaker", "2",
        "--ser-sentences-per-emotion", "2"]
DATA_FILES = ("wav.scp", "text", "utt2spk", "spk2utt", "spk2gender", "utt2emo", "utt2fold")


def load_make_corpus():
    spec = importlib.util.spec_from_file_location("make_corpus", REPO / "local/make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


mc = load_make_corpus()


def run_python(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "local/make_corpus.py"), *args],
                          capture_output=True, text=True, cwd=REPO, env=env)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """Seed 1 through prepare_data.sh and through make_corpus.py, and seed 2."""
    root = tmp_path_factory.mktemp("corpora")
    env = {"PATH": f"{REPO / '.venv/bin'}:/usr/bin:/bin", "PYTHONPATH": str(REPO),
           "LC_ALL": "C"}
    done = subprocess.run(["bash", "local/prepare_data.sh", "--seed", "1", *TINY,
                           str(root / "a/corpus"), str(root / "a/data")],
                          capture_output=True, text=True, cwd=REPO, env=env)
    assert done.returncode == 0, done.stderr
    for name, seed in (("b", "1"), ("c", "2")):
        done = run_python("--seed", seed, *TINY, str(root / name / "corpus"),
                          str(root / name / "data"))
        assert done.returncode == 0, done.stderr
    assert re.search(r"make_corpus.py: 20/20 done, .*/s", done.stderr)
    return root


def files_under(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files(corpora):
    a, b = files_under(corpora / "a/corpus"), files_under(corpora / "b/corpus")
    assert a == b and len([k for k in a if k.endswith(".wav")]) == 20
    for part in ("asr", "ser"):
        for name in DATA_FILES:
            text_a = (corpora / "a/data" / part / name).read_text()
            text_b = (corpora / "b/data" / part / name).read_text()
            assert text_a.replace(str(corpora / "a"), "") == text_b.replace(str(corpora / "b"), "")


def test_other_seed_differs(corpora):
    for name in ("corpus/phones.ctm", "corpus/lexicon.txt", "data/asr/text"):
        assert (corpora / "a" / name).read_bytes() != (corpora / "c" / name).read_bytes()


def test_no_temporary_files_left(corpora):
    assert not [p for p in (corpora / "a").rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("part", ["asr", "ser"])
def test_data_dirs_sorted_and_consistent(corpora, part):
    d = corpora / "a/data" / part
    tables = {name: read_table(d / name) for name in DATA_FILES}
    for name, table in tables.items():
        assert list(table) == c_sorted(table), f"{name} not sorted"
    utts = list(tables["wav.scp"])
    for name in ("text", "utt2spk", "utt2emo"):
        assert list(tables[name]) == utts
    spk2utt = {u: s for s, us in tables["spk2utt"].items() for u in us.split()}
    assert spk2utt == tables["utt2spk"]
    assert set(tables["spk2gender"]) == set(tables["utt2spk"].values())
    assert set(tables["spk2gender"].values()) <= {"m", "f"}
    assert set(tables["utt2emo"].values()) <= set(mc.EMOTIONS)
    for utt, spk in tables["utt2spk"].items():
        assert re.fullmatch(rf"{spk}_{tables['utt2emo'][utt]}_\d{{3}}", utt)
        assert tables["utt2fold"][utt] == spk
        assert re.fullmatch(r"[A-Z]+( [A-Z]+)*", tables["text"][utt])
        path = Path(tables["wav.scp"][utt])
        assert path.is_absolute() and path == corpora / f"a/corpus/wav/{spk}/{utt}.wav"
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")


def test_asr_and_ser_speakers_disjoint_and_distinct_voices(corpora):
    asr = read_table(corpora / "a/data/asr/spk2gender")
    ser = read_table(corpora / "a/data/ser/spk2gender")
    assert not set(asr) & set(ser)
    assert sorted(asr.values()) == sorted(ser.values()) == ["f", "m"]


def test_ser_speakers_say_the_same_sentences_in_every_emotion(corpora):
    text = read_table(corpora / "a/data/ser/text")
    emo = read_table(corpora / "a/data/ser/utt2emo")
    spk = read_table(corpora / "a/data/ser/utt2spk")
    sentences = {(spk[u], emo[u]): set() for u in text}
    for u, t in text.items():
        sentences[spk[u], emo[u]].add(t)
    assert len(sentences) == 2 * len(mc.EMOTIONS)
    assert len({frozenset(s) for s in sentences.values()}) == 1
    assert len(next(iter(sentences.values()))) == 2


def read_ctm(path: Path) -> dict[str, list[tuple[float, float, str]]]:
    ctm: dict[str, list[tuple[float, float, str]]] = {}
    for line in path.read_text().splitlines():
        utt, channel, start, dur, phone = line.split()
        assert channel == "1"
        assert all(re.fullmatch(r"\d+\.\d{3}", v) for v in (start, dur)), line
        ctm.setdefault(utt, []).append((float(start), float(dur), phone))
    return ctm


def read_lexicon(path: Path) -> dict[str, list[tuple[str, ...]]]:
    lexicon: dict[str, list[tuple[str, ...]]] = {}
    for line in path.read_text().splitlines():
        word, *phones = line.split()
        assert phones, f"{word} has no pronunciation"
        lexicon.setdefault(word, []).append(tuple(phones))
    return lexicon


def spells(words: list[str], phones: tuple[str, ...], lexicon) -> bool:
    """Whether ``phones`` is a concatenation of one pronunciation of each word."""
    if not words:
        return not phones
    return any(phones[:len(p)] == p and spells(words[1:], phones[len(p):], lexicon)
               for p in lexicon[words[0]])


def test_ctm_tiles_every_utterance_and_matches_the_lexicon(corpora):
    ctm = read_ctm(corpora / "a/corpus/phones.ctm")
    lexicon = read_lexicon(corpora / "a/corpus/lexicon.txt")
    lines = (corpora / "a/corpus/phones.ctm").read_text().splitlines()
    keys = [(ln.split()[0], float(ln.split()[2])) for ln in lines]
    assert keys == sorted(keys, key=lambda k: (k[0].encode(), k[1]))
    assert list(lexicon) == c_sorted(lexicon)
    for part in ("asr", "ser"):
        text = read_table(corpora / "a/data" / part / "text")
        wavs = read_table(corpora / "a/data" / part / "wav.scp")
        for utt, words in text.items():
            segments = ctm[utt]
            assert segments[0][0] == 0.0 and segments[0][2] == "sil" == segments[-1][2]
            for (s1, d1, _), (s2, _, _) in zip(segments, segments[1:]):
                assert d1 > 0 and s1 + d1 == pytest.approx(s2, abs=1e-6)
            end = segments[-1][0] + segments[-1][1]
            assert end == pytest.approx(sf.info(wavs[utt]).duration, abs=1e-3)
            spoken = tuple(p for _, _, p in segments if p != "sil")
            assert spells(words.split(), spoken, lexicon), utt
    assert set(ctm) == set(read_table(corpora / "a/data/asr/text")) | set(
        read_table(corpora / "a/data/ser/text"))


def test_angry_is_louder_and_faster_than_sad(corpora):
    ctm = read_ctm(corpora / "a/corpus/phones.ctm")
    wavs = read_table(corpora / "a/data/ser/wav.scp")

    def loudness_and_speech_time(utt: str) -> tuple[float, float]:
        x, _ = sf.read(wavs[utt])
        return (float(np.sqrt(np.mean(x ** 2))),
                sum(d for _, d, p in ctm[utt] if p != "sil"))
    for utt in wavs:
        if "_angry_" in utt:
            angry = loudness_and_speech_time(utt)
            sad = loudness_and_speech_time(utt.replace("_angry_", "_sad_"))
            assert angry[0] > sad[0] and angry[1] < sad[1]


def test_default_plan_sizes_and_asr_emotions():
    args = argparse.Namespace(seed=1, num_asr_speakers=6, num_ser_speakers=4,
                              asr_utts_per_speaker=40, ser_sentences_per_emotion=8)
    utts = mc.plan_utterances(args)
    asr = [u for u in utts if u.part == "asr"]
    ser = [u for u in utts if u.part == "ser"]
    assert len(asr) == 240 and len(ser) == 4 * 4 * 8
    emotions = Counter(u.emotion for u in asr)
    assert set(emotions) == set(mc.EMOTIONS) and emotions["neutral"] > len(asr) / 2
    assert len({u.text for u in asr}) == len(asr)
    assert len({u.speaker.variant for u in utts}) == 10
    assert len({u.speaker.base.pitch for u in utts}) == 10
    assert [u.id for u in utts] == c_sorted(u.id for u in utts)


def test_sentence_material_is_plain_words():
    rng = np.random.default_rng(0)
    sentences = [mc.grammar_sentence(rng) for _ in range(200)] + list(mc.SER_SENTENCES)
    for sentence in sentences:
        assert re.fullmatch(r"[A-Z][a-z]*( [A-Za-z]+,?)*[a-z][.?]", sentence), sentence
    vocabulary = {w for s in sentences for w in mc.transcript(s).split()}
    assert len(vocabulary) > 250
    assert mc.transcript("Well, is it ready?") == "WELL IS IT READY"


def test_unwritable_corpus_dir_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SystemExit, match=f"cannot create {re.escape(str(blocker))}/corpus"):
        mc.main([*TINY, str(blocker / "corpus"), str(tmp_path / "data")])
