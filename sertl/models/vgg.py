"""VGG16 (torchvision's layout, with or without batch norm) as an utterance classifier
on (3, frequency, time) images.

``features`` is torchvision's ``make_layers`` of configuration D (VGG16), so its
parameters carry torchvision's names and the ImageNet state dict of
``torchvision.models.vgg16_bn`` / ``vgg16`` loads into it; ``avgpool`` is adaptive (any
image of at least 32 x 32 gives the same pooled grid, so the time axis may vary); the
``classifier`` is torchvision's shape (Linear, ReLU, Dropout, Linear, ReLU, Dropout,
Linear) with ``hidden`` units and the emotion classes, always new.

Decisions:

- ``width`` divides every convolution's channels (1: VGG16 itself, the only width that
  ImageNet weights fit); the CPU confs use narrower networks of the same depth.
- Weights are initialised as torchvision's VGG does (Kaiming normal convolutions, unit
  batch-norm scales, N(0, 0.01) linear layers).
- The image is taken whole, padding included (no masking): the paper pads the batch's
  signals, so its padding is part of every image.
- A frozen body (``freeze_body``) keeps its weights and batch-norm statistics.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
from torchvision.models.vgg import cfgs, make_layers

from sertl.models.frozen import FreezableBody

MIN_SIZE = 32             # five 2x2 max poolings


class VggClassifier(FreezableBody):
    """VGG16 ``features`` (torchvision names), ``avgpool``, ``classifier``."""

    def __init__(self, num_classes: int, batch_norm: bool = True, width: int = 1,
                 pool: tuple[int, int] = (7, 7), hidden: int = 4096, dropout: float = 0.5):
        super().__init__()
        self.options = {"batch_norm": batch_norm, "width": width, "pool": list(pool),
                        "hidden": hidden, "dropout": dropout}
        layout = [v if v == "M" else v // width for v in cfgs["D"]]
        self.features = make_layers(layout, batch_norm=batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d(tuple(pool))
        channels = layout[-2]
        self.classifier = nn.Sequential(
            nn.Linear(channels * pool[0] * pool[1], hidden), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, channels * pool) pooled activations of (B, 3, H, W) images."""
        if min(images.shape[-2:]) < MIN_SIZE:
            raise ValueError(f"an image of {tuple(images.shape[-2:])} is smaller than "
                             f"{MIN_SIZE} x {MIN_SIZE}, which VGG16's poolings need")
        return torch.flatten(self.avgpool(self.features(images)), 1)

    def forward(self, images: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, classes) logits; ``lengths`` is not used (module docstring)."""
        return self.classifier(self.embed(images))

    def body_module(self) -> nn.Module:
        return self.features


def load_torchvision_weights(model: VggClassifier, path: str | Path) -> None:
    """Initialise ``features`` from a torchvision VGG16 state dict file (e.g. the
    ImageNet weights of ``torchvision.models.vgg16_bn``, saved with ``torch.save``); its
    classifier is dropped. A missing file or another layout is a ValueError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file (the ImageNet weights are never downloaded "
                         "at run time: save torchvision's vgg16_bn (or vgg16) state dict "
                         "there, or choose network.init: random)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a state dict")
    state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    kind = "vgg16_bn" if model.options["batch_norm"] else "vgg16"
    try:
        missing, unexpected = model.features.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a tensor of another shape
        raise ValueError(f"{path}: does not fit {kind} at width 1/{model.options['width']}: "
                         f"{str(e).splitlines()[-1].strip()}") from None
    if missing or unexpected:
        what = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise ValueError(f"{path}: not a torchvision {kind} ({len(missing)} missing, "
                         f"{len(unexpected)} unexpected feature keys; {what})")
