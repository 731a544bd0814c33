"""The ``vgg16`` SER system (Ragheb et al.): VGG16 (with or without batch norm) on
composite feature images (sertl.feature_image), with mini-batch padding of the signals,
signal-level augmentation and CutMix.

```yaml
system: vgg16
image:            # ImageOptions: librosa parameters, silence removal, feature orders
network:          # family vgg16_bn | vgg16, width, pool, hidden, dropout,
                  # init random | imagenet, imagenet_weights (a local torchvision file)
batch_padding: true
augmentation:     # SignalAugmentation (sertl.ser.waveform); null: off
cutmix:           # alpha, prob; null: off
phases:           # sertl.ser.image_train.Phase: epochs, lr, batch_size, ...
```

The system reads the audio of the corpus data dir itself (wav.scp), since with batch
padding the features of an utterance depend on its batch. Each utterance loses its
silences once; then, per training batch: every signal is augmented (when on), the
signals are padded with zeros to the batch's longest (``batch_padding``; else each
image is computed alone and the images are padded with zeros to the widest), the
images are computed, and CutMix mixes the batch (with probability ``prob``). Every draw
comes from the batch's key (sertl.ser.image_train), so a resumed run repeats the
uninterrupted one.

Decisions:

- Validation and test images are each utterance's own (no partner to pad to, no
  augmentation), scored one utterance at a time, so an utterance's label never depends
  on the others scored with it.
- Images narrower than 32 frames are zero-padded to 32 (VGG16's five poolings).
- Feature cost: the librosa features (HPSS and the CQT chroma of tonnetz above all)
  are computed anew for every augmented signal. Without augmentation an image is a
  function of the utterance and its padded length alone, so training images are cached
  under (utterance, padded length): exact, and bounded by ``cache_images`` (beyond it,
  images are computed and not kept). Each epoch records its feature seconds and cache
  hits in metrics.jsonl.

The exp dir gets what sertl.ser.image_train lists and, written last, final.pt: a plain
dict (``format``, ``classes``, ``network`` options, ``image`` options, ``state_dict``)
that loads with ``weights_only=True``.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F

from sertl.config import ConfigError, from_dict, to_dict
from sertl.feature_image import ImageOptions, feature_image, remove_silence
from sertl.models import load_file, save_file
from sertl.models.vgg import MIN_SIZE, VggClassifier, load_torchvision_weights
from sertl.progress import Progress
from sertl.ser.cutmix import cutmix
from sertl.ser.image_train import ImageTrainer, Phase, split_labelled
from sertl.ser.soundnet import read_audio
from sertl.ser.waveform import SignalAugmentation, augment_signal

FORMAT = "sertl-vgg-ser/1"


@dataclass
class VggNetwork:
    """The network (sertl.models.vgg) and its initialisation."""
    family: Literal["vgg16_bn", "vgg16"] = "vgg16_bn"
    width: int = 1                         # channels divided by this (1: VGG16)
    pool: list[int] = field(default_factory=lambda: [7, 7])
    hidden: int = 4096
    dropout: float = 0.5
    init: Literal["random", "imagenet"] = "random"
    imagenet_weights: str = ""             # init imagenet: a torchvision state dict file

    def __post_init__(self) -> None:
        if self.width not in (1, 2, 4, 8, 16) or len(self.pool) != 2 or min(self.pool) < 1 \
                or self.hidden < 1 or not 0 <= self.dropout < 1:
            raise ValueError("width is one of 1 2 4 8 16, pool two positive sizes, hidden "
                             "positive and dropout in [0, 1)")
        if self.init == "imagenet" and self.width != 1:
            raise ValueError("init imagenet needs width 1 (VGG16's channels)")
        if (self.init == "imagenet") != bool(self.imagenet_weights):
            raise ValueError("imagenet_weights is given exactly when init is imagenet")

    def build(self, num_classes: int) -> VggClassifier:
        return VggClassifier(num_classes, self.family == "vgg16_bn", self.width,
                             tuple(self.pool), self.hidden, self.dropout)


@dataclass
class CutmixOptions:
    """CutMix (sertl.ser.cutmix) of a training batch, with probability ``prob``."""
    alpha: float = 1.0
    prob: float = 0.5

    def __post_init__(self) -> None:
        if self.alpha <= 0 or not 0 <= self.prob <= 1:
            raise ValueError("alpha must be positive and prob lie in [0, 1]")


@dataclass
class VggConfig:
    """A ``system: vgg16`` conf (module docstring)."""
    system: Literal["vgg16"]
    phases: list[Phase]
    image: ImageOptions = field(default_factory=ImageOptions)
    network: VggNetwork = field(default_factory=VggNetwork)
    batch_padding: bool = True
    augmentation: SignalAugmentation | None = field(default_factory=SignalAugmentation)
    cutmix: CutmixOptions | None = field(default_factory=CutmixOptions)
    cache_images: int = 20000              # training images kept (without augmentation)
    num_valid_speakers: int = 2            # held out of the training part
    model_selection: Literal["ua", "loss"] = "ua"
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.phases:
            raise ValueError("phases must list at least one phase")
        if self.num_valid_speakers < 0 or self.cache_images < 0:
            raise ValueError("num_valid_speakers and cache_images must not be negative")


def to_batch(images: list[np.ndarray]) -> torch.Tensor:
    """(B, 3, H, W) of (1 or 3, H, w) images: zero-padded on the right to the widest
    (at least 32 frames), a single channel replicated."""
    width = max(MIN_SIZE, max(x.shape[-1] for x in images))
    out = torch.zeros(len(images), 3, images[0].shape[1], width)
    for row, x in enumerate(images):
        out[row, :, :, :x.shape[-1]] = torch.from_numpy(x)
    return out


def padded_signals(signals: list[np.ndarray]) -> list[np.ndarray]:
    """The signals zero-padded at the end to the longest of them (mini-batch padding)."""
    longest = max(len(s) for s in signals)
    return [np.concatenate([s, np.zeros(longest - len(s), dtype=s.dtype)]) for s in signals]


class ImageCache:
    """Feature images keyed by (utterance, padded length), up to ``size`` of them."""

    def __init__(self, opts: ImageOptions, size: int):
        self.opts, self.size = opts, size
        self.images: dict[tuple[int, int], np.ndarray] = {}
        self.hits = self.misses = 0

    def image(self, signal: np.ndarray, key: tuple[int, int] | None) -> np.ndarray:
        """The image of ``signal``; ``key`` None: not cacheable (augmented)."""
        if key is not None and key in self.images:
            self.hits += 1
            return self.images[key]
        self.misses += 1
        image = feature_image(signal, self.opts)
        if key is not None and len(self.images) < self.size:
            self.images[key] = image
        return image


def utterance_signals(data: Path, utts: list[str], opts: ImageOptions) -> list[np.ndarray]:
    """The audio of ``utts`` without silences ([-1, 1] scale); an error names the
    utterance."""
    audio = read_audio(data, utts, opts.sample_rate)
    signals = []
    for utt in utts:
        try:
            signals.append(remove_silence(audio[utt], opts))
        except ValueError as e:
            raise ValueError(f"{data}: utterance '{utt}': {e}") from None
    return signals


def utterance_images(signals: list[np.ndarray], opts: ImageOptions, what: str
                     ) -> list[np.ndarray]:
    """Each signal's own image, with progress lines (stderr) for a long list."""
    progress = Progress(f"{what} images", len(signals))
    images = []
    for signal in signals:
        images.append(feature_image(signal, opts))
        progress.update()
    if signals:
        progress.finish()
    return images


@torch.no_grad()
def posteriors(model: VggClassifier, images: list[np.ndarray], device: torch.device
               ) -> np.ndarray:
    """(N, classes) posteriors in eval mode, one utterance at a time (module notes)."""
    model.eval()
    return np.stack([F.softmax(model(to_batch([x]).to(device)).float(), dim=-1)[0].cpu().numpy()
                     for x in images]).astype(np.float64)


def save_vgg_model(path: Path, model: VggClassifier, classes: list[str],
                   opts: ImageOptions) -> None:
    """Write final.pt (module docstring), atomically."""
    save_file(path, {"format": FORMAT, "classes": classes, "network": dict(model.options),
                     "image": to_dict(opts),
                     "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}})


def load_vgg_model(path: Path, device: torch.device
                   ) -> tuple[VggClassifier, list[str], ImageOptions]:
    """The network (eval mode), classes and image options of a final.pt."""
    saved = load_file(path, device)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError(f"{path}: not a sertl VGG SER model ({FORMAT})")
    net = saved["network"]
    model = VggClassifier(len(saved["classes"]), net["batch_norm"], net["width"],
                          tuple(net["pool"]), net["hidden"], net["dropout"])
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), list(saved["classes"]), \
        from_dict(ImageOptions, saved["image"], f"{path}: image")


class VggTrainer(ImageTrainer):
    """Trains the phases of a conf (sertl.ser.image_train) on feature images made per
    batch (module docstring)."""

    def __init__(self, config: VggConfig, data: Path, exp: Path, device: torch.device,
                 say: Callable[[str], None] = lambda line: print(line, file=sys.stderr)):
        super().__init__(config, exp, device, say)
        self.split = split_labelled(data, config.num_valid_speakers, config.seed, say)
        opts = config.image
        self.train_signals = utterance_signals(data, self.split.train, opts)
        self.valid_images = utterance_images(
            utterance_signals(data, self.split.valid, opts), opts, "validation")
        self.cache = ImageCache(opts, config.cache_images)
        self.feature_seconds = 0.0
        self.model = config.network.build(len(self.split.classes))
        if config.network.init == "imagenet":
            load_torchvision_weights(self.model, config.network.imagenet_weights)
        self.model.to(device)
        say(f"{config.network.family} at width 1/{config.network.width}, init "
            f"{config.network.init}; images 3 x {opts.height} x frames; batch padding "
            f"{'on' if config.batch_padding else 'off'}, augmentation "
            f"{'on' if config.augmentation else 'off'}, CutMix "
            f"{'on' if config.cutmix else 'off'}")

    def batch_images(self, index: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """The (B, 3, H, W) images of training utterances ``index`` (module docstring)."""
        c = self.config
        signals = [self.train_signals[i] for i in index]
        if c.augmentation:
            signals = [augment_signal(s, c.image.sample_rate, rng, c.augmentation)
                       for s in signals]
        if c.batch_padding:
            signals = padded_signals(signals)
        keys = [None if c.augmentation else (int(i), len(s)) for i, s in zip(index, signals)]
        tic = time.monotonic()
        images = [self.cache.image(s, k) for s, k in zip(signals, keys)]
        self.feature_seconds += time.monotonic() - tic
        return to_batch(images)

    def training_batch(self, index: np.ndarray, key: list[int]
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng(key)
        images = self.batch_images(index, rng)
        labels = torch.tensor([self.split.train_labels[i] for i in index])
        targets = F.one_hot(labels, len(self.split.classes)).float()
        mix = rng.random()
        if self.config.cutmix and mix < self.config.cutmix.prob:
            images, targets, _ = cutmix(images, targets, rng, self.config.cutmix.alpha)
        return images, torch.full((len(index),), images.shape[-1]), targets

    def epoch_metrics(self) -> dict[str, float]:
        metrics = {"train/feature_seconds": self.feature_seconds,
                   "train/cache_hits": float(self.cache.hits),
                   "train/cache_misses": float(self.cache.misses)}
        self.feature_seconds, self.cache.hits, self.cache.misses = 0.0, 0, 0
        return metrics

    def valid_posteriors(self) -> np.ndarray:
        return posteriors(self.model, self.valid_images, self.device)

    def save_final(self, path: Path) -> None:
        save_vgg_model(path, self.model, self.split.classes, self.config.image)


def check_pretrained(pretrained: str) -> None:
    """The vgg16 system starts from ImageNet weights (a conf option) or from random
    weights, never from a pretrained exp."""
    if pretrained != "none":
        raise ConfigError(f"the vgg16 system takes no pretrained exp ('{pretrained}'): "
                          "ImageNet weights are network.imagenet_weights of the conf; give 'none'")
