"""Update a diagonal UBM from summed EM statistics (steps/train_diag_ubm.sh).

Usage: python -m sertl.bin.est_diag_ubm [options] <ubm-in> <ubm-out> <acc>...

Sums the statistics files of the parallel jobs and writes the re-estimated UBM
(Kaldi's gmm-global-sum-accs | gmm-global-est). Logs the log-likelihood per frame of
<ubm-in>, the quantity EM raises from one iteration to the next.
"""
from __future__ import annotations

import argparse
import sys
from functools import reduce
from operator import add

from sertl.bin.common import log, run_tool
from sertl.ivector.gmm import GmmStats, UpdateOptions, load_ubm, save_ubm, update

NAME = "est_diag_ubm"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-gaussian-weight", type=float, default=1e-4)
    parser.add_argument("--min-gaussian-occupancy", type=float, default=10.0)
    parser.add_argument("--min-variance", type=float, default=1e-3)
    parser.add_argument("ubm_in")
    parser.add_argument("ubm_out")
    parser.add_argument("accs", nargs="+")
    args = parser.parse_args(argv)

    def body() -> None:
        ubm, options = load_ubm(args.ubm_in)
        stats = reduce(add, (GmmStats.load(a) for a in args.accs))
        opts = UpdateOptions(args.min_gaussian_weight, args.min_gaussian_occupancy,
                             args.min_variance)
        save_ubm(update(ubm, stats, opts), args.ubm_out, options)
        log(NAME)(f"{args.ubm_in}: log-likelihood per frame "
                  f"{stats.log_like / max(stats.num_frames, 1):.4f} over {stats.num_frames} "
                  f"frames; wrote {args.ubm_out}")

    return run_tool(NAME, body)


if __name__ == "__main__":
    sys.exit(main())
