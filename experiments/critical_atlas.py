"""Atlas of critical points: every minimum, saddle and maximum of the catalogued objectives.

Claim tested: ``saddle.find_critical_points`` with its defaults (4096 starts: a jittered
grid over the box, Newton then Newton-MR steps, float64) finds *all* critical points of
a landscape, not only the minima optimizers find: on the 2-D classics every catalogued
point with its Hessian index and no other; on n-d Styblinski–Tang and Rastrigin the
exact number of critical points of each index that the separable structure predicts.

Method: for each 2-D objective, the critical points found are matched against the
catalogue (within 10⁻⁶ of the box diagonal); completeness = catalogued points found /
catalogued points. Styblinski–Tang is Σ g(x_i) with g = ½(x⁴ − 16x² + 5x), whose
g' = 2x³ − 16x + 2.5 has three roots (two minima, one maximum of g), so it has
C(d, k)·2^(d−k) critical points of index k (2^d minima, 1 maximum, 3^d − 2^d − 1
saddles); Rastrigin's g has 11 minima and 10 maxima in [−5.12, 5.12], so
C(d, k)·11^(d−k)·10^k points of index k (21^d in all). Found counts per index are
compared with these, and each found point with the catalogue.

Expected (defaults): completeness 1.0 everywhere, no point outside the catalogue, index
counts equal to the formulas (Styblinski–Tang d = 1..4: 3, 9, 27, 81 points; Rastrigin
d = 1, 2: 21, 441) and no gradient-flat point (Levy 2-D has some: ``--objectives levy``).
Rastrigin 3-D (9261 points) needs more starts than the default: with 65536 starts 3
points are missed, with 131072 none (third command below, about 2 minutes).

Run: python -m experiments.critical_atlas          (about 30 s on 2 CPU cores)
     python -m experiments.critical_atlas --objectives himmelblau levy --st-dims 2 5
     python -m experiments.critical_atlas --rastrigin-dims 3 --n-starts 131072
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

import saddle
from saddle import plot as splot
from saddle.critical import METHODS
from saddle.experiment import field

FAMILIES = {"styblinski_tang": "st_dims", "rastrigin": "rastrigin_dims"}
MAX_DIM = {"styblinski_tang": 9, "rastrigin": 3}  # fully catalogued up to these dims
MATCH_TOL = 1e-6  # × box diagonal: a found point is the catalogued one
MAX_LISTED = 30  # more points than this: numbered neither on the contour nor in the table


def known_counts(family: str, d: int) -> np.ndarray:
    """``[d + 1]`` number of critical points of index k = 0..d (see the module docstring)."""
    n_min, n_max = {"styblinski_tang": (2, 1), "rastrigin": (11, 10)}[family]
    return np.array([math.comb(d, k) * n_min ** (d - k) * n_max**k for k in range(d + 1)])


def two_d_objectives() -> tuple[str, ...]:
    """The registered objectives that are 2-D (n-d families at their default d = 2)."""
    return tuple(n for n in saddle.objectives.names()
                 if saddle.objectives.is_n_dim(n) or saddle.objectives.get(n).dim == 2)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    objectives: tuple[str, ...] = field(
        ("himmelblau", "six_hump_camel", "three_hump_camel", "branin", "beale",
         "goldstein_price"), "2-D objectives whose critical points are matched against "
        "their catalogue.", choices=two_d_objectives)
    st_dims: tuple[int, ...] = field((1, 2, 3, 4), "Dimensions d (1..9) of Styblinski–Tang "
                                     "whose critical points are counted per index.")
    rastrigin_dims: tuple[int, ...] = field((1, 2), "Dimensions d (1..3) of Rastrigin whose "
                                            "critical points are counted per index.")
    n_starts: int = field(4096, "Starts of the critical-point search per landscape.")
    method: str = field("hybrid", "Root-finding method of saddle.find_critical_points.",
                        choices=METHODS)
    seed: int = field(0, "Seed of the jax.random keys.")

    def __post_init__(self) -> None:
        for name in self.objectives:
            if name not in saddle.objectives.names():
                raise ValueError(f"unknown objective {name!r} in objectives; known: "
                                 f"{', '.join(saddle.objectives.names())}")
            if saddle.objectives.get(name).dim != 2:
                raise ValueError(f"objectives must be 2-D (n-d families at their default "
                                 f"d = 2), {name!r} has dim={saddle.objectives.get(name).dim}")
        for family, attr in FAMILIES.items():
            dims = getattr(self, attr)
            if any(not (1 <= d <= MAX_DIM[family]) for d in dims):
                raise ValueError(f"{attr} must lie in 1..{MAX_DIM[family]} (the fully "
                                 f"catalogued dims), got {dims}")
            if len(set(dims)) != len(dims):
                raise ValueError(f"{attr} has repeated dims: {dims}")
        if not (self.objectives or self.st_dims or self.rastrigin_dims):
            raise ValueError("objectives, st_dims and rastrigin_dims are all empty")
        if self.n_starts < 1:
            raise ValueError(f"n_starts must be >= 1, got {self.n_starts}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; known: {', '.join(METHODS)}")


def tasks(cfg: Config) -> list[tuple[str, str, int | None]]:
    """``(tag, objective name, dim)`` for every landscape of the run, in order."""
    out = [(name, name, None) for name in cfg.objectives]
    for family, attr in FAMILIES.items():
        out += [(f"{family}_d{d}", family, d) for d in getattr(cfg, attr)]
    return out


def measure(cfg: Config, name: str, dim: int | None, key: jax.Array) -> dict[str, np.ndarray]:
    """Critical points of one landscape and how they match the catalogue."""
    obj = saddle.objectives.get(name, dim=dim)
    cps = saddle.find_critical_points(obj, key=key, n_starts=cfg.n_starts, method=cfg.method)
    known = np.array([p.x for p in obj.known if p.smooth], dtype=float).reshape(-1, obj.dim)
    known_index = np.array([-1 if p.index is None else p.index for p in obj.known if p.smooth])
    known_kind = np.array([p.kind for p in obj.known if p.smooth])
    tol = MATCH_TOL * float(np.linalg.norm(obj.upper - obj.lower))
    if len(known) and len(cps):
        dist = np.linalg.norm(cps.x[:, None] - known[None], axis=-1)  # [found, known]
        nearest = dist.argmin(axis=0)
        same = (cps.kind[nearest] == known_kind) & (
            (known_index == cps.index[nearest]) | (known_kind == "degenerate"))
        found_known = (dist.min(axis=0) <= tol) & same
        in_catalogue = dist.min(axis=1) <= tol
    else:
        found_known = np.zeros(len(known), bool)
        in_catalogue = np.zeros(len(cps), bool)
    return {"x": cps.x, "value": cps.value, "index": cps.index, "kind": cps.kind,
            "eigenvalues": cps.eigenvalues, "grad_norm": cps.grad_norm, "hits": cps.hits,
            "in_catalogue": in_catalogue, "known_found": found_known,
            "known_index": known_index, "gradient_flat": cps.gradient_flat,
            "n_unconverged": np.asarray(len(cps.unconverged)),
            "n_outside": np.asarray(cps.outside), "grad_tol": np.asarray(cps.grad_tol)}


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    data = {}
    for i, (tag, name, dim) in enumerate(ctx.progress(tasks(cfg), desc="landscapes")):
        part = ctx.stage(tag, lambda name=name, dim=dim, i=i:
                         measure(cfg, name, dim, jax.random.fold_in(root, i)))
        data |= {f"{tag}__{k}": v for k, v in part.items()}
    return data


def _part(data: dict, tag: str) -> dict:
    prefix = f"{tag}__"
    return {k[len(prefix):]: v for k, v in data.items() if k.startswith(prefix)}


def _completeness(d: dict) -> float | None:
    n = len(d["known_found"])
    return float(np.mean(d["known_found"])) if n else None


def summarize(cfg: Config, data: dict) -> dict:
    out: dict = {"n_starts": cfg.n_starts, "method": cfg.method, "objectives": {},
                 "families": {}}
    for tag, name, dim in tasks(cfg):
        d = _part(data, tag)
        entry = {
            "found": len(d["x"]), "catalogued": len(d["known_found"]),
            "catalogued_found": int(d["known_found"].sum()),
            "completeness": _completeness(d),
            "not_in_catalogue": int(np.sum(~d["in_catalogue"])),
            "gradient_flat": len(d["gradient_flat"]),
            "unconverged_starts": int(d["n_unconverged"]),
            "grad_tol": float(d["grad_tol"]),
        }
        if dim is None:
            entry["critical_points"] = [
                {"x": d["x"][i], "value": d["value"][i], "index": int(d["index"][i]),
                 "kind": str(d["kind"][i]), "eigenvalues": d["eigenvalues"][i],
                 "hits": int(d["hits"][i]), "in_catalogue": bool(d["in_catalogue"][i])}
                for i in range(len(d["x"]))]
            out["objectives"][name] = entry
        else:
            known = known_counts(name, dim)
            found = np.bincount(d["index"], minlength=dim + 1)[: dim + 1]
            entry |= {"dim": dim, "known_per_index": known, "found_per_index": found,
                      "catalogue_per_index": np.bincount(d["known_index"], minlength=dim + 1),
                      "counts_match": bool(np.array_equal(found, known))}
            out["families"][tag] = entry
    every = [e["completeness"] for e in [*out["objectives"].values(), *out["families"].values()]]
    out["all_complete"] = all(c == 1.0 for c in every if c is not None)
    return saddle.experiment.to_jsonable(out)  # plain JSON values, no numpy


# ----------------------------------------------------------------------------- figures
def _label_offsets(x: np.ndarray, span: np.ndarray) -> list[tuple[int, int]]:
    """Label offsets (points) that push a label away from its nearest neighbour."""
    out = []
    for i, p in enumerate(x):
        others = np.delete(x, i, axis=0)
        if not len(others):
            out.append((5, 5))
            continue
        q = others[np.argmin(np.linalg.norm((others - p) / span, axis=1))]
        v = (p - q) / span
        v = v / (np.linalg.norm(v) + 1e-12)
        out.append((round(10 * float(v[0])) - 3, round(10 * float(v[1])) - 3))
    return out


def plot_contours(cfg: Config, data: dict):
    names = list(cfg.objectives)
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = splot.figure(nrows, ncols, width=3.4 * ncols, height=3.3 * nrows,
                             squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        obj, d = saddle.objectives.get(name), _part(data, name)
        splot.contour(ax, obj, levels=30, log=True)
        size = 40 if len(d["x"]) <= 60 else max(3, 2400 / len(d["x"]))
        splot.critical_points(ax, d["x"], d["kind"], size=size, legend=False)
        span = obj.upper - obj.lower
        labels = _label_offsets(d["x"], span) if len(d["x"]) <= MAX_LISTED else []
        for i, (p, off) in enumerate(zip(d["x"], labels, strict=False)):
            ax.annotate(str(i + 1), p, textcoords="offset points", xytext=off, fontsize=6.5,
                        color="k", bbox=dict(boxstyle="round,pad=0.1", fc="w", ec="none",
                                             alpha=0.75))
        ax.set(xlim=(obj.lower[0], obj.upper[0]), ylim=(obj.lower[1], obj.upper[1]),
               xlabel="x", ylabel="y")
        ax.set_title(f"{name}: {len(d['x'])} found, catalogue "
                     f"{int(d['known_found'].sum())}/{len(d['known_found'])}", fontsize=9)
        if len(d["gradient_flat"]):
            ax.scatter(*d["gradient_flat"].T, s=25, marker="s", facecolors="none",
                       edgecolors="#e6ab02", linewidths=1.0, zorder=6)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    handles = [splot.plt.Line2D([], [], ls="", marker=s["marker"], color=s["color"],
                                markeredgecolor="k", label=k)
               for k, s in splot.KIND_STYLE.items()]
    handles.append(splot.plt.Line2D([], [], ls="", marker="s", markerfacecolor="none",
                                    markeredgecolor="#e6ab02", label="gradient-flat"))
    fig.legend(handles=handles, loc="outside lower center", ncols=5, frameon=False)
    fig.suptitle(f"Critical points found ({cfg.n_starts} starts, {cfg.method}); "
                 "numbers refer to the tables; contours of log(1 + f − min f)")
    return fig


def _table_rows(d: dict) -> tuple[list[list[str]], list[str]]:
    """One row per point, or per (kind, index) when there are more than ``MAX_LISTED``."""
    if len(d["x"]) <= MAX_LISTED:
        cells = [[str(i + 1), str(d["kind"][i]), str(int(d["index"][i])),
                  f"({d['x'][i, 0]:.4f}, {d['x'][i, 1]:.4f})", f"{d['value'][i]:.6g}",
                  str(int(d["hits"][i])), "yes" if d["in_catalogue"][i] else "NO"]
                 for i in range(len(d["x"]))]
        return cells, [str(k) for k in d["kind"]]
    cells, kinds = [], []
    for kind, index in dict.fromkeys(zip(d["kind"].tolist(), d["index"].tolist(), strict=True)):
        sel = (d["kind"] == kind) & (d["index"] == index)
        v = d["value"][sel]
        cells.append([f"{sel.sum()}×", kind, str(index), "(see the contour plot)",
                      f"{v.min():.3g} … {v.max():.3g}", str(int(d["hits"][sel].sum())),
                      f"{int(d['in_catalogue'][sel].sum())} yes"])
        kinds.append(kind)
    return cells, kinds


def _completeness_text(d: dict) -> str:
    c = _completeness(d)
    if c is None:
        return "no smooth catalogued point"
    return (f"completeness {c:.0%} ({int(d['known_found'].sum())}/{len(d['known_found'])} "
            "catalogued)")


def plot_tables(cfg: Config, data: dict):
    names = list(cfg.objectives)
    ncols = min(2, len(names))
    nrows = -(-len(names) // ncols)
    tables = {n: _table_rows(_part(data, n)) for n in names}
    rows = [len(tables[n][0]) + 3 for n in names] + [0] * (nrows * ncols - len(names))
    heights = [max(rows[r * ncols:(r + 1) * ncols]) for r in range(nrows)]
    fig, axes = splot.figure(nrows, ncols, width=5.0 * ncols, height=0.17 * sum(heights),
                             squeeze=False, gridspec_kw=dict(height_ratios=heights))
    for ax, name in zip(axes.ravel(), names, strict=False):
        cells, kinds = tables[name]
        ax.axis("off")
        table = ax.table(cellText=cells, colLabels=["#", "kind", "index", "(x, y)", "f",
                                                    "hits", "catalogue"],
                         loc="upper center", cellLoc="center",
                         colWidths=[0.07, 0.14, 0.08, 0.28, 0.19, 0.1, 0.12])
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        for (r, _), cell in table.get_celld().items():
            cell.set_linewidth(0.3)
            if r == 0:
                cell.set_text_props(weight="bold")
        for i, kind in enumerate(kinds):
            table[i + 1, 1].set_text_props(color=splot.KIND_STYLE[kind]["color"])
        ax.set_title(f"{name}: {_completeness_text(_part(data, name))}", fontsize=9)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    return fig


def plot_counts(cfg: Config, data: dict):
    panels = [(fam, d) for fam, attr in FAMILIES.items() for d in getattr(cfg, attr)]
    ncols = max(len(cfg.st_dims), len(cfg.rastrigin_dims))
    fams = [f for f, attr in FAMILIES.items() if getattr(cfg, attr)]
    fig, axes = splot.figure(len(fams), ncols, width=2.3 * ncols + 0.8,
                             height=2.5 * len(fams), squeeze=False)
    titles = {"styblinski_tang": "Styblinski–Tang", "rastrigin": "Rastrigin"}
    for r, fam in enumerate(fams):
        dims = [d for f, d in panels if f == fam]
        for c in range(ncols):
            ax = axes[r, c]
            if c >= len(dims):
                ax.set_visible(False)
                continue
            dim = dims[c]
            d = _part(data, f"{fam}_d{dim}")
            known = known_counts(fam, dim)
            found = np.bincount(d["index"], minlength=dim + 1)[: dim + 1]
            k = np.arange(dim + 1)
            ax.bar(k - 0.2, known, 0.4, color="lightgrey", edgecolor="k", lw=0.5, label="known")
            ax.bar(k + 0.2, found, 0.4, color="#1b9e77", edgecolor="k", lw=0.5, label="found")
            for kk, (kn, fo) in enumerate(zip(known, found, strict=True)):
                ax.annotate(f"{fo}", (kk + 0.2, fo), textcoords="offset points", xytext=(0, 1),
                            ha="center", fontsize=6.5,
                            color="k" if fo == kn else "red")
            ax.set_xticks(k)
            ax.set(xlabel="index k (negative eigenvalues)",
                   title=f"{titles[fam]} d={dim}: {found.sum()}/{known.sum()}")
            ax.set_ylim(0, known.max() * 1.18)
            if c == 0:
                ax.set_ylabel("critical points")
    handles, _ = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, ["known: C(d,k)·a^(d−k)·b^k (ST a=2, b=1; Rastrigin a=11, b=10)",
                         "found"], loc="outside lower center", ncols=2, frameon=False)
    return fig


def plot(cfg: Config, data: dict) -> dict:
    out = {}
    if cfg.objectives:
        out["critical_atlas"] = plot_contours(cfg, data)
        out["critical_tables"] = plot_tables(cfg, data)
    if cfg.st_dims or cfg.rastrigin_dims:
        out["index_counts"] = plot_counts(cfg, data)
    return out


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
