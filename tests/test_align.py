"""Forced alignment (sertl.align, steps/align_sb.sh) on generated speech with known phones."""
from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import kaldi_io
import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from sertl.align.classifier import ClassifierConfig, TrainConfig
from sertl.align.graph import (HmmOptions, ViterbiAligner, build_graph, ctm_lines, flat_start,
                               phone_segments)
from sertl.align.lang import DictDir, Lang
from sertl.align.model import (AlignConfig, AlignerModel, align_utterances, lang_topology,
                               train_model, transcript_graphs)
from sertl.align.topology import Topology
from sertl.bin import ali_to_phones
from sertl.data import FeatureReader, LoadOptions
from sertl.features import (FeatureExtractor, cmvn_stats, compute_vad, read_feature_config,
                            read_vad_config)
from sertl.io import read_scp, write_ark_scp, write_table
from sertl.synth import SILENCE, ESpeakSynthesizer

from conftest import REPO

SENTENCES = ("Nobody remembered to water the plants.", "The train leaves in ten minutes.",
             "My brother bought a new car.", "Please put the books back, on the top shelf.",
             "She answered the phone after six rings.", "We waited for the bus, in the rain.",
             "The children are sleeping upstairs.", "He sold his guitar to a stranger.",
             "Dinner will be ready soon.", "The lights in the hallway keep flickering.",
             "Who took the last piece of cake?", "The price of bread went up again.",
             "Our flight was delayed, until midnight.", "The concert starts at eight.",
             "They closed the old bridge for repairs.", "I found your photograph in a drawer.")
VOICES = (("a", "en-us+m3", 165), ("b", "en-us+f2", 185), ("c", "en-us+m7", 150))
PAD = 0.25  # seconds of near-silence before and after each utterance
# A small, fast aligner: the tests check behaviour, not the best accuracy.
TINY = {"classifier": {"context": 1, "hidden_dim": 128, "num_layers": 2, "dropout": 0.1},
        "training": {"epochs": 3, "batch_size": 64, "learning_rate": 0.002}}


def _load_bench():
    spec = importlib.util.spec_from_file_location(
        "alignment_boundaries", REPO / "bench" / "alignment_boundaries.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


# ---- the HMM graph, Viterbi, flat start and CTM on made-up scores -------------------

TOPO = Topology(("sil", "a", "b", "c"), 3)


def _scores_for(segments: list[tuple[int, int]], topo: Topology = TOPO) -> torch.Tensor:
    """Emission scores that favour the given (phone id, frames) segmentation, states
    evenly within each segment."""
    rows = []
    for phone, frames in segments:
        for k in range(frames):
            row = torch.full((topo.num_targets,), -6.0)
            row[topo.target(phone, k * topo.num_states // frames)] = 0.0
            rows.append(row)
    return torch.stack(rows)


def test_graph_has_optional_silence_around_and_between_words():
    graph = build_graph([[2, 3], [4]], silence=1, topo=TOPO)
    # units: sil a b sil c sil, three states each
    assert graph.num_states == 18
    assert list(graph.phones[::3]) == [1, 2, 3, 1, 4, 1]
    assert list(graph.optional[::3]) == [True, False, False, True, False, True]
    assert graph.min_frames == 9
    assert graph.finals == (14, 17)
    assert np.isfinite(graph.log_init).sum() == 18
    starts = np.flatnonzero(graph.log_init > -1e3)
    assert list(starts) == [0, 3]
    # word-final b may go to the silence or straight to c; the silence only to c
    assert graph.log_trans[8, 9] > -1e3 and graph.log_trans[8, 12] > -1e3
    assert graph.log_trans[11, 12] > -1e3 and graph.log_trans[8, 15] < -1e3


def test_viterbi_finds_segmentation_with_and_without_silences():
    graph = build_graph([[2, 3], [4, 2]], silence=1, topo=TOPO)
    truth = [(1, 5), (2, 6), (3, 4), (1, 6), (4, 7), (2, 5)]  # no final silence
    other = [(2, 4), (3, 5), (4, 6), (2, 3), (1, 8)]  # no leading, no middle silence
    viterbi = ViterbiAligner()
    results = viterbi.align([_scores_for(truth), _scores_for(other)], [graph, graph])
    for result, segments in zip(results, (truth, other)):
        found = phone_segments(graph, result.states)
        assert [(s.phone, s.end - s.start) for s in found] == segments
        assert result.emission == pytest.approx(0.0)
        assert result.score < 0


def test_viterbi_keeps_equal_neighbours_apart_and_rejects_short_utterances():
    graph = build_graph([[2], [2]], silence=1, topo=TOPO)
    result = ViterbiAligner().align([_scores_for([(2, 4), (2, 5)])], [graph])[0]
    assert [(s.phone, s.start, s.end) for s in phone_segments(graph, result.states)] == \
        [(2, 0, 4), (2, 4, 9)]
    too_short = ViterbiAligner().align([torch.zeros(5, TOPO.num_targets)], [graph])
    assert too_short == [None]
    nan = torch.full((20, TOPO.num_targets), float("nan"))
    assert ViterbiAligner().align([nan], [graph]) == [None]


def test_flat_start_is_uniform_within_the_voiced_span():
    topo = Topology(("sil", "a", "b"), 1)
    graph = build_graph([[2], [3]], silence=1, topo=topo)  # states: sil a sil b sil
    voiced = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0], dtype=np.float32)
    assert list(flat_start(graph, 11, voiced)) == [0, 0, 1, 1, 1, 1, 3, 3, 3, 3, 4]
    assert list(flat_start(graph, 4)) == [1, 1, 3, 3]
    with pytest.raises(ValueError, match="cannot hold"):
        flat_start(graph, 1)


def test_ctm_puts_boundaries_between_window_centres():
    graph = build_graph([[2, 3]], silence=1, topo=Topology(("sil", "a", "b"), 1))
    states = np.array([0, 0, 1, 1, 1, 2, 2, 3])
    lines = ctm_lines("u1", phone_segments(graph, states), ("sil", "a", "b"), 0.01, 0.0075)
    assert lines == ["u1 1 0.0000 0.0275 sil\n", "u1 1 0.0275 0.0300 a\n",
                     "u1 1 0.0575 0.0200 b\n", "u1 1 0.0775 0.0100 sil\n"]
    assert ctm_lines("u1", phone_segments(graph, states), ("sil", "a", "b"))[1] == \
        "u1 1 0.0200 0.0300 a\n"


def test_boundary_scoring_folds_phones_and_matches_by_edit_distance():
    seg = bench.Segment
    ref = [seg("sil", 0.0, 0.2), seg("dx", 0.2, 0.25), seg("q", 0.25, 0.3), seg("aa", 0.3, 0.5),
           seg("sil", 0.5, 0.6), seg("s", 0.6, 0.8), seg("sil", 0.8, 1.0)]
    hyp = [seg("SIL", 0.0, 0.21), seg("D", 0.21, 0.27), seg("AA", 0.27, 0.55),
           seg("S", 0.55, 0.82), seg("SIL", 0.82, 0.95), seg("SIL", 0.95, 1.0)]
    folded_ref = bench.fold(ref, {"dx": "d", "q": None})
    folded_hyp = bench.fold(hyp, {"SIL": "sil", "D": "d", "AA": "aa", "S": "s"})
    assert [(s.label, s.end) for s in folded_ref] == \
        [("sil", 0.2), ("d", 0.3), ("aa", 0.5), ("sil", 0.6), ("s", 0.8), ("sil", 1.0)]
    assert [s.label for s in folded_hyp] == ["sil", "d", "aa", "s", "sil"]
    score = bench.Score([])
    score.add(folded_ref, folded_hyp)
    # d, aa, s, final sil matched; the pause before s is missed (hyp left it out)
    assert score.missed == 1 and score.total == 5
    assert np.allclose(sorted(score.errors), [-0.05, -0.03, 0.01, 0.02])
    assert score.within(20) == pytest.approx(2 / 5)
    assert score.within(40) == pytest.approx(3 / 5)


# ---- generated speech ---------------------------------------------------------------

def _words(synthesis) -> list[tuple[str, tuple[str, ...]]]:
    """(word, spoken phones) of an utterance; eSpeak's multi-word units stay one word."""
    return [(w.text.upper().replace(" ", "_"), tuple(synthesis.word_phones(w)))
            for w in synthesis.words]


def _padded(phones) -> list[tuple[str, float, float]]:
    """The true phones of an utterance after padding: the pads are silence too."""
    spans = [(SILENCE, 0.0, PAD)] + [(p.symbol, p.start + PAD, p.end + PAD) for p in phones]
    spans.append((SILENCE, spans[-1][2], spans[-1][2] + PAD))
    return spans


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A tiny data dir of eSpeak speech (features, CMVN, VAD), its lang dir and the true
    phone boundaries (phones.ctm). Transcripts use the pronunciations actually spoken."""
    root = tmp_path_factory.mktemp("espeak")
    data, wav_dir = root / "data", root / "wav"
    data.mkdir()
    wav_dir.mkdir()
    synth = ESpeakSynthesizer()
    extract = FeatureExtractor(read_feature_config(REPO / "conf" / "mfcc_hires.conf", "mfcc"))
    vad_opts = read_vad_config(REPO / "conf" / "vad.conf")
    tables: dict[str, dict[str, str]] = {"wav.scp": {}, "text": {}, "utt2spk": {}}
    lexicon: dict[str, list[tuple[str, ...]]] = {}
    feats, ctm = {}, []
    rng = np.random.default_rng(0)
    for spk, voice, rate in VOICES:
        for n, sentence in enumerate(SENTENCES):
            utt = f"{spk}_{n:02d}"
            s = synth.synthesize(sentence, voice=voice, rate=rate)
            pad = np.zeros(int(PAD * 16000), np.float32)
            samples = np.concatenate([pad, s.samples, pad])
            samples += 3e-4 * rng.standard_normal(len(samples)).astype(np.float32)
            sf.write(wav_dir / f"{utt}.wav", samples, 16000, subtype="PCM_16")
            tables["wav.scp"][utt] = str(wav_dir / f"{utt}.wav")
            tables["utt2spk"][utt] = spk
            words = []
            for word, pron in _words(s):
                prons = lexicon.setdefault(word, [pron])
                if pron not in prons:
                    word = f"{word}#{len(prons)}"
                    lexicon[word] = [pron]
                words.append(word)
            tables["text"][utt] = " ".join(words)
            feats[utt] = extract(samples * 32768.0)
            ctm += [f"{utt} 1 {a:.4f} {b - a:.4f} {p}\n" for p, a, b in _padded(s.phones)]
    for name, table in tables.items():
        write_table(data / name, table)
    write_table(data / "spk2utt", {spk: " ".join(u for u in tables["utt2spk"]
                                                 if u.startswith(spk)) for spk, _, _ in VOICES})
    write_ark_scp(root / "feats.ark", data / "feats.scp", sorted(feats.items()))
    write_table(data / "utt2num_frames", {u: len(m) for u, m in feats.items()})
    write_ark_scp(root / "cmvn.ark", data / "cmvn.scp", [
        (spk, cmvn_stats([m for u, m in feats.items() if u.startswith(spk)]))
        for spk, _, _ in VOICES])
    write_ark_scp(root / "vad.ark", data / "vad.scp",
                  [(u, compute_vad(m, vad_opts)) for u, m in sorted(feats.items())])
    (root / "phones.ctm").write_text("".join(sorted(ctm)))
    phones = sorted({p for prons in lexicon.values() for p in prons[0]} - {SILENCE})
    dict_dir = DictDir(lexicon, [SILENCE], [[p] for p in phones], SILENCE)
    Lang.from_dict_dir(dict_dir, oov="<UNK>", oov_policy="skip").save(root / "lang")
    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return root


def _boundary_score(corpus: Path, ctm: list[str]):
    """Boundary errors of CTM lines against the true phones."""
    hyp = corpus / "hyp.ctm"
    hyp.write_text("".join(ctm))
    ref = bench.read_ctm(corpus / "phones.ctm")
    found = bench.read_ctm(hyp)
    score = bench.Score([])
    for utt, segments in found.items():
        score.add(bench.fold(ref[utt], {}), bench.fold(segments, {}))
    return score


@pytest.fixture
def one_thread():
    """Small matrices: one torch thread (as run.py's jobs get) is fastest, above all on a
    busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_flat_start_training_converges_to_the_true_boundaries(corpus: Path, one_thread):
    config = AlignConfig(classifier=ClassifierConfig(**TINY["classifier"]),
                         training=TrainConfig(**TINY["training"]))
    lang = Lang.load(corpus / "lang")
    topo = lang_topology(lang, 3)
    graphs, skipped = transcript_graphs(corpus / "data", lang, topo, HmmOptions())
    assert not skipped
    reader = FeatureReader(corpus / "data", LoadOptions())
    feats = {u: reader[u] for u in reader.utterances()}
    paths = {u: flat_start(graphs[u], len(feats[u]), reader.voiced(u)) for u in feats}

    def boundaries():
        return _boundary_score(corpus, [
            line for u, states in paths.items()
            for line in ctm_lines(u, phone_segments(graphs[u], states), topo.phones, 0.01,
                                  config.frame_offset)])

    history = [boundaries()]
    for iteration in range(1, 6):
        data = {u: (feats[u], graphs[u].targets[paths[u]]) for u in feats}
        model = train_model(topo, config, data, iteration, torch.device("cpu"))
        found, failed = align_utterances(model, feats, graphs, torch.device("cpu"))
        assert not failed
        paths = {u: a.states for u, a in found.items()}
        history.append(boundaries())
    within20 = [s.within(20) for s in history]
    assert within20[-1] > within20[0] + 0.2, within20
    assert history[-1].within(40) > 0.8, [s.within(40) for s in history]
    # the pauses at the commas are found as optional silences
    ctm = (corpus / "hyp.ctm").read_text().splitlines()
    assert any(line.split()[4] == SILENCE and float(line.split()[2]) > PAD + 0.2
               for line in ctm)


def _run_step(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(["steps/align_sb.sh", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def test_align_sb_resumes_after_a_kill_and_writes_kaldi_alignments(corpus: Path, repo_env,
                                                                   tmp_path: Path):
    src, ali = tmp_path / "mono", tmp_path / "mono_ali"
    args = ["--nj", "2", "--num-iters", "2", "--device", "cpu", "--align-config",
            str(corpus / "tiny.yaml"), str(corpus / "data"), str(corpus / "lang"), str(src),
            str(ali)]
    first = _run_step(args, repo_env)
    deadline = time.monotonic() + 600
    while not (src / "1.mdl").exists() and first.poll() is None:
        assert time.monotonic() < deadline, "iteration 1 did not finish"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGTERM)
    first.wait(timeout=120)
    assert not (src / "final.mdl").exists()
    done_before = {p: p.stat().st_mtime_ns for p in (src / "1.mdl", src / "ali_0" / "ali.scp")}

    second = _run_step(args, repo_env)
    output = second.communicate(timeout=900)[0]
    assert second.returncode == 0, output
    assert "flat start" not in output and "iteration 1: training" not in output
    assert {p: p.stat().st_mtime_ns for p in done_before} == done_before

    phones = Lang.load(corpus / "lang").phones
    num_frames = {u: int(n) for u, n in
                  (line.split() for line in (corpus / "data" / "utt2num_frames").open())}
    num_targets = int((ali / "num_targets").read_text())
    assert num_targets == 3 * (len(phones) - 1)
    assert len((ali / "targets.txt").read_text().splitlines()) == num_targets
    assert (ali / "phones.txt").read_text() == (corpus / "lang" / "phones.txt").read_text()
    ali_scp, phone_scp = read_scp(ali / "ali.scp"), read_scp(ali / "phone_ali.scp")
    assert list(ali_scp) == sorted(num_frames) == list(phone_scp)
    for utt, rx in ali_scp.items():
        targets = kaldi_io.read_vec_int(rx)
        phone_ids = kaldi_io.read_vec_int(phone_scp[utt])
        assert len(targets) == len(phone_ids) == num_frames[utt]
        assert targets.min() >= 0 and targets.max() < num_targets
        assert np.array_equal(phone_ids, targets // 3 + 1)
    ctm = (ali / "ali.ctm").read_text().splitlines()
    assert [line.split()[0] for line in ctm] == sorted(line.split()[0] for line in ctm)
    assert all(line.split()[4] in phones for line in ctm)
    summary = (src / "log" / "summary.log").read_text()
    for x in (1, 2, 3):  # 2 cross-fitted iterations, then the single final classifier
        assert re.search(f"iteration {x}: loss .* on the training frames, "
                         r"[0-9.]+% on held-out utterances", summary), summary
    assert "iteration 1: aligned 48" in summary and "iteration 2: aligned 48" in summary
    assert "average log-likelihood per frame" in (ali / "log" / "summary.log").read_text()
    final = AlignerModel.load(ali / "final.mdl")
    # one classifier aligns every utterance, so the states agree across the folds
    assert final.iteration == 3 and len(final.classifiers) == 1
    assert final.train_stats[0].heldout_frames > 0

    folded = tmp_path / "phones"
    assert ali_to_phones.main([str(ali), str(folded)]) == 0
    assert int((folded / "num_targets").read_text()) == len(phones) - 1
    for utt, rx in read_scp(folded / "ali.scp").items():
        assert np.array_equal(kaldi_io.read_vec_int(rx) + 1,
                              kaldi_io.read_vec_int(phone_scp[utt]))
