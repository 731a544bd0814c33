"""Every emotion recipe (egs/<corpus>/s5/run.sh) end to end on a tiny generated corpus with
that corpus's real layout and file names: data prep, features, functionals, the
cross-validation of an SVM system (and, for EmoDB, a tiny network), the results table
and the final models. The recipe's own run.sh, local/ and conf/ are run from a copy in a
temporary dir, so the repository's recipe dirs stay untouched."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO, speech_like
from sertl.ser.svm import read_vectors

EGS = REPO / "egs"
SECONDS = 0.6

SVM_CONF = """\
system: svm
input: {kind: functionals, feature_set: eGeMAPSv02}
normalisation: speaker
svm: {c_grid: [0.01, 1.0], inner_folds: 2}
"""
FUSION_CONF = """\
system: svm
input: {kind: fusion, parts: [{kind: functionals, feature_set: eGeMAPSv02},
                              {kind: functionals, feature_set: ComParE_2016}]}
normalisation: train
svm: {c_grid: [0.01]}
"""
TINY_NETWORK_CONF = """\
features: hires
transfer: {layer: tdnn4, freeze: 0, init: pretrained}
classifier: {hidden_dim: 16, dropout: 0.0}
data: {chunk_width: 30, num_valid_speakers: 1, apply_cmvn: true, norm_vars: false,
       feature_type: mfcc_hires}
training: {num_epochs: 1, batch_size: 8, optimizer: adam, lr: 0.01, final_lr: 0.001,
           log_every_steps: 1}
model: {type: tdnn, feat_dim: 40, ivector_dim: 0, hidden_dim: 16, bottleneck_dim: 8,
        time_strides: [0, 1, 1, 0, 3, 3], prefinal_dim: 16, prefinal_bottleneck_dim: 8}
"""

TINY_RESNET_CONF = """\
system: resnet34
spectrogram: {{n_mels: 16, hop_length: 256}}
network: {{layers: [1, 1, 1, 1], init: {init}}}
num_valid_speakers: 1
phases: {phases}
"""


def write_wav(path: Path, index: int, cls: int, rate: int = 16000) -> None:
    """A short speech-like recording whose pitch depends on its class."""
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = speech_like(SECONDS, rate, f0=100.0 + 25 * cls, seed=index)
    sf.write(path, samples.astype(np.int16), rate, subtype="PCM_16")


def make_files(root: Path, names: list[tuple[str, int]], rate: int = 16000) -> None:
    for index, (name, cls) in enumerate(names):
        write_wav(root / name, index, cls, rate)


def make_emodb(root: Path) -> Path:
    names = [(f"wav/{spk}a0{take}{emo}a.wav", c) for spk in ("03", "08", "16")
             for c, emo in enumerate("WLEAFTN") for take in (1, 2)]
    make_files(root, names)
    return root


def make_urdu(root: Path) -> Path:
    folders = {"A": "Angry", "H": "Happy", "N": "Neutral", "S": "Sad"}
    names = [(f"{folders[e]}/{spk}_F{take}_{e}0{take}.wav", c)
             for spk in ("SM1", "SF2", "SM3", "SF4", "SM17")
             for c, e in enumerate(folders) for take in (1, 2)]
    make_files(root, names)
    return root


def make_ravdess(root: Path) -> Path:
    names = [(f"Actor_{a:02d}/03-01-{e:02d}-01-0{s}-01-{a:02d}.wav", e)
             for a in range(1, 7) for e in range(1, 9) for s in (1, 2) if s == 1 or e == 5]
    make_files(root, names, rate=48000)
    return root


def make_savee(root: Path) -> Path:
    names = [(f"AudioData/{spk}/{emo}0{take}.wav", c) for spk in ("DC", "JE", "JK", "KL")
             for c, emo in enumerate(("a", "d", "f", "h", "n", "sa", "su")) for take in (1, 2)]
    make_files(root, names)
    return root


def make_cremad(root: Path) -> Path:
    actors = {"1001": "Male", "1002": "Female", "1003": "Female", "1004": "Male",
              "1005": "Male"}
    names = [(f"AudioWAV/{a}_{s}_{e}_XX.wav", c) for a in actors
             for c, e in enumerate(("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"))
             for s in ("DFA", "IEO")]
    make_files(root, names)
    (root / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n"
        + "".join(f"{a},30,{sex},Caucasian,Not Hispanic\n" for a, sex in actors.items()))
    return root


def make_emovo(root: Path) -> Path:
    corpus = root / "EMOVO"
    names = [(f"{spk}/{emo}-{spk}-{sentence}.wav", c) for spk in ("f1", "m1", "m2")
             for c, emo in enumerate(("dis", "gio", "neu", "pau", "rab", "sor", "tri"))
             for sentence in ("b1", "n2")]
    make_files(corpus, names)
    return corpus


def make_iemocap(root: Path) -> Path:
    corpus = root / "IEMOCAP_full_release"
    labels = ("neu", "exc", "sad", "ang", "hap", "fru")
    index = 0
    for session in range(1, 6):
        dialog = f"Ses0{session}F_impro0{session}"
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        for gender in "FM":
            for n, label in enumerate(labels):
                turn = f"{dialog}_{gender}00{n}"
                write_wav(corpus / f"Session{session}" / "sentences" / "wav" / dialog
                          / f"{turn}.wav", index, n)
                lines += [f"[{3.0 * index:.4f} - {3.0 * index + 2:.4f}]\t{turn}\t{label}\t"
                          "[2.5000, 2.5000, 2.5000]", ""]
                index += 1
        label_file = corpus / f"Session{session}" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
        label_file.parent.mkdir(parents=True)
        label_file.write_text("\n".join(lines) + "\n")
    return corpus


MAKERS: dict[str, Callable[[Path], Path]] = {
    "emodb": make_emodb, "urdu": make_urdu, "ravdess": make_ravdess, "savee": make_savee,
    "cremad": make_cremad, "emovo": make_emovo, "iemocap": make_iemocap,
}
NUM_FOLDS = {"emodb": 3, "urdu": 5, "ravdess": 6, "savee": 4, "cremad": 5, "emovo": 3,
             "iemocap": 5}


def copy_recipe(corpus: str, dest: Path) -> Path:
    """The recipe's run.sh, local/ and conf/ in ``dest``, with path.sh, cmd.sh and the
    links to steps/, utils/ and ser.sh pointing into the repository."""
    src = EGS / corpus / "s5"
    dest.mkdir(parents=True)
    shutil.copy(src / "run.sh", dest / "run.sh")
    shutil.copytree(src / "local", dest / "local")
    shutil.copytree(src / "conf", dest / "conf")
    (dest / "path.sh").write_text(f". {REPO}/path.sh\n")
    (dest / "cmd.sh").write_text(f". {REPO}/cmd.sh\n")
    for name, target in (("steps", REPO / "steps"), ("utils", REPO / "utils"),
                         ("ser.sh", (src / "ser.sh").resolve())):
        (dest / name).symlink_to(target)
    return dest


def run_recipe(recipe: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["./run.sh", *args], cwd=recipe, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.parametrize("corpus", sorted(MAKERS))
def test_recipe_end_to_end(corpus: str, tmp_path: Path, repo_env: dict[str, str]) -> None:
    corpus_dir = MAKERS[corpus](tmp_path / "corpus")
    recipe = copy_recipe(corpus, tmp_path / "recipe")
    (recipe / "conf" / "ser" / "tiny_svm.yaml").write_text(SVM_CONF)
    systems = ["conf/ser/tiny_svm.yaml", "conf/ser/tdnn_embedding_svm.yaml"]
    if corpus == "emodb":
        (recipe / "conf" / "ser" / "tiny_net.yaml").write_text(TINY_NETWORK_CONF)
        (recipe / "conf" / "ser" / "tiny_fusion.yaml").write_text(FUSION_CONF)
        systems += ["conf/ser/tiny_net.yaml", "conf/ser/tiny_fusion.yaml"]
    r = run_recipe(recipe, "--corpus-dir", str(corpus_dir), "--systems", " ".join(systems),
                   env=repo_env)
    assert r.returncode == 0, r.stderr[-3000:]
    # without a pretrained model the embedding system is skipped, with a note
    assert "tdnn_embedding_svm.yaml needs --pretrained-exp; not run" in r.stderr
    table = (recipe / "exp" / "ser" / "results.md").read_text()
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| tiny")]
    assert [row[0] for row in rows] == ["| tiny_svm"] + (
        ["| tiny_net", "| tiny_fusion"] if corpus == "emodb" else [])
    results = json.loads((recipe / "exp" / "ser" / "tiny_svm" / "results.json").read_text())
    assert len(results["folds"]) == NUM_FOLDS[corpus]
    assert results["rule"] == "utterance"
    for fold in results["folds"]:  # no test speaker in its fold's training part
        fold_dir = recipe / "exp" / "ser" / "tiny_svm" / f"fold_{fold}" / "data"
        train = {line.split()[1] for line in (fold_dir / "train" / "utt2spk").open()}
        test = {line.split()[1] for line in (fold_dir / "test" / "utt2spk").open()}
        assert train and test and not train & test
    assert (recipe / "exp" / "ser" / "tiny_svm" / "final" / "final.npz").is_file()

    rerun = run_recipe(recipe, "--corpus-dir", str(corpus_dir), "--systems", " ".join(systems),
                       env=repo_env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "=== stage" not in rerun.stderr  # every stage complete: nothing redone
    if corpus == "emodb":
        _, fused = read_vectors(recipe / "data" / "emodb_egemaps+compare")
        assert fused.shape == (42, 88 + 6373)  # both functionals sets side by side
        check_predict(recipe, corpus_dir / "wav", repo_env)


def predict(recipe: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["steps/predict_ser.sh", *args], cwd=recipe, env=env,
                          capture_output=True, text=True, timeout=600)


def check_predict(recipe: Path, wav_dir: Path, env: dict[str, str]) -> None:
    """steps/predict_ser.sh labels a folder of wav files with the final models of the
    recipe: the SVM (per-speaker normalisation: all files one speaker) and the network
    (with frame scores); a per-file SVM run is refused, naming why."""
    wavs = sorted(p.stem for p in wav_dir.glob("*.wav"))
    r = predict(recipe, "--speakers", "one", "exp/ser/tiny_svm/final", str(wav_dir),
                "exp/predict/svm", env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = (recipe / "exp/predict/svm/labels.tsv").read_text().splitlines()
    classes = ["ang", "bor", "dis", "fea", "hap", "neu", "sad"]
    assert lines[0].split("\t") == ["utt", "label", *classes]
    assert [line.split("\t")[0] for line in lines[1:]] == wavs
    labels = json.loads((recipe / "exp/predict/svm/labels.json").read_text())
    assert labels["rule"] == "utterance" and set(labels["utterances"]) == set(wavs)
    assert all(u["label"] in classes for u in labels["utterances"].values())

    r = predict(recipe, "exp/ser/tiny_svm/final", str(wav_dir), "exp/predict/svm_per_file",
                env=env)
    assert r.returncode != 0 and "per-speaker normalisation needs several" in r.stderr

    r = predict(recipe, "exp/ser/tiny_net/final", str(wav_dir), "exp/predict/net", env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    labels = json.loads((recipe / "exp/predict/net/labels.json").read_text())
    posteriors = [sum(u["scores"].values()) for u in labels["utterances"].values()]
    assert labels["rule"] == "sum_posteriors" and np.allclose(posteriors, 1, atol=1e-4)
    frames = (recipe / "exp/predict/net/scores/frame_log_posteriors.scp").read_text()
    assert len(frames.splitlines()) == len(wavs)


def systems_in(table: Path) -> list[str]:
    """The tiny systems' rows of a results table, by name."""
    return [line.split(" | ")[0] for line in table.read_text().splitlines()
            if line.startswith("| tiny")]


def test_urdu_resnet34_transfer_from_a_source_exp(tmp_path: Path,
                                                  repo_env: dict[str, str]) -> None:
    """The ResNet34 route of the URDU recipe: a source model trained by a recipe (here on
    the same fixture) is named per system as <conf>@<exp>; scratch and transfer land in
    one table, on the same speaker-independent folds."""
    corpus_dir = make_urdu(tmp_path / "corpus")
    recipe = copy_recipe("urdu", tmp_path / "recipe")
    one_epoch = '[{train: all, epochs: 1, lr: 0.001, batch_size: 8}]'
    confs = {"tiny_source": TINY_RESNET_CONF.format(init="random", phases=one_epoch),
             "tiny_scratch": TINY_RESNET_CONF.format(init="random", phases=one_epoch),
             "tiny_transfer": TINY_RESNET_CONF.format(init="pretrained", phases=(
                 '[{train: head, epochs: 1, lr: 0.001}, {train: all, epochs: 1, lr: 0.0001}]'))}
    for name, text in confs.items():
        (recipe / "conf" / "ser" / f"{name}.yaml").write_text(text)
    source = run_recipe(recipe, "--corpus-dir", str(corpus_dir), "--systems",
                        "conf/ser/tiny_source.yaml", "--stage-dir", "exp/stages_source",
                        env=repo_env)
    assert source.returncode == 0, source.stderr[-3000:]
    source_exp = "exp/ser/tiny_source/final"
    missing = run_recipe(recipe, "--corpus-dir", str(corpus_dir), "--systems",
                         "conf/ser/tiny_transfer.yaml@exp/nowhere", env=repo_env)
    assert missing.returncode != 0
    assert "conf/ser/tiny_transfer.yaml@exp/nowhere: no exp/nowhere/final.pt" in missing.stderr
    transfer_entry = f"conf/ser/tiny_transfer.yaml@{source_exp}"
    twice = run_recipe(recipe, "--corpus-dir", str(corpus_dir), "--systems",
                       f"{transfer_entry} {transfer_entry}", env=repo_env)
    assert twice.returncode != 0 and "two systems named tiny_transfer" in twice.stderr
    r = run_recipe(recipe, "--corpus-dir", str(corpus_dir), "--systems",
                   f"conf/ser/tiny_scratch.yaml conf/ser/tiny_transfer.yaml@{source_exp}",
                   "--reference", "tiny_scratch", "--stage-dir", "exp/stages_resnet34",
                   "--exp-dir", "exp/ser_resnet34", "--train-final", "false", env=repo_env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert systems_in(recipe / "exp/ser_resnet34/results.md") == ["| tiny_scratch",
                                                                   "| tiny_transfer"]
    assert systems_in(recipe / "exp/ser/results.md") == ["| tiny_source"]  # kept
    transfer = json.loads((recipe / "exp/ser_resnet34/tiny_transfer/results.json").read_text())
    scratch = json.loads((recipe / "exp/ser_resnet34/tiny_scratch/results.json").read_text())
    assert sorted(transfer["folds"]) == sorted(scratch["folds"])
    assert len(transfer["folds"]) == NUM_FOLDS["urdu"]
