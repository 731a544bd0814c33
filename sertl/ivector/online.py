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

ROWS_PER_CHUNK = 128  # i-vectors solved at once: bounds memory for long utterances


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
    block = (torch.arange(used, device=ex.device) + period - 1) // period
    gamma, first = ex.stats(frames[:used], block, num_rows)
    carried = start
    ivectors = []
    for k in range(0, num_rows, ROWS_PER_CHUNK):
        g = carried.gamma + gamma[k:k + ROWS_PER_CHUNK].cumsum(0)
        f = carried.first + first[k:k + ROWS_PER_CHUNK].cumsum(0)
        ivectors.append(ex.ivectors(g, f))
        carried = CarriedStats(g[-1], f[-1])
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
