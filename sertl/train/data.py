"""Training examples: chunks of frames with left/right context, cut from features held in
memory, with the alignment's targets and, optionally, online i-vectors appended per frame.

Features of all utterances of a set are read once (CMVN applied as configured) and
concatenated in one tensor, so cutting a batch is a single gather: data loading costs
little next to the network. Memory is that of the float32 features (about 0.6 GB per
100 hours of 40-dim features at 10 ms); i-vector rows are stored once per period.

A chunk is (utterance, start): target frames start, start + 1, ..., start + width - 1,
inputs from start - left_context to start + width - 1 + right_context. Input frames
outside the utterance repeat its first or last frame (as Kaldi pads); target frames
outside it are ignored (-100). With output subsampling f only every f-th target frame
is scored.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
import torch

from sertl.data import FeatureReader
from sertl.io import TableError, load_matrix, read_scp
from sertl.progress import Progress

if TYPE_CHECKING:
    from sertl.align.alidir import AlignmentDir

IGNORE = -100


@dataclass
class OnlineIvectors:
    """Online i-vectors (steps/extract_ivectors_online.sh): row t // period is frame t's."""
    scp: dict[str, str]
    period: int
    path: Path

    @classmethod
    def load(cls, ivector_dir: str | Path) -> OnlineIvectors:
        d = Path(ivector_dir)
        for name in ("ivector_online.scp", "ivector_period"):
            if not (d / name).exists():
                raise TableError(f"{d}/{name}: missing (run steps/extract_ivectors_online.sh)")
        return cls(read_scp(d / "ivector_online.scp"),
                   int((d / "ivector_period").read_text().split()[0]), d)

    def of(self, utt: str) -> np.ndarray:
        if utt not in self.scp:
            raise KeyError(f"{self.path}/ivector_online.scp: no utterance '{utt}'")
        return load_matrix(self.scp[utt])


def split_by_speaker(utt2spk: dict[str, str], num_valid: int, seed: int,
                     utt2label: dict[str, str] | None = None
                     ) -> tuple[list[str], list[str], list[str]]:
    """Hold out ``num_valid`` speakers drawn with ``seed``: (train utts, valid utts,
    valid speakers), utterances in the order of ``utt2spk``. With ``utt2label``, more
    speakers of the same draw are held out while the held-out utterances carry fewer
    than two labels (an AU-ROC needs both classes; corpora such as URDU have speakers of
    one emotion), as long as one speaker is left to train."""
    speakers = sorted(set(utt2spk.values()))
    if num_valid >= len(speakers):
        raise ValueError(f"cannot hold out {num_valid} of {len(speakers)} speakers for "
                         f"validation and still train")
    order = [speakers[i] for i in np.random.default_rng(seed).permutation(len(speakers))]

    def labels_of(held: list[str]) -> set[str]:
        return {utt2label[u] for u, s in utt2spk.items() if s in held and u in utt2label}

    count = num_valid
    while utt2label is not None and 0 < count < len(speakers) - 1 and \
            len(labels_of(order[:count])) < 2:
        count += 1
    valid = sorted(order[:count])
    held = set(valid)
    return ([u for u, s in utt2spk.items() if s not in held],
            [u for u, s in utt2spk.items() if s in held], valid)


class FrameStore:
    """Inputs and (when aligned) targets of a set of utterances, concatenated in memory
    (see the module docstring)."""

    def __init__(self, utts: list[str], feats: list[np.ndarray],
                 targets: list[np.ndarray] | None, ivectors: list[np.ndarray] | None,
                 period: int | None):
        self.utts = utts
        self.lengths = np.array([len(f) for f in feats], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.feats = torch.from_numpy(np.concatenate(feats).astype(np.float32))
        self.targets = torch.from_numpy(np.concatenate(targets)) if targets else None
        self.period = period
        self.ivectors = None
        if ivectors is not None:
            self.iv_rows = np.array([len(v) for v in ivectors], dtype=np.int64)
            self.iv_offsets = np.concatenate([[0], np.cumsum(self.iv_rows)[:-1]])
            self.ivectors = torch.from_numpy(np.concatenate(ivectors).astype(np.float32))
        self.dim = self.feats.shape[1] + (self.ivectors.shape[1] if ivectors else 0)

    @classmethod
    def load(cls, reader: FeatureReader, ali: AlignmentDir | None, utts: list[str],
             ivectors: OnlineIvectors | None, max_mismatch: int, name: str) -> FrameStore:
        """Read features, targets (unless ``ali`` is None) and i-vectors of ``utts``.
        Utterances without an alignment, or whose lengths differ by more than
        ``max_mismatch`` frames, are skipped and named on stderr; smaller differences
        are cut to the shorter."""
        kept, feats, targets, ivecs = [], [], [], []
        progress = Progress(f"loading {name}", len(utts))
        for utt in utts:
            progress.update()
            x = reader[utt]
            if ali is not None:
                if utt not in ali.ali:
                    print(f"{name}: skipping '{utt}': not in {ali.path}/ali.scp",
                          file=sys.stderr)
                    continue
                y = ali.targets_of(utt)
                if abs(len(x) - len(y)) > max_mismatch:
                    print(f"{name}: skipping '{utt}': {len(x)} feature frames in "
                          f"{reader.data_dir} but {len(y)} in {ali.path}/ali.scp",
                          file=sys.stderr)
                    continue
                x = x[:len(y)]
                targets.append(y[:len(x)])
            kept.append(utt)
            feats.append(x)
            if ivectors is not None:
                ivecs.append(ivectors.of(utt))
        progress.finish()
        if not kept:
            raise TableError(f"{name}: no utterance of {reader.data_dir} has usable "
                             f"targets in {ali.path}" if ali else f"{name}: no utterances")
        return cls(kept, feats, targets or None, ivecs if ivectors else None,
                   ivectors.period if ivectors else None)

    def to(self, device: torch.device) -> FrameStore:
        """Move the stored tensors (e.g. to the GPU, so batches are gathered there)."""
        self.feats, self.targets = self.feats.to(device), self.targets.to(device)
        if self.ivectors is not None:
            self.ivectors = self.ivectors.to(device)
        return self

    def inputs(self, chunks: np.ndarray, width: int, left: int, right: int) -> torch.Tensor:
        """Input frames of chunks ``[(utt index, start), ...]``: (B, left + width + right, dim)."""
        u, start = chunks[:, 0], chunks[:, 1]
        length = self.lengths[u][:, None]
        pos = np.clip(start[:, None] + np.arange(-left, width + right), 0, length - 1)
        index = torch.from_numpy(self.offsets[u][:, None] + pos).to(self.feats.device)
        x = self.feats[index]
        if self.ivectors is None:
            return x
        rows = np.minimum(pos // self.period, self.iv_rows[u][:, None] - 1)
        iv_index = torch.from_numpy(self.iv_offsets[u][:, None] + rows).to(self.feats.device)
        return torch.cat([x, self.ivectors[iv_index]], dim=2)

    def chunk_targets(self, chunks: np.ndarray, width: int, subsampling: int) -> torch.Tensor:
        """Targets of every ``subsampling``-th frame of each chunk: (B, ceil(width / f)),
        IGNORE where the frame lies outside its utterance."""
        if self.targets is None:
            raise ValueError("these utterances were loaded without targets")
        u, start = chunks[:, 0], chunks[:, 1]
        pos = start[:, None] + np.arange(0, width, subsampling)
        inside = (pos >= 0) & (pos < self.lengths[u][:, None])
        index = self.offsets[u][:, None] + np.clip(pos, 0, self.lengths[u][:, None] - 1)
        y = self.targets[torch.from_numpy(index).to(self.targets.device)]
        return y.masked_fill(~torch.from_numpy(inside).to(y.device), IGNORE)


def num_scored(lengths: np.ndarray, chunks: np.ndarray, width: int, subsampling: int) -> int:
    """How many frames of the chunks have a target (the loss normaliser of a batch)."""
    pos = chunks[:, 1][:, None] + np.arange(0, width, subsampling)
    return int(((pos >= 0) & (pos < lengths[chunks[:, 0]][:, None])).sum())


class ChunkSampler:
    """Batches of chunks covering every utterance once per epoch, in a seeded random order.

    An utterance of T frames gets ceil(T / width) chunks spread evenly over it (they
    overlap when T is not a multiple of width; a short one is padded on random sides);
    each start moves by a random offset of less than ``subsampling`` frames every epoch,
    so every frame is scored in some epoch. Epoch ``e`` depends only on (seed, e), so the
    sampler's whole state is (epoch, batch index) and a resumed run sees the same batches.
    The last incomplete batch of an epoch is dropped (data-parallel ranks need equal ones).
    """

    def __init__(self, lengths: np.ndarray, width: int, subsampling: int, batch_size: int,
                 seed: int):
        self.lengths, self.width, self.subsampling = lengths, width, subsampling
        self.batch_size, self.seed = batch_size, seed
        self.counts = np.maximum(1, -(-lengths // width))
        if self.counts.sum() < batch_size:
            raise ValueError(f"only {self.counts.sum()} chunks of {width} frames in the "
                             f"training data, fewer than batch_size {batch_size}")

    def num_batches(self) -> int:
        return int(self.counts.sum()) // self.batch_size

    def chunks(self, epoch: int | None) -> np.ndarray:
        """All chunks of an epoch in training order ([utt, start] rows); ``None``: the
        fixed, unshuffled chunks used for validation."""
        rng = np.random.default_rng([self.seed, epoch]) if epoch is not None else None
        utt = np.repeat(np.arange(len(self.lengths)), self.counts)
        first = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        k = np.arange(len(utt)) - np.repeat(first, self.counts)
        n, length = self.counts[utt], self.lengths[utt]
        spare = length - self.width
        start = np.where(n > 1, np.round(k * spare / np.maximum(n - 1, 1)), 0).astype(np.int64)
        if rng is None:
            return np.stack([utt, start], axis=1)
        pad = rng.integers(0, np.maximum(-spare, 0) + 1)
        jitter = rng.integers(-(self.subsampling - 1), self.subsampling, size=len(utt))
        start = np.where(spare < 0, -pad, start + jitter)
        return np.stack([utt, start], axis=1)[rng.permutation(len(utt))]

    def batches(self, epoch: int, first: int = 0) -> Iterator[tuple[int, np.ndarray]]:
        """(batch index, chunks) of an epoch, from batch ``first`` on."""
        chunks = self.chunks(epoch)
        for b in range(first, self.num_batches()):
            yield b, chunks[b * self.batch_size:(b + 1) * self.batch_size]


def fixed_batches(lengths: np.ndarray, width: int, batch_size: int) -> list[np.ndarray]:
    """Validation batches: every utterance's unjittered chunks, all kept."""
    chunks = ChunkSampler(lengths, width, 1, 1, 0).chunks(None)
    return [chunks[i:i + batch_size] for i in range(0, len(chunks), batch_size)]
