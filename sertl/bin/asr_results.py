"""A markdown summary of an ASR exp dir of steps/train_asr.sh and steps/eval_asr.sh.

Usage: python -m sertl.bin.asr_results <asr-exp>

One row per scored set (<asr-exp>/eval_<set>/scores.json; eval_valid holds the
validation speakers drawn from the training set): utterances, frames, frame error rate,
phones and phone error rate; then the training summary of final_metrics.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sertl.bin.common import run_tool


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _spread(stats: dict | None) -> str:
    if not stats:
        return "-"
    return (f"{100 * stats['mean']:.1f} ± {100 * stats['std']:.1f} "
            f"({100 * stats['min']:.1f}-{100 * stats['max']:.1f})")


def summary(exp: Path) -> str:
    """The markdown table of every eval_*/scores.json of ``exp`` and its training line."""
    rows = ["| set | speakers | utterances | frames | FER | FER per speaker: mean ± sd "
            "(min-max) | phones | PER | PER per speaker |", "|---|---|---|---|---|---|---|---|---|"]
    for scores in sorted(exp.glob("eval_*/scores.json")):
        s = json.loads(scores.read_text())
        spk = s.get("speakers", {})
        rows.append(f"| {scores.parent.name[len('eval_'):]} | {len(s.get('per_speaker', {}))} "
                    f"| {s['utterances']} | {s['frames']} | {_percent(s['fer'])} | "
                    f"{_spread(spk.get('fer'))} | {s['phones']} | {_percent(s['per'])} | "
                    f"{_spread(spk.get('per'))} |")
    if len(rows) == 2:
        raise OSError(f"{exp}: no eval_*/scores.json (run steps/eval_asr.sh)")
    train = json.loads((exp / "final_metrics.json").read_text())
    return (f"# {exp}\n\n" + "\n".join(rows) + "\n\ntraining: "
            + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in train.items()) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asr_results", description=__doc__.split("\n")[0])
    parser.add_argument("exp", type=Path)
    args = parser.parse_args(argv)
    return run_tool("asr_results", lambda: print(summary(args.exp), end=""),
                    (ValueError, KeyError, OSError))


if __name__ == "__main__":
    sys.exit(main())
