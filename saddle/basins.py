"""Which minimum each run ended in, and basin probabilities with 95% confidence intervals."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from saddle._checks import positive_float

UNASSIGNED, DIVERGED = -1, -2


def wilson_interval(hits: Any, n: Any, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion ``hits / n`` (95% for ``z = 1.96``).

    Unlike the normal (Wald) interval it stays inside [0, 1] and is not empty at
    ``hits = 0``: its upper end is then ``z² / (n + z²)``.

    Args:
        hits: number of successes, ``0 <= hits <= n`` (scalar or array).
        n: number of trials, ``>= 1`` (scalar or array, broadcast with ``hits``).
        z: standard-normal quantile of the two-sided level.

    Returns:
        ``(low, high)`` as float64 arrays (0-d for scalar input).

    >>> [round(float(v), 4) for v in wilson_interval(5, 10)]
    [0.2366, 0.7634]

    References:
        E. B. Wilson, "Probable inference, the law of succession, and statistical
        inference", JASA 22 (1927) 209–212.
    """
    hits, n = np.broadcast_arrays(
        np.asarray(hits, dtype=np.float64), np.asarray(n, dtype=np.float64)
    )
    if np.any(n < 1):
        raise ValueError(f"n must be >= 1, got {n.min()}")
    if np.any((hits < 0) | (hits > n)):
        raise ValueError("hits must lie in [0, n]")
    if not (np.isfinite(z) and z > 0):
        raise ValueError(f"z must be a finite number > 0, got {z!r}")
    p = hits / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # min/max with p̂: at hits = n rounding would put the upper end at 1 − 2⁻⁵³ < p̂ = 1
    return (np.minimum(np.clip(center - half, 0.0, 1.0), p),
            np.maximum(np.clip(center + half, 0.0, 1.0), p))


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
    m = np.asarray(minima_x, dtype=float).reshape(-1, np.shape(x_end)[1]).shape[0]
    n = len(labels)
    counts = np.bincount(labels[labels >= 0], minlength=m)
    lo, hi = wilson_interval(counts, n)
    return BasinStats(labels=labels, counts=counts, probs=counts / n, ci_low=lo, ci_high=hi,
                      unassigned=float(np.mean(labels == UNASSIGNED)),
                      diverged=float(np.mean(labels == DIVERGED)), n=n)


def cluster(x: Any, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Group points ``[n, d]`` into clusters: a point joins the first centre within ``tol``
    (greedy leader clustering, one vectorised pass per cluster, order-dependent only at
    distances near ``tol``). Returns ``(centres [m, d], labels [n])``, centres sorted by
    cluster size (largest first)."""
    x = np.asarray(x, dtype=float)
    tol = positive_float(tol, "tol")
    labels = np.full(len(x), -1)
    centres = []
    while (todo := np.flatnonzero(labels < 0)).size:
        near = todo[np.linalg.norm(x[todo] - x[todo[0]], axis=1) <= tol]
        labels[near] = len(centres)
        centres.append(x[near].mean(axis=0))
    centres = np.asarray(centres).reshape(-1, x.shape[1])
    order = np.argsort(-np.bincount(labels, minlength=len(centres)), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return centres[order], rank[labels] if len(x) else labels


def time_to_converge(converged_step: Any, labels: Any, m: int) -> dict[str, np.ndarray]:
    """Steps-to-converge statistics per basin ``[m]`` (and ``"all"``) from ``converged_step``
    ``[n]`` (−1 = never): median, quartiles, and the count of converged runs."""
    steps = np.asarray(converged_step)
    labels = np.asarray(labels)

    def stats(sel: np.ndarray) -> tuple[float, float, float, int]:
        s = steps[sel & (steps >= 0)]
        if s.size == 0:
            return (np.nan, np.nan, np.nan, 0)
        q1, med, q3 = np.percentile(s, [25, 50, 75])
        return (med, q1, q3, s.size)

    rows = [stats(labels == i) for i in range(m)]
    allr = stats(np.ones_like(labels, dtype=bool))
    med, q1, q3, cnt = (np.array(c) for c in zip(*rows, strict=True)) if rows else ([],) * 4
    return {"median": np.asarray(med), "q1": np.asarray(q1), "q3": np.asarray(q3),
            "count": np.asarray(cnt), "all": np.asarray(allr)}


def basin_map(labels: Any, n_per_axis: int) -> np.ndarray:
    """Reshape labels of ``saddle.starts.grid(n_per_axis, bounds)`` starts into an image
    ``[n_per_axis, n_per_axis]`` indexed ``[iy, ix]`` (for ``imshow(origin="lower")``)."""
    labels = np.asarray(labels)
    if labels.size != n_per_axis**2:
        raise ValueError(f"labels has {labels.size} entries, expected n_per_axis² = "
                         f"{n_per_axis**2}")
    return labels.reshape(n_per_axis, n_per_axis).T
