"""openSMILE functionals of the utterances of a data dir (one job of
steps/make_functionals.sh).

Usage: python -m sertl.bin.compute_functionals --feature-set {ComParE_2016,eGeMAPSv02}
           [--sample-frequency HZ] <data-dir> <out-ark> <out-scp>

Writes one (1, D) matrix per utterance to a Kaldi ark/scp, atomically; an utterance
whose functionals are not finite (e.g. silence only) is an error naming it.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from sertl.audio import AudioError, iter_utterances, read_segments
from sertl.io import TableError, write_ark_scp
from sertl.progress import Progress
from sertl.ser.functionals import FEATURE_SETS, FunctionalsExtractor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feature-set", choices=list(FEATURE_SETS), required=True)
    parser.add_argument("--sample-frequency", type=int, default=16000)
    parser.add_argument("data_dir")
    parser.add_argument("ark")
    parser.add_argument("scp")
    args = parser.parse_args(argv)
    try:
        extractor = FunctionalsExtractor(args.feature_set, args.sample_frequency)
        progress = Progress(f"compute_functionals {args.data_dir}",
                            len(read_segments(args.data_dir)))

        def functionals():
            for utt, samples in iter_utterances(args.data_dir, args.sample_frequency):
                row = extractor(samples)
                if not np.isfinite(row).all():
                    raise ValueError(f"utterance '{utt}': {args.feature_set} functionals "
                                     "are not finite")
                progress.update(audio_seconds=len(samples) / args.sample_frequency)
                yield utt, row

        write_ark_scp(args.ark, args.scp, functionals())
        progress.finish()
    except (AudioError, TableError, OSError, ValueError) as e:
        print(f"compute_functionals: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
