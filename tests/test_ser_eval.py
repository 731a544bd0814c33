"""SER scoring and evaluation: aggregation rules, metrics against scikit-learn, fold
hygiene, results tables and plots, and steps/eval_ser.sh end to end on a tiny data dir."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score, roc_auc_score

from conftest import REPO
from sertl.bin import make_folds, score_ser, ser_results
from sertl.io import read_table, write_ark_scp
from sertl.ser import folds as ser_folds
from sertl.ser.aggregate import RULES, utterance_scores
from sertl.ser.folds import (FoldError, check_fold_hygiene, folds_by_speaker,
                             folds_from_utt2fold, read_fold_list)
from sertl.ser.metrics import (UtteranceScores, compute_metrics, pool_scores, read_scores,
                               summarize_folds, write_scores)


def log_of(posteriors: list[list[float]]) -> np.ndarray:
    return np.log(np.array(posteriors, dtype=np.float32))


# ---------------------------------------------------------------- aggregation

POSTERIORS = [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]]
ALL_VOICED = np.ones(3, dtype=bool)


def test_sum_posteriors_is_the_mean_posterior():
    scores = utterance_scores(log_of(POSTERIORS), ALL_VOICED, "sum_posteriors", 3)
    np.testing.assert_allclose(scores, [1.4 / 3, 0.6 / 3, 1.0 / 3], rtol=1e-6)
    assert scores.argmax() == 0


def test_mean_log_posterior():
    scores = utterance_scores(log_of(POSTERIORS), ALL_VOICED, "mean_log_posterior", 3)
    expected = np.log(POSTERIORS).mean(axis=0)
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    # The one confident frame of class 2 cannot outweigh two frames for class 0 in sums,
    # but the log rule punishes class 0's 0.1 more than class 2's 0.1s: here class 0 wins.
    assert scores.argmax() == 0


def test_majority_vote_share():
    scores = utterance_scores(log_of(POSTERIORS), ALL_VOICED, "majority", 3)
    mean = np.mean(POSTERIORS, axis=0)
    np.testing.assert_allclose(scores, (np.array([2, 0, 1]) + mean) / 4, rtol=1e-6)
    assert scores.sum() == pytest.approx(1.0)


def test_majority_tie_goes_to_larger_summed_posterior():
    # Two votes each for classes 0 and 1; class 1's posteriors sum higher.
    posteriors = [[0.55, 0.45], [0.55, 0.45], [0.1, 0.9], [0.1, 0.9]]
    scores = utterance_scores(log_of(posteriors), np.ones(4, bool), "majority", 2)
    assert scores.argmax() == 1
    # ... and a single extra vote still beats any posterior mass.
    posteriors = [[0.51, 0.49]] * 3 + [[0.0001, 0.9999]] * 2
    scores = utterance_scores(log_of(posteriors), np.ones(5, bool), "majority", 2)
    assert scores.argmax() == 0


def test_silence_column_dropped_and_renormalised():
    # Class 2 is silence: it dominates frame 0, which still counts with its emotion
    # posteriors renormalised (0.08/0.1, 0.02/0.1).
    posteriors = [[0.08, 0.02, 0.9], [0.3, 0.6, 0.1]]
    for rule in RULES:
        scores = utterance_scores(log_of(posteriors), np.ones(2, bool), rule, 2)
        assert scores.shape == (2,)
    scores = utterance_scores(log_of(posteriors), np.ones(2, bool), "sum_posteriors", 2)
    np.testing.assert_allclose(scores, [(0.8 + 1 / 3) / 2, (0.2 + 2 / 3) / 2], rtol=1e-6)


def test_only_voiced_frames_count_unless_none_is():
    posteriors = [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]
    voiced = np.array([True, False, False])
    for rule in RULES:
        assert utterance_scores(log_of(posteriors), voiced, rule, 2).argmax() == 0
    np.testing.assert_allclose(
        utterance_scores(log_of(posteriors), voiced, "sum_posteriors", 2), [0.9, 0.1],
        rtol=1e-6)
    unvoiced = utterance_scores(log_of(posteriors), np.zeros(3, bool), "sum_posteriors", 2)
    np.testing.assert_allclose(unvoiced, np.mean(posteriors, axis=0), rtol=1e-6)


def test_aggregation_errors():
    with pytest.raises(ValueError, match="unknown aggregation rule 'vote'"):
        utterance_scores(log_of(POSTERIORS), ALL_VOICED, "vote", 3)
    with pytest.raises(ValueError, match="2 voicing decisions for 3 frames"):
        utterance_scores(log_of(POSTERIORS), np.ones(2, bool), "majority", 3)
    with pytest.raises(ValueError, match="do not hold 4 emotion columns"):
        utterance_scores(log_of(POSTERIORS), ALL_VOICED, "majority", 4)


# ---------------------------------------------------------------- metrics

def table_of(refs: list[str], hyps: list[str], classes: list[str],
             scores: np.ndarray | None = None) -> UtteranceScores:
    if scores is None:
        scores = np.array([[float(h == c) for c in classes] for h in hyps])
    utts = [f"u{i:02d}" for i in range(len(refs))]
    return UtteranceScores(classes, utts, refs, hyps, scores)


def test_metrics_equal_sklearn_and_hand_computed_ua():
    refs = ["ang", "ang", "ang", "hap", "hap", "sad"]
    hyps = ["ang", "ang", "hap", "hap", "sad", "sad"]
    m = compute_metrics(table_of(refs, hyps, ["ang", "hap", "sad"]))
    assert m["ua"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert m["ua"] == pytest.approx(recall_score(refs, hyps, average="macro"))
    assert m["wa"] == pytest.approx(accuracy_score(refs, hyps)) == pytest.approx(4 / 6)
    assert m["macro_f1"] == pytest.approx(f1_score(refs, hyps, average="macro"))
    assert m["per_class_recall"] == pytest.approx({"ang": 2 / 3, "hap": 0.5, "sad": 1.0})
    assert m["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert m["auroc"] is None and m["utterances"] == 6


def test_ua_averages_over_classes_present_and_skips_unlabelled():
    # 'sad' is a class but absent from the references: UA is over ang and hap; a wrong
    # 'sad' hypothesis still costs ang's recall. The '-' utterance is left out.
    refs = ["ang", "ang", "hap", "-"]
    hyps = ["ang", "sad", "hap", "ang"]
    m = compute_metrics(table_of(refs, hyps, ["ang", "hap", "sad"]))
    assert m["ua"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["per_class_recall"]["sad"] is None
    assert m["wa"] == pytest.approx(2 / 3) and m["utterances"] == 3


def test_binary_auroc_on_positive_class_score():
    refs = ["neg", "pos", "neg", "pos", "pos"]
    pos = np.array([0.2, 0.9, 0.6, 0.4, 0.7])
    scores = np.stack([1 - pos, pos], axis=1)
    hyps = ["pos" if p > 0.5 else "neg" for p in pos]
    m = compute_metrics(table_of(refs, hyps, ["neg", "pos"], scores))
    assert m["auroc"] == pytest.approx(roc_auc_score([r == "pos" for r in refs], pos))


def test_scores_file_round_trip_and_errors(tmp_path):
    table = table_of(["a", "b", "-"], ["a", "a", "b"], ["a", "b"],
                     np.array([[0.75, 0.25], [0.5, 0.125], [-3.5, -0.25]]))
    path = tmp_path / "scores_x.txt"
    write_scores(path, table)
    assert path.read_text().splitlines()[:2] == ["# utt ref hyp a b", "u00 a a 0.75 0.25"]
    back = read_scores(path)
    assert (back.utts, back.refs, back.hyps, back.classes) == (
        table.utts, table.refs, table.hyps, table.classes)
    np.testing.assert_array_equal(back.scores, table.scores)
    path.write_text("# utt ref hyp a b\nu1 a a 0.5\n")
    with pytest.raises(ValueError, match=r"scores_x.txt:2: expected utt, ref, hyp and 2"):
        read_scores(path)
    path.write_text("# utt ref hyp a b\nu1 c a 0.5 0.5\n")
    with pytest.raises(ValueError, match="utterance 'u1': reference 'c' is not one of"):
        read_scores(path)


def test_pooling_and_fold_summary():
    one = table_of(["a", "b"], ["a", "a"], ["a", "b"])
    two = table_of(["a", "b"], ["a", "b"], ["a", "b"])
    pooled = compute_metrics(pool_scores([one, two]))
    assert pooled["wa"] == pytest.approx(3 / 4) and pooled["utterances"] == 4
    summary = summarize_folds([compute_metrics(one), compute_metrics(two)])
    assert summary["ua"]["mean"] == pytest.approx(0.75)
    assert summary["ua"]["std"] == pytest.approx(np.std([0.5, 1.0], ddof=1))
    assert summary["per_class_recall"]["b"] == pytest.approx(
        {"mean": 0.5, "std": np.std([0, 1], ddof=1), "folds": 2})
    with pytest.raises(ValueError, match="class lists differ"):
        pool_scores([one, table_of(["a"], ["a"], ["a", "c"])])


# ---------------------------------------------------------------- folds

UTT2SPK = {"s1-u1": "s1", "s1-u2": "s1", "s2-u1": "s2", "s2-u2": "s2", "s3-u1": "s3"}


def test_speaker_split_across_folds_is_an_error_naming_it():
    utt2fold = {"s1-u1": "1", "s1-u2": "2", "s2-u1": "2", "s2-u2": "2", "s3-u1": "3"}
    with pytest.raises(FoldError, match="speaker 's1' is in the test part of fold '1' "
                       r"\(utterance 's1-u1'\) and in its training part \(utterance "
                       "'s1-u2', in the test part of fold '2'\\)"):
        check_fold_hygiene(folds_from_utt2fold(utt2fold), UTT2SPK)
    # A fold list that leaves one of s2's utterances out of s2's test fold.
    with pytest.raises(FoldError, match=r"speaker 's2' is in the test part of fold 'b' "
                       r"\(utterance 's2-u1'\) and in its training part "
                       r"\(utterance 's2-u2'\)"):
        check_fold_hygiene({"a": ["s1-u1", "s1-u2"], "b": ["s2-u1"]}, UTT2SPK)


def test_generated_folds_never_share_speakers():
    by_speaker = folds_by_speaker(UTT2SPK)
    assert by_speaker == {"s1": ["s1-u1", "s1-u2"], "s2": ["s2-u1", "s2-u2"], "s3": ["s3-u1"]}
    by_session = folds_from_utt2fold({u: "1" if s == "s3" else "2"
                                      for u, s in UTT2SPK.items()})
    for folds in (by_speaker, by_session):
        check_fold_hygiene(folds, UTT2SPK)
        for fold, test in folds.items():
            train = set(UTT2SPK) - set(test)
            assert not {UTT2SPK[u] for u in test} & {UTT2SPK[u] for u in train}, fold


def test_folds_need_test_and_training_utterances():
    with pytest.raises(FoldError, match="fold 'all' has 5 of 5 utterances"):
        check_fold_hygiene({"all": list(UTT2SPK)}, UTT2SPK)
    with pytest.raises(FoldError, match="fold id 'a/b' cannot name a directory"):
        check_fold_hygiene({"a/b": ["s3-u1"]}, UTT2SPK)


def test_fold_list_errors_name_the_line(tmp_path):
    path = tmp_path / "folds"
    path.write_text("A s1-u1 s1-u2\nB s2-u1 s9-u1\n")
    with pytest.raises(FoldError, match=r"folds:2: fold 'B': utterance 's9-u1' is not"):
        read_fold_list(path, list(UTT2SPK))
    path.write_text("A s1-u1 s1-u2\nB s1-u2\n")
    with pytest.raises(FoldError, match=r"folds:2: utterance 's1-u2' is in fold 'B' and"):
        read_fold_list(path, list(UTT2SPK))


def write_data_dir(path, tables: dict[str, dict[str, str]]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        (path / name).write_text("".join(f"{k} {v}\n" for k, v in sorted(table.items())))


def test_folds_cli_writes_parts_and_refuses_changed_folds(tmp_path, capsys):
    data, exp = tmp_path / "data", tmp_path / "exp"
    write_data_dir(data, {"utt2spk": UTT2SPK})
    assert make_folds.main(["--by-speaker", str(data), str(exp)]) == 0
    assert read_table(exp / "folds") == {"s1": "s1-u1 s1-u2", "s2": "s2-u1 s2-u2",
                                         "s3": "s3-u1"}
    assert (exp / "fold_s2" / "test.utts").read_text() == "s2-u1\ns2-u2\n"
    assert (exp / "fold_s2" / "train.utts").read_text() == "s1-u1\ns1-u2\ns3-u1\n"
    fold_list = tmp_path / "list"
    fold_list.write_text("x s1-u1 s1-u2\n")
    assert make_folds.main(["--fold-list", str(fold_list), str(data), str(exp)]) == 1
    assert "differ from these" in capsys.readouterr().err


# ---------------------------------------------------------------- results

def fake_eval_dir(exp, classes: list[str], folds: dict[str, list[tuple[str, str]]]) -> None:
    """An eval_ser.sh dir: folds file and per-fold scores (refs, hyps) for every rule."""
    exp.mkdir(parents=True)
    (exp / "folds").write_text("".join(
        f"{fold} {' '.join(f'{fold}-u{i}' for i in range(len(pairs)))}\n"
        for fold, pairs in folds.items()))
    for fold, pairs in folds.items():
        refs = [r for r, _ in pairs]
        for rule_index, rule in enumerate(RULES):
            hyps = [h if rule_index == 0 else r for r, h in pairs]  # other rules: perfect
            scores = np.array([[0.9 if h == c else 0.1 for c in classes] for h in hyps])
            table = UtteranceScores(classes, [f"{fold}-u{i}" for i in range(len(pairs))],
                                    refs, hyps, scores)
            (exp / f"fold_{fold}" / "test").mkdir(parents=True, exist_ok=True)
            write_scores(exp / f"fold_{fold}" / "test" / f"scores_{rule}.txt", table)


def test_results_tables_and_plot(tmp_path):
    exp = tmp_path / "exp"
    fake_eval_dir(exp, ["ang", "neu"], {
        "1": [("ang", "ang"), ("ang", "neu"), ("neu", "neu")],
        "2": [("ang", "ang"), ("neu", "neu"), ("neu", "ang"), ("neu", "neu")]})
    assert ser_results.main(["--command", "steps/eval_ser.sh x y z", "results",
                             "--rule", "sum_posteriors", str(exp)]) == 0
    results = json.loads((exp / "results.json").read_text())
    assert results["folds"] == ["1", "2"] and results["rule"] == "sum_posteriors"
    chosen = results["rules"]["sum_posteriors"]
    assert chosen["per_fold"]["1"]["ua"] == pytest.approx(0.75)
    assert chosen["per_fold"]["2"]["ua"] == pytest.approx((1 + 2 / 3) / 2)
    assert chosen["summary"]["ua"]["std"] == pytest.approx(np.std([0.75, 5 / 6], ddof=1))
    assert chosen["pooled"]["confusion"] == [[2, 1], [1, 3]]
    assert results["rules"]["majority"]["summary"]["ua"]["mean"] == 1.0
    md = (exp / "results.md").read_text()
    assert "Command: `steps/eval_ser.sh x y z`" in md
    assert "| 1 | 3 | 75.0 | 66.7 | 66.7 | 75.0 |" in md
    assert "| mean ± std | | 79.2 ± 5.9 |" in md
    assert "| majority | 100.0 ± 0.0 | 100.0 ± 0.0 | 100.0 ± 0.0 | 100.0 |" in md
    assert "sample standard deviation over folds (n - 1)" in md
    assert (exp / "confusion.txt").read_text().splitlines() == [
        "ref\\hyp    ang    neu", "ang         2      1", "neu         1      3"]
    assert (exp / "confusion.txt").read_text() in md
    assert (exp / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    other = tmp_path / "other"
    fake_eval_dir(other, ["ang", "neu"], {"1": [("ang", "neu"), ("neu", "neu")],
                                          "2": [("ang", "ang"), ("neu", "neu")]})
    assert ser_results.main(["results", "--rule", "majority", str(other)]) == 0
    out = tmp_path / "ablations.md"
    assert ser_results.main(["ablations", str(out), str(exp), str(other)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ")]
    # two classes: the AUROC columns follow (mean ± std over folds, pooled)
    assert [row.split(" | ")[:8] for row in rows[1:]] == [
        ["| exp", "sum_posteriors", "2", "79.2 ± 5.9", "70.8 ± 5.9", "70.0 ± 4.7", "70.8",
         "79.2 ± 5.9"],
        ["| other", "majority", "2", "100.0 ± 0.0", "100.0 ± 0.0", "100.0 ± 0.0", "100.0",
         "100.0 ± 0.0"]]


def test_results_fail_on_an_unscored_fold(tmp_path, capsys):
    exp = tmp_path / "exp"
    fake_eval_dir(exp, ["a", "b"], {"1": [("a", "a"), ("b", "b")]})
    with open(exp / "folds", "a") as f:
        f.write("2 2-u0\n")
    assert ser_results.main(["results", "--rule", "majority", str(exp)]) == 1
    assert "fold '2' has not been scored" in capsys.readouterr().err


def test_score_utterances_drops_silence_and_uses_refs():
    saved = {"classes": ["ang", "neu", "sil"], "silence_class": True}
    frames = [("u1", log_of([[0.6, 0.3, 0.1], [0.05, 0.05, 0.9]]), np.array([True, False])),
              ("u2", log_of([[0.2, 0.7, 0.1]]), np.array([True]))]
    classes = score_ser.emotion_classes(saved)
    tables = score_ser.score_utterances(iter(frames), classes, {"u1": "neu"})
    assert set(tables) == set(RULES) and classes == ["ang", "neu"]
    for table in tables.values():
        assert (table.utts, table.refs, table.hyps) == (["u1", "u2"], ["neu", "-"],
                                                        ["ang", "neu"])
    np.testing.assert_allclose(tables["sum_posteriors"].scores[0], [2 / 3, 1 / 3], rtol=1e-6)


def test_every_training_part_needs_every_class():
    utt2emo = {"s1-u1": "ang", "s1-u2": "ang", "s2-u1": "neu", "s2-u2": "ang", "s3-u1": "neu"}
    ser_folds.check_fold_classes(folds_by_speaker(UTT2SPK), utt2emo)
    utt2emo["s3-u1"] = "ang"
    with pytest.raises(FoldError, match="fold 's2': no training utterance has class 'neu'"):
        ser_folds.check_fold_classes(folds_by_speaker(UTT2SPK), utt2emo)


# ---------------------------------------------------------------- end to end

TINY_CONF = """\
transfer: {layer: tdnn4, freeze: 0, init: pretrained}
classifier: {hidden_dim: 16, dropout: 0.0}
data: {chunk_width: 30, num_valid_speakers: 1, apply_cmvn: false}
aggregation: majority
training: {num_epochs: 1, batch_size: 4, optimizer: adam, lr: 0.01, final_lr: 0.001,
           log_every_steps: 1}
model: {type: tdnn, feat_dim: 12, ivector_dim: 0, hidden_dim: 16, bottleneck_dim: 8,
        time_strides: [0, 1, 1, 0, 3, 3], prefinal_dim: 16, prefinal_bottleneck_dim: 8}
"""


def tiny_emotion_dir(path, ark_dir) -> dict[str, str]:
    """3 speakers x 4 utterances (2 ang, 2 neu): 12-dim features whose mean depends on the
    label, VAD marking the first 10 frames unvoiced (archives in ``ark_dir``). Returns
    utt2spk."""
    rng = np.random.default_rng(0)
    feats, vad, utt2spk, utt2emo = [], [], {}, {}
    for s in range(1, 4):
        for u, label in enumerate(["ang", "ang", "neu", "neu"]):
            utt = f"s{s}-u{u}"
            frames = 60 + 7 * u + s
            shift = 1.0 if label == "ang" else -1.0
            feats.append((utt, (rng.standard_normal((frames, 12)) + shift).astype(np.float32)))
            vad.append((utt, (np.arange(frames) >= 10).astype(np.float32)))
            utt2spk[utt], utt2emo[utt] = f"s{s}", label
    path.mkdir(parents=True)
    ark_dir.mkdir()
    write_ark_scp(ark_dir / "feats.ark", path / "feats.scp", feats)
    write_ark_scp(ark_dir / "vad.ark", path / "vad.scp", vad)
    write_data_dir(path, {"utt2spk": utt2spk, "utt2emo": utt2emo,
                          "spk2utt": {f"s{s}": " ".join(u for u in utt2spk if u[1] == str(s))
                                      for s in range(1, 4)}})
    return utt2spk


def test_eval_ser_end_to_end(tmp_path, repo_env):
    data, exp, conf = tmp_path / "data", tmp_path / "exp", tmp_path / "tiny.yaml"
    utt2spk = tiny_emotion_dir(data, tmp_path / "feats")
    conf.write_text(TINY_CONF)
    # Two folds (s1, s2) keep the test short; s3 only ever trains.
    fold_list = tmp_path / "fold_list"
    fold_list.write_text("".join(f"{spk} {' '.join(u for u in utt2spk if utt2spk[u] == spk)}\n"
                                 for spk in ("s1", "s2")))
    command = ["steps/eval_ser.sh", "--config", str(conf), "--fold-list", str(fold_list),
               "--use-gpu", "false", str(data), "none", str(exp)]
    r = subprocess.run(command, cwd=REPO, env=repo_env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    results = json.loads((exp / "results.json").read_text())
    assert results["folds"] == ["s1", "s2"] and results["rule"] == "majority"
    for fold in results["folds"]:
        for rule in RULES:
            table = read_scores(exp / f"fold_{fold}" / "test" / f"scores_{rule}.txt")
            assert table.classes == ["ang", "neu"]
            assert {utt2spk[u] for u in table.utts} == {fold} and len(table.utts) == 4
        assert not {utt2spk[u] for u in read_table(exp / f"fold_{fold}" / "data" / "train"
                                                   / "utt2spk")} & {fold}
    assert results["rules"]["majority"]["pooled"]["utterances"] == 8
    assert (exp / "confusion.png").is_file() and "| mean ± std |" in (
        exp / "results.md").read_text()

    r = subprocess.run(command, cwd=REPO, env=repo_env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("scored already") == 2
