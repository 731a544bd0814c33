"""Energy-based voice activity detection of one data dir (steps/compute_vad_decision.sh).

Usage: python -m sertl.bin.compute_vad [--config conf/vad.conf] <data-dir> <out-ark> <out-scp>

Reads feats.scp (MFCC, whose column 0 is log-energy or C0) and writes one 0/1 float
vector per utterance, as Kaldi's compute-vad.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.features import FeatureConfigError, VadOptions, compute_vad, read_vad_config
from sertl.io import TableError, load_matrix, read_scp, write_ark_scp
from sertl.progress import Progress


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="Kaldi-style vad options file")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("ark")
    parser.add_argument("scp")
    args = parser.parse_args(argv)
    try:
        opts = read_vad_config(args.config) if args.config else VadOptions()
        feats = read_scp(args.data_dir / "feats.scp")
        progress = Progress(f"compute_vad {args.data_dir}", len(feats))
        voiced = total = 0

        def decisions():
            nonlocal voiced, total
            for utt, rx in feats.items():
                vad = compute_vad(load_matrix(rx), opts)
                voiced += int(vad.sum())
                total += len(vad)
                progress.update()
                yield utt, vad

        write_ark_scp(args.ark, args.scp, decisions())
        progress.finish()
    except (FeatureConfigError, TableError, OSError) as e:
        print(f"compute_vad: error: {e}", file=sys.stderr)
        return 1
    print(f"compute_vad: {voiced} of {total} frames voiced "
          f"({100.0 * voiced / max(total, 1):.1f}%)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
