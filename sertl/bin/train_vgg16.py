"""Train the vgg16 SER system (sertl.ser.vgg): VGG16 on composite feature images made
per batch from the raw audio, in the phases of its conf.

Usage: python -m sertl.bin.train_vgg16 --config conf/ser/vgg16_cpu_a.yaml
           [--device cuda|cpu] <data-dir> none <exp-dir>

<data-dir> is a corpus data dir (wav.scp, optional segments, utt2spk, utt2emo). The
second argument is "none": ImageNet weights are the conf's network.imagenet_weights. A
run resumes from <exp-dir>/checkpoint.pt. What <exp-dir> receives is listed in
sertl/ser/vgg.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.bin.common import choose_device, log, run_training
from sertl.config import load_config
from sertl.ser.vgg import VggConfig, VggTrainer, check_pretrained

PROG = "train_vgg16"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--ivector-dir", type=Path, help="not used: the input is audio")
    parser.add_argument("--device", choices=["cuda", "cpu"], help="default: cuda if available")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("pretrained", help="none")
    parser.add_argument("exp_dir", type=Path)
    args = parser.parse_args(argv)
    if args.ivector_dir:
        parser.error("--ivector-dir: the vgg16 system takes no i-vectors")

    def train() -> None:
        config = load_config(args.config, VggConfig)
        check_pretrained(args.pretrained)
        VggTrainer(config, args.data_dir, args.exp_dir, choose_device(args.device),
                   log(PROG)).run()

    return run_training(PROG, train)


if __name__ == "__main__":
    sys.exit(main())
