"""Frame log posteriors of a fine-tuned SER model over the utterances of a data dir.

Features are read as the model was trained (CMVN, i-vectors, from its saved ``input``);
each utterance goes through the network in one pass, its edges padded by repeating the
first and last frames as in training and in Kaldi's decoding.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from sertl.io import TableError, load_vector, read_scp
from sertl.ser.model import TransferModel
from sertl.train.evaluate import load_eval_set, log_posteriors


class OutputVoicing:
    """The VAD decisions of a data dir's vad.scp at a network's output frames 0, f, 2f,
    ... (f: subsampling): all voiced when the dir has no vad.scp."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.vad_scp = self.data_dir / "vad.scp"
        self.vad = read_scp(self.vad_scp) if self.vad_scp.exists() else None

    def __call__(self, utt: str, length: int, subsampling: int) -> np.ndarray:
        """(ceil(length / subsampling),) booleans for an utterance of ``length`` frames."""
        if self.vad is None:
            return np.ones(-(-length // subsampling), dtype=bool)
        if utt not in self.vad:
            raise KeyError(f"{self.vad_scp}: no utterance '{utt}'")
        decisions = load_vector(self.vad[utt])
        if len(decisions) != length:
            raise TableError(f"{self.vad_scp}: {len(decisions)} frames for '{utt}', but "
                             f"{length} in {self.data_dir}/feats.scp")
        return decisions[::subsampling] > 0.5


def frame_log_posteriors(model: TransferModel, saved: dict, data_dir: Path,
                         ivector_dir: Path | None, device: torch.device
                         ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Per utterance of ``data_dir`` (feats.scp order): ``(utt, log_post, voiced)``, the
    (N, classes) float32 log posteriors of output frames 0, f, 2f, ... (f: subsampling)
    and their (N,) VAD decisions from vad.scp (all True without one)."""
    data_dir, inp = Path(data_dir), saved["input"]
    wanted = (f"the SER model takes {inp['feat_dim']}-dim {inp['feature_type']} features"
              + (f" + {inp['ivector_dim']}-dim i-vectors (--ivector-dir)"
                 if inp["ivector_dim"] else " and no i-vectors"))
    if bool(inp["ivector_dim"]) != (ivector_dir is not None):
        raise ValueError(f"{data_dir}: " + ("i-vectors given" if ivector_dir else
                                            "no i-vectors given") + f", but {wanted}")
    store = load_eval_set(data_dir, None, saved, ivector_dir)
    if store.dim != model.input_dim:
        raise ValueError(f"{data_dir}: {store.feats.shape[1]}-dim features"
                         + (f" + {store.dim - store.feats.shape[1]}-dim i-vectors"
                            if store.ivectors is not None else "") + f", but {wanted}")
    voicing = OutputVoicing(data_dir)
    model.eval()
    for i, utt in enumerate(store.utts):
        log_post = log_posteriors(model, store, i, device).astype(np.float32)
        yield utt, log_post, voicing(utt, int(store.lengths[i]), model.subsampling)
