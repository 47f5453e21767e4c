"""Which minimum each run ended in, and basin probabilities with 95% confidence intervals.

``wilson_interval`` lives in ``saddle.stats`` and is re-exported here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from saddle._checks import positive_float, positive_int
from saddle.stats import wilson_interval

__all__ = ["DIVERGED", "UNASSIGNED", "BasinStats", "assign", "basin_map", "basin_stats", "cluster",
           "time_to_converge", "wilson_interval"]

UNASSIGNED, DIVERGED = -1, -2


_CHUNK = 1 << 16  # end points per k-d tree query: memory O(chunk·d) besides the labels
_TIE = 1e-9  # a second reference this close (relatively) is resolved by direct distances


def _as_minima(minima_x: Any, d: int) -> np.ndarray:
    """Reference points as ``[m, d]`` float64 (one point may be given as ``[d]``)."""
    try:
        ref = np.asarray(minima_x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"minima_x must be an array of points [m, d], got {minima_x!r}") from None
    if ref.size == 0:
        return np.zeros((0, d))
    if ref.ndim == 1 and ref.shape[0] == d:
        ref = ref[None]
    if ref.ndim != 2 or ref.shape[1] != d:
        raise ValueError(f"minima_x must have shape [m, {d}] (d of x_end), got shape {ref.shape}")
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"minima_x has {int(np.sum(~np.isfinite(ref).all(1)))} row(s) with "
                         f"non-finite values")
    return ref


def _as_ends(x_end: Any) -> np.ndarray:
    try:
        x = np.asarray(x_end)
    except (TypeError, ValueError):
        raise ValueError(f"x_end must be an array of points [n, d], got {x_end!r}") from None
    if x.ndim != 2 or x.shape[1] < 1 or not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"x_end must be a numeric array of shape [n, d], got shape {x.shape} "
                         f"and dtype {x.dtype}")
    return x


def _brute(x: np.ndarray, ref: np.ndarray, tol: float) -> np.ndarray:
    """Nearest reference within ``tol`` by direct distances, lowest index on ties (in row
    chunks of ≤ 2²¹ distances)."""
    out = np.empty(len(x), dtype=np.int64)
    rows = max(1, (1 << 21) // (len(ref) * ref.shape[1]))
    for lo in range(0, len(x), rows):
        dist = np.linalg.norm(x[lo:lo + rows, None, :] - ref[None], axis=-1)
        out[lo:lo + rows] = np.where(dist.min(axis=1) <= tol, dist.argmin(axis=1), UNASSIGNED)
    return out


def _nearest(x: np.ndarray, ref: np.ndarray, tree: cKDTree, tol: float) -> np.ndarray:
    dist, idx = tree.query(x, k=2, distance_upper_bound=tol * (1 + 1e-6))
    found = np.isfinite(dist[:, 0])
    tie = found & (dist[:, 1] <= dist[:, 0] * (1 + _TIE))
    out = np.full(len(x), UNASSIGNED, dtype=np.int64)
    one = np.flatnonzero(found & ~tie)
    # the tree's distance decided the candidate; the tolerance is applied to the same
    # ‖x − c‖ (numpy's norm) as the direct rule, so boundary cases agree bit for bit
    inside = np.linalg.norm(x[one] - ref[idx[one, 0]], axis=1) <= tol
    out[one[inside]] = idx[one[inside], 0]
    if tie.any():
        out[tie] = _brute(x[tie], ref, tol)
    return out


def assign(x_end: Any, minima_x: Any, tol: float, diverged: Any = None) -> np.ndarray:
    """Label ``[n]`` of the nearest reference point (minimum) within distance ``tol`` of each
    end point.

    Label ``i`` for the nearest of ``minima_x`` ``[m, d]`` (or one point ``[d]``) within
    ``tol`` (Euclidean; the lowest index on exact ties), ``UNASSIGNED`` (−1) if none,
    ``DIVERGED`` (−2) where ``diverged`` ``[n]`` is true or the end point ``[n, d]`` is not
    finite. A k-d tree (``scipy.spatial.cKDTree``) over the minima answers the queries in
    chunks of end points: memory O(n + m·d), time O(n log m).
    """
    x = _as_ends(x_end)
    n, d = x.shape
    ref = _as_minima(minima_x, d)
    tol = positive_float(tol, "tol")
    if diverged is not None:
        div = np.asarray(diverged)
        if div.shape != (n,):
            raise ValueError(f"diverged must have shape [{n}] (one flag per end point), got "
                             f"shape {div.shape}")
        div = div.astype(bool)
    labels = np.full(n, UNASSIGNED, dtype=np.int64)
    tree = cKDTree(ref) if len(ref) else None
    for lo in range(0, n, _CHUNK):
        xc = x[lo:lo + _CHUNK].astype(np.float64, copy=False)
        lab = labels[lo:lo + _CHUNK]
        bad = ~np.isfinite(xc).all(axis=1)
        if diverged is not None:
            bad |= div[lo:lo + _CHUNK]
        lab[bad] = DIVERGED
        if tree is not None and not bad.all():
            ok = np.flatnonzero(~bad)
            lab[ok] = _nearest(xc if ok.size == len(xc) else xc[ok], ref, tree, tol)
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

    Labels from ``assign``. Diverged runs (flagged by ``diverged`` ``[n]``, or ending at a
    non-finite point) count in ``n`` as their own share, so the probabilities, the
    unassigned and the diverged share sum to 1.
    """
    labels = assign(x_end, minima_x, tol, diverged)
    m = _as_minima(minima_x, _as_ends(x_end).shape[1]).shape[0]
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
    if x.ndim != 2:
        raise ValueError(f"x must have shape [n, d], got shape {x.shape}")
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
    if steps.ndim != 1:
        raise ValueError(f"converged_step must have shape [n], got shape {steps.shape}")
    if labels.shape != steps.shape:
        raise ValueError(f"labels must have the shape of converged_step {steps.shape}, got "
                         f"{labels.shape}")
    m = positive_int(m, "m", minimum=0)

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
