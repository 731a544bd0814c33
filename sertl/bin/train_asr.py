"""Train an acoustic model with frame-level cross-entropy on alignment targets.

Usage: python -m sertl.bin.train_asr --config conf/asr/tdnn_small.yaml
           [--ivector-dir DIR] [--device cuda|cpu] <data-dir> <ali-dir> <exp-dir>
   or: torchrun --nproc-per-node N -m sertl.bin.train_asr ...   (data-parallel)

<data-dir> holds feats.scp (and cmvn.scp when the config applies CMVN); <ali-dir> is an
alignment dir of steps/align_sb.sh covering its utterances; --ivector-dir holds online
i-vectors (ivector_online.scp, ivector_period). A run resumes from <exp-dir>/checkpoint.pt.
What <exp-dir> receives is listed in sertl/train/loop.py and sertl/asr/train.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.asr.train import AsrTrainer, Paths
from sertl.bin.common import run_training
from sertl.train.config import load_asr_config
from sertl.train.loop import init_workers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, type=Path, help="experiment YAML")
    parser.add_argument("--ivector-dir", type=Path, help="online i-vectors to append")
    parser.add_argument("--device", choices=["cuda", "cpu"],
                        help="default: cuda if available")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("ali_dir", type=Path)
    parser.add_argument("exp_dir", type=Path)
    args = parser.parse_args(argv)

    def train() -> None:
        config, model_config = load_asr_config(args.config)
        paths = Paths(args.data_dir, args.ali_dir, args.exp_dir, args.ivector_dir)
        AsrTrainer(config, model_config, paths, init_workers(args.device)).run()

    return run_training("train_asr", train)


if __name__ == "__main__":
    sys.exit(main())
