"""Online i-vectors as Kaldi's ivector-extract-online2 writes them for nnet2/nnet3 training.

Row k of an utterance's matrix is the i-vector estimated from its frames 0..k*period
(inclusive), so a network reading frame t takes row t // period and never sees the
future; an utterance of T frames has ceil(T / period) rows (Kaldi's OnlineIvectorFeature
with the default use-most-recent-ivector, without its conjugate-gradient approximation:
each row is solved exactly).

Speaker adaptation as ``ivector-extract-online2 --spk2utt``: the utterances of a speaker
are processed in spk2utt order, and each starts from the statistics its predecessor had
at its last row, scaled down so that their count (scaled posteriors) is at most
``max_remembered_frames * posterior_scale`` (Kaldi's
OnlineIvectorExtractorAdaptationState::LimitFrames). As steps/online/nnet2/
extract_ivectors_online.sh ``--utts-per-spk-max N``, each speaker is first cut into
pseudo-speakers of at most N consecutive utterances (N < 1: no limit), so a network
trained on these i-vectors also sees ones estimated from little speech.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import torch

from sertl.ivector.extractor import IvectorExtractor

ROWS_PER_CHUNK = 128  # rows of statistics and i-vectors at once: bounds memory


@dataclass
class CarriedStats:
    """Zeroth- (C,) and first-order (C, D) statistics carried from one utterance to the next."""
    gamma: torch.Tensor
    first: torch.Tensor

    @classmethod
    def zeros(cls, ex: IvectorExtractor) -> CarriedStats:
        return cls(torch.zeros(ex.num_gauss, dtype=torch.float64, device=ex.device),
                   torch.zeros(ex.num_gauss, ex.dim, dtype=torch.float64, device=ex.device))

    def limited(self, max_count: float) -> CarriedStats:
        """These statistics scaled down to a count of at most ``max_count``."""
        count = float(self.gamma.sum())
        if count <= max_count:
            return self
        scale = max_count / count
        return CarriedStats(self.gamma * scale, self.first * scale)


def utterance_online_ivectors(ex: IvectorExtractor, frames: torch.Tensor, period: int,
                              start: CarriedStats) -> tuple[torch.Tensor, CarriedStats]:
    """The online i-vectors (ceil(T / period), R) of one utterance starting from the
    statistics ``start``, and the statistics at its last row."""
    T = frames.shape[0]
    num_rows = -(-T // period)
    used = (num_rows - 1) * period + 1  # frames after the last row's frame are never used
    block = (torch.arange(used) + period - 1) // period
    carried = start
    ivectors = []
    for k in range(0, num_rows, ROWS_PER_CHUNK):
        rows = min(ROWS_PER_CHUNK, num_rows - k)
        t0, t1 = max(0, (k - 1) * period + 1), (k + rows - 1) * period + 1
        gamma, first = ex.stats(frames[t0:t1], block[t0:t1] - k, rows)
        gamma = carried.gamma + gamma.cumsum(0)
        first = carried.first + first.cumsum(0)
        ivectors.append(ex.ivectors(gamma, first))
        carried = CarriedStats(gamma[-1], first[-1])
    return torch.cat(ivectors), carried


def pseudo_speakers(spk2utt: dict[str, list[str]], utts_per_spk_max: int) -> list[list[str]]:
    """The utterance lists of each speaker cut into runs of at most ``utts_per_spk_max``."""
    if utts_per_spk_max < 1:
        return list(spk2utt.values())
    return [utts[i:i + utts_per_spk_max] for utts in spk2utt.values()
            for i in range(0, len(utts), utts_per_spk_max)]


def speaker_online_ivectors(ex: IvectorExtractor, utterances: Iterable[tuple[str, torch.Tensor]],
                            period: int, max_remembered_frames: float
                            ) -> Iterator[tuple[str, torch.Tensor]]:
    """Online i-vectors of the utterances of one (pseudo-)speaker, in the given order."""
    carried = CarriedStats.zeros(ex)
    max_count = max_remembered_frames * ex.posterior_options.posterior_scale
    for utt, frames in utterances:
        ivectors, end = utterance_online_ivectors(ex, frames, period, carried)
        carried = end.limited(max_count)
        yield utt, ivectors
