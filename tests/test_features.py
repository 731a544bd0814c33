"""Features agree with kaldi-native-fbank (the reference of Kaldi's compute-*-feats)."""
from __future__ import annotations

import kaldi_io
import kaldi_native_fbank as knf
import numpy as np
import pytest

from conftest import speech_like
from sertl.features import (FbankOptions, FeatureConfigError, FeatureExtractor, MfccOptions,
                            VadOptions, apply_cmvn, cmvn_stats, compute_vad, fake_cmvn_stats,
                            read_feature_config, splice)
from sertl.io import TableError, write_ark_scp


def knf_features(samples: np.ndarray, opts: FbankOptions | MfccOptions) -> np.ndarray:
    """The same options through kaldi-native-fbank."""
    is_mfcc = isinstance(opts, MfccOptions)
    k = knf.MfccOptions() if is_mfcc else knf.FbankOptions()
    f = k.frame_opts
    f.samp_freq, f.dither, f.snip_edges = opts.sample_frequency, opts.dither, opts.snip_edges
    f.window_type, f.preemph_coeff = opts.window_type, opts.preemphasis_coefficient
    f.remove_dc_offset, f.frame_shift_ms = opts.remove_dc_offset, opts.frame_shift
    f.frame_length_ms = opts.frame_length
    k.mel_opts.num_bins, k.mel_opts.low_freq = opts.num_mel_bins, opts.low_freq
    k.mel_opts.high_freq = opts.high_freq
    k.use_energy, k.raw_energy, k.energy_floor = opts.use_energy, opts.raw_energy, opts.energy_floor
    if is_mfcc:
        k.num_ceps, k.cepstral_lifter = opts.num_ceps, opts.cepstral_lifter
    else:
        k.use_log_fbank, k.use_power = opts.use_log_fbank, opts.use_power
    online = knf.OnlineMfcc(k) if is_mfcc else knf.OnlineFbank(k)
    online.accept_waveform(opts.sample_frequency, samples.tolist())
    online.input_finished()
    return np.array([online.get_frame(i) for i in range(online.num_frames_ready)])


CASES = [
    FbankOptions(dither=0, num_mel_bins=40),
    FbankOptions(dither=0, num_mel_bins=23, use_energy=True, snip_edges=False),
    FbankOptions(dither=0, num_mel_bins=40, window_type="hamming", raw_energy=False,
                 use_energy=True, energy_floor=1.0),
    FbankOptions(dither=0, num_mel_bins=64, frame_shift=20, low_freq=60, high_freq=7000),
    MfccOptions(dither=0),
    MfccOptions(dither=0, use_energy=False),
    MfccOptions(dither=0, num_mel_bins=40, num_ceps=40, low_freq=20, high_freq=-400),
    MfccOptions(dither=0, sample_frequency=8000, num_mel_bins=23, window_type="blackman",
                preemphasis_coefficient=0.0, remove_dc_offset=False),
]


@pytest.mark.parametrize("opts", CASES, ids=lambda o: type(o).__name__)
def test_agrees_with_kaldi_native_fbank(opts):
    samples = speech_like(1.5, rate=int(opts.sample_frequency))
    ours = FeatureExtractor(opts)(samples)
    reference = knf_features(samples, opts)
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() <= 1e-3


def test_dither_is_seeded_per_utterance():
    extractor = FeatureExtractor(FbankOptions())
    samples = speech_like(0.5)
    assert np.array_equal(extractor(samples, seed=7), extractor(samples, seed=7))
    assert not np.array_equal(extractor(samples, seed=7), extractor(samples, seed=8))


def test_too_short_gives_no_frames():
    assert FeatureExtractor(FbankOptions())(np.zeros(300, np.float32)).shape == (0, 23)


def test_config_file_in_kaldi_syntax(tmp_path):
    conf = tmp_path / "mfcc.conf"
    conf.write_text("# hires\n--num-mel-bins=40\n--num-ceps=40  # all of them\n"
                    "--use-energy=false\n--high-freq=-400\n")
    opts = read_feature_config(conf, "mfcc")
    assert (opts.num_mel_bins, opts.num_ceps, opts.use_energy, opts.high_freq) == (40, 40, False, -400)


@pytest.mark.parametrize("line,message", [
    ("--num-mel-bin=40", "unknown option --num-mel-bin"),
    ("--use-energy=yes", "expected true or false"),
    ("num-mel-bins=40", "expected --name=value"),
    ("--num-mel-bins=forty", "--num-mel-bins"),
])
def test_config_errors_name_file_and_line(tmp_path, line, message):
    conf = tmp_path / "fbank.conf"
    conf.write_text(f"--dither=0\n{line}\n")
    with pytest.raises(FeatureConfigError, match=rf"fbank.conf:2: .*{message}"):
        read_feature_config(conf, "fbank")


def test_invalid_values_rejected(tmp_path):
    conf = tmp_path / "fbank.conf"
    conf.write_text("--high-freq=9000\n")
    with pytest.raises(FeatureConfigError, match="bad mel range"):
        read_feature_config(conf, "fbank")


def test_ark_scp_readable_by_kaldi_io(tmp_path):
    feats = {f"utt{i}": FeatureExtractor(FbankOptions())(speech_like(0.3, seed=i), seed=i)
             for i in range(3)}
    sizes = write_ark_scp(tmp_path / "f.ark", tmp_path / "f.scp", feats.items())
    assert sizes == {k: len(v) for k, v in feats.items()}
    read = dict(kaldi_io.read_mat_scp(str(tmp_path / "f.scp")))
    assert read.keys() == feats.keys()
    for k in feats:
        np.testing.assert_array_equal(read[k], feats[k])
    assert dict(kaldi_io.read_mat_ark(str(tmp_path / "f.ark"))).keys() == feats.keys()
    assert not (tmp_path / "f.ark.tmp").exists()


def test_failed_write_leaves_no_ark_or_scp(tmp_path):
    def items():
        yield "a", np.zeros((2, 3), np.float32)
        raise RuntimeError("job killed")
    with pytest.raises(RuntimeError):
        write_ark_scp(tmp_path / "f.ark", tmp_path / "f.scp", items())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key, array, message", [
    ("s2-ü1", np.zeros((2, 3)), r"f.ark: id 's2-ü1' is not ASCII"),
    ("s1-语", np.zeros((2, 3)), r"f.ark: id 's1-语' is not ASCII"),
    ("utt1", np.array([[0.0, np.nan, 1.0]]), r"f.ark: 'utt1' holds 1 non-finite values"),
    ("spk1", np.array([np.inf, 1.0]), r"f.ark: 'spk1' holds 1 non-finite values"),
])
def test_write_ark_scp_refuses_what_it_cannot_write_intact(tmp_path, key, array, message):
    """No broken scp offsets (kaldi-io writes latin-1 keys) and no NaN spreading through
    CMVN stats: an error naming the key and the ark, and nothing written."""
    items = [("utt0", np.ones((2, 3))), (key, array)]
    with pytest.raises(TableError, match=message):
        write_ark_scp(tmp_path / "f.ark", tmp_path / "f.scp", items)
    assert list(tmp_path.iterdir()) == []


def test_cmvn_stats_and_application():
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 2, (50, 4)), rng.normal(3, 2, (70, 4))
    stats = cmvn_stats([a, b])
    both = np.concatenate([a, b])
    assert stats[0, 4] == 120
    normed = apply_cmvn(both, stats, norm_vars=True)
    np.testing.assert_allclose(normed.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(normed.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(apply_cmvn(both, stats), both - both.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(apply_cmvn(both, fake_cmvn_stats(4), norm_vars=True), both, atol=1e-6)


def test_vad_marks_speech_not_silence():
    samples = np.concatenate([np.zeros(8000, np.float32), speech_like(1.0),
                              np.zeros(8000, np.float32)])
    samples += np.random.default_rng(0).normal(0, 1, len(samples)).astype(np.float32)
    mfcc = FeatureExtractor(MfccOptions(use_energy=False))(samples)
    voiced = compute_vad(mfcc, VadOptions(vad_energy_threshold=5.5))
    assert voiced[:40].sum() == 0 and voiced[-40:].sum() == 0
    assert voiced[60:140].mean() > 0.5


def test_vad_context_smooths():
    feats = np.zeros((9, 2), np.float32)
    feats[4, 0] = 100.0  # one loud frame
    opts = VadOptions(vad_energy_threshold=1.0, vad_energy_mean_scale=0.0,
                      vad_frames_context=1, vad_proportion_threshold=0.3)
    np.testing.assert_array_equal(compute_vad(feats, opts), [0, 0, 0, 1, 1, 1, 0, 0, 0])


def test_splice_repeats_edges():
    feats = np.arange(4, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(splice(feats, 1, 1),
                                  [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 3]])
