"""The vgg16 SER system: feature images, CutMix, batch padding, augmentation, the
network, training, and the steps."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch
import torchvision

from conftest import REPO, speech_like
from sertl.bin import score_vgg16, ser_system, train_vgg16
from sertl.config import ConfigError, from_dict, save_config
from sertl.feature_image import (FEATURES, ImageOptions, feature_blocks, feature_image,
                                 remove_silence)
from sertl.models.vgg import VggClassifier, load_torchvision_weights
from sertl.ser.cutmix import cutmix
from sertl.ser.system import data_suffix, load_system_config
from sertl.ser.vgg import VggConfig, VggTrainer, padded_signals, to_batch
from sertl.ser.waveform import SignalAugmentation, augment_signal

SMALL = dict(n_fft=512, hop_length=256, n_mels=16, n_mfcc=8)   # 65 rows


# -- feature images ------------------------------------------------------------------------

def test_each_feature_equals_librosa():
    y = speech_like(1.0) / 32768.0
    sr, kw = 16000, dict(n_fft=512, hop_length=256)
    got = feature_blocks(y, ImageOptions(**SMALL))
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_mels=16, **kw)
    stft = librosa.stft(y, **kw)
    harmonic, percussive = librosa.decompose.hpss(stft)
    hpss = 0.5 * sum(librosa.feature.melspectrogram(S=np.abs(x) ** 2, sr=sr, n_mels=16, n_fft=512)
                     for x in (harmonic, percussive))
    expected = {
        "mfcc": librosa.feature.mfcc(y=y, sr=sr, n_mfcc=8, n_mels=16, **kw),
        "mel": librosa.power_to_db(mel, ref=np.max, top_db=80.0),
        "chroma": librosa.feature.chroma_stft(y=y, sr=sr, **kw),
        "contrast": librosa.feature.spectral_contrast(y=y, sr=sr, n_bands=6, **kw),
        "tonnetz": librosa.feature.tonnetz(y=y, sr=sr, hop_length=256),
        "hpss_mel": librosa.power_to_db(hpss, ref=np.max, top_db=80.0)}
    assert list(got) == list(FEATURES)
    frames = 1 + len(y) // 256
    for name, want in expected.items():
        assert got[name].shape == (ImageOptions(**SMALL).rows(name), frames), name
        np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-4, err_msg=name)


def test_image_shape_follows_the_conf():
    y = speech_like(0.8) / 32768.0
    frames = 1 + len(y) // 256
    one = ImageOptions(**SMALL)
    image = feature_image(y, one)
    assert image.shape == (1, 65, frames) == (1, one.height, frames)
    order = ["tonnetz", "mel", "chroma"]
    three = ImageOptions(**SMALL, orders=[order, order[::-1], ["chroma", "tonnetz", "mel"]])
    image = feature_image(y, three)
    assert three.height == 34 and image.shape == (3, 34, frames)
    assert np.allclose(image[0, :6], image[1, -6:])             # tonnetz first, then last
    assert np.allclose(image[0, 6:22], image[2, 18:34])         # mel
    for start, rows in ((0, 6), (6, 16), (22, 12)):             # each block standardised
        block = image[0, start:start + rows]
        assert abs(block.mean()) < 1e-5 and abs(block.std() - 1) < 1e-4
    assert to_batch([feature_image(y, one)]).shape == (1, 3, 65, max(32, frames))
    wide = ImageOptions(**dict(SMALL, n_mels=40, n_mfcc=20))
    assert feature_image(y, wide).shape[1] == 20 + 40 + 12 + 7 + 6 + 40
    with pytest.raises(ValueError, match="every order holds the same features"):
        ImageOptions(orders=[["mel"], ["mfcc"], ["mel"]])
    with pytest.raises(ValueError, match="1 .replicated. or 3 channel orders"):
        ImageOptions(orders=[["mel"], ["mel"]])


def test_silence_removal_as_librosa():
    speech = speech_like(0.6)
    samples = np.concatenate([np.zeros(4000, np.float32), speech, np.zeros(8000, np.float32),
                              speech, np.zeros(4000, np.float32)])
    y = samples / 32768.0
    opts = ImageOptions(**SMALL, silence_top_db=30.0)
    intervals = librosa.effects.split(y, top_db=30.0, frame_length=512, hop_length=256)
    np.testing.assert_array_equal(remove_silence(samples, opts),
                                  np.concatenate([y[a:b] for a, b in intervals]))
    assert len(remove_silence(samples, opts)) < len(samples) - 16000
    trimmed = remove_silence(samples, ImageOptions(**SMALL, silence="trim"))
    assert len(trimmed) == len(librosa.effects.trim(y, top_db=30.0, frame_length=512,
                                                    hop_length=256)[0])
    assert len(remove_silence(samples, ImageOptions(**SMALL, silence="none"))) == len(samples)
    with pytest.raises(ValueError, match="no audio"):
        remove_silence(np.zeros(4000, np.float32), opts)


# -- CutMix and augmentation ---------------------------------------------------------------

def test_cutmix_pastes_a_box_and_mixes_labels_by_its_area():
    torch.manual_seed(0)
    images = torch.randn(6, 3, 20, 50)
    targets = torch.nn.functional.one_hot(torch.arange(6) % 3, 3).float()
    shares = []
    for seed in range(200):
        mixed, mixed_targets, box = cutmix(images, targets, np.random.default_rng(seed))
        inside = torch.zeros(20, 50, dtype=torch.bool)
        inside[box.top:box.bottom, box.left:box.right] = True
        partner = torch.from_numpy(box.partner)
        assert torch.equal(mixed[..., inside], images[partner][..., inside])
        assert torch.equal(mixed[..., ~inside], images[..., ~inside])
        share = int(inside.sum()) / (20 * 50)
        assert box.area == int(inside.sum())
        torch.testing.assert_close(mixed_targets, (1 - share) * targets + share * targets[partner])
        assert torch.allclose(mixed_targets.sum(dim=1), torch.ones(6))
        shares.append(share)
    # lambda ~ Beta(1, 1) is uniform; boxes clipped at the edges paste less than 1 - lambda
    assert 0.25 < np.mean(shares) < 0.5 and max(shares) > 0.8 and min(shares) < 0.05


def test_signal_augmentation_is_seeded_and_each_transform_works():
    y = speech_like(0.5) / 32768.0
    off = SignalAugmentation(p=0.0)
    assert np.array_equal(augment_signal(y, 16000, np.random.default_rng(1), off), y)
    gain = SignalAugmentation(p=1.0, gain_db=(6.0, 6.0), snr_db=(200.0, 200.0),
                              pitch_semitones=(0.0, 0.0), stretch=(1.0, 1.0))
    np.testing.assert_allclose(augment_signal(y, 16000, np.random.default_rng(1), gain),
                               y * 10 ** (6 / 20), rtol=1e-5, atol=1e-7)
    noise = SignalAugmentation(p=1.0, gain_db=(0.0, 0.0), snr_db=(10.0, 10.0),
                               pitch_semitones=(0.0, 0.0), stretch=(1.0, 1.0))
    added = augment_signal(y, 16000, np.random.default_rng(1), noise) - y
    assert abs(10 * np.log10(np.mean(y ** 2) / np.mean(added ** 2)) - 10.0) < 0.3
    slow = SignalAugmentation(p=1.0, gain_db=(0.0, 0.0), snr_db=(200.0, 200.0),
                              pitch_semitones=(2.0, 2.0), stretch=(0.8, 0.8))
    assert abs(len(augment_signal(y, 16000, np.random.default_rng(1), slow)) - len(y) / 0.8) < 300
    full = SignalAugmentation(p=0.5)
    a, b = (augment_signal(y, 16000, np.random.default_rng([3, 4]), full) for _ in range(2))
    assert np.array_equal(a, b)


# -- the network ---------------------------------------------------------------------------

@pytest.mark.parametrize("family", ["vgg16_bn", "vgg16"])
def test_torchvision_state_dict_loads_with_identical_outputs(tmp_path, family):
    torch.manual_seed(3)
    reference = getattr(torchvision.models, family)(weights=None).eval()
    for m in reference.modules():  # non-trivial batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    torch.save(reference.state_dict(), tmp_path / f"{family}.pth")
    ours = VggClassifier(7, batch_norm=family == "vgg16_bn", hidden=16)
    load_torchvision_weights(ours, tmp_path / f"{family}.pth")
    ours.eval()
    image = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        expected = torch.flatten(reference.avgpool(reference.features(image)), 1)
        np.testing.assert_allclose(ours.embed(image).numpy(), expected.numpy(),
                                   rtol=1e-4, atol=1e-5)
        assert ours(image).shape == (2, 7)
    assert [k for k in ours.state_dict() if k.startswith("features.")] == \
        [k for k in reference.state_dict() if k.startswith("features.")]
    other = VggClassifier(7, batch_norm=family != "vgg16_bn", pool=(1, 1), hidden=16)
    with pytest.raises(ValueError, match=rf"{family}\.pth: (not a torchvision|does not fit)"):
        load_torchvision_weights(other, tmp_path / f"{family}.pth")
    with pytest.raises(ValueError, match=r"nowhere\.pth: no such file.*never downloaded"):
        load_torchvision_weights(ours, tmp_path / "nowhere.pth")
    with pytest.raises(ValueError, match="smaller than 32 x 32"):
        ours(torch.zeros(1, 3, 64, 20))


# -- training ------------------------------------------------------------------------------

def make_audio_dir(path: Path, speakers: int = 3, per_class: int = 2,
                   classes=("ang", "neu")) -> Path:
    """A data dir of wav files whose class shows in the pitch (ang high, neu low)."""
    path.mkdir(parents=True)
    wavs = path / "wav"
    wavs.mkdir()
    utts = {}
    for s in range(speakers):
        for k, emo in enumerate(classes):
            for i in range(per_class):
                utt = f"spk{s}_{emo}{i}"
                seconds = 0.45 + 0.1 * ((s + i + k) % 3)
                audio = speech_like(seconds, f0=240.0 if k == 0 else 100.0, seed=10 * s + i)
                sf.write(wavs / f"{utt}.wav", audio.astype(np.int16), 16000, subtype="PCM_16")
                utts[utt] = (f"spk{s}", emo)
    names = sorted(utts)
    (path / "wav.scp").write_text("".join(f"{u} {wavs / u}.wav\n" for u in names))
    (path / "utt2spk").write_text("".join(f"{u} {utts[u][0]}\n" for u in names))
    (path / "utt2emo").write_text("".join(f"{u} {utts[u][1]}\n" for u in names))
    spk2utt = {}
    for u in names:
        spk2utt.setdefault(utts[u][0], []).append(u)
    (path / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    return path


def tiny_config(phases, valid=1, padding=True, augmentation=True, mix=True, **net) -> VggConfig:
    return from_dict(VggConfig, {
        "system": "vgg16", "phases": phases, "num_valid_speakers": valid,
        "image": dict(SMALL), "batch_padding": padding,
        "augmentation": {"p": 0.5} if augmentation else None,
        "cutmix": {"prob": 0.5} if mix else None,
        "network": {"width": 16, "pool": [1, 1], "hidden": 32, "dropout": 0.1, **net}})


def trainer(config: VggConfig, data: Path, exp: Path) -> VggTrainer:
    return VggTrainer(config, data, exp, torch.device("cpu"), say=lambda line: None)


def epoch_losses(exp: Path) -> list[tuple[int, int, float]]:
    lines = (exp / "metrics.jsonl").read_text().splitlines()
    return [(r["phase"], r["epoch"], r["train/loss"]) for r in map(json.loads, lines)]


@pytest.mark.parametrize("padding", [True, False])
def test_batch_padding_pads_signals_to_the_batch_longest(tmp_path, padding):
    data = make_audio_dir(tmp_path / "data", speakers=2, per_class=1)
    t = trainer(tiny_config([{"train": "all", "epochs": 1, "lr": 0.001}], valid=0,
                            padding=padding, augmentation=False), data, tmp_path / "exp")
    signals = t.train_signals
    lengths = [len(s) for s in signals]
    longest, shortest = int(np.argmax(lengths)), int(np.argmin(lengths))
    assert lengths[longest] > lengths[shortest] + 2048
    index = np.array([shortest, longest])
    batch = t.batch_images(index, np.random.default_rng(0))
    opts = t.config.image
    frames = 1 + lengths[longest] // opts.hop_length
    assert batch.shape == (2, 3, 65, max(32, frames))           # at least 32 frames
    padded = padded_signals([signals[shortest], signals[longest]])[0]
    assert len(padded) == lengths[longest] and not padded[lengths[shortest]:].any()
    own = feature_image(signals[shortest], opts)
    expected = np.zeros((65, max(32, frames)), np.float32)
    if padding:
        expected[:, :frames] = feature_image(padded, opts)[0]
    else:  # the utterance's own image, zero-padded on the right
        expected[:, :own.shape[-1]] = own[0]
    for channel in range(3):
        np.testing.assert_allclose(batch[0, channel].numpy(), expected, atol=1e-5)
    assert padding == (not np.allclose(batch[0, 0, :, :own.shape[-1]].numpy(), own[0], atol=1e-3))
    again = t.batch_images(index, np.random.default_rng(1))     # cached: the same images
    assert torch.equal(again, batch) and t.cache.hits == 2


def test_a_tiny_model_overfits_a_tiny_set(tmp_path):
    # Without batch padding, so that training sees the images scoring sees (each
    # utterance alone): with it, a tiny model that fits its padded batches scored 50% on
    # the same utterances alone (2 threads; 100% on 1), the train/test gap of padding.
    data = make_audio_dir(tmp_path / "data", speakers=2)
    config = tiny_config([{"train": "all", "epochs": 40, "lr": 0.005, "batch_size": 8}],
                         valid=0, padding=False, augmentation=False, mix=False)
    trainer(config, data, tmp_path / "exp").run()
    losses = [loss for _, _, loss in epoch_losses(tmp_path / "exp")]
    assert losses[-1] < 0.1 < losses[0]
    out = tmp_path / "scored"
    assert score_vgg16.main([str(data), str(tmp_path / "exp"), str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["utterance"]["ua"] == 1.0


@pytest.mark.parametrize("kill_at", [1, 2])
def test_resume_after_a_kill_repeats_the_uninterrupted_losses(tmp_path, kill_at):
    data = make_audio_dir(tmp_path / "data")
    config = tiny_config([{"train": "all", "epochs": 2, "lr": 0.001, "batch_size": 4},
                          {"train": "head", "epochs": 1, "lr": 0.01, "batch_size": 4}])
    trainer(config, data, tmp_path / "whole").run()

    def kill(phase: int, epoch: int) -> None:
        if (phase, epoch) == (1, kill_at):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trainer(config, data, tmp_path / "killed").run(kill)
    assert not (tmp_path / "killed" / "final.pt").exists()
    trainer(config, data, tmp_path / "killed").run()
    assert epoch_losses(tmp_path / "killed") == epoch_losses(tmp_path / "whole")
    assert len(epoch_losses(tmp_path / "whole")) == 3
    whole = torch.load(tmp_path / "whole" / "final.pt", weights_only=True)
    resumed = torch.load(tmp_path / "killed" / "final.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(whole["state_dict"][k], resumed[k]) for k in resumed)
    assert whole["classes"] == ["ang", "neu"] and whole["network"]["width"] == 16


def test_clear_errors(tmp_path):
    data = make_audio_dir(tmp_path / "data", speakers=2, per_class=1)
    phases = [{"train": "all", "epochs": 1, "lr": 0.001}]
    with pytest.raises(ValueError, match=r"missing\.pth: no such file"):
        trainer(tiny_config(phases, width=1, init="imagenet",
                            imagenet_weights=str(tmp_path / "missing.pth")), data, tmp_path / "e")
    with pytest.raises(ConfigError, match="init imagenet needs width 1"):
        tiny_config(phases, init="imagenet", imagenet_weights="x.pth")
    with pytest.raises(ConfigError, match="unknown key 'cutmix.beta'"):
        from_dict(VggConfig, {"system": "vgg16", "phases": phases, "cutmix": {"beta": 1.0}})
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(8000, np.int16), 16000, subtype="PCM_16")
    lines = (data / "wav.scp").read_text().splitlines()
    (data / "wav.scp").write_text("\n".join([lines[0].split()[0] + f" {silent}", *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match=r"utterance 'spk0_ang0': no audio"):
        trainer(tiny_config(phases, valid=0), data, tmp_path / "e2")
    assert train_vgg16.main(["--config", str(REPO / "conf/ser/vgg16_cpu_a.yaml"), str(data),
                             str(tmp_path), str(tmp_path / "e3")]) == 1


@pytest.mark.parametrize("conf", sorted((REPO / "conf" / "ser").glob("vgg16*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_confs_load(conf, capsys):
    config = load_system_config(conf)
    assert isinstance(config, VggConfig) and data_suffix(config) == ""
    assert ser_system.main(["describe", str(conf)]) == 0
    assert capsys.readouterr().out.split()[1:] == ["vgg16", "-", "utterance", "false", "audio"]
    model = conf.stem.split("_")[-1]
    assert config.batch_padding == (model != "f")
    assert (config.augmentation is None) == (model in "de")
    assert (config.cutmix is None) == (model in "ce")
    assert config.network.family == ("vgg16" if model == "b" else "vgg16_bn")
    cpu = "_cpu_" in conf.name
    assert config.network.init == ("random" if cpu else "imagenet")
    assert config.image.height == (102 if cpu else 230)
    assert config.phases[0].batch_size == 16
    assert config.phases[0].lr == (1e-3 if cpu else 1e-5)
    for recipe in ("emodb", "urdu", "iemocap", "ravdess", "savee", "cremad", "emovo"):
        copy = REPO / "egs" / recipe / "s5" / "conf" / "ser" / conf.name
        assert copy.read_text() == conf.read_text(), copy


def test_steps_train_score_and_predict(tmp_path, repo_env):
    data = make_audio_dir(tmp_path / "data", speakers=2, per_class=1)
    conf = tmp_path / "tiny.yaml"
    save_config(conf, tiny_config([{"train": "all", "epochs": 1, "lr": 0.001, "batch_size": 4}],
                                  valid=0))
    exp = tmp_path / "exp"

    def step(*args: str) -> subprocess.CompletedProcess:
        run = subprocess.run(list(args), cwd=REPO, env=repo_env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run

    step("steps/train_ser.sh", "--config", str(conf), str(data), "none", str(exp))
    assert (exp / "final.pt").is_file() and load_system_config(exp / "config.yaml") == \
        load_system_config(conf)
    step("steps/predict_ser.sh", str(exp), str(data / "wav"), str(tmp_path / "predict"))
    lines = (tmp_path / "predict" / "scores" / "scores_utterance.txt").read_text().splitlines()
    assert lines[0] == "# utt ref hyp ang neu" and len(lines) == 5   # by steps/score_ser.sh
    labels = (tmp_path / "predict" / "labels.tsv").read_text().splitlines()
    assert len(labels) == 5 and all(line.split("\t")[1] in ("ang", "neu") for line in labels[1:])
