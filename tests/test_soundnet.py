"""SoundNet anger detection (sertl.models.soundnet, sertl.ser.{waveform,roc,soundnet}):
the network, torch7 weights, freezing, level normalisation, batches, windows, AU-ROC and
its z-test, and the train / score / stream tools on a small generated corpus."""
from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.stats import mannwhitneyu, norm
from sklearn.metrics import roc_auc_score

from conftest import REPO, speech_like
from sertl.models.soundnet import (SoundNet5, SoundNet5Config, count_parameters, load_layers,
                                   read_torch7, torch7_state)
from sertl.ser.roc import auroc, compare_auroc
from sertl.ser.soundnet import (WindowOptions, load_soundnet, stream_scores, utterance_score,
                                window_probabilities)
from sertl.ser.waveform import BalancedBatches, Windowing, normalise
from sertl.train.data import split_by_speaker

RATE = 16000


# -- the network ---------------------------------------------------------------------

def test_layer_shapes_and_parameter_count():
    model = SoundNet5(SoundNet5Config(), num_classes=2)
    assert count_parameters(model) == 215_826          # Elshaer et al.'s model
    shapes = {}
    for name in model.layer_names():
        getattr(model, name).register_forward_hook(
            lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape)))
    out = model(torch.randn(3, int(1.2 * RATE)))
    assert out.shape == (3, 2)
    assert shapes == {"conv1": (3, 32, 9601), "conv2": (3, 64, 601), "conv3": (3, 128, 38),
                      "conv4": (3, 16, 3), "conv5": (3, 2, 2)}
    assert count_parameters(SoundNet5(SoundNet5Config(conv4_channels=256), 2)) == \
        215_826 + (128 * 240 * 8 + 240 * 3) + (240 * 2 * 2)


def test_frozen_layers_stay_unchanged():
    torch.manual_seed(0)
    model = SoundNet5(SoundNet5Config(), 2)
    model.freeze(2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    model.train()
    for _ in range(2):
        loss = torch.nn.functional.cross_entropy(model(100 * torch.randn(4, 19200)),
                                                 torch.tensor([0, 1, 0, 1]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = model.state_dict()
    for key in before:
        layer = int(key.split(".")[0][-1])
        same = torch.equal(before[key], after[key])
        if layer <= 2:
            assert same, key                   # weights and batch-norm statistics
        elif not key.endswith("num_batches_tracked"):
            assert not same, key
    assert not model.bn1.training and model.bn3.training


# -- torch7 weights ------------------------------------------------------------------

class T7Writer:
    """Torch7's binary serialisation (the format torchfile reads), enough for a network
    of nn modules holding FloatTensors."""

    def __init__(self):
        self.out = bytearray()
        self.next_index = 1

    def _int(self, v):
        self.out += struct.pack("<i", v)

    def _long(self, v):
        self.out += struct.pack("<q", v)

    def _string(self, s: bytes):
        self._int(len(s))
        self.out += s

    def _index(self):
        self._int(self.next_index)
        self.next_index += 1

    def obj(self, value):
        if value is None:
            self._int(0)
        elif isinstance(value, (int, float)):
            self._int(1)
            self.out += struct.pack("<d", float(value))
        elif isinstance(value, str):
            self._int(2)
            self._string(value.encode())
        elif isinstance(value, np.ndarray):
            self._torch("torch.FloatTensor")
            a = np.ascontiguousarray(value, dtype=np.float32)
            self._int(a.ndim)
            for n in a.shape:
                self._long(n)
            for s in a.strides:
                self._long(s // 4)
            self._long(1)                          # storage offset, 1-based
            self._torch("torch.FloatStorage")
            self._long(a.size)
            self.out += a.tobytes()
        elif isinstance(value, tuple):             # (class name, fields): a torch object
            self._torch(value[0])
            self.obj(value[1])
        elif isinstance(value, (dict, list)):
            items = value.items() if isinstance(value, dict) else \
                ((i + 1, v) for i, v in enumerate(value))
            items = list(items)
            self._int(3)
            self._index()
            self._int(len(items))
            for k, v in items:
                self.obj(k)
                self.obj(v)
        else:
            raise TypeError(type(value))

    def _torch(self, name: str):
        self._int(4)
        self._index()
        self._string(b"V 1")
        self._string(name.encode())


def _torch7_soundnet(rng, old_batchnorm_layer: int) -> tuple[list, list[dict]]:
    """A SoundNet-like torch7 network (conv1..conv3 with batch norm, ReLU and pooling,
    inside nested containers) and the arrays it holds."""
    modules, layers = [], []
    for i, (cin, cout, k) in enumerate(((1, 32, 64), (32, 64, 32), (64, 128, 16)), 1):
        arrays = {"weight": rng.standard_normal((cout, cin, k, 1)).astype(np.float32),
                  "bias": rng.standard_normal(cout).astype(np.float32),
                  "bn_weight": rng.random(cout).astype(np.float32),
                  "bn_bias": rng.standard_normal(cout).astype(np.float32),
                  "mean": rng.standard_normal(cout).astype(np.float32),
                  "var": (0.5 + rng.random(cout)).astype(np.float32)}
        layers.append(arrays)
        bn = {"weight": arrays["bn_weight"], "bias": arrays["bn_bias"],
              "running_mean": arrays["mean"], "eps": 1e-5, "train": False}
        if i == old_batchnorm_layer:       # torch7 before 2016 kept 1 / sqrt(var + eps)
            bn["running_std"] = 1 / np.sqrt(arrays["var"] + 1e-5)
        else:
            bn["running_var"] = arrays["var"]
        conv_type = "cudnn.SpatialConvolution" if i == 2 else "nn.SpatialConvolution"
        modules += [(conv_type, {"weight": arrays["weight"], "bias": arrays["bias"],
                                 "kW": 1, "kH": k, "dW": 1, "dH": 2}),
                    ("nn.SpatialBatchNormalization", bn),
                    ("nn.ReLU", {"inplace": True}),
                    ("nn.SpatialMaxPooling", {"kW": 1, "kH": 8})]
    # conv4 with SoundNet's 256 filters, in a nested container
    conv4 = ("nn.SpatialConvolution", {"weight": np.zeros((256, 128, 8, 1), np.float32),
                                       "bias": np.zeros(256, np.float32)})
    network = ("nn.Sequential", {"modules": modules[:4] + [
        ("nn.Sequential", {"modules": modules[4:]}), conv4], "train": False})
    return network, layers


def test_torch7_file_gives_the_expected_weights(tmp_path):
    rng = np.random.default_rng(0)
    network, layers = _torch7_soundnet(rng, old_batchnorm_layer=3)
    writer = T7Writer()
    writer.obj(network)
    path = tmp_path / "soundnet5_small.t7"
    path.write_bytes(bytes(writer.out))
    model = SoundNet5(SoundNet5Config(), 2)
    untouched = model.conv4.weight.detach().clone()
    load_layers(model, read_torch7(path), 3, str(path))
    for i, arrays in enumerate(layers, 1):
        conv, bn = getattr(model, f"conv{i}"), getattr(model, f"bn{i}")
        np.testing.assert_array_equal(conv.weight.detach().numpy(), arrays["weight"][..., 0])
        np.testing.assert_array_equal(conv.bias.detach().numpy(), arrays["bias"])
        np.testing.assert_array_equal(bn.weight.detach().numpy(), arrays["bn_weight"])
        np.testing.assert_array_equal(bn.bias.detach().numpy(), arrays["bn_bias"])
        np.testing.assert_array_equal(bn.running_mean.numpy(), arrays["mean"])
        np.testing.assert_allclose(bn.running_var.numpy(), arrays["var"], rtol=1e-5)
    assert torch.equal(model.conv4.weight, untouched)
    with pytest.raises(ValueError, match=r"conv4.weight' has shape \(256, 128, 8\)"):
        load_layers(model, read_torch7(path), 4, str(path))
    (tmp_path / "bad.t7").write_bytes(b"\x04\x00")
    with pytest.raises(ValueError, match="bad.t7"):
        read_torch7(tmp_path / "bad.t7")


def test_torch7_mapping_refuses_a_network_without_convolutions():
    class Obj:          # what torchfile makes of a torch7 object
        def __init__(self, name, fields):
            self.name, self.fields = name, fields

        def torch_typename(self):
            return self.name

        def __getitem__(self, key):
            return self.fields.get(key)

    with pytest.raises(ValueError, match="no SpatialConvolution"):
        torch7_state(Obj(b"nn.Sequential", {"modules": [Obj(b"nn.ReLU", {})]}), "x.t7")


# -- waveforms -----------------------------------------------------------------------

def test_level_normalisation():
    t = np.arange(RATE) / RATE
    sine = (1000 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    out = normalise(sine)
    assert np.max(np.abs(out)) == pytest.approx(256)
    np.testing.assert_allclose(out, sine * (256 / np.max(np.abs(sine))), rtol=1e-5, atol=1e-3)
    # a click 40 dB above a quiet signal is clipped at 0 dBFS = 20 dB above the RMS
    clicky = 0.01 * sine
    clicky[100] = 1000.0
    x = clicky / 32768.0
    gain = 0.1 / np.sqrt(np.mean(x ** 2))
    expected = np.clip(x * gain, -1, 1)
    np.testing.assert_allclose(normalise(clicky), 256 * expected / np.max(np.abs(expected)),
                               rtol=1e-5, atol=1e-4)
    assert normalise(clicky)[100] == pytest.approx(256)
    assert np.abs(normalise(clicky)[:100]).max() > 256 * np.abs(clicky[:100]).max() / 1000
    np.testing.assert_array_equal(normalise(np.zeros(50, np.float32)), np.zeros(50))


def test_balanced_batches():
    labels = [0] * 7 + [1] * 3 + [2] * 12
    sampler = BalancedBatches(labels, 3, per_class=5, seed=1)
    seen = {c: [] for c in range(3)}
    for b in range(12):
        batch = sampler.batch(b)
        classes = [labels[i] for i in batch]
        assert classes == [0] * 5 + [1] * 5 + [2] * 5
        for i in batch:
            seen[labels[i]].append(i)
    for c, n in ((0, 7), (1, 3), (2, 12)):    # every utterance once per pass
        first_pass = seen[c][:n]
        assert sorted(first_pass) == [i for i, lab in enumerate(labels) if lab == c]
    np.testing.assert_array_equal(sampler.batch(7), BalancedBatches(labels, 3, 5, 1).batch(7))
    with pytest.raises(ValueError, match="class 1 has no utterance"):
        BalancedBatches([0, 0, 2], 3, 5, 0)


@pytest.mark.parametrize("seconds, count", [(0.5, 1), (1.0, 1), (1.2, 1), (1.59, 1),
                                            (1.6, 2), (2.2, 3), (3.0, 4), (10.0, 16)])
def test_window_count(seconds, count):
    windowing = WindowOptions().samples(RATE)
    assert windowing == Windowing(19200, 9600, 16000)
    samples = np.ones(round(seconds * RATE), np.float32)
    assert windowing.count(len(samples)) == count
    windows = windowing.windows(samples)
    assert windows.shape == (count, 19200)
    for k, w in enumerate(windows):        # audio in each window, the rest zero padding
        audio = min(19200, len(samples) - k * 9600)
        assert audio >= 16000 or count == 1
        assert np.all(w[:audio] == 256) and not w[audio:].any()


def test_streaming_gives_the_offline_window_scores():
    torch.manual_seed(0)
    model = SoundNet5(SoundNet5Config(), 2).eval()
    windowing = WindowOptions().samples(RATE)
    samples = speech_like(4.7)
    offline = window_probabilities(model, samples, windowing, torch.device("cpu"))
    blocks = (samples[i:i + 1000] for i in range(0, len(samples), 1000))
    streamed = list(stream_scores(model, windowing, blocks, RATE))
    assert [(s, e) for s, e, _ in streamed] == [(0.0, 1.2), (0.6, 1.8), (1.2, 2.4),
                                                (1.8, 3.0), (2.4, 3.6), (3.0, 4.2),
                                                (3.6, 4.7)]
    np.testing.assert_allclose(np.stack([p for *_, p in streamed]), offline, atol=1e-5)
    assert utterance_score(offline, "window_max")[1] == offline[:, 1].max()
    np.testing.assert_allclose(utterance_score(offline, "window_mean"), offline.mean(axis=0))


# -- AU-ROC and the z-test -----------------------------------------------------------

def test_auroc_against_scikit_learn_and_hand_cases():
    assert auroc([True, True, False, False], [0.9, 0.8, 0.1, 0.2]) == 1.0
    assert auroc([True, True, False, False], [0.1, 0.2, 0.9, 0.8]) == 0.0
    assert auroc([True, False, True, False], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert auroc([True, False, False], [0.5, 0.5, 0.1]) == 0.75   # one tie counts half
    rng = np.random.default_rng(0)
    labels = rng.random(200) < 0.3
    scores = np.round(rng.standard_normal(200) + labels, 1)       # with ties
    assert auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    u = mannwhitneyu(scores[labels], scores[~labels]).statistic
    assert auroc(labels, scores) == pytest.approx(u / (labels.sum() * (~labels).sum()))
    with pytest.raises(ValueError, match="positive and negative"):
        auroc([True, True], [0.1, 0.2])


def _delong_by_pairs(labels, a, b):
    """DeLong's test written out pair by pair, as in the 1988 paper."""
    labels = np.asarray(labels)
    comps = []
    for s in (np.asarray(a), np.asarray(b)):
        pos, neg = s[labels], s[~labels]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        comps.append((psi.mean(axis=1), psi.mean(axis=0), psi.mean()))
    m, n = labels.sum(), (~labels).sum()
    s10 = np.cov(np.stack([c[0] for c in comps]))
    s01 = np.cov(np.stack([c[1] for c in comps]))
    s = s10 / m + s01 / n
    z = (comps[0][2] - comps[1][2]) / np.sqrt(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    return comps[0][2], comps[1][2], z


def test_auroc_z_test():
    rng = np.random.default_rng(1)
    labels = rng.random(300) < 0.4
    a = labels + 0.8 * rng.standard_normal(300)
    b = labels + 2.5 * rng.standard_normal(300) + 0.3 * a
    result = compare_auroc(labels, a, b)
    ref_a, ref_b, ref_z = _delong_by_pairs(labels, a, b)
    assert result.auroc_a == pytest.approx(roc_auc_score(labels, a))
    assert result.auroc_b == pytest.approx(ref_b)
    assert result.z == pytest.approx(ref_z)
    assert result.p_value == pytest.approx(2 * norm.sf(abs(ref_z)))
    assert result.p_value < 0.01 and result.z > 0
    assert (result.positives, result.negatives) == (labels.sum(), (~labels).sum())
    same = compare_auroc(labels, a, 3 * a + 1)      # the same ranking: no difference
    assert same.z == 0.0 and same.p_value == 1.0
    swapped = compare_auroc(labels, b, a)
    assert swapped.z == pytest.approx(-result.z) and swapped.p_value == pytest.approx(result.p_value)
    # hand case: 2 positives, 2 negatives; a ranks all right, b swaps one pair
    hand = compare_auroc([True, True, False, False], [4, 3, 2, 1], [4, 2, 3, 1])
    assert (hand.auroc_a, hand.auroc_b) == (1.0, 0.75)


# -- the tools on a small corpus -------------------------------------------------------

def _corpus(tmp_path: Path) -> Path:
    """Four speakers; "ang" utterances louder and higher pitched than "other" ones."""
    data = tmp_path / "data"
    (tmp_path / "wav").mkdir()
    data.mkdir()
    wav, utt2spk, utt2emo = [], [], []
    for s in range(4):
        for u in range(4):
            emo = "ang" if u % 2 else "other"
            utt = f"spk{s}-u{u}"
            x = speech_like(1.1 + 0.3 * u, f0=240 if emo == "ang" else 110, seed=10 * s + u)
            path = tmp_path / "wav" / f"{utt}.wav"
            sf.write(path, (x * (1.0 if emo == "ang" else 0.3) / 32768).astype(np.float32),
                     RATE, subtype="PCM_16")
            wav.append(f"{utt} {path}")
            utt2spk.append(f"{utt} spk{s}")
            utt2emo.append(f"{utt} {emo}")
    for name, lines in (("wav.scp", wav), ("utt2spk", utt2spk), ("utt2emo", utt2emo)):
        (data / name).write_text("\n".join(lines) + "\n")
    return data


def _conf(tmp_path: Path, name: str, layers: int, freeze: int) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""system: soundnet
positive: ang
transfer: {{layers: {layers}, freeze: {freeze}}}
training:
  per_class: 2
  num_batches: 4
  valid_every: 2
  augmentation: null
""")
    return path


def _tool(name: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"sertl.bin.{name}", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def test_train_transfer_score_and_stream(tmp_path):
    data = _corpus(tmp_path)
    source = tmp_path / "exp_source"
    run = _tool("train_soundnet", "--config", _conf(tmp_path, "scratch", 0, 0),
                "--device", "cpu", data, "none", source)
    assert run.returncode == 0, run.stderr
    assert "batch 4: train loss" in run.stderr and "validation AU-ROC" in run.stderr
    for f in ("final.pt", "best_model.pt", "checkpoint.pt", "final_metrics.json",
              "metrics.jsonl", "config.yaml", "valid_spk"):
        assert (source / f).is_file(), f
    src_model, saved = load_soundnet(source / "final.pt")
    assert saved["classes"] == ["other", "ang"]

    target = tmp_path / "exp_transfer"
    run = _tool("train_soundnet", "--config", _conf(tmp_path, "transfer", 3, 2),
                "--device", "cpu", data, source, target)
    assert run.returncode == 0, run.stderr
    model, _ = load_soundnet(target / "final.pt")
    for key, value in model.state_dict().items():
        if key.startswith(("conv1.", "bn1.", "conv2.", "bn2.")):   # copied and frozen
            assert torch.equal(value, src_model.state_dict()[key]), key
        elif key.startswith(("conv3.", "bn3.")) and not key.endswith("num_batches_tracked"):
            assert not torch.equal(value, src_model.state_dict()[key]), key  # fine-tuned

    out = tmp_path / "scored"
    run = _tool("score_soundnet", "--device", "cpu", data, target, out)
    assert run.returncode == 0, run.stderr
    for f in ("scores_window_mean.txt", "scores_window_max.txt", "metrics.json",
              "roc_window_mean.png", "roc_window_max.png"):
        assert (out / f).is_file(), f
    lines = (out / "scores_window_mean.txt").read_text().splitlines()
    assert lines[0] == "# utt ref hyp other ang" and len(lines) == 17

    run = _tool("predict_soundnet", target, data / ".." / "wav" / "spk0-u3.wav")
    assert run.returncode == 0, run.stderr
    rows = run.stdout.splitlines()
    assert rows[0] == "# utt start end other ang"
    assert [r.split()[1:3] for r in rows[1:]] == [["0.00", "1.20"], ["0.60", "1.80"]]
    assert "ms per window" in run.stderr

    compare = _tool("compare_auroc", out / "scores_window_mean.txt",
                    out / "scores_window_max.txt")
    assert compare.returncode == 0, compare.stderr
    assert "two-sided p =" in compare.stdout

    bad = _tool("train_soundnet", "--config", _conf(tmp_path, "bad", 3, 2), data, "none",
                tmp_path / "exp_bad")
    assert bad.returncode == 1 and "needs a pretrained model" in bad.stderr


# -- confs -----------------------------------------------------------------------------

@pytest.mark.parametrize("corpus", ["emodb", "urdu", "ravdess", "savee", "cremad", "emovo",
                                    "iemocap"])
def test_binary_anger_label_maps(corpus):
    import importlib

    from sertl.corpora.emotion import EmotionCorpus, load_label_map

    module = importlib.import_module(f"sertl.corpora.{corpus}")
    spec = next(v for v in vars(module).values() if isinstance(v, EmotionCorpus))
    label_map = load_label_map(REPO / "egs" / corpus / "s5" / "conf" / "labels_anger.yaml",
                               spec)
    assert label_map.classes == ["other", "ang"]
    kept = set(spec.emotions) - ({"xxx"} if corpus == "iemocap" else set())
    assert set(label_map.map) == kept            # every labelled utterance is in the task
    positives = {raw for raw, cls in label_map.map.items() if cls == "ang"}
    assert positives == ({"ang", "fru"} if corpus == "iemocap" else positives) and positives


def test_soundnet_confs_for_the_ser_steps():
    from sertl.bin.ser_system import answer

    scratch = REPO / "conf" / "ser" / "soundnet_scratch.yaml"
    transfer = REPO / "conf" / "ser" / "soundnet_transfer.yaml"
    assert answer("kind", scratch) == "soundnet"
    assert answer("data-suffix", scratch) == ""
    assert answer("input", scratch) == "audio"
    assert answer("rule", scratch) == "window_mean"
    assert answer("needs-pretrained", scratch) == "false"
    assert answer("needs-pretrained", transfer) == "true"
    assert answer("needs-pretrained", REPO / "conf" / "ser" / "soundnet_source.yaml") == "false"


def test_validation_speakers_carry_both_classes():
    """URDU's speakers mostly show one emotion: the validation draw goes on, in the same
    order, until the held-out utterances have both classes (an AU-ROC needs them)."""
    labels = {"a": ["other"], "b": ["other"], "c": ["ang"], "d": ["ang", "other"]}
    utt2spk = {f"{spk}_{i}": spk for spk, labs in labels.items() for i in range(len(labs))}
    utt2label = {f"{spk}_{i}": lab for spk, labs in labels.items()
                 for i, lab in enumerate(labs)}
    grown = 0
    for seed in range(20):
        plain = split_by_speaker(utt2spk, 1, seed)[2]
        _, valid_utts, valid = split_by_speaker(utt2spk, 1, seed, utt2label)
        assert len(plain) == 1 and set(plain) <= set(valid) and len(valid) <= 3
        assert {utt2label[u] for u in valid_utts} == {"ang", "other"}
        grown += len(valid) > 1
    assert grown > 0  # some draws start with a one-class speaker
