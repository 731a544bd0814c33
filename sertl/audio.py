"""Audio input for Kaldi data dirs: wav.scp (paths or pipes), segments, resampling.

Samples are returned as float32 on the 16-bit integer scale (-32768..32767), the scale
Kaldi's feature code sees, so that energies and log-mel values equal Kaldi's. Files with
several channels are averaged to mono. Every failure raises AudioError naming the
utterance (or recording) and the file or command.
"""
from __future__ import annotations

import io
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
import soxr

from sertl.io import read_table

INT16_SCALE = 32768.0


class AudioError(RuntimeError):
    """Audio that cannot be read; the message names the utterance and file."""


@dataclass(frozen=True)
class Segment:
    """One utterance: a whole recording (start 0, end None) or a part of one."""
    utt: str
    rec: str
    start: float = 0.0
    end: float | None = None


def _read_pipe(command: str) -> bytes:
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"],
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise AudioError(f"command exited with status {proc.returncode}: "
                         f"{proc.stderr.decode(errors='replace').strip()[-500:]}")
    return proc.stdout


def _declared_frames(path: str, info: sf._SoundFileInfo) -> int | None:
    """Number of frames the file's header promises (WAV and NIST SPHERE), if known."""
    if info.format == "WAV":
        m = re.search(r"^data : (\d+) \(should be \d+\)", info.extra_info, re.M)
        return int(m.group(1)) // (info.channels * _bytes_per_sample(info)) if m else None
    if info.format == "NIST":
        with open(path, "rb") as f:
            header = f.read(1024).decode("latin-1")
        m = re.search(r"sample_count -i (\d+)", header)
        if "shorten" in header:
            raise AudioError("shorten-compressed SPHERE; use 'sph2pipe -f wav -p FILE |' "
                             "in wav.scp")
        return int(m.group(1)) if m else None
    return None


def _bytes_per_sample(info: sf._SoundFileInfo) -> int:
    return {"PCM_U8": 1, "PCM_S8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
            "FLOAT": 4, "DOUBLE": 8, "ULAW": 1, "ALAW": 1}.get(info.subtype, 2)


def read_recording(wav_entry: str) -> tuple[np.ndarray, int]:
    """Read a wav.scp value (a path, or a shell command ending in ``|``).

    Returns mono float32 samples on the 16-bit scale and the sample rate. Raises
    AudioError (without the utterance name; callers add it) for missing, empty,
    unreadable or truncated audio, and for NaN or inf samples (float files can hold them).
    """
    entry = wav_entry.strip()
    try:
        if entry.endswith("|"):
            data = _read_pipe(entry[:-1])
            if not data:
                raise AudioError("command wrote no audio")
            samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        else:
            path = Path(entry)
            if not path.is_file():
                raise AudioError("no such file")
            if path.stat().st_size == 0:
                raise AudioError("empty file")
            info = sf.info(entry)
            declared = _declared_frames(entry, info)
            if declared is not None and declared > info.frames:
                raise AudioError(f"truncated: header declares {declared} samples, "
                                 f"file holds {info.frames}")
            samples, rate = sf.read(entry, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"unreadable audio: {e}") from e
    if samples.shape[0] == 0:
        raise AudioError("no samples")
    bad = np.flatnonzero(~np.isfinite(samples).all(axis=1))
    if len(bad):
        raise AudioError(f"{len(bad)} samples are NaN or inf (the first at sample {bad[0]})")
    return samples.mean(axis=1) * INT16_SCALE, int(rate)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling with libsoxr (its high-quality setting, as librosa uses)."""
    if from_rate == to_rate:
        return samples
    return soxr.resample(samples, from_rate, to_rate, quality="HQ").astype(np.float32)


def recording_duration(rec: str, wav_entry: str) -> float:
    """Duration in seconds of one recording (header only for files, decoded for pipes)."""
    entry = wav_entry.strip()
    try:
        if not entry.endswith("|"):
            info = sf.info(entry)
            return info.frames / info.samplerate
        samples, rate = read_recording(entry)
        return len(samples) / rate
    except (AudioError, sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"recording '{rec}' ({entry}): {e}") from e


def read_segments(data_dir: str | Path) -> list[Segment]:
    """The utterances of a data dir, from ``segments`` if present, else from wav.scp."""
    data_dir = Path(data_dir)
    seg_file = data_dir / "segments"
    if not seg_file.exists():
        return [Segment(rec, rec) for rec in read_table(data_dir / "wav.scp")]
    segments = []
    for utt, value in read_table(seg_file).items():
        fields = value.split()
        try:
            rec, start, end = fields[0], float(fields[1]), float(fields[2])
        except (IndexError, ValueError):
            raise AudioError(f"{seg_file}: bad line for '{utt}': expected "
                             f"'<utt> <rec> <start> <end>'") from None
        segments.append(Segment(utt, rec, start, None if end < 0 else end))
    return segments


def iter_utterances(data_dir: str | Path, sample_rate: int) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(utt, samples)`` for every utterance of a data dir, at ``sample_rate``.

    Each recording is read once, however many segments it has. A segment that ends
    past its recording by more than one frame (25 ms) is an error, like Kaldi's
    extract-segments; a smaller overrun is clipped.
    """
    data_dir = Path(data_dir)
    wav_scp = read_table(data_dir / "wav.scp")
    by_rec: dict[str, list[Segment]] = {}
    for seg in read_segments(data_dir):
        by_rec.setdefault(seg.rec, []).append(seg)
    for rec, segs in by_rec.items():
        if rec not in wav_scp:
            raise AudioError(f"utterance '{segs[0].utt}': recording '{rec}' "
                             f"not in {data_dir / 'wav.scp'}")
        try:
            samples, rate = read_recording(wav_scp[rec])
        except AudioError as e:
            raise AudioError(f"utterance '{segs[0].utt}' (recording '{rec}', "
                             f"{wav_scp[rec]}): {e}") from e
        samples = resample(samples, rate, sample_rate)
        duration = len(samples) / sample_rate
        for seg in segs:
            end = duration if seg.end is None else seg.end
            if end > duration + 0.025 or seg.start >= min(end, duration):
                raise AudioError(f"utterance '{seg.utt}': segment {seg.start}-{end} s "
                                 f"outside recording '{rec}' ({duration:.3f} s, "
                                 f"{wav_scp[rec]})")
            yield seg.utt, samples[round(seg.start * sample_rate):round(end * sample_rate)]
