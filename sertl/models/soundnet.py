"""SoundNet's five-layer trunk on raw waveforms (``soundnet5``), as Elshaer et al. use it
for anger detection, and its weights from SoundNet's torch7 models or a sertl exp.

The network (Aytar et al.'s 5-layer SoundNet, input 16 kHz samples on a +-256 scale):

- conv1: 1 -> 32 filters, kernel 64, stride 2, padding 32; batch norm, ReLU, max-pool 8
- conv2: 32 -> 64, kernel 32, stride 2, padding 16; batch norm, ReLU, max-pool 8
- conv3: 64 -> 128, kernel 16, stride 2, padding 8; batch norm, ReLU, max-pool 8
- conv4: 128 -> ``conv4_channels`` (SoundNet: 256; the paper: 16), kernel 8, stride 2,
  padding 4; batch norm, ReLU, dropout
- conv5: the output, ``conv4_channels`` -> classes, kernel 2; its outputs over time are
  averaged into one logit vector per segment.

With 16 filters in conv4 and two classes this has 215,826 parameters, the paper's count,
which fixes what the paper leaves implicit: conv5 has kernel 2 and no batch norm.

Layers are named ``conv1``..``conv5`` (their batch norms ``bn1``..``bn4``); transfer
copies whole layers (convolution and batch norm, statistics included) by these names,
from a state dict of this model or from SoundNet's torch7 files (:func:`read_torch7`).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

import numpy as np
import torch
from torch import nn

# (in, out, kernel, stride, padding, max-pool after) of conv1..conv3, SoundNet's
TRUNK = ((1, 32, 64, 2, 32, 8), (32, 64, 32, 2, 16, 8), (64, 128, 16, 2, 8, 8))
CONV4 = (128, 8, 2, 4)        # in, kernel, stride, padding
CONV5_KERNEL = 2
NUM_LAYERS = 5
BN_EPS = 1e-5                 # torch7's and PyTorch's default


@dataclass
class SoundNet5Config:
    """The architecture choices left open (module docstring)."""
    type: Literal["soundnet5"] = "soundnet5"
    conv4_channels: int = 16               # SoundNet: 256; Elshaer et al.: 16
    dropout: float = 0.5                   # after conv4

    def __post_init__(self) -> None:
        if self.conv4_channels < 1 or not 0.0 <= self.dropout < 1.0:
            raise ValueError("conv4_channels must be positive, dropout in [0, 1)")


class SoundNet5(nn.Module):
    """The network of the module docstring; ``forward`` maps (batch, samples) to
    (batch, classes) logits."""

    def __init__(self, config: SoundNet5Config, num_classes: int):
        super().__init__()
        self.config = config
        self.num_classes = num_classes
        for i, (cin, cout, kernel, stride, pad, _) in enumerate(TRUNK, 1):
            setattr(self, f"conv{i}", nn.Conv1d(cin, cout, kernel, stride, pad))
            setattr(self, f"bn{i}", nn.BatchNorm1d(cout, eps=BN_EPS))
        cin, kernel, stride, pad = CONV4
        self.conv4 = nn.Conv1d(cin, config.conv4_channels, kernel, stride, pad)
        self.bn4 = nn.BatchNorm1d(config.conv4_channels, eps=BN_EPS)
        self.dropout = nn.Dropout(config.dropout)
        self.conv5 = nn.Conv1d(config.conv4_channels, num_classes, CONV5_KERNEL)
        self.frozen = 0

    def layer_names(self) -> list[str]:
        return [f"conv{i}" for i in range(1, NUM_LAYERS + 1)]

    def layer_modules(self, layer: int) -> list[nn.Module]:
        """The modules of layer ``layer`` (1-based): its convolution and batch norm."""
        conv = getattr(self, f"conv{layer}")
        return [conv] + ([getattr(self, f"bn{layer}")] if layer < NUM_LAYERS else [])

    def freeze(self, num_layers: int) -> None:
        """Keep the first ``num_layers`` layers as they are: no gradient, and batch norm
        statistics neither updated nor taken from the batch (eval mode, also in train())."""
        if not 0 <= num_layers <= NUM_LAYERS:
            raise ValueError(f"cannot freeze {num_layers} of {NUM_LAYERS} layers")
        self.frozen = num_layers
        for layer in range(1, NUM_LAYERS + 1):
            for module in self.layer_modules(layer):
                module.requires_grad_(layer > num_layers)
        self.train(self.training)

    def train(self, mode: bool = True) -> "SoundNet5":
        super().train(mode)
        for layer in range(1, self.frozen + 1):
            for module in self.layer_modules(layer):
                module.eval()
        return self

    def forward(self, samples: torch.Tensor) -> torch.Tensor:
        x = samples.unsqueeze(1)
        for i, (*_, pool) in enumerate(TRUNK, 1):
            x = nn.functional.max_pool1d(
                torch.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x))), pool)
        x = self.dropout(torch.relu(self.bn4(self.conv4(x))))
        return self.conv5(x).mean(dim=2)


def layer_state(state: Mapping[str, torch.Tensor], num_layers: int) -> dict[str, torch.Tensor]:
    """The entries of a SoundNet5 state dict that belong to layers 1..``num_layers``."""
    prefixes = tuple(f"{kind}{i}." for i in range(1, num_layers + 1) for kind in ("conv", "bn"))
    return {k: v for k, v in state.items() if k.startswith(prefixes)}


def load_layers(model: SoundNet5, source: Mapping[str, torch.Tensor], num_layers: int,
                where: str) -> None:
    """Copy layers 1..``num_layers`` of ``source`` (a SoundNet5-style state dict) into
    ``model``; a missing layer or a shape that differs is a ValueError naming ``where``."""
    own = model.state_dict()
    wanted = layer_state(own, num_layers)
    for key, value in wanted.items():
        if key not in source:
            raise ValueError(f"{where}: has no '{key}' (it holds "
                             f"{', '.join(sorted(layer_state(source, NUM_LAYERS)))})")
        if tuple(source[key].shape) != tuple(value.shape):
            raise ValueError(f"{where}: '{key}' has shape {tuple(source[key].shape)}, the "
                             f"model needs {tuple(value.shape)}")
        own[key] = source[key].detach().to(value.dtype).clone()
    model.load_state_dict(own)


def _typename(obj: Any) -> str:
    name = obj.torch_typename() if hasattr(obj, "torch_typename") else ""
    return name.decode() if isinstance(name, bytes) else str(name)


def _modules_in_order(obj: Any) -> list[Any]:
    """The leaf modules of a torch7 container tree (nn.Sequential, nn.ConcatTable ...)."""
    children = obj["modules"] if hasattr(obj, "torch_typename") else None
    if children is None:
        return [obj]
    return [leaf for child in children for leaf in _modules_in_order(child)]


def torch7_state(root: Any, where: str) -> dict[str, torch.Tensor]:
    """A SoundNet5-style state dict (``conv<i>.weight`` ..., ``bn<i>.running_var``) from
    a torch7 SoundNet network as torchfile reads it: the i-th SpatialConvolution (nn or
    cudnn; weight (out, in, kernel, 1)) is conv<i> and the SpatialBatchNormalization that
    follows it bn<i>. Old torch7 files keep ``running_std`` (1 / sqrt(var + eps))."""
    state: dict[str, torch.Tensor] = {}
    convs = 0
    for module in _modules_in_order(root):
        name = _typename(module)
        if name.endswith("SpatialConvolution"):
            convs += 1
            weight = np.asarray(module["weight"], dtype=np.float32)
            if weight.ndim != 4 or weight.shape[3] != 1:
                raise ValueError(f"{where}: convolution {convs} has weight shape "
                                 f"{weight.shape}, not SoundNet's (out, in, kernel, 1)")
            state[f"conv{convs}.weight"] = torch.from_numpy(weight[..., 0].copy())
            state[f"conv{convs}.bias"] = torch.from_numpy(
                np.asarray(module["bias"], dtype=np.float32).copy())
        elif name.endswith("SpatialBatchNormalization") and convs:
            bn = f"bn{convs}"
            state[f"{bn}.weight"] = torch.from_numpy(np.asarray(module["weight"], np.float32).copy())
            state[f"{bn}.bias"] = torch.from_numpy(np.asarray(module["bias"], np.float32).copy())
            state[f"{bn}.running_mean"] = torch.from_numpy(
                np.asarray(module["running_mean"], np.float32).copy())
            if module["running_var"] is not None:
                var = np.asarray(module["running_var"], np.float32)
            elif module["running_std"] is not None:
                eps = module["eps"] or BN_EPS
                var = 1.0 / np.asarray(module["running_std"], np.float32) ** 2 - eps
            else:
                raise ValueError(f"{where}: batch norm {convs} has neither running_var "
                                 "nor running_std")
            state[f"{bn}.running_var"] = torch.from_numpy(var.astype(np.float32).copy())
            state[f"{bn}.num_batches_tracked"] = torch.tensor(0)
    if not convs:
        raise ValueError(f"{where}: no SpatialConvolution in the network: not a SoundNet "
                         "torch7 model")
    return state


def read_torch7(path: str | Path) -> dict[str, torch.Tensor]:
    """The layers of a SoundNet torch7 model file (e.g. soundnet5_final.t7 of the
    SoundNet release) as a SoundNet5-style state dict (:func:`torch7_state`)."""
    import torchfile  # only this reader needs it

    try:
        root = torchfile.load(str(path))
    except (OSError, ValueError, TypeError, EOFError, struct.error) as e:
        raise ValueError(f"{path}: cannot read as a torch7 file: {e}") from None
    return torch7_state(root, str(path))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
