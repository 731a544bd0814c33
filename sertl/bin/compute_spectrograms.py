"""Utterance spectrogram images of a data dir (one job of steps/make_spectrograms.sh).

Usage: python -m sertl.bin.compute_spectrograms [--config FILE] <data-dir> <out-ark> <out-scp>
       python -m sertl.bin.compute_spectrograms [--config FILE] --print-options

Writes one (frames, bins) log mel or MFCC matrix per utterance (sertl.spectrogram; the
options of the Kaldi option file FILE) to a Kaldi ark/scp, atomically; an utterance with
no audio left (silent, or trimmed away) is an error naming it. --print-options prints
the options in full, one ``--name=value`` per line (the step's record of a data dir's
options), and exits.
"""
from __future__ import annotations

import argparse
import sys

from sertl.audio import AudioError, iter_utterances, read_segments
from sertl.bin.common import run_tool
from sertl.io import TableError, write_ark_scp
from sertl.progress import Progress
from sertl.spectrogram import compute_spectrogram, read_spectrogram_config

PROG = "compute_spectrograms"


def compute(config: str | None, data_dir: str, ark: str, scp: str) -> None:
    opts = read_spectrogram_config(config)
    progress = Progress(f"{PROG} {data_dir}", len(read_segments(data_dir)))

    def images():
        for utt, samples in iter_utterances(data_dir, opts.sample_frequency):
            try:
                image = compute_spectrogram(samples, opts)
            except ValueError as e:
                raise ValueError(f"{data_dir}: utterance '{utt}': {e}") from None
            progress.update(audio_seconds=len(samples) / opts.sample_frequency)
            yield utt, image

    write_ark_scp(ark, scp, images())
    progress.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="spectrogram options (Kaldi option file)")
    parser.add_argument("--print-options", action="store_true")
    parser.add_argument("data_dir", nargs="?")
    parser.add_argument("ark", nargs="?")
    parser.add_argument("scp", nargs="?")
    args = parser.parse_args(argv)
    if args.print_options:
        return run_tool(PROG, lambda: print("\n".join(
            read_spectrogram_config(args.config).kaldi_args())), (ValueError, OSError))
    if not args.scp:
        parser.error("give <data-dir> <out-ark> <out-scp>, or --print-options")
    return run_tool(PROG, lambda: compute(args.config, args.data_dir, args.ark, args.scp),
                    (AudioError, TableError, OSError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
