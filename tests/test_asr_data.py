"""ASR corpus data preps (TIMIT both layouts, TED-LIUM r2/r3, speechocean762), the TIMIT
phone mappings and the corpus dict dirs, on small generated corpora with the real naming."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO, speech_like
from sertl.align.lang import Lang, prepare_lang
from sertl.corpora.common import CorpusError
from sertl.corpora.speechocean import heldout_speakers, prepare_speechocean, speechocean_dict
from sertl.corpora.tedlium import normalise_transcript, prepare_tedlium, tedlium_dict
from sertl.corpora.timit import PhoneMap, prepare_timit, read_speaker_list, timit_dict
from sertl.datadir import validate_data_dir
from sertl.io import read_table

TIMIT_CONF = REPO / "egs" / "timit" / "s5" / "conf"
PHONE_MAP = TIMIT_CONF / "phones.60-48-39.map"
# One second of speech: h# q ax-h bcl b pau h# (sample offsets at 16 kHz)
PHN = "0 1600 h#\n1600 3200 q\n3200 4800 ax-h\n4800 6400 bcl\n6400 8000 b\n" \
      "8000 9600 pau\n9600 16000 h#\n"
WRD = "3200 8000 about\n"


def audio(path: Path, seconds: float = 1.0, fmt: str = "NIST") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), speech_like(seconds).astype(np.int16), 16000, format=fmt,
             subtype="PCM_16")
    return path


def timit_utterance(spk_dir: Path, sent: str, upper: bool) -> None:
    name = sent.upper() if upper else sent
    ext = (lambda e: e.upper()) if upper else (lambda e: e)
    audio(spk_dir / f"{name}.{ext('wav')}")
    (spk_dir / f"{name}.{ext('phn')}").write_text(PHN)
    (spk_dir / f"{name}.{ext('wrd')}").write_text(WRD)
    (spk_dir / f"{name}.{ext('txt')}").write_text("0 16000 About.\n")


def ldc_timit(root: Path, upper: bool) -> Path:
    """TRAIN: 2 speakers; TEST: one core-test, one dev and one other speaker."""
    case = str.upper if upper else str.lower
    speakers = {"train/dr1/fcjf0": ["sa1", "si1027"], "train/dr2/mabc0": ["sa2", "sx1"],
                "test/dr1/felc0": ["sa1", "si1386", "sx26"], "test/dr4/faks0": ["si943"],
                "test/dr3/mzzz0": ["si1"]}
    for spk_path, sents in speakers.items():
        for sent in sents:
            timit_utterance(root / case("timit") / case(spk_path), sent, upper)
    return root


def timit(corpus: Path, data: Path, phone_set: str = "48", keep_sa: bool = False):
    return prepare_timit(corpus, data, PhoneMap.load(PHONE_MAP),
                         read_speaker_list(TIMIT_CONF / "dev_spk.list"),
                         read_speaker_list(TIMIT_CONF / "test_spk.list"), phone_set, keep_sa)


def validate_script(repo_env: dict[str, str], d: Path) -> None:
    """utils/validate_data_dir.sh accepts ``d`` (the data preps also validate in-process)."""
    run = subprocess.run(["utils/validate_data_dir.sh", "--no-feats", str(d)], cwd=REPO,
                         env=repo_env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_phone_map_counts_and_folds():
    phone_map = PhoneMap.load(PHONE_MAP)
    assert len(phone_map.rows) == 61
    assert [len(phone_map.phones(s)) for s in ("61", "48", "39")] == [61, 48, 39]
    to48, to39 = phone_map.mapping("61", "48"), phone_map.mapping("61", "39")
    assert to48["q"] is None and to39["q"] is None
    assert {to48[p] for p in ("pcl", "tcl", "kcl")} == {"cl"}
    assert {to48[p] for p in ("bcl", "dcl", "gcl")} == {"vcl"}
    assert {to39[p] for p in ("h#", "pau", "epi", "bcl", "kcl")} == {"sil"}
    assert (to48["ax-h"], to48["axr"], to48["hv"], to48["ux"]) == ("ax", "er", "hh", "uw")
    assert (to39["ao"], to39["ix"], to39["zh"], to39["el"]) == ("aa", "ih", "sh", "l")
    fold = phone_map.mapping("48", "39")
    assert len(fold) == 48 and fold["cl"] == "sil" and fold["ax"] == "ah"
    with pytest.raises(CorpusError, match="cannot map the 39-phone set"):
        phone_map.mapping("39", "48")


def test_standard_speaker_lists():
    dev, test = (read_speaker_list(TIMIT_CONF / f"{s}_spk.list") for s in ("dev", "test"))
    assert len(dev) == 50 and len(test) == 24 and not dev & test
    assert {"felc0", "mdab0", "mwbt0"} <= test and {"faks0", "mrjm4"} <= dev


@pytest.mark.parametrize("upper", [True, False])
def test_timit_ldc_layout(tmp_path, upper):
    counts = timit(ldc_timit(tmp_path / "corpus", upper), tmp_path / "data")
    assert counts == {"train": 2, "dev": 1, "test": 2}  # SA left out, mzzz0 in no set
    data = tmp_path / "data"
    assert list(read_table(data / "train" / "utt2spk")) == ["fcjf0_si1027", "mabc0_sx1"]
    assert read_table(data / "test" / "text") == {"felc0_si1386": "sil ax vcl b sil sil",
                                                  "felc0_sx26": "sil ax vcl b sil sil"}
    assert read_table(data / "train" / "spk2gender") == {"fcjf0": "f", "mabc0": "m"}
    wav = read_table(data / "dev" / "wav.scp")["faks0_si943"]
    assert wav.endswith("SI943.WAV" if upper else "si943.wav") and Path(wav).is_absolute()
    assert (data / "dev" / "text.words").read_text() == "faks0_si943 about\n"
    ctm = (data / "dev" / "phones.ctm").read_text().splitlines()
    assert ctm[:2] == ["faks0_si943 1 0.0000 0.1000 sil", "faks0_si943 1 0.2000 0.1000 ax"]
    assert len(ctm) == 6
    for name in counts:
        validate_data_dir(data / name, no_feats=True)


@pytest.mark.parametrize("phone_set,text", [("61", "h# q ax-h bcl b pau h#"),
                                            ("39", "sil ah sil b sil sil")])
def test_timit_sample_layout_phone_sets_and_sa(tmp_path, phone_set, text):
    corpus = tmp_path / "timit_sample"
    for spk in ("dr1-fvmh0", "dr2-marc0"):
        for sent in ("sa1", "si1466"):
            timit_utterance(corpus / spk, sent, upper=False)
    (corpus / "spkrinfo.txt").write_text("; not a speaker dir\n")
    counts = timit(corpus, tmp_path / "data", phone_set, keep_sa=True)
    assert counts == {"sample": 4}
    sample = tmp_path / "data" / "sample"
    assert read_table(sample / "text")["fvmh0_sa1"] == text
    assert read_table(sample / "utt2spk")["marc0_si1466"] == "marc0"
    ctm = (sample / "phones.ctm").read_text().splitlines()
    assert len(ctm) == 4 * len(text.split())
    validate_data_dir(sample, no_feats=True)
    assert timit(corpus, tmp_path / "data") == {"sample": 2}  # SA excluded by default


def test_timit_errors_name_the_problem(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="not a TIMIT corpus"):
        timit(tmp_path / "empty", tmp_path / "data")
    corpus = tmp_path / "sample"
    timit_utterance(corpus / "dr1-fvmh0", "si1466", upper=False)
    (corpus / "dr1-fvmh0" / "si1466.phn").write_text("0 1600 h#\n1600 3200 xx\n")
    with pytest.raises(CorpusError, match=r"si1466.phn:2: 'xx' is not a TIMIT phone"):
        timit(corpus, tmp_path / "data")
    (corpus / "dr1-fvmh0" / "si1466.wrd").unlink()
    with pytest.raises(CorpusError, match="no si1466.wrd"):
        timit(corpus, tmp_path / "data")


def test_timit_dict_and_lang(tmp_path):
    phone_map = PhoneMap.load(PHONE_MAP)
    d48 = timit_dict(phone_map, "48")
    assert d48.silence_phones == ["sil"] and d48.optional_silence == "sil"
    assert len(d48.phones()) == 48 and d48.lexicon["vcl"] == [("vcl",)]
    d61 = timit_dict(phone_map, "61")
    assert d61.silence_phones == ["h#", "pau"] and d61.optional_silence == "pau"
    d48.save(tmp_path / "dict")
    lang = prepare_lang(tmp_path / "dict", "sil", tmp_path / "lang")
    assert len(lang.phones) == 49 and lang.phones["sil"] == 1


def test_timit_recipe_scripts(tmp_path, repo_env):
    ldc_timit(tmp_path / "corpus", upper=True)
    recipe = REPO / "egs" / "timit" / "s5"
    for command in (["local/prepare_data.sh", "--phone-set", "39", "--keep-sa", "true",
                     str(tmp_path / "corpus"), str(tmp_path / "data")],
                    ["local/prepare_dict.sh", "--phone-set", "39", str(tmp_path / "corpus"),
                     str(tmp_path / "dict")]):
        run = subprocess.run(command, cwd=recipe, env=repo_env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    assert len(read_table(tmp_path / "data" / "train" / "text")) == 4
    validate_script(repo_env, tmp_path / "data" / "train")
    assert len((tmp_path / "dict" / "lexicon.txt").read_text().splitlines()) == 39
    bad = subprocess.run(["local/prepare_data.sh", str(tmp_path / "dict"), str(tmp_path / "x")],
                         cwd=recipe, env=repo_env, capture_output=True, text=True)
    assert bad.returncode == 1 and "prepare_corpus: error:" in bad.stderr
    assert "not a TIMIT corpus" in bad.stderr and "Traceback" not in bad.stderr


TED_DIC = """'s Z
about AH B AW T
about(2) AX B AW T
hello HH AH L OW
world W ER L D
<s> SIL
</s> SIL
<sil> SIL
{BREATH} BRH
{NOISE} NSN
"""


def stm_line(talk: str, start: float, end: float, text: str) -> str:
    return f"{talk} 1 {talk} {start:.2f} {end:.2f} <o,f0,male> {text}\n"


def tedlium_set(set_dir: Path, talk: str, lines: list[str]) -> None:
    audio(set_dir / "sph" / f"{talk}.sph", seconds=6.0)
    (set_dir / "stm").mkdir(parents=True, exist_ok=True)
    (set_dir / "stm" / f"{talk}.stm").write_text("".join(lines))


def tedlium_r2(root: Path) -> Path:
    for name, talk in (("train", "AlGore_2009"), ("dev", "BillGates_2010"),
                       ("test", "JaneDoe_2012X")):
        tedlium_set(root / name, talk, [
            stm_line(talk, 0.5, 2.25, "hello <sil> world(2) {NOISE}"),
            stm_line(talk, 2.25, 3.0, "ignore_time_segment_in_scoring"),
            stm_line(talk, 3.0, 4.75, "about it 's mars (AlGore_2009-3)"),
            stm_line(talk, 5.0, 5.5, "<sil>"),
        ])
    (root / "TEDLIUM.152k.dic").write_text(TED_DIC)
    return root


def test_tedlium_release2(tmp_path):
    corpus = tedlium_r2(tmp_path / "TEDLIUM_release2")
    assert prepare_tedlium(corpus, tmp_path / "data") == {"train": 2, "dev": 2, "test": 2}
    train = tmp_path / "data" / "train"
    assert read_table(train / "text") == {
        "AlGore_2009-0000050-0000225": "hello world {NOISE}",
        "AlGore_2009-0000300-0000475": "about it 's mars"}
    assert read_table(train / "segments")["AlGore_2009-0000050-0000225"] == \
        "AlGore_2009 0.50 2.25"
    assert read_table(train / "wav.scp")["AlGore_2009"] == \
        str((corpus / "train" / "sph" / "AlGore_2009.sph").resolve())
    assert read_table(train / "utt2spk")["AlGore_2009-0000300-0000475"] == "AlGore_2009"
    assert (train / "oov_counts").read_text() == "it 1\nmars 1\n"
    for name in ("train", "dev", "test"):
        validate_data_dir(tmp_path / "data" / name, no_feats=True)
    (train / "feats.scp").write_text("stale\n")  # a rerun replaces the whole dir
    prepare_tedlium(corpus, tmp_path / "data")
    assert not (train / "feats.scp").exists() and (train / "text").is_file()


def test_tedlium_release3_layouts(tmp_path):
    root = tmp_path / "TEDLIUM_release-3"
    tedlium_r2(root / "legacy")
    (root / "legacy" / "TEDLIUM.152k.dic").rename(root / "TEDLIUM.152k.dic")
    tedlium_set(root / "data", "NewTalk_2017", [stm_line("NewTalk_2017", 1.0, 2.0, "hello"),
                                                stm_line("NewTalk_2017", 2.0, 3.0, "world")])
    assert prepare_tedlium(root, tmp_path / "legacy") == {"train": 2, "dev": 2, "test": 2}
    assert prepare_tedlium(root, tmp_path / "full", train_source="data")["train"] == 2
    assert list(read_table(tmp_path / "full" / "train" / "wav.scp")) == ["NewTalk_2017"]
    # the legacy folder alone is a release-2 layout; its dictionary is in the parent
    assert prepare_tedlium(root / "legacy", tmp_path / "alone")["dev"] == 2
    assert (tmp_path / "alone" / "dev" / "oov_counts").is_file()
    with pytest.raises(CorpusError, match="not a TED-LIUM release"):
        prepare_tedlium(tmp_path / "legacy", tmp_path / "x")


def test_tedlium_transcript_normalisation_and_dict(tmp_path):
    assert normalise_transcript("a(2) <sil> b {NOISE} (talk-1)".split()) == ["a", "b", "{NOISE}"]
    (tmp_path / "TEDLIUM.152k.dic").write_text(TED_DIC)
    d = tedlium_dict(tmp_path / "TEDLIUM.152k.dic")
    assert d.lexicon["about"] == [("AH", "B", "AW", "T"), ("AX", "B", "AW", "T")]
    assert d.lexicon["<unk>"] == [("NSN",)]
    assert not {"<s>", "</s>", "<sil>"} & set(d.lexicon)
    assert d.silence_phones == ["SIL", "NSN", "BRH"] and d.optional_silence == "SIL"
    d.save(tmp_path / "dict")
    lang = prepare_lang(tmp_path / "dict", "<unk>", tmp_path / "lang")
    assert lang.transcript_phones(["hello", "mars"], "u") == [[("HH", "AH", "L", "OW")],
                                                              [("NSN",)]]


def speechocean(root: Path, num_spk: int = 4, seconds: float = 0.3) -> Path:
    wav_scp, text, utt2spk, spk2gender, spk2age = [], [], [], [], []
    for s in range(1, num_spk + 1):
        spk = f"{s:04d}"
        spk2gender.append(f"{spk}\t{'mf'[s % 2]}")
        spk2age.append(f"{spk}\t{20 + s}")
        for u in (11, 35):
            utt = f"0{spk}{u:04d}"
            rel = f"WAVE/SPEAKER{spk}/{utt}.flac"
            audio(root / rel, seconds=seconds, fmt="FLAC")
            wav_scp.append(f"{utt}\t{rel}")
            text.append(f"{utt}\tWE CALL IT BEAR" if u == 11 else f"{utt}\tZERO ONE")
            utt2spk.append(f"{utt}\t{spk}")
    (root / "train").mkdir()
    for name, lines in (("wav.scp", wav_scp), ("text", text), ("utt2spk", utt2spk),
                        ("spk2gender", spk2gender), ("spk2age", spk2age)):
        (root / "train" / name).write_text("".join(f"{line}\n" for line in lines))
    (root / "train" / "spk2utt").write_text("stale, rebuilt\n")
    (root / "resource").mkdir()
    (root / "resource" / "lexicon.txt").write_text(
        "WE\tW IY1\nCALL\tK AO1 L\nIT\tIH1 T\nIT\tIH0 T\nBEAR\tB EH1 R\nZERO\tZ IH1 R OW0\n")
    return root


def test_speechocean762(tmp_path):
    corpus = speechocean(tmp_path / "speechocean762")
    counts = prepare_speechocean(corpus, tmp_path / "data", num_heldout_spk=2)
    assert counts == {"train": 4, "heldout": 4}
    train, heldout = tmp_path / "data" / "train", tmp_path / "data" / "heldout"
    # sorted by gender then id: 0001 0003 (f) 0002 0004 (m); the middle of each half
    assert read_table(heldout / "spk2gender") == {"0003": "f", "0004": "m"}
    assert set(read_table(train / "spk2age")) == {"0001", "0002"}
    wav = read_table(train / "wav.scp")["000020011"]
    assert wav == str((corpus / "WAVE" / "SPEAKER0002" / "000020011.flac").resolve())
    assert read_table(train / "spk2utt")["0002"] == "000020011 000020035"
    assert (train / "oov_counts").read_text() == "ONE 2\n"
    for d in (train, heldout):
        validate_data_dir(d, no_feats=True)
    assert prepare_speechocean(corpus, tmp_path / "all") == {"train": 8}


def test_speechocean_heldout_choice_and_dict(tmp_path):
    speakers = [f"{i:04d}" for i in range(10)]
    assert heldout_speakers(speakers, 2) == ["0002", "0007"]
    genders = {spk: "f" if int(spk) < 2 else "m" for spk in speakers}
    assert heldout_speakers(speakers, 5, genders) == ["0001", "0003", "0005", "0007", "0009"]
    with pytest.raises(CorpusError, match="cannot hold out 10 of 10"):
        heldout_speakers(speakers, 10)
    d = speechocean_dict(speechocean(tmp_path / "so", num_spk=1))
    assert d.silence_phones == ["SIL", "SPN"] and d.lexicon["<UNK>"] == [("SPN",)]
    assert ["IH0", "IH1"] in d.nonsilence_phones and d.lexicon["IT"] == [("IH1", "T"),
                                                                        ("IH0", "T")]
    d.save(tmp_path / "dict")
    lang = prepare_lang(tmp_path / "dict", "<UNK>", tmp_path / "lang", remove_stress=True)
    assert lang.lexicon["IT"] == [("IH", "T")] and "IH1" not in lang.phones
    assert isinstance(Lang.load(tmp_path / "lang"), Lang)


def test_speechocean_and_tedlium_recipe_scripts(tmp_path, repo_env):
    corpus = speechocean(tmp_path / "speechocean762", num_spk=3)
    tedlium = tedlium_r2(tmp_path / "TEDLIUM_release2")
    for recipe, options, corpus_dir in (("speechocean762", ["--num-heldout-spk", "1"], corpus),
                                        ("tedlium", ["--train-source", "legacy"], tedlium)):
        s5 = REPO / "egs" / recipe / "s5"
        data = tmp_path / recipe
        for command in (["local/prepare_data.sh", *options, str(corpus_dir), str(data)],
                        ["local/prepare_dict.sh", str(corpus_dir), str(data / "dict")]):
            run = subprocess.run(command, cwd=s5, env=repo_env, capture_output=True, text=True)
            assert run.returncode == 0, run.stderr
        assert (data / "dict" / "lexicon.txt").is_file()
    assert len(read_table(tmp_path / "speechocean762" / "heldout" / "utt2spk")) == 2
    validate_script(repo_env, tmp_path / "tedlium" / "dev")
