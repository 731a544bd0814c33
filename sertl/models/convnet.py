"""Frame-classifying ConvNet after Fayek, Lech & Cavedon (2016), Table 1.

Each frame is classified from a window of ``2 * context + 1`` frames (31) of
``feat_dim`` log-mel filterbanks (40), seen as a one-channel image (time x frequency):

- ``conv1``: 64 filters 5x4 (time x frequency), batch norm, ReLU, max-pool 2x2 stride 2
- ``conv2``: 128 filters 3x3, batch norm, ReLU, max-pool 2x2 stride 2
- ``fc1`` ... ``fc3``: fully connected 1024, batch norm, ReLU, dropout 0.6
- ``output``: fully connected to the targets (logits; softmax in the loss)

Convolutions are unpadded ("valid") and pooling keeps a last odd row or column
(ceil mode), so every frame of the window reaches the output (floor-mode pooling would
ignore the window's last 3 frames); 31 x 40 -> 27 x 37 -> 14 x 19 -> 12 x 17 -> 6 x 9.
Weights use He initialisation; L2 applies to the convolutions only (``conv_l2``). The paper writes the kernel as "5x4" without naming
the axes; time x frequency is our reading (``conv_kernels`` in the conf can swap it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from sertl.models.base import AcousticModel, l2_groups
from sertl.models.layers import BatchNorm


@dataclass
class ConvNetConfig:
    """Layer sizes of the ConvNet; defaults are Fayek et al.'s."""
    type: Literal["convnet"] = "convnet"
    feat_dim: int = 40
    context: int = 15
    conv_channels: list[int] = field(default_factory=lambda: [64, 128])
    conv_kernels: list[list[int]] = field(default_factory=lambda: [[5, 4], [3, 3]])
    pool: int = 2
    fc_dims: list[int] = field(default_factory=lambda: [1024, 1024, 1024])
    dropout: float = 0.6
    conv_l2: float = 1e-3
    fc_l2: float = 0.0

    def __post_init__(self) -> None:
        if len(self.conv_channels) != len(self.conv_kernels):
            raise ValueError("conv_channels and conv_kernels must have the same length")
        if any(len(k) != 2 for k in self.conv_kernels):
            raise ValueError("each conv_kernels entry must be [time, frequency]")


class ConvBlock(nn.Sequential):
    """Convolution, batch norm, ReLU, max-pooling."""

    def __init__(self, channels_in: int, channels: int, kernel: list[int], pool: int):
        super().__init__(nn.Conv2d(channels_in, channels, tuple(kernel)),
                         BatchNorm(channels), nn.ReLU(), nn.MaxPool2d(pool, pool, ceil_mode=True))


class FcBlock(nn.Sequential):
    """Fully connected layer, batch norm, ReLU, dropout."""

    def __init__(self, dim_in: int, dim: int, dropout: float):
        super().__init__(nn.Linear(dim_in, dim), BatchNorm(dim), nn.ReLU(),
                         nn.Dropout(dropout))


class ConvNet(AcousticModel):
    """The ConvNet; see the module docstring for the layout."""

    def __init__(self, config: ConvNetConfig, num_targets: int):
        super().__init__()
        self.config = config
        layers: dict[str, nn.Module] = {}
        channels, height, width = 1, 2 * config.context + 1, config.feat_dim
        for i, (out, kernel) in enumerate(zip(config.conv_channels, config.conv_kernels), 1):
            layers[f"conv{i}"] = ConvBlock(channels, out, kernel, config.pool)
            channels = out
            height = -(-(height - kernel[0] + 1) // config.pool)
            width = -(-(width - kernel[1] + 1) // config.pool)
            if height < 1 or width < 1:
                raise ValueError(f"ConvNet: conv{i} leaves no output for a "
                                 f"{2 * config.context + 1}x{config.feat_dim} input")
        self.num_conv = len(config.conv_channels)
        dim = channels * height * width
        for i, out in enumerate(config.fc_dims, 1):
            layers[f"fc{i}"] = FcBlock(dim, out, config.dropout)
            dim = out
        layers["output"] = nn.Linear(dim, num_targets)
        self.layers = nn.ModuleDict(layers)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        self.left_context = self.right_context = config.context
        self.subsampling = 1
        self.input_dim = config.feat_dim

    def layer_names(self) -> list[str]:
        return list(self.layers)

    def forward(self, x: torch.Tensor, until: str | None = None) -> torch.Tensor:
        """(B, T + 2 context, feat_dim) -> (B, T, dim): one window per central frame."""
        self.check_until(until)
        batch = x.shape[0]
        window = 2 * self.config.context + 1
        # (B, T, feat, window) -> (B * T, 1, window, feat)
        h = x.unfold(1, window, 1).transpose(2, 3).reshape(-1, 1, window, x.shape[2])
        for i, (name, layer) in enumerate(self.layers.items()):
            if i == self.num_conv:
                h = h.flatten(1)
            h = layer(h)
            if name == until:
                break
        return h.reshape(batch, -1, *h.shape[1:]).flatten(2)

    def layer_context(self, name: str) -> tuple[int, int, int]:
        self.check_until(name)
        return self.config.context, self.config.context, 1

    def weight_decay_groups(self) -> list[dict]:
        l2 = {name: self.config.conv_l2 if name.startswith("conv") else self.config.fc_l2
              for name in self.layers}
        return l2_groups(self, l2)
