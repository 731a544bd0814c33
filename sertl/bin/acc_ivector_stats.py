"""Accumulate i-vector extractor statistics on a data dir (steps/train_ivector_extractor.sh).

Usage: python -m sertl.bin.acc_ivector_stats [--subsample 2] [--device D]
           <extractor> <data-dir> <acc-out>

One job's E-step (Kaldi's gmm-global-get-post | scale-post | ivector-extractor-acc-stats):
frame posteriors from the extractor's UBM, Baum-Welch statistics and i-vector posteriors
of every utterance (every --subsample-th frame), summed into the statistics of the
M, Sigma and prior update. Logs the EM objective per frame.
"""
from __future__ import annotations

import argparse
import sys

import torch

from sertl.bin.common import add_device_option, choose_device, log, run_tool
from sertl.ivector.extractor import ExtractorStats, IvectorExtractor
from sertl.ivector.frames import FRAME_SHIFT_SECONDS, batches, utterance_frames
from sertl.progress import Progress

NAME = "acc_ivector_stats"
BATCH_FRAMES = 16384


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subsample", type=int, default=2, help="use every n-th frame")
    add_device_option(parser)
    parser.add_argument("extractor")
    parser.add_argument("data_dir")
    parser.add_argument("acc")
    args = parser.parse_args(argv)

    def body() -> None:
        device = choose_device(args.device)
        ex = IvectorExtractor.load(args.extractor).to(device)
        reader = ex.features.reader(args.data_dir)
        stats = ExtractorStats(ex.num_gauss, ex.dim, ex.ivector_dim, device)
        progress = Progress(f"{NAME} {args.data_dir}", len(reader.utterances()))
        for batch in batches(utterance_frames(reader, args.subsample), BATCH_FRAMES):
            stats.accumulate(ex, [torch.from_numpy(f) for _, f in batch])
            frames = sum(len(f) for _, f in batch)
            progress.update(len(batch), frames * args.subsample * FRAME_SHIFT_SECONDS)
        progress.finish()
        stats.save(args.acc)
        log(NAME)(f"objective per frame {stats.objective / max(stats.num_frames, 1):.4f} "
                  f"over {stats.num_frames} frames of {stats.num_ivectors} utterances")

    return run_tool(NAME, body)


if __name__ == "__main__":
    sys.exit(main())
