"""Utterance emotion scores of a SER model on a data dir, by every aggregation rule.

Usage: python -m sertl.bin.score_ser [--ivector-dir DIR] [--device cuda|cpu]
           [--frame-scores] <data-dir> <model> <out-dir>

<model> is a final.pt of sertl.bin.train_ser. One pass of the model over <data-dir>'s
utterances gives frame log posteriors, which every rule of sertl.ser.aggregate turns
into utterance scores: <out-dir>/scores_<rule>.txt (format: sertl.ser.metrics). When
<data-dir> has utt2emo, <out-dir>/metrics.json holds each rule's metrics (UA, WA,
macro-F1, per-class recall, confusion matrix, AUROC for two classes). With
--frame-scores, <out-dir>/frame_log_posteriors.{ark,scp} hold every utterance's (N, C)
frame log posteriors (output frames 0, f, 2f, ...; f: the subsampling).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import torch

from sertl.io import TableError, atomic_open, read_table, write_ark_scp
from sertl.ser.aggregate import RULES, utterance_scores
from sertl.ser.infer import frame_log_posteriors
from sertl.ser.metrics import NO_LABEL, UtteranceScores, compute_metrics, write_scores
from sertl.ser.model import load_ser_model


def emotion_classes(saved: Mapping) -> list[str]:
    """The emotion classes of a saved SER model (its silence class left out)."""
    classes = list(saved["classes"])
    return classes[:-1] if saved["silence_class"] else classes


def score_utterances(frames: Iterable[tuple[str, np.ndarray, np.ndarray]],
                     classes: list[str], refs: Mapping[str, str]
                     ) -> dict[str, UtteranceScores]:
    """Scores tables by rule from ``(utt, log_post, voiced)`` frame posteriors; ``refs``
    gives the reference labels (utterances missing there get ``-``)."""
    utts, rows = [], {rule: [] for rule in RULES}
    for utt, log_post, voiced in frames:
        utts.append(utt)
        for rule in RULES:
            try:
                rows[rule].append(utterance_scores(log_post, voiced, rule, len(classes)))
            except ValueError as e:
                raise ValueError(f"utterance '{utt}': {e}") from None
    if not utts:
        raise ValueError("no utterances to score")
    ref_list = [refs.get(utt, NO_LABEL) for utt in utts]
    tables = {}
    for rule in RULES:
        scores = np.stack(rows[rule])
        tables[rule] = UtteranceScores(classes, utts, ref_list,
                                       [classes[i] for i in scores.argmax(axis=1)], scores)
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ivector-dir", type=Path, help="online i-vectors of <data-dir>")
    parser.add_argument("--device", choices=["cuda", "cpu"], help="default: cuda if available")
    parser.add_argument("--frame-scores", action="store_true",
                        help="also write the frame log posteriors (ark/scp)")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    utt2emo = args.data_dir / "utt2emo"
    try:
        refs = read_table(utt2emo) if utt2emo.is_file() else {}
        model, saved = load_ser_model(args.model, device)
        with torch.inference_mode():
            frames = frame_log_posteriors(model, saved, args.data_dir, args.ivector_dir, device)
            if args.frame_scores:
                frames = list(frames)
            tables = score_utterances(frames, emotion_classes(saved), refs)
        args.out_dir.mkdir(parents=True, exist_ok=True)
        if args.frame_scores:
            write_ark_scp(args.out_dir / "frame_log_posteriors.ark",
                          args.out_dir / "frame_log_posteriors.scp",
                          ((utt, log_post) for utt, log_post, _ in frames))
        for rule, table in tables.items():
            write_scores(args.out_dir / f"scores_{rule}.txt", table)
        if any(ref != NO_LABEL for ref in tables[RULES[0]].refs):
            metrics = {rule: compute_metrics(table) for rule, table in tables.items()}
            with atomic_open(args.out_dir / "metrics.json", encoding="utf-8") as f:
                f.write(json.dumps(metrics, indent=1) + "\n")
            for rule, m in metrics.items():
                print(f"score_ser: {args.data_dir}: {rule}: UA {100 * m['ua']:.2f}% "
                      f"WA {100 * m['wa']:.2f}% ({m['utterances']} utterances)",
                      file=sys.stderr)
    except (TableError, KeyError, OSError, ValueError) as e:
        print(f"score_ser: error: {e.args[0] if isinstance(e, KeyError) else e}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
