"""Streaming prediction with a SoundNet SER system: a score every hop (0.6 s) of a long
recording, and the time each 1.2 s window takes.

Usage: python -m sertl.bin.predict_soundnet [--num-threads N] [--device D]
           <exp-dir|final.pt> <data-dir|audio-file> [<out-file>]

The audio (every utterance of a data dir, or one file) is fed to
sertl.ser.soundnet.stream_scores one hop at a time, as a live stream would arrive.
Writes "<utt> <start> <end> <p_1> ... <p_C>" lines (seconds; class posteriors in the
model's class order, given in a "# utt start end <classes>" header; for a detector the
last is the detected class) to <out-file> or stdout, and on stderr the number of windows
and the milliseconds per window (mean, median, 95th percentile) on N CPU threads
(default 1).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from sertl.audio import AudioError, iter_utterances, read_recording, resample
from sertl.bin.common import add_device_option, choose_device, run_tool
from sertl.ser.soundnet import WindowOptions, load_soundnet, stream_scores


def recordings(source: Path, rate: int) -> Iterator[tuple[str, np.ndarray]]:
    """(name, samples at ``rate``) of a data dir's utterances, or of one audio file."""
    if source.is_dir():
        yield from iter_utterances(source, rate)
        return
    try:
        samples, file_rate = read_recording(str(source))
    except AudioError as e:
        raise AudioError(f"{source}: {e}") from e
    yield source.stem, resample(samples, file_rate, rate)


def predict(model_path: Path, source: Path, out: Path | None, threads: int,
            device_name: str | None) -> None:
    torch.set_num_threads(threads)
    if model_path.is_dir():
        model_path = model_path / "final.pt"
    device = choose_device(device_name)
    model, saved = load_soundnet(model_path, device)
    rate = saved["sample_rate"]
    windowing = WindowOptions(**saved["windows"]).samples(rate)
    seconds: list[float] = []
    audio_seconds = 0.0
    stream = open(out, "w", encoding="utf-8") if out else sys.stdout
    try:
        stream.write(f"# utt start end {' '.join(saved['classes'])}\n")
        for name, samples in recordings(source, rate):
            audio_seconds += len(samples) / rate
            blocks = (samples[i:i + windowing.hop] for i in range(0, len(samples), windowing.hop))
            windows = stream_scores(model, windowing, blocks, rate, device)
            while True:
                tic = time.perf_counter()
                try:
                    start, end, p = next(windows)
                except StopIteration:
                    break
                seconds.append(time.perf_counter() - tic)
                stream.write(f"{name} {start:.2f} {end:.2f} "
                             + " ".join(f"{x:.4f}" for x in p) + "\n")
    finally:
        if out:
            stream.close()
    ms = 1000 * np.array(seconds)
    print(f"predict_soundnet: {len(ms)} windows of {windowing.window / rate:.2f} s from "
          f"{audio_seconds:.1f} s of audio on {threads} thread(s), {device.type}: "
          f"{ms.mean():.2f} ms per window (median {np.median(ms):.2f}, 95th percentile "
          f"{np.percentile(ms, 95):.2f}); {1000 * windowing.hop / rate / ms.mean():.0f}x "
          "faster than the hop", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-threads", type=int, default=1)
    add_device_option(parser)
    parser.add_argument("model", type=Path)
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path, nargs="?")
    args = parser.parse_args(argv)
    return run_tool("predict_soundnet", lambda: predict(args.model, args.source, args.out,
                                                        args.num_threads, args.device),
                    (ValueError, KeyError, OSError, AudioError))


if __name__ == "__main__":
    sys.exit(main())
