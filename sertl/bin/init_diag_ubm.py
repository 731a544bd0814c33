"""Initialise a diagonal UBM on a random sample of frames (steps/train_diag_ubm.sh).

Usage: python -m sertl.bin.init_diag_ubm [options] <data-dir> <num-gauss> <ubm-out>

Samples --num-frames frames (of every --subsample-th frame) of the features of
<data-dir>, normalised as --norm-means/--norm-vars say (cmvn.scp), and trains a GMM on
them from one Gaussian by splitting and EM (Kaldi's gmm-global-init-from-feats). The
feature options are stored in the model; later tools read them from there.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from sertl.bin.common import add_device_option, choose_device, log, parse_bool, run_tool
from sertl.ivector.frames import FRAME_SHIFT_SECONDS, FeatureOptions, sample_frames, utterance_frames
from sertl.ivector.gmm import UpdateOptions, init_from_frames, save_ubm
from sertl.progress import Progress

NAME = "init_diag_ubm"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-frames", type=int, default=700000, help="frames sampled")
    parser.add_argument("--num-iters", type=int, default=20, help="EM iterations")
    parser.add_argument("--subsample", type=int, default=2, help="use every n-th frame")
    parser.add_argument("--min-gaussian-weight", type=float, default=1e-4)
    parser.add_argument("--norm-means", type=parse_bool, default=True,
                        help="apply cmvn.scp means (true/false)")
    parser.add_argument("--norm-vars", type=parse_bool, default=False,
                        help="apply cmvn.scp variances (true/false)")
    parser.add_argument("--seed", type=int, default=0)
    add_device_option(parser)
    parser.add_argument("data_dir")
    parser.add_argument("num_gauss", type=int)
    parser.add_argument("ubm")
    args = parser.parse_args(argv)

    def body() -> None:
        features = FeatureOptions(args.norm_means, args.norm_vars)
        reader = features.reader(args.data_dir)
        progress = Progress(f"{NAME} reading {args.data_dir}", len(reader.utterances()))

        def counted():
            for utt, feats in utterance_frames(reader, args.subsample):
                progress.update(audio_seconds=len(feats) * args.subsample * FRAME_SHIFT_SECONDS)
                yield utt, feats

        frames = sample_frames(counted(), args.num_frames, np.random.default_rng(args.seed))
        progress.finish()
        log(NAME)(f"training {args.num_gauss} Gaussians on {len(frames)} frames")
        gmm = init_from_frames(torch.from_numpy(frames).to(choose_device(args.device)),
                               args.num_gauss, args.num_iters,
                               torch.Generator().manual_seed(args.seed),
                               UpdateOptions(min_gaussian_weight=args.min_gaussian_weight),
                               log(NAME))
        save_ubm(gmm, args.ubm, features.as_dict())

    return run_tool(NAME, body)


if __name__ == "__main__":
    sys.exit(main())
