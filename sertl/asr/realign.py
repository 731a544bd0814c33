"""Realignment with a trained acoustic model, as Kaldi realigns with its better models:
the network of steps/train_asr.sh scores the emissions of the alignment HMMs instead of
the aligner's frame classifiers.

Emission scores are scaled likelihoods, log posterior minus the log prior (the phone
decoder's priors, the network's average posteriors on its training data, floored as the
aligner floors its priors). A network with output subsampling f (the TDNN-F's 3) scores
every f-th frame of a chunk; it is run at the f input offsets and the outputs are
interleaved, so every 10 ms frame gets its own score. The graphs are those of the
network's targets (one per phone, or the HMM states of its training alignment), over the
lang dir's phones.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from sertl.align import AlignError
from sertl.align.lang import Lang
from sertl.align.model import AlignConfig, lang_topology
from sertl.align.topology import Topology
from sertl.models import load_model
from sertl.train.data import FrameStore
from sertl.train.evaluate import load_eval_set


class AcousticAligner:
    """The emission scores of a saved acoustic model (final.pt) on a data dir's frames."""

    def __init__(self, path: str | os.PathLike, lang: Lang, data_dir: str | os.PathLike,
                 ivector_dir: str | os.PathLike | None, device: torch.device,
                 config: AlignConfig = AlignConfig()):
        self.net, saved = load_model(path, device)
        self.device, self.config = device, config
        self.topo = Topology.from_targets(saved["targets"], lang.phones)
        phones = lang_topology(lang, 1).phones
        if self.topo.phones != phones:
            raise AlignError(f"{path}: the model's {len(self.topo.phones)} phones differ from "
                             f"the {len(phones)} phones of the lang dir's phones.txt")
        if not saved.get("decoder"):
            raise AlignError(f"{path}: no phone decoder, so no target priors (not a model of "
                             f"steps/train_asr.sh?)")
        prior = np.exp(np.array(saved["decoder"]["log_prior"], dtype=np.float64))
        prior = np.maximum(np.nan_to_num(prior, posinf=0.0), config.prior_floor)
        self.log_priors = torch.from_numpy(np.log(prior / prior.sum())).float()
        self.store: FrameStore = load_eval_set(data_dir, None, saved, ivector_dir)
        self.index = {u: i for i, u in enumerate(self.store.utts)}

    def num_frames(self) -> dict[str, int]:
        return {u: int(n) for u, n in zip(self.store.utts, self.store.lengths)}

    @torch.inference_mode()
    def emission_scores(self, utt: str) -> torch.Tensor:
        """``(T, num_targets)`` scaled log-likelihoods of every frame of ``utt``."""
        i, net = self.index[utt], self.net
        length, f = int(self.store.lengths[i]), net.subsampling
        scores = torch.empty(length, self.topo.num_targets)
        for shift in range(min(f, length)):
            x = self.store.inputs(np.array([[i, shift]]), length - shift, net.left_context,
                                  net.right_context).to(self.device)
            log_post = torch.log_softmax(net(x)[0].float(), dim=-1).cpu()
            scores[shift::f] = log_post[:len(range(shift, length, f))]
        return scores - self.config.prior_scale * self.log_priors
