"""Fine-tune a pretrained acoustic model for speech emotion recognition (frame level).

Usage: python -m sertl.bin.train_ser --config conf/ser/tdnn_bottleneck.yaml
           [--ivector-dir DIR] [--device cuda|cpu] <data-dir> <pretrained-exp|none> <exp-dir>
   or: torchrun --nproc-per-node N -m sertl.bin.train_ser ...   (data-parallel)

<data-dir> holds feats.scp, utt2spk and utt2emo (cmvn.scp when the model applies CMVN,
vad.scp for a silence class); <pretrained-exp> is an exp dir of steps/train_asr.sh, or of
steps/train_ser.sh to fine-tune that model again (its final.pt, or a model file), or
"none" to train the config's model section from scratch;
--ivector-dir holds online i-vectors of <data-dir>, for a model that takes them. A run
resumes from <exp-dir>/checkpoint.pt. What <exp-dir> receives is listed in
sertl/ser/train.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.bin.common import run_training
from sertl.ser.config import load_ser_config
from sertl.ser.train import SerPaths, SerTrainer
from sertl.train.loop import init_workers


def pretrained_model(arg: str) -> Path | None:
    """The model file an argument names: an exp dir's final.pt, a file, or None ("none")."""
    if arg == "none":
        return None
    path = Path(arg)
    return path if path.is_file() else path / "final.pt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, type=Path, help="fine-tuning YAML")
    parser.add_argument("--ivector-dir", type=Path, help="online i-vectors to append")
    parser.add_argument("--device", choices=["cuda", "cpu"],
                        help="default: cuda if available")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("pretrained", help="exp dir with final.pt, a model file, or none")
    parser.add_argument("exp_dir", type=Path)
    args = parser.parse_args(argv)

    def train() -> None:
        config = load_ser_config(args.config)
        paths = SerPaths(args.data_dir, pretrained_model(args.pretrained), args.exp_dir,
                         args.ivector_dir)
        SerTrainer(config, paths, init_workers(args.device)).run()

    return run_training("train_ser", train)


if __name__ == "__main__":
    sys.exit(main())
