"""Which minimum each run ended in, and basin probabilities with 95% confidence intervals."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from saddle._checks import positive_float

UNASSIGNED, DIVERGED = -1, -2


def wilson_interval(hits: Any, n: Any, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion ``hits / n`` (arrays broadcast).

    ``(p̂ + z²/2n ± z √(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)``; well-behaved at 0 and n hits
    (Wilson 1927; Brown, Cai & DasGupta 2001). ``n = 0`` gives ``(0, 1)``.
    """
    hits, n = np.asarray(hits, dtype=float), np.asarray(n, dtype=float)
    safe_n = np.maximum(n, 1)
    p = hits / safe_n
    denom = 1 + z**2 / safe_n
    centre = (p + z**2 / (2 * safe_n)) / denom
    half = z * np.sqrt(p * (1 - p) / safe_n + z**2 / (4 * safe_n**2)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0, 1), 0.0)
    hi = np.where(n > 0, np.clip(centre + half, 0, 1), 1.0)
    return lo, hi


def assign(x_end: Any, reference: Any, tol: float, diverged: Any = None) -> np.ndarray:
    """Label ``[n]`` of the nearest reference point ``[m, d]`` within distance ``tol`` of
    each end point ``[n, d]``; ``UNASSIGNED`` (−1) if none, ``DIVERGED`` (−2) where flagged."""
    x_end = np.asarray(x_end, dtype=float)
    reference = np.asarray(reference, dtype=float).reshape(-1, x_end.shape[1])
    tol = positive_float(tol, "tol")
    if len(reference) == 0:
        labels = np.full(len(x_end), UNASSIGNED)
    else:
        dist = np.linalg.norm(x_end[:, None, :] - reference[None], axis=-1)
        labels = np.where(dist.min(axis=1) <= tol, dist.argmin(axis=1), UNASSIGNED)
    if diverged is not None:
        labels = np.where(np.asarray(diverged, dtype=bool), DIVERGED, labels)
    return labels


@dataclasses.dataclass(frozen=True)
class BasinStats:
    """Shares of ``n`` runs: ``probs``/``ci_low``/``ci_high``/``counts`` ``[m]`` per reference
    minimum; ``unassigned`` and ``diverged`` shares (all shares sum to 1); ``labels`` ``[n]``."""

    labels: np.ndarray
    counts: np.ndarray
    probs: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    unassigned: float
    diverged: float
    n: int


def basin_stats(x_end: Any, minima_x: Any, tol: float = 1e-2, diverged: Any = None) -> BasinStats:
    """Basin probabilities of the minima ``[m, d]`` from end points ``[n, d]`` (Wilson 95% CIs).

    Diverged runs (flagged by ``diverged`` ``[n]``) count in ``n`` as their own share,
    so the probabilities, the unassigned and the diverged share sum to 1.
    """
    labels = assign(x_end, minima_x, tol, diverged)
    m = len(np.asarray(minima_x).reshape(len(np.asarray(minima_x)), -1))
    n = len(labels)
    counts = np.bincount(labels[labels >= 0], minlength=m)
    lo, hi = wilson_interval(counts, n)
    return BasinStats(labels=labels, counts=counts, probs=counts / n, ci_low=lo, ci_high=hi,
                      unassigned=float(np.mean(labels == UNASSIGNED)),
                      diverged=float(np.mean(labels == DIVERGED)), n=n)
