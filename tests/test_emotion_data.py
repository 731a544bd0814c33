"""Emotion corpora data prep (egs/<corpus>/s5/local/prepare_data.sh, sertl.corpora.*) on
tiny generated corpora with the real layouts and file names."""
from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO
from sertl.bin import prepare_emotion
from sertl.config import ConfigError
from sertl.corpora import cremad, emodb, emovo, iemocap, ravdess, savee, urdu
from sertl.corpora.common import CorpusError
from sertl.corpora.emotion import (LabelMap, load_label_map, prepare_emotion_dir,
                                   speaker_folds)
from sertl.io import read_table

EGS = REPO / "egs"
# utt -> (speaker, gender, class under the recipe's default conf/labels.yaml)
Expected = dict[str, tuple[str, str, str]]


def write_wav(path: Path, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(rate // 50, dtype=np.int16), rate, subtype="PCM_16")


def make_emodb(root: Path) -> tuple[Path, Expected]:
    for name in ("03a01Fa", "03a02Wb", "08a01Nc", "16b10Lb"):
        write_wav(root / "wav" / f"{name}.wav")
    (root / "wav" / "._03a01Fa.wav").write_bytes(b"AppleDouble junk")
    return root, {"03-03a01Fa": ("03", "m", "hap"), "03-03a02Wb": ("03", "m", "ang"),
                  "08-08a01Nc": ("08", "f", "neu"), "16-16b10Lb": ("16", "f", "bor")}


def make_urdu(root: Path) -> tuple[Path, Expected]:
    files = {"Angry": ["SM1_F1_A01", "SM1_F2_A02", "SM17_F1_A03"],
             "Happy": ["SF1_F1_H01", "SF10_F1_H02"], "Neutral": ["SM17_F2_N01", "SM3_F1_N02"],
             "Sad": ["SF2_F1_S01", "SM3_F2_S02"]}
    classes = {"Angry": "ang", "Happy": "hap", "Neutral": "neu", "Sad": "sad"}
    expected = {}
    for folder, names in files.items():
        for name in names:
            write_wav(root / folder / f"{name}.wav")
            spk = name.split("_")[0]
            expected[f"{spk}-{name}"] = (spk, spk[1].lower(), classes[folder])
    return root, expected


def make_ravdess(root: Path) -> tuple[Path, Expected]:
    for name in ("Actor_01/03-01-05-01-02-01-01", "Actor_01/03-02-03-01-01-01-01",
                 "Actor_12/03-01-01-01-01-01-12", "Actor_12/03-01-08-02-02-02-12"):
        write_wav(root / f"{name}.wav", rate=48000)
    (root / "Actor_12" / "01-01-01-01-01-01-12.mp4").write_bytes(b"video")
    return root, {"Actor_01-03-01-05-01-02-01-01": ("Actor_01", "m", "ang"),
                  "Actor_12-03-01-01-01-01-01-12": ("Actor_12", "f", "neu"),
                  "Actor_12-03-01-08-02-02-02-12": ("Actor_12", "f", "sur")}


def make_savee(root: Path) -> tuple[Path, Expected]:
    for name in ("DC/a01", "DC/sa15", "JE/su03", "KL/n30"):
        write_wav(root / "AudioData" / f"{name}.wav")
    return root, {"DC-a01": ("DC", "m", "ang"), "DC-sa15": ("DC", "m", "sad"),
                  "JE-su03": ("JE", "m", "sur"), "KL-n30": ("KL", "m", "neu")}


def make_cremad(root: Path) -> tuple[Path, Expected]:
    for name in ("1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_TIE_NEU_XX", "1091_WSI_SAD_LO"):
        write_wav(root / "AudioWAV" / f"{name}.wav")
    (root / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
        "1002,21,Female,Caucasian,Not Hispanic\n1091,29,Female,Asian,Not Hispanic\n")
    return root, {"1001-1001_DFA_ANG_XX": ("1001", "m", "ang"),
                  "1001-1001_IEO_HAP_HI": ("1001", "m", "hap"),
                  "1002-1002_TIE_NEU_XX": ("1002", "f", "neu"),
                  "1091-1091_WSI_SAD_LO": ("1091", "f", "sad")}


def make_emovo(root: Path) -> tuple[Path, Expected]:
    corpus = root / "EMOVO"
    for name in ("f1/dis-f1-b1", "f1/gio-f1-l3", "m2/pau-m2-n5", "m2/tri-m2-d2"):
        write_wav(corpus / f"{name}.wav")
    (corpus / "documents").mkdir()
    (corpus / "documents" / "readme.txt").write_text("paper")
    return corpus, {"f1-dis-f1-b1": ("f1", "f", "dis"), "f1-gio-f1-l3": ("f1", "f", "hap"),
                    "m2-pau-m2-n5": ("m2", "m", "fea"), "m2-tri-m2-d2": ("m2", "m", "sad")}


IEMOCAP_TURNS = {  # session -> dialog -> [(turn, raw label)]
    1: {"Ses01F_impro01": [("Ses01F_impro01_F000", "neu"), ("Ses01F_impro01_M000", "exc"),
                           ("Ses01F_impro01_F001", "xxx")],
        "Ses01M_script01_1": [("Ses01M_script01_1_M000", "ang"),
                              ("Ses01M_script01_1_F000", "fru")]},
    2: {"Ses02F_impro05a": [("Ses02F_impro05a_F000", "sad"), ("Ses02F_impro05a_M000", "hap")]},
    3: {"Ses03M_impro03": [("Ses03M_impro03_M001", "sur")]},
    4: {"Ses04F_script02_2": [("Ses04F_script02_2_F010", "fea")]},
    5: {"Ses05M_script01_1b": [("Ses05M_script01_1b_M020", "dis")]},
}


def write_emo_evaluation(path: Path, turns: list[tuple[str, str]]) -> None:
    """An EmoEvaluation file as released: header, consensus lines and evaluator lines."""
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    for i, (turn, label) in enumerate(turns):
        lines += [f"[{6.2901 + 3 * i:.4f} - {8.2357 + 3 * i:.4f}]\t{turn}\t{label}\t"
                  "[2.5000, 2.5000, 2.5000]",
                  "C-E2:\tNeutral state;\t()", "A-E3:\tval 3; act 2; dom  2;\t()", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def make_iemocap(root: Path) -> tuple[Path, Expected]:
    corpus = root / "IEMOCAP_full_release"
    expected = {}
    for session, dialogs in IEMOCAP_TURNS.items():
        session_dir = corpus / f"Session{session}"
        for dialog, turns in dialogs.items():
            write_emo_evaluation(session_dir / "dialog" / "EmoEvaluation" / f"{dialog}.txt",
                                 turns)
            for turn, label in turns:
                write_wav(session_dir / "sentences" / "wav" / dialog / f"{turn}.wav")
                speaker = f"Ses0{session}{turn[-4]}"
                if label != "xxx":
                    expected[f"{speaker}-{turn}"] = (speaker, turn[-4].lower(), label)
        (session_dir / "dialog" / "EmoEvaluation" / "Categorical").mkdir()
    return corpus, expected


MAKERS: dict[str, tuple[Callable[[Path], tuple[Path, Expected]], str]] = {
    "emodb": (make_emodb, "de"), "urdu": (make_urdu, "ur"), "ravdess": (make_ravdess, "en"),
    "savee": (make_savee, "en"), "cremad": (make_cremad, "en"), "emovo": (make_emovo, "it"),
    "iemocap": (make_iemocap, "en"),
}
MODULES = {"emodb": emodb, "urdu": urdu, "ravdess": ravdess, "savee": savee, "cremad": cremad,
           "emovo": emovo, "iemocap": iemocap}


def run_prep(corpus: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the recipe's local/prepare_data.sh from its recipe dir."""
    return subprocess.run(["bash", "local/prepare_data.sh", *args], cwd=EGS / corpus / "s5",
                          env=env, capture_output=True, text=True, timeout=600)


def assert_folds_hold_whole_speakers(data: Path) -> None:
    """Fold hygiene: for every fold, its speakers and those of the other folds are disjoint."""
    utt2spk, utt2fold = read_table(data / "utt2spk"), read_table(data / "utt2fold")
    speakers = defaultdict(set)
    for utt, fold in utt2fold.items():
        speakers[fold].add(utt2spk[utt])
    for fold, test in speakers.items():
        rest = set().union(*(s for f, s in speakers.items() if f != fold))
        assert not test & rest, f"fold {fold} shares speakers {test & rest} with the others"


@pytest.mark.parametrize("corpus", list(MAKERS))
def test_prepare_data_sh(corpus: str, tmp_path: Path, repo_env: dict[str, str]) -> None:
    make, lang = MAKERS[corpus]
    corpus_dir, expected = make(tmp_path / "corpus")
    data = tmp_path / "data"
    result = run_prep(corpus, str(corpus_dir), str(data), env=repo_env)
    assert result.returncode == 0, result.stderr
    assert "per class:" in result.stderr
    validate = subprocess.run([str(REPO / "utils" / "validate_data_dir.sh"), "--no-feats",
                               "--no-text", str(data)], env=repo_env, capture_output=True,
                              text=True, timeout=600)
    assert validate.returncode == 0, validate.stderr
    assert not (data / "text").exists()
    utt2spk = read_table(data / "utt2spk")
    assert list(utt2spk) == sorted(expected)
    assert utt2spk == {utt: spk for utt, (spk, _, _) in expected.items()}
    assert read_table(data / "spk2gender") == {spk: g for spk, g, _ in expected.values()}
    assert read_table(data / "utt2emo") == {utt: c for utt, (_, _, c) in expected.items()}
    assert set(read_table(data / "utt2lang").values()) == {lang}
    for utt, path in read_table(data / "wav.scp").items():
        assert Path(path).is_absolute() and Path(path).is_file() and utt.endswith(Path(path).stem)
    assert_folds_hold_whole_speakers(data)
    assert_default_folds(corpus, read_table(data / "utt2fold"), utt2spk)


def assert_default_folds(corpus: str, utt2fold: dict[str, str], utt2spk: dict[str, str]) -> None:
    """IEMOCAP: the session; URDU: 5 speaker folds; the others: the speaker (LOSO)."""
    if corpus == "iemocap":
        assert all(fold == utt2spk[utt][4] for utt, fold in utt2fold.items())
        assert set(utt2fold.values()) == {"1", "2", "3", "4", "5"}
    elif corpus == "urdu":
        assert set(utt2fold.values()) == {"1", "2", "3", "4", "5"}
    else:
        assert utt2fold == utt2spk


def test_num_folds_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus_dir, _ = make_urdu(tmp_path / "corpus")
    conf = str(EGS / "urdu" / "s5" / "conf" / "labels.yaml")
    for num_folds, expected in (("0", 6), ("3", 3)):
        data = tmp_path / f"data{num_folds}"
        assert prepare_emotion.main(["urdu", "--label-map", conf, "--num-folds", num_folds,
                                     str(corpus_dir), str(data)]) == 0
        assert len(set(read_table(data / "utt2fold").values())) == expected
        assert_folds_hold_whole_speakers(data)
    assert prepare_emotion.main(["urdu", "--label-map", conf, "--num-folds", "7",
                                 str(corpus_dir), str(tmp_path / "data7")]) == 1
    assert "cannot make 7 speaker-independent folds from 6 speakers" in capsys.readouterr().err


def test_speaker_folds_balance_classes_and_keep_folds_full() -> None:
    utts = ([("big", "neu", "m")] * 8 + [("a", "neu", "f")] * 4 + [("b", "ang", "m")] * 4
            + [("c", "ang", "f")] * 4 + [("d", "neu", "m")] * 2 + [("e", "hap", "f")] * 1)
    folds = speaker_folds(utts, 3)
    assert folds == speaker_folds(list(reversed(utts)), 3)   # order of input is irrelevant
    assert set(folds.values()) == {"1", "2", "3"}
    assert folds["big"] != folds["a"] and folds["b"] != folds["c"]  # same class spread out
    assert speaker_folds(utts, 0) == {s: s for s in ("big", "a", "b", "c", "d", "e")}
    with pytest.raises(CorpusError, match="from 6 speakers"):
        speaker_folds(utts, 7)


# --- label maps -------------------------------------------------------------------------

def prepare_iemocap(tmp_path: Path, conf: str, **options) -> tuple[dict[str, str], object]:
    corpus_dir, _ = make_iemocap(tmp_path / "corpus")
    label_map = load_label_map(EGS / "iemocap" / "s5" / "conf" / conf, iemocap.CORPUS)
    summary = prepare_emotion_dir(iemocap.CORPUS, iemocap.scan(corpus_dir, **options),
                                  label_map, tmp_path / "data")
    return read_table(tmp_path / "data" / "utt2emo"), summary


def test_label_map_merges_excited_into_happy(tmp_path: Path) -> None:
    utt2emo, summary = prepare_iemocap(tmp_path, "labels_4class_exc.yaml")
    assert utt2emo == {"Ses01F-Ses01F_impro01_F000": "neu", "Ses01M-Ses01F_impro01_M000": "hap",
                       "Ses01M-Ses01M_script01_1_M000": "ang",
                       "Ses02F-Ses02F_impro05a_F000": "sad", "Ses02M-Ses02F_impro05a_M000": "hap"}
    assert summary.per_class == {"neu": 1, "hap": 2, "sad": 1, "ang": 1}
    assert summary.dropped == {"fru": 1, "xxx": 1, "sur": 1, "fea": 1, "dis": 1}


def test_label_map_drops_unmapped_labels(tmp_path: Path) -> None:
    utt2emo, summary = prepare_iemocap(tmp_path, "labels_4class.yaml")
    assert sorted(utt2emo.values()) == ["ang", "hap", "neu", "sad"]
    assert summary.dropped == {"exc": 1, "fru": 1, "xxx": 1, "sur": 1, "fea": 1, "dis": 1}


@pytest.mark.parametrize("corpus", list(MAKERS))
def test_recipe_label_maps_load(corpus: str) -> None:
    confs = sorted((EGS / corpus / "s5" / "conf").glob("labels*.yaml"))
    assert confs
    for conf in confs:
        label_map = load_label_map(conf, MODULES[corpus].CORPUS)
        if conf.name == "labels_anger.yaml":  # binary anger detection (SoundNet)
            assert label_map.classes == ["other", "ang"]
        else:
            assert label_map.classes[:4] == ["neu", "hap", "sad", "ang"]


@pytest.mark.parametrize("text, message", [
    ("map: {N: neu, W: anger}\nclasses: [neu, ang]\n", "class 'anger' is not in classes"),
    ("map: {N: neu}\nclasses: [neu, ang]\n", "class 'ang' has no raw label"),
    ("map: {N: neu, X: ang}\nclasses: [neu, ang]\n", "map.X: 'X' is not a emodb label"),
    ("mapping: {N: neu}\nclasses: [neu]\n", "unknown key 'mapping'"),
    ("map: {N: neu}\nclasses: [neu, neu]\n", "listed twice"),
])
def test_bad_label_map(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "labels.yaml"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_label_map(conf, emodb.CORPUS)
    assert str(conf) in str(err.value)


def test_unquoted_ravdess_code_is_an_error(tmp_path: Path) -> None:
    """YAML reads 01 as the number 1; the label map must say so instead of dropping it."""
    conf = tmp_path / "labels.yaml"
    conf.write_text("map:\n  01: neu\nclasses: [neu]\n")
    with pytest.raises(ConfigError, match="map.1: '1' is not a ravdess label"):
        load_label_map(conf, ravdess.CORPUS)
    assert LabelMap({"01": "neu"}, ["neu"]).map == {"01": "neu"}


# --- IEMOCAP options and errors ---------------------------------------------------------

def test_iemocap_sessions_and_subset(tmp_path: Path) -> None:
    corpus_dir, _ = make_iemocap(tmp_path)
    stems = lambda recs: sorted(r.path.stem for r in recs)  # noqa: E731
    assert stems(iemocap.scan(corpus_dir, sessions=[2])) == [
        "Ses02F_impro05a_F000", "Ses02F_impro05a_M000"]
    assert stems(iemocap.scan(corpus_dir, sessions=[1, 4], subset="scripted")) == [
        "Ses01M_script01_1_F000", "Ses01M_script01_1_M000", "Ses04F_script02_2_F010"]
    improvised = iemocap.scan(corpus_dir, subset="improvised")
    assert len(improvised) == 6 and all("impro" in r.path.stem for r in improvised)
    assert {r.fold for r in improvised} == {"1", "2", "3"}


def test_iemocap_cli_options(tmp_path: Path, repo_env: dict[str, str]) -> None:
    corpus_dir, _ = make_iemocap(tmp_path / "corpus")
    result = run_prep("iemocap", "--sessions", "1", "--subset", "improvised",
                      "--label-map", "conf/labels_4class_exc.yaml", str(corpus_dir),
                      str(tmp_path / "data"), env=repo_env)
    assert result.returncode == 0, result.stderr
    assert read_table(tmp_path / "data" / "utt2emo") == {
        "Ses01F-Ses01F_impro01_F000": "neu", "Ses01M-Ses01F_impro01_M000": "hap"}



def test_iemocap_bad_sessions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = str(EGS / "iemocap" / "s5" / "conf" / "labels.yaml")
    for sessions in ("6", "1,1", "one"):
        with pytest.raises(SystemExit):
            prepare_emotion.main(["iemocap", "--label-map", conf, "--sessions", sessions,
                                  str(tmp_path), str(tmp_path / "data")])
        assert "--sessions: expected" in capsys.readouterr().err


def test_iemocap_parent_dir_is_named(tmp_path: Path) -> None:
    make_iemocap(tmp_path)
    with pytest.raises(CorpusError, match="pass .*IEMOCAP_full_release"):
        iemocap.scan(tmp_path)


def test_iemocap_turn_without_label(tmp_path: Path) -> None:
    corpus_dir, _ = make_iemocap(tmp_path)
    extra = corpus_dir / "Session2/sentences/wav/Ses02F_impro05a/Ses02F_impro05a_F001.wav"
    write_wav(extra)
    with pytest.raises(CorpusError, match=f"{extra}: turn has no label in .*Ses02F_impro05a.txt"):
        iemocap.scan(corpus_dir)


def test_iemocap_label_without_wav(tmp_path: Path) -> None:
    corpus_dir, _ = make_iemocap(tmp_path)
    (corpus_dir / "Session2/sentences/wav/Ses02F_impro05a/Ses02F_impro05a_M000.wav").unlink()
    with pytest.raises(CorpusError, match="1 labelled turns have no wav .* Ses02F_impro05a_M000"):
        iemocap.scan(corpus_dir)


def test_iemocap_missing_label_file(tmp_path: Path) -> None:
    corpus_dir, _ = make_iemocap(tmp_path)
    label_file = corpus_dir / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"
    label_file.unlink()
    with pytest.raises(CorpusError, match=f"{label_file}: label file missing"):
        iemocap.scan(corpus_dir)


def test_iemocap_malformed_label_line(tmp_path: Path) -> None:
    corpus_dir, _ = make_iemocap(tmp_path)
    label_file = corpus_dir / "Session2/dialog/EmoEvaluation/Ses02F_impro05a.txt"
    label_file.write_text(label_file.read_text().replace("\tsad\t", "\tsadness\t"))
    with pytest.raises(CorpusError, match=f"{label_file}:3: unknown label 'sadness'"):
        iemocap.scan(corpus_dir)


# --- names that do not fit, unknown genders ---------------------------------------------

BAD_FILES = [
    ("emodb", "wav/03a01Xa.wav", "does not follow the naming"),
    ("emodb", "wav/04a01Fa.wav", "speaker '04' is not one of EmoDB's speakers"),
    ("urdu", "Happy/SM1_F9_A09.wav", "emotion letter 'A' does not match its folder Happy"),
    ("urdu", "Sad/SM1-F9-S09.wav", "does not follow the naming"),
    ("ravdess", "Actor_01/03-01-09-01-01-01-01.wav", "does not follow the naming"),
    ("ravdess", "Actor_01/03-01-05-01-01-01-02.wav", "actor 02 in the name is not that"),
    ("savee", "AudioData/DC/x01.wav", "does not follow the naming"),
    ("savee", "AudioData/AB/a01.wav", "'AB' is not one of SAVEE's speakers"),
    ("cremad", "AudioWAV/1001_XYZ_ANG_XX.wav", "'XYZ' is not a CREMA-D sentence code"),
    ("cremad", "AudioWAV/1003_DFA_ANG_XX.wav", "actor 1003 is not in .*VideoDemographics.csv"),
    ("emovo", "f1/dis-f2-b1.wav", "speaker 'f2' in the name is not that of its folder"),
    ("emovo", "m2/ang-m2-b1.wav", "does not follow the naming"),
    ("iemocap", "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_X000.wav",
     "does not follow the naming"),
    ("iemocap", "Session1/sentences/wav/Ses01F_impro01/Ses02F_impro01_F009.wav",
     "turn is not of dialog Ses01F_impro01"),
]


@pytest.mark.parametrize("corpus, bad, message", BAD_FILES)
def test_bad_file_is_named(tmp_path: Path, corpus: str, bad: str, message: str) -> None:
    corpus_dir, _ = MAKERS[corpus][0](tmp_path)
    path = corpus_dir / bad
    write_wav(path)
    with pytest.raises(CorpusError, match=message) as err:
        MODULES[corpus].scan(corpus_dir)
    assert str(path.parent) in str(err.value)


def test_cremad_bad_demographics(tmp_path: Path) -> None:
    corpus_dir, _ = make_cremad(tmp_path)
    csv = corpus_dir / "VideoDemographics.csv"
    csv.write_text(csv.read_text().replace("1002,21,Female", "1002,21,F"))
    with pytest.raises(CorpusError, match=f"{csv}:3: actor 1002: Sex 'F' is not Male or Female"):
        cremad.scan(corpus_dir)
    csv.unlink()
    with pytest.raises(CorpusError, match=f"{csv}: missing"):
        cremad.scan(corpus_dir)


def test_missing_layout_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=f"{tmp_path / 'wav'}: no such directory"):
        emodb.scan(tmp_path)
    with pytest.raises(CorpusError, match="no Actor_XX folders"):
        ravdess.scan(tmp_path)


def test_cli_error_names_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus_dir, _ = make_emodb(tmp_path / "corpus")
    write_wav(corpus_dir / "wav" / "03a01Fa_copy.wav")
    conf = EGS / "emodb" / "s5" / "conf" / "labels.yaml"
    status = prepare_emotion.main(["emodb", "--label-map", str(conf), str(corpus_dir),
                                   str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"prepare_emotion: error: {corpus_dir / 'wav' / '03a01Fa_copy.wav'}")
    assert "Traceback" not in err and not (tmp_path / "data").exists()
