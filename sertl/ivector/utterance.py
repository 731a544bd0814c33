"""Utterance and speaker i-vectors for scoring and analysis (Kaldi's ivector-extract and
the speaker means of sid/extract_ivectors.sh)."""
from __future__ import annotations

import math

import numpy as np
import torch

from sertl.ivector.extractor import IvectorExtractor
from sertl.ivector.store import ModelError


def utterance_ivectors(ex: IvectorExtractor,
                       batch: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """The i-vector of each utterance of a batch, from all its frames, float32 (R,)."""
    x = torch.from_numpy(np.concatenate([f for _, f in batch]))
    lengths = torch.tensor([len(f) for _, f in batch])
    rows = torch.repeat_interleave(torch.arange(len(batch)), lengths)
    ivectors = ex.ivectors(*ex.stats(x, rows, len(batch))).float().cpu().numpy()
    return [(utt, ivector) for (utt, _), ivector in zip(batch, ivectors)]


def length_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length sqrt(dim), as Kaldi's ivector-normalize-length."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors * (math.sqrt(vectors.shape[-1]) / np.maximum(norms, 1e-20))


def speaker_ivectors(ivectors: dict[str, np.ndarray],
                     spk2utt: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Per speaker, the length-normalised mean of its length-normalised utterance
    i-vectors (sid/extract_ivectors.sh)."""
    means = {}
    for spk, utts in spk2utt.items():
        missing = [u for u in utts if u not in ivectors]
        if missing:
            raise ModelError(f"speaker '{spk}': no i-vector for utterance '{missing[0]}'")
        means[spk] = length_normalise(
            length_normalise(np.stack([ivectors[u] for u in utts])).mean(0))
    return means
