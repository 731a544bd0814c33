"""Utterance scores files and the SER metrics computed from them (with scikit-learn).

A scores file (``scores_<rule>.txt``, written by ``sertl.bin.score_ser``) has a comment
line ``# utt ref hyp <class names>`` and one line per utterance: ``utt ref hyp s_1 ...
s_C``; ref is the utt2emo label, ``-`` when the utterance has none (it is then left out
of the metrics).

Decisions:

- UA (unweighted average recall) and macro-F1 average over the classes present in the
  references: in leave-one-speaker-out folds a speaker often lacks some emotions (URDU
  speakers mostly show one), and a class with no test utterance has no recall; counting
  it as 0 (scikit-learn's zero_division) would punish the fold for its make-up. A
  prediction of an absent class still counts as an error against the true class. The
  per-class recall of an absent class is None.
- WA is the accuracy over all labelled utterances.
- AUROC (two classes only): the second class (in class order) is the positive one,
  scored by its score minus the other class's, the quantity whose sign is the
  hypothesis; for sum_posteriors and majority (scores summing to 1) that ranks as the
  positive class's score does. None when the references hold one class only.
- Over folds: mean and the sample standard deviation (n - 1; None for a single fold).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, recall_score,
                             roc_auc_score)

from sertl.io import atomic_open, read_table

NO_LABEL = "-"
SUMMARY_METRICS = ("ua", "wa", "macro_f1", "auroc")


@dataclass
class UtteranceScores:
    """Per-utterance references, hypotheses and class scores (a scores file's contents)."""
    classes: list[str]
    utts: list[str]
    refs: list[str]
    hyps: list[str]
    scores: np.ndarray  # (utterances, classes)

    def __post_init__(self) -> None:
        if self.scores.shape != (len(self.utts), len(self.classes)):
            raise ValueError(f"scores of shape {self.scores.shape} for {len(self.utts)} "
                             f"utterances and {len(self.classes)} classes")
        known = set(self.classes)
        for utt, ref, hyp in zip(self.utts, self.refs, self.hyps, strict=True):
            if ref != NO_LABEL and ref not in known:
                raise ValueError(f"utterance '{utt}': reference '{ref}' is not one of the "
                                 f"classes {' '.join(self.classes)}")
            if hyp not in known:
                raise ValueError(f"utterance '{utt}': hypothesis '{hyp}' is not a class")


def write_scores(path: str | Path, table: UtteranceScores) -> None:
    """Write a scores file, atomically."""
    with atomic_open(path, encoding="utf-8") as f:
        f.write(f"# utt ref hyp {' '.join(table.classes)}\n")
        for utt, ref, hyp, row in zip(table.utts, table.refs, table.hyps, table.scores):
            f.write(f"{utt} {ref} {hyp} {' '.join(f'{s:.6g}' for s in row)}\n")


def read_scores(path: str | Path) -> UtteranceScores:
    """Read a scores file; a malformed line is a ValueError naming file and line."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    header = lines[0].split() if lines else []
    if header[:4] != ["#", "utt", "ref", "hyp"] or len(header) < 5:
        raise ValueError(f"{path}:1: expected '# utt ref hyp <class names>'")
    classes = header[4:]
    utts, refs, hyps, rows = [], [], [], []
    for lineno, line in enumerate(lines[1:], 2):
        fields = line.split()
        try:
            if len(fields) != 3 + len(classes):
                raise ValueError
            rows.append([float(s) for s in fields[3:]])
        except ValueError:
            raise ValueError(f"{path}:{lineno}: expected utt, ref, hyp and "
                             f"{len(classes)} scores") from None
        utts.append(fields[0])
        refs.append(fields[1])
        hyps.append(fields[2])
    try:
        return UtteranceScores(classes, utts, refs, hyps,
                               np.array(rows, dtype=np.float64).reshape(-1, len(classes)))
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def pool_scores(parts: Sequence[UtteranceScores]) -> UtteranceScores:
    """The utterances of several scores tables (e.g. all folds) as one table."""
    classes = parts[0].classes
    for part in parts[1:]:
        if part.classes != classes:
            raise ValueError(f"class lists differ: {' '.join(classes)} vs "
                             f"{' '.join(part.classes)}")
    return UtteranceScores(classes, [u for p in parts for u in p.utts],
                           [r for p in parts for r in p.refs],
                           [h for p in parts for h in p.hyps],
                           np.concatenate([p.scores for p in parts]))


def compute_metrics(table: UtteranceScores) -> dict:
    """UA, WA, macro-F1, per-class recall, confusion matrix and AUROC of the labelled
    utterances (see the module notes); JSON-ready."""
    labelled = [i for i, ref in enumerate(table.refs) if ref != NO_LABEL]
    if not labelled:
        raise ValueError("no utterance has a reference label")
    refs = [table.refs[i] for i in labelled]
    hyps = [table.hyps[i] for i in labelled]
    present = [c for c in table.classes if c in set(refs)]
    recalls = recall_score(refs, hyps, labels=table.classes, average=None, zero_division=0)
    return {
        "utterances": len(labelled),
        "ua": float(recall_score(refs, hyps, labels=present, average="macro")),
        "wa": float(accuracy_score(refs, hyps)),
        "macro_f1": float(f1_score(refs, hyps, labels=present, average="macro",
                                   zero_division=0)),
        "per_class_recall": {c: float(r) if c in present else None
                             for c, r in zip(table.classes, recalls)},
        "confusion": confusion_matrix(refs, hyps, labels=table.classes).tolist(),
        "auroc": _binary_auroc(refs, table.scores[labelled], table.classes),
    }


def _binary_auroc(refs: Sequence[str], scores: np.ndarray, classes: Sequence[str]
                  ) -> float | None:
    if len(classes) != 2 or len(set(refs)) < 2:
        return None
    positive = np.array([ref == classes[1] for ref in refs])
    return float(roc_auc_score(positive, scores[:, 1] - scores[:, 0]))


def mean_std(values: Sequence[float | None]) -> dict:
    """Mean and sample standard deviation of the values that are not None."""
    kept = [v for v in values if v is not None]
    return {
        "mean": float(np.mean(kept)) if kept else None,
        "std": float(np.std(kept, ddof=1)) if len(kept) > 1 else None,
        "folds": len(kept),
    }


def summarize_folds(per_fold: Sequence[dict]) -> dict:
    """Mean and standard deviation over folds of each metric and per-class recall."""
    classes = list(per_fold[0]["per_class_recall"])
    summary = {name: mean_std([m[name] for m in per_fold]) for name in SUMMARY_METRICS}
    summary["per_class_recall"] = {c: mean_std([m["per_class_recall"][c] for m in per_fold])
                                   for c in classes}
    return summary


def format_confusion(confusion: Sequence[Sequence[int]], classes: Sequence[str]) -> str:
    """A text confusion matrix: rows are references, columns hypotheses."""
    width = max(6, *(len(c) for c in classes),
                *(len(str(n)) for row in confusion for n in row))
    lines = ["ref\\hyp".ljust(width) + " " + " ".join(c.rjust(width) for c in classes)]
    for cls, row in zip(classes, confusion):
        lines.append(cls.ljust(width) + " " + " ".join(str(n).rjust(width) for n in row))
    return "\n".join(lines) + "\n"


def plot_confusion(confusion: Sequence[Sequence[int]], classes: Sequence[str],
                   path: str | Path, title: str) -> None:
    """Save the confusion matrix as a PNG: counts, shaded by the share of the row
    (the class's recall on the diagonal). Uses Agg directly, so no display is needed;
    matplotlib is imported here, as only the results step draws."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = np.asarray(confusion)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 1.5 + 0.6 * len(classes)
    figure = Figure(figsize=(size + 1, size))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, label="share of the reference class")
    for (row, col), n in np.ndenumerate(counts):
        axes.text(col, row, str(n), ha="center", va="center",
                  color="white" if shares[row, col] > 0.5 else "black")
    axes.set_xticks(range(len(classes)), labels=classes, rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), labels=classes)
    axes.set_xlabel("hypothesis")
    axes.set_ylabel("reference")
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def write_utterance_results(prog: str, data_dir: Path, out_dir: Path, classes: list[str],
                            utts: Sequence[str], scores: np.ndarray) -> None:
    """What an utterance-level scoring tool writes: ``<out_dir>/scores_utterance.txt``
    (hypothesis: the best-scoring class) and, when ``data_dir`` has utt2emo,
    ``metrics.json`` and a log line of UA and WA."""
    utt2emo_path = data_dir / "utt2emo"
    refs = read_table(utt2emo_path) if utt2emo_path.is_file() else {}
    table = UtteranceScores(classes, list(utts), [refs.get(u, NO_LABEL) for u in utts],
                            [classes[i] for i in scores.argmax(axis=1)], scores)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_scores(out_dir / "scores_utterance.txt", table)
    if refs:
        metrics = {"utterance": compute_metrics(table)}
        with atomic_open(out_dir / "metrics.json", encoding="utf-8") as f:
            f.write(json.dumps(metrics, indent=1) + "\n")
        m = metrics["utterance"]
        print(f"{prog}: {data_dir}: UA {100 * m['ua']:.2f}% WA {100 * m['wa']:.2f}% "
              f"({m['utterances']} utterances)", file=sys.stderr)
