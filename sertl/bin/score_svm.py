"""Score a data dir with an utterance-vector SER system (sertl.bin.train_svm).

Usage: python -m sertl.bin.score_svm <data-dir> <svm-exp-dir> <out-dir>

<data-dir> holds feats.scp (one vector per utterance, made as at training) and utt2spk
(per-speaker normalisation standardises each speaker on its utterances here). Writes
<out-dir>/scores_utterance.txt (SVM decision values; format: sertl.ser.metrics) and, when
<data-dir> has utt2emo, <out-dir>/metrics.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sertl.bin.common import run_tool
from sertl.io import read_table
from sertl.ser.metrics import write_utterance_results
from sertl.ser.svm import LinearModel, read_vectors, speakers_of


def score(data_dir: Path, exp_dir: Path, out_dir: Path) -> None:
    model = LinearModel.load(exp_dir / "final.npz")
    utts, vectors = read_vectors(data_dir)
    speakers = speakers_of(utts, read_table(data_dir / "utt2spk"), data_dir / "utt2spk")
    write_utterance_results("score_svm", data_dir, out_dir, model.classes, utts,
                            model.scores(vectors, speakers))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ivector-dir", type=Path, help="not used")
    parser.add_argument("--device", help="not used")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("exp_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    return run_tool("score_svm", lambda: score(args.data_dir, args.exp_dir, args.out_dir),
                    (ValueError, KeyError, OSError))


if __name__ == "__main__":
    sys.exit(main())
