"""Forced alignment of transcripts to frames: phone HMM graphs, flat start, Viterbi, CTM.

An utterance's transcript becomes a left-to-right HMM graph: each phone has
``num_states`` states (self-loop and forward arc; a phone lasts at least that many
frames), and an optional silence may stand before the first word, between words and
after the last one. Every graph state emits one *target* (phone x state), the class
set of the frame classifier (sertl.align.classifier) that supplies per-frame
emission scores.

The Viterbi search is SpeechBrain's ``HMMAligner`` (exact, beam-free dynamic
programming, batched over utterances) given these graphs through its
``prob_matrices`` argument. Its own lexicon machinery (``use_lexicon``) is not used:
in a batch it gives every utterance the start states of all of them, it needs its
lexicon file format and a phone named ``sil``, and it returns class labels, not graph
positions, so two equal phones in a row could not be told apart. Here each
utterance's emission matrix is expanded to one column per graph state, so the path
HMMAligner returns *is* the sequence of graph positions. Its Viterbi score is not
used either (it reads the score at the last graph state even when the best path ends
in another final state); the path's score is recomputed from the path itself, and a
path that needs a forbidden arc (an utterance with fewer frames than its graph's
shortest path) is reported as a failure instead of being written.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from sertl.align import AlignError
from sertl.align.topology import Topology

# Log-probability of forbidden arcs and padded graph states. Far below any real path
# score (at most a few thousand frames of emission scores), so a path that uses one is
# recognised afterwards; the default of HMMAligner (-1e5) is not safe for long
# utterances with poor emission scores.
NEG_INF = -1e9


@dataclass(frozen=True)
class HmmOptions:
    """Arc probabilities of the alignment graphs."""
    self_loop_prob: float = 0.5
    silence_prob: float = 0.5

    def __post_init__(self) -> None:
        for name in ("self_loop_prob", "silence_prob"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")


@dataclass(frozen=True)
class Graph:
    """The HMM of one utterance: per graph state its target, phone and phone instance.

    ``instance`` numbers the phones of the graph (optional silences included), so two
    equal phones in a row stay two segments; ``optional`` marks optional-silence states.
    """
    targets: np.ndarray      # (U,) int64
    phones: np.ndarray       # (U,) int64 phone ids
    instance: np.ndarray     # (U,) int64
    optional: np.ndarray     # (U,) bool
    log_init: np.ndarray     # (U,) float32
    log_trans: np.ndarray    # (U, U) float32, [from, to]
    finals: tuple[int, ...]

    @property
    def num_states(self) -> int:
        return len(self.targets)

    @property
    def min_frames(self) -> int:
        """Length of the shortest path: every word phone's states, no silence."""
        return int(np.count_nonzero(~self.optional))


def build_graph(words: Sequence[Sequence[int]], silence: int, topo: Topology,
                opts: HmmOptions = HmmOptions()) -> Graph:
    """The alignment HMM of a transcript given as phone ids per word.

    Optional silence (phone id ``silence``) before, between and after the words.
    """
    if not words or any(not w for w in words):
        raise AlignError("empty transcript or a word without phones")
    # Units (phone instances) in graph order; arcs between units with their weights.
    units: list[int] = [silence]
    optional: list[bool] = [True]
    arcs: list[tuple[int, int, float]] = [(0, 1, 1.0)]
    for k, word in enumerate(words):
        first = len(units)
        units += word
        optional += [False] * len(word)
        arcs += [(u, u + 1, 1.0) for u in range(first, len(units) - 1)]
        last, sil = len(units) - 1, len(units)
        units.append(silence)
        optional.append(True)
        arcs.append((last, sil, opts.silence_prob))
        if k + 1 < len(words):
            arcs += [(last, sil + 1, 1.0 - opts.silence_prob), (sil, sil + 1, 1.0)]
    init = {0: opts.silence_prob, 1: 1.0 - opts.silence_prob}
    finals = [len(units) - 2, len(units) - 1]
    return _expand(units, optional, arcs, init, finals, topo, opts)


def _expand(units: list[int], optional: list[bool], arcs: list[tuple[int, int, float]],
            init: dict[int, float], finals: list[int], topo: Topology,
            opts: HmmOptions) -> Graph:
    """Graph over HMM states from a graph over phone instances.

    Every state has a self-loop; a unit's states are chained; the arcs leaving a unit
    leave its last state, sharing the probability of not looping by their weights.
    """
    bad = [p for p in units if not 1 <= p <= len(topo.phones)]
    if bad:
        raise AlignError(f"phone id {bad[0]} is not in the model's {len(topo.phones)} phones")
    s = topo.num_states
    size = len(units) * s
    trans = np.full((size, size), NEG_INF, dtype=np.float32)
    stay, leave = np.log(opts.self_loop_prob), np.log1p(-opts.self_loop_prob)
    index = np.arange(size)
    trans[index, index] = stay
    chained = index[index % s != s - 1]
    trans[chained, chained + 1] = leave
    for src, dst, weight in arcs:
        trans[src * s + s - 1, dst * s] = leave + np.log(weight)
    log_init = np.full(size, NEG_INF, dtype=np.float32)
    for u, weight in init.items():
        log_init[u * s] = np.log(weight)
    phones = np.repeat(np.asarray(units, dtype=np.int64), s)
    return Graph(targets=topo.target(phones, index % s), phones=phones,
                 instance=index // s, optional=np.repeat(np.asarray(optional), s),
                 log_init=log_init, log_trans=trans,
                 finals=tuple(u * s + s - 1 for u in finals))


@dataclass(frozen=True)
class Alignment:
    """The Viterbi path of one utterance: graph state per frame and its scores."""
    states: np.ndarray   # (T,) int64 positions in the graph
    emission: float      # summed emission scores along the path
    score: float         # emission plus initial and arc log-probabilities


class ViterbiAligner:
    """Exact Viterbi alignment of a batch of utterances with SpeechBrain's HMMAligner."""

    def __init__(self) -> None:
        # Imported here: importing speechbrain takes seconds, which the training and
        # flat-start tools (that import this module but never search) need not pay.
        from speechbrain.alignment.aligner import HMMAligner
        self.hmm = HMMAligner(neg_inf=NEG_INF)

    def align(self, scores: Sequence[torch.Tensor],
              graphs: Sequence[Graph]) -> list[Alignment | None]:
        """Best paths for per-frame emission scores ``(T_i, num_targets)``.

        None for an utterance that has no path: fewer frames than its graph's shortest
        path, or non-finite scores.
        """
        result: list[Alignment | None] = [None] * len(graphs)
        batch = [i for i, (x, g) in enumerate(zip(scores, graphs))
                 if len(x) >= g.min_frames and bool(torch.isfinite(x).all())]
        if not batch:
            return result
        emission, init, trans, finals, lens, graph_lens = self._pad(
            [scores[i] for i in batch], [graphs[i] for i in batch])
        positions = torch.arange(emission.shape[2]).expand(len(batch), -1)
        with torch.no_grad():
            _, paths = self.hmm(emission, lens, positions, graph_lens, "viterbi",
                                prob_matrices={"pi_prob": init, "trans_prob": trans,
                                               "final_states": finals})
        for b, i in enumerate(batch):
            result[i] = _rescored(np.asarray(paths[b], dtype=np.int64), graphs[i],
                                  emission[b, : len(scores[i])].cpu().numpy())
        return result

    @staticmethod
    def _pad(scores: list[torch.Tensor], graphs: list[Graph]) -> tuple:
        """Batch tensors for HMMAligner: emission per graph state, arcs, lengths."""
        num_frames = max(len(x) for x in scores)
        num_states = max(g.num_states for g in graphs)
        device = scores[0].device
        emission = torch.zeros(len(graphs), num_frames, num_states, device=device)
        init = torch.full((len(graphs), num_states), NEG_INF)
        trans = torch.full((len(graphs), num_states, num_states), NEG_INF)
        for b, (x, g) in enumerate(zip(scores, graphs)):
            u = g.num_states
            emission[b, : len(x), :u] = x[:, torch.from_numpy(g.targets).to(device)]
            init[b, :u] = torch.from_numpy(g.log_init)
            trans[b, :u, :u] = torch.from_numpy(g.log_trans)
        lens = torch.tensor([len(x) / num_frames for x in scores], dtype=torch.float64)
        graph_lens = torch.tensor([g.num_states / num_states for g in graphs],
                                  dtype=torch.float64)
        return emission, init, trans, [list(g.finals) for g in graphs], lens, graph_lens


def _rescored(states: np.ndarray, graph: Graph, emission: np.ndarray) -> Alignment | None:
    """The path with its scores, or None if it uses a forbidden arc."""
    frames = np.arange(len(states))
    emitted = float(emission[frames, states].sum(dtype=np.float64))
    arcs = float(graph.log_trans[states[:-1], states[1:]].sum(dtype=np.float64))
    score = emitted + arcs + float(graph.log_init[states[0]])
    if score < NEG_INF / 2 or states[-1] not in graph.finals:
        return None
    return Alignment(states=states, emission=emitted, score=score)


def flat_start(graph: Graph, num_frames: int, voiced: np.ndarray | None = None) -> np.ndarray:
    """The path (graph state per frame) of a uniform segmentation of ``num_frames``.

    The word phones' states (no optional silence) share the frames equally. With a VAD
    decision, only the voiced span is shared so, and the frames before and after it go
    to the leading and trailing silence, when that span can hold every state. (Giving
    the edge silences a share of the frames when the VAD finds no silence made the first
    iterations much worse on the generated corpus: the silence model learnt speech.)
    """
    states = np.arange(graph.num_states)
    speech = states[~graph.optional]
    if num_frames < len(speech):
        raise AlignError(f"{num_frames} frames cannot hold the {len(speech)} HMM states "
                         f"of the transcript")
    start, end = 0, num_frames
    if voiced is not None and voiced.any():
        idx = np.flatnonzero(voiced)
        if idx[-1] + 1 - idx[0] >= len(speech):
            start, end = int(idx[0]), int(idx[-1]) + 1
    leading = states[graph.instance == graph.instance[0]]
    trailing = states[graph.instance == graph.instance[-1]]
    return np.concatenate([_uniform(leading, start), _uniform(speech, end - start),
                           _uniform(trailing, num_frames - end)])


def _uniform(states: np.ndarray, num_frames: int) -> np.ndarray:
    """``states`` in order, stretched evenly over ``num_frames`` frames."""
    return states[np.arange(num_frames) * len(states) // max(num_frames, 1)]


@dataclass(frozen=True)
class Segment:
    """One phone of an alignment: phone id and frame span ``[start, end)``."""
    phone: int
    start: int
    end: int


def phone_segments(graph: Graph, states: np.ndarray) -> list[Segment]:
    """The phones of a path, one segment per phone instance visited."""
    instance = graph.instance[states]
    cuts = np.flatnonzero(np.diff(instance)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(states)]])
    return [Segment(int(graph.phones[states[a]]), int(a), int(b))
            for a, b in zip(starts, ends)]


def ctm_lines(utt: str, segments: Sequence[Segment], phone_names: Sequence[str],
              frame_shift: float = 0.01, frame_offset: float = 0.0) -> list[str]:
    """``utt 1 start dur phone`` lines (seconds, 4 decimals: Kaldi's 2 would round a
    7.5 ms offset to 10 ms).

    The boundary before frame t is put at ``t * frame_shift + frame_offset`` (the first
    segment starts at 0): a frame's target describes the centre of its window, so the
    boundary between two frames lies between their centres.
    """
    def time(frame: int) -> float:
        return round(frame * frame_shift + (frame_offset if frame else 0.0), 4)

    return [f"{utt} 1 {time(s.start):.4f} {time(s.end) - time(s.start):.4f} "
            f"{phone_names[s.phone - 1]}\n" for s in segments]
