"""The utterance-vector SER systems (sertl.ser.svm, functionals, embeddings), the system
confs and the paired results table."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import opensmile
import pytest
import torch
from sklearn.svm import SVC

from conftest import REPO, speech_like
from sertl.bin import ser_results, ser_system
from sertl.config import ConfigError
from sertl.io import read_table, write_ark_scp, write_table
from sertl.models import build_model, model_config_from_dict, save_model
from sertl.ser.embedding import pool, utterance_embeddings
from sertl.ser.functionals import FunctionalsExtractor
from sertl.ser.svm import (LinearModel, SvmOptions, choose_c, read_vectors,
                           standardise_per_speaker, train_linear_model)
from sertl.ser.system import SvmConfig, data_suffix, load_system_config


def toy_vectors(num_speakers: int = 4, per_class: int = 3, dim: int = 6, seed: int = 0):
    """Vectors whose class shows in the first dims, with a large per-speaker offset."""
    rng = np.random.default_rng(seed)
    classes = ["ang", "hap", "neu"]
    rows, labels, speakers = [], [], []
    for s in range(num_speakers):
        offset = rng.normal(0, 20, dim)
        for c, cls in enumerate(classes):
            for _ in range(per_class):
                v = rng.normal(0, 1, dim) + offset
                v[c] += 4
                rows.append(v), labels.append(cls), speakers.append(f"s{s}")
    return np.array(rows), labels, speakers, classes


def test_per_speaker_standardisation_uses_each_speakers_own_rows():
    x, _, speakers, _ = toy_vectors()
    z = standardise_per_speaker(x, speakers)
    for spk in set(speakers):
        rows = np.array(speakers) == spk
        assert np.allclose(z[rows].mean(axis=0), 0) and np.allclose(z[rows].std(axis=0), 1)
    # a speaker's result does not depend on any other speaker's rows
    first = np.array(speakers) == "s0"
    assert np.allclose(standardise_per_speaker(x[first], ["s0"] * first.sum()), z[first])


@pytest.mark.parametrize("normalisation", ["speaker", "train"])
def test_saved_model_predicts_as_libsvm(tmp_path, normalisation):
    x, labels, speakers, classes = toy_vectors()
    model, report = train_linear_model(x[:27], labels[:27], speakers[:27], classes,
                                       normalisation, SvmOptions(c_grid=[0.1]))
    model.save(tmp_path / "final.npz")
    loaded = LinearModel.load(tmp_path / "final.npz")
    if normalisation == "speaker":
        z_train = standardise_per_speaker(x[:27], speakers[:27])
        z_test = standardise_per_speaker(x[27:], speakers[27:])
    else:
        mean, std = x[:27].mean(axis=0), x[:27].std(axis=0)
        z_train, z_test = (x[:27] - mean) / std, (x[27:] - mean) / std
    svc = SVC(kernel="linear", C=0.1, class_weight="balanced").fit(z_train, labels[:27])
    hyps = [classes[i] for i in loaded.scores(x[27:], speakers[27:]).argmax(axis=1)]
    assert hyps == list(svc.predict(z_test))
    assert report["c"] == 0.1
    if normalisation == "speaker":  # the speakers' offsets hide the classes otherwise
        assert report["train_ua"] > 0.9


def test_binary_scores_rank_as_the_decision_value():
    x, labels, speakers, _ = toy_vectors()
    keep = [i for i, label in enumerate(labels) if label != "neu"]
    x, labels, speakers = x[keep], [labels[i] for i in keep], [speakers[i] for i in keep]
    model, _ = train_linear_model(x, labels, speakers, ["ang", "hap"], "train",
                                  SvmOptions(c_grid=[1.0]))
    scores = model.scores(x, speakers)
    decision = ((x - model.mean) / model.scale) @ model.weights[0] + model.bias[0]
    margin = scores[:, 1] - scores[:, 0]
    order = np.argsort(decision)
    assert np.all(np.diff(margin[order]) >= -1e-12)  # larger decision: more "hap"
    z = (x - model.mean) / model.scale  # the labels libsvm itself gives
    svc = SVC(kernel="linear", C=1.0, class_weight="balanced").fit(z, labels)
    assert [model.classes[i] for i in scores.argmax(axis=1)] == list(svc.predict(z))


def test_c_is_chosen_on_training_speakers_only():
    x, labels, speakers, _ = toy_vectors(num_speakers=3)
    best, ua = choose_c(x, labels, speakers, "speaker", SvmOptions(c_grid=[1e-4, 1.0],
                                                                    inner_folds=3))
    assert set(ua) == {1e-4, 1.0} and best in ua
    with pytest.raises(ValueError, match="at least 2 training speakers"):
        choose_c(x[:9], labels[:9], speakers[:9], "speaker", SvmOptions(c_grid=[0.1, 1.0]))


def test_functionals_equal_opensmile_on_unit_scale_audio():
    samples = speech_like(1.0)
    extractor = FunctionalsExtractor("eGeMAPSv02")
    row = extractor(samples)
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    expected = smile.process_signal(samples / 32768.0, 16000).to_numpy()
    assert row.shape == (1, 88) and np.allclose(row, expected, rtol=1e-5)


def test_embeddings_pool_voiced_frames_of_the_cut_layer(tmp_path):
    config = model_config_from_dict({"type": "tdnn", "feat_dim": 8, "ivector_dim": 0,
                                     "hidden_dim": 16, "bottleneck_dim": 8,
                                     "time_strides": [0, 1, 1, 0], "prefinal_dim": 16,
                                     "prefinal_bottleneck_dim": 8}, "test")
    model_path = tmp_path / "final.pt"
    save_model(model_path, build_model(config, 5),
               {"feature_type": "mfcc_hires", "feat_dim": 8, "ivector_dim": 0,
                "apply_cmvn": False, "norm_vars": False}, [f"t{i}" for i in range(5)], None)
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    feats = [(f"s1-u{i}", rng.normal(size=(40 + i, 8)).astype(np.float32)) for i in range(2)]
    write_ark_scp(tmp_path / "f.ark", data / "feats.scp", feats)
    write_ark_scp(tmp_path / "v.ark", data / "vad.scp",
                  [(u, (np.arange(len(f)) >= 9).astype(np.float32)) for u, f in feats])
    write_table(data / "utt2spk", {u: "s1" for u, _ in feats})
    out = list(utterance_embeddings(model_path, "tdnn2", "mean_std", data, None,
                                    torch.device("cpu")))
    assert [u for u, _ in out] == ["s1-u0", "s1-u1"] and out[0][1].shape == (1, 32)
    frames = np.arange(12.0).reshape(4, 3)
    assert np.allclose(pool(frames, np.array([False, True, True, False]), "mean"), [4.5, 5.5, 6.5])
    assert np.allclose(pool(frames, np.zeros(4, bool), "mean_std")[:3], frames.mean(axis=0))


def test_system_confs_and_queries(tmp_path, capsys):
    conf = tmp_path / "emb.yaml"
    conf.write_text("system: svm\ninput: {kind: embedding, layer: tdnn12}\n"
                    "normalisation: speaker\n")
    config = load_system_config(conf)
    assert isinstance(config, SvmConfig) and data_suffix(config) == "emb_tdnn12"
    for query, answer in (("kind", "svm"), ("rule", "utterance"),
                          ("needs-pretrained", "true"), ("input", "embedding tdnn12 mean_std")):
        assert ser_system.main([query, str(conf)]) == 0
        assert capsys.readouterr().out.strip() == answer
    assert ser_system.main(["data-suffix", str(REPO / "conf/ser/compare_svm_speakernorm.yaml")]) == 0
    assert capsys.readouterr().out.strip() == "compare"
    conf.write_text("system: svm\ninput: {kind: functionals, feature_set: IS09}\n"
                    "normalisation: speaker\n")
    with pytest.raises(ConfigError, match="feature_set"):
        load_system_config(conf)
    conf.write_text("system: forest\n")
    with pytest.raises(ConfigError, match="unknown kind 'forest'"):
        load_system_config(conf)


def fake_results(exp_dir: Path, per_fold_ua: dict[str, float],
                 auroc: float | None = None) -> None:
    exp_dir.mkdir(parents=True)
    per_fold = {f: {"ua": ua, "wa": ua, "macro_f1": ua} for f, ua in per_fold_ua.items()}
    summary = {n: {"mean": float(np.mean(list(per_fold_ua.values()))), "std": 0.01}
               for n in ("ua", "wa", "macro_f1")}
    summary["auroc"] = {"mean": auroc, "std": None if auroc is None else 0.02}
    results = {"rule": "utterance", "folds": list(per_fold_ua), "rules": {"utterance": {
        "per_fold": per_fold, "summary": summary, "pooled": {"ua": 0.5, "auroc": auroc}}}}
    (exp_dir / "results.json").write_text(json.dumps(results))


def test_table_pairs_differences_over_folds(tmp_path):
    fake_results(tmp_path / "scratch", {"a": 0.5, "b": 0.6, "c": 0.7})
    fake_results(tmp_path / "transfer", {"a": 0.6, "b": 0.65, "c": 0.9})
    fake_results(tmp_path / "other", {"a": 0.6, "d": 0.65, "c": 0.9})
    text = ser_results.ablations_markdown([tmp_path / "scratch", tmp_path / "transfer"],
                                          "cmd", [tmp_path / "scratch", tmp_path / "transfer"])
    rows = [line for line in text.splitlines() if line.startswith("| scratch")
            or line.startswith("| transfer")]
    assert rows[0].split(" | ")[-2] == "reference"
    assert "+11.7 ± 7.6 (3/3 folds better, p " in rows[1] and rows[1].endswith("reference |")
    assert "-11.7 ± 7.6 (0/3 folds better, p " in rows[0]
    with pytest.raises(ValueError, match="folds differ"):
        ser_results.ablations_markdown([tmp_path / "other"], "cmd", [tmp_path / "scratch"])
    assert "AUROC" not in text  # more than two classes: no AUROC columns


def test_table_of_detectors_gives_their_auroc(tmp_path):
    fake_results(tmp_path / "scratch", {"a": 0.5, "b": 0.6}, auroc=0.9)
    fake_results(tmp_path / "transfer", {"a": 0.6, "b": 0.75}, auroc=0.95)
    text = ser_results.ablations_markdown([tmp_path / "scratch", tmp_path / "transfer"],
                                          "cmd", [tmp_path / "scratch"])
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| system"))
    assert "| pooled UA % | AUROC % | pooled AUROC % | ΔUA vs scratch |" in header
    row = next(line for line in lines if line.startswith("| transfer"))
    assert "| 95.0 ± 2.0 | 95.0 | +12.5" in row


def test_train_and_score_svm_tools(tmp_path):
    x, labels, speakers, _ = toy_vectors()
    data = tmp_path / "data"
    data.mkdir()
    utts = [f"{s}-u{i:02d}" for i, s in enumerate(speakers)]
    write_ark_scp(tmp_path / "v.ark", data / "feats.scp",
                  [(u, row[None, :].astype(np.float32)) for u, row in zip(utts, x)])
    write_table(data / "utt2spk", dict(zip(utts, speakers)))
    write_table(data / "utt2emo", dict(zip(utts, labels)))
    conf = tmp_path / "svm.yaml"
    conf.write_text("system: svm\ninput: {kind: functionals, feature_set: ComParE_2016}\n"
                    "normalisation: speaker\nsvm: {c_grid: [0.01, 1.0], inner_folds: 2}\n")
    env_run = lambda *a: subprocess.run(["python", "-m", *a], cwd=REPO, capture_output=True,
                                        text=True)
    r = env_run("sertl.bin.train_svm", "--config", str(conf), str(data), "none",
                str(tmp_path / "exp"))
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "exp" / "final_metrics.json").read_text())
    assert set(report["inner_ua"]) == {"0.01", "1.0"}
    r = env_run("sertl.bin.score_svm", str(data), str(tmp_path / "exp"), str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["utterance"]["ua"] > 0.9
    assert read_vectors(data)[1].shape == (36, 6)
    assert read_table(tmp_path / "out" / "scores_utterance.txt")  # written


def test_fusion_conf_names_its_parts(tmp_path, capsys):
    conf = REPO / "conf/ser/compare_emb_svm_speakernorm.yaml"
    config = load_system_config(conf)
    assert data_suffix(config) == "compare+emb_tdnn12"
    assert ser_system.main(["parts", str(conf)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "compare functionals ComParE_2016", "emb_tdnn12 embedding tdnn12 mean_std"]
    assert ser_system.main(["needs-pretrained", str(conf)]) == 0
    assert capsys.readouterr().out.strip() == "true"
    bad = tmp_path / "bad.yaml"
    for parts, message in (("[]", "a fusion needs them"),
                           ("[{kind: functionals, feature_set: eGeMAPSv02}]", "2 or more"),
                           ("[{kind: fusion, parts: [{kind: embedding, layer: a},"
                            " {kind: embedding, layer: b}]}, {kind: embedding, layer: c}]",
                            "none a fusion")):
        bad.write_text(f"system: svm\ninput: {{kind: fusion, parts: {parts}}}\n"
                       "normalisation: speaker\n")
        with pytest.raises(ConfigError, match=message):
            load_system_config(bad)


def test_paste_vectors_concatenates_per_utterance(tmp_path):
    dirs = []
    for name, dim in (("a", 3), ("b", 2)):
        d = tmp_path / name
        d.mkdir()
        write_ark_scp(tmp_path / f"{name}.ark", d / "feats.scp",
                      [(u, np.full((1, dim), i + (10 if name == "b" else 0), np.float32))
                       for i, u in enumerate(["s1-u1", "s1-u2"])])
        dirs.append(d)
    r = subprocess.run(["python", "-m", "sertl.bin.paste_vectors", str(tmp_path / "f.ark"),
                        str(tmp_path / "f.scp"), *map(str, dirs)], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (tmp_path / "fused").mkdir()
    (tmp_path / "f.scp").rename(tmp_path / "fused" / "feats.scp")
    utts, vectors = read_vectors(tmp_path / "fused")
    assert utts == ["s1-u1", "s1-u2"]
    assert vectors.tolist() == [[0, 0, 0, 10, 10], [1, 1, 1, 11, 11]]
    write_table(dirs[1] / "feats.scp", {"s1-u1": read_table(dirs[1] / "feats.scp")["s1-u1"]})
    r = subprocess.run(["python", "-m", "sertl.bin.paste_vectors", str(tmp_path / "g.ark"),
                        str(tmp_path / "g.scp"), *map(str, dirs)], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 1 and "'s1-u2' is in only one of" in r.stderr
