"""ASR pretraining: chunks and sampler, overfitting a tiny aligned set (TDNN with i-vectors,
ConvNet), resume after a kill, DDP with 2 gloo processes against 1 process, the phone
decoder and PER, metrics files, and the command-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sertl.align.topology import Topology
from sertl.asr.decode import PhoneDecoder, edit_errors
from sertl.asr.realign import AcousticAligner
from sertl.asr.train import AsrTrainer, Paths
from sertl.bin import eval_asr, train_asr
from sertl.config import from_dict
from sertl.io import write_ark_scp, write_table
from sertl.models import load_model, model_config_from_dict
from sertl.train.config import AsrConfig
from sertl.train.data import IGNORE, ChunkSampler, FrameStore
from sertl.train.loop import init_workers
from sertl.train.metrics import MetricsWriter, read_metrics
from sertl.train.schedule import dropout_at, parse_dropout_schedule
from test_model_files import TouchOnLoad

REPO = Path(__file__).resolve().parents[1]
PHONES = ["sil", "a", "b", "c"]
FEAT_DIM, IVECTOR_DIM = 12, 4


def make_aligned_set(root: Path, states: int = 1, speakers: int = 4, utts: int = 5,
                     seed: int = 0) -> Paths:
    """A data dir whose features are noisy per-target means, its alignment dir (sil at
    both ends, phones of 3-7 frames per state) and online i-vectors (period 10)."""
    rng = np.random.default_rng(seed)
    data, ali, ivec = root / "data", root / "ali", root / "ivec"
    for d in (data, ali, ivec):
        d.mkdir(parents=True)
    targets = [p if states == 1 else f"{p}_{s}" for p in PHONES for s in range(states)]
    means = rng.normal(0, 2, (len(targets), FEAT_DIM))
    feats, alis, ivectors, utt2spk = [], [], [], {}
    for s in range(speakers):
        for u in range(utts):
            utt = f"spk{s}-u{u}"
            phones = [0, *rng.integers(1, len(PHONES), 5), 0]
            seq = np.concatenate([np.full(rng.integers(3, 8), p * states + k)
                                  for p in phones for k in range(states)])
            feats.append((utt, means[seq] + rng.normal(0, 1, (len(seq), FEAT_DIM))))
            alis.append((utt, seq.astype(np.int32)))
            ivectors.append((utt, rng.normal(0, 1, (len(seq) // 10 + 1, IVECTOR_DIM))))
            utt2spk[utt] = f"spk{s}"
    write_ark_scp(data / "feats.ark", data / "feats.scp", feats)
    write_table(data / "utt2spk", utt2spk)
    write_ark_scp(ali / "ali.ark", ali / "ali.scp", alis)
    (ali / "num_targets").write_text(f"{len(targets)}\n")
    write_table(ali / "targets.txt", {t: i for i, t in enumerate(targets)})
    write_table(ali / "phones.txt", {p: i for i, p in enumerate(["<eps>", *PHONES])})
    write_ark_scp(ivec / "ivector_online.ark", ivec / "ivector_online.scp", ivectors)
    (ivec / "ivector_period").write_text("10\n")
    return Paths(data, ali, root / "exp", ivec)


def tiny_config(model: dict | None = None, **training) -> dict:
    model = model or dict(type="tdnn", feat_dim=FEAT_DIM, ivector_dim=IVECTOR_DIM,
                          hidden_dim=24, bottleneck_dim=8, time_strides=[0, 1, 1, 0, 3, 3],
                          prefinal_dim=24, prefinal_bottleneck_dim=8)
    options = dict(num_epochs=3, batch_size=4, optimizer="sgd", lr=0.05, final_lr=0.01,
                   log_every_steps=1)
    options.update(training)
    return {"model": model, "data": dict(apply_cmvn=False, chunk_width=30,
                                         num_valid_speakers=1),
            "training": options}


def trainer(values: dict, paths: Paths) -> AsrTrainer:
    config = from_dict(AsrConfig, values)
    return AsrTrainer(config, model_config_from_dict(config.model, "test"), paths,
                   init_workers("cpu"))


def step_losses(exp: Path) -> dict[int, float]:
    """Per-step training loss of metrics.jsonl, the last record of a step winning."""
    return {r["step"]: r["train/loss"] for r in read_metrics(exp / "metrics.jsonl")
            if "train/loss" in r}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_chunks_cover_utterances_with_context_and_ignored_padding():
    lengths = np.array([10, 25, 61])
    sampler = ChunkSampler(lengths, width=20, subsampling=3, batch_size=2, seed=3)
    chunks = sampler.chunks(0)
    assert np.bincount(chunks[:, 0]).tolist() == [1, 2, 4]
    assert np.array_equal(chunks, sampler.chunks(0))          # epoch e is reproducible
    assert not np.array_equal(chunks, sampler.chunks(1))
    assert sampler.num_batches() == 3
    assert [b for b, _ in sampler.batches(0, first=1)] == [1, 2]
    feats = [np.full((n, 2), i, dtype=np.float32) + np.arange(n)[:, None] for i, n in
             enumerate(lengths)]
    targets = [np.arange(n) for n in lengths]
    store = FrameStore(["a", "b", "c"], feats, targets, None, None)
    x = store.inputs(np.array([[0, -5]]), 20, 2, 1)
    assert x.shape == (1, 23, 2)
    assert x[0, :8, 1].tolist() == [0.0] * 8                    # first frame repeated
    assert x[0, 8:17, 1].tolist() == list(range(1, 10))
    assert x[0, 17:, 1].tolist() == [9.0] * 6                   # last frame repeated
    y = store.chunk_targets(np.array([[0, -5]]), 20, 3)
    assert y[0].tolist() == [IGNORE, IGNORE, 1, 4, 7, IGNORE, IGNORE]


def test_ivectors_are_appended_per_frame(tmp_path):
    paths = make_aligned_set(tmp_path)
    t = trainer(tiny_config(), paths)
    store = t.train
    utt = 0
    x = store.inputs(np.array([[utt, 0]]), 25, 0, 0)[0]
    assert x.shape[1] == FEAT_DIM + IVECTOR_DIM
    ivectors = store.ivectors[store.iv_offsets[utt]:store.iv_offsets[utt] + store.iv_rows[utt]]
    assert torch.equal(x[9, FEAT_DIM:], ivectors[0]) and torch.equal(x[10, FEAT_DIM:], ivectors[1])


@pytest.mark.parametrize("model", [None, dict(type="convnet", feat_dim=FEAT_DIM, context=3,
                                              conv_channels=[4], conv_kernels=[[3, 3]],
                                              fc_dims=[32], dropout=0.0)],
                         ids=["tdnn", "convnet"])
def test_tiny_model_overfits_tiny_aligned_set(tmp_path, model):
    paths = make_aligned_set(tmp_path, states=2)
    values = tiny_config(model, num_epochs=12, optimizer="adam", lr=0.02, final_lr=0.002,
                         log_every_steps=10)
    values["data"]["num_valid_speakers"] = 0
    if model:
        paths = replace(paths, ivectors=None)
    metrics = trainer(values, paths).run()
    assert metrics["best_score_on"] == "train/epoch_fer"
    out = paths.exp / "eval"
    common = ["--device", "cpu"] + ([] if model else ["--ivector-dir", str(paths.ivectors)])
    model_args = [str(paths.data), str(paths.exp / "final.pt")]
    assert eval_asr.main(common + ["--ali-dir", str(paths.ali)] + model_args + [str(out)]) == 0
    scores = json.loads((out / "scores.json").read_text())
    assert scores["fer"] < 0.05 and scores["per"] < 0.05, scores
    # the same references as phone transcripts: the same PER, no FER
    assert eval_asr.main(common + ["--ref-text", str(out / "ref")] + model_args
                         + [str(tmp_path / "by_text")]) == 0
    by_text = json.loads((tmp_path / "by_text/scores.json").read_text())
    assert by_text["per"] == scores["per"] and by_text["fer"] is None
    saved = load_model(paths.exp / "final.pt")[1]
    assert saved["input"]["ivector_dim"] == (0 if model else IVECTOR_DIM)
    assert saved["targets"][:2] == ["sil_0", "sil_1"]


def test_resume_after_kill_repeats_the_uninterrupted_losses(tmp_path):
    paths = make_aligned_set(tmp_path)
    values = tiny_config(num_epochs=2, checkpoint_every_steps=3,
                         dropout_schedule="0,0@0.1,0.3@0.5,0")
    full = replace(paths, exp=tmp_path / "full")
    trainer(values, full).run()

    class Killed(Exception):
        pass

    def kill_at_7(step: int) -> None:
        if step == 7:
            raise Killed

    killed = replace(paths, exp=tmp_path / "killed")
    with pytest.raises(Killed):
        trainer(values, killed).run(on_step=kill_at_7)
    assert torch.load(killed.exp / "checkpoint.pt", weights_only=False)["state"]["step"] == 6
    trainer(values, killed).run()
    expected, resumed = step_losses(full.exp), step_losses(killed.exp)
    assert len(expected) == max(expected) > 10
    assert resumed == expected
    # each step logged once, as in the uninterrupted run (the replayed 7 was twice)
    assert ([r["step"] for r in read_metrics(killed.exp / "metrics.jsonl")]
            == [r["step"] for r in read_metrics(full.exp / "metrics.jsonl")])
    a = torch.load(full.exp / "final.pt", weights_only=False)["state_dict"]
    b = torch.load(killed.exp / "final.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_kill_between_metrics_and_model_writes_then_rerun(tmp_path, monkeypatch, repo_env):
    """final.pt marks a finished run: it is written after final_metrics.json, and the step
    fails (it once exited 0) when a final.pt has no final_metrics.json (issue 12)."""
    paths = make_aligned_set(tmp_path)
    values = tiny_config(num_epochs=1)

    class Killed(Exception):
        pass

    def killed(self) -> None:
        raise Killed
    with monkeypatch.context() as patch:
        patch.setattr(AsrTrainer, "_save_final", killed)
        with pytest.raises(Killed):
            trainer(values, paths).run()
    assert (paths.exp / "final_metrics.json").exists()
    assert not (paths.exp / "final.pt").exists()
    assert trainer(values, paths).run()["epochs"] == 1  # the rerun finishes from checkpoint
    assert (paths.exp / "final.pt").exists()
    assert not list(paths.exp.glob("*.tmp"))

    (paths.exp / "final_metrics.json").unlink()  # as an older run could leave it
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(values))
    r = subprocess.run(["steps/train_asr.sh", "--config", str(config), str(paths.data),
                        str(paths.ali), str(paths.exp)], cwd=REPO, env=repo_env,
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "final.pt has no final_metrics.json" in r.stderr, r.stderr


def test_planted_checkpoint_is_refused_without_running_code(tmp_path):
    """A checkpoint.pt whose pickle runs code must not run on resume (issue 12)."""
    paths = make_aligned_set(tmp_path)
    paths.exp.mkdir()
    marker = tmp_path / "marker"
    torch.save({"model": TouchOnLoad(marker)}, paths.exp / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"checkpoint.pt: refused: .* could run code"):
        trainer(tiny_config(), paths).run()
    assert not marker.exists()


def test_ddp_two_gloo_processes_match_one_process(tmp_path):
    paths = make_aligned_set(tmp_path)
    values = tiny_config(num_epochs=2, lr=0.1)
    values["data"]["num_valid_speakers"] = 0
    trainer(values, replace(paths, exp=tmp_path / "one")).run()
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(values))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    torchrun = Path(sys.executable).with_name("torchrun")
    run = subprocess.run(
        [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "sertl.bin.train_asr",
         "--config", str(config), "--device", "cpu", "--ivector-dir", str(paths.ivectors),
         str(paths.data), str(paths.ali), str(tmp_path / "two")],
        env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    one = torch.load(tmp_path / "one/checkpoint.pt", weights_only=False)
    two = torch.load(tmp_path / "two/checkpoint.pt", weights_only=False)
    assert two["world"] == 2 and one["state"]["step"] == two["state"]["step"] > 0
    for name, tensor in one["model"].items():
        assert torch.allclose(tensor.float(), two["model"][name].float(), atol=1e-5), name
    assert step_losses(tmp_path / "one") == pytest.approx(step_losses(tmp_path / "two"),
                                                          rel=1e-5)


def test_cli_errors_name_the_problem(tmp_path, capsys):
    paths = make_aligned_set(tmp_path, speakers=2, utts=2)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  type: tdnn\ntraining:\n  num_epoch: 3\n")
    args = [str(paths.data), str(paths.ali), str(paths.exp)]
    assert train_asr.main(["--config", str(bad)] + args) == 1
    assert f"train_asr: error: {bad}: unknown key 'training.num_epoch'" in capsys.readouterr().err
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(tiny_config()))
    assert train_asr.main(["--config", str(good), "--device", "cpu"] + args) == 1
    err = capsys.readouterr().err
    assert "12-dim features, but the model takes 16 input dims" in err
    assert "--ivector-dir" in err


def test_phone_decoder_recovers_phones_from_noisy_posteriors():
    targets = [f"{p}_{s}" for p in PHONES for s in (0, 1)]
    topology = Topology.from_targets(targets, ["<eps>", *PHONES])
    assert topology.phones == tuple(PHONES) and list(topology.position[:2]) == [0, 1]
    rng = np.random.default_rng(0)

    def utterance() -> np.ndarray:
        phones = [0, *rng.integers(1, 4, 8), 0]
        return np.concatenate([np.full(rng.integers(2, 6), 2 * p + s)
                               for p in phones for s in (0, 1)])

    decoder = PhoneDecoder.estimate(topology, [utterance() for _ in range(40)], 1)
    decoder = PhoneDecoder.from_dict(decoder.to_dict())
    refs, hyps = [], []
    for _ in range(5):
        ali = utterance()
        log_post = np.log(np.full((len(ali), 8), 0.02))
        log_post[np.arange(len(ali)), ali] = np.log(0.86)
        log_post += rng.normal(0, 0.5, log_post.shape)
        refs.append(topology.phone_sequence(ali))
        hyps.append(decoder.decode(log_post))
    errors, length = edit_errors(refs, hyps)
    assert length > 40 and errors / length < 0.05
    assert edit_errors([[1, 2, 3]], [[1, 3, 3, 4]]) == (2, 3)


def test_dropout_schedule_follows_kaldi_syntax():
    points = parse_dropout_schedule("0,0@0.20,0.5@0.50,0")
    assert points == [(0.0, 0.0), (0.2, 0.0), (0.5, 0.5), (1.0, 0.0)]
    assert dropout_at(points, 0.1) == 0.0
    assert dropout_at(points, 0.35) == pytest.approx(0.25)
    assert dropout_at(points, 0.75) == pytest.approx(0.25)
    assert parse_dropout_schedule("0.2") == [(0.0, 0.2), (1.0, 0.2)]
    with pytest.raises(ValueError, match="fractions must increase"):
        parse_dropout_schedule("0,0.1@0.6,0.2@0.3,0")


def tensorboard_scalars(directory: Path, tag: str) -> list[tuple[int, float]]:
    """(step, value) of one scalar, as TensorBoard itself reads the event files."""
    events = EventAccumulator(str(directory / "tensorboard"))
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)]


def test_metrics_are_jsonl_and_tensorboard_records(tmp_path):
    writer = MetricsWriter(tmp_path)
    writer.write(5, {"train/loss": 1.5}, epoch=1)
    writer.close()
    assert read_metrics(tmp_path / "metrics.jsonl") == [{"step": 5, "epoch": 1,
                                                          "train/loss": 1.5}]
    assert tensorboard_scalars(tmp_path, "train/loss") == [(5, 1.5)]


def test_resumed_metrics_hold_each_step_once(tmp_path):
    """A resume replays the steps after its checkpoint; they were logged twice (issue 12)."""
    writer = MetricsWriter(tmp_path)
    for step in (10, 20, 30):
        writer.write(step, {"train/loss": float(step)})
    records_at_checkpoint = writer.records
    for step in (40, 50):  # after the checkpoint: killed here, then replayed
        writer.write(step, {"train/loss": -1.0})
    writer.close()
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 6')  # a record cut by the kill
    time.sleep(1.1)  # event files sort by their second of creation, as two runs' do
    writer = MetricsWriter(tmp_path, step=30, records=records_at_checkpoint)
    for step in (40, 50, 60):
        writer.write(step, {"train/loss": float(step)})
    writer.close()
    expected = [(step, float(step)) for step in (10, 20, 30, 40, 50, 60)]
    assert [(r["step"], r["train/loss"]) for r in read_metrics(tmp_path / "metrics.jsonl")
            ] == expected
    assert tensorboard_scalars(tmp_path, "train/loss") == expected


def test_realignment_scores_every_frame_of_a_subsampled_network(tmp_path):
    """sertl.asr.realign runs a TDNN-F with output subsampling 3 at the 3 input offsets:
    frame t's score is the network's output for a chunk centred on t, minus the prior."""
    paths = make_aligned_set(tmp_path, states=2)
    t = trainer(tiny_config(num_epochs=1), paths)
    t.run()
    aligner = AcousticAligner(paths.exp / "final.pt", FakeLang(PHONES), paths.data,
                              paths.ivectors, torch.device("cpu"))
    assert aligner.topo.num_states == 2 and aligner.net.subsampling == 3
    utt = aligner.store.utts[1]
    scores = aligner.emission_scores(utt)
    length = int(aligner.store.lengths[1])
    assert scores.shape == (length, 2 * len(PHONES)) and torch.isfinite(scores).all()
    net = aligner.net
    for frame in (0, 1, 2, 7, length - 1):
        x = aligner.store.inputs(np.array([[1, frame]]), 1, net.left_context, net.right_context)
        with torch.no_grad():
            expected = torch.log_softmax(net(x)[0, 0].float(), dim=-1) - aligner.log_priors
        assert torch.allclose(scores[frame], expected, atol=1e-4), frame


class FakeLang:
    """The part of sertl.align.lang.Lang that the realignment reads: phone ids."""

    def __init__(self, phones: list[str]):
        self.phones = {p: i for i, p in enumerate(["<eps>", *phones])}
