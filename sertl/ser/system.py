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
  ``window_max``.

Each kind has a training and a scoring tool with the same arguments (``sertl.bin.
train_<kind>``/``score_<kind>``: ``[--config C] [--ivector-dir D] <data> <pretrained|none>
<exp>`` and ``<data> <exp> <out>``), which steps/train_ser.sh and steps/score_ser.sh
dispatch to, and reads the data dir ``<corpus data dir>_<suffix>`` that the SER
pipeline makes (see :func:`data_suffix`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

from sertl.config import ConfigError, load_config, read_yaml
from sertl.ser.config import SerConfig, load_ser_config
from sertl.ser.functionals import FEATURE_SETS
from sertl.ser.resnet import ResnetConfig
from sertl.ser.soundnet import SoundnetConfig
from sertl.ser.svm import SvmOptions

KINDS = ("network", "svm", "resnet34", "soundnet")
FUNCTIONALS_SUFFIX = {"ComParE_2016": "compare", "eGeMAPSv02": "egemaps"}


@dataclass
class VectorInput:
    """Where an utterance-vector system's vectors come from."""
    kind: Literal["functionals", "embedding"]
    feature_set: str | None = None   # functionals: ComParE_2016 or eGeMAPSv02
    layer: str | None = None         # embedding: the pretrained network's cut layer
    pooling: Literal["mean_std", "mean"] = "mean_std"  # embedding: over voiced frames

    def __post_init__(self) -> None:
        if self.kind == "functionals" and self.feature_set not in FEATURE_SETS:
            raise ValueError(f"functionals need feature_set: one of {', '.join(FEATURE_SETS)}")
        if self.kind == "embedding" and not self.layer:
            raise ValueError("an embedding needs the layer it is taken at")


@dataclass
class SvmConfig:
    """A linear SVM on utterance vectors (sertl.ser.svm)."""
    system: Literal["svm"]
    input: VectorInput
    normalisation: Literal["speaker", "train"]
    svm: SvmOptions = field(default_factory=SvmOptions)


SystemConfig = Union[SerConfig, SvmConfig, ResnetConfig, SoundnetConfig]


def system_kind(path: str | Path) -> str:
    """The ``system`` key of a conf (``network`` when absent)."""
    kind = read_yaml(path).get("system", "network")
    if kind not in KINDS:
        raise ConfigError(f"{path}: system: unknown kind '{kind}' (known: {', '.join(KINDS)})")
    return kind


def load_system_config(path: str | Path) -> SystemConfig:
    """Read and check a SER conf of any kind."""
    kind = system_kind(path)
    if kind == "svm":
        return load_config(path, SvmConfig)
    if kind == "resnet34":
        return load_config(path, ResnetConfig)
    if kind == "soundnet":
        return load_config(path, SoundnetConfig)
    return load_ser_config(path)


def data_suffix(config: SystemConfig) -> str:
    """The data dir a system reads, as the suffix of the corpus's data dir: a feature set
    of steps/make_feature_sets.sh (``hires``, ``fbank``, ``mfcc``), functionals
    (``compare``, ``egemaps``), the embeddings at a layer (``emb_<layer>``) or spectrogram
    images (``spec_<type><bins>_<hash of the options>``); the empty string for a system
    that reads the corpus data dir's audio itself (``soundnet``)."""
    if isinstance(config, SerConfig):
        return config.features
    if isinstance(config, SoundnetConfig):
        return ""
    if isinstance(config, ResnetConfig):
        return config.spectrogram.short_id()
    if config.input.kind == "functionals":
        return FUNCTIONALS_SUFFIX[config.input.feature_set]
    return f"emb_{config.input.layer}"


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
    return config.input.kind == "embedding"
