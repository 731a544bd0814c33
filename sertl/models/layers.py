"""Building blocks shared by the acoustic models: batch norm that can synchronise across
data-parallel processes, Kaldi's continuous per-dimension dropout, and Kaldi's
semi-orthogonal constraint for factorised layers.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch import nn


class BatchNorm(nn.BatchNorm1d):
    """Batch norm over every dimension but the channels (dim 1), for 2-d to 4-d inputs.

    With ``sync`` set and a process group of more than one process, the batch statistics
    are summed over all processes (differentiably), so data-parallel training normalises
    with the statistics of the global batch, on CPU (gloo) as on GPU. torch's own
    SyncBatchNorm refuses CPU tensors.
    """

    sync: bool = False

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if not 2 <= input.dim() <= 4:
            raise ValueError(f"BatchNorm: expected a 2-d to 4-d input, got {input.dim()}-d")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and self.sync and dist.is_initialized()
                and dist.get_world_size() > 1):
            return super().forward(x)
        dims = [0] + list(range(2, x.dim()))
        xf = x.float()  # statistics in float32, also under autocast
        count = torch.tensor([x.numel() / x.shape[1]], device=x.device)
        stats = dist_fn.all_reduce(torch.cat([count, xf.sum(dims), (xf * xf).sum(dims)]))
        n = stats[0]
        mean = stats[1:1 + x.shape[1]] / n
        var = stats[1 + x.shape[1]:] / n - mean * mean
        with torch.no_grad():
            self.num_batches_tracked += 1
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(m * mean.detach())
            self.running_var.mul_(1 - m).add_(m * var.detach() * n / (n - 1))
        shape = [1, -1] + [1] * (x.dim() - 2)
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def set_batchnorm_sync(model: nn.Module, sync: bool) -> None:
    """Turn cross-process statistics on or off for every BatchNorm of ``model``."""
    for module in model.modules():
        if isinstance(module, BatchNorm):
            module.sync = sync


class ContinuousDropout(nn.Module):
    """Kaldi's ``dropout-per-dim-continuous``: each channel of each sequence is scaled by
    a factor drawn uniformly from [1 - 2p, 1 + 2p], shared over time; input (B, C, T)."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        mask = torch.rand(x.shape[0], x.shape[1], 1, device=x.device, dtype=x.dtype)
        return x * (1.0 - 2.0 * self.p + 4.0 * self.p * mask)


def set_dropout(model: nn.Module, p: float) -> None:
    """Set the proportion of every dropout module (for a dropout schedule)."""
    for module in model.modules():
        if isinstance(module, (nn.Dropout, ContinuousDropout)):
            module.p = p


@torch.no_grad()
def constrain_semi_orthogonal(weight: torch.Tensor) -> None:
    """One step of Kaldi's floating semi-orthogonal constraint (Povey et al. 2018).

    With M the weight as a matrix (rows <= columns, transposed if needed) and P = M M^T,
    the scale is alpha^2 = tr(P P^T) / tr(P) and the update M <- M - 4 nu (P - alpha^2 I) M
    with nu = 1 / (8 alpha^2) pushes M M^T toward alpha^2 I, quadratically near the
    solution. Far from it (tr(P P^T) rows / tr(P)^2 > 1.1) the step is quartered, so the
    iteration cannot diverge; repeated every few training steps it keeps the factor
    semi-orthogonal up to a freely learned scale.
    """
    m = weight.reshape(weight.shape[0], -1).float()
    if m.shape[0] > m.shape[1]:
        m = m.t()
    p = m @ m.t()
    trace_p = p.trace()
    trace_pp = (p * p).sum()
    alpha2 = trace_pp / trace_p
    ratio = trace_pp * p.shape[0] / (trace_p * trace_p)
    nu = 0.125 / alpha2 * (0.25 if ratio > 1.1 else 1.0)
    p.diagonal().sub_(alpha2)
    m = m - 4.0 * nu * (p @ m)
    if weight.shape[0] > weight[0].numel():
        m = m.t()
    weight.copy_(m.reshape(weight.shape).to(weight.dtype))
