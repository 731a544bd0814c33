"""SER fine-tuning: cutting a pretrained network at a named layer, freezing its first
layers (weights and batch-norm statistics), scratch initialisation, frame targets with a
silence class, balanced class weights, the config's key checks, training through the
command line to a final.pt that inference reads, and resuming a killed run."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from sertl.bin import train_ser
from sertl.config import ConfigError, from_dict
from sertl.io import load_matrix, load_vector, read_scp, write_ark_scp, write_table
from sertl.models import build_model, model_config_from_dict, save_model
from sertl.ser.config import ClassifierOptions, SerConfig, load_ser_config
from sertl.ser.infer import frame_log_posteriors
from sertl.ser.model import TransferModel, load_ser_model, save_ser_model
from sertl.ser.system import load_system_config
from sertl.ser.train import SerPaths, SerTrainer, balanced_weights
from sertl.train.loop import TrainingError, init_workers
from sertl.train.metrics import read_metrics

FEAT_DIM, IVECTOR_DIM, NUM_TARGETS = 6, 3, 5
EMOTIONS = ["angry", "happy", "sad"]
TDNN = dict(type="tdnn", feat_dim=FEAT_DIM, ivector_dim=0, hidden_dim=16, bottleneck_dim=4,
            time_strides=[0, 1, 1, 0, 3, 3], prefinal_dim=16, prefinal_bottleneck_dim=4)
CONVNET = dict(type="convnet", feat_dim=FEAT_DIM, context=3, conv_channels=[4],
               conv_kernels=[[3, 3]], fc_dims=[16, 16], dropout=0.0)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_emotion_set(root: Path, speakers: int = 3, utts: int = 3, seed: int = 0) -> Path:
    """A data dir of features that are noisy per-emotion means (unvoiced frames at the
    edges are noise), vad.scp, utt2emo (one utterance unlabelled) and online i-vectors
    (period 10) in <root>/ivec."""
    rng = np.random.default_rng(seed)
    data, ivec = root / "data", root / "ivec"
    data.mkdir(parents=True)
    ivec.mkdir()
    means = rng.normal(0, 2, (len(EMOTIONS), FEAT_DIM))
    feats, vads, ivectors, utt2spk, utt2emo = [], [], [], {}, {}
    for s in range(speakers):
        for u in range(utts * len(EMOTIONS)):
            utt, emotion = f"spk{s}-u{u:02d}", u % len(EMOTIONS)
            length = int(rng.integers(30, 60))
            vad = np.ones(length, dtype=np.float32)
            vad[:rng.integers(2, 6)] = vad[-rng.integers(2, 6):] = 0
            x = rng.normal(0, 1, (length, FEAT_DIM)) + means[emotion] * vad[:, None]
            feats.append((utt, x))
            vads.append((utt, vad))
            ivectors.append((utt, rng.normal(0, 1, (length // 10 + 1, IVECTOR_DIM))))
            utt2spk[utt] = f"spk{s}"
            utt2emo[utt] = EMOTIONS[emotion]
    del utt2emo["spk0-u00"]
    write_ark_scp(data / "feats.ark", data / "feats.scp", feats)
    write_ark_scp(data / "vad.ark", data / "vad.scp", vads)
    write_table(data / "utt2spk", utt2spk)
    write_table(data / "utt2emo", utt2emo)
    write_ark_scp(ivec / "ivector_online.ark", ivec / "ivector_online.scp", ivectors)
    (ivec / "ivector_period").write_text("10\n")
    return data


def make_pretrained(root: Path, model: dict, ivector_dim: int = 0) -> Path:
    """A randomly initialised acoustic model saved as steps/train_asr.sh saves one."""
    torch.manual_seed(1)
    net = build_model(model_config_from_dict(model, "test"), NUM_TARGETS)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.3)
    root.mkdir(parents=True, exist_ok=True)
    input_desc = {"feature_type": "mfcc_hires", "feat_dim": FEAT_DIM,
                  "ivector_dim": ivector_dim, "ivector_period": 10 if ivector_dim else None,
                  "apply_cmvn": False, "norm_vars": False,
                  "left_context": net.left_context, "right_context": net.right_context,
                  "subsampling": net.subsampling}
    save_model(root / "final.pt", net, input_desc, [f"t{i}" for i in range(NUM_TARGETS)],
               None)
    return root / "final.pt"


def ser_values(layer: str = "tdnn5", freeze: int = 0, **data) -> dict:
    options = dict(num_epochs=2, batch_size=4, optimizer="adam", lr=0.01, final_lr=0.002,
                   log_every_steps=1)
    return {"transfer": {"layer": layer, "freeze": freeze},
            "classifier": {"hidden_dim": 8, "dropout": 0.1},
            "data": {"chunk_width": 12, "num_valid_speakers": 1, **data},
            "training": options}


def ser_trainer(values: dict, paths: SerPaths) -> SerTrainer:
    return SerTrainer(from_dict(SerConfig, values), paths, init_workers("cpu"))


def transfer_model(model: dict, layer: str, freeze: int = 0) -> TransferModel:
    base = build_model(model_config_from_dict(model, "test"), NUM_TARGETS)
    return TransferModel(base, NUM_TARGETS, layer, freeze, ClassifierOptions(hidden_dim=8), 4)


@pytest.mark.parametrize("model, layer, context, subsampling", [
    (TDNN, "tdnn3", 3, 1), (TDNN, "tdnn5", 6, 3), (CONVNET, "fc1", 3, 1)],
    ids=["tdnn3", "tdnn5", "convnet-fc1"])
def test_cut_at_a_named_layer(model, layer, context, subsampling):
    torch.manual_seed(0)
    base = build_model(model_config_from_dict(model, "test"), NUM_TARGETS).eval()
    x = torch.randn(2, 2 * context + 10, FEAT_DIM)
    bottleneck = base(x, until=layer)
    net = TransferModel(base, NUM_TARGETS, layer, 0, ClassifierOptions(hidden_dim=8), 4).eval()
    assert net.base.layer_names()[-1] == layer            # later layers are dropped
    assert (net.left_context, net.right_context, net.subsampling) == (context, context,
                                                                        subsampling)
    assert net(x).shape == (2, -(-10 // subsampling), 4)
    assert torch.equal(net.base(x, until=layer), bottleneck)


def test_unknown_layer_or_too_many_frozen_layers_are_errors():
    with pytest.raises(ValueError, match=r"no layer 'tdnn9' \(layers: tdnn1, tdnn2, .*"
                                         r"prefinal, output\)"):
        transfer_model(TDNN, "tdnn9")
    with pytest.raises(ValueError, match="freeze 4: the network cut at 'tdnn3' has only 3"):
        transfer_model(TDNN, "tdnn3", freeze=4)


@pytest.mark.parametrize("freeze, frozen", [(0, []), (2, ["tdnn1", "tdnn2"]),
                                            (-1, [f"tdnn{i}" for i in range(1, 6)])])
def test_frozen_layers_keep_weights_and_batchnorm_statistics(freeze, frozen):
    torch.manual_seed(0)
    net = transfer_model(TDNN, "tdnn5", freeze).train()
    assert all(not net.base.layers[name].training for name in frozen)
    groups = net.weight_decay_groups()
    optimised = {id(p) for g in groups for p in g["params"]}
    assert optimised == {id(p) for p in net.parameters() if p.requires_grad}
    before = {k: v.clone() for k, v in net.state_dict().items()}
    optimizer = torch.optim.SGD(groups, lr=0.1)
    loss = net(torch.randn(4, 30, FEAT_DIM)).logsumexp(-1).sum()
    loss.backward()
    optimizer.step()
    net.after_optimizer_step(4)           # orthonormal_period: the constraint runs
    after = net.state_dict()
    for name in net.base.layer_names():
        keys = [k for k in before if k.startswith(f"base.layers.{name}.")]
        changed = {k for k in keys if not torch.equal(before[k], after[k])}
        if name in frozen:
            assert not changed, name
        else:
            assert any(k.endswith("running_mean") for k in changed), name
            assert any(k.endswith("weight") for k in changed), name
    assert not torch.equal(before["classifier.4.weight"], after["classifier.4.weight"])


def test_init_random_differs_from_pretrained_and_input_must_agree(tmp_path):
    data = make_emotion_set(tmp_path)
    pretrained = make_pretrained(tmp_path / "asr", TDNN)
    paths = SerPaths(data, pretrained, tmp_path / "exp")
    reference = torch.load(pretrained, weights_only=False)["state_dict"]
    weight = "layers.tdnn2.linear.weight"
    tuned = ser_trainer(ser_values(), paths).model.base.state_dict()
    assert torch.equal(tuned[weight], reference[weight])
    values = ser_values()
    values["transfer"]["init"] = "random"
    scratch = ser_trainer(values, paths).model.base.state_dict()
    assert not torch.equal(scratch[weight], reference[weight])
    assert "layers.output.weight" not in tuned
    with pytest.raises(TrainingError, match="data.apply_cmvn is True in the config but "
                                            "False for"):
        ser_trainer(ser_values(apply_cmvn=True), paths)
    with pytest.raises(TrainingError, match=f"{data}: 3-dim i-vectors from .*ivec, but "
                                            f".*final.pt takes none"):
        ser_trainer(ser_values(), replace(paths, ivectors=tmp_path / "ivec"))
    with pytest.raises(ConfigError, match="needs a model section"):
        ser_trainer(ser_values(), replace(paths, pretrained=None))
    values = dict(ser_values(apply_cmvn=False), model=TDNN)
    none = ser_trainer(values, replace(paths, pretrained=None))
    assert none.model.base.layer_names()[-1] == "tdnn5"


def test_a_fine_tuned_model_can_be_fine_tuned_again(tmp_path):
    data = make_emotion_set(tmp_path)
    asr = make_pretrained(tmp_path / "asr", TDNN)
    first = transfer_model(TDNN, "tdnn5", freeze=-1)
    input_desc = torch.load(asr, weights_only=False)["input"]
    save_ser_model(tmp_path / "ser.pt", first, ["a", "b", "c", "d"], False, input_desc)
    paths = SerPaths(data, tmp_path / "ser.pt", tmp_path / "exp")
    again = ser_trainer(ser_values("tdnn4", freeze=1), paths).model
    assert again.frozen == ["tdnn1"]
    assert all(p.requires_grad for p in again.base.layers["tdnn2"].parameters())
    weight = "layers.tdnn2.linear.weight"
    assert torch.equal(again.base.state_dict()[weight], first.base.state_dict()[weight])
    with pytest.raises(ValueError, match="no layer 'prefinal' \\(layers: tdnn1, .*, tdnn5\\)"):
        ser_trainer(ser_values("prefinal"), paths)


def test_frame_targets_follow_vad_with_silence_class_and_weights_balance(tmp_path, capsys):
    data = make_emotion_set(tmp_path)
    paths = SerPaths(data, make_pretrained(tmp_path / "asr", TDNN), tmp_path / "exp")
    trainer = ser_trainer(ser_values(silence_class=True), paths)
    assert "skipping 1 utterance(s) (no label in utt2emo): spk0-u00" in capsys.readouterr().err
    assert trainer.classes == EMOTIONS + ["sil"]
    store = trainer.train
    vad = {utt: load_vector(rx) for utt, rx in read_scp(data / "vad.scp").items()}
    assert "spk0-u00" not in store.utts + trainer.valid.utts
    for i, utt in enumerate(store.utts):
        y = store.targets[store.offsets[i]:store.offsets[i] + store.lengths[i]].numpy()
        label = EMOTIONS.index(EMOTIONS[int(utt[-2:]) % 3])
        assert np.array_equal(y, np.where(vad[utt] > 0.5, label, 3)), utt
    counts = torch.bincount(store.targets, minlength=4).double()
    assert torch.allclose(trainer.class_weights.double(), counts.sum() / (4 * counts))
    weights = balanced_weights(torch.tensor([0, 0, 0, 1, 2, 2]), 4)
    assert weights.tolist() == pytest.approx([2 / 3, 2.0, 1.0, 0.0])


def test_config_keys_are_checked(tmp_path, capsys):
    conf = tmp_path / "bad.yaml"
    conf.write_text("transfer:\n  layer: tdnn5\n  freeze_layers: 2\n")
    with pytest.raises(ConfigError, match="unknown key 'transfer.freeze_layers'"):
        load_ser_config(conf)
    assert train_ser.main(["--config", str(conf), "d", "none", "e"]) == 1
    assert f"{conf}: unknown key 'transfer.freeze_layers'" in capsys.readouterr().err
    conf.write_text("transfer: {layer: tdnn5}\nmodel: {type: tdnn, hidden: 3}\n")
    with pytest.raises(ConfigError, match="unknown key 'hidden'"):
        load_ser_config(conf)
    repo = Path(__file__).resolve().parents[1]
    for path in sorted([*(repo / "conf/ser").glob("*.yaml"),
                        *(repo / "egs").glob("*/s5/conf/ser/*.yaml")]):
        load_system_config(path)


@pytest.mark.parametrize("model, layer, ivectors", [(TDNN, "tdnn5", True),
                                                    (CONVNET, "fc1", False)],
                         ids=["tdnn-ivectors", "convnet"])
def test_train_ser_writes_a_model_inference_reads(tmp_path, capsys, model, layer, ivectors):
    data = make_emotion_set(tmp_path)
    model = dict(model, ivector_dim=IVECTOR_DIM) if ivectors else model
    asr = make_pretrained(tmp_path / "asr", model, IVECTOR_DIM if ivectors else 0).parent
    conf = tmp_path / "ser.yaml"
    conf.write_text(yaml.safe_dump(ser_values(layer, freeze=1, silence_class=True)))
    exp = tmp_path / "exp"
    iv = ["--ivector-dir", str(tmp_path / "ivec")] if ivectors else []
    args = ["--config", str(conf), "--device", "cpu"] + iv + [str(data), str(asr), str(exp)]
    assert train_ser.main(args) == 0, capsys.readouterr().err
    for name in ("config.yaml", "valid_spk", "checkpoint.pt", "final_metrics.json",
                 "metrics.jsonl"):
        assert (exp / name).exists(), name
    net, saved = load_ser_model(exp / "final.pt")
    assert saved["classes"] == EMOTIONS + ["sil"] and saved["silence_class"]
    assert (saved["layer"], saved["freeze"]) == (layer, 1)
    assert saved["input"]["ivector_dim"] == (IVECTOR_DIM if ivectors else 0)
    assert saved["input"]["subsampling"] == net.subsampling
    assert not net.training
    f = net.subsampling
    results = list(frame_log_posteriors(net, saved, data, tmp_path / "ivec" if ivectors
                                        else None, torch.device("cpu")))
    assert [u for u, _, _ in results][:2] == ["spk0-u00", "spk0-u01"]   # feats.scp order
    lengths = {u: len(load_matrix(rx)) for u, rx in read_scp(data / "feats.scp").items()}
    for utt, log_post, voiced in results:
        assert log_post.dtype == np.float32
        assert log_post.shape == (-(-lengths[utt] // f), 4)
        assert np.allclose(np.logaddexp.reduce(log_post, axis=1), 0, atol=1e-5)
        assert voiced.dtype == bool and len(voiced) == len(log_post)
        assert not voiced[0] and voiced[len(voiced) // 2]
    with pytest.raises(ValueError, match=f"{data}: " + ("no i-vectors given, but the SER model "
                                                        "takes 6-dim mfcc_hires features \\+ 3"
                                                        if ivectors else "i-vectors given")):
        next(frame_log_posteriors(net, saved, data, None if ivectors else tmp_path / "ivec",
                                  torch.device("cpu")))


def test_killed_run_resumes_where_it_stopped(tmp_path):
    data = make_emotion_set(tmp_path)
    pretrained = make_pretrained(tmp_path / "asr", TDNN)
    values = ser_values(freeze=2)
    values["training"]["checkpoint_every_steps"] = 3
    full = SerPaths(data, pretrained, tmp_path / "full")
    ser_trainer(values, full).run()

    class Killed(Exception):
        pass

    def kill_at_5(step: int) -> None:
        if step == 5:
            raise Killed

    killed = replace(full, exp=tmp_path / "killed")
    with pytest.raises(Killed):
        ser_trainer(values, killed).run(on_step=kill_at_5)
    assert not (killed.exp / "final.pt").exists()
    ser_trainer(values, killed).run()

    def losses(exp: Path) -> dict[int, float]:
        return {r["step"]: r["train/loss"] for r in read_metrics(exp / "metrics.jsonl")
                if "train/loss" in r}

    assert losses(killed.exp) == losses(full.exp) and len(losses(full.exp)) > 5
    a = load_ser_model(full.exp / "final.pt")[1]["state_dict"]
    b = load_ser_model(killed.exp / "final.pt")[1]["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
