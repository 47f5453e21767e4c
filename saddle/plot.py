"""Paper-style matplotlib helpers: contours, critical points by kind, trajectories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from saddle.basins import DIVERGED, basin_map
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


def panels(n: int, ncols: int, *, col_width: float, row_height: float,
           extra_height: float = 0.0, **kwargs: Any) -> tuple[plt.Figure, list[Any]]:
    """A paper-style figure of ``n`` axes in rows of ``min(ncols, n)``, each ``col_width``
    × ``row_height`` inches (plus ``extra_height`` for titles), the unused cells of the
    last row hidden. Returns the figure and the ``n`` axes in reading order."""
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = figure(nrows, ncols, width=col_width * ncols,
                       height=row_height * nrows + extra_height, squeeze=False, **kwargs)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, list(axes.ravel()[:n])


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


def kind_handles() -> list[Any]:
    """Legend handles for the kinds of critical point, in ``KIND_STYLE``'s look."""
    return [plt.Line2D([], [], ls="", marker=s["marker"], color=s["color"],
                       markeredgecolor="k", label=kind) for kind, s in KIND_STYLE.items()]


def number_points(ax: Any, x: Any, span: Any, **kwargs: Any) -> None:
    """Number 2-D points ``[m, 2]`` 1..m on ``ax``, each label pushed away from the point's
    nearest neighbour (distances in units of ``span`` ``[2]``, e.g. the box's sides)."""
    x, span = np.asarray(x, dtype=float), np.asarray(span, dtype=float)
    for i, p in enumerate(x):
        others = np.delete(x, i, axis=0)
        off = (5, 5)
        if len(others):
            q = others[np.argmin(np.linalg.norm((others - p) / span, axis=1))]
            v = (p - q) / span
            v = v / (np.linalg.norm(v) + 1e-12)
            off = (round(10 * float(v[0])) - 3, round(10 * float(v[1])) - 3)
        ax.annotate(str(i + 1), p, textcoords="offset points", xytext=off, **{
            "fontsize": 6.5, "color": "k", "bbox": dict(boxstyle="round,pad=0.1", fc="w",
                                                        ec="none", alpha=0.75), **kwargs})


def table(ax: Any, cells: Sequence[Sequence[str]], columns: Sequence[str],
          widths: Sequence[float], colors: Sequence[Sequence[Any] | None] | None = None,
          fontsize: float = 7) -> Any:
    """A compact table on ``ax`` (its axes hidden): bold header ``columns``, thin lines,
    column ``widths`` (fractions of the axes), text colour ``colors[row][col]`` (None:
    black). Returns the matplotlib table."""
    ax.axis("off")
    tab = ax.table(cellText=cells, colLabels=columns, loc="upper center", cellLoc="center",
                   colWidths=widths)
    tab.auto_set_font_size(False)
    tab.set_fontsize(fontsize)
    for (r, c), cell in tab.get_celld().items():
        cell.set_linewidth(0.3)
        if r == 0:
            cell.set_text_props(weight="bold")
        elif colors is not None and colors[r - 1] is not None and colors[r - 1][c] is not None:
            cell.set_text_props(color=colors[r - 1][c])
    return tab


def compare_counts(ax: Any, expected: Any, observed: Any, *,
                   labels: tuple[str, str] = ("expected", "observed")) -> None:
    """Paired bars of ``expected`` and ``observed`` counts ``[k]`` at x = 0..k−1, each
    observed count written over its bar, in red where it differs from the expected."""
    expected, observed = np.asarray(expected), np.asarray(observed)
    k = np.arange(len(expected))
    ax.bar(k - 0.2, expected, 0.4, color="lightgrey", edgecolor="k", lw=0.5, label=labels[0])
    ax.bar(k + 0.2, observed, 0.4, color="#1b9e77", edgecolor="k", lw=0.5, label=labels[1])
    for i, (e, o) in enumerate(zip(expected, observed, strict=True)):
        ax.annotate(f"{o}", (i + 0.2, o), textcoords="offset points", xytext=(0, 1),
                    ha="center", fontsize=6.5, color="k" if o == e else "red")
    ax.set_xticks(k)
    ax.set_ylim(0, max(expected.max(initial=0), observed.max(initial=0), 1) * 1.18)


def basin_image(ax: Any, labels: Any, n_per_axis: int, bounds: Any, minima: Sequence[int],
           colors: Sequence[Any]) -> Any:
    """A basin map: ``labels`` ``[n²]`` (``saddle.basins.assign``) of the starts
    ``saddle.starts.grid(n_per_axis, bounds)`` as an image over the box ``bounds``
    (``(lower, upper)``), label ``minima[j]`` in ``colors[j]``, diverged runs black, every
    other run (unassigned, or at another critical point) light grey. Returns the image."""
    lab = np.asarray(labels)
    img = np.ones(lab.shape, dtype=int)
    img[lab == DIVERGED] = 0
    for c, i in enumerate(minima):
        img[lab == i] = c + 2
    (x0, y0), (x1, y1) = (np.asarray(b, dtype=float) for b in bounds)
    cmap = mpl.colors.ListedColormap(["black", "lightgrey", *colors])
    return ax.imshow(basin_map(img, n_per_axis), origin="lower", cmap=cmap, vmin=-0.5,
                     vmax=len(minima) + 1.5, extent=(x0, x1, y0, y1), interpolation="nearest")


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


def ecdfs(ax: Any, times: Mapping[str, Any], colors: Mapping[str, Any], *,
          budget: int | None = None, **kwargs: Any) -> dict[str, Any]:
    """One ``ecdf`` per series of times ``[n]`` (−1 = never), labelled by its key. A series
    with runs that never got there (at least 0.05%) gets "label: x% never" in the top left
    corner; with ``budget``, a grey vertical line marks it once some run reached it or
    never got there. Returns the lines by label, the budget line as "step budget (N)"."""
    handles: dict[str, Any] = {}
    reached, k = False, 0
    for label, t in times.items():
        t = np.asarray(t)
        handles[label] = ecdf(ax, t, color=colors[label], **kwargs)
        never = float(np.mean(t < 0)) if t.size else 0.0
        reached |= budget is not None and (never > 0 or (t.size and t.max() >= budget))
        if never >= 5e-4:
            ax.text(0.03, 0.95 - 0.08 * k, f"{label}: {never:.1%} never", fontsize=7,
                    transform=ax.transAxes, color=colors[label], va="top")
            k += 1
    if reached:
        handles[f"step budget ({budget})"] = ax.axvline(budget, color="grey", lw=0.8)
    return handles


def grouped_intervals(ax: Any, center: Any, low: Any, high: Any, *, names: Sequence[str],
                      colors: Sequence[Any], bars: bool = False, width: float = 0.8,
                      censored: Any = None, **kwargs: Any) -> np.ndarray:
    """Estimates with intervals for ``k`` series over ``g`` groups (``center``, ``low``,
    ``high`` ``[k, g]``): series ``j`` at x = group index + its offset in a slot of
    ``width``, as bars with error bars (``bars``) or as points. ``censored`` ``[k, g]``
    (bool): an open triangle over each estimate that is only a lower bound (a median
    censored at a step budget). Returns x ``[k, g]``."""
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
        if censored is not None:
            mark = np.atleast_2d(np.asarray(censored, dtype=bool))[j]
            ax.plot(xs[j][mark], c[j][mark], "^", ms=8, mfc="none", color=colors[j])
    return xs
