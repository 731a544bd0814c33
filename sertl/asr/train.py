"""ASR pretraining: an acoustic model trained on the per-frame targets of an alignment dir
(steps/align_sb.sh), on the generic loop of :mod:`sertl.train.loop`.

Speakers for validation are drawn from the data dir (``data.num_valid_speakers``);
``final.pt`` (format in :mod:`sertl.models`) carries the phone decoder
(:mod:`sertl.asr.decode`) estimated on the training alignments, with the network's
average posteriors as priors.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sertl.align.alidir import AlignmentDir
from sertl.align.topology import Topology
from sertl.asr.decode import PhoneDecoder
from sertl.data import FeatureReader, LoadOptions
from sertl.models import build_model, save_model
from sertl.models.base import AcousticModel
from sertl.train.data import IGNORE, FrameStore, OnlineIvectors, fixed_batches, split_by_speaker
from sertl.train.loop import Trainer


@dataclass
class Paths:
    """Inputs of a training run."""
    data: Path
    ali: Path
    exp: Path
    ivectors: Path | None = None


class AsrTrainer(Trainer):
    """The loop on alignment targets; see the module docstring."""

    paths: Paths

    def _load_data(self) -> None:
        """The alignment dir, training and validation frames with their targets."""
        d = self.config.data
        self.ali = AlignmentDir.load(self.paths.ali)
        reader = FeatureReader(self.paths.data, LoadOptions(d.apply_cmvn, d.norm_vars))
        utt2spk = {u: reader.utt2spk[u] for u in reader.utterances()}
        train_utts, valid_utts, self.valid_spk = split_by_speaker(
            utt2spk, d.num_valid_speakers, self.o.seed)
        ivectors = OnlineIvectors.load(self.paths.ivectors) if self.paths.ivectors else None
        self.train = FrameStore.load(reader, self.ali, train_utts, ivectors,
                                     d.max_length_mismatch, "training set")
        self.valid = (FrameStore.load(reader, self.ali, valid_utts, ivectors,
                                      d.max_length_mismatch, "validation set")
                      if valid_utts else None)

    def _build_model(self) -> AcousticModel:
        """A fresh network with one output per alignment target."""
        return build_model(self.model_config, len(self.ali.targets))

    def _save_final(self) -> None:
        """Write final.pt: the acoustic model with its phone decoder (main process)."""
        save_model(self.paths.exp / "final.pt", self.model, self.input_description(),
                   self.ali.targets, self.estimate_decoder().to_dict())

    def estimate_decoder(self) -> PhoneDecoder:
        """Phone decoder statistics from the training alignments, with the priors the
        network's average posteriors."""
        topology = Topology.from_targets(self.ali.targets, self.ali.phones)
        targets = self.train.targets.cpu().numpy()
        alignments = (targets[o:o + n] for o, n in zip(self.train.offsets, self.train.lengths))
        return PhoneDecoder.estimate(topology, alignments, self.model.subsampling,
                                     self.average_posteriors())

    @torch.no_grad()
    def average_posteriors(self, max_frames: int = 100_000) -> np.ndarray:
        """Mean posterior of each target over (up to ``max_frames`` frames of) training
        chunks spread over the whole set."""
        width, f = self.config.data.chunk_width, self.model.subsampling
        batches = fixed_batches(self.train.lengths, width, self.o.batch_size)
        keep = max(1, max_frames // (self.o.batch_size * width))
        self.model.eval()
        total = torch.zeros(len(self.ali.targets), dtype=torch.float64)
        for chunks in batches[::max(1, len(batches) // keep)]:
            x = self.train.inputs(chunks, width, self.model.left_context,
                                  self.model.right_context).to(self.w.device)
            scored = (self.train.chunk_targets(chunks, width, f) != IGNORE).to(self.w.device)
            posteriors = torch.softmax(self.model(x).float(), dim=-1)[scored]
            total += posteriors.sum(dim=0).double().cpu()
        self.model.train()
        return (total / total.sum()).numpy()
