"""The kinds of SER system a conf can choose, and what the pipeline needs of each.

Every SER conf (``conf/ser/*.yaml``) names its kind in a top-level ``system`` key:

- ``network`` (the default when the key is absent): a frame-level network, fine-tuned
  from a pretrained model or trained from scratch (sertl.ser.config), scored by
  aggregating frame posteriors with several rules;
- ``svm``: a linear SVM on one vector per utterance (sertl.ser.svm): openSMILE
  functionals (the classical baseline) or a pretrained network's pooled activations
  (transfer by embedding); one rule, ``utterance``;
- ``resnet34``: a ResNet34 on utterance spectrogram images, trained in the phases of a
  transfer schedule (sertl.ser.resnet); one rule, ``utterance``;
- ``soundnet``: SoundNet's five-layer trunk on the raw audio of the corpus data dir
  itself (sertl.ser.soundnet), scored on 1.2 s windows; rules ``window_mean``,
  ``window_max``;
- ``vgg16``: VGG16 on composite feature images made from the raw audio of the corpus
  data dir itself, per batch (sertl.ser.vgg: batch padding, augmentation, CutMix); one
  rule, ``utterance``.

Each kind has a training and a scoring tool with the same arguments (``sertl.bin.
train_<kind>``/``score_<kind>``: ``[--config C] [--ivector-dir D] <data> <pretrained|none>
<exp>`` and ``<data> <exp> <out>``), which steps/train_ser.sh and steps/score_ser.sh
dispatch to, and reads the data dir ``<corpus data dir>_<suffix>`` that the SER
pipeline makes (see :func:`data_suffix`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

from sertl.config import load_config
from sertl.ser.config import SerConfig, load_ser_config
from sertl.ser.kinds import system_kind
from sertl.ser.resnet import ResnetConfig
from sertl.ser.soundnet import SoundnetConfig
from sertl.ser.svm import SvmConfig
from sertl.ser.vgg import VggConfig

SystemConfig = Union[SerConfig, SvmConfig, ResnetConfig, SoundnetConfig, VggConfig]


def load_system_config(path: str | Path) -> SystemConfig:
    """Read and check a SER conf of any kind."""
    kind = system_kind(path)
    if kind == "svm":
        return load_config(path, SvmConfig)
    if kind == "resnet34":
        return load_config(path, ResnetConfig)
    if kind == "soundnet":
        return load_config(path, SoundnetConfig)
    if kind == "vgg16":
        return load_config(path, VggConfig)
    return load_ser_config(path)


def data_suffix(config: SystemConfig) -> str:
    """The data dir a system reads, as the suffix of the corpus's data dir: a feature set
    of steps/make_feature_sets.sh (``hires``, ``fbank``, ``mfcc``), functionals
    (``compare``, ``egemaps``), the embeddings at a layer (``emb_<layer>``), a fusion of
    them (``compare+emb_tdnn12``) or spectrogram
    images (``spec_<type><bins>_<hash of the options>``); the empty string for a system
    that reads the corpus data dir's audio itself (``soundnet``, ``vgg16``)."""
    if isinstance(config, SerConfig):
        return config.features
    if isinstance(config, (SoundnetConfig, VggConfig)):
        return ""
    if isinstance(config, ResnetConfig):
        return config.spectrogram.short_id()
    return config.input.suffix()


def reported_rule(config: SystemConfig) -> str:
    """The frame-to-utterance rule a system's results report."""
    if isinstance(config, SoundnetConfig):
        return config.rule
    return config.aggregation if isinstance(config, SerConfig) else "utterance"


def needs_pretrained(config: SystemConfig) -> bool:
    """Whether the system cannot be built without a pretrained model."""
    if isinstance(config, SerConfig):
        return config.transfer.init == "pretrained" and config.model is None
    if isinstance(config, SoundnetConfig):
        return config.transfer.layers > 0
    if isinstance(config, ResnetConfig):
        return config.network.init == "pretrained"
    if isinstance(config, VggConfig):
        return False
    return any(v.kind == "embedding" for v in [config.input, *config.input.parts])
