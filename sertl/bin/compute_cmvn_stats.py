"""Per-speaker CMVN statistics of a data dir (steps/compute_cmvn_stats.sh).

Usage: python -m sertl.bin.compute_cmvn_stats [--fake] <data-dir> <out-ark> <out-scp>

Reads feats.scp and spk2utt; writes one Kaldi CMVN stats matrix (2 x dim+1) per
speaker. With --fake the stats are the identity (mean 0, variance 1), for recipes
that do no mean normalisation but still expect cmvn.scp.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.features import cmvn_stats, fake_cmvn_stats
from sertl.io import TableError, load_matrix, read_scp, read_table, write_ark_scp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fake", action="store_true", help="write identity statistics")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("ark")
    parser.add_argument("scp")
    args = parser.parse_args(argv)
    try:
        feats = read_scp(args.data_dir / "feats.scp")
        spk2utt = read_table(args.data_dir / "spk2utt")

        def stats():
            for spk, utts in spk2utt.items():
                missing = [u for u in utts.split() if u not in feats]
                if missing:
                    raise TableError(f"{args.data_dir}/feats.scp: no features for "
                                     f"utterance '{missing[0]}' of speaker '{spk}'")
                matrices = [load_matrix(feats[u]) for u in utts.split()]
                yield spk, (fake_cmvn_stats(matrices[0].shape[1]) if args.fake
                            else cmvn_stats(matrices))

        write_ark_scp(args.ark, args.scp, stats())
    except (TableError, OSError) as e:
        print(f"compute_cmvn_stats: error: {e}", file=sys.stderr)
        return 1
    print(f"compute_cmvn_stats: {'fake ' if args.fake else ''}stats for "
          f"{len(spk2utt)} speakers of {args.data_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
