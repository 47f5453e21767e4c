"""The index–loss law of critical points: α(ε) = α₀·((ε − ε_c)/ε_c)^p above ε_c, 0 below.

α is the index fraction (negative Hessian eigenvalues / d) of a critical point and ε its
loss. Pennington & Bahri (2017) predict p = 3/2 for critical points of small index: the
negative part of the Hessian spectrum appears when ε passes ε_c, at the edge of the
spectral density, whose mass grows like the 3/2 power of the distance. ``fit_index_law``
fits ε_c and α₀ (p fixed) or ε_c, α₀ and p (p free) by least squares
(``scipy.optimize.curve_fit``) on points with α > 0, which must lie above ε_c (so
ε_c < min ε), and gives percentile intervals from a bootstrap over the points (each
resample's fit started at the estimate).

Reference:
  J. Pennington, Y. Bahri, "Geometry of neural network loss surfaces via random matrix
  theory", ICML 2017 (the law α ≈ α₀|(ε − ε_c)/ε_c|^{3/2}).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import jax
import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from saddle._checks import positive_int

__all__ = ["IndexLawFit", "fit_index_law", "index_law"]


def index_law(eps: Any, eps_c: float, alpha0: float, exponent: float = 1.5) -> np.ndarray:
    """α₀·max(0, (ε − ε_c)/ε_c)^exponent for each loss in ``eps`` (same shape)."""
    z = np.maximum(0.0, (np.asarray(eps, float) - eps_c) / eps_c)
    return alpha0 * z**exponent


@dataclasses.dataclass(frozen=True)
class IndexLawFit:
    """A least-squares fit of ``index_law``: estimates and bootstrap intervals
    ``(low, high)`` at ``level``; ``exponent_ci`` is None when the exponent was fixed.
    n: points fitted; rmse: root-mean-square residual in α; n_boot_failed: bootstrap
    resamples whose fit failed (left out of the intervals)."""

    eps_c: float
    alpha0: float
    exponent: float
    eps_c_ci: tuple[float, float]
    alpha0_ci: tuple[float, float]
    exponent_ci: tuple[float, float] | None
    n: int
    rmse: float
    level: float
    n_boot_failed: int

    def predict(self, eps: Any) -> np.ndarray:
        """α at the losses ``eps`` (``index_law`` with the fitted values)."""
        return index_law(eps, self.eps_c, self.alpha0, self.exponent)


def _fit_once(eps: np.ndarray, alpha: np.ndarray, exponent: float | None,
              start: np.ndarray | None = None) -> np.ndarray:
    """(ε_c, α₀, p) by ``curve_fit`` with ε_c in (0, min ε): the best of the fits from
    ε_c = 0.5, 0.8, 0.95 × min ε (α₀ by linear least squares), or from ``start``."""
    lo = eps.min()
    if exponent is None:
        model = lambda e, ec_, a_, p_: a_ * ((e - ec_) / ec_) ** p_  # noqa: E731
        bounds = ([lo * 1e-6, 0.0, 0.05], [lo * (1 - 1e-9), np.inf, 20.0])
    else:
        model = lambda e, ec_, a_: a_ * ((e - ec_) / ec_) ** exponent  # noqa: E731
        bounds = ([lo * 1e-6, 0.0], [lo * (1 - 1e-9), np.inf])
    if start is not None:
        starts = [np.r_[min(start[0], 0.95 * lo), start[1:len(bounds[0])]]]
    else:
        starts = []
        for frac in (0.5, 0.8, 0.95):
            z = ((eps - frac * lo) / (frac * lo)) ** (exponent or 1.5)
            starts.append([frac * lo, max(float(z @ alpha / (z @ z)), 1e-12), 1.5][
                :len(bounds[0])])
    best, best_sse = None, np.inf
    for p0 in starts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                popt, _ = curve_fit(model, eps, alpha, p0=p0, bounds=bounds, max_nfev=2000)
        except (RuntimeError, ValueError):
            continue
        sse = float(np.sum((model(eps, *popt) - alpha) ** 2))
        if sse < best_sse:
            best, best_sse = popt, sse
    if best is None:
        raise RuntimeError("the index-law fit did not converge")
    return np.r_[best, exponent] if exponent is not None else np.asarray(best)


def fit_index_law(eps: Any, alpha: Any, *, key: jax.Array, exponent: float | None = 1.5,
                  n_boot: int = 200, level: float = 0.95) -> IndexLawFit:
    """Fit α = α₀((ε − ε_c)/ε_c)^p to points ``(eps [n], alpha [n])`` with α > 0.

    Args:
      eps, alpha: losses and index fractions of critical points of positive index.
      key: ``jax.random`` key for the bootstrap resamples.
      exponent: p fixed at this value, or None to fit it too.
      n_boot: bootstrap resamples (points drawn with replacement) for the intervals.
      level: coverage of the percentile intervals.
    """
    eps, alpha = np.asarray(eps, float), np.asarray(alpha, float)
    if eps.ndim != 1 or eps.shape != alpha.shape:
        raise ValueError(f"eps and alpha must be [n] of one shape, got {eps.shape} and "
                         f"{alpha.shape}")
    k = 2 if exponent is not None else 3
    if eps.size < k + 2:
        raise ValueError(f"eps must hold at least {k + 2} points to fit {k} parameters, got "
                         f"{eps.size}")
    if not (np.all(np.isfinite(eps)) and np.all(eps > 0)):
        raise ValueError("eps must be finite and > 0")
    if not (np.all(np.isfinite(alpha)) and np.all(alpha > 0)):
        raise ValueError("alpha must be finite and > 0 (fit the points of positive index)")
    if exponent is not None and not (np.isfinite(exponent) and exponent > 0):
        raise ValueError(f"exponent must be a number > 0 or None, got {exponent!r}")
    n_boot = positive_int(n_boot, "n_boot")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    est = _fit_once(eps, alpha, exponent)
    rows = np.asarray(jax.random.randint(key, (n_boot, eps.size), 0, eps.size))
    boot, failed = [], 0
    for r in rows:
        try:
            boot.append(_fit_once(eps[r], alpha[r], exponent, start=est))
        except RuntimeError:
            failed += 1
    boot = np.asarray(boot).reshape(-1, 3)
    q = 100 * np.array([(1 - level) / 2, (1 + level) / 2])
    ci = [tuple(float(v) for v in np.percentile(boot[:, j], q)) if len(boot) else
          (np.nan, np.nan) for j in range(3)]
    rmse = float(np.sqrt(np.mean((index_law(eps, *est) - alpha) ** 2)))
    return IndexLawFit(eps_c=float(est[0]), alpha0=float(est[1]), exponent=float(est[2]),
                       eps_c_ci=ci[0], alpha0_ci=ci[1],
                       exponent_ci=ci[2] if exponent is None else None, n=int(eps.size),
                       rmse=rmse, level=float(level), n_boot_failed=failed)
