"""Utterance-level spectrogram images (log mel or MFCC) as librosa computes them.

The image systems (ResNet34 after Durrani & Arshad) take a whole utterance's log mel
spectrogram (or MFCCs) as one image. The paper computed them with librosa, so the values
here are librosa's own (``librosa.feature.melspectrogram`` + ``power_to_db`` with the
utterance's maximum as reference, or ``librosa.feature.mfcc``), on the audio resampled to
``sample_frequency`` and scaled to [-1, 1], as ``librosa.load`` gives it. Leading and
trailing silence can be trimmed first (``librosa.effects.trim``, ``trim_top_db`` below the
utterance's peak).

Options are a Kaldi option file (``conf/spectrogram.conf``: ``--n-mels=128``), like the
other feature confs, with librosa's parameter names; a matrix is stored time-major,
(frames, bins), as Kaldi stores features.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np

from sertl.audio import INT16_SCALE
from sertl.features import FeatureConfigError, options_as_kaldi_args, read_kaldi_config

SPECTROGRAM_TYPES = ("logmel", "mfcc")


@dataclass
class SpectrogramOptions:
    """librosa's parameters (librosa's defaults, but 16 kHz audio)."""
    type: str = "logmel"            # logmel or mfcc
    sample_frequency: int = 16000
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float = 0.0               # 0: sample_frequency / 2
    top_db: float = 80.0            # logmel: dynamic range below the utterance's maximum
    n_mfcc: int = 20                # mfcc: coefficients
    trim_top_db: float = 0.0        # trim edges quieter than this below the peak (0: off)

    def __post_init__(self) -> None:
        if self.type not in SPECTROGRAM_TYPES:
            raise ValueError(f"type must be one of {', '.join(SPECTROGRAM_TYPES)}, "
                             f"not '{self.type}'")
        if min(self.sample_frequency, self.n_fft, self.hop_length, self.n_mels,
               self.n_mfcc) < 1:
            raise ValueError("sample_frequency, n_fft, hop_length, n_mels and n_mfcc must "
                             "be positive")
        if self.fmax and not self.fmin < self.fmax <= self.sample_frequency / 2:
            raise ValueError(f"fmax {self.fmax} must lie in (fmin, sample_frequency / 2]")
        if self.top_db <= 0 or self.trim_top_db < 0:
            raise ValueError("top_db must be positive and trim_top_db not negative")

    @property
    def dim(self) -> int:
        """Bins per frame."""
        return self.n_mels if self.type == "logmel" else self.n_mfcc

    def kaldi_args(self) -> list[str]:
        """The options as ``--name=value`` words, the syntax of a conf file."""
        return options_as_kaldi_args(self)

    def short_id(self) -> str:
        """A data-dir suffix naming these options: ``spec_<type><dim>_<hash>``, so
        different options never share a data dir."""
        digest = hashlib.sha1(" ".join(self.kaldi_args()).encode()).hexdigest()[:6]
        return f"spec_{self.type}{self.dim}_{digest}"


def read_spectrogram_config(path: str | Path | None) -> SpectrogramOptions:
    """Options from a Kaldi option file (None: the defaults); a bad option names the file."""
    if path is None:
        return SpectrogramOptions()
    options = read_kaldi_config(path, SpectrogramOptions)
    try:  # checked once complete
        return SpectrogramOptions(**vars(options))
    except ValueError as e:
        raise FeatureConfigError(f"{path}: {e}") from None


def compute_spectrogram(samples: np.ndarray, opts: SpectrogramOptions) -> np.ndarray:
    """The (frames, bins) image of audio at ``opts.sample_frequency`` in sertl's int16
    scale (sertl.audio); a ValueError when nothing is left after trimming."""
    y = np.asarray(samples, dtype=np.float32) / INT16_SCALE
    if opts.trim_top_db:
        y, _ = librosa.effects.trim(y, top_db=opts.trim_top_db, frame_length=opts.n_fft,
                                    hop_length=opts.hop_length)
    if len(y) == 0 or not np.any(y):
        raise ValueError("no audio (silent, or nothing left after trimming)")
    mel = dict(sr=opts.sample_frequency, n_fft=opts.n_fft, hop_length=opts.hop_length,
               n_mels=opts.n_mels, fmin=opts.fmin, fmax=opts.fmax or None)
    if opts.type == "logmel":
        power = librosa.feature.melspectrogram(y=y, **mel)
        image = librosa.power_to_db(power, ref=np.max, top_db=opts.top_db)
    else:
        image = librosa.feature.mfcc(y=y, n_mfcc=opts.n_mfcc, **mel)
    return np.ascontiguousarray(image.T, dtype=np.float32)
