"""Train the resnet34 SER system (sertl.ser.resnet): a ResNet34 on spectrogram images,
in the phases of its conf.

Usage: python -m sertl.bin.train_resnet34 --config conf/ser/resnet34_transfer.yaml
           [--device cuda|cpu] <data-dir> <pretrained-exp|none> <exp-dir>

<data-dir> holds feats.scp with one (frames, bins) image per utterance (steps/
make_spectrograms.sh with the conf's spectrogram options), utt2spk and utt2emo.
<pretrained-exp> is an exp dir of this system (its final.pt, or a model file) for
``network.init: pretrained``, else "none". A run resumes from <exp-dir>/checkpoint.pt.
What <exp-dir> receives is listed in sertl/ser/resnet.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.bin.common import choose_device, log, run_training
from sertl.bin.train_ser import pretrained_model
from sertl.config import load_config
from sertl.ser.resnet import ResnetConfig, ResnetPaths, ResnetTrainer

PROG = "train_resnet34"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--ivector-dir", type=Path, help="not used: the input is an image")
    parser.add_argument("--device", choices=["cuda", "cpu"], help="default: cuda if available")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("pretrained", help="resnet34 exp dir with final.pt, a model file, or none")
    parser.add_argument("exp_dir", type=Path)
    args = parser.parse_args(argv)
    if args.ivector_dir:
        parser.error("--ivector-dir: the resnet34 system takes no i-vectors")

    def train() -> None:
        config = load_config(args.config, ResnetConfig)
        paths = ResnetPaths(args.data_dir, pretrained_model(args.pretrained), args.exp_dir)
        ResnetTrainer(config, paths, choose_device(args.device), log(PROG)).run()

    return run_training(PROG, train)


if __name__ == "__main__":
    sys.exit(main())
