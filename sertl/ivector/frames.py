"""Feature frames for the UBM and i-vector tools: which normalisation, which frames,
in which batches, on which device.

The tools read ``feats.scp`` of a data dir through sertl.data.FeatureReader, with
``cmvn.scp`` applied as the model's feature options say (Kaldi's ``--norm-means``,
``--norm-vars`` of apply-cmvn). Kaldi's nnet2 online recipes feed the UBM spliced,
LDA+MLLT-transformed features; here the UBM and the extractor see the plain (e.g.
40-dim MFCC hires) features, and the same ones at extraction time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from sertl.data import FeatureReader, LoadOptions
from sertl.ivector.store import ModelError

FRAME_SHIFT_SECONDS = 0.01  # for progress lines: Kaldi's default frame shift


@dataclass(frozen=True)
class FeatureOptions:
    """Normalisation applied to the features of a data dir before the UBM sees them."""
    norm_means: bool = True
    norm_vars: bool = False

    def __post_init__(self) -> None:
        if self.norm_vars and not self.norm_means:
            raise ModelError("--norm-vars=true needs --norm-means=true")

    def as_dict(self) -> dict[str, bool]:
        return {"norm_means": self.norm_means, "norm_vars": self.norm_vars}

    @classmethod
    def from_dict(cls, options: dict) -> FeatureOptions:
        return cls(bool(options["norm_means"]), bool(options["norm_vars"]))

    def reader(self, data_dir: str | Path) -> FeatureReader:
        """A FeatureReader of ``data_dir`` normalising as these options say."""
        return FeatureReader(data_dir, LoadOptions(apply_cmvn=self.norm_means,
                                                   norm_vars=self.norm_vars))


def utterance_frames(reader: FeatureReader, subsample: int = 1) -> Iterator[tuple[str, np.ndarray]]:
    """``(utt, frames)`` of every utterance, keeping frames 0, n, 2n... (subsample-feats).
    The frames are a writable copy (kaldi-io may return read-only buffers)."""
    for utt in reader.utterances():
        yield utt, utterance(reader, utt)[::subsample].copy()


def utterance(reader: FeatureReader, utt: str) -> np.ndarray:
    """The frames of one utterance; an utterance without frames is an error."""
    feats = reader[utt]
    if len(feats) == 0:
        raise ModelError(f"{reader.data_dir}: utterance '{utt}' has no frames")
    return feats


def batches(items: Iterable[tuple[str, np.ndarray]],
            max_frames: int) -> Iterator[list[tuple[str, np.ndarray]]]:
    """Group utterances into batches of at most ``max_frames`` frames (or one utterance)."""
    batch: list[tuple[str, np.ndarray]] = []
    frames = 0
    for utt, feats in items:
        if batch and frames + len(feats) > max_frames:
            yield batch
            batch, frames = [], 0
        batch.append((utt, feats))
        frames += len(feats)
    if batch:
        yield batch


def sample_frames(items: Iterable[tuple[str, np.ndarray]], num_frames: int,
                  rng: np.random.Generator) -> np.ndarray:
    """A uniform random sample of ``num_frames`` frames of all utterances (all frames if
    there are fewer), by reservoir sampling, so memory stays at ``num_frames`` rows."""
    reservoir: np.ndarray | None = None
    seen = 0
    for _, feats in items:
        if reservoir is None:
            reservoir = np.empty((num_frames, feats.shape[1]), dtype=np.float32)
        fill = min(max(num_frames - seen, 0), len(feats))
        reservoir[seen:seen + fill] = feats[:fill]
        rest = feats[fill:]
        if len(rest):
            positions = np.floor(rng.random(len(rest))
                                 * (seen + fill + np.arange(1, len(rest) + 1))).astype(np.int64)
            chosen = positions < num_frames
            reservoir[positions[chosen]] = rest[chosen]
        seen += len(feats)
    if reservoir is None:
        raise ModelError("no utterances to sample frames from")
    return reservoir[:min(seen, num_frames)]
