"""The experiment config of SER fine-tuning (``conf/ser/*.yaml``).

```yaml
system: network  # optional (sertl.ser.system)
features: hires  # the feature set of steps/make_feature_sets.sh it reads: hires, fbank, mfcc
transfer:     # where the pretrained network is cut, what stays frozen (TransferOptions)
classifier:   # the new layers on top of the cut (ClassifierOptions)
data:         # frame targets, chunks, validation split, class weights (SerDataOptions)
aggregation:  # the frame-to-utterance rule reported by scoring
training:     # optimisation, as in ASR pretraining (sertl.train.config.TrainOptions)
model:        # only without a pretrained model ("none"): the architecture (sertl.models)
```

Every key is checked: an unknown or misspelled one is a ConfigError naming the file and
the key. How features are read (feature type, CMVN, i-vectors) comes from the pretrained
model; the ``data`` keys ``feature_type``, ``apply_cmvn`` and ``norm_vars`` set it when
there is none, and must agree with the model when given alongside one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sertl.config import load_config
from sertl.models import model_config_from_dict
from sertl.train.config import TrainOptions

SILENCE = "sil"


@dataclass
class TransferOptions:
    """The cut and the frozen part of the pretrained network."""
    layer: str                             # its output feeds the classifier (e.g. tdnn12)
    freeze: int = 0                        # first k layers frozen; -1: all up to the cut
    init: Literal["pretrained", "random"] = "pretrained"  # random: scratch baseline

    def __post_init__(self) -> None:
        if self.freeze < -1:
            raise ValueError(f"freeze must be -1 (all) or a number of layers, not {self.freeze}")


@dataclass
class ClassifierOptions:
    """New layers: an optional hidden layer (affine, ReLU, batch norm), dropout on the
    output layer's input, the output layer over the classes."""
    hidden_dim: int = 256                  # 0: no hidden layer
    dropout: float = 0.0
    l2_regularize: float = 0.0             # weight decay of the classifier's weights

    def __post_init__(self) -> None:
        if self.hidden_dim < 0 or not 0.0 <= self.dropout < 1.0 or self.l2_regularize < 0:
            raise ValueError("hidden_dim and l2_regularize must not be negative, "
                             "dropout in [0, 1)")


@dataclass
class SerDataOptions:
    """Frame targets, chunking, the validation split and the input without a model."""
    chunk_width: int = 60                  # frames with targets per training chunk
    num_valid_speakers: int = 1            # drawn from the training data's speakers
    silence_class: bool = False            # unvoiced frames (vad.scp) get target "sil"
    class_weighting: Literal["none", "balanced"] = "balanced"
    feature_type: str | None = None        # None: the pretrained model's (mfcc_hires)
    apply_cmvn: bool | None = None         # None: the pretrained model's (true)
    norm_vars: bool | None = None          # None: the pretrained model's (false)
    features_on_gpu: bool = True           # when training on a GPU, keep the features there

    def __post_init__(self) -> None:
        if self.chunk_width < 1 or self.num_valid_speakers < 0:
            raise ValueError("chunk_width must be positive, num_valid_speakers not negative")


@dataclass
class SerConfig:
    """The whole fine-tuning config (see the module docstring)."""
    transfer: TransferOptions
    system: Literal["network"] = "network"  # sertl.ser.system: which kind of SER system
    features: Literal["hires", "fbank", "mfcc"] = "hires"  # feature set the network reads
    classifier: ClassifierOptions = field(default_factory=ClassifierOptions)
    data: SerDataOptions = field(default_factory=SerDataOptions)
    aggregation: Literal["sum_posteriors", "mean_log_posterior", "majority"] = "sum_posteriors"
    training: TrainOptions = field(default_factory=TrainOptions)
    model: dict[str, Any] | None = None


def load_ser_config(path: str | Path) -> SerConfig:
    """Read and check a fine-tuning config, its model section included."""
    config = load_config(path, SerConfig)
    if config.model is not None:
        model_config_from_dict(config.model, f"{path}: section 'model'")
    return config
