"""CutMix (Yun et al. 2019) on a batch of images with class distributions as targets.

A ratio lambda ~ Beta(alpha, alpha) is drawn; a box of height H sqrt(1 - lambda) and
width W sqrt(1 - lambda) (rounded down) around a uniformly drawn centre, clipped to the
image, is pasted into every image from its partner in a random permutation of the
batch, and each target becomes (1 - a) own + a partner's, with a the pasted box's exact
share of the image area (after clipping), as in the authors' code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Box:
    """The pasted box (rows top:bottom, columns left:right) and the partners."""
    top: int
    bottom: int
    left: int
    right: int
    partner: np.ndarray

    @property
    def area(self) -> int:
        return (self.bottom - self.top) * (self.right - self.left)


def cutmix(images: torch.Tensor, targets: torch.Tensor, rng: np.random.Generator,
           alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, Box]:
    """Mixed copies of (B, C, H, W) ``images`` and (B, classes) ``targets``, and the box."""
    height, width = images.shape[-2:]
    lam = rng.beta(alpha, alpha)
    cut = np.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * cut), int(width * cut)
    cy, cx = int(rng.integers(height)), int(rng.integers(width))
    partner = rng.permutation(len(images))
    box = Box(int(np.clip(cy - cut_h // 2, 0, height)), int(np.clip(cy + cut_h // 2, 0, height)),
              int(np.clip(cx - cut_w // 2, 0, width)), int(np.clip(cx + cut_w // 2, 0, width)),
              partner)
    mixed = images.clone()
    index = torch.from_numpy(partner)
    mixed[..., box.top:box.bottom, box.left:box.right] = \
        images[index][..., box.top:box.bottom, box.left:box.right]
    share = box.area / (height * width)
    return mixed, (1.0 - share) * targets + share * targets[index], box
