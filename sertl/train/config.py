"""The experiment config of ASR pretraining: one YAML file with three sections.

```yaml
model:      # the network: `type` (tdnn | convnet) and that type's fields (sertl.models)
data:       # how examples are cut from the features (DataOptions)
training:   # optimisation (TrainOptions)
```

Every key is checked: an unknown or misspelled one is a ConfigError naming the file and
the key, so swapping the conf file is an ablation and nothing falls back silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sertl.config import load_config
from sertl.models import ModelConfig, model_config_from_dict
from sertl.train.schedule import parse_dropout_schedule


@dataclass
class DataOptions:
    """Features, chunking and the validation split."""
    feature_type: str = "mfcc_hires"       # recorded in final.pt, checked by fine-tuning
    apply_cmvn: bool = True                # per-speaker mean normalisation (cmvn.scp)
    norm_vars: bool = False
    chunk_width: int = 150                 # frames with targets per chunk
    num_valid_speakers: int = 2            # held out of training for validation
    max_length_mismatch: int = 2           # frames features and alignment may differ by
    features_on_gpu: bool = True           # when training on a GPU, keep the features there
                                           # and cut batches on it (false: data > GPU memory)

    def __post_init__(self) -> None:
        if self.chunk_width < 1 or self.num_valid_speakers < 0 or self.max_length_mismatch < 0:
            raise ValueError("chunk_width must be positive, num_valid_speakers and "
                             "max_length_mismatch not negative")


@dataclass
class TrainOptions:
    """Optimiser, schedules, checkpoints; batch_size counts chunks of the global batch."""
    num_epochs: int = 4
    batch_size: int = 64
    optimizer: Literal["sgd", "rmsprop", "adam"] = "sgd"
    lr: float = 0.001
    momentum: float = 0.9
    lr_schedule: Literal["constant", "exponential", "plateau"] = "exponential"
    final_lr: float = 0.0001               # exponential: lr at the last step
    lr_decay: float = 0.5                  # plateau: factor when validation stops improving
    grad_clip: float = 0.0                 # max gradient norm (0: off)
    dropout_schedule: str | None = None    # Kaldi's syntax, e.g. "0,0@0.20,0.5@0.50,0"
    model_selection: Literal["fer", "loss"] = "fer"  # validation metric of the best epoch
    early_stopping_patience: int = 0       # epochs without improvement (0: off)
    checkpoint_every_steps: int = 0        # also checkpoint every N steps (0: epochs only)
    log_every_steps: int = 20
    amp: bool = True                       # mixed precision (GPU only)
    sync_batchnorm: bool = True            # global-batch statistics under DDP
    seed: int = 0

    def __post_init__(self) -> None:
        if self.num_epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("num_epochs, batch_size and lr must be positive")
        if self.dropout_schedule is not None:
            parse_dropout_schedule(self.dropout_schedule)


@dataclass
class AsrConfig:
    """The whole experiment config (see the module docstring)."""
    model: dict[str, Any]
    data: DataOptions = field(default_factory=DataOptions)
    training: TrainOptions = field(default_factory=TrainOptions)


def load_asr_config(path: str | Path) -> tuple[AsrConfig, ModelConfig]:
    """Read and check an experiment config; returns it and its typed model section."""
    config = load_config(path, AsrConfig)
    return config, model_config_from_dict(config.model, f"{path}: section 'model'")
