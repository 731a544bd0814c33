"""Phone decoding of frame classifier outputs and phone error rate, as Fayek et al. score
TIMIT: Viterbi search over phone HMMs with a phone bigram LM estimated on the training
alignments.

Each phone is a left-to-right chain of its targets (one target per phone, or several
HMM states named ``PHONE_<n>`` in the alignment's ``targets.txt``; the numbering of
:mod:`sertl.align.topology`, as the aligner's). Every target has a
self-loop probability estimated from the training alignments at the model's output
frame rate; leaving a phone's last state enters the first state of the next phone with
the bigram probability (add-k smoothed, with sentence start and end). A frame's score
for target k is ``acoustic_scale * (log p(k | x) - log prior(k))`` (the hybrid
scaled likelihood). The priors are the network's average posteriors on training data
when given (as Kaldi adjusts them: a prior counted on the alignments would let a rare
target that the network never predicts confidently win everywhere), else the targets'
frequencies in the alignments. A target that never occurs in the training alignments
is left out of the search.

Phone sequences of alignments come from :meth:`Topology.phone_sequence`, in the
reference as in the hypothesis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torchaudio.functional as taf

from sertl.align.topology import Topology

NEG_INF = -np.inf


@dataclass
class PhoneDecoder:
    """Priors, transition probabilities and phone bigram of the Viterbi phone decoder."""
    topology: Topology
    log_prior: list[float]       # per target; inf: never seen in training
    log_self: list[float]        # per target: log self-loop probability
    log_bigram: list[list[float]]  # (P + 1) x (P + 1); row P = <s>, column P = </s>

    def to_dict(self) -> dict:
        return {"topology": self.topology.to_dict(), "log_prior": self.log_prior,
                "log_self": self.log_self, "log_bigram": self.log_bigram}

    @classmethod
    def from_dict(cls, values: dict) -> PhoneDecoder:
        return cls(Topology.from_dict(values["topology"]), values["log_prior"],
                   values["log_self"], values["log_bigram"])

    @classmethod
    def estimate(cls, topology: Topology, alignments: Iterable[np.ndarray], subsampling: int,
                 priors: np.ndarray | None = None, lm_smoothing: float = 0.1) -> PhoneDecoder:
        """Estimate from per-frame target alignments (10 ms); transitions and counted
        priors at the model's output rate (every ``subsampling``-th frame). ``priors``:
        average posteriors to use instead of the counts."""
        num_targets, num_phones = len(topology.phone_of), len(topology.phones)
        frames = np.zeros(num_targets)
        runs = np.zeros(num_targets)
        bigram = np.zeros((num_phones + 1, num_phones + 1))
        for ali in alignments:
            sub = ali[::subsampling]
            frames += np.bincount(sub, minlength=num_targets)
            starts = np.concatenate([[True], sub[1:] != sub[:-1]])
            runs += np.bincount(sub[starts], minlength=num_targets)
            seq = [num_phones] + topology.phone_sequence(ali) + [num_phones]
            np.add.at(bigram, (seq[:-1], seq[1:]), 1)
        self_loop = np.where(frames > 0, (frames - runs) / np.maximum(frames, 1), 0.5)
        self_loop = np.clip(self_loop, 0.01, 0.99)
        prior = frames if priors is None else np.maximum(priors, 1e-10)
        with np.errstate(divide="ignore"):
            log_prior = np.where(frames > 0, np.log(prior / prior.sum()), np.inf)
        bigram += lm_smoothing
        log_bigram = np.log(bigram / bigram.sum(axis=1, keepdims=True))
        return cls(topology, log_prior.tolist(), np.log(self_loop).tolist(),
                   log_bigram.tolist())

    def decode(self, log_posteriors: np.ndarray, acoustic_scale: float = 1.0,
               lm_weight: float = 1.0, insertion_penalty: float = 0.0) -> list[int]:
        """The best phone sequence (phone indices) for (T, num_targets) log posteriors."""
        first, last, prev = self.topology.arrays()
        num_phones = len(first)
        scores = acoustic_scale * (np.asarray(log_posteriors, dtype=np.float64)
                                   - np.array(self.log_prior))
        log_self = np.array(self.log_self)
        log_next = np.log1p(-np.exp(log_self))
        bigram = lm_weight * np.array(self.log_bigram)
        enter = bigram[:num_phones, :num_phones] + insertion_penalty
        start = bigram[num_phones, :num_phones] + insertion_penalty
        end = bigram[:num_phones, num_phones]
        chained = np.flatnonzero(prev >= 0)
        num_frames, num_targets = scores.shape
        delta = np.full(num_targets, NEG_INF)
        delta[first] = start + scores[0, first]
        source = np.zeros((num_frames, num_targets), dtype=np.int64)
        moved = np.zeros((num_frames, num_targets), dtype=bool)
        for t in range(1, num_frames):
            stay = delta + log_self
            advance = np.full(num_targets, NEG_INF)
            origin = np.arange(num_targets)
            advance[chained] = delta[prev[chained]] + log_next[prev[chained]]
            origin[chained] = prev[chained]
            entries = (delta[last] + log_next[last])[:, None] + enter
            best = entries.argmax(axis=0)
            advance[first] = entries[best, np.arange(num_phones)]
            origin[first] = last[best]
            moved[t] = advance > stay
            source[t] = np.where(moved[t], origin, np.arange(num_targets))
            delta = np.maximum(stay, advance) + scores[t]
        state = int(last[np.argmax(delta[last] + end)])
        phone_of = self.topology.phone_of
        is_first = np.zeros(num_targets, dtype=bool)
        is_first[first] = True
        phones = []
        for t in range(num_frames - 1, -1, -1):
            if t == 0 or (moved[t, state] and is_first[state]):
                phones.append(int(phone_of[state]))
            state = int(source[t, state])
        return phones[::-1]


def edit_errors(refs: Iterable[list], hyps: Iterable[list]) -> tuple[int, int]:
    """Total edit distance of hypotheses to references, and the total reference length."""
    errors = length = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        errors += taf.edit_distance(ref, hyp)
        length += len(ref)
    return errors, length
