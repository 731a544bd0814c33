"""SER fine-tuning: frame-level cross-entropy where every frame carries its utterance's
emotion (unvoiced frames "sil" with ``data.silence_class``), with the loop of ASR
pretraining (:class:`sertl.train.loop.Trainer`: chunks, checkpoints and resume, DDP,
metrics, best epoch on the validation speakers).

The network comes from an ASR model (steps/train_asr.sh) or from an SER model of this step
(fine-tuned again on another corpus, e.g. cross-lingual transfer), or is the config's
model section trained from scratch.

The classes are the sorted labels (utt2emo) of the training speakers' utterances, then
"sil" with ``silence_class``; utterances without a label, or whose label is not a class,
are skipped and named on stderr. Validation speakers are drawn from the given data dir
(a cross-validation fold's training part), so test speakers never take part.

The experiment dir gets what the Trainer writes (config.yaml with the data options and
the base architecture filled in, valid_spk, checkpoint.pt, best_model.pt, metrics) and
``final.pt`` in the format of :mod:`sertl.ser.model`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from sertl.config import ConfigError
from sertl.data import FeatureReader, LoadOptions
from sertl.io import TableError, read_table
from sertl.models import build_model, model_config_from_dict
from sertl.ser.config import SILENCE, SerConfig
from sertl.ser.model import TransferModel, load_base, save_ser_model
from sertl.train.data import FrameStore, OnlineIvectors, split_by_speaker
from sertl.train.loop import Trainer, TrainingError, Workers

# Input options of a network trained from scratch when the config does not set them.
DEFAULT_INPUT = {"feature_type": "mfcc_hires", "apply_cmvn": True, "norm_vars": False}


@dataclass
class SerPaths:
    """Inputs of a fine-tuning run."""
    data: Path
    pretrained: Path | None        # final.pt of an ASR (or SER) model; None: from scratch
    exp: Path
    ivectors: Path | None = None


def balanced_weights(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Cross-entropy weights n / (C * n_c) from the frames' targets (C: the classes that
    occur; a class without frames gets 0), so every class weighs the same in total and
    the mean weight per frame is 1."""
    counts = torch.bincount(targets, minlength=num_classes).double()
    present = counts > 0
    weights = torch.zeros(num_classes, dtype=torch.float64)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights.float()


def frame_targets(label: int, length: int, voiced: np.ndarray | None,
                  silence: int | None) -> np.ndarray:
    """Per-frame targets: the utterance's class, ``silence`` where ``voiced`` is 0."""
    y = np.full(length, label, dtype=np.int64)
    if silence is not None:
        y[voiced < 0.5] = silence
    return y


def resolve_input(config: SerConfig, pretrained_input: dict | None, source: str) -> SerConfig:
    """The config with the data section's feature_type / apply_cmvn / norm_vars set: from
    the pretrained model (a value the config gives must agree), or from the config with
    defaults (:data:`DEFAULT_INPUT`) when training from scratch."""
    d = config.data
    values = {}
    for key, default in DEFAULT_INPUT.items():
        given = getattr(d, key)
        if pretrained_input is None:
            values[key] = default if given is None else given
            continue
        if given is not None and given != pretrained_input[key]:
            raise TrainingError(f"data.{key} is {given!r} in the config but "
                                f"{pretrained_input[key]!r} for {source}")
        values[key] = pretrained_input[key]
    return replace(config, data=replace(d, **values))


class SerTrainer(Trainer):
    """Fine-tunes a :class:`TransferModel`; see the module docstring."""

    def __init__(self, config: SerConfig, paths: SerPaths, workers: Workers):
        self.pretrained = load_base(paths.pretrained, workers.device) if paths.pretrained \
            else None
        if self.pretrained:
            model_config = self.pretrained.net.config
            if config.model is not None and workers.rank == 0:
                print(f"note: the config's model section is not used: the network is "
                      f"that of {paths.pretrained}", file=sys.stderr)
        elif config.model is None:
            raise ConfigError("no pretrained model ('none'): the config needs a model "
                              "section giving the network")
        else:
            model_config = model_config_from_dict(config.model, "section 'model'")
        config = resolve_input(config, self.pretrained.input if self.pretrained else None,
                               str(paths.pretrained))
        super().__init__(config, model_config, paths, workers)

    def _load_data(self) -> None:
        """Labelled utterances, the speaker split, classes, frame targets, class weights."""
        d = self.config.data
        reader = FeatureReader(self.paths.data, LoadOptions(d.apply_cmvn, d.norm_vars))
        labels = read_table(self.paths.data / "utt2emo")
        utts = self._skip(reader.utterances(), labels, None, "no label in utt2emo")
        train_utts, valid_utts, self.valid_spk = split_by_speaker(
            {u: reader.utt2spk[u] for u in utts}, d.num_valid_speakers, self.o.seed)
        self.classes = sorted({labels[u] for u in train_utts})
        if d.silence_class:
            if any(labels[u] == SILENCE for u in utts):
                raise TableError(f"{self.paths.data}/utt2emo: label '{SILENCE}' is reserved "
                                 f"for the silence class (data.silence_class)")
            if not reader.vad:
                raise TableError(f"{self.paths.data}/vad.scp: missing, needed for "
                                 f"data.silence_class")
            self.classes.append(SILENCE)
        valid_utts = self._skip(valid_utts, labels, self.classes,
                                "label not among the training speakers' classes")
        ivectors = OnlineIvectors.load(self.paths.ivectors) if self.paths.ivectors else None
        self.train = self._load_store(reader, train_utts, labels, ivectors, "training set")
        self.valid = (self._load_store(reader, valid_utts, labels, ivectors, "validation set")
                      if valid_utts else None)
        if d.class_weighting == "balanced":
            self.class_weights = balanced_weights(self.train.targets, len(self.classes)
                                                  ).to(self.w.device)
        if self.w.main:
            print(f"classes: {' '.join(self.classes)}; training frames per class: "
                  + " ".join(map(str, torch.bincount(self.train.targets,
                                                     minlength=len(self.classes)).tolist())),
                  file=sys.stderr)

    def _skip(self, utts: list[str], labels: dict[str, str], classes: list[str] | None,
              why: str) -> list[str]:
        """``utts`` that have a label (among ``classes`` when given); the others are
        named on stderr."""
        keep = [u for u in utts if u in labels and (classes is None or labels[u] in classes)]
        skipped = sorted(set(utts) - set(keep))
        if skipped and self.w.main:
            print(f"{self.paths.data}: skipping {len(skipped)} utterance(s) ({why}): "
                  + " ".join(skipped), file=sys.stderr)
        return keep

    def _load_store(self, reader: FeatureReader, utts: list[str], labels: dict[str, str],
                    ivectors: OnlineIvectors | None, name: str) -> FrameStore:
        """Features (and i-vectors) of ``utts`` with their per-frame class targets."""
        store = FrameStore.load(reader, None, utts, ivectors, 0, name)
        silence = self.classes.index(SILENCE) if self.config.data.silence_class else None
        targets = []
        for utt, length in zip(store.utts, store.lengths):
            voiced = reader.voiced(utt) if silence is not None else None
            if voiced is not None and len(voiced) != length:
                raise TableError(f"{self.paths.data}/vad.scp: {len(voiced)} frames for "
                                 f"'{utt}', but {length} in feats.scp")
            targets.append(frame_targets(self.classes.index(labels[utt]), int(length),
                                         voiced, silence))
        store.targets = torch.from_numpy(np.concatenate(targets))
        return store

    def _build_model(self) -> TransferModel:
        """The base network (pretrained, or freshly initialised for init: random and
        without a pretrained model) cut and topped with the classifier."""
        t = self.config.transfer
        if self.pretrained and t.init == "pretrained":
            base, num_targets = self.pretrained.net, self.pretrained.num_targets
        else:
            num_targets = (self.pretrained.num_targets if self.pretrained
                           else len(self.classes))
            base = build_model(self.model_config, num_targets)
        return TransferModel(base, num_targets, t.layer, t.freeze, self.config.classifier,
                             len(self.classes))

    def _check_dims(self) -> None:
        """Features and i-vectors must be those the pretrained model was trained on."""
        if not self.pretrained:
            super()._check_dims()
            return
        inp = self.pretrained.input
        feat_dim = int(self.train.feats.shape[1])
        iv_dim = self.train.dim - feat_dim
        if feat_dim != inp["feat_dim"]:
            raise TrainingError(f"{self.paths.data}: {feat_dim}-dim features, but "
                                f"{self.paths.pretrained} was trained on {inp['feat_dim']}-dim "
                                f"{inp['feature_type']}")
        if iv_dim != inp["ivector_dim"]:
            raise TrainingError(
                f"{self.paths.data}: " + (f"{iv_dim}-dim i-vectors from {self.paths.ivectors}"
                                          if iv_dim else "no i-vectors (--ivector-dir)")
                + f", but {self.paths.pretrained} takes "
                + (f"{inp['ivector_dim']}-dim i-vectors" if inp["ivector_dim"]
                   else "none (leave out --ivector-dir)"))

    def _save_final(self) -> None:
        """Write final.pt in the SER format (:mod:`sertl.ser.model`)."""
        save_ser_model(self.paths.exp / "final.pt", self.model, self.classes,
                       self.config.data.silence_class, self.input_description())
