"""The aligner's frame classifier: an MLP over spliced feature frames, and its training.

The classifier maps each frame, with ``context`` frames either side (edges repeat the
first and last frame, as Kaldi's splicing), to posteriors over the HMM targets (phone x
state). Divided by the target priors, they serve as emission likelihoods of the hybrid
HMM (sertl.align.graph). Training is plain frame-level cross-entropy on the current
alignment, with guards against the failures that make Viterbi training from a flat
start unstable: a non-finite loss restores the weights of the start of the epoch and
halves the learning rate (a few times at most), and gradients are clipped.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sertl.progress import Progress

log = logging.getLogger(__name__)

MAX_RETRIES = 3


@dataclass(frozen=True)
class ClassifierConfig:
    """Shape of the MLP: frames of context each side, hidden layers and their width."""
    context: int = 1
    hidden_dim: int = 512
    num_layers: int = 3
    dropout: float = 0.1


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation of one training iteration (Adam on shuffled frames)."""
    epochs: int = 3
    batch_size: int = 256
    learning_rate: float = 1e-3
    max_grad_norm: float = 5.0
    seed: int = 1


class FrameClassifier(nn.Module):
    """MLP: spliced frames -> target logits, with a fixed global input normalisation."""

    def __init__(self, feat_dim: int, num_targets: int, config: ClassifierConfig):
        super().__init__()
        self.context = config.context
        self.register_buffer("feat_mean", torch.zeros(feat_dim))
        self.register_buffer("feat_scale", torch.ones(feat_dim))
        layers: list[nn.Module] = []
        width = (2 * config.context + 1) * feat_dim
        for _ in range(config.num_layers):
            layers += [nn.Linear(width, config.hidden_dim), nn.ReLU(),
                       nn.LayerNorm(config.hidden_dim), nn.Dropout(config.dropout)]
            width = config.hidden_dim
        layers.append(nn.Linear(width, num_targets))
        self.net = nn.Sequential(*layers)

    def set_normalization(self, frames: torch.Tensor) -> None:
        """Per-dimension mean and inverse deviation of the training frames."""
        self.feat_mean.copy_(frames.mean(0))
        self.feat_scale.copy_(1.0 / frames.std(0).clamp_min(1e-3))

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_targets)`` of windows ``(N, 2 * context + 1, feat_dim)``."""
        x = (windows - self.feat_mean) * self.feat_scale
        return self.net(x.flatten(1))

    def utterance_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """Logits of every frame of one utterance ``(T, feat_dim)``."""
        num_frames = len(feats)
        offsets = torch.arange(-self.context, self.context + 1, device=feats.device)
        index = (torch.arange(num_frames, device=feats.device)[:, None] + offsets)
        return self(feats[index.clamp(0, num_frames - 1)])


class FrameSet:
    """The frames of many utterances, kept once, giving spliced windows by frame index."""

    def __init__(self, matrices: Sequence[np.ndarray], context: int):
        padded = [np.pad(m, ((context, context), (0, 0)), mode="edge") for m in matrices]
        self.feats = torch.from_numpy(np.concatenate(padded).astype(np.float32))
        starts = np.cumsum([0] + [len(p) for p in padded[:-1]])
        self.centers = torch.from_numpy(np.concatenate(
            [s + context + np.arange(len(m)) for s, m in zip(starts, matrices)]))
        self.offsets = torch.arange(-context, context + 1)

    def __len__(self) -> int:
        return len(self.centers)

    def windows(self, index: torch.Tensor) -> torch.Tensor:
        """Windows ``(len(index), 2 * context + 1, feat_dim)`` of frames ``index``."""
        return self.feats[self.centers[index][:, None] + self.offsets]

    def frames(self) -> torch.Tensor:
        """Every frame without context ``(N, feat_dim)``."""
        return self.feats[self.centers]


@dataclass(frozen=True)
class TrainStats:
    """Average cross-entropy and frame accuracy of the last epoch, on its frames, and the
    frame accuracy on held-out utterances (None when there were none)."""
    loss: float
    accuracy: float
    frames: int
    heldout_accuracy: float | None = None
    heldout_frames: int = 0


class NonFiniteLoss(ArithmeticError):
    """A NaN or infinite training loss."""


def train_classifier(model: FrameClassifier, frames: FrameSet, targets: torch.Tensor,
                     config: TrainConfig, device: torch.device,
                     name: str = "train") -> TrainStats:
    """Train ``model`` in place for ``config.epochs`` epochs; stats of the last one."""
    if len(targets) != len(frames):
        raise ValueError(f"{len(targets)} targets for {len(frames)} frames")
    generator = torch.Generator().manual_seed(config.seed)
    model.to(device)
    lr = config.learning_rate
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    stats = TrainStats(float("nan"), 0.0, 0)
    for epoch in range(1, config.epochs + 1):
        for attempt in range(MAX_RETRIES + 1):
            saved = copy.deepcopy((model.state_dict(), optimizer.state_dict()))
            try:
                stats = _epoch(model, optimizer, frames, targets, config, device, generator,
                               f"{name} epoch {epoch}")
                break
            except NonFiniteLoss as e:
                if attempt == MAX_RETRIES:
                    raise NonFiniteLoss(f"{name} epoch {epoch}: {e}; gave up after "
                                        f"{MAX_RETRIES} retries") from None
                lr /= 2
                model.load_state_dict(saved[0])
                optimizer.load_state_dict(saved[1])
                for group in optimizer.param_groups:
                    group["lr"] = lr
                log.warning("%s epoch %d: %s; retrying with learning rate %g",
                            name, epoch, e, lr)
        log.info("%s epoch %d: loss %.4f, frame accuracy %.2f%%", name, epoch, stats.loss,
                 100 * stats.accuracy)
    return stats


def _epoch(model: FrameClassifier, optimizer: torch.optim.Optimizer, frames: FrameSet,
           targets: torch.Tensor, config: TrainConfig, device: torch.device,
           generator: torch.Generator, name: str) -> TrainStats:
    """One pass over the shuffled frames."""
    model.train()
    order = torch.randperm(len(frames), generator=generator)
    progress = Progress(name, len(order))
    total_loss, correct = 0.0, 0
    for batch in order.split(config.batch_size):
        x = frames.windows(batch).to(device)
        y = targets[batch].to(device)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        if not torch.isfinite(loss):
            raise NonFiniteLoss(f"loss is {loss.item()} after {progress.done} frames")
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        total_loss += loss.item() * len(batch)
        correct += int((logits.argmax(1) == y).sum())
        progress.update(len(batch))
    progress.finish()
    return TrainStats(total_loss / len(order), correct / len(order), len(order))


@torch.no_grad()
def frame_accuracy(model: FrameClassifier, frames: FrameSet, targets: torch.Tensor,
                   device: torch.device, batch_size: int = 4096) -> float:
    """Fraction of ``frames`` whose most likely target is ``targets``' (eval mode)."""
    model.eval()
    correct = 0
    for batch in torch.arange(len(frames)).split(batch_size):
        logits = model(frames.windows(batch).to(device))
        correct += int((logits.argmax(1).cpu() == targets[batch]).sum())
    model.train()
    return correct / max(len(frames), 1)


def log_priors(targets: torch.Tensor, num_targets: int, floor: float) -> torch.Tensor:
    """Log relative frequencies of the targets, floored so that a rare or unseen target
    cannot get an unbounded likelihood (posterior / prior)."""
    counts = torch.bincount(targets, minlength=num_targets).double()
    priors = (counts / counts.sum()).clamp_min(floor)
    return (priors / priors.sum()).log().float()
