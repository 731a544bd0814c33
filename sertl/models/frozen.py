"""Image classifiers whose pretrained body can be frozen while a new head trains."""
from __future__ import annotations

from torch import nn


class FreezableBody(nn.Module):
    """A network of a body (:meth:`body_module`) and a head; a frozen body gets no
    gradients and keeps its batch-norm statistics, in train mode too."""

    body_frozen = False

    def body_module(self) -> nn.Module:
        raise NotImplementedError

    def freeze_body(self, frozen: bool) -> None:
        """Freeze (or unfreeze) the body."""
        self.body_frozen = frozen
        for p in self.body_module().parameters():
            p.requires_grad_(not frozen)
        self.body_module().train(self.training and not frozen)

    def train(self, mode: bool = True) -> "FreezableBody":
        super().train(mode)
        if self.body_frozen:
            self.body_module().eval()
        return self
