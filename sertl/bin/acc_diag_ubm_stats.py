"""Accumulate EM statistics of a diagonal UBM on a data dir (steps/train_diag_ubm.sh).

Usage: python -m sertl.bin.acc_diag_ubm_stats [options] <ubm> <data-dir> <acc-out>

Each frame (every --subsample-th) counts towards its --num-gselect most likely Gaussians
under --gselect-model (default <ubm>), as Kaldi's gmm-global-acc-stats --gselect with
the selection made once by the initial model, so that every iteration improves the
same objective. Features are normalised as the UBM file says.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from sertl.bin.common import add_device_option, choose_device, log, run_tool
from sertl.ivector.frames import (FRAME_SHIFT_SECONDS, FeatureOptions, batches,
                                  utterance_frames)
from sertl.ivector.gmm import GmmStats, accumulate, load_ubm
from sertl.progress import Progress

NAME = "acc_diag_ubm_stats"
BATCH_FRAMES = 65536


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gselect-model", help="UBM that selects the Gaussians (default <ubm>)")
    parser.add_argument("--num-gselect", type=int, default=30)
    parser.add_argument("--subsample", type=int, default=2, help="use every n-th frame")
    add_device_option(parser)
    parser.add_argument("ubm")
    parser.add_argument("data_dir")
    parser.add_argument("acc")
    args = parser.parse_args(argv)

    def body() -> None:
        device = choose_device(args.device)
        ubm, options = load_ubm(args.ubm)
        ubm = ubm.to(device)
        selector = load_ubm(args.gselect_model)[0].to(device) if args.gselect_model else ubm
        reader = FeatureOptions.from_dict(options).reader(args.data_dir)
        stats = GmmStats.zeros(ubm.num_gauss, ubm.dim, device)
        progress = Progress(f"{NAME} {args.data_dir}", len(reader.utterances()))
        for batch in batches(utterance_frames(reader, args.subsample), BATCH_FRAMES):
            x = torch.from_numpy(np.concatenate([f for _, f in batch])).to(device)
            accumulate(ubm, stats, x, selector.gselect(x, args.num_gselect))
            progress.update(len(batch), x.shape[0] * args.subsample * FRAME_SHIFT_SECONDS)
        progress.finish()
        stats.save(args.acc)
        log(NAME)(f"log-likelihood per frame {stats.log_like / max(stats.num_frames, 1):.4f} "
                  f"over {stats.num_frames} frames")

    return run_tool(NAME, body)


if __name__ == "__main__":
    sys.exit(main())
