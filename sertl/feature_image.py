"""Composite feature images of an utterance (Ragheb et al.): six librosa features stacked
along frequency into a 3-channel image whose time axis follows the utterance.

The features, each (rows, frames) on the same STFT frames (``n_fft``, ``hop_length``,
librosa's centred framing), with librosa's own functions so the values are librosa's:

- ``mfcc``: ``librosa.feature.mfcc`` (``n_mfcc`` rows, on ``n_mels`` mel bands);
- ``mel``: ``librosa.feature.melspectrogram`` in dB (``power_to_db``, reference the
  utterance's maximum, ``top_db`` range; ``n_mels`` rows);
- ``chroma``: ``librosa.feature.chroma_stft`` (12 rows);
- ``contrast``: ``librosa.feature.spectral_contrast`` (``n_bands`` + 1 rows);
- ``tonnetz``: ``librosa.feature.tonnetz`` (6 rows; its CQT chroma with ``hop_length``);
- ``hpss_mel``: the mean of the mel power spectrograms of the harmonic and the
  percussive part of the STFT (``librosa.decompose.hpss``, the median-filter
  separation that ``librosa.effects.hpss`` applies before going back to waveforms:
  here the parts stay spectrograms, which saves two inverse and two forward STFTs), in
  dB as ``mel`` (``n_mels`` rows).

Decisions:

- Silence (``silence``): ``split`` keeps the intervals of ``librosa.effects.split``
  (frames louder than ``silence_top_db`` below the peak) and joins them, so pauses
  inside the utterance go too; ``trim`` cuts the edges only (``librosa.effects.trim``);
  ``none`` keeps all. Audio shorter than ``n_fft`` afterwards is zero-padded to it.
- Normalisation: each feature's block is standardised on itself (zero mean, unit
  variance over its rows and frames; a constant block becomes zero), so no feature
  dominates by its scale.
- Channels: ``orders`` lists 1 or 3 orders of the features; channel k is the stack in
  order k, and a single order is replicated into the three channels (the paper's
  images; with ImageNet weights, a gray image). Every order holds the same features, so
  every channel has the same height. Row 0 is the first feature's first row.

The audio is sertl's int16 scale at ``sample_rate``; it is scaled to [-1, 1] first, as
``librosa.load`` gives it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import librosa
import numpy as np

from sertl.audio import INT16_SCALE

FEATURES = ("mfcc", "mel", "chroma", "contrast", "tonnetz", "hpss_mel")


@dataclass
class ImageOptions:
    """The features of the image and their librosa parameters (module docstring)."""
    sample_rate: int = 16000
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    n_mfcc: int = 40
    n_bands: int = 6                       # spectral contrast: n_bands + 1 rows
    top_db: float = 80.0                   # dB range of mel and hpss_mel
    silence: Literal["split", "trim", "none"] = "split"
    silence_top_db: float = 30.0
    orders: list[list[str]] = field(default_factory=lambda: [list(FEATURES)])

    def __post_init__(self) -> None:
        if min(self.sample_rate, self.n_fft, self.hop_length, self.n_mels, self.n_mfcc,
               self.n_bands) < 1 or self.top_db <= 0 or self.silence_top_db <= 0:
            raise ValueError("the sizes, top_db and silence_top_db must be positive")
        if len(self.orders) not in (1, 3):
            raise ValueError(f"orders lists 1 (replicated) or 3 channel orders, not "
                             f"{len(self.orders)}")
        for order in self.orders:
            unknown = [f for f in order if f not in FEATURES]
            if unknown or len(set(order)) != len(order) or not order:
                raise ValueError(f"an order lists distinct features of {', '.join(FEATURES)}, "
                                 f"not {order}")
            if set(order) != set(self.orders[0]):
                raise ValueError(f"every order holds the same features: {order} and "
                                 f"{self.orders[0]}")
        if 200.0 * 2 ** (self.n_bands - 1) >= self.sample_rate / 2:
            raise ValueError(f"n_bands {self.n_bands}: spectral contrast's top band would "
                             f"pass the Nyquist frequency of {self.sample_rate} Hz")

    def rows(self, feature: str) -> int:
        return {"mfcc": self.n_mfcc, "mel": self.n_mels, "chroma": 12,
                "contrast": self.n_bands + 1, "tonnetz": 6, "hpss_mel": self.n_mels}[feature]

    @property
    def height(self) -> int:
        """Rows of the image (its frequency axis)."""
        return sum(self.rows(f) for f in self.orders[0])


def remove_silence(samples: np.ndarray, opts: ImageOptions) -> np.ndarray:
    """The audio ([-1, 1] scale) without its silences (module docstring); a ValueError
    when nothing is left."""
    y = np.asarray(samples, dtype=np.float32) / INT16_SCALE
    if not np.any(y):
        raise ValueError("no audio (silent)")
    frames = dict(frame_length=opts.n_fft, hop_length=opts.hop_length)
    if opts.silence == "split":
        intervals = librosa.effects.split(y, top_db=opts.silence_top_db, **frames)
        y = np.concatenate([y[a:b] for a, b in intervals])
    elif opts.silence == "trim":
        y, _ = librosa.effects.trim(y, top_db=opts.silence_top_db, **frames)
    if len(y) < opts.n_fft:
        y = np.concatenate([y, np.zeros(opts.n_fft - len(y), dtype=np.float32)])
    return y


def feature_blocks(y: np.ndarray, opts: ImageOptions) -> dict[str, np.ndarray]:
    """The (rows, frames) feature blocks of the image, before normalisation, of audio on
    the [-1, 1] scale."""
    wanted = set(opts.orders[0])
    sr, n_fft, hop = opts.sample_rate, opts.n_fft, opts.hop_length
    stft = librosa.stft(y, n_fft=n_fft, hop_length=hop)
    power = np.abs(stft) ** 2
    mel = dict(sr=sr, n_fft=n_fft, n_mels=opts.n_mels)
    blocks = {}
    if wanted & {"mel", "mfcc"}:
        mel_power = librosa.feature.melspectrogram(S=power, **mel)
        blocks["mel"] = librosa.power_to_db(mel_power, ref=np.max, top_db=opts.top_db)
        blocks["mfcc"] = librosa.feature.mfcc(S=librosa.power_to_db(mel_power),
                                              n_mfcc=opts.n_mfcc)
    if "chroma" in wanted:
        blocks["chroma"] = librosa.feature.chroma_stft(S=power, sr=sr, n_fft=n_fft)
    if "contrast" in wanted:
        blocks["contrast"] = librosa.feature.spectral_contrast(S=np.abs(stft), sr=sr,
                                                               n_fft=n_fft, n_bands=opts.n_bands)
    if "tonnetz" in wanted:
        with warnings.catch_warnings():  # the CQT's low octaves on short audio: harmless
            warnings.filterwarnings("ignore", message="n_fft=.* is too large")
            tonnetz = librosa.feature.tonnetz(y=y, sr=sr, hop_length=hop)
        blocks["tonnetz"] = tonnetz[:, :power.shape[1]]
    if "hpss_mel" in wanted:
        harmonic, percussive = librosa.decompose.hpss(stft)
        mean = 0.5 * (librosa.feature.melspectrogram(S=np.abs(harmonic) ** 2, **mel)
                      + librosa.feature.melspectrogram(S=np.abs(percussive) ** 2, **mel))
        blocks["hpss_mel"] = librosa.power_to_db(mean, ref=np.max, top_db=opts.top_db)
    return {f: blocks[f] for f in opts.orders[0]}


def standardise(block: np.ndarray) -> np.ndarray:
    """The block at zero mean and unit variance (a constant block: zero)."""
    std = block.std()
    return ((block - block.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def feature_image(y: np.ndarray, opts: ImageOptions) -> np.ndarray:
    """The (channels, height, frames) image of audio on the [-1, 1] scale, silence
    already removed; channels is 1 for a single (replicated) order, else 3."""
    blocks = {f: standardise(b) for f, b in feature_blocks(y, opts).items()}
    return np.stack([np.concatenate([blocks[f] for f in order]) for order in opts.orders])
