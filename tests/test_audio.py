"""Audio input: wav/flac/SPHERE paths, pipes, segments, resampling, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from conftest import speech_like
from sertl.audio import AudioError, iter_utterances, read_recording, recording_duration


def write(path, samples, rate=16000, fmt=None, channels=1):
    data = samples.astype(np.int16)
    if channels > 1:
        data = np.stack([data] * channels, axis=1)
    sf.write(str(path), data, rate, format=fmt, subtype="PCM_16")
    return path


def make_data_dir(d, wav_scp: dict[str, str], segments: dict[str, str] | None = None):
    d.mkdir(parents=True, exist_ok=True)
    (d / "wav.scp").write_text("".join(f"{k} {v}\n" for k, v in sorted(wav_scp.items())))
    if segments:
        (d / "segments").write_text("".join(f"{k} {v}\n" for k, v in sorted(segments.items())))
    return d


@pytest.mark.parametrize("fmt,ext", [("WAV", "wav"), ("FLAC", "flac"), ("NIST", "sph")])
def test_reads_formats_on_16bit_scale(tmp_path, fmt, ext):
    x = speech_like(0.5)
    path = write(tmp_path / f"a.{ext}", x, fmt=fmt)
    samples, rate = read_recording(str(path))
    assert rate == 16000
    np.testing.assert_array_equal(samples, x.astype(np.int16).astype(np.float32))


def test_pipe_and_multichannel(tmp_path):
    x = speech_like(0.5)
    path = write(tmp_path / "stereo.wav", x, channels=2)
    samples, _ = read_recording(f"cat {path} |")
    np.testing.assert_array_equal(samples, x.astype(np.int16).astype(np.float32))


def test_segments_cut_from_recording_and_resampled(tmp_path):
    x = speech_like(2.0, rate=8000)
    write(tmp_path / "rec.wav", x, rate=8000)
    d = make_data_dir(tmp_path / "data", {"rec": str(tmp_path / "rec.wav")},
                      {"rec-a": "rec 0.00 0.50", "rec-b": "rec 0.50 1.75", "rec-c": "rec 1.75 -1"})
    utts = dict(iter_utterances(d, 16000))
    assert {k: len(v) for k, v in utts.items()} == {"rec-a": 8000, "rec-b": 20000, "rec-c": 4000}
    # resampled 8k -> 16k keeps the waveform: compare against the source at half rate
    np.testing.assert_allclose(utts["rec-a"][1000:7000:2], x[500:3500].astype(np.int16),
                               atol=150)


def test_duration(tmp_path):
    write(tmp_path / "a.wav", speech_like(1.25))
    assert recording_duration("a", str(tmp_path / "a.wav")) == pytest.approx(1.25)
    assert recording_duration("a", f"cat {tmp_path / 'a.wav'} |") == pytest.approx(1.25)


def corrupt_inputs(tmp_path):
    good = write(tmp_path / "good.wav", speech_like(1.0))
    raw = good.read_bytes()
    (tmp_path / "trunc.wav").write_bytes(raw[: len(raw) // 2])
    sph = write(tmp_path / "good.sph", speech_like(1.0), fmt="NIST")
    (tmp_path / "trunc.sph").write_bytes(sph.read_bytes()[:20000])
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "junk.wav").write_bytes(b"this is not audio" * 100)
    return {
        "missing": (str(tmp_path / "nope.wav"), "no such file"),
        "empty": (str(tmp_path / "empty.wav"), "empty file"),
        "junk": (str(tmp_path / "junk.wav"), "unreadable"),
        "truncwav": (str(tmp_path / "trunc.wav"), "truncated"),
        "truncsph": (str(tmp_path / "trunc.sph"), "truncated"),
        "badpipe": (f"cat {tmp_path / 'nope.wav'} |", "exited with status"),
        "emptypipe": ("true |", "wrote no audio"),
    }


def test_corrupt_input_errors_name_utterance_and_file(tmp_path):
    for utt, (entry, reason) in corrupt_inputs(tmp_path).items():
        d = make_data_dir(tmp_path / f"data_{utt}", {utt: entry})
        with pytest.raises(AudioError) as e:
            list(iter_utterances(d, 16000))
        message = str(e.value)
        assert f"'{utt}'" in message and entry.rstrip("| ").split()[-1] in message, message
        assert reason in message, message


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_samples_name_utterance_and_file(tmp_path, bad):
    """A float WAV can hold NaN or inf; they must not become features (issue 12)."""
    x = speech_like(0.5) / 32768
    x[1234] = bad
    path = tmp_path / "bad.wav"
    sf.write(str(path), x, 16000, subtype="FLOAT")
    d = make_data_dir(tmp_path / "data", {"spk1-bad": str(path)})
    with pytest.raises(AudioError, match=r"'spk1-bad'.*bad.wav.*1 samples are NaN or inf "
                                         r"\(the first at sample 1234\)"):
        list(iter_utterances(d, 16000))


def test_segment_outside_recording(tmp_path):
    write(tmp_path / "rec.wav", speech_like(1.0))
    d = make_data_dir(tmp_path / "data", {"rec": str(tmp_path / "rec.wav")},
                      {"rec-x": "rec 0.5 3.0"})
    with pytest.raises(AudioError, match="'rec-x'.*outside recording 'rec'"):
        list(iter_utterances(d, 16000))


def test_segment_with_unknown_recording(tmp_path):
    write(tmp_path / "rec.wav", speech_like(1.0))
    d = make_data_dir(tmp_path / "data", {"rec": str(tmp_path / "rec.wav")},
                      {"other-x": "other 0.0 0.5"})
    with pytest.raises(AudioError, match="'other-x'.*'other' not in"):
        list(iter_utterances(d, 16000))
