"""Score a data dir with the resnet34 SER system (sertl.bin.train_resnet34).

Usage: python -m sertl.bin.score_resnet34 [--device cuda|cpu] <data-dir> <exp-dir|final.pt> <out-dir>

<data-dir> holds feats.scp with the images made as at training. Writes
<out-dir>/scores_utterance.txt (class posteriors; format: sertl.ser.metrics) and, when
<data-dir> has utt2emo, <out-dir>/metrics.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.bin.common import choose_device, run_tool
from sertl.io import read_scp
from sertl.ser.metrics import write_utterance_results
from sertl.ser.resnet import check_data_options, load_images, load_resnet_model, posteriors

PROG = "score_resnet34"


def score(data_dir: Path, model_path: Path, out_dir: Path, device: str | None) -> None:
    if model_path.is_dir():
        model_path = model_path / "final.pt"
    dev = choose_device(device)
    model, classes, opts = load_resnet_model(model_path, dev)
    check_data_options(data_dir, opts, str(model_path))
    utts = list(read_scp(data_dir / "feats.scp"))
    post = posteriors(model, load_images(data_dir, utts, [-1] * len(utts), opts), dev)
    write_utterance_results(PROG, data_dir, out_dir, classes, utts, post)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ivector-dir", type=Path, help="not used")
    parser.add_argument("--device", choices=["cuda", "cpu"], help="default: cuda if available")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    return run_tool(PROG, lambda: score(args.data_dir, args.model, args.out_dir, args.device),
                    (ValueError, KeyError, OSError))


if __name__ == "__main__":
    sys.exit(main())
