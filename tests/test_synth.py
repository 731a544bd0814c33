"""eSpeak NG synthesis: audio, phone and word times checked against the audio itself."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from sertl.synth import (SILENCE, ESpeakSynthesizer, SynthesisError, normalize_symbol,
                         variant_gender)

SENTENCE = "Hello world, the quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def synth() -> ESpeakSynthesizer:
    return ESpeakSynthesizer()


@pytest.fixture(scope="module")
def hello(synth):
    return synth.synthesize(SENTENCE, voice="en-us+m3")


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_one_instance_per_process(synth):
    assert ESpeakSynthesizer() is synth


def test_audio_is_speech_of_plausible_length(hello):
    assert hello.sample_rate == 16000
    assert hello.samples.dtype == np.float32 and hello.samples.ndim == 1
    assert 2.0 < hello.duration < 6.0  # 11 words at 175 words per minute
    assert 0.03 < rms(hello.samples) and np.abs(hello.samples).max() <= 1.0


def test_sample_rate_is_resampled(synth, hello):
    narrow = synth.synthesize(SENTENCE, voice="en-us+m3", sample_rate=8000)
    assert narrow.sample_rate == 8000
    assert narrow.duration == pytest.approx(hello.duration, abs=0.005)
    assert [p.symbol for p in narrow.phones] == [p.symbol for p in hello.phones]


def test_phones_tile_the_audio(hello):
    phones = hello.phones
    assert phones[0].start == 0.0
    assert phones[-1].end == pytest.approx(hello.duration, abs=1e-3)
    for p, q in zip(phones, phones[1:]):
        assert p.start < p.end == q.start
        assert not (p.symbol == SILENCE == q.symbol)
    symbols = [p.symbol for p in phones]
    assert all(s and s[0] not in "',%=_" for s in symbols)
    assert {"h", "oU", "w", "k", "s", "D", "z", "g"} <= set(symbols)


def test_phone_times_match_the_audio(hello):
    """The comma pause is silent and the vowels around it are loud: the times are real."""
    x, rate = hello.samples, hello.sample_rate

    def level(p):
        return rms(x[int(p.start * rate):int(p.end * rate)])
    inner = hello.phones[1:-1]
    pauses = [p for p in inner if p.symbol == SILENCE]
    vowels = [p for p in inner if p.symbol in ("oU", "3:", "I", "aU", "0", "V", "eI")]
    assert len(pauses) == 1 and pauses[0].end - pauses[0].start > 0.05
    assert level(pauses[0]) < 0.02 * min(level(v) for v in vowels)


def test_words_hold_their_phones(hello):
    assert [w.text for w in hello.words] == SENTENCE.rstrip(".").replace(",", "").split()
    spoken = [p.symbol for p in hello.phones if p.symbol != SILENCE]
    assert sum((hello.word_phones(w) for w in hello.words), []) == spoken
    assert hello.word_phones(hello.words[0]) == ["h", "@", "l", "oU"]
    assert all(a.end <= b.start for a, b in zip(hello.words, hello.words[1:]))


def test_word_pairs_spoken_as_one_unit_keep_both_words(synth):
    words = synth.synthesize("We sat in the garden.").words
    assert [w.text for w in words] == ["We", "sat", "in the", "garden"]


@pytest.mark.parametrize("word", ["yesterday", "photographer", "market", "umbrella", "judge"])
def test_phonemize_agrees_with_synthesis(synth, word):
    spoken = [p.symbol for p in synth.synthesize(word).phones if p.symbol != SILENCE]
    assert synth.phonemize(word) == spoken


def test_phonemize_sentence_gives_the_phones_in_context(synth, hello):
    assert synth.phonemize(SENTENCE) == [p.symbol for p in hello.phones if p.symbol != SILENCE]
    assert synth.phonemize("to") == ["t", "u:"]
    assert "@" in synth.phonemize("We want to go.")  # weak form in context


def test_history_only_jitters_phone_times(synth, hello):
    """eSpeak's global pitch flutter makes a repeated call differ, by about a millisecond."""
    synth.synthesize("Something else in between.", voice="en-us+f2", rate=300)
    again = synth.synthesize(SENTENCE, voice="en-us+m3")
    assert [p.symbol for p in again.phones] == [p.symbol for p in hello.phones]
    assert np.allclose([p.end for p in again.phones], [p.end for p in hello.phones],
                       atol=0.005)


FRESH_PROCESS_SCRIPT = """
import sys
from sertl.synth import ESpeakSynthesizer
synth = ESpeakSynthesizer()
for voice in ("en-us+f2", "en-us+m3"):
    samples = synth.synthesize(sys.argv[1], voice=voice).samples
sys.stdout.buffer.write(samples.tobytes())
"""


def test_same_calls_in_a_fresh_process_give_same_samples():
    runs = [subprocess.run([sys.executable, "-c", FRESH_PROCESS_SCRIPT, SENTENCE],
                           capture_output=True, check=True, cwd=REPO).stdout
            for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) > 4 * 16000


def test_prosody_parameters_take_effect(synth):
    text = "The meeting has been moved to Thursday afternoon."
    slow_quiet = synth.synthesize(text, rate=120, volume=60)
    fast_loud = synth.synthesize(text, rate=260, volume=150)
    assert fast_loud.duration < 0.7 * slow_quiet.duration
    assert rms(fast_loud.samples) > 1.8 * rms(slow_quiet.samples)
    female = synth.synthesize(text, voice="en-us+f2")
    male = synth.synthesize(text, voice="en-us+m3")
    assert not np.array_equal(female.samples[:1000], male.samples[:1000])


def test_bad_requests_are_named(synth):
    with pytest.raises(SynthesisError, match="no-such-voice"):
        synth.synthesize("hello", voice="no-such-voice")
    with pytest.raises(ValueError, match="rate=20"):
        synth.synthesize("hello", rate=20)
    with pytest.raises(ValueError, match="pitch=101"):
        synth.synthesize("hello", pitch=101)


def test_symbols_and_variant_genders():
    assert normalize_symbol("'oU") == "oU" and normalize_symbol(",aU") == "aU"
    assert normalize_symbol("_:") == SILENCE
    assert variant_gender("m3") == "m" and variant_gender("f2") == "f"
    with pytest.raises(SynthesisError, match="nosuchvariant"):
        variant_gender("nosuchvariant")
