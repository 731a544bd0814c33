"""Update an i-vector extractor from summed statistics (steps/train_ivector_extractor.sh).

Usage: python -m sertl.bin.est_ivector_extractor [options] <extractor-in> <extractor-out> <acc>...

Sums the statistics of the parallel jobs and writes the re-estimated extractor
(Kaldi's ivector-extractor-sum-accs | ivector-extractor-est): projections M, covariances
Sigma and the prior. Logs the EM objective per frame of <extractor-in>.
"""
from __future__ import annotations

import argparse
import sys

from sertl.bin.common import add_device_option, choose_device, log, run_tool
from sertl.ivector.extractor import ExtractorStats, IvectorExtractor, UpdateOptions, update

NAME = "est_ivector_extractor"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gaussian-min-count", type=float, default=100.0,
                        help="Gaussians counted less keep their parameters")
    parser.add_argument("--variance-floor-factor", type=float, default=0.1,
                        help="covariance floor relative to the average covariance")
    add_device_option(parser)
    parser.add_argument("extractor_in")
    parser.add_argument("extractor_out")
    parser.add_argument("accs", nargs="+")
    args = parser.parse_args(argv)

    def body() -> None:
        ex = IvectorExtractor.load(args.extractor_in).to(choose_device(args.device))
        stats = ExtractorStats.load(args.accs[0])
        for acc in args.accs[1:]:
            stats += ExtractorStats.load(acc)
        trained = int((stats.gamma >= args.gaussian_min_count).sum())
        new = update(ex, stats, UpdateOptions(args.gaussian_min_count, args.variance_floor_factor))
        new.save(args.extractor_out)
        log(NAME)(f"{args.extractor_in}: objective per frame "
                  f"{stats.objective / max(stats.num_frames, 1):.4f} over {stats.num_frames} "
                  f"frames; {trained} of {ex.num_gauss} Gaussians updated; prior offset "
                  f"{new.prior_offset:.2f}; wrote {args.extractor_out}")

    return run_tool(NAME, body)


if __name__ == "__main__":
    sys.exit(main())
