"""AU-ROC as a Mann-Whitney U statistic, the z-test of two systems' AU-ROC on the same
utterances, and the ROC curve as a picture.

Decisions:

- AU-ROC = U / (m n): the share of (positive, negative) pairs that the score orders
  right, a tie counting one half; this equals scikit-learn's roc_auc_score.
- Two systems scored on the same utterances are compared as Elshaer et al. do (DeLong,
  DeLong & Clarke-Pearson 1988): each AU-ROC is a U statistic, their variances and
  covariance come from the structural components (each positive's share of negatives
  it beats, and each negative's share of positives beating it), and
  ``z = (A1 - A2) / sqrt(var1 + var2 - 2 cov)`` is referred to the standard normal,
  two-sided. The covariance term is what makes the test paired: two systems that
  agree on the easy utterances differ significantly with less data.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.stats import norm, rankdata


def _components(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per positive the share of negatives it outscores, per negative the share of
    positives outscoring it (ties one half), from mid-ranks."""
    m, n = len(positive), len(negative)
    ranks = rankdata(np.concatenate([positive, negative]))
    v_pos = (ranks[:m] - rankdata(positive)) / n
    v_neg = 1.0 - (ranks[m:] - rankdata(negative)) / m
    return v_pos, v_neg


def _split(labels: Sequence[bool], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape:
        raise ValueError(f"{len(labels)} labels but {len(scores)} scores")
    if labels.all() or not labels.any():
        raise ValueError("AU-ROC needs positive and negative utterances")
    return scores[labels], scores[~labels]


def auroc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve of ``scores`` for the binary ``labels`` (True: positive)."""
    v_pos, _ = _components(*_split(labels, scores))
    return float(v_pos.mean())


@dataclass
class AurocComparison:
    """Two systems' AU-ROC on the same utterances and the z-test of their difference."""
    auroc_a: float
    auroc_b: float
    z: float
    p_value: float           # two-sided
    positives: int
    negatives: int


def compare_auroc(labels: Sequence[bool], scores_a: Sequence[float],
                  scores_b: Sequence[float]) -> AurocComparison:
    """DeLong's paired z-test of AU-ROC(a) - AU-ROC(b) (module notes)."""
    pos_a, neg_a = _split(labels, scores_a)
    pos_b, neg_b = _split(labels, scores_b)
    m, n = len(pos_a), len(neg_a)
    if m < 2 or n < 2:
        raise ValueError("the z-test needs at least 2 positive and 2 negative utterances")
    comps = [_components(pos_a, neg_a), _components(pos_b, neg_b)]
    a, b = (float(c[0].mean()) for c in comps)
    s_pos = np.cov(np.stack([c[0] for c in comps]))
    s_neg = np.cov(np.stack([c[1] for c in comps]))
    cov = s_pos / m + s_neg / n
    variance = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    if variance <= 0:
        z = 0.0 if a == b else float(np.sign(a - b) * np.inf)
    else:
        z = (a - b) / float(np.sqrt(variance))
    return AurocComparison(a, b, z, float(2 * norm.sf(abs(z))), m, n)


def plot_roc(labels: Sequence[bool], scores: Sequence[float], path: str | Path,
             title: str) -> None:
    """Save the ROC curve (with its AU-ROC in the legend) as a PNG, drawn with Agg."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(labels, dtype=bool), np.asarray(scores))
    figure = Figure(figsize=(4.5, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(fpr, tpr, label=f"AU-ROC {auroc(labels, scores):.3f}")
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_title(title)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
