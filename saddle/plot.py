"""Paper-style matplotlib helpers: contours, critical points by kind, trajectories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from saddle.objectives.core import Objective

# One look per kind, used by every figure.
KIND_STYLE = {
    "minimum": dict(marker="o", color="#1b9e77", label="minimum"),
    "saddle": dict(marker="X", color="#d95f02", label="saddle"),
    "maximum": dict(marker="^", color="#7570b3", label="maximum"),
    "degenerate": dict(marker="D", color="#e7298a", label="degenerate"),
    "undefined": dict(marker="s", color="#999999", label="undefined (Hessian not finite)"),
}

PAPER_RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.dpi": 200,
}


def figure(nrows: int = 1, ncols: int = 1, *, width: float = 7.0, height: float | None = None,
           **kwargs: Any) -> tuple[plt.Figure, Any]:
    """A figure in paper style (style applied to this figure only, not globally)."""
    with mpl.rc_context(PAPER_RC):
        size = (width, height or width * nrows / ncols * 0.8)
        fig, axes = plt.subplots(nrows, ncols, figsize=size, layout="constrained", **kwargs)
    return fig, axes


def empty_figure(width: float = 7.0, height: float = 5.0) -> plt.Figure:
    """A paper-style figure without axes, for ``subfigures``/``gridspec`` layouts."""
    with mpl.rc_context(PAPER_RC):
        return plt.figure(figsize=(width, height), layout="constrained")


def grid_values(obj: Objective, n: int = 200, bounds: Any = None) -> tuple[np.ndarray, ...]:
    """``(X, Y, Z)`` of a 2-D objective on an ``n × n`` grid over its bounds (or ``bounds``)."""
    lo, hi = (obj.lower, obj.upper) if bounds is None else map(np.asarray, bounds)
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    X, Y = np.meshgrid(xs, ys)
    pts = jnp.asarray(np.stack([X.ravel(), Y.ravel()], -1), dtype=jnp.float32)
    Z = np.asarray(jax.jit(jax.vmap(obj.fn))(pts)).reshape(X.shape)
    return X, Y, Z


def contour(ax: Any, obj: Objective, *, n: int = 200, levels: int = 30, log: bool = False,
            bounds: Any = None) -> Any:
    """Filled contours of a 2-D objective on ``ax`` (``log``: levels in log(f − min + 1))."""
    X, Y, Z = grid_values(obj, n, bounds)
    if log:
        Z = np.log1p(Z - Z.min())
    cs = ax.contourf(X, Y, Z, levels=levels, cmap="Greys_r", alpha=0.9)
    ax.contour(X, Y, Z, levels=levels, colors="k", linewidths=0.2, alpha=0.5)
    ax.set_aspect("equal")
    return cs


def critical_points(ax: Any, xs: np.ndarray, kinds: Sequence[str], *, size: float = 50,
                    legend: bool = True, ys: np.ndarray | None = None) -> None:
    """Mark points by kind. 2-D: ``xs`` is ``[m, 2]``; 1-D: ``xs`` ``[m]`` with heights ``ys``."""
    xs, kinds = np.asarray(xs), np.asarray(kinds)
    for kind, style in KIND_STYLE.items():
        sel = kinds == kind
        if not sel.any():
            continue
        px, py = (xs[sel], ys[sel]) if ys is not None else (xs[sel, 0], xs[sel, 1])
        ax.scatter(px, py, s=size, marker=style["marker"], color=style["color"],
                   edgecolors="k", linewidths=0.6, zorder=5, label=style["label"])
    if legend:
        ax.legend(loc="best", framealpha=0.9)


def trajectories(ax: Any, paths: np.ndarray, *, color: str = "#1f78b4", alpha: float = 0.6,
                 lw: float = 0.8) -> None:
    """Draw 2-D paths ``[k, T, 2]`` with a dot at each start."""
    for p in np.asarray(paths):
        ax.plot(p[:, 0], p[:, 1], color=color, alpha=alpha, lw=lw)
        ax.plot(p[0, 0], p[0, 1], ".", color=color, ms=3, alpha=alpha)


def ecdf(ax: Any, times: Any, *, start: float = 0.5, **kwargs: Any) -> Any:
    """Empirical CDF of times ``[n]`` (whole steps, −1 = never) as a step line from
    ``(start, 0)``: the share of all ``n`` runs with time ≤ t, so runs that never got
    there keep the curve below 1 (censored, not dropped). Returns the line."""
    t = np.asarray(times)
    s = np.sort(t[t >= 0])
    (line,) = ax.step(np.concatenate([[start], s]), np.arange(s.size + 1) / max(t.size, 1),
                      where="post", **kwargs)
    return line


def grouped_intervals(ax: Any, center: Any, low: Any, high: Any, *, names: Sequence[str],
                      colors: Sequence[Any], bars: bool = False, width: float = 0.8,
                      **kwargs: Any) -> np.ndarray:
    """Estimates with intervals for ``k`` series over ``g`` groups (``center``, ``low``,
    ``high`` ``[k, g]``): series ``j`` at x = group index + its offset in a slot of
    ``width``, as bars with error bars (``bars``) or as points. Returns x ``[k, g]``."""
    c, lo, hi = (np.atleast_2d(np.asarray(v, dtype=float)) for v in (center, low, high))
    k, g = c.shape
    w = width / k
    xs = np.arange(g)[None, :] + (np.arange(k)[:, None] - (k - 1) / 2) * w
    for j in range(k):
        err = [c[j] - lo[j], hi[j] - c[j]]
        if bars:
            ax.bar(xs[j], c[j], w, color=colors[j], label=names[j], yerr=err,
                   error_kw=dict(lw=0.7), **{"capsize": 1.5, **kwargs})
        else:
            ax.errorbar(xs[j], c[j], yerr=err, color=colors[j], label=names[j],
                        **{"fmt": "o", "ms": 4, "capsize": 2, "lw": 1, **kwargs})
    return xs
