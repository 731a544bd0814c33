"""The resnet34 SER system: spectrogram images, the ResNet34 network, phased training."""
from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch
import torchvision

from conftest import REPO, speech_like
from sertl.bin import make_folds, score_resnet34, ser_system, train_resnet34
from sertl.config import ConfigError, from_dict, save_config
from sertl.io import load_matrix, read_scp, read_table, write_ark_scp
from sertl.models.resnet import ResNetClassifier, load_torchvision_weights
from sertl.ser.folds import FoldError, random_split
from sertl.ser.folds import make_folds as make_folds_of
from sertl.ser.resnet import ResnetConfig, ResnetPaths, ResnetTrainer
from sertl.ser.system import data_suffix, load_system_config
from sertl.spectrogram import SpectrogramOptions, compute_spectrogram, read_spectrogram_config

BINS = 16
TINY = [1, 1, 1, 1]  # a tiny network of the same family, for training tests


# -- spectrograms ------------------------------------------------------------------------

def test_log_mel_and_mfcc_equal_librosa():
    samples = speech_like(1.2)
    y = samples / 32768.0
    opts = SpectrogramOptions(n_mels=40, hop_length=256, n_fft=1024, fmax=7000.0)
    mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=1024, hop_length=256,
                                         n_mels=40, fmax=7000.0)
    expected = librosa.power_to_db(mel, ref=np.max, top_db=80.0).T
    got = compute_spectrogram(samples, opts)
    assert got.shape == (1 + len(y) // 256, 40) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)
    mfcc = SpectrogramOptions(type="mfcc", n_mfcc=13, n_mels=40, hop_length=256, n_fft=1024)
    expected = librosa.feature.mfcc(y=y, sr=16000, n_mfcc=13, n_fft=1024, hop_length=256,
                                    n_mels=40).T
    np.testing.assert_allclose(compute_spectrogram(samples, mfcc), expected, rtol=1e-5,
                               atol=1e-4)


def test_trimming_drops_silent_edges_as_librosa_does():
    speech = speech_like(0.8)
    samples = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(8000, np.float32)])
    opts = SpectrogramOptions(n_mels=BINS, n_fft=512, hop_length=128, trim_top_db=40.0)
    trimmed, _ = librosa.effects.trim(samples / 32768.0, top_db=40.0, frame_length=512,
                                      hop_length=128)
    got = compute_spectrogram(samples, opts)
    untrimmed = compute_spectrogram(samples, SpectrogramOptions(n_mels=BINS, n_fft=512,
                                                                hop_length=128))
    assert len(got) == 1 + len(trimmed) // 128 < len(untrimmed) - 100
    with pytest.raises(ValueError, match="no audio"):
        compute_spectrogram(np.zeros(4000, np.float32), opts)


def test_spectrogram_config_is_kaldi_syntax_and_checked(tmp_path):
    conf = tmp_path / "spectrogram.conf"
    conf.write_text("# 64 bins\n--n-mels=64\n--trim-top-db=30\n")
    assert read_spectrogram_config(conf) == SpectrogramOptions(n_mels=64, trim_top_db=30.0)
    conf.write_text("--n-mel=64\n")
    with pytest.raises(ValueError, match=r"spectrogram.conf:1: unknown option --n-mel"):
        read_spectrogram_config(conf)
    conf.write_text("--type=cqt\n")
    with pytest.raises(ValueError, match="spectrogram.conf: type must be one of"):
        read_spectrogram_config(conf)


def test_make_spectrograms_step_caches_images(tmp_path, repo_env):
    data = tmp_path / "data"
    data.mkdir()
    utts = [f"s{s}_u{u}" for s in (1, 2) for u in (1, 2)]
    for i, utt in enumerate(utts):
        sf.write(tmp_path / f"{utt}.wav", speech_like(0.5 + 0.1 * i, seed=i).astype(np.int16),
                 16000, subtype="PCM_16")
    (data / "wav.scp").write_text("".join(f"{u} {tmp_path / u}.wav\n" for u in utts))
    (data / "utt2spk").write_text("".join(f"{u} {u.split('_')[0]}\n" for u in utts))
    (data / "spk2utt").write_text("s1 s1_u1 s1_u2\ns2 s2_u1 s2_u2\n")
    conf = tmp_path / "spec.conf"
    conf.write_text("--n-mels=24\n--hop-length=160\n--n-fft=400\n")
    cmd = ["steps/make_spectrograms.sh", "--nj", "2", "--spectrogram-config", str(conf),
           str(data), str(tmp_path / "data_spec")]
    run = subprocess.run(cmd, cwd=REPO, env=repo_env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    scp = read_scp(tmp_path / "data_spec" / "feats.scp")
    assert list(scp) == utts
    image = load_matrix(scp["s2_u2"])
    samples, _ = sf.read(tmp_path / "s2_u2.wav", dtype="float32")
    np.testing.assert_allclose(image, compute_spectrogram(
        samples * 32768.0, read_spectrogram_config(conf)), atol=1e-4)
    record = (tmp_path / "data_spec" / "spectrogram.conf").read_text()
    assert "--n-mels=24" in record and "--trim-top-db=0.0" in record
    again = subprocess.run(cmd, cwd=REPO, env=repo_env, capture_output=True, text=True)
    assert again.returncode == 0 and "complete already" in again.stderr


# -- the network ---------------------------------------------------------------------------

def test_layer_shapes_match_torchvision_resnet34():
    ours = ResNetClassifier(4)
    reference = torchvision.models.resnet34()
    ref_shapes = {k: v.shape for k, v in reference.state_dict().items() if not k.startswith("fc.")}
    our_shapes = {k[len("body."):]: v.shape for k, v in ours.state_dict().items()
                  if k.startswith("body.")}
    assert our_shapes.keys() == ref_shapes.keys()
    for key, shape in ref_shapes.items():
        expected = (64, 1, 7, 7) if key == "conv1.weight" else shape  # one input channel
        assert our_shapes[key] == expected, key
    assert [len(getattr(ours.body, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    assert ours.head.in_features == 512 and ours.dropout.p == 0.1
    b, x = ours.body, torch.zeros(1, 1, 64, 96)
    x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
    for i, (channels, size) in enumerate([(64, 16), (128, 8), (256, 4), (512, 2)], 1):
        x = getattr(b, f"layer{i}")(x)
        assert x.shape == (1, channels, size, 3 * size // 2)
    assert ours(torch.zeros(2, 96, 64), torch.tensor([96, 40])).shape == (2, 4)


def test_torchvision_state_dict_loads_with_identical_outputs(tmp_path):
    torch.manual_seed(3)
    reference = torchvision.models.resnet34().eval()
    for m in reference.modules():  # non-trivial batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    torch.save(reference.state_dict(), tmp_path / "resnet34.pth")
    ours = ResNetClassifier(3)
    load_torchvision_weights(ours, tmp_path / "resnet34.pth")
    ours.eval()
    image = torch.randn(2, 70, 48)                          # (B, frames, bins)
    reference.fc = torch.nn.Identity()
    rgb = image.transpose(1, 2).unsqueeze(1).expand(-1, 3, -1, -1)
    with torch.no_grad():
        np.testing.assert_allclose(ours.embed(image, torch.tensor([70, 70])).numpy(),
                                   reference(rgb).numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"nowhere\.pth: no such file.*never downloaded"):
        load_torchvision_weights(ours, tmp_path / "nowhere.pth")
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "resnet18.pth")
    with pytest.raises(ValueError, match=r"resnet18\.pth: not a torchvision ResNet"):
        load_torchvision_weights(ours, tmp_path / "resnet18.pth")


def test_padding_does_not_change_an_utterance_in_eval_mode_pooling():
    torch.manual_seed(0)
    model = ResNetClassifier(2, TINY).eval()
    image = torch.randn(1, 64, BINS)
    padded = torch.cat([image, torch.zeros(1, 64, BINS)], dim=1)
    with torch.no_grad():
        alone = model.embed(image, torch.tensor([64]))
        in_batch = model.embed(padded, torch.tensor([64]))
    # only the receptive field at the utterance's end sees the padding
    assert torch.allclose(alone, in_batch, atol=0.5 * alone.abs().max())


# -- training ------------------------------------------------------------------------------

def make_image_dir(path: Path, speakers: int = 3, per_class: int = 2, seed: int = 0,
                   classes=("ang", "neu")) -> Path:
    """A data dir of spectrogram images whose class shows as a bright band."""
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    items, utt2spk, utt2emo = [], {}, {}
    for s in range(speakers):
        for k, emo in enumerate(classes):
            for i in range(per_class):
                utt = f"spk{s}_{emo}{i}"
                image = rng.standard_normal((int(rng.integers(24, 48)), BINS)) * 0.5
                image[:, 4 * k:4 * k + 4] += 3.0
                items.append((utt, image))
                utt2spk[utt], utt2emo[utt] = f"spk{s}", emo
    items.sort()
    write_ark_scp(path / "feats.ark", path / "feats.scp", items)
    for name, table in (("utt2spk", utt2spk), ("utt2emo", utt2emo)):
        (path / name).write_text("".join(f"{u} {table[u]}\n" for u in sorted(table)))
    return path


def tiny_config(phases, init="random", valid=1, **extra) -> ResnetConfig:
    return from_dict(ResnetConfig, {
        "system": "resnet34", "phases": phases, "num_valid_speakers": valid,
        "spectrogram": {"n_mels": BINS}, "network": {"layers": TINY, "init": init, **extra}})


def train(config, data, exp, pretrained=None, on_epoch=None) -> dict:
    trainer = ResnetTrainer(config, ResnetPaths(data, pretrained, exp), torch.device("cpu"),
                            say=lambda line: None)
    return trainer.run(on_epoch)


def epoch_losses(exp: Path) -> list[tuple[int, int, float]]:
    lines = (exp / "metrics.jsonl").read_text().splitlines()
    return [(r["phase"], r["epoch"], r["train/loss"]) for r in map(json.loads, lines)]


def test_a_tiny_model_overfits_a_tiny_set(tmp_path):
    data = make_image_dir(tmp_path / "data", speakers=2)
    config = tiny_config([{"train": "all", "epochs": 25, "lr": 0.003, "batch_size": 8}],
                         valid=0)
    train(config, data, tmp_path / "exp")
    losses = [loss for _, _, loss in epoch_losses(tmp_path / "exp")]
    assert losses[-1] < 0.05 < losses[0]
    out = tmp_path / "scored"
    assert score_resnet34.main([str(data), str(tmp_path / "exp"), str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["utterance"]["ua"] == 1.0


def test_head_phase_leaves_the_frozen_body_unchanged(tmp_path):
    source = make_image_dir(tmp_path / "source", classes=("ang", "hap", "neu"))
    target = make_image_dir(tmp_path / "target", seed=1)
    train(tiny_config([{"train": "all", "epochs": 1, "lr": 0.001}]), source,
          tmp_path / "src_exp")
    src_state = torch.load(tmp_path / "src_exp" / "final.pt", weights_only=True)["state_dict"]
    train(tiny_config([{"train": "head", "epochs": 3, "lr": 0.01, "batch_size": 4}],
                      init="pretrained"), target, tmp_path / "tgt_exp",
          pretrained=tmp_path / "src_exp" / "final.pt")
    saved = torch.load(tmp_path / "tgt_exp" / "final.pt", weights_only=True)
    body = [k for k in src_state if k.startswith("body.")]
    assert any("running_mean" in k for k in body)           # batch-norm statistics too
    for key in body:
        assert torch.equal(saved["state_dict"][key], src_state[key]), key
    assert saved["classes"] == ["ang", "neu"] and saved["state_dict"]["head.weight"].shape == (2, 512)


@pytest.mark.parametrize("kill_at", [(1, 2), (2, 1)])
def test_resume_after_a_kill_repeats_the_uninterrupted_losses(tmp_path, kill_at):
    data = make_image_dir(tmp_path / "data")
    config = tiny_config([{"train": "all", "epochs": 2, "lr": 0.001, "batch_size": 4},
                          {"train": "head", "epochs": 2, "lr": 0.01, "batch_size": 4}])
    train(config, data, tmp_path / "whole")

    def kill(phase: int, epoch: int) -> None:
        if (phase, epoch) == kill_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, data, tmp_path / "killed", on_epoch=kill)
    assert not (tmp_path / "killed" / "final.pt").exists()
    train(config, data, tmp_path / "killed")
    assert epoch_losses(tmp_path / "killed") == epoch_losses(tmp_path / "whole")
    assert len(epoch_losses(tmp_path / "whole")) == 4
    whole = torch.load(tmp_path / "whole" / "final.pt", weights_only=True)["state_dict"]
    resumed = torch.load(tmp_path / "killed" / "final.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_early_stopping_and_clear_errors(tmp_path):
    data = make_image_dir(tmp_path / "data")
    config = tiny_config([{"train": "all", "epochs": 10, "lr": 1e-9,
                           "early_stopping_patience": 1}], valid=1)
    metrics = train(config, data, tmp_path / "exp")
    assert metrics["phases"][0]["epochs"] < 10
    with pytest.raises(ValueError, match=r"missing\.pth: no such file"):
        train(tiny_config([{"train": "all", "epochs": 1, "lr": 0.1}], init="imagenet",
                          layers=[3, 4, 6, 3], imagenet_weights=str(tmp_path / "missing.pth")),
              data, tmp_path / "exp2")
    with pytest.raises(ConfigError, match="ResNet34 layers"):  # tiny layers have no weights
        tiny_config([{"train": "all", "epochs": 1, "lr": 0.1}], init="imagenet",
                    imagenet_weights="x.pth")
    with pytest.raises(ConfigError, match="needs a pretrained resnet34 exp"):
        train(tiny_config([{"train": "head", "epochs": 1, "lr": 0.1}], init="pretrained"),
              data, tmp_path / "exp3")
    wrong = tiny_config([{"train": "all", "epochs": 1, "lr": 0.1}])
    wrong.spectrogram = SpectrogramOptions(n_mels=40)
    with pytest.raises(ValueError, match=r"feats.scp: utterance 'spk0_ang0' has shape"):
        train(wrong, data, tmp_path / "exp4")


def test_tools_through_the_system_conf(tmp_path):
    data = make_image_dir(tmp_path / "data")
    conf = tmp_path / "tiny.yaml"
    save_config(conf, tiny_config([{"train": "all", "epochs": 1, "lr": 0.001}]))
    exp = tmp_path / "exp"
    assert train_resnet34.main(["--config", str(conf), "--device", "cpu", str(data), "none",
                                str(exp)]) == 0
    assert {"final.pt", "final_metrics.json", "config.yaml", "checkpoint.pt"} <= \
        {p.name for p in exp.iterdir()}
    assert load_system_config(exp / "config.yaml") == load_system_config(conf)
    out = tmp_path / "test"
    assert score_resnet34.main([str(data), str(exp / "final.pt"), str(out)]) == 0
    lines = (out / "scores_utterance.txt").read_text().splitlines()
    assert lines[0] == "# utt ref hyp ang neu" and len(lines) == 13


@pytest.mark.parametrize("conf", sorted((REPO / "conf" / "ser").glob("resnet34*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_confs_load(conf, tmp_path, capsys):
    config = load_system_config(conf)
    assert isinstance(config, ResnetConfig)
    for query in ("kind", "data-suffix", "rule", "needs-pretrained", "input"):
        assert ser_system.main([query, str(conf)]) == 0
    kind, suffix, rule, pretrained, inp = capsys.readouterr().out.splitlines()
    assert (kind, rule) == ("resnet34", "utterance") and suffix == data_suffix(config)
    assert suffix.startswith(f"spec_{config.spectrogram.type}{config.spectrogram.dim}_")
    assert pretrained == ("true" if config.network.init == "pretrained" else "false")
    assert inp.split()[0] == "spectrogram"
    spectrogram_conf = tmp_path / "spectrogram.conf"  # as the SER pipeline writes it
    spectrogram_conf.write_text("\n".join(inp.split()[1:]) + "\n")
    assert read_spectrogram_config(spectrogram_conf) == config.spectrogram


def test_random_split_is_speaker_dependent_by_name(tmp_path):
    data = make_image_dir(tmp_path / "data", speakers=5)      # 20 utterances
    exp = tmp_path / "exp"
    assert make_folds.main(["--random-split", "0.2", "--seed", "1", str(data), str(exp)]) == 0
    folds = (exp / "folds").read_text().split()
    assert folds[0] == "speaker_dependent" and len(folds[1:]) == 4
    assert (exp / "fold_speaker_dependent" / "train.utts").read_text().count("\n") == 16
    again = tmp_path / "again"  # the folds file repeats it (steps/eval_ser.sh --fold-list)
    assert make_folds.main(["--fold-list", str(exp / "folds"), str(data), str(again)]) == 0
    assert (again / "folds").read_text() == (exp / "folds").read_text()
    other = random_split([f"u{i}" for i in range(20)], 0.2, seed=2)
    assert other != random_split([f"u{i}" for i in range(20)], 0.2, seed=1)
    labels = {f"u{i}": "ang" if i < 15 else "neu" for i in range(20)}
    stratified = random_split(list(labels), 0.2, seed=1, utt2label=labels)["speaker_dependent"]
    assert sorted(labels[u] for u in stratified) == ["ang"] * 3 + ["neu"]
    strat_exp = tmp_path / "stratified"
    assert make_folds.main(["--random-split", "0.2", "--stratified", str(data),
                            str(strat_exp)]) == 0
    utt2emo = read_table(data / "utt2emo")
    tested = Counter(utt2emo[u] for u in (strat_exp / "folds").read_text().split()[1:])
    assert tested == {c: max(1, round(0.2 * n)) for c, n in Counter(utt2emo.values()).items()}
    mixed = tmp_path / "mixed"
    mixed.write_text(f"{(exp / 'folds').read_text().strip()}\nother spk0_neu0\n")
    with pytest.raises(FoldError, match="speaker 'spk"):
        make_folds_of(data, read_table(data / "utt2spk"), "list", mixed)
