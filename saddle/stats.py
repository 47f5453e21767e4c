"""Confidence intervals and censoring: Wilson intervals for shares, order-statistic intervals
for medians, and summaries of times that may never happen ("never" = −1, censored at a budget).

``chao1`` estimates how many kinds of thing a sample has not seen yet (species richness).
The binomial maths comes from ``scipy.stats``; ``wilson_interval`` is the closed form of
``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``, vectorised.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.stats

from saddle._checks import positive_int

__all__ = ["CensoredSummary", "Richness", "censored", "censored_summary", "chao1", "ks_distance",
           "median_ci", "median_meets", "wilson_interval"]


def _whole(value: Any, name: str) -> np.ndarray:
    """``value`` as a float64 array of whole numbers >= 0, or a one-line ValueError."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be whole numbers >= 0, got {value!r}") from None
    bad = ~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr))
    if np.any(bad):
        raise ValueError(f"{name} must be whole numbers >= 0, got {float(arr[bad].flat[0]):g}")
    return arr


def _level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    return float(level)


def wilson_interval(hits: Any, n: Any, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion ``hits / n`` (95% for ``z = 1.96``).

    ``(p̂ + z²/2n ∓ z·√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n)``. Unlike the normal (Wald)
    interval it stays inside [0, 1] and is not empty at ``hits = 0``: its upper end is
    then ``z² / (n + z²)``. Equals ``scipy.stats.binomtest(hits, n).proportion_ci(
    confidence_level=2Φ(z) − 1, method="wilson")``, for arrays.

    Args:
        hits: number of successes, whole numbers ``0 <= hits <= n`` (scalar or array).
        n: number of trials, whole numbers ``>= 1`` (broadcast with ``hits``).
        z: standard-normal quantile of the two-sided level.

    Returns:
        ``(low, high)`` as float64 arrays (0-d for scalar input).

    >>> [round(float(v), 4) for v in wilson_interval(5, 10)]
    [0.2366, 0.7634]

    References:
        E. B. Wilson, "Probable inference, the law of succession, and statistical
        inference", JASA 22 (1927) 209–212.
    """
    hits, n = np.broadcast_arrays(_whole(hits, "hits"), _whole(n, "n"))
    if np.any(n < 1):
        raise ValueError(f"n must be >= 1, got {n.min():g}")
    if np.any(hits > n):
        i = np.flatnonzero(hits > n)[0]
        raise ValueError(f"hits must be <= n, got hits={hits.flat[i]:g}, n={n.flat[i]:g}")
    if isinstance(z, bool) or not isinstance(z, int | float) or not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be a finite number > 0, got {z!r}")
    p = hits / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # min/max with p̂: at hits = n rounding would put the upper end at 1 − 2⁻⁵³ < p̂ = 1
    return (np.minimum(np.clip(center - half, 0.0, 1.0), p),
            np.maximum(np.clip(center + half, 0.0, 1.0), p))


def median_ci(x: Any, level: float = 0.95) -> tuple[float, float, float]:
    """Sample median of ``x`` ``[n]`` and its distribution-free confidence interval.

    The interval is ``[X_(l), X_(n−l+1)]`` (order statistics, 1-based) with ``l`` the
    largest integer such that ``P(B <= l − 1) <= (1 − level)/2``, B ~ Binomial(n, ½)
    (``scipy.stats.binom``): it covers the true median with probability
    ``1 − 2·P(B <= l − 1) >= level`` for any continuous distribution. When no ``l >= 1``
    qualifies (n < 6 at 95%) it is the range ``[X_(1), X_(n)]``, of lower coverage
    ``1 − 2^(1−n)``.

    Returns:
        ``(median, low, high)`` as floats.

    >>> median_ci(range(1, 101))
    (50.5, 40.0, 61.0)

    References:
        W. J. Conover, "Practical Nonparametric Statistics", 3rd ed. (1999), §3.2.
    """
    level = _level(level)
    try:
        x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    except (TypeError, ValueError):
        raise ValueError(f"x must be an array of numbers, got {x!r}") from None
    n = x.size
    if n == 0:
        raise ValueError("x must hold at least one value")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x has {int(np.sum(~np.isfinite(x)))} non-finite value(s)")
    cdf = scipy.stats.binom.cdf(np.arange(n + 1), n, 0.5)
    l = max(int(np.searchsorted(cdf, (1 - level) / 2, side="right")), 1)  # #{k: cdf ≤ α/2}
    return float(np.median(x)), float(x[l - 1]), float(x[n - l])


def censored(times: Any, budget: int) -> np.ndarray:
    """Times ``[n]`` (whole steps, −1 = never happened) with "never" replaced by ``budget``.

    A run that has not escaped after ``budget`` steps escapes at ``budget`` or later: for
    order statistics (median, quartiles) below ``budget`` that bound is exact.
    """
    budget = positive_int(budget, "budget")
    try:
        t = np.asarray(times)
    except (TypeError, ValueError):
        raise ValueError(f"times must be an array of whole steps, got {times!r}") from None
    if not (np.issubdtype(t.dtype, np.integer) or t.size == 0):
        raise ValueError(f"times must be whole steps (integers, −1 = never), got dtype {t.dtype}")
    if np.any(t < -1):
        raise ValueError(f"times must be >= -1 (-1 = never), got {t.min()}")
    if np.any(t > budget):
        raise ValueError(f"times must be <= budget={budget}, got {t.max()}")
    return np.where(t < 0, budget, t).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class CensoredSummary:
    """Median, quartiles and "never" share of ``n`` times censored at ``budget``.

    ``median``/``ci_low``/``ci_high``: ``median_ci`` of the censored times;
    ``median_censored``/``ci_high_censored``: that value reached the budget (the true one
    may be larger); ``q25``/``q75``: quartiles (``np.percentile``, linear);
    ``never_fraction`` with its Wilson interval ``never_ci``.
    """

    median: float
    ci_low: float
    ci_high: float
    median_censored: bool
    ci_high_censored: bool
    q25: float
    q75: float
    never_fraction: float
    never_ci: tuple[float, float]
    n: int


def censored_summary(times: Any, budget: int, level: float = 0.95) -> CensoredSummary:
    """``CensoredSummary`` of times ``[n]`` (−1 = never) censored at ``budget``; intervals
    at ``level`` (the median's from ``median_ci``, the never share's Wilson)."""
    level = _level(level)
    c = censored(times, budget)
    if c.size == 0:
        raise ValueError("times must hold at least one value")
    med, lo, hi = median_ci(c, level)
    never = int(np.sum(np.asarray(times) < 0))
    z = float(scipy.stats.norm.ppf(0.5 + level / 2))
    never_lo, never_hi = wilson_interval(never, c.size, z=z)
    q25, q75 = np.percentile(c, [25, 75])
    return CensoredSummary(median=med, ci_low=lo, ci_high=hi, median_censored=med >= budget,
                           ci_high_censored=hi >= budget, q25=float(q25), q75=float(q75),
                           never_fraction=never / c.size,
                           never_ci=(float(never_lo), float(never_hi)), n=int(c.size))


def median_meets(summary: CensoredSummary | Mapping[str, Any], low: float,
                 high: float) -> bool | None:
    """Whether the median's interval [ci_low, ci_high] of a ``CensoredSummary`` (or its
    dict) meets the range [low, high]; an interval censored at the budget extends to +∞.

    A censored median (it reached the budget: the true one is at least that) decides only
    when it is already above ``high`` (False); otherwise the answer is ``None``.
    """
    get = summary.get if isinstance(summary, Mapping) else functools.partial(getattr, summary)
    if not low <= high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")
    if get("median_censored"):
        return False if get("median") > high else None
    top = math.inf if get("ci_high_censored") else get("ci_high")
    return bool(get("ci_low") <= high and top >= low)


def ks_distance(times: Any, cdf: Any, level: float = 0.99) -> tuple[float, float]:
    """Kolmogorov–Smirnov distance max_t |F_n(t) − F(t)| over the whole steps t = 0..T−1
    between times ``[n]`` (−1 = never: after every t) and a law's ``cdf`` ``[T]``
    (F(t) = P(time ≤ t)), and the asymptotic critical value K_level/√n (Kolmogorov's
    distribution, ``scipy.stats.kstwobign``; conservative for a discrete law)."""
    level = _level(level)
    t = np.asarray(times)
    if not np.issubdtype(t.dtype, np.integer) or np.any(t < -1):
        raise ValueError("times must be whole steps (integers >= -1, -1 = never)")
    f = np.asarray(cdf, dtype=float)
    if f.ndim != 1 or f.size == 0 or np.any((f < 0) | (f > 1)):
        raise ValueError(f"cdf must be a non-empty [T] array of probabilities, got {cdf!r}")
    if t.size == 0:
        raise ValueError("times must hold at least one value")
    ecdf = np.searchsorted(np.sort(t[t >= 0]), np.arange(f.size), side="right") / t.size
    critical = float(scipy.stats.kstwobign.ppf(level)) / math.sqrt(t.size)
    return float(np.max(np.abs(ecdf - f))), critical


@dataclasses.dataclass(frozen=True)
class Richness:
    """How many distinct things a sample probably holds, seen and unseen (``chao1``).

    observed: distinct things seen; singletons, doubletons: things seen exactly once,
    twice (f₁, f₂); n: draws; estimate: the bias-corrected Chao1 estimate of the total;
    unseen: estimate − observed; low, high: its confidence interval (Chao 1987's
    log-normal interval; [observed, observed] when nothing is estimated unseen).
    """

    observed: int
    singletons: int
    doubletons: int
    n: int
    estimate: float
    unseen: float
    low: float
    high: float


def chao1(counts: Any, level: float = 0.95) -> Richness:
    """Bias-corrected Chao1 richness from ``counts`` ``[s]``: how often each thing was seen.

    Ŝ = S_obs + ((n − 1)/n)·f₁(f₁ − 1)/(2(f₂ + 1)), with f₁, f₂ the things seen once and
    twice in n draws; its variance (Chao 2005) gives the log-normal interval
    S_obs + T/K .. S_obs + T·K, T = Ŝ − S_obs, K = exp(z·√ln(1 + var/T²)) (Chao 1987).
    Unbiased for the unseen count when every thing is equally likely; a lower bound
    otherwise.

    References: A. Chao, "Nonparametric estimation of the number of classes in a
    population", Scand. J. Statist. 11 (1984) 265–270; A. Chao, "Estimating the population
    size for capture–recapture data with unequal catchability", Biometrics 43 (1987)
    783–791; A. Chao, "Species estimation and applications", Encyclopedia of Statistical
    Sciences (2005).
    """
    level = _level(level)
    c = _whole(counts, "counts").ravel()
    c = c[c > 0]
    s_obs, n = int(c.size), int(c.sum())
    f1, f2 = int(np.sum(c == 1)), int(np.sum(c == 2))
    w = (n - 1) / n if n else 0.0
    unseen = w * f1 * (f1 - 1) / (2 * (f2 + 1)) + 0.0  # + 0.0: never -0.0
    var = (w * f1 * (f1 - 1) / (2 * (f2 + 1)) + w**2 * f1 * (2 * f1 - 1) ** 2 / (4 * (f2 + 1) ** 2)
           + w**2 * f1**2 * f2 * (f1 - 1) ** 2 / (4 * (f2 + 1) ** 4))
    if unseen > 0:
        z = float(scipy.stats.norm.ppf(0.5 + level / 2))
        k = math.exp(z * math.sqrt(math.log(1 + var / unseen**2)))
        low, high = s_obs + unseen / k, s_obs + unseen * k
    else:
        low = high = float(s_obs)
    return Richness(observed=s_obs, singletons=f1, doubletons=f2, n=n,
                    estimate=s_obs + unseen, unseen=unseen, low=low, high=high)
