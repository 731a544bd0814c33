"""The interface every acoustic model of sertl offers to training, decoding and fine-tuning.

A model maps a chunk of input frames, (batch, left_context + T + right_context, input_dim),
to one output per ``subsampling`` frames of the T central ones: (batch, ceil(T /
subsampling), dim), output k belonging to central frame k * subsampling. Its layers have
stable names (``layer_names()``), and ``forward(x, until=name)`` stops after that layer,
so SER fine-tuning can cut the network at a named bottleneck.
"""
from __future__ import annotations

import torch
from torch import nn


class AcousticModel(nn.Module):
    """Base class: context, subsampling, layer names, weight-decay groups, step hook."""

    left_context: int
    right_context: int
    subsampling: int
    input_dim: int

    def layer_names(self) -> list[str]:
        """Names of the layers in forward order; the last is the output layer."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, until: str | None = None) -> torch.Tensor:
        raise NotImplementedError

    def layer_context(self, name: str) -> tuple[int, int, int]:
        """Left and right context (input frames) the network consumes up to and including
        layer ``name``, and that layer's output frame subsampling; what a network cut
        there (``forward(x, until=name)``) needs to be fed."""
        raise NotImplementedError

    def check_until(self, until: str | None) -> None:
        """Reject a layer name the model does not have, naming the ones it has."""
        if until is not None and until not in self.layer_names():
            raise ValueError(f"{type(self).__name__}: no layer '{until}' "
                             f"(layers: {', '.join(self.layer_names())})")

    def weight_decay_groups(self) -> list[dict]:
        """Optimizer parameter groups carrying each parameter's L2 (``weight_decay``)."""
        raise NotImplementedError

    def after_optimizer_step(self, step: int) -> None:
        """Hook run after every optimizer step (e.g. periodic weight constraints)."""


def l2_groups(model: nn.Module, l2_of: dict[str, float]) -> list[dict]:
    """Parameter groups: weight matrices of top-level child ``name`` get ``l2_of[name]``
    (0 when absent); biases and norm parameters get no decay."""
    groups: dict[float, list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        top = name.split(".")[1] if name.startswith("layers.") else name.split(".")[0]
        decay = l2_of.get(top, 0.0) if param.dim() > 1 else 0.0
        groups.setdefault(decay, []).append(param)
    return [{"params": params, "weight_decay": decay} for decay, params in groups.items()]
