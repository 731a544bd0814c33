"""Utterance-vector systems: a linear SVM on one vector per utterance.

The classical baseline (openSMILE functionals) and transfer by embedding (a pretrained
network's activations at its cut layer, pooled per utterance) share this back-end; the
vectors come from the data dir's feats.scp, one (1, D) matrix per utterance
(steps/make_functionals.sh, steps/make_embeddings.sh).

Decisions:

- Normalisation ``speaker``: every speaker's vectors are standardised on that speaker's
  own utterances (mean and standard deviation per dimension, labels unused), at
  training and at test time alike; a test speaker's statistics come from its test
  utterances only, so nothing leaks across the fold. ``train``: one standardisation
  fitted on the training part and applied unchanged to the test part.
- The SVM is scikit-learn's SVC with a linear kernel (libsvm: one-vs-one, hinge loss)
  with balanced class weights. On EmoDB's ComParE functionals it trained 40 times faster
  than LinearSVC (liblinear, one-vs-rest) and scored 6-20 points of UA higher on the
  three folds compared. Its C is chosen on the training part only, by an inner
  speaker-grouped cross-validation (GroupKFold over the training speakers) maximising UA;
  a single-value grid fixes C.
- An utterance's class scores are the one-vs-one votes plus, as a tie-break worth less
  than one vote, half the class's summed decision values squashed to (-1, 1)
  (``v_c + 0.5 s_c / (1 + |s_c|)``): the argmax is libsvm's decision, and for two
  classes the second class's score minus the first's ranks as the decision value does.
- The trained model is plain arrays (``final.npz``: the pairs' weights and biases,
  classes and the normalisation), loaded without pickle, so loading never runs code.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping, Sequence

import numpy as np
from sklearn.metrics import recall_score
from sklearn.model_selection import GroupKFold
from sklearn.svm import SVC

from sertl.io import TableError, load_matrix, read_scp
from sertl.ser.functionals import FEATURE_SETS

FUNCTIONALS_SUFFIX = {"ComParE_2016": "compare", "eGeMAPSv02": "egemaps"}

MIN_STD = 1e-8  # a dimension constant within a speaker (or the training part) keeps scale 1


@dataclass
class SvmOptions:
    """The SVM and the choice of its C."""
    c_grid: list[float] = field(default_factory=lambda: [0.0001, 0.001, 0.01, 0.1, 1.0])
    inner_folds: int = 5                   # speaker-grouped folds choosing C

    def __post_init__(self) -> None:
        if not self.c_grid or any(c <= 0 for c in self.c_grid):
            raise ValueError("c_grid must list positive values")
        if self.inner_folds < 2:
            raise ValueError("inner_folds must be at least 2")


@dataclass
class VectorInput:
    """Where an utterance-vector system's vectors come from: openSMILE functionals, a
    pretrained network's pooled activations, or the fusion of several such ``parts``
    (their vectors concatenated, each part standardised like the whole)."""
    kind: Literal["functionals", "embedding", "fusion"]
    feature_set: str | None = None   # functionals: ComParE_2016 or eGeMAPSv02
    layer: str | None = None         # embedding: the pretrained network's cut layer
    pooling: Literal["mean_std", "mean"] = "mean_std"  # embedding: over voiced frames
    parts: list[VectorInput] = field(default_factory=list)  # fusion: 2 or more

    def __post_init__(self) -> None:
        if self.kind == "functionals" and self.feature_set not in FEATURE_SETS:
            raise ValueError(f"functionals need feature_set: one of {', '.join(FEATURE_SETS)}")
        if self.kind == "embedding" and not self.layer:
            raise ValueError("an embedding needs the layer it is taken at")
        if (self.kind == "fusion") != bool(self.parts):
            raise ValueError("parts are for a fusion, and a fusion needs them")
        if self.kind == "fusion" and (len(self.parts) < 2
                                      or any(p.kind == "fusion" for p in self.parts)):
            raise ValueError("a fusion needs 2 or more parts, none a fusion itself")

    def suffix(self) -> str:
        """The data-dir suffix of these vectors: ``compare``, ``egemaps``, ``emb_<layer>``
        (``emb_<layer>_mean`` for mean pooling), or the parts' joined by ``+``."""
        if self.kind == "functionals":
            return FUNCTIONALS_SUFFIX[self.feature_set]
        if self.kind == "embedding":
            return f"emb_{self.layer}" + ("" if self.pooling == "mean_std" else "_mean")
        return "+".join(part.suffix() for part in self.parts)

    def spec(self) -> str:
        """How steps/make_system_input.sh makes these vectors, in words."""
        if self.kind == "functionals":
            return f"functionals {self.feature_set}"
        if self.kind == "embedding":
            return f"embedding {self.layer} {self.pooling}"
        return "fusion"


@dataclass
class SvmConfig:
    """A linear SVM on utterance vectors (sertl.ser.svm)."""
    system: Literal["svm"]
    input: VectorInput
    normalisation: Literal["speaker", "train"]
    svm: SvmOptions = field(default_factory=SvmOptions)


def read_vectors(data_dir: Path, utts: Sequence[str] | None = None
                 ) -> tuple[list[str], np.ndarray]:
    """The utterances (feats.scp order, or ``utts``) and their (N, D) vectors."""
    scp = data_dir / "feats.scp"
    table = read_scp(scp)
    utts = list(table) if utts is None else list(utts)
    rows = []
    for utt in utts:
        if utt not in table:
            raise TableError(f"{scp}: no utterance '{utt}'")
        matrix = load_matrix(table[utt])
        if matrix.shape[0] != 1:
            raise TableError(f"{scp}: utterance '{utt}' has {matrix.shape[0]} rows; an "
                             "utterance-vector system needs one (functionals or embeddings)")
        rows.append(matrix[0])
    if not rows:
        raise TableError(f"{scp}: no utterances")
    vectors = np.stack(rows).astype(np.float64)
    if not np.isfinite(vectors).all():
        bad = utts[int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])]
        raise TableError(f"{scp}: utterance '{bad}' has non-finite values")
    return utts, vectors


def standardise_per_speaker(vectors: np.ndarray, speakers: Sequence[str]) -> np.ndarray:
    """Each speaker's rows standardised on that speaker's rows."""
    out = np.empty_like(vectors)
    speakers = np.asarray(speakers)
    for spk in np.unique(speakers):
        rows = speakers == spk
        mean = vectors[rows].mean(axis=0)
        std = vectors[rows].std(axis=0)
        out[rows] = (vectors[rows] - mean) / np.where(std > MIN_STD, std, 1.0)
    return out


@dataclass
class LinearModel:
    """A trained one-vs-one linear SVM: normalisation, then ``x W^T + b`` per class pair."""
    classes: list[str]
    pairs: np.ndarray              # (P, 2) class indices (i, j); a positive value votes i
    weights: np.ndarray            # (P, D)
    bias: np.ndarray               # (P,)
    normalisation: Literal["speaker", "train"]
    mean: np.ndarray               # (D,) training-part statistics ("train"); zeros else
    scale: np.ndarray              # (D,); ones for "speaker"

    def scores(self, vectors: np.ndarray, speakers: Sequence[str]) -> np.ndarray:
        """(N, classes) scores: votes plus the squashed decision values (module notes)."""
        if vectors.shape[1] != self.weights.shape[1]:
            raise ValueError(f"{vectors.shape[1]}-dim vectors, but the model takes "
                             f"{self.weights.shape[1]}")
        if self.normalisation == "speaker":
            counts = Counter(speakers)
            alone = [spk for spk, n in counts.items() if n < 2]
            if alone:
                raise ValueError(f"speaker '{alone[0]}' has one utterance: per-speaker "
                                 "normalisation needs several utterances of each speaker")
            vectors = standardise_per_speaker(vectors, speakers)
        decision = ((vectors - self.mean) / self.scale) @ self.weights.T + self.bias
        votes = np.zeros((len(vectors), len(self.classes)))
        summed = np.zeros_like(votes)
        for p, (i, j) in enumerate(self.pairs):
            votes[:, i] += decision[:, p] > 0
            votes[:, j] += decision[:, p] <= 0
            summed[:, i] += decision[:, p]
            summed[:, j] -= decision[:, p]
        return votes + 0.5 * summed / (1 + np.abs(summed))

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, classes=np.array(self.classes), pairs=self.pairs, weights=self.weights,
                 bias=self.bias, normalisation=np.array(self.normalisation), mean=self.mean,
                 scale=self.scale)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "LinearModel":
        with np.load(path, allow_pickle=False) as f:
            return cls([str(c) for c in f["classes"]], f["pairs"], f["weights"], f["bias"],
                       str(f["normalisation"]), f["mean"], f["scale"])


def unweighted_recall(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """UA over the classes present in ``refs``."""
    return float(recall_score(refs, hyps, labels=sorted(set(refs)), average="macro"))


def _fit_svc(x: np.ndarray, y: np.ndarray, c: float) -> SVC:
    return SVC(kernel="linear", C=c, class_weight="balanced").fit(x, y)


def _normalised(x_train: np.ndarray, x_test: np.ndarray, spk_train: Sequence[str],
                spk_test: Sequence[str], normalisation: str) -> tuple[np.ndarray, np.ndarray]:
    if normalisation == "speaker":
        return (standardise_per_speaker(x_train, spk_train),
                standardise_per_speaker(x_test, spk_test))
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    scale = np.where(std > MIN_STD, std, 1.0)
    return (x_train - mean) / scale, (x_test - mean) / scale


def choose_c(vectors: np.ndarray, labels: Sequence[str], speakers: Sequence[str],
             normalisation: str, options: SvmOptions) -> tuple[float, dict[float, float]]:
    """C of the grid with the best mean UA over speaker-grouped inner folds of the
    training part (ties to the smaller C), and the UA of every C."""
    if len(options.c_grid) == 1:
        return options.c_grid[0], {}
    labels, speakers = np.asarray(labels), np.asarray(speakers)
    num_speakers = len(np.unique(speakers))
    if num_speakers < 2:
        raise ValueError("choosing C needs at least 2 training speakers (or give one C)")
    splits = list(GroupKFold(n_splits=min(options.inner_folds, num_speakers))
                  .split(vectors, labels, speakers))
    ua = {}
    for c in options.c_grid:
        fold_ua = []
        for train, test in splits:
            x_train, x_test = _normalised(vectors[train], vectors[test], speakers[train],
                                          speakers[test], normalisation)
            svc = _fit_svc(x_train, labels[train], c)
            fold_ua.append(unweighted_recall(labels[test], svc.predict(x_test)))
        ua[c] = float(np.mean(fold_ua))
    best = max(options.c_grid, key=lambda c: (ua[c], -c))
    return best, ua


def train_linear_model(vectors: np.ndarray, labels: Sequence[str], speakers: Sequence[str],
                       classes: Sequence[str], normalisation: Literal["speaker", "train"],
                       options: SvmOptions) -> tuple[LinearModel, dict]:
    """Choose C on the training part, refit on all of it; the model and a report."""
    missing = [c for c in classes if c not in set(labels)]
    if missing:
        raise ValueError(f"no training utterance of class '{missing[0]}'")
    c, inner_ua = choose_c(vectors, labels, speakers, normalisation, options)
    if normalisation == "speaker":
        x = standardise_per_speaker(vectors, speakers)
        mean, scale = np.zeros(vectors.shape[1]), np.ones(vectors.shape[1])
    else:
        mean, std = vectors.mean(axis=0), vectors.std(axis=0)
        scale = np.where(std > MIN_STD, std, 1.0)
        x = (vectors - mean) / scale
    svc = _fit_svc(x, np.asarray(labels), c)
    index = {cls: k for k, cls in enumerate(classes)}
    fitted = [index[cls] for cls in svc.classes_]
    # libsvm's pairs: (0, 1), (0, 2), ..., (1, 2), ... of svc.classes_; a positive value
    # votes the first, except with two classes, where scikit-learn negates the decision
    # so that a positive value is svc.classes_[1]
    pairs = np.array([(fitted[a], fitted[b]) for a in range(len(fitted))
                      for b in range(a + 1, len(fitted))], dtype=np.int64)
    if len(fitted) == 2:
        pairs = pairs[:, ::-1].copy()
    model = LinearModel(list(classes), pairs, np.asarray(svc.coef_), svc.intercept_.copy(),
                        normalisation, mean, scale)
    train_ua = unweighted_recall(labels, [model.classes[i] for i in
                                          model.scores(vectors, speakers).argmax(axis=1)])
    report = {"c": c, "inner_ua": {str(k): v for k, v in inner_ua.items()},
              "train_ua": train_ua, "utterances": len(labels), "dim": int(vectors.shape[1]),
              "support_vectors": int(svc.n_support_.sum())}
    return model, report


def speakers_of(utts: Sequence[str], utt2spk: Mapping[str, str], source: Path) -> list[str]:
    """The speaker of each utterance, or a TableError naming the missing one."""
    missing = [u for u in utts if u not in utt2spk]
    if missing:
        raise TableError(f"{source}: no speaker for utterance '{missing[0]}'")
    return [utt2spk[u] for u in utts]
