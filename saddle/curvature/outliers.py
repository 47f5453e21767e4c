"""A Hessian spectrum as bulk plus outliers, and a stochastic Lanczos quadrature (SLQ) density
against the exact spectrum.

``count_outliers`` splits a spectrum ``[d]`` into outliers and bulk at each end by the
largest ratio gap between consecutive eigenvalues (a gap on a log scale), the
eigenvalue-ratio rule of Ahn & Horenstein (2013), "Eigenvalue ratio test for the number of
factors", Econometrica 81(3), with a ratio threshold so that a continuous end has none.
``wasserstein1``, ``smoothed_ks`` and ``slq_moments`` measure how far a
``saddle.curvature.SpectralDensity`` is from the spectral measure ``(1/d) Σᵢ δ(λᵢ)``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import scipy.special
import scipy.stats

from saddle._checks import positive_float, positive_int

__all__ = ["Outliers", "count_outliers", "slq_moments", "smoothed_ks", "wasserstein1"]


class Outliers(NamedTuple):
    """Outliers at both ends of a spectrum (``count_outliers``).

    top, bottom: how many eigenvalues lie above (below) the bulk.  top_ratio,
    bottom_ratio: the largest ratio ``μ_k/μ_{k+1}`` of distances from the centre found at
    that end (the gap the split was decided on; NaN where no distance passed the floor, inf
    where nothing lies between the last candidate and the centre).
    upper_edge, lower_edge: the bulk's largest and smallest eigenvalue.
    """

    top: int
    bottom: int
    top_ratio: float
    bottom_ratio: float
    upper_edge: float
    lower_edge: float


def _spectrum(eigenvalues: Any, name: str = "eigenvalues") -> np.ndarray:
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.ndim != 1 or lam.size < 2:
        raise ValueError(f"{name} must have shape [d] with d >= 2, got shape {lam.shape}")
    if not np.all(np.isfinite(lam)):
        raise ValueError(f"{name} holds {int(np.sum(~np.isfinite(lam)))} non-finite value(s)")
    return np.sort(lam)


def _end(dist: np.ndarray, cut: float, window: int, min_ratio: float) -> tuple[int, float]:
    """``(k, ratio)`` at one end from its distances ``dist`` > 0 from the centre."""
    dist = np.sort(dist)[::-1]
    mu, rest = dist[dist > cut], dist[dist <= cut]
    if mu.size == 0:
        return 0, math.nan
    below = mu[window] if mu.size > window else (rest[0] if rest.size else 0.0)
    vals = np.append(mu[:window], below)
    with np.errstate(divide="ignore"):
        ratios = vals[:-1] / vals[1:]
    k = int(np.argmax(ratios))
    return (k + 1 if ratios[k] >= min_ratio else 0), float(ratios[k])


def count_outliers(eigenvalues: Any, *, window: int = 100, min_ratio: float = 2.0,
                   floor: float = 1e-2) -> Outliers:
    """Outliers of the spectrum ``eigenvalues`` ``[d]`` at its top and bottom end.

    Distances from the bulk's centre m (the median eigenvalue): top end ``μ_k = λ − m``
    for λ > m, descending, bottom end ``m − λ``.  Candidates are the distances above
    ``floor`` × the largest distance at either end, at most ``window`` of them, followed by
    the next distance (or 0 where none).  The largest ratio ``μ_k/μ_{k+1}`` among them (a
    gap on a log scale) marks the bulk edge, and the k eigenvalues beyond it are outliers
    when that ratio is at least ``min_ratio``, none otherwise.  The floor keeps the part of
    the bulk next to its centre, where ratios of tiny distances mean nothing, from being
    called outliers; a bulk of exact zeros gives an infinite ratio below its outliers.

    References: Ahn & Horenstein (2013), Econometrica 81(3), 1203–1227 (the ratio rule).
    """
    lam = _spectrum(eigenvalues)
    window = positive_int(window, "window")
    min_ratio = positive_float(min_ratio, "min_ratio")
    if min_ratio <= 1:
        raise ValueError(f"min_ratio must be > 1 (a ratio of consecutive eigenvalues), got "
                         f"{min_ratio}")
    floor = positive_float(floor, "floor")
    if floor >= 1:
        raise ValueError(f"floor must be < 1 (a fraction of the largest distance from the "
                         f"median), got {floor}")
    m = float(np.median(lam))
    cut = floor * float(max(lam[-1] - m, m - lam[0]))
    top, top_ratio = _end(lam[lam > m] - m, cut, window, min_ratio)
    bottom, bottom_ratio = _end(m - lam[lam < m], cut, window, min_ratio)
    return Outliers(top, bottom, top_ratio, bottom_ratio, float(lam[lam.size - 1 - top]),
                    float(lam[bottom]))


def _density(density: Any) -> tuple[np.ndarray, np.ndarray]:
    nodes = np.asarray(density.nodes, dtype=np.float64)
    weights = np.asarray(density.weights, dtype=np.float64)
    if nodes.shape != weights.shape or nodes.ndim != 2:
        raise ValueError(f"density must hold nodes and weights of one shape [probes, m], got "
                         f"{nodes.shape} and {weights.shape}")
    return nodes, weights


def wasserstein1(eigenvalues: Any, density: Any) -> float:
    """W₁ = ∫|F(t) − G(t)| dt between the spectral measure ``(1/d) Σᵢ δ(λᵢ)`` of
    ``eigenvalues`` ``[d]`` and the SLQ measure ``(1/P) Σ_p Σ_j w_pj δ(θ_pj)`` of
    ``density`` (nodes, weights ``[P, m]``), by ``scipy.stats.wasserstein_distance``."""
    lam = _spectrum(eigenvalues)
    nodes, weights = _density(density)
    return float(scipy.stats.wasserstein_distance(lam, nodes.ravel(), None,
                                                  np.clip(weights.ravel(), 0, None)))


def smoothed_ks(eigenvalues: Any, density: Any, sigma: float, points_per_sigma: int = 8
                ) -> float:
    """sup_t |F_σ(t) − G_σ(t)|: the largest gap between the CDFs of the spectral measure and
    the SLQ measure (as in ``wasserstein1``), both convolved with N(0, σ²) — the CDF of the
    density that ``density_on_grid(density, ·, sigma)`` plots against the exact spectrum
    smoothed the same way. Evaluated on a grid ``points_per_sigma`` points per σ, 5σ beyond
    the support (the CDFs change by at most 1/(σ√(2π)) per unit, so the grid misses at most
    0.05 of the sup at the default)."""
    lam = _spectrum(eigenvalues)
    nodes, weights = _density(density)
    sigma = positive_float(sigma, "sigma")
    n = positive_int(points_per_sigma, "points_per_sigma")
    lo = min(lam[0], nodes.min()) - 5 * sigma
    hi = max(lam[-1], nodes.max()) + 5 * sigma
    grid = np.linspace(lo, hi, math.ceil((hi - lo) / sigma * n) + 1)

    def cdf(x: np.ndarray, w: np.ndarray) -> np.ndarray:
        return scipy.special.ndtr((grid[:, None] - x[None, :]) / sigma) @ w

    exact = cdf(lam, np.full(lam.size, 1 / lam.size))
    slq = cdf(nodes.ravel(), weights.ravel() / nodes.shape[0])
    return float(np.max(np.abs(exact - slq)))


def slq_moments(density: Any, powers: Any = (0, 1, 2)) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, stderr)`` ``[len(powers)]``: the SLQ estimate ``(1/P) Σ_p Σ_j w_pj θ_pj^k`` of
    ``tr(H^k)/d`` for each power k (exact per probe, ``vᵀH^kv``, when k < 2m) and its
    standard error across the P probes (``std/√P``; 0 for one probe)."""
    nodes, weights = _density(density)
    powers = [positive_int(k, "powers", minimum=0) for k in np.atleast_1d(powers).tolist()]
    per_probe = np.stack([np.sum(weights * nodes**k, axis=1) for k in powers], axis=1)
    p = per_probe.shape[0]
    err = per_probe.std(axis=0, ddof=1) / math.sqrt(p) if p > 1 else np.zeros(len(powers))
    return per_probe.mean(axis=0), err
