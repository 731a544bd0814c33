"""Initialise an i-vector extractor from a diagonal UBM (steps/train_ivector_extractor.sh).

Usage: python -m sertl.bin.init_ivector_extractor [options] <ubm> <extractor-out>

As Kaldi's ivector-extractor-init --use-weights=false: covariances from the UBM, the
first column of each M_c the UBM mean over the prior offset (100), the others random.
The UBM, its feature options and the posterior options are stored in the extractor,
which is all that extraction needs.
"""
from __future__ import annotations

import argparse
import sys

import torch

from sertl.bin.common import log, run_tool
from sertl.ivector.extractor import IvectorExtractor, PosteriorOptions
from sertl.ivector.frames import FeatureOptions
from sertl.ivector.gmm import load_ubm

NAME = "init_ivector_extractor"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ivector-dim", type=int, default=100)
    parser.add_argument("--num-gselect", type=int, default=5,
                        help="UBM Gaussians per frame")
    parser.add_argument("--min-post", type=float, default=0.025,
                        help="drop frame posteriors below this")
    parser.add_argument("--posterior-scale", type=float, default=0.1,
                        help="scale of the frame posteriors")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("ubm")
    parser.add_argument("extractor")
    args = parser.parse_args(argv)

    def body() -> None:
        ubm, options = load_ubm(args.ubm)
        posterior = PosteriorOptions(args.num_gselect, args.min_post, args.posterior_scale)
        ex = IvectorExtractor.from_ubm(ubm, args.ivector_dim, posterior,
                                       FeatureOptions.from_dict(options),
                                       torch.Generator().manual_seed(args.seed))
        ex.save(args.extractor)
        log(NAME)(f"{ex.num_gauss} Gaussians, feature dim {ex.dim}, "
                  f"i-vector dim {ex.ivector_dim}; wrote {args.extractor}")

    return run_tool(NAME, body)


if __name__ == "__main__":
    sys.exit(main())
