"""The ASR recipes end to end (egs/TEMPLATE/asr1/asr.sh through each corpus's run.sh), on
small generated corpora with the corpus's real naming and layout and tiny confs."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from conftest import REPO
from sertl.align.alidir import AlignmentDir
from sertl.io import read_table
from sertl.models import load_file
from test_asr_data import TED_DIC, speechocean, stm_line, tedlium_set, timit_utterance

TINY_TDNN = {
    "model": {"type": "tdnn", "feat_dim": 40, "ivector_dim": 0, "input_splice": [-1, 0, 1],
              "layer_type": "tdnnf", "hidden_dim": 32, "bottleneck_dim": 8,
              "time_strides": [0, 1, 3], "prefinal_dim": 32, "prefinal_bottleneck_dim": 8,
              "frame_subsampling_factor": 3},
    "data": {"feature_type": "mfcc_hires", "apply_cmvn": True, "chunk_width": 30,
             "num_valid_speakers": 1},
    "training": {"num_epochs": 1, "batch_size": 4, "log_every_steps": 5},
}
TINY_ALIGN = {"classifier": {"context": 1, "hidden_dim": 32, "num_layers": 1},
              "training": {"epochs": 1, "batch_size": 256}}


def recipe_copy(name: str, dest: Path) -> Path:
    """egs/<name>/s5 copied to ``dest`` (its own data/ and exp/), running the repository's
    steps, utils, pipeline script, path.sh and cmd.sh."""
    src = REPO / "egs" / name / "s5"
    dest.mkdir(parents=True)
    for item in ("run.sh", "local", "conf"):
        (shutil.copytree if (src / item).is_dir() else shutil.copy)(src / item, dest / item)
    for link, target in (("steps", REPO / "steps"), ("utils", REPO / "utils"),
                         ("asr.sh", REPO / "egs" / "TEMPLATE" / "asr1" / "asr.sh")):
        (dest / link).symlink_to(target)
    (dest / "path.sh").write_text(f". {REPO}/path.sh\n")
    (dest / "cmd.sh").write_text(f". {REPO}/cmd.sh\n")
    return dest


def run_recipe(s5: Path, env: dict[str, str], *args: str) -> str:
    run = subprocess.run(["./run.sh", *args], cwd=s5, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    return run.stderr


def tiny_confs(s5: Path, tdnn: dict = TINY_TDNN) -> list[str]:
    (s5 / "conf" / "tiny.yaml").write_text(yaml.safe_dump(tdnn))
    (s5 / "conf" / "tiny_align.yaml").write_text(yaml.safe_dump(TINY_ALIGN))
    return ["--asr-config", "conf/tiny.yaml", "--align-config", "conf/tiny_align.yaml",
            "--align-opts", "--num-iters 1 --num-states 1 --final-single false", "--nj", "1"]


def check_source_model(s5: Path, exp: str, test_sets: list[str]) -> dict:
    """The exp dir the SER recipes take, and the VAD of every feature set from the 13-dim
    energy MFCCs."""
    for name in ("final.pt", "config.yaml", "final_metrics.json", "results.md"):
        assert (s5 / exp / name).is_file(), name
    for test in test_sets:
        scores = json.loads((s5 / exp / f"eval_{test}" / "scores.json").read_text())
        assert scores["utterances"] > 0 and 0 <= scores["fer"] <= 1
        assert f"| {test} |" in (s5 / exp / "results.md").read_text()
    for data in (s5 / "data").glob("*_hires"):
        mfcc = data.with_name(data.name.replace("_hires", "_mfcc"))
        assert read_table(data / "vad.scp") == read_table(mfcc / "vad.scp")
        assert "vad_" in next(iter(read_table(mfcc / "vad.scp").values()))
    return scores


def test_speechocean762_recipe(tmp_path, repo_env):
    corpus = speechocean(tmp_path / "speechocean762", num_spk=4, seconds=1.5)
    s5 = recipe_copy("speechocean762", tmp_path / "s5")
    run_recipe(s5, repo_env, "--corpus-dir", str(corpus), "--stop-stage", "0",
               "--prepare-data-opts", "--num-heldout-spk 1")
    assert (s5 / "data" / "heldout" / "text").is_file() and not (s5 / "data" / "lang").exists()
    log = run_recipe(s5, repo_env, "--corpus-dir", str(corpus), "--prepare-data-opts",
                     "--num-heldout-spk 1", "--realign", "true", *tiny_confs(s5))
    assert "stage 0 (data prep" in log and "complete, skipping" in log
    check_source_model(s5, "exp/tiny", ["heldout"])
    # realigned with the TDNN-F (outputs every 3rd frame, run at 3 offsets): every frame
    # of every utterance gets one of the model's phone targets
    check_source_model(s5, "exp/tiny_realigned", ["heldout"])
    realigned = AlignmentDir.load(s5 / "exp" / "tiny_ali_train")
    assert realigned.targets == load_file(s5 / "exp" / "tiny" / "final.pt")["targets"]
    num_frames = read_table(s5 / "data" / "train_hires" / "utt2num_frames")
    assert {u: str(len(realigned.targets_of(u))) for u in realigned.ali} == num_frames
    phones = len(read_table(s5 / "data" / "lang" / "phones.txt")) - 1  # SIL SPN W IY ...
    assert (s5 / "exp" / "mono_ali_train_phones" / "num_targets").read_text() == f"{phones}\n"


def timit_sample(root: Path) -> Path:
    """The NLTK sample layout: dr<n>-<speaker>/<sentence>.{wav,phn,wrd,txt}, 3 speakers."""
    for spk in ("dr1-fvmh0", "dr2-marc0", "dr3-falk0"):
        for sent in ("si1466", "sx26", "sx116"):
            timit_utterance(root / spk, sent, upper=False)
    return root


TINY_CONVNET = {
    "model": {"type": "convnet", "feat_dim": 40, "context": 3, "conv_channels": [4],
              "conv_kernels": [[3, 3]], "pool": 2, "fc_dims": [16]},
    "data": {"feature_type": "fbank", "apply_cmvn": True, "chunk_width": 8,
             "num_valid_speakers": 1},
    "training": {"num_epochs": 1, "batch_size": 16, "log_every_steps": 5},
}


def test_timit_recipe_on_the_nltk_sample_layout(tmp_path, repo_env):
    corpus = timit_sample(tmp_path / "timit_sample")
    s5 = recipe_copy("timit", tmp_path / "s5")
    run_recipe(s5, repo_env, "--corpus-dir", str(corpus), "--train-set", "sample",
               "--test-sets", "", *tiny_confs(s5, TINY_CONVNET))
    scores = check_source_model(s5, "exp/tiny", ["valid"])
    # 61 phones trained (with 1 state each here), scored on the 39-phone set
    assert len(read_table(s5 / "exp" / "mono_ali_sample" / "targets.txt")) == \
        len(read_table(s5 / "data" / "lang" / "phones.txt")) - 1
    hyp = " ".join(read_table(s5 / "exp" / "tiny" / "eval_valid" / "hyp").values()).split()
    ref = " ".join(read_table(s5 / "exp" / "tiny" / "eval_valid" / "ref").values()).split()
    assert {"h#", "pau", "bcl", "ax-h"}.isdisjoint(ref + hyp) and "sil" in ref
    assert scores["phones"] > 0


def tedlium_release2(root: Path) -> Path:
    """TEDLIUM_release2/{train,dev,test}/{sph,stm}/<talk>.*: 3 training talks, one each
    for dev and test, 3 segments per talk."""
    talks = {"train": ["AlGore_2009", "BillGates_2010", "JaneGoodall_2002"],
             "dev": ["DanBarber_2010"], "test": ["JaneMcGonigal_2010"]}
    for name, names in talks.items():
        for talk in names:
            tedlium_set(root / name, talk, [
                stm_line(talk, 0.2, 1.9, "hello world"),
                stm_line(talk, 2.0, 3.9, "about world <sil> hello(2)"),
                stm_line(talk, 4.0, 5.9, "hello about it 's {NOISE}")])
    (root / "TEDLIUM.152k.dic").write_text(TED_DIC)
    return root


def test_tedlium_recipe_with_online_ivectors(tmp_path, repo_env):
    corpus = tedlium_release2(tmp_path / "TEDLIUM_release2")
    s5 = recipe_copy("tedlium", tmp_path / "s5")
    tdnn = {**TINY_TDNN, "model": {**TINY_TDNN["model"], "ivector_dim": 10},
            "data": {**TINY_TDNN["data"], "apply_cmvn": False}}
    run_recipe(s5, repo_env, "--corpus-dir", str(corpus), *tiny_confs(s5, tdnn),
               "--num-gauss", "4", "--ubm-opts", "--num-iters 1 --num-frames 2000",
               "--ivector-opts", "--ivector-dim 10 --num-iters 1 --gaussian-min-count 1",
               "--train-opts", "--use-gpu false")
    check_source_model(s5, "exp/tiny", ["dev", "test"])
    assert (s5 / "exp" / "ivector" / "online_dev" / "ivector_online.scp").is_file()
    assert read_table(s5 / "data" / "train_hires" / "segments")
