"""Train a SoundNet SER system on raw audio (sertl.ser.soundnet).

Usage: python -m sertl.bin.train_soundnet --config conf/ser/soundnet_scratch.yaml
           [--device D] <data-dir> <pretrained|none> <exp-dir>

<data-dir> is a corpus data dir (wav.scp, optional segments, utt2spk, utt2emo).
<pretrained> is a SoundNet torch7 file (*.t7) or an exp dir of this tool (its final.pt),
from which the conf's transfer.layers are copied; "none" (or transfer.layers 0) trains
from scratch. Writes <exp-dir>/final.pt, best_model.pt, checkpoint.pt (a rerun resumes
from it), metrics.jsonl, final_metrics.json, valid_spk and config.yaml.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from sertl.bin.common import add_device_option, choose_device, log, run_training
from sertl.ser.soundnet import SoundnetConfig, SoundnetTrainer
from sertl.ser.system import load_system_config

PROG = "train_soundnet"


def train(config_path: Path, data_dir: Path, pretrained: str, exp_dir: Path,
          device: str | None) -> dict:
    config = load_system_config(config_path)
    if not isinstance(config, SoundnetConfig):
        raise ValueError(f"{config_path}: not a soundnet system conf")
    trainer = SoundnetTrainer(config, data_dir, None if pretrained == "none" else Path(pretrained),
                              exp_dir, choose_device(device), log(PROG))
    metrics = trainer.run()
    shutil.copyfile(config_path, exp_dir / "config.yaml")
    log(PROG)(f"done: {exp_dir}/final.pt; best validation {metrics['valid_score_is']} "
              f"{metrics['best_valid_score']} at batch {metrics['best_batch']}")
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--ivector-dir", type=Path, help="not used: the input is audio")
    add_device_option(parser)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("pretrained")
    parser.add_argument("exp_dir", type=Path)
    args = parser.parse_args(argv)
    return run_training(PROG, lambda: train(args.config, args.data_dir, args.pretrained,
                                            args.exp_dir, args.device))


if __name__ == "__main__":
    sys.exit(main())
