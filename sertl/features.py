"""Kaldi-compatible filterbank and MFCC features, CMVN statistics and energy VAD.

The computation follows Kaldi's ``compute-fbank-feats`` / ``compute-mfcc-feats``
(framing, dither, DC removal, raw log-energy, pre-emphasis, window, power spectrum,
triangular mel banks on the mel scale 1127 ln(1 + f/700), DCT-II and liftering), so that
with the same options the output equals Kaldi's; tests compare with kaldi-native-fbank.
All frames of an utterance are processed at once with numpy (one FFT call per
utterance). Options are read from Kaldi-style config files (``--num-mel-bins=40``).
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

FLT_EPSILON = float(np.finfo(np.float32).eps)


class FeatureConfigError(ValueError):
    """A bad option in a feature config; the message names the file and line."""


@dataclass
class FrameOptions:
    """Kaldi's FrameExtractionOptions and MelBanksOptions."""
    sample_frequency: float = 16000.0
    frame_shift: float = 10.0
    frame_length: float = 25.0
    dither: float = 1.0
    preemphasis_coefficient: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "povey"
    round_to_power_of_two: bool = True
    blackman_coeff: float = 0.42
    snip_edges: bool = True
    # Accepted for Kaldi config compatibility: sertl always resamples audio to
    # sample_frequency, so these have no effect.
    allow_downsample: bool = False
    allow_upsample: bool = False
    num_mel_bins: int = 23
    low_freq: float = 20.0
    high_freq: float = 0.0
    energy_floor: float = 0.0
    raw_energy: bool = True

    @property
    def window_size(self) -> int:
        return int(self.sample_frequency * 0.001 * self.frame_length)

    @property
    def window_shift(self) -> int:
        return int(self.sample_frequency * 0.001 * self.frame_shift)

    @property
    def padded_window_size(self) -> int:
        n = self.window_size
        return 1 << (n - 1).bit_length() if self.round_to_power_of_two else n


@dataclass
class FbankOptions(FrameOptions):
    """Options of Kaldi's compute-fbank-feats."""
    use_energy: bool = False
    use_log_fbank: bool = True
    use_power: bool = True


@dataclass
class MfccOptions(FrameOptions):
    """Options of Kaldi's compute-mfcc-feats."""
    num_ceps: int = 13
    use_energy: bool = True
    cepstral_lifter: float = 22.0


def _parse_value(text: str, like: object) -> object:
    if isinstance(like, bool):
        if text not in ("true", "false"):
            raise ValueError(f"expected true or false, got '{text}'")
        return text == "true"
    return type(like)(text)


def read_kaldi_config(path: str | Path, options_type: type) -> object:
    """Read a Kaldi option file (``--name=value`` per line, ``#`` comments) into a
    dataclass of ``options_type``.

    An unknown or malformed option is an error naming the file and line, so a typo in
    a conf file never silently falls back to a default.
    """
    options = options_type()
    known = {f.name: f for f in fields(options)}
    for lineno, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if not line.startswith("--") or "=" not in line:
            raise FeatureConfigError(f"{path}:{lineno}: expected --name=value, got '{line}'")
        name, value = line[2:].split("=", 1)
        attr = name.replace("-", "_")
        if attr not in known:
            raise FeatureConfigError(f"{path}:{lineno}: unknown option --{name} for "
                                     f"{options_type.__name__}")
        try:
            setattr(options, attr, _parse_value(value, getattr(options, attr)))
        except ValueError as e:
            raise FeatureConfigError(f"{path}:{lineno}: --{name}: {e}") from None
    return options


FEATURE_TYPES = {"fbank": FbankOptions, "mfcc": MfccOptions}


def read_feature_config(path: str | Path | None, feature_type: str) -> FbankOptions | MfccOptions:
    """Options of ``feature_type`` ('fbank' or 'mfcc') from a conf file (None: defaults)."""
    options_type = FEATURE_TYPES[feature_type]
    options = options_type() if path is None else read_kaldi_config(path, options_type)
    try:
        validate_options(options)
    except FeatureConfigError as e:
        raise FeatureConfigError(f"{path}: {e}") from None
    return options


def validate_options(opts: FrameOptions) -> None:
    """Reject option values that Kaldi would reject."""
    nyquist = opts.sample_frequency / 2
    high = opts.high_freq if opts.high_freq > 0 else nyquist + opts.high_freq
    if opts.window_shift <= 0 or opts.window_size < 2:
        raise FeatureConfigError("frame shift and length must be positive")
    if opts.window_type not in _WINDOWS:
        raise FeatureConfigError(f"unknown --window-type={opts.window_type}; "
                                 f"one of {sorted(_WINDOWS)}")
    if not 0 <= opts.low_freq < high <= nyquist:
        raise FeatureConfigError(f"bad mel range: low-freq {opts.low_freq}, high-freq "
                                 f"{opts.high_freq} at sample frequency {opts.sample_frequency}")
    if opts.num_mel_bins < 3:
        raise FeatureConfigError("--num-mel-bins must be at least 3")
    if isinstance(opts, MfccOptions) and opts.num_ceps > opts.num_mel_bins:
        raise FeatureConfigError("--num-ceps must not exceed --num-mel-bins")


def _povey(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / (n - 1))) ** 0.85


_WINDOWS = {
    "povey": lambda n, _: _povey(n),
    "hamming": lambda n, _: 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(n) / (n - 1)),
    "hanning": lambda n, _: 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / (n - 1)),
    "rectangular": lambda n, _: np.ones(n),
    "sine": lambda n, _: np.sin(np.pi * np.arange(n) / (n - 1)),
    "blackman": lambda n, c: (c - 0.5 * np.cos(2 * np.pi * np.arange(n) / (n - 1))
                              + (0.5 - c) * np.cos(4 * np.pi * np.arange(n) / (n - 1))),
}


def mel_scale(freq: np.ndarray | float) -> np.ndarray:
    """Kaldi's mel scale, evaluated in float32 as Kaldi does (weights then match bit-wise
    closely, which matters for bands whose energy sits in a low-weight bin)."""
    freq = np.asarray(freq, dtype=np.float32)
    return np.float32(1127.0) * np.log(np.float32(1.0) + freq / np.float32(700.0))


def mel_banks(opts: FrameOptions) -> np.ndarray:
    """Triangular mel filters, shape (num_fft_bins, num_mel_bins), Kaldi's MelBanks."""
    f32 = np.float32
    num_fft_bins = opts.padded_window_size // 2
    nyquist = opts.sample_frequency / 2
    high = opts.high_freq if opts.high_freq > 0 else nyquist + opts.high_freq
    mel_low, mel_high = mel_scale(opts.low_freq), mel_scale(high)
    delta = (mel_high - mel_low) / f32(opts.num_mel_bins + 1)
    bins = np.arange(opts.num_mel_bins, dtype=np.float32)
    left = mel_low + bins * delta
    center = mel_low + (bins + f32(1)) * delta
    right = mel_low + (bins + f32(2)) * delta
    bin_width = f32(opts.sample_frequency) / f32(opts.padded_window_size)
    mel = mel_scale(bin_width * np.arange(num_fft_bins, dtype=np.float32))[:, None]
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    weights = np.where(mel <= center, up, down)
    weights[(mel <= left) | (mel >= right)] = 0.0
    return weights.astype(np.float32)


def dct_matrix(num_bins: int, num_ceps: int) -> np.ndarray:
    """Orthonormal DCT-II rows 0..num_ceps-1, shape (num_bins, num_ceps), as Kaldi's."""
    k = np.arange(num_ceps)[None, :]
    j = np.arange(num_bins)[:, None]
    dct = np.sqrt(2.0 / num_bins) * np.cos(np.pi / num_bins * (j + 0.5) * k)
    dct[:, 0] = np.sqrt(1.0 / num_bins)
    return dct.astype(np.float32)


def lifter_coefficients(num_ceps: int, q: float) -> np.ndarray:
    return (1.0 + 0.5 * q * np.sin(np.pi * np.arange(num_ceps) / q)).astype(np.float32)


def num_frames(num_samples: int, opts: FrameOptions) -> int:
    """Kaldi's NumFrames."""
    shift, size = opts.window_shift, opts.window_size
    if opts.snip_edges:
        return 0 if num_samples < size else 1 + (num_samples - size) // shift
    return (num_samples + shift // 2) // shift


def _frame_signal(samples: np.ndarray, opts: FrameOptions) -> np.ndarray:
    """Frames of shape (num_frames, window_size); edges reflected when not snipping."""
    n = num_frames(len(samples), opts)
    shift, size = opts.window_shift, opts.window_size
    if n == 0:
        return np.zeros((0, size), dtype=np.float32)
    if opts.snip_edges:
        return sliding_window_view(samples, size)[::shift][:n]
    first = shift // 2 - size // 2
    index = first + shift * np.arange(n)[:, None] + np.arange(size)[None, :]
    while True:  # reflect until every index is in range (Kaldi's ExtractWindow)
        index = np.where(index < 0, -index - 1, index)
        index = np.where(index >= len(samples), 2 * len(samples) - 1 - index, index)
        if index.min() >= 0 and index.max() < len(samples):
            return samples[index]


class FeatureExtractor:
    """Computes fbank or MFCC features for whole utterances with fixed options."""

    def __init__(self, opts: FbankOptions | MfccOptions):
        validate_options(opts)
        self.opts = opts
        self.window = _WINDOWS[opts.window_type](opts.window_size,
                                                 opts.blackman_coeff).astype(np.float32)
        self.mel_banks = mel_banks(opts)
        self.is_mfcc = isinstance(opts, MfccOptions)
        if self.is_mfcc:
            self.dct = dct_matrix(opts.num_mel_bins, opts.num_ceps)
            if opts.cepstral_lifter != 0:
                self.dct = self.dct * lifter_coefficients(opts.num_ceps,
                                                          opts.cepstral_lifter)[None, :]

    @property
    def dim(self) -> int:
        o = self.opts
        if self.is_mfcc:
            return o.num_ceps
        return o.num_mel_bins + int(o.use_energy)

    def __call__(self, samples: np.ndarray, seed: int = 0) -> np.ndarray:
        """Features of one utterance (samples on the 16-bit scale), float32 (T, dim).

        ``seed`` drives the dither noise so that features are reproducible.
        """
        o = self.opts
        frames = _frame_signal(np.asarray(samples, dtype=np.float32), o).astype(np.float32)
        if len(frames) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if o.dither != 0:
            rng = np.random.default_rng(seed)
            frames = frames + o.dither * rng.standard_normal(frames.shape, dtype=np.float32)
        if o.remove_dc_offset:
            frames = frames - frames.mean(axis=1, keepdims=True)
        if o.raw_energy:
            energy = np.einsum("ij,ij->i", frames, frames)
        if o.preemphasis_coefficient != 0:
            frames = np.concatenate(
                [frames[:, :1] * (1 - o.preemphasis_coefficient),
                 frames[:, 1:] - o.preemphasis_coefficient * frames[:, :-1]], axis=1)
        frames = frames * self.window
        if not o.raw_energy:
            energy = np.einsum("ij,ij->i", frames, frames)
        spectrum = np.fft.rfft(frames, n=o.padded_window_size, axis=1)
        power = spectrum.real ** 2 + spectrum.imag ** 2
        power = power[:, :-1]  # Kaldi's mel banks skip the Nyquist bin
        if not self.is_mfcc and not o.use_power:
            power = np.sqrt(power)
        mel = power @ self.mel_banks
        if self.is_mfcc or o.use_log_fbank:
            mel = np.log(np.maximum(mel, FLT_EPSILON))
        feats = mel @ self.dct if self.is_mfcc else mel
        if o.use_energy:
            log_energy = np.log(np.maximum(energy, FLT_EPSILON))
            if o.energy_floor > 0:
                log_energy = np.maximum(log_energy, math.log(o.energy_floor))
            if self.is_mfcc:
                feats[:, 0] = log_energy
            else:
                feats = np.concatenate([log_energy[:, None], feats], axis=1)
        return np.ascontiguousarray(feats, dtype=np.float32)


def utterance_seed(utt: str) -> int:
    """A stable per-utterance seed for dithering (the same on every run and machine)."""
    return zlib.crc32(utt.encode("utf-8"))


def options_as_kaldi_args(opts: FrameOptions) -> list[str]:
    """The options as Kaldi command-line arguments (for logs and exp dirs)."""
    args = []
    for f in fields(opts):
        value = getattr(opts, f.name)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        args.append(f"--{f.name.replace('_', '-')}={text}")
    return args


# ---------------------------------------------------------------- CMVN and VAD


def cmvn_stats(matrices: list[np.ndarray]) -> np.ndarray:
    """Kaldi CMVN statistics, shape (2, D+1): [sum x, count; sum x^2, 0], in float64."""
    dim = matrices[0].shape[1]
    stats = np.zeros((2, dim + 1), dtype=np.float64)
    for m in matrices:
        m = m.astype(np.float64)
        stats[0, :dim] += m.sum(axis=0)
        stats[1, :dim] += (m * m).sum(axis=0)
        stats[0, dim] += len(m)
    return stats


def fake_cmvn_stats(dim: int) -> np.ndarray:
    """Statistics that make CMVN the identity (mean 0, variance 1, count 1)."""
    stats = np.zeros((2, dim + 1), dtype=np.float64)
    stats[0, dim] = 1.0
    stats[1, :dim] = 1.0
    return stats


def apply_cmvn(feats: np.ndarray, stats: np.ndarray, norm_vars: bool = False) -> np.ndarray:
    """Normalise features with CMVN statistics, as Kaldi's apply-cmvn."""
    dim = feats.shape[1]
    count = stats[0, dim]
    if count < 1.0:
        raise ValueError(f"CMVN statistics with count {count} < 1")
    mean = stats[0, :dim] / count
    out = feats - mean
    if norm_vars:
        var = np.maximum(stats[1, :dim] / count - mean * mean, 1.0e-20)
        out = out / np.sqrt(var)
    return out.astype(np.float32)


@dataclass
class VadOptions:
    """Options of Kaldi's compute-vad (energy VAD on feature column 0)."""
    vad_energy_threshold: float = 5.0
    vad_energy_mean_scale: float = 0.5
    vad_frames_context: int = 0
    vad_proportion_threshold: float = 0.6


def read_vad_config(path: str | Path) -> VadOptions:
    """Read a Kaldi vad.conf (``--vad-energy-threshold=5.5`` per line)."""
    return read_kaldi_config(path, VadOptions)


def compute_vad(feats: np.ndarray, opts: VadOptions) -> np.ndarray:
    """Voiced (1.0) / unvoiced (0.0) decision per frame, Kaldi's energy VAD.

    Column 0 must be log-energy or C0 (MFCC). A frame is voiced when at least
    ``vad_proportion_threshold`` of the frames within ``vad_frames_context`` of it have
    log-energy above ``threshold + mean_scale * mean log-energy``.
    """
    log_energy = feats[:, 0].astype(np.float64)
    if len(log_energy) == 0:
        return np.zeros(0, dtype=np.float32)
    threshold = opts.vad_energy_threshold
    if opts.vad_energy_mean_scale != 0:
        threshold += opts.vad_energy_mean_scale * log_energy.mean()
    above = (log_energy > threshold).astype(np.float64)
    c = opts.vad_frames_context
    kernel = np.ones(2 * c + 1)
    num = np.convolve(above, kernel, mode="same")
    den = np.convolve(np.ones_like(above), kernel, mode="same")
    return (num >= den * opts.vad_proportion_threshold).astype(np.float32)


def splice(feats: np.ndarray, left: int, right: int) -> np.ndarray:
    """Stack each frame with its context (edges repeat the first/last frame), as Kaldi."""
    t = len(feats)
    index = np.clip(np.arange(t)[:, None] + np.arange(-left, right + 1)[None, :], 0, t - 1)
    return feats[index].reshape(t, -1)

