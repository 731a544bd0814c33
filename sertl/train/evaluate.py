"""A saved model's view of a data dir: its features normalised as the model was trained
(with i-vectors and, given an alignment dir, targets), and per-utterance log posteriors.
Shared by ASR evaluation (:mod:`sertl.asr.evaluate`) and SER inference."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from sertl.data import FeatureReader, LoadOptions
from sertl.models.base import AcousticModel
from sertl.train.data import FrameStore, OnlineIvectors

if TYPE_CHECKING:
    from sertl.align.alidir import AlignmentDir


def load_eval_set(data_dir: Path, ali: AlignmentDir | None, saved: dict,
                  ivector_dir: Path | None) -> FrameStore:
    """Features (normalised as the model was trained) and, with ``ali``, targets."""
    inp = saved["input"]
    if bool(inp["ivector_dim"]) != (ivector_dir is not None):
        raise ValueError(f"the model takes {inp['ivector_dim']}-dim i-vectors: "
                         + ("give --ivector-dir" if inp["ivector_dim"] else
                            "do not give --ivector-dir"))
    if ali is not None and ali.targets != saved["targets"]:
        raise ValueError(f"{ali.path}/targets.txt differs from the model's targets")
    reader = FeatureReader(data_dir, LoadOptions(inp["apply_cmvn"], inp["norm_vars"]))
    ivectors = OnlineIvectors.load(ivector_dir) if ivector_dir else None
    return FrameStore.load(reader, ali, reader.utterances(), ivectors, 2, str(data_dir))


def log_posteriors(model: AcousticModel, store: FrameStore, index: int,
                   device: torch.device) -> np.ndarray:
    """(ceil(T / subsampling), targets) log posteriors of utterance ``index``."""
    chunk = np.array([[index, 0]])
    x = store.inputs(chunk, int(store.lengths[index]), model.left_context,
                     model.right_context).to(device)
    with torch.inference_mode():
        return torch.log_softmax(model(x)[0].float(), dim=-1).cpu().numpy()
