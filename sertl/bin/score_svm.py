"""Score a data dir with an utterance-vector SER system (sertl.bin.train_svm).

Usage: python -m sertl.bin.score_svm <data-dir> <svm-exp-dir> <out-dir>

<data-dir> holds feats.scp (one vector per utterance, made as at training) and utt2spk
(per-speaker normalisation standardises each speaker on its utterances here). Writes
<out-dir>/scores_utterance.txt (SVM decision values; format: sertl.ser.metrics) and, when
<data-dir> has utt2emo, <out-dir>/metrics.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sertl.bin.common import run_tool
from sertl.io import atomic_open, read_table
from sertl.ser.metrics import NO_LABEL, UtteranceScores, compute_metrics, write_scores
from sertl.ser.svm import LinearModel, read_vectors, speakers_of

RULE = "utterance"


def score(data_dir: Path, exp_dir: Path, out_dir: Path) -> None:
    model = LinearModel.load(exp_dir / "final.npz")
    utts, vectors = read_vectors(data_dir)
    speakers = speakers_of(utts, read_table(data_dir / "utt2spk"), data_dir / "utt2spk")
    utt2emo_path = data_dir / "utt2emo"
    refs = read_table(utt2emo_path) if utt2emo_path.is_file() else {}
    scores = model.scores(vectors, speakers)
    table = UtteranceScores(model.classes, utts, [refs.get(u, NO_LABEL) for u in utts],
                            [model.classes[i] for i in scores.argmax(axis=1)], scores)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_scores(out_dir / f"scores_{RULE}.txt", table)
    if refs:
        metrics = {RULE: compute_metrics(table)}
        with atomic_open(out_dir / "metrics.json", encoding="utf-8") as f:
            f.write(json.dumps(metrics, indent=1) + "\n")
        m = metrics[RULE]
        print(f"score_svm: {data_dir}: UA {100 * m['ua']:.2f}% WA {100 * m['wa']:.2f}% "
              f"({m['utterances']} utterances)", file=sys.stderr)


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
