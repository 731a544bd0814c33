"""The ``resnet34`` SER system: a ResNet34 on utterance spectrogram images, trained in
phases for cross-lingual transfer (Durrani & Arshad).

A conf (``system: resnet34``) gives the spectrogram options (the data dir it reads is
made by steps/make_spectrograms.sh with them), the network, and the transfer schedule
as a list of phases, each with its epochs, learning rate, batch size and early stopping
on the validation speakers, training either the new ``head`` (the body frozen: weights
and batch-norm statistics) or ``all`` of the network. The paper's schedule is three runs
of this system: phase 1 on all of the source corpus (init random or imagenet,
``[all]``), then on each target fold from that exp (init pretrained, ``[head, all]``).

Training (sertl.ser.image_train, shared with the vgg16 system) is utterance-level
cross-entropy with Adam, checkpointed per epoch and resumable; every utterance image is
standardised on itself (zero mean, unit variance: the dB scale of log mel and MFCC
differs by utterance and corpus) and the images of a batch are padded in time with
zeros.

The exp dir gets what sertl.ser.image_train lists and, written last, final.pt: a plain
dict (``format``, ``classes``, ``layers``, ``dropout``, ``spectrogram``, ``state_dict``)
that loads with ``weights_only=True``.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sertl.config import ConfigError, to_dict
from sertl.io import TableError, load_matrix, read_scp
from sertl.models import load_file, save_file
from sertl.models.resnet import RESNET34_LAYERS, ResNetClassifier, load_torchvision_weights
from sertl.ser.image_train import ImageTrainer, Phase, split_labelled
from sertl.spectrogram import SpectrogramOptions, read_spectrogram_config

FORMAT = "sertl-resnet-ser/1"


@dataclass
class NetworkOptions:
    """The network and its initialisation."""
    layers: list[int] = field(default_factory=lambda: list(RESNET34_LAYERS))
    dropout: float = 0.1                   # before the softmax layer
    init: Literal["random", "imagenet", "pretrained"] = "random"
    imagenet_weights: str = ""             # init imagenet: torchvision resnet34 state dict

    def __post_init__(self) -> None:
        if len(self.layers) != 4 or min(self.layers) < 1:
            raise ValueError("layers must give 4 positive block counts (ResNet34: 3 4 6 3)")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must lie in [0, 1)")
        if self.init == "imagenet" and list(self.layers) != list(RESNET34_LAYERS):
            raise ValueError("init imagenet needs the ResNet34 layers [3, 4, 6, 3]")
        if (self.init == "imagenet") != bool(self.imagenet_weights):
            raise ValueError("imagenet_weights is given exactly when init is imagenet")


@dataclass
class ResnetConfig:
    """A ``system: resnet34`` conf (module docstring)."""
    system: Literal["resnet34"]
    phases: list[Phase]
    spectrogram: SpectrogramOptions = field(default_factory=SpectrogramOptions)
    network: NetworkOptions = field(default_factory=NetworkOptions)
    num_valid_speakers: int = 2            # held out of the training part
    model_selection: Literal["ua", "loss"] = "ua"  # each phase's best epoch, on validation
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.phases:
            raise ValueError("phases must list at least one phase")
        if self.num_valid_speakers < 0:
            raise ValueError("num_valid_speakers must not be negative")


@dataclass
class Images:
    """Standardised spectrogram images of utterances, with class indices (-1: none)."""
    utts: list[str]
    images: list[np.ndarray]               # (frames, bins) float32 each
    labels: np.ndarray

    def batch(self, index: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The images of ``index`` padded with zeros to the longest: (B, T, bins), (B,)."""
        chosen = [self.images[i] for i in index]
        lengths = torch.tensor([len(x) for x in chosen])
        out = torch.zeros(len(chosen), int(lengths.max()), chosen[0].shape[1])
        for row, x in enumerate(chosen):
            out[row, :len(x)] = torch.from_numpy(x)
        return out, lengths


def standardise(image: np.ndarray) -> np.ndarray:
    """The image at zero mean and unit variance (a constant image: zero)."""
    std = image.std()
    return ((image - image.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def check_data_options(data_dir: Path, opts: SpectrogramOptions, what: str) -> None:
    """A data dir made by steps/make_spectrograms.sh records its options; they must be
    ``opts`` (a subset of it, e.g. a fold's part, may lack the record)."""
    record = data_dir / "spectrogram.conf"
    if record.is_file():
        made = read_spectrogram_config(record)
        if made != opts:
            raise ValueError(f"{record}: the images were made with other options than "
                             f"{what} takes ({' '.join(opts.kaldi_args())})")


def load_images(data_dir: Path, utts: Sequence[str], labels: Sequence[int],
                opts: SpectrogramOptions) -> Images:
    """The standardised images of ``utts`` from ``data_dir``/feats.scp."""
    scp = data_dir / "feats.scp"
    table = read_scp(scp)
    images = []
    for utt in utts:
        if utt not in table:
            raise TableError(f"{scp}: no utterance '{utt}'")
        image = load_matrix(table[utt])
        if image.ndim != 2 or image.shape[1] != opts.dim:
            raise TableError(f"{scp}: utterance '{utt}' has shape {image.shape}, but the "
                             f"system takes (frames, {opts.dim}) {opts.type} images")
        images.append(standardise(image))
    return Images(list(utts), images, np.asarray(labels, dtype=np.int64))


@torch.no_grad()
def posteriors(model: ResNetClassifier, data: Images, device: torch.device,
               batch_size: int = 16) -> np.ndarray:
    """(N, classes) posteriors, in eval mode, batching utterances of similar length."""
    model.eval()
    order = np.argsort([len(x) for x in data.images], kind="stable")
    out = np.zeros((len(data.utts), model.head.out_features), dtype=np.float64)
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        x, lengths = data.batch(index)
        out[index] = F.softmax(model(x.to(device), lengths).float(), dim=-1).cpu().numpy()
    return out


def save_resnet_model(path: Path, model: ResNetClassifier, classes: list[str],
                      opts: SpectrogramOptions) -> None:
    """Write final.pt (module docstring), atomically."""
    save_file(path, {"format": FORMAT, "classes": classes, "layers": model.layers,
                     "dropout": model.dropout.p, "spectrogram": to_dict(opts),
                     "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}})


def load_resnet_model(path: Path, device: torch.device
                      ) -> tuple[ResNetClassifier, list[str], SpectrogramOptions]:
    """The network (eval mode), classes and spectrogram options of a final.pt."""
    saved = load_file(path, device)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError(f"{path}: not a sertl ResNet SER model ({FORMAT})")
    model = ResNetClassifier(len(saved["classes"]), saved["layers"], saved["dropout"])
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), list(saved["classes"]), \
        SpectrogramOptions(**saved["spectrogram"])


@dataclass
class ResnetPaths:
    """Inputs and output of a training run."""
    data: Path
    pretrained: Path | None        # final.pt of a resnet34 exp (init pretrained)
    exp: Path


class ResnetTrainer(ImageTrainer):
    """Trains the phases of a conf (sertl.ser.image_train) on spectrogram images."""

    def __init__(self, config: ResnetConfig, paths: ResnetPaths, device: torch.device,
                 say: Callable[[str], None] = lambda line: print(line, file=sys.stderr)):
        super().__init__(config, paths.exp, device, say)
        self.paths = paths
        net = config.network
        if (net.init == "pretrained") != (paths.pretrained is not None):
            raise ConfigError("network.init pretrained needs a pretrained resnet34 exp, and "
                              "only it uses one" if net.init == "pretrained" else
                              f"network.init is {net.init}: give 'none', not a pretrained exp")
        check_data_options(paths.data, config.spectrogram, "the conf")
        self.split = split_labelled(paths.data, config.num_valid_speakers, config.seed, say)
        sp, opts = self.split, config.spectrogram
        self.train = load_images(paths.data, sp.train, sp.train_labels, opts)
        self.valid = load_images(paths.data, sp.valid, sp.valid_labels, opts) if sp.valid else None
        self.classes = sp.classes
        self.model = self._build_model().to(device)

    def _build_model(self) -> ResNetClassifier:
        net = self.config.network
        if net.init == "pretrained":
            model, classes, opts = load_resnet_model(self.paths.pretrained, torch.device("cpu"))
            if opts != self.config.spectrogram:
                raise ConfigError(f"{self.paths.pretrained} was trained on other spectrograms "
                                  f"({' '.join(opts.kaldi_args())}) than the conf gives")
            if model.layers != list(net.layers):
                raise ConfigError(f"{self.paths.pretrained} has blocks {model.layers}, the "
                                  f"conf {net.layers}")
            model.dropout.p = net.dropout
            model.new_head(len(self.classes))
            self.say(f"body from {self.paths.pretrained} (classes {' '.join(classes)}), "
                     f"a new head for {' '.join(self.classes)}")
            return model
        model = ResNetClassifier(len(self.classes), net.layers, net.dropout)
        if net.init == "imagenet":
            load_torchvision_weights(model, net.imagenet_weights)
        return model

    def training_batch(self, index: np.ndarray, key: list[int]
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, lengths = self.train.batch(index)
        return x, lengths, torch.from_numpy(self.train.labels[index])

    def valid_posteriors(self) -> np.ndarray:
        return posteriors(self.model, self.valid, self.device)

    def save_final(self, path: Path) -> None:
        save_resnet_model(path, self.model, self.classes, self.config.spectrogram)
