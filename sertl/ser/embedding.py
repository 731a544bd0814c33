"""Transfer by embedding: a pretrained network's activations at a layer, pooled per
utterance into one vector, for the utterance-vector back-end (sertl.ser.svm).

The network is run, in eval mode and unchanged, over each whole utterance (features read
as the network was trained: CMVN and i-vectors from its saved ``input``; edges padded by
repeating the first and last frames, as in training and scoring). The activations of
its voiced output frames (vad.scp; all frames when none is voiced or there is no VAD)
are pooled by their mean, or by mean and standard deviation concatenated (``mean_std``,
as x-vector statistics pooling). The network may be an ASR model (steps/train_asr.sh) or
the cut network of a fine-tuned SER model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Literal

import numpy as np
import torch

from sertl.ser.infer import OutputVoicing
from sertl.ser.model import load_base
from sertl.train.evaluate import load_eval_set

Pooling = Literal["mean_std", "mean"]


def pool(frames: np.ndarray, voiced: np.ndarray, pooling: Pooling) -> np.ndarray:
    """(D,) or (2D,) statistics of the voiced rows of (T, D) ``frames``."""
    kept = frames[voiced] if voiced.any() else frames
    mean = kept.mean(axis=0)
    return mean if pooling == "mean" else np.concatenate([mean, kept.std(axis=0)])


def utterance_embeddings(model_path: Path, layer: str, pooling: Pooling, data_dir: Path,
                         ivector_dir: Path | None, device: torch.device
                         ) -> Iterator[tuple[str, np.ndarray]]:
    """``(utt, (1, D) embedding)`` for every utterance of ``data_dir``."""
    pretrained = load_base(model_path, device)
    net = pretrained.net.eval()
    net.check_until(layer)
    left, right, subsampling = net.layer_context(layer)
    store = load_eval_set(data_dir, None, {"input": pretrained.input}, ivector_dir)
    if store.dim != net.input_dim:
        raise ValueError(f"{data_dir}: {store.dim}-dim input, but {model_path} takes "
                         f"{net.input_dim} ({pretrained.input['feature_type']} features)")
    voicing = OutputVoicing(data_dir)
    for i, utt in enumerate(store.utts):
        length = int(store.lengths[i])
        x = store.inputs(np.array([[i, 0]]), length, left, right).to(device)
        with torch.inference_mode():
            frames = net(x, until=layer)[0].float().cpu().numpy()
        embedding = pool(frames, voicing(utt, length, subsampling), pooling)
        if not np.isfinite(embedding).all():
            raise ValueError(f"utterance '{utt}': the embedding is not finite")
        yield utt, embedding[None, :].astype(np.float32)


def model_feature_set(model_path: Path) -> str:
    """The feature set (data-dir suffix of steps/make_feature_sets.sh) a saved network
    reads: hires, fbank or mfcc."""
    feature_type = load_base(model_path).input["feature_type"]
    suffixes = {"mfcc_hires": "hires", "fbank": "fbank", "mfcc": "mfcc"}
    if feature_type not in suffixes:
        raise ValueError(f"{model_path}: features '{feature_type}' are not one of the "
                         f"feature sets {', '.join(suffixes)}")
    return suffixes[feature_type]
