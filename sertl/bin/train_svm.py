"""Train an utterance-vector SER system: a linear SVM (sertl.ser.svm).

Usage: python -m sertl.bin.train_svm --config conf/ser/compare_svm.yaml
           <data-dir> <pretrained-exp|none> <exp-dir>

<data-dir> holds feats.scp with one vector per utterance (functionals or embeddings),
utt2spk and utt2emo. <pretrained-exp> is not read (the embeddings were made from it by
steps/make_embeddings.sh); it is accepted so that every system takes the same
arguments. Writes <exp-dir>/final.npz (the model, arrays only), final_metrics.json (the
chosen C, the inner cross-validation UA of every C, training UA) and config.yaml.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from sertl.bin.common import log, run_tool
from sertl.config import load_config
from sertl.io import atomic_open, read_table
from sertl.ser.kinds import system_kind
from sertl.ser.svm import SvmConfig, read_vectors, speakers_of, train_linear_model

PROG = "train_svm"


def train(config_path: Path, data_dir: Path, exp_dir: Path) -> dict:
    if system_kind(config_path) != "svm":
        raise ValueError(f"{config_path}: not an svm system conf")
    config = load_config(config_path, SvmConfig)
    utt2emo = read_table(data_dir / "utt2emo")
    utts, vectors = read_vectors(data_dir, list(utt2emo))
    speakers = speakers_of(utts, read_table(data_dir / "utt2spk"), data_dir / "utt2spk")
    labels = [utt2emo[u] for u in utts]
    classes = sorted(set(labels))  # as the networks order them (sertl.ser.train)
    say = log(PROG)
    say(f"{len(utts)} utterances, {len(set(speakers))} speakers, {vectors.shape[1]}-dim "
        f"vectors, normalisation {config.normalisation}, C grid {config.svm.c_grid}")
    model, report = train_linear_model(vectors, labels, speakers, classes,
                                       config.normalisation, config.svm)
    say(f"C = {report['c']} (inner UA per C: {report['inner_ua']}); "
        f"training UA {100 * report['train_ua']:.1f}%")
    exp_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config_path, exp_dir / "config.yaml")
    model.save(exp_dir / "final.npz")
    with atomic_open(exp_dir / "final_metrics.json", encoding="utf-8") as f:
        f.write(json.dumps(report, indent=1) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--ivector-dir", type=Path, help="not used: vectors are utterance-level")
    parser.add_argument("--device", help="not used: the SVM runs on the CPU")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("pretrained")
    parser.add_argument("exp_dir", type=Path)
    args = parser.parse_args(argv)
    return run_tool(PROG, lambda: train(args.config, args.data_dir, args.exp_dir),
                    (ValueError, KeyError, OSError))


if __name__ == "__main__":
    sys.exit(main())
