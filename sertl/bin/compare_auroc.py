"""Is one detector's AU-ROC significantly different from another's on the same
utterances? DeLong's paired z-test of Mann-Whitney U statistics (sertl.ser.roc), as
Elshaer et al. compare SoundNet transfer with training from scratch.

Usage: python -m sertl.bin.compare_auroc [--rule RULE] <a> <b>

<a> and <b> are scores files (scores_<rule>.txt, two classes, the second the detected
one) or steps/eval_ser.sh dirs, whose folds' test scores for RULE (default window_mean)
are pooled. Both must score the same labelled utterances. Prints the two AU-ROCs, z and
the two-sided p-value, and the same as JSON on the last line.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from sertl.bin.common import run_tool
from sertl.io import read_table
from sertl.ser.metrics import NO_LABEL, UtteranceScores, pool_scores, read_scores
from sertl.ser.roc import compare_auroc


def load(path: Path, rule: str) -> UtteranceScores:
    """A scores file, or the pooled test scores of an eval_ser.sh dir's folds."""
    if path.is_file():
        return read_scores(path)
    folds = list(read_table(path / "folds"))
    return pool_scores([read_scores(path / f"fold_{f}" / "test" / f"scores_{rule}.txt")
                        for f in folds])


def detector_scores(table: UtteranceScores, source: Path) -> dict[str, tuple[bool, float]]:
    """utt -> (is positive, score) of the labelled utterances of a two-class table."""
    if len(table.classes) != 2:
        raise ValueError(f"{source}: {len(table.classes)} classes; AU-ROC needs two")
    return {u: (r == table.classes[1], float(s[1] - s[0]))
            for u, r, s in zip(table.utts, table.refs, table.scores) if r != NO_LABEL}


def compare(a: Path, b: Path, rule: str) -> None:
    scores_a, scores_b = (detector_scores(load(p, rule), p) for p in (a, b))
    if set(scores_a) != set(scores_b):
        only = sorted(set(scores_a) ^ set(scores_b))[0]
        raise ValueError(f"{a} and {b} score different utterances (e.g. '{only}')")
    utts = sorted(scores_a)
    for u in utts:
        if scores_a[u][0] != scores_b[u][0]:
            raise ValueError(f"utterance '{u}' has different references in {a} and {b}")
    result = compare_auroc([scores_a[u][0] for u in utts], [scores_a[u][1] for u in utts],
                           [scores_b[u][1] for u in utts])
    print(f"AU-ROC {result.auroc_a:.4f} ({a}) vs {result.auroc_b:.4f} ({b}): z = "
          f"{result.z:.3f}, two-sided p = {result.p_value:.4g} ({result.positives} positive, "
          f"{result.negatives} negative utterances)")
    print(json.dumps(asdict(result)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rule", default="window_mean")
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    return run_tool("compare_auroc", lambda: compare(args.a, args.b, args.rule),
                    (ValueError, KeyError, OSError))


if __name__ == "__main__":
    sys.exit(main())
