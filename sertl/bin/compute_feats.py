"""Compute fbank or MFCC features for one data dir (one job of steps/make_{fbank,mfcc}.sh).

Usage: python -m sertl.bin.compute_feats --feature-type {fbank,mfcc} [--config FILE]
           <data-dir> <out-ark> <out-scp> <out-utt2num-frames>

Reads wav.scp (+ segments), resamples to the configured sample frequency, and writes a
Kaldi ark/scp atomically (see sertl.io.write_ark_scp). Dither noise is seeded per
utterance, so reruns give identical features. An utterance too short for one frame is
skipped with a warning (as in Kaldi); the step reports the missing ones.
"""
from __future__ import annotations

import argparse
import sys

from sertl.audio import AudioError, iter_utterances, read_segments
from sertl.features import (FEATURE_TYPES, FeatureConfigError, FeatureExtractor,
                            options_as_kaldi_args, read_feature_config, utterance_seed)
from sertl.io import TableError, write_ark_scp, write_table
from sertl.progress import Progress


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feature-type", choices=sorted(FEATURE_TYPES), required=True)
    parser.add_argument("--config", help="Kaldi-style option file, e.g. conf/fbank.conf")
    parser.add_argument("data_dir")
    parser.add_argument("ark")
    parser.add_argument("scp")
    parser.add_argument("utt2num_frames")
    args = parser.parse_args(argv)
    try:
        opts = read_feature_config(args.config, args.feature_type)
        extractor = FeatureExtractor(opts)
        print(f"compute_feats: {args.feature_type} " + " ".join(options_as_kaldi_args(opts)),
              file=sys.stderr)
        progress = Progress(f"compute_feats {args.data_dir}", len(read_segments(args.data_dir)))
        rate = int(opts.sample_frequency)

        def features():
            for utt, samples in iter_utterances(args.data_dir, rate):
                feats = extractor(samples, seed=utterance_seed(utt))
                progress.update(audio_seconds=len(samples) / rate)
                if len(feats) == 0:  # as Kaldi: skip, the step counts what is missing
                    print(f"compute_feats: warning: utterance '{utt}' is too short for "
                          f"one frame ({len(samples)} samples); no features", file=sys.stderr)
                    continue
                yield utt, feats

        num_frames = write_ark_scp(args.ark, args.scp, features())
        write_table(args.utt2num_frames, num_frames)
        progress.finish()
    except (AudioError, FeatureConfigError, TableError, OSError) as e:
        print(f"compute_feats: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
