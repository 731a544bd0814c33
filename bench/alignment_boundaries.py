#!/usr/bin/env python3
"""Score a phone alignment's boundaries against reference boundaries (CTM against CTM).

Usage: bench/alignment_boundaries.py [--ref-map FILE] [--hyp-map FILE] <ref-ctm> <hyp-ctm>

Both CTMs hold ``utt channel start dur phone`` lines (seconds), e.g. an ali-dir's
``ali.ctm`` (steps/align_sb.sh) and a corpus's ``phones.ctm``. Prints the fraction of
reference boundaries that the alignment puts within 10, 20 and 40 ms, and the mean
absolute boundary error.

How boundaries are matched:
- A phone map (``phone mapped`` per line; ``phone`` alone deletes it, its time going to
  the phone before; unlisted phones stay as they are) folds each side's phone set, e.g.
  TIMIT's 39 phones and ARPAbet to one set. Then adjacent segments with the same label
  are merged, as a boundary between two equal folded labels is not observable.
- A boundary is the start of every segment but the first of an utterance.
- The label sequences of an utterance are aligned by edit distance (unit costs); a
  reference boundary is scored when its segment is matched to a hypothesis segment with
  the same label, as the difference of the two segment starts. The boundaries of
  reference segments without such a partner (a pause the aligner left out, a phone
  spoken otherwise than in the lexicon) count as missed: they are in the denominator of
  the within-N-ms fractions but not in the mean error. A segment the aligner inserted
  (e.g. an optional silence absent from the reference) adds no boundary, but moves the
  start of the next matched segment, which is scored.
- Utterances missing from the hypothesis are reported and left out.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

TOLERANCES_MS = (10, 20, 40)
EPS = 1e-6


@dataclass(frozen=True)
class Segment:
    label: str
    start: float
    end: float


def read_phone_map(path: Path) -> dict[str, str | None]:
    """``phone mapped`` lines (or ``phone`` alone: deleted)."""
    mapping: dict[str, str | None] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) > 2 or fields[0] in mapping:
            raise ValueError(f"{path}:{lineno}: expected a new phone and at most one mapping")
        mapping[fields[0]] = fields[1] if len(fields) == 2 else None
    return mapping


def read_ctm(path: Path) -> dict[str, list[Segment]]:
    """Segments per utterance, in time order."""
    utts: dict[str, list[Segment]] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            utt, _, start, dur, label = fields
            segment = Segment(label, float(start), float(start) + float(dur))
        except ValueError:
            raise ValueError(f"{path}:{lineno}: expected 'utt channel start dur phone'") from None
        utts.setdefault(utt, []).append(segment)
    return {utt: sorted(segs, key=lambda s: s.start) for utt, segs in utts.items()}


def fold(segments: list[Segment], mapping: dict[str, str | None]) -> list[Segment]:
    """Map labels, give deleted phones' time to the phone before, merge equal neighbours."""
    out: list[Segment] = []
    for seg in segments:
        label = mapping.get(seg.label, seg.label)
        if out and (label is None or label == out[-1].label):
            out[-1] = Segment(out[-1].label, out[-1].start, seg.end)
        elif label is not None:
            out.append(Segment(label, seg.start, seg.end))
    return out


def matched_pairs(ref: list[str], hyp: list[str]) -> list[tuple[int, int]]:
    """Index pairs of equal labels on a minimum edit-distance alignment of two sequences."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 or j == 0:
                cost[i][j] = i + j
            else:
                cost[i][j] = min(cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]),
                                 cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        if cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            if ref[i - 1] == hyp[j - 1]:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


@dataclass
class Score:
    """Boundary errors (seconds) of matched boundaries and the count of missed ones."""
    errors: list[float]
    missed: int = 0

    def add(self, ref: list[Segment], hyp: list[Segment]) -> None:
        pairs = matched_pairs([s.label for s in ref], [s.label for s in hyp])
        scored = [(i, j) for i, j in pairs if i > 0]
        self.errors += [hyp[j].start - ref[i].start for i, j in scored]
        self.missed += len(ref) - 1 - len(scored)

    @property
    def total(self) -> int:
        return len(self.errors) + self.missed

    def within(self, tolerance_ms: float) -> float:
        hits = sum(abs(e) <= tolerance_ms / 1000 + EPS for e in self.errors)
        return hits / max(self.total, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref-map", type=Path, help="phone map applied to the reference")
    parser.add_argument("--hyp-map", type=Path, help="phone map applied to the alignment")
    parser.add_argument("ref_ctm", type=Path)
    parser.add_argument("hyp_ctm", type=Path)
    args = parser.parse_args(argv)
    try:
        ref_map = read_phone_map(args.ref_map) if args.ref_map else {}
        hyp_map = read_phone_map(args.hyp_map) if args.hyp_map else {}
        ref, hyp = read_ctm(args.ref_ctm), read_ctm(args.hyp_ctm)
    except (OSError, ValueError) as e:
        print(f"alignment_boundaries: error: {e}", file=sys.stderr)
        return 1
    score = Score([])
    common = [utt for utt in ref if utt in hyp]
    for utt in common:
        score.add(fold(ref[utt], ref_map), fold(hyp[utt], hyp_map))
    if not common:
        print("alignment_boundaries: error: no utterance in both CTMs", file=sys.stderr)
        return 1
    errors_ms = [1000 * e for e in score.errors]
    print(f"utterances: {len(common)} scored, {len(ref) - len(common)} of the reference "
          f"missing from the alignment")
    print(f"boundaries: {score.total} in the reference, {len(errors_ms)} matched, "
          f"{score.missed} missed")
    print("within " + ", ".join(f"{t} ms: {100 * score.within(t):.1f}%" for t in TOLERANCES_MS))
    print(f"mean absolute error: {sum(map(abs, errors_ms)) / max(len(errors_ms), 1):.1f} ms, "
          f"mean signed error (alignment - reference): "
          f"{sum(errors_ms) / max(len(errors_ms), 1):+.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
