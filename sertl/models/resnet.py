"""ResNet34 (torchvision's layout) as an utterance classifier on spectrogram images.

The body is torchvision's ``ResNet`` with basic blocks (ResNet34: 3, 4, 6, 3 blocks;
7x7/64 stem, max pooling, 64-128-256-512 channels), so its parameters carry
torchvision's names and an ImageNet state dict in torchvision's format loads into it.
On top: global average pooling, dropout and a new softmax layer (``head``).

Decisions:

- One input channel. An ImageNet stem (3 RGB channels) is folded into it by summing
  its weights over the channels, which is exactly the network applied to the gray
  image replicated to 3 channels, at a third of the stem's cost.
- An image is (frequency, time); the utterances of a batch are padded in time to the
  longest one, and the pooling averages only the output columns that the utterance
  covers (its length / 32, rounded up), so padding does not dilute the pooled vector.
- A frozen body (``freeze_body``) keeps its weights and its batch-norm statistics: it
  stays in eval mode while the head trains.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, ResNet

from sertl.models.frozen import FreezableBody

RESNET34_LAYERS = (3, 4, 6, 3)
SUBSAMPLING = 32          # input frames per output column of the body
EMBEDDING_DIM = 512


class ResNetClassifier(FreezableBody):
    """ResNet body (torchvision names under ``body.``), pooling, dropout, ``head``."""

    def __init__(self, num_classes: int, layers: Sequence[int] = RESNET34_LAYERS,
                 dropout: float = 0.1):
        super().__init__()
        self.layers = list(layers)
        self.body = ResNet(BasicBlock, self.layers)
        self.body.fc = nn.Identity()      # replaced by the head
        self.body.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(self.body.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(EMBEDDING_DIM, num_classes)

    def embed(self, images: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, 512) pooled activations of (B, frames, bins) images padded in time, whose
        real lengths are ``lengths`` (B,)."""
        b = self.body
        x = images.transpose(1, 2).unsqueeze(1)       # (B, 1, bins, frames)
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        x = b.layer4(b.layer3(b.layer2(b.layer1(x)))).mean(dim=2)  # (B, 512, columns)
        columns = torch.clamp(-(-lengths.to(x.device) // SUBSAMPLING), 1, x.shape[-1])
        mask = torch.arange(x.shape[-1], device=x.device)[None, :] < columns[:, None]
        return (x * mask[:, None, :]).sum(dim=-1) / columns[:, None]

    def forward(self, images: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, classes) logits."""
        return self.head(self.dropout(self.embed(images, lengths)))

    def body_module(self) -> nn.Module:
        return self.body

    def new_head(self, num_classes: int) -> None:
        """Replace the softmax layer (transfer to another set of classes)."""
        self.head = nn.Linear(EMBEDDING_DIM, num_classes).to(self.body.conv1.weight.device)


def load_torchvision_weights(model: ResNetClassifier, path: str | Path) -> None:
    """Initialise the body from a torchvision ResNet state dict file (e.g. the ImageNet
    weights of ``torchvision.models.resnet34``, saved with ``torch.save``); its ``fc``
    is dropped and its RGB stem folded into one channel (module docstring). A missing
    file or a state dict of another layout is a ValueError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file (the ImageNet weights are never downloaded "
                         "at run time: save torchvision's resnet34 state dict there, or "
                         "choose network.init: random)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a state dict")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    stem = state.get("conv1.weight")
    if stem is not None and stem.dim() == 4 and stem.shape[1] == 3:
        state["conv1.weight"] = stem.sum(dim=1, keepdim=True)
    try:
        missing, unexpected = model.body.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a tensor of another shape
        raise ValueError(f"{path}: does not fit a ResNet with blocks {model.layers}: "
                         f"{str(e).splitlines()[-1].strip()}") from None
    if missing or unexpected:
        what = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise ValueError(f"{path}: not a torchvision ResNet with blocks {model.layers} "
                         f"({len(missing)} missing, {len(unexpected)} unexpected keys; {what})")
