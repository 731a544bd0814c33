"""Utterance embeddings of a data dir from a pretrained network (sertl.ser.embedding).

Usage: python -m sertl.bin.make_embeddings --layer L [--pooling mean_std|mean]
           [--ivector-dir DIR] [--device cpu|cuda] <data-dir> <model> <out-ark> <out-scp>
   or: python -m sertl.bin.make_embeddings --print-feature-set <model>

<model> is a final.pt (steps/train_asr.sh or steps/train_ser.sh); <data-dir> holds the
features it reads (--print-feature-set names the feature set: hires, fbank or mfcc).
Writes one (1, D) matrix per utterance to a Kaldi ark/scp, atomically.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.bin.common import choose_device, run_tool
from sertl.io import write_ark_scp
from sertl.progress import Progress
from sertl.ser.embedding import model_feature_set, utterance_embeddings


def make(args: argparse.Namespace) -> None:
    if args.print_feature_set:
        print(model_feature_set(args.print_feature_set))
        return
    utts = (args.data_dir / "feats.scp").read_text().count("\n")
    progress = Progress(f"make_embeddings {args.data_dir}", utts)

    def embeddings():
        for item in utterance_embeddings(args.model, args.layer, args.pooling, args.data_dir,
                                         args.ivector_dir, choose_device(args.device)):
            progress.update()
            yield item

    write_ark_scp(args.ark, args.scp, embeddings())
    progress.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--print-feature-set", type=Path, metavar="MODEL")
    parser.add_argument("--layer")
    parser.add_argument("--pooling", choices=["mean_std", "mean"], default="mean_std")
    parser.add_argument("--ivector-dir", type=Path)
    parser.add_argument("--device")
    parser.add_argument("data_dir", type=Path, nargs="?")
    parser.add_argument("model", type=Path, nargs="?")
    parser.add_argument("ark", nargs="?")
    parser.add_argument("scp", nargs="?")
    args = parser.parse_args(argv)
    if not args.print_feature_set and (args.scp is None or not args.layer):
        parser.error("give --layer and <data-dir> <model> <out-ark> <out-scp>")
    return run_tool("make_embeddings", lambda: make(args), (ValueError, KeyError, OSError))


if __name__ == "__main__":
    sys.exit(main())
