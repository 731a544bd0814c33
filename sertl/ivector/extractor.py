"""The i-vector extractor (total-variability model) as Kaldi's IvectorExtractor: Baum-Welch
statistics, i-vector posteriors, and EM training of the T matrix.

Model (Kaldi's, without Gaussian-weight modelling, ``--use-weights=false``): for UBM
Gaussian c the mean of an utterance's features is ``M_c w``, where the i-vector ``w``
(R-dim) has the prior N(prior_offset e_1, I) and each frame's covariance is the full
matrix Sigma_c. The first i-vector dimension, times ``prior_offset``, carries the UBM
mean, so statistics need no centring. Frame-to-Gaussian posteriors come from the diagonal
UBM (top ``num_gselect`` Gaussians, ``min_post`` pruning, times ``posterior_scale``) and
stay fixed; given them, the i-vector posterior is Gaussian with precision
``P = I + sum_c gamma_c M_c^T Sigma_c^-1 M_c`` and mean ``P^-1 (sum_c M_c^T Sigma_c^-1 f_c
+ prior_offset e_1)`` for zeroth- and first-order statistics gamma_c, f_c. Extracted
i-vectors have ``prior_offset`` subtracted from their first dimension, as Kaldi's.

One EM iteration (Kaldi's ivector-extractor-acc-stats / -est): M_c = Y_c R_c^-1 and
Sigma_c = (S_c - M_c Y_c^T - Y_c M_c^T + M_c R_c M_c^T) / gamma_c (floored at
``variance_floor_factor`` times the average covariance); a Gaussian counted less than
``gaussian_min_count`` keeps its parameters. Then the prior is re-estimated from the
i-vector posteriors and folded into M by a linear transform (minimum divergence), so the
prior stays N(prior_offset e_1, I) with a new ``prior_offset``. The EM objective, the
log-likelihood of the statistics given the model, is computed exactly in the E-step and
rises every iteration.

All i-vector algebra is in float64, batched over utterances (or over the prefixes of one
utterance for online i-vectors), on CPU or GPU.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from sertl.ivector.frames import FeatureOptions
from sertl.ivector.gmm import LOG_2PI, DiagGmm, top_posteriors
from sertl.ivector.store import ModelError, load_arrays, save_arrays

EXTRACTOR_KIND = "ivector-extractor"
STATS_KIND = "ivector-extractor-stats"
PRIOR_OFFSET = 100.0  # Kaldi's initial (hard-wired) prior offset
OUTER_CHUNK = 4096  # frames per batch of outer products for the second-order statistics


@dataclass(frozen=True)
class PosteriorOptions:
    """How frames are assigned to UBM Gaussians (Kaldi's nnet2 online defaults)."""
    num_gselect: int = 5
    min_post: float = 0.025
    posterior_scale: float = 0.1

    def as_dict(self) -> dict[str, float]:
        return {"num_gselect": self.num_gselect, "min_post": self.min_post,
                "posterior_scale": self.posterior_scale}

    @classmethod
    def from_dict(cls, options: dict) -> PosteriorOptions:
        return cls(int(options["num_gselect"]), float(options["min_post"]),
                   float(options["posterior_scale"]))


@dataclass
class IvectorPosterior:
    """Posteriors of a batch of i-vectors: mean (B, R) including the prior offset,
    covariance (B, R, R), the linear term b (B, R) and log det of the precision (B,)."""
    mean: torch.Tensor
    covariance: torch.Tensor
    linear: torch.Tensor
    logdet_precision: torch.Tensor


class IvectorExtractor:
    """M (C, D, R), Sigma^-1 (C, D, D) and the prior offset, with the diagonal UBM that
    assigns frames to Gaussians and the options it was trained with."""

    def __init__(self, ubm: DiagGmm, M: torch.Tensor, sigma_inv: torch.Tensor,
                 prior_offset: float, posterior: PosteriorOptions, features: FeatureOptions):
        if M.shape[:2] != ubm.means.shape or sigma_inv.shape[1:] != (ubm.dim, ubm.dim):
            raise ModelError(f"extractor shapes M {tuple(M.shape)}, Sigma^-1 "
                             f"{tuple(sigma_inv.shape)} do not fit a UBM of "
                             f"{ubm.num_gauss} x {ubm.dim}")
        self.ubm = ubm
        self.M = M.double()
        self.sigma_inv = sigma_inv.double()
        self.prior_offset = float(prior_offset)
        self.posterior_options = posterior
        self.features = features
        self.sigma_inv_M = self.sigma_inv @ self.M
        self.U = self.M.transpose(1, 2) @ self.sigma_inv_M
        self.logdet_sigma_inv = torch.linalg.slogdet(self.sigma_inv)[1]

    @property
    def num_gauss(self) -> int:
        return self.M.shape[0]

    @property
    def dim(self) -> int:
        return self.M.shape[1]

    @property
    def ivector_dim(self) -> int:
        return self.M.shape[2]

    @property
    def device(self) -> torch.device:
        return self.M.device

    def to(self, device: torch.device) -> IvectorExtractor:
        return IvectorExtractor(self.ubm.to(device), self.M.to(device),
                                self.sigma_inv.to(device), self.prior_offset,
                                self.posterior_options, self.features)

    @classmethod
    def from_ubm(cls, ubm: DiagGmm, ivector_dim: int, posterior: PosteriorOptions,
                 features: FeatureOptions, generator: torch.Generator) -> IvectorExtractor:
        """Kaldi's initial extractor: Sigma_c from the UBM variances, the first column of
        M_c the UBM mean divided by the prior offset, the other columns N(0, 1)."""
        if ivector_dim < 2:
            raise ModelError(f"--ivector-dim must be at least 2, got {ivector_dim}")
        M = torch.randn(ubm.num_gauss, ubm.dim, ivector_dim, generator=generator,
                        dtype=torch.float64)
        M[:, :, 0] = ubm.means.double().cpu() / PRIOR_OFFSET
        sigma_inv = torch.diag_embed(1.0 / ubm.variances.double().cpu())
        return cls(ubm, M.to(ubm.means.device), sigma_inv.to(ubm.means.device),
                   PRIOR_OFFSET, posterior, features)

    # ------------------------------------------------------------------ statistics

    def frame_posteriors(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scaled sparse UBM posteriors of frames ``x``: ``(index, post)``, each (T, n)."""
        o = self.posterior_options
        index, post = top_posteriors(self.ubm.log_likelihoods(x), o.num_gselect, o.min_post)
        return index, post * o.posterior_scale

    def row_stats(self, x: torch.Tensor, rows: torch.Tensor, num_rows: int,
                  index: torch.Tensor, post: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Zeroth- (num_rows, C) and first-order (num_rows, C, D) statistics of frames ``x``
        summed per row: frame t goes to row ``rows[t]`` (an utterance, or a block of an
        utterance for online i-vectors)."""
        C, D = self.num_gauss, self.dim
        flat = (rows[:, None] * C + index).reshape(-1)
        weights = post.reshape(-1)
        gamma = torch.zeros(num_rows * C, dtype=torch.float64, device=x.device)
        gamma.index_add_(0, flat, weights)
        first = torch.zeros(num_rows * C, D, dtype=torch.float64, device=x.device)
        first.index_add_(0, flat, weights[:, None] * x.repeat_interleave(index.shape[1], 0))
        return gamma.view(num_rows, C), first.view(num_rows, C, D)

    def stats(self, x: torch.Tensor, rows: torch.Tensor,
              num_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        """UBM posteriors and per-row statistics (see row_stats) of frames ``x`` (T, D)."""
        x = x.to(self.device)
        index, post = self.frame_posteriors(x)
        return self.row_stats(x.double(), rows.to(self.device), num_rows, index, post)

    # ------------------------------------------------------------------ i-vectors

    def _system(self, gamma: torch.Tensor, first: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Precision I + sum_c gamma_c U_c (B, R, R) and linear term (B, R) of each row."""
        B, R = gamma.shape[0], self.ivector_dim
        precision = (gamma @ self.U.reshape(self.num_gauss, R * R)).view(B, R, R)
        precision = precision + torch.eye(R, dtype=torch.float64, device=gamma.device)
        linear = first.reshape(B, -1) @ self.sigma_inv_M.reshape(-1, R)
        linear[:, 0] += self.prior_offset
        return precision, linear

    def posterior(self, gamma: torch.Tensor, first: torch.Tensor) -> IvectorPosterior:
        """The i-vector posterior of each row of statistics gamma (B, C), first (B, C, D)."""
        precision, linear = self._system(gamma, first)
        chol = torch.linalg.cholesky(precision)
        mean = torch.cholesky_solve(linear[:, :, None], chol)[:, :, 0]
        return IvectorPosterior(mean, torch.cholesky_inverse(chol), linear,
                                2.0 * chol.diagonal(dim1=1, dim2=2).log().sum(1))

    def ivectors(self, gamma: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        """I-vectors (posterior means, prior offset removed from dimension 1), (B, R)."""
        precision, linear = self._system(gamma, first)
        mean = torch.cholesky_solve(linear[:, :, None], torch.linalg.cholesky(precision))[:, :, 0]
        mean[:, 0] -= self.prior_offset
        return mean

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> None:
        """Write an extractor file (kind ``ivector-extractor``, see sertl/ivector/__init__.py)."""
        save_arrays(path, EXTRACTOR_KIND,
                    {"M": self.M, "sigma_inv": self.sigma_inv,
                     "prior_offset": torch.tensor(self.prior_offset, dtype=torch.float64),
                     "ubm_weights": self.ubm.weights, "ubm_means": self.ubm.means,
                     "ubm_variances": self.ubm.variances},
                    {**self.posterior_options.as_dict(), **self.features.as_dict()})

    @classmethod
    def load(cls, path: str | os.PathLike) -> IvectorExtractor:
        """Read an extractor file onto the CPU."""
        a, options = load_arrays(path, EXTRACTOR_KIND)
        t = {k: torch.from_numpy(v) for k, v in a.items()}
        ubm = DiagGmm(t["ubm_weights"].float(), t["ubm_means"].float(), t["ubm_variances"].float())
        try:
            return cls(ubm, t["M"], t["sigma_inv"], float(t["prior_offset"]),
                       PosteriorOptions.from_dict(options), FeatureOptions.from_dict(options))
        except ModelError as e:
            raise ModelError(f"{path}: {e}") from e


class ExtractorStats:
    """Sufficient statistics of one EM iteration, summed over utterances (and jobs):
    gamma (C,), Y = sum f_c w^T (C, D, R), R = sum gamma_c E[w w^T] (C, R, R),
    S = sum post x x^T (C, D, D), sum and scatter of the i-vectors, and the objective."""

    ARRAYS = ("gamma", "Y", "R", "S", "ivector_sum", "ivector_scatter")

    def __init__(self, C: int, D: int, R: int, device: torch.device | str = "cpu"):
        z = {"dtype": torch.float64, "device": device}
        self.gamma = torch.zeros(C, **z)
        self.Y = torch.zeros(C, D, R, **z)
        self.R = torch.zeros(C, R, R, **z)
        self.S = torch.zeros(C, D, D, **z)
        self.ivector_sum = torch.zeros(R, **z)
        self.ivector_scatter = torch.zeros(R, R, **z)
        self.num_ivectors = 0
        self.num_frames = 0
        self.objective = 0.0

    def accumulate(self, extractor: IvectorExtractor, utterances: list[torch.Tensor]) -> None:
        """E-step on a batch of utterances (each a (T, D) frame tensor)."""
        ex = extractor
        x = torch.cat(utterances).to(ex.device)
        lengths = torch.tensor([len(u) for u in utterances], device=ex.device)
        rows = torch.repeat_interleave(torch.arange(len(utterances), device=ex.device), lengths)
        index, post = ex.frame_posteriors(x)
        x = x.double()
        gamma, first = ex.row_stats(x, rows, len(utterances), index, post)
        S = self._second_order(x, index, post)
        p = ex.posterior(gamma, first)
        second_moment = p.covariance + p.mean[:, :, None] * p.mean[:, None, :]
        B, C, R = len(utterances), ex.num_gauss, ex.ivector_dim
        self.gamma += gamma.sum(0)
        self.Y += (first.reshape(B, -1).T @ p.mean).view(C, ex.dim, R)
        self.R += (gamma.T @ second_moment.reshape(B, R * R)).view(C, R, R)
        self.S += S
        self.ivector_sum += p.mean.sum(0)
        self.ivector_scatter += second_moment.sum(0)
        self.num_ivectors += B
        self.num_frames += x.shape[0]
        self.objective += float(
            0.5 * (p.linear * p.mean).sum() - 0.5 * p.logdet_precision.sum()
            - 0.5 * B * ex.prior_offset ** 2
            + (gamma.sum(0) * (0.5 * ex.logdet_sigma_inv - 0.5 * ex.dim * LOG_2PI)).sum()
            - 0.5 * (ex.sigma_inv * S).sum())

    def _second_order(self, x: torch.Tensor, index: torch.Tensor,
                      post: torch.Tensor) -> torch.Tensor:
        """sum_t post_tc x_t x_t^T for every Gaussian c, (C, D, D)."""
        C, D = self.S.shape[0], self.S.shape[1]
        S = torch.zeros(C, D * D, dtype=torch.float64, device=x.device)
        for start in range(0, x.shape[0], OUTER_CHUNK):
            xc = x[start:start + OUTER_CHUNK]
            outer = (xc[:, :, None] * xc[:, None, :]).reshape(len(xc), D * D)
            for j in range(index.shape[1]):
                S.index_add_(0, index[start:start + OUTER_CHUNK, j],
                             post[start:start + OUTER_CHUNK, j, None] * outer)
        return S.view(C, D, D)

    def __iadd__(self, other: ExtractorStats) -> ExtractorStats:
        for name in self.ARRAYS:
            getattr(self, name).add_(getattr(other, name).to(getattr(self, name).device))
        self.num_ivectors += other.num_ivectors
        self.num_frames += other.num_frames
        self.objective += other.objective
        return self

    def save(self, path: str | os.PathLike) -> None:
        save_arrays(path, STATS_KIND, {name: getattr(self, name) for name in self.ARRAYS},
                    {"num_ivectors": self.num_ivectors, "num_frames": self.num_frames,
                     "objective": self.objective})

    @classmethod
    def load(cls, path: str | os.PathLike) -> ExtractorStats:
        arrays, options = load_arrays(path, STATS_KIND)
        C, D, R = arrays["Y"].shape
        stats = cls(C, D, R)
        for name in cls.ARRAYS:
            setattr(stats, name, torch.from_numpy(arrays[name]))
        stats.num_ivectors = options["num_ivectors"]
        stats.num_frames = options["num_frames"]
        stats.objective = options["objective"]
        return stats


@dataclass(frozen=True)
class UpdateOptions:
    """Kaldi's IvectorExtractorEstimationOptions."""
    gaussian_min_count: float = 100.0
    variance_floor_factor: float = 0.1


def update(ex: IvectorExtractor, stats: ExtractorStats,
           opts: UpdateOptions = UpdateOptions()) -> IvectorExtractor:
    """M-step: new projections, covariances and prior (see the module docstring)."""
    s = _on_device(stats, ex.device)
    trained = s.gamma >= opts.gaussian_min_count
    if not bool(trained.any()):
        raise ModelError(f"no Gaussian has a count of --gaussian-min-count "
                         f"{opts.gaussian_min_count} (largest {float(s.gamma.max()):.1f}); "
                         f"more data or a lower --gaussian-min-count")
    keep = trained[:, None, None]
    eye = torch.eye(ex.ivector_dim, dtype=torch.float64, device=ex.device)
    M = torch.linalg.solve(torch.where(keep, s.R, eye), s.Y.transpose(1, 2)).transpose(1, 2)
    M = torch.where(keep, M, ex.M)
    MYt = M @ s.Y.transpose(1, 2)
    sigma = (s.S - MYt - MYt.transpose(1, 2) + M @ s.R @ M.transpose(1, 2))
    sigma = sigma / s.gamma.clamp_min(1e-10)[:, None, None]
    sigma = torch.where(keep, 0.5 * (sigma + sigma.transpose(1, 2)), torch.linalg.inv(ex.sigma_inv))
    weights = torch.where(trained, s.gamma, torch.zeros_like(s.gamma))
    floor = opts.variance_floor_factor * (weights[:, None, None] * sigma).sum(0) / weights.sum()
    sigma_inv = torch.linalg.inv(apply_floor(sigma, floor))
    sigma_inv = torch.where(keep, 0.5 * (sigma_inv + sigma_inv.transpose(1, 2)), ex.sigma_inv)
    inverse_transform, prior_offset = prior_transform(s)
    return IvectorExtractor(ex.ubm, M @ inverse_transform, sigma_inv, prior_offset,
                            ex.posterior_options, ex.features)


def _on_device(stats: ExtractorStats, device: torch.device) -> ExtractorStats:
    C, D, R = stats.Y.shape
    moved = ExtractorStats(C, D, R, device)
    moved += stats
    return moved


def apply_floor(sigma: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """Floor covariances (C, D, D) at ``floor`` (D, D) in the matrix sense, as Kaldi's
    SpMatrix::ApplyFloor: eigenvalues of L^-1 Sigma L^-T (floor = L L^T) at least 1."""
    L = torch.linalg.cholesky(floor)
    L_inv = torch.linalg.inv(L)
    eigenvalues, vectors = torch.linalg.eigh(L_inv @ sigma @ L_inv.T)
    scaled = (vectors * eigenvalues.clamp_min(1.0)[:, None, :]) @ vectors.transpose(1, 2)
    return L @ scaled @ L.T


def prior_transform(stats: ExtractorStats) -> tuple[torch.Tensor, float]:
    """Kaldi's IvectorExtractorStats::UpdatePrior: a transform w' = T w that makes the
    i-vectors' mean (prior_offset', 0, ...) and their covariance I. Returns T^-1 (R, R),
    by which M is multiplied so that M w stays the same, and the new prior offset."""
    R = stats.ivector_sum.shape[0]
    mean = stats.ivector_sum / stats.num_ivectors
    covariance = stats.ivector_scatter / stats.num_ivectors - torch.outer(mean, mean)
    eigenvalues, P = torch.linalg.eigh(covariance)
    eigenvalues = eigenvalues.clamp_min(1e-7)
    projected = (P.T @ mean) / eigenvalues.sqrt()
    offset = float(projected.norm())
    if offset == 0.0:
        raise ModelError("all i-vectors are zero: cannot re-estimate the prior")
    v = projected.clone()
    v[0] -= offset
    householder = torch.eye(R, dtype=torch.float64, device=v.device)
    if float(v.norm()) > 1e-12 * offset:
        householder -= 2.0 * torch.outer(v, v) / (v @ v)
    return (P * eigenvalues.sqrt()) @ householder, offset

