"""Atlas of a 2-D landscape: its critical points, and where each optimizer ends from one start set.

Claim tested: which minimum a run ends in depends on the optimizer, not only on the
start. From identical uniform starts, GD, momentum, Nesterov, Adagrad, RMSprop and
Adam split differently between the minima of Himmelblau's function (four global
minima, f = 0); their basin maps differ, and GD almost never ends at a saddle
(its stable manifold has measure zero).

Method: critical points by Newton-type root finding from many starts
(``saddle.find_critical_points``), classified by the Hessian and checked against
the catalogue. Then each optimizer runs ``steps`` steps from ``n_starts`` uniform
starts (the same for all) and from a ``grid × grid`` lattice (the basin maps), all
in one ``jit(vmap(scan))`` per optimizer; end points are assigned to the nearest
critical point within 1% of the box diagonal, converged or not (RMSprop hovers at a
distance ~η from its minimum without meeting the gradient tolerance; it still
chose a basin). "Converged" (‖∇f‖ < grad_tol at the end) is reported separately.
Basin probabilities (``saddle.basin_stats``) carry Wilson 95% intervals; runs that
diverged or ended far from every critical point are reported as their own shares.

Expected (Himmelblau, defaults): 9 critical points (4 minima, 4 saddles, 1 maximum);
every optimizer converges from > 99% of starts; basin shares differ between
optimizers by more than their CIs (e.g. GD vs Adam at the minimum (3, 2)). Verdict
(summary.json): "confirmed" when two optimizers' shares of a minimum have disjoint 95%
intervals and GD ended at no saddle.

Run: python -m experiments.atlas                    (about 25 s on 2 CPU cores)
     python -m experiments.atlas --objective six_hump_camel
"""

from __future__ import annotations

import dataclasses
import itertools

import jax
import matplotlib.colors as mcolors
import numpy as np

import saddle
from saddle import optimizers
from saddle import plot as splot
from saddle.experiment import field

# Learning rates that converge on the classic 2-D objectives within 2000 steps.
DEFAULT_LR = {"gd": 0.01, "momentum": 0.002, "nesterov": 0.002, "adagrad": 0.5,
              "rmsprop": 0.01, "adam": 0.05, "adamw": 0.05, "amsgrad": 0.05,
              "adabelief": 0.05, "lion": 0.005, "perturbed_gd": 0.01, "noisy_gd": 0.01}
OBJECTIVES = tuple(n for n in saddle.objectives.names()  # n-d families at their default d = 2
                   if saddle.objectives.is_n_dim(n) or saddle.objectives.get(n).dim == 2)


CLAIM = ("Which of Himmelblau's minima a run ends in depends on the optimizer, not only on the "
         "start; GD almost never ends at a saddle.")
RUNTIME = "23 s"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    objective: str = field("himmelblau", "The 2-D objective.", choices=OBJECTIVES)
    optimizers: tuple[str, ...] = field(
        ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"),
        "The optimizers compared.", choices=optimizers.names)
    lrs: tuple[float, ...] = field((), "one learning rate per optimizer; empty: " + ", ".join(
        f"{k} {v:g}" for k, v in DEFAULT_LR.items()), above=0)
    n_starts: int = field(4096, "uniform starts, the same for every optimizer", at_least=1)
    grid: int = field(100, "basin maps: grid × grid starts over the box", at_least=2)
    steps: int = field(2000, "optimizer steps per run", at_least=1)
    grad_tol: float = field(1e-3, "a run has converged when ‖∇f‖ < grad_tol at its end",
                            above=0)
    n_paths: int = field(6, "sample paths drawn per optimizer", at_least=1)
    seed: int = field(0, "PRNG seed")

    def __post_init__(self) -> None:
        saddle.experiment.check_fields(self)
        if not self.optimizers:
            raise ValueError("optimizers must name at least one optimizer")
        if self.lrs and len(self.lrs) != len(self.optimizers):
            raise ValueError(f"lrs must have one value per optimizer ({len(self.optimizers)}), "
                             f"got {len(self.lrs)}")

    def lr(self, name: str) -> float:
        return self.lrs[self.optimizers.index(name)] if self.lrs else DEFAULT_LR[name]


def assign_tol(obj: saddle.Objective) -> float:
    """End points within 1% of the box diagonal of a critical point belong to it."""
    return 0.01 * float(np.linalg.norm(obj.upper - obj.lower))


def critical_points(cfg: Config, key: jax.Array) -> dict[str, np.ndarray]:
    obj = saddle.objectives.get(cfg.objective)
    cps = saddle.find_critical_points(obj, key=key, n_starts=max(4096, cfg.n_starts))
    return {"cp_x": cps.x, "cp_value": cps.value, "cp_index": cps.index, "cp_kind": cps.kind,
            "cp_eigenvalues": cps.eigenvalues, "cp_hits": cps.hits}


def descend_all(cfg: Config, name: str, cp_x: np.ndarray, key: jax.Array) -> dict:
    """One optimizer from the uniform starts, the grid and the path starts."""
    obj = saddle.objectives.get(cfg.objective)
    k_starts, k_paths = jax.random.split(jax.random.PRNGKey(cfg.seed))
    uniform = saddle.starts.uniform(k_starts, cfg.n_starts, obj)
    grid = saddle.starts.grid(cfg.grid, obj)
    paths0 = saddle.starts.uniform(k_paths, cfg.n_paths, obj)
    opt = optimizers.make(name, cfg.lr(name))
    x0 = np.concatenate([np.asarray(uniform), np.asarray(grid)])
    run = saddle.descend(obj, x0, opt, cfg.steps, key=key, grad_tol=cfg.grad_tol)
    path = saddle.descend(obj, paths0, opt, cfg.steps, key=key, grad_tol=cfg.grad_tol,
                          record_every=max(1, cfg.steps // 200), record_path=True)
    n = cfg.n_starts
    return {"x_end": run.x[:n], "diverged": run.diverged[:n],
            "map": saddle.basins.assign(run.x[n:], cp_x, assign_tol(obj), run.diverged[n:]),
            "converged_step": run.converged_step[:n], "converged": run.converged[:n],
            "end_loss": run.loss[:n], "path": path.path}


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    data = ctx.stage("critical_points", lambda: critical_points(cfg, jax.random.fold_in(root, 0)))
    for i, name in enumerate(ctx.progress(cfg.optimizers, desc="optimizers")):
        key = jax.random.fold_in(root, i + 1)
        part = ctx.stage(name, lambda name=name, key=key, cp_x=data["cp_x"]:
                         descend_all(cfg, name, cp_x, key))
        data |= {f"{name}__{k}": v for k, v in part.items()}
    return data


def _cp_label(data: dict, i: int) -> str:
    x = data["cp_x"][i]
    return f"{data['cp_kind'][i]} ({x[0]:.3f}, {x[1]:.3f})"


def basins(cfg: Config, data: dict, name: str) -> saddle.BasinStats:
    """Basin shares of optimizer ``name`` over all critical points (Wilson 95% CIs)."""
    return saddle.basin_stats(data[f"{name}__x_end"], data["cp_x"],
                              assign_tol(saddle.objectives.get(cfg.objective)),
                              data[f"{name}__diverged"])


def verdict(cfg: Config, data: dict) -> dict:
    """Confirmed when two optimizers' shares of some minimum have disjoint 95% CIs and GD
    (if run) ended at no saddle; refuted when neither; depends when one of the two."""
    st = {name: basins(cfg, data, name) for name in cfg.optimizers}
    gaps = [(max(st[a].ci_low[i] - st[b].ci_high[i], st[b].ci_low[i] - st[a].ci_high[i]), a, b, i)
            for a, b in itertools.combinations(cfg.optimizers, 2)
            for i in np.flatnonzero(data["cp_kind"] == "minimum")]
    tested, because = [], []
    if gaps:  # the pair and minimum whose intervals lie furthest apart
        gap, a, b, i = max(gaps, key=lambda g: g[0])
        tested.append(gap > 0)
        because.append(f"{_cp_label(data, i)}: " + " vs ".join(
            f"{o} {st[o].probs[i]:.3f} [{st[o].ci_low[i]:.3f}, {st[o].ci_high[i]:.3f}]"
            for o in (a, b)) + ("" if gap > 0 else " (the most different shares overlap)"))
    if "gd" in st:
        at = int(np.sum(np.isin(st["gd"].labels, np.flatnonzero(data["cp_kind"] == "saddle"))))
        tested.append(at == 0)
        because.append(f"GD ended at a saddle in {at} of {st['gd'].n} runs (95% upper bound "
                       f"{float(saddle.wilson_interval(at, st['gd'].n)[1]):.2g})")
    return saddle.experiment.verdict(tested, "; ".join(because) or "one optimizer, no GD")


def summarize(cfg: Config, data: dict) -> dict:
    obj = saddle.objectives.get(cfg.objective)
    m = len(data["cp_x"])
    known = obj.known_x().reshape(-1, 2)
    matched, _ = saddle.critical.match_catalogue(  # within 10⁻³ of the box diagonal
        data["cp_x"], known, 1e-3 * float(np.linalg.norm(obj.upper - obj.lower)))
    out = {
        "objective": cfg.objective,
        "claim": "the basin a run ends in depends on the optimizer; GD ends at no saddle",
        **verdict(cfg, data),
        "critical_points": [
            {"x": data["cp_x"][i], "value": data["cp_value"][i], "index": int(data["cp_index"][i]),
             "kind": str(data["cp_kind"][i]), "eigenvalues": data["cp_eigenvalues"][i],
             "in_catalogue": bool(matched[i])} for i in range(m)],
        "catalogue_complete": obj.complete,
        "catalogue_all_found": bool(obj.complete and sum(matched) == len(known)),
        "optimizers": {},
    }
    for name in cfg.optimizers:
        st = basins(cfg, data, name)
        steps = data[f"{name}__converged_step"]
        steps = steps[steps >= 0]
        out["optimizers"][name] = {
            "lr": cfg.lr(name),
            "basins": {_cp_label(data, i): {"probability": st.probs[i], "ci_low": st.ci_low[i],
                                            "ci_high": st.ci_high[i]}
                       for i in range(m) if st.counts[i] or data["cp_kind"][i] == "minimum"},
            "converged_fraction": float(np.mean(data[f"{name}__converged"])),
            "diverged_fraction": st.diverged,
            "unassigned_fraction": st.unassigned,
            "at_saddle_fraction": float(np.mean(np.isin(
                st.labels, np.flatnonzero(data["cp_kind"] == "saddle")))),
            "median_steps": float(np.median(steps)) if steps.size else None,
        }
    return out


def _minima_colors(data: dict) -> tuple[np.ndarray, list]:
    minima = np.flatnonzero(data["cp_kind"] == "minimum")
    palette = list(mcolors.TABLEAU_COLORS.values())
    return minima, [palette[j % len(palette)] for j in range(len(minima))]


def plot(cfg: Config, data: dict) -> dict:
    obj = saddle.objectives.get(cfg.objective)
    minima, colors = _minima_colors(data)
    k = len(cfg.optimizers)
    fig = splot.empty_figure(width=2.2 * max(k, 4), height=7.2)
    sub = fig.subfigures(2, 1, height_ratios=[1.15, 1])
    top = sub[0].subplots(1, 3, width_ratios=[1.1, 1.4, 1])
    maps = np.atleast_1d(sub[1].subplots(1, k, sharey=True))
    lo, hi = obj.lower, obj.upper

    # (a) contour, critical points, sample paths per optimizer
    ax = top[0]
    splot.contour(ax, obj, levels=30, log=True)
    opt_colors = splot.plt.get_cmap("tab10")(np.arange(k) % 10)
    for j, name in enumerate(cfg.optimizers):
        splot.trajectories(ax, data[f"{name}__path"], color=opt_colors[j], alpha=0.8, lw=0.9)
    splot.critical_points(ax, data["cp_x"], data["cp_kind"], size=45, legend=False)
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xlabel="x", ylabel="y",
           title=f"(a) {cfg.objective}: critical points, paths")

    # (b) basin probabilities with Wilson 95% CIs
    ax = top[1]
    st = [basins(cfg, data, name) for name in cfg.optimizers]
    splot.grouped_intervals(ax, *([getattr(s, f)[minima] for s in st]
                                  for f in ("probs", "ci_low", "ci_high")),
                            names=cfg.optimizers, colors=opt_colors, bars=True)
    ax.set_xticks(np.arange(len(minima)),
                  [f"({x[0]:.2f}, {x[1]:.2f})" for x in data["cp_x"][minima]],
                  rotation=30, ha="right")
    for tick, c in zip(ax.get_xticklabels(), colors, strict=True):
        tick.set_color(c)
    ax.set(ylabel="P(end in basin)",
           title=f"(b) basin probabilities ({cfg.n_starts} starts, 95% CI)")
    ax.legend(ncols=2, fontsize=7)

    # (c) steps to converge (ECDF)
    ax = top[2]
    for j, name in enumerate(cfg.optimizers):
        splot.ecdf(ax, data[f"{name}__converged_step"], color=opt_colors[j], label=name)
    ax.set(xscale="log", xlabel="steps to converge (‖∇f‖ < tol for good)",
           ylabel="fraction of runs", title="(c) time to converge", ylim=(0, 1.02))

    # (d) basin maps
    for j, (ax, name) in enumerate(zip(maps, cfg.optimizers, strict=True)):
        splot.basin_image(ax, data[f"{name}__map"], cfg.grid, (lo, hi), minima, colors)
        splot.critical_points(ax, data["cp_x"][minima], data["cp_kind"][minima], size=20,
                              legend=False)
        ax.set(title=f"{name} (η={cfg.lr(name):g})", xlabel="x")
        if j == 0:
            ax.set_ylabel("y")
    sub[1].suptitle(f"(d) basins of attraction on a {cfg.grid}×{cfg.grid} grid "
                    "(grey: not converged, black: diverged)", fontsize=9)
    return {"atlas": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
