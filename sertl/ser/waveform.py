"""Raw-waveform segments for SoundNet-style systems: level normalisation, the windows an
utterance is scored on, random training segments, augmentation and balanced batches.

Decisions:

- Level (Elshaer et al.): a segment is brought to an RMS of -20 dBFS (full scale = the
  16-bit range), clipped to full scale as a -20 dBFS file would be, then scaled so its
  largest absolute sample is 256 (SoundNet's input range). Both steps are linear, so
  they only differ from plain peak scaling where clipping cuts peaks more than 20 dB
  above the RMS (clicks, bursts). A silent segment stays zero.
- Windows: ``window`` samples every ``hop`` samples from the start, each kept while at
  least ``min_audio`` samples of it are audio (the last ones zero-padded). An utterance
  shorter than ``min_audio`` still gets one zero-padded window, so that every utterance
  has a score; training segments are drawn only from utterances of at least
  ``min_audio``.
- Augmentation uses librosa.effects (phase-vocoder time stretch, pitch shift by
  resampling: audiomentations would pull in another soxr than ours); the stretched
  segment is cut from enough audio that it spans the window before cropping.
- Batches: ``per_class`` segments of every class; each class's utterances are taken in
  a fresh random order per pass, so every utterance is used before any is used twice.
  Batch ``b`` depends on the seed and ``b`` only, which makes a resumed run repeat the
  uninterrupted one without saving sampler state.
- Whole-utterance augmentation (:class:`SignalAugmentation`, for the vgg16 system):
  gain, noise at a random SNR, pitch shift and time stretch, each with probability p,
  also with librosa.effects: torch-audiomentations would install but has no time
  stretch, and draws from the global RNGs, where a resumed run needs draws seeded per
  batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import librosa
import numpy as np

FULL_SCALE = 32768.0          # sertl.audio's sample scale
TARGET_DBFS = -20.0
PEAK = 256.0


def normalise(segment: np.ndarray) -> np.ndarray:
    """The segment at -20 dBFS RMS, clipped to full scale, then with peak 256 (module
    notes); ``segment`` is on the 16-bit scale."""
    x = segment.astype(np.float64) / FULL_SCALE
    rms = np.sqrt(np.mean(x ** 2)) if len(x) else 0.0
    if rms == 0.0:
        return np.zeros(len(segment), dtype=np.float32)
    x = np.clip(x * (10 ** (TARGET_DBFS / 20) / rms), -1.0, 1.0)
    return (x * (PEAK / np.max(np.abs(x)))).astype(np.float32)


@dataclass(frozen=True)
class Windowing:
    """Window, hop and the least audio a window holds, in samples."""
    window: int
    hop: int
    min_audio: int

    def __post_init__(self) -> None:
        if not 0 < self.min_audio <= self.window or self.hop < 1:
            raise ValueError("windows need 0 < min_audio <= window and a positive hop")

    def count(self, length: int) -> int:
        """How many windows an utterance of ``length`` samples is scored on."""
        if length < self.min_audio:
            return 1
        return (length - self.min_audio) // self.hop + 1

    def windows(self, samples: np.ndarray) -> np.ndarray:
        """(count, window) normalised windows of an utterance (zero-padded at the end)."""
        n = self.count(len(samples))
        padded = np.zeros((n - 1) * self.hop + self.window, dtype=np.float32)
        padded[:len(samples)] = samples[:len(padded)]
        return np.stack([normalise(padded[k * self.hop:k * self.hop + self.window])
                         for k in range(n)])


@dataclass(frozen=True)
class Augmentation:
    """Random time stretch, pitch shift and Gaussian noise of a training segment."""
    stretch: tuple[float, float] = (0.9, 1.1)       # speed factor (> 1: faster)
    pitch_quarter_steps: tuple[int, int] = (-5, 5)  # 24 steps per octave
    noise: tuple[float, float] = (0.0, 0.005)       # sigma as a share of the peak

    def __post_init__(self) -> None:
        for name in ("stretch", "pitch_quarter_steps", "noise"):
            low_high = getattr(self, name)
            if len(low_high) != 2 or low_high[0] > low_high[1]:
                raise ValueError(f"{name} must be a range [low, high], not {list(low_high)}")
        if self.stretch[0] <= 0 or self.noise[0] < 0:
            raise ValueError("stretch factors must be positive, noise not negative")


def random_segment(samples: np.ndarray, length: int, rate: int, rng: np.random.Generator,
                   augmentation: Augmentation | None) -> np.ndarray:
    """A normalised segment of ``length`` samples from a random place of ``samples``,
    augmented when ``augmentation`` is given; zero-padded when the audio is shorter."""
    stretch = 1.0
    if augmentation:
        stretch = rng.uniform(*augmentation.stretch)
    span = int(np.ceil(length * stretch))
    start = int(rng.integers(0, len(samples) - span + 1)) if len(samples) > span else 0
    x = samples[start:start + span].astype(np.float32)
    if augmentation:
        if stretch != 1.0:
            x = librosa.effects.time_stretch(x, rate=stretch)
        steps = int(rng.integers(augmentation.pitch_quarter_steps[0],
                                 augmentation.pitch_quarter_steps[1] + 1))
        if steps:
            x = librosa.effects.pitch_shift(x, sr=rate, n_steps=steps, bins_per_octave=24)
        peak = float(np.max(np.abs(x))) if len(x) else 0.0
        x = x + rng.uniform(*augmentation.noise) * peak * rng.standard_normal(len(x))
    out = np.zeros(length, dtype=np.float32)
    out[:min(length, len(x))] = x[:length]
    return normalise(out)


class BalancedBatches:
    """Utterance indices of balanced batches: ``per_class`` of every class (module notes)."""

    def __init__(self, labels: Sequence[int], num_classes: int, per_class: int, seed: int):
        labels = np.asarray(labels)
        self.members = [np.flatnonzero(labels == c) for c in range(num_classes)]
        empty = [c for c, m in enumerate(self.members) if len(m) == 0]
        if empty:
            raise ValueError(f"class {empty[0]} has no utterance to train on")
        self.per_class, self.seed = per_class, seed

    def batch(self, index: int) -> np.ndarray:
        """The utterances of batch ``index`` (class 0's first, then class 1's ...)."""
        picked = []
        for c, members in enumerate(self.members):
            positions = np.arange(index * self.per_class, (index + 1) * self.per_class)
            passes, offsets = np.divmod(positions, len(members))
            orders = {p: np.random.default_rng([self.seed, c, p]).permutation(len(members))
                      for p in np.unique(passes)}
            picked.extend(members[orders[p][o]] for p, o in zip(passes, offsets))
        return np.array(picked, dtype=np.int64)


@dataclass(frozen=True)
class SignalAugmentation:
    """Random gain, Gaussian noise, pitch shift and time stretch of a whole utterance,
    each applied with probability ``p`` (as audiomentations' transforms are)."""
    p: float = 0.5
    gain_db: tuple[float, float] = (-6.0, 6.0)
    snr_db: tuple[float, float] = (15.0, 40.0)      # noise: signal-to-noise ratio
    pitch_semitones: tuple[float, float] = (-2.0, 2.0)
    stretch: tuple[float, float] = (0.9, 1.1)       # speed factor (> 1: faster)

    def __post_init__(self) -> None:
        for name in ("gain_db", "snr_db", "pitch_semitones", "stretch"):
            low_high = getattr(self, name)
            if len(low_high) != 2 or low_high[0] > low_high[1]:
                raise ValueError(f"{name} must be a range [low, high], not {list(low_high)}")
        if not 0 <= self.p <= 1 or self.stretch[0] <= 0:
            raise ValueError("p must lie in [0, 1] and stretch factors be positive")


def augment_signal(y: np.ndarray, rate: int, rng: np.random.Generator,
                   augmentation: SignalAugmentation) -> np.ndarray:
    """``y`` (float) with each transform of ``augmentation`` applied or not; the same
    numbers are drawn from ``rng`` whichever are applied, so a batch's draws do not
    depend on its utterances."""
    a = augmentation
    apply = rng.random(4) < a.p
    gain = 10 ** (rng.uniform(*a.gain_db) / 20)
    snr = rng.uniform(*a.snr_db)
    semitones = rng.uniform(*a.pitch_semitones)
    stretch = rng.uniform(*a.stretch)
    noise_seed = int(rng.integers(2 ** 32))
    y = np.asarray(y, dtype=np.float32)
    if apply[2] and semitones:
        y = librosa.effects.pitch_shift(y, sr=rate, n_steps=semitones)
    if apply[3] and stretch != 1.0:
        y = librosa.effects.time_stretch(y, rate=stretch)
    if apply[0]:
        y = y * gain
    if apply[1]:
        rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
        noise = np.random.default_rng(noise_seed).standard_normal(len(y))
        y = y + (rms * 10 ** (-snr / 20) * noise).astype(np.float32)
    return y.astype(np.float32)
