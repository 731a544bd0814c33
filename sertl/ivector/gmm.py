"""Diagonal-covariance GMM, the UBM of i-vector extraction: likelihoods, Gaussian
selection, frame posteriors, EM statistics and update, initialisation by splitting.

Follows Kaldi's DiagGmm and its gmm-global-* tools. Log-likelihoods of a whole batch of
frames against all Gaussians are two matrix products (in float32, as Kaldi's BaseFloat),
so the same code runs on CPU and GPU; statistics are summed in float64.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable

import torch

from sertl.ivector.store import ModelError, load_arrays, save_arrays

LOG_2PI = math.log(2.0 * math.pi)
UBM_KIND = "diag-ubm"
STATS_KIND = "diag-ubm-stats"
CHUNK_FRAMES = 16384  # frames per matrix product: bounds memory at CHUNK_FRAMES x num_gauss


@dataclass
class DiagGmm:
    """Weights (C,), means (C, D) and variances (C, D) of a diagonal GMM, float32."""
    weights: torch.Tensor
    means: torch.Tensor
    variances: torch.Tensor

    @property
    def num_gauss(self) -> int:
        return self.means.shape[0]

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def to(self, device: torch.device) -> DiagGmm:
        return DiagGmm(*(t.to(device=device, dtype=torch.float32)
                         for t in (self.weights, self.means, self.variances)))

    def log_normalisers(self) -> torch.Tensor:
        """log w_c - 0.5 (D log 2 pi + sum log var_c), per Gaussian."""
        return self.weights.log() - 0.5 * (self.dim * LOG_2PI + self.variances.log().sum(1))

    def log_likelihoods(self, x: torch.Tensor) -> torch.Tensor:
        """log(w_c N(x_t; mu_c, var_c)) of every frame against every Gaussian, (T, C)."""
        x = x.to(self.means)
        inv_var = 1.0 / self.variances
        gconsts = self.log_normalisers() - 0.5 * (self.means ** 2 * inv_var).sum(1)
        return gconsts + x @ (self.means * inv_var).T - 0.5 * (x * x) @ inv_var.T

    def selected_log_likelihoods(self, x: torch.Tensor, gselect: torch.Tensor) -> torch.Tensor:
        """log(w_c N(x_t; mu_c, var_c)) for the Gaussians ``gselect[t]`` of each frame, (T, n)."""
        x = x.to(self.means)
        diff = x[:, None, :] - self.means[gselect]
        return (self.log_normalisers()[gselect]
                - 0.5 * (diff * diff / self.variances[gselect]).sum(-1))

    def gselect(self, x: torch.Tensor, num_gselect: int) -> torch.Tensor:
        """The indices of the ``num_gselect`` most likely Gaussians of each frame, (T, n)."""
        n = min(num_gselect, self.num_gauss)
        return torch.cat([self.log_likelihoods(chunk).topk(n, dim=1).indices
                          for chunk in x.split(CHUNK_FRAMES)])


def top_posteriors(loglikes: torch.Tensor, num_select: int,
                   min_post: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparse frame posteriors as Kaldi's gmm-global-get-post: the ``num_select`` best
    Gaussians of each frame, normalised among themselves; those below ``min_post`` are
    dropped (never the best one) and the rest renormalised. Returns ``(index, post)``,
    both (T, n), with 0 posterior for the dropped entries."""
    values, index = loglikes.topk(min(num_select, loglikes.shape[1]), dim=1)
    post = torch.softmax(values.double(), dim=1)
    if min_post > 0:
        keep = post >= min_post
        keep[:, 0] = True
        post = post * keep
        post = post / post.sum(1, keepdim=True)
    return index, post


@dataclass
class GmmStats:
    """EM statistics of a diagonal GMM: occupancy (C,), sum of post*x and post*x^2 (C, D),
    and the total log-likelihood of the frames they came from."""
    occupancy: torch.Tensor
    first: torch.Tensor
    second: torch.Tensor
    log_like: float = 0.0
    num_frames: int = 0

    @classmethod
    def zeros(cls, num_gauss: int, dim: int, device: torch.device | str = "cpu") -> GmmStats:
        z = torch.zeros(num_gauss, dim, dtype=torch.float64, device=device)
        return cls(torch.zeros(num_gauss, dtype=torch.float64, device=device), z, z.clone())

    def add_frames(self, x: torch.Tensor, post: torch.Tensor, frame_log_like: torch.Tensor) -> None:
        """Add frames ``x`` (T, D) with dense posteriors ``post`` (T, C)."""
        post = post.to(x.dtype)
        self.occupancy += post.sum(0).double()
        self.first += (post.T @ x).double()
        self.second += (post.T @ (x * x)).double()
        self.log_like += float(frame_log_like.double().sum())
        self.num_frames += x.shape[0]

    def __add__(self, other: GmmStats) -> GmmStats:
        return GmmStats(self.occupancy + other.occupancy, self.first + other.first,
                        self.second + other.second, self.log_like + other.log_like,
                        self.num_frames + other.num_frames)

    def save(self, path: str | os.PathLike) -> None:
        save_arrays(path, STATS_KIND, {"occupancy": self.occupancy, "first": self.first,
                                       "second": self.second},
                    {"log_like": self.log_like, "num_frames": self.num_frames})

    @classmethod
    def load(cls, path: str | os.PathLike) -> GmmStats:
        arrays, options = load_arrays(path, STATS_KIND)
        return cls(*(torch.from_numpy(arrays[k]) for k in ("occupancy", "first", "second")),
                   log_like=options["log_like"], num_frames=options["num_frames"])


def accumulate(gmm: DiagGmm, stats: GmmStats, x: torch.Tensor,
               gselect: torch.Tensor | None = None) -> None:
    """E-step on frames ``x`` (T, D): posteriors over all Gaussians, or over the Gaussians
    ``gselect`` (T, n) of each frame only (Kaldi's gmm-global-acc-stats --gselect)."""
    x = x.to(gmm.means)
    for start in range(0, x.shape[0], CHUNK_FRAMES):
        chunk = x[start:start + CHUNK_FRAMES]
        if gselect is None:
            loglikes = gmm.log_likelihoods(chunk)
            total = loglikes.logsumexp(1)
            post = (loglikes - total[:, None]).exp()
        else:
            index = gselect[start:start + CHUNK_FRAMES]
            loglikes = gmm.selected_log_likelihoods(chunk, index)
            total = loglikes.logsumexp(1)
            post = torch.zeros(chunk.shape[0], gmm.num_gauss, device=x.device).scatter_(
                1, index, (loglikes - total[:, None]).exp())
        stats.add_frames(chunk, post, total)


@dataclass(frozen=True)
class UpdateOptions:
    """Kaldi's MleDiagGmmOptions as steps/online/nnet2/train_diag_ubm.sh sets them."""
    min_gaussian_weight: float = 1.0e-4
    min_gaussian_occupancy: float = 10.0
    min_variance: float = 1.0e-3


def update(gmm: DiagGmm, stats: GmmStats, opts: UpdateOptions = UpdateOptions()) -> DiagGmm:
    """M-step. Weights are floored at ``min_gaussian_weight`` and renormalised; a Gaussian
    with occupancy below ``min_gaussian_occupancy`` keeps its mean and variance (Kaldi with
    --remove-low-count-gaussians=false); variances are floored at ``min_variance``."""
    occ = stats.occupancy.to(gmm.means.device)
    if float(occ.sum()) <= 0:
        raise ModelError("no frames in the statistics: cannot update the GMM")
    weights = (occ / occ.sum()).clamp_min(opts.min_gaussian_weight)
    weights = weights / weights.sum()
    enough = (occ >= opts.min_gaussian_occupancy)[:, None]
    safe_occ = occ.clamp_min(1e-10)[:, None]
    means = stats.first.to(occ.device) / safe_occ
    variances = stats.second.to(occ.device) / safe_occ - means ** 2
    means = torch.where(enough, means, gmm.means.double())
    variances = torch.where(enough, variances, gmm.variances.double()).clamp_min(opts.min_variance)
    return DiagGmm(weights.float(), means.float(), variances.float())


def split(gmm: DiagGmm, target: int, generator: torch.Generator,
          perturb: float = 0.2) -> DiagGmm:
    """Split the heaviest Gaussians until there are ``target``: each becomes two with half
    its weight and means moved by +-``perturb`` standard deviations along a random
    direction (Kaldi's DiagGmm::Split)."""
    while gmm.num_gauss < target:
        k = min(gmm.num_gauss, target - gmm.num_gauss)
        heaviest = gmm.weights.topk(k).indices
        direction = torch.randn(k, gmm.dim, generator=generator).to(gmm.means)
        offset = perturb * direction * gmm.variances[heaviest].sqrt()
        weights = gmm.weights.clone()
        weights[heaviest] /= 2
        means = gmm.means.clone()
        means[heaviest] += offset
        gmm = DiagGmm(torch.cat([weights, weights[heaviest]]),
                      torch.cat([means, gmm.means[heaviest] - offset]),
                      torch.cat([gmm.variances, gmm.variances[heaviest]]))
    return gmm


def init_from_frames(frames: torch.Tensor, num_gauss: int, num_iters: int,
                     generator: torch.Generator, opts: UpdateOptions = UpdateOptions(),
                     log: Callable[[str], None] = lambda line: None) -> DiagGmm:
    """Train a GMM on ``frames`` (N, D) from one Gaussian, as Kaldi's
    gmm-global-init-from-feats: in the first half of the ``num_iters`` EM iterations the
    number of Gaussians grows geometrically to ``num_gauss`` by splitting; the second
    half is plain EM."""
    if frames.shape[0] < num_gauss:
        raise ModelError(f"{frames.shape[0]} frames are too few for {num_gauss} Gaussians")
    x = frames.float()
    gmm = DiagGmm(torch.ones(1, device=x.device), x.mean(0, keepdim=True),
                  x.var(0, unbiased=False, keepdim=True).clamp_min(opts.min_variance))
    split_iters = max(1, num_iters // 2)
    for it in range(num_iters):
        if it < split_iters:
            target = math.ceil(num_gauss ** ((it + 1) / split_iters) - 1e-9)
            gmm = split(gmm, min(target, num_gauss), generator)
        stats = GmmStats.zeros(gmm.num_gauss, gmm.dim, x.device)
        accumulate(gmm, stats, x)
        gmm = update(gmm, stats, opts)
        log(f"init iteration {it}: {gmm.num_gauss} Gaussians, log-likelihood per frame "
            f"{stats.log_like / stats.num_frames:.4f}")
    return gmm


def save_ubm(gmm: DiagGmm, path: str | os.PathLike, options: dict[str, object]) -> None:
    """Write a UBM file (kind ``diag-ubm``) with its feature options."""
    save_arrays(path, UBM_KIND, {"weights": gmm.weights, "means": gmm.means,
                                 "variances": gmm.variances}, options)


def load_ubm(path: str | os.PathLike) -> tuple[DiagGmm, dict]:
    """Read a UBM file: the GMM (on the CPU) and its feature options."""
    arrays, options = load_arrays(path, UBM_KIND)
    return DiagGmm(*(torch.from_numpy(arrays[k]).float()
                     for k in ("weights", "means", "variances"))), options
