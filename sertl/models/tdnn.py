"""TDNN / TDNN-F acoustic model after Kaldi's TED-LIUM ``tdnn_1g`` recipe (as used by
Zhou & Beigi), trained here with frame-level cross-entropy (Kaldi's ``output-xent``).

Structure (all sizes from :class:`TdnnConfig`):

- ``tdnn1``: affine transform of the input frames spliced at ``input_splice`` (-1,0,1)
  plus, when ``ivector_dim`` > 0, the i-vector of the centre frame (Kaldi's
  ``Append(-1,0,1,ReplaceIndex(ivector,t,0))``; the i-vector columns are the last
  ``ivector_dim`` columns of the input), then ReLU, batch norm, dropout.
- ``tdnn2`` ... ``tdnnN`` (one per entry of ``time_strides`` after the first):
  with ``layer_type: tdnnf``, Kaldi's tdnnf-layer: a linear bottleneck over frames
  (t - s, t) kept semi-orthogonal, an affine over (t, t + s) back to ``hidden_dim``,
  ReLU, batch norm, dropout, plus ``bypass_scale`` times the layer's input; stride 0
  means no time context. With ``layer_type: tdnn``, a plain affine over (t - s, t, t + s),
  ReLU, batch norm, dropout.
- ``prefinal``: Kaldi's prefinal-l + prefinal-layer: linear to ``prefinal_bottleneck_dim``
  (semi-orthogonal), affine to ``prefinal_dim``, ReLU, batch norm, linear back to
  ``prefinal_bottleneck_dim`` (semi-orthogonal), batch norm.
- ``output``: affine to the targets (zero-initialised, as Kaldi's output-layer); logits.

Batch norms have no learned scale or offset, as Kaldi's. Outputs are computed only every
``frame_subsampling_factor`` frames: layers from the first one after which every stride
is a multiple of the factor run on the subsampled sequence, so nothing is computed that
is thrown away. The tdnn_1g layout gives a context of 28 frames on each side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from sertl.models.base import AcousticModel, l2_groups
from sertl.models.layers import BatchNorm, ContinuousDropout, constrain_semi_orthogonal


@dataclass
class TdnnConfig:
    """Sizes and regularisation of the TDNN; defaults are tdnn_1g's."""
    type: Literal["tdnn"] = "tdnn"
    feat_dim: int = 40
    ivector_dim: int = 100
    input_splice: list[int] = field(default_factory=lambda: [-1, 0, 1])
    layer_type: Literal["tdnnf", "tdnn"] = "tdnnf"
    hidden_dim: int = 1024
    bottleneck_dim: int = 128
    time_strides: list[int] = field(
        default_factory=lambda: [0, 1, 1, 1, 0, 3, 3, 3, 3, 3, 3, 3, 3])
    prefinal_dim: int = 1024
    prefinal_bottleneck_dim: int = 256
    bypass_scale: float = 0.66
    dropout: float = 0.0
    dropout_per_dim_continuous: bool = True
    l2_regularize: float = 0.01
    output_l2_regularize: float = 0.002
    orthonormal_period: int = 4
    frame_subsampling_factor: int = 3

    def __post_init__(self) -> None:
        splice = self.input_splice
        steps = {b - a for a, b in zip(splice, splice[1:])}
        if not splice or len(steps) > 1 or min(steps, default=1) <= 0 \
                or splice[0] > 0 or splice[-1] < 0:
            raise ValueError(f"input_splice {splice} must be increasing, evenly spaced "
                             f"and include 0")
        if not self.time_strides or self.time_strides[0] != 0:
            raise ValueError("time_strides[0] must be 0: layer 1's context is input_splice")
        if min(self.time_strides) < 0 or self.frame_subsampling_factor < 1:
            raise ValueError("time strides must be >= 0 and frame_subsampling_factor >= 1")


def _dropout(config: TdnnConfig) -> nn.Module:
    p = config.dropout
    return ContinuousDropout(p) if config.dropout_per_dim_continuous else nn.Dropout(p)


class InputLayer(nn.Module):
    """tdnn1: spliced features plus the centre frame's i-vector, ReLU, BN, dropout."""

    def __init__(self, config: TdnnConfig):
        super().__init__()
        splice = config.input_splice
        step = splice[1] - splice[0] if len(splice) > 1 else 1
        self.feat_dim = config.feat_dim
        self.left, self.right = -splice[0], splice[-1]
        self.affine = nn.Conv1d(config.feat_dim, config.hidden_dim, len(splice), dilation=step)
        self.ivector = (nn.Conv1d(config.ivector_dim, config.hidden_dim, 1, bias=False)
                        if config.ivector_dim else None)
        self.bn = BatchNorm(config.hidden_dim, affine=False)
        self.dropout = _dropout(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.affine(x[:, :self.feat_dim])
        if self.ivector is not None:
            y = y + self.ivector(x[:, self.feat_dim:, self.left:x.shape[2] - self.right])
        return self.dropout(self.bn(torch.relu(y)))


class TdnnfLayer(nn.Module):
    """Kaldi's tdnnf-layer: semi-orthogonal bottleneck, affine, ReLU, BN, dropout, bypass."""

    def __init__(self, config: TdnnConfig, dilation: int):
        super().__init__()
        kernel = 2 if dilation else 1
        dilation = max(dilation, 1)
        self.context = dilation if kernel == 2 else 0
        self.linear = nn.Conv1d(config.hidden_dim, config.bottleneck_dim, kernel,
                                dilation=dilation, bias=False)
        self.affine = nn.Conv1d(config.bottleneck_dim, config.hidden_dim, kernel,
                                dilation=dilation)
        self.bn = BatchNorm(config.hidden_dim, affine=False)
        self.dropout = _dropout(config)
        self.bypass_scale = config.bypass_scale

    def constrained(self) -> list[torch.Tensor]:
        return [self.linear.weight]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout(self.bn(torch.relu(self.affine(self.linear(x)))))
        c = self.context
        return y + self.bypass_scale * x[:, :, c:x.shape[2] - c]


class TdnnLayer(nn.Module):
    """Plain TDNN layer: affine over (t - s, t, t + s), ReLU, BN, dropout."""

    def __init__(self, config: TdnnConfig, dilation: int):
        super().__init__()
        kernel = 3 if dilation else 1
        self.affine = nn.Conv1d(config.hidden_dim, config.hidden_dim, kernel,
                                dilation=max(dilation, 1))
        self.bn = BatchNorm(config.hidden_dim, affine=False)
        self.dropout = _dropout(config)

    def constrained(self) -> list[torch.Tensor]:
        return []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.bn(torch.relu(self.affine(x))))


class PrefinalLayer(nn.Module):
    """Kaldi's prefinal-l + prefinal-layer (small -> big -> small, semi-orthogonal linears)."""

    def __init__(self, config: TdnnConfig):
        super().__init__()
        small, big = config.prefinal_bottleneck_dim, config.prefinal_dim
        self.linear_in = nn.Conv1d(config.hidden_dim, small, 1, bias=False)
        self.affine = nn.Conv1d(small, big, 1)
        self.bn_big = BatchNorm(big, affine=False)
        self.linear_out = nn.Conv1d(big, small, 1, bias=False)
        self.bn_small = BatchNorm(small, affine=False)

    def constrained(self) -> list[torch.Tensor]:
        return [self.linear_in.weight, self.linear_out.weight]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn_big(torch.relu(self.affine(self.linear_in(x))))
        return self.bn_small(self.linear_out(y))


class Tdnn(AcousticModel):
    """The TDNN(-F) network; see the module docstring for the layout."""

    def __init__(self, config: TdnnConfig, num_targets: int):
        super().__init__()
        self.config = config
        f = config.frame_subsampling_factor
        strides = config.time_strides
        # First layer from which every stride is a multiple of f: subsample before it.
        self.switch = next((i for i in range(1, len(strides))
                            if all(s % f == 0 for s in strides[i:])), len(strides))
        layer_cls = TdnnfLayer if config.layer_type == "tdnnf" else TdnnLayer
        layers: dict[str, nn.Module] = {"tdnn1": InputLayer(config)}
        for i, stride in enumerate(strides[1:], start=1):
            dilation = stride if i < self.switch else stride // f
            layers[f"tdnn{i + 1}"] = layer_cls(config, dilation)
        layers["prefinal"] = PrefinalLayer(config)
        layers["output"] = nn.Conv1d(config.prefinal_bottleneck_dim, num_targets, 1)
        self.layers = nn.ModuleDict(layers)
        nn.init.zeros_(self.layers["output"].weight)
        nn.init.zeros_(self.layers["output"].bias)
        context = sum(strides)
        self.left_context = -config.input_splice[0] + context
        self.right_context = config.input_splice[-1] + context
        self.subsampling = f
        self.input_dim = config.feat_dim + config.ivector_dim

    def layer_names(self) -> list[str]:
        return list(self.layers)

    def forward(self, x: torch.Tensor, until: str | None = None) -> torch.Tensor:
        """(B, T + contexts, feat_dim + ivector_dim) -> (B, ceil(T / f), dim)."""
        self.check_until(until)
        h = x.transpose(1, 2)
        for i, (name, layer) in enumerate(self.layers.items()):
            if i == self.switch:
                h = h[:, :, ::self.subsampling]
            h = layer(h)
            if name == until:
                break
        return h.transpose(1, 2)

    def layer_context(self, name: str) -> tuple[int, int, int]:
        self.check_until(name)
        index = self.layer_names().index(name)
        context = sum(self.config.time_strides[:index + 1])
        subsampling = self.subsampling if index >= self.switch else 1
        return (-self.config.input_splice[0] + context, self.config.input_splice[-1] + context,
                subsampling)

    def weight_decay_groups(self) -> list[dict]:
        l2 = {name: self.config.l2_regularize for name in self.layers}
        l2["output"] = self.config.output_l2_regularize
        return l2_groups(self, l2)

    def after_optimizer_step(self, step: int) -> None:
        """Apply the semi-orthogonal constraint every ``orthonormal_period`` steps to the
        weights being trained (frozen ones, requires_grad off, keep their values)."""
        period = self.config.orthonormal_period
        if period and step % period == 0:
            for layer in self.layers.values():
                for weight in getattr(layer, "constrained", list)():
                    if weight.requires_grad:
                        constrain_semi_orthogonal(weight)
