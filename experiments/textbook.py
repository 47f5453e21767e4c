"""The textbook figures of D2L §12.1, measured rather than drawn.

Claim tested: x·cos(πx) on [−1, 2] has a local minimum (x ≈ −0.27) and a global one
(x ≈ 1.09) and gradient descent ends in either depending on the start; x³ has a
critical point (0) that is neither minimum nor maximum; x² − y² has a saddle at 0
with Hessian eigenvalues +2 and −2; the monkey saddle x³ − 3xy² has a degenerate
critical point that the Hessian (all zero) cannot classify.

Method: for each toy, every critical point is found by Newton-type root finding from
``n_starts`` parallel uniform starts (``saddle.find_critical_points``) and
classified by its Hessian; then gradient descent runs from ``n_starts`` uniform
starts (``saddle.descend``) and the share ending at each point is measured, with
Wilson 95% intervals; diverged runs (f unbounded below) are counted as such.

Expected: 3 / 1 / 1 / 1 critical points with kinds (min, max, min) / degenerate /
saddle / degenerate; GD on x·cos(πx) splits between the two minima (about 1 : 2
for uniform starts); on x³ every start with x > 0 stalls at the degenerate point
and every start with x < 0 diverges.

Run: python -m experiments.textbook            (about 20 s on 2 CPU cores)
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

import saddle
from saddle import plot as splot
from saddle.experiment import field

TOYS = ("xcos", "cubic", "quadratic_saddle", "monkey_saddle")


CLAIM = ("D2L §12.1's toy landscapes have the minima, saddles and degenerate points the textbook "
         "draws, and GD ends in either minimum by start.")
RUNTIME = "9 s"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    n_starts: int = field(4096, "Uniform starts per toy, for the critical-point search and "
                                "for gradient descent.")
    steps: int = field(1000, "Gradient-descent steps per start.")
    lr: float = field(0.05, "Gradient-descent learning rate η.")
    n_paths: int = field(16, "Trajectories drawn per toy.")
    seed: int = field(0, "Seed of the jax.random keys.")

    def __post_init__(self) -> None:
        if self.n_starts < 1:
            raise ValueError(f"n_starts must be >= 1, got {self.n_starts}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not (self.lr > 0 and np.isfinite(self.lr)):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr}")
        if self.n_paths < 1:
            raise ValueError(f"n_paths must be >= 1, got {self.n_paths}")


def _path_starts(obj: saddle.Objective, n: int) -> np.ndarray:
    """Starts for the drawn trajectories: evenly spaced in 1-D, on a circle in 2-D."""
    lo, hi = obj.lower, obj.upper
    if obj.dim == 1:
        return np.linspace(lo[0], hi[0], n + 2)[1:-1, None]
    # Just off the axes, so that some paths pass close to the saddle before leaving it.
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False) + 0.02
    return 0.5 * (lo + hi) + 0.475 * (hi - lo) * np.stack([np.cos(angle), np.sin(angle)], -1)


def measure(cfg: Config, name: str, key: jax.Array) -> dict[str, np.ndarray]:
    """Critical points and GD end points for one toy objective."""
    obj = saddle.objectives.get(name)
    k_cp, k_gd = jax.random.split(key)
    cps = saddle.find_critical_points(obj, key=k_cp, n_starts=cfg.n_starts)
    hess = np.asarray(saddle.hessian(obj, cps.x))
    x0 = saddle.starts.uniform(k_gd, cfg.n_starts, obj)
    gd = saddle.descend(obj, x0, optax.sgd(cfg.lr), cfg.steps)
    paths = saddle.descend(obj, _path_starts(obj, cfg.n_paths), optax.sgd(cfg.lr), cfg.steps,
                           record_every=1, record_path=True)
    span = float(np.linalg.norm(obj.upper - obj.lower))
    labels = saddle.basins.assign(gd.x, cps.x, 0.02 * span, gd.diverged)
    return {
        "cp_x": cps.x, "cp_value": cps.value, "cp_kind": cps.kind, "cp_index": cps.index,
        "cp_eigenvalues": cps.eigenvalues, "cp_hits": cps.hits, "cp_hessian": hess,
        "x0": np.asarray(x0), "end_x": gd.x, "end_loss": gd.loss, "end_label": labels,
        "converged": gd.converged, "diverged": gd.diverged,
        "path": paths.path, "path_loss": paths.loss_path,
    }


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    data = {}
    root = jax.random.PRNGKey(cfg.seed)
    for i, name in enumerate(ctx.progress(TOYS, desc="textbook")):
        key = jax.random.fold_in(root, i)
        part = ctx.stage(name, lambda key=key, name=name: measure(cfg, name, key))
        data |= {f"{name}__{k}": v for k, v in part.items()}
    return data



def summarize(cfg: Config, data: dict) -> dict:
    out = {}
    for name in TOYS:
        d = saddle.experiment.part(data, name)
        n = len(d["end_label"])
        counts = np.array([np.sum(d["end_label"] == i) for i in range(len(d["cp_x"]))])
        lo, hi = saddle.wilson_interval(counts, n)
        points = [
            {"x": d["cp_x"][i], "value": d["cp_value"][i], "kind": str(d["cp_kind"][i]),
             "index": int(d["cp_index"][i]), "eigenvalues": d["cp_eigenvalues"][i],
             "newton_hits": int(d["cp_hits"][i]),
             "gd_share": float(counts[i] / n), "gd_ci": [float(lo[i]), float(hi[i])]}
            for i in range(len(d["cp_x"]))
        ]
        out[name] = {
            "critical_points": points,
            "gd": {"lr": cfg.lr, "steps": cfg.steps, "n_starts": n,
                   "converged_fraction": float(np.mean(d["converged"])),
                   "diverged_fraction": float(np.mean(d["diverged"])),
                   "unassigned_fraction": float(np.mean(d["end_label"] == -1))},
        }
    return {**verdict(out), **out}


def verdict(s: dict) -> dict:
    """The claim's four parts, each a test: xcos has exactly a maximum and two minima near
    x = −0.27 and 1.09 (±0.01) and GD ends in each minimum from some starts (Wilson lower
    bound > 0); x³'s only point is degenerate; x² − y²'s is a saddle with eigenvalues ±2
    (±1e-3); the monkey saddle's is degenerate with a zero Hessian (|λ| < 1e-6)."""
    def kinds(name: str) -> list[str]:
        return sorted(p["kind"] for p in s[name]["critical_points"])

    minima = sorted((p for p in s["xcos"]["critical_points"] if p["kind"] == "minimum"),
                    key=lambda p: p["x"][0])
    xcos_ok = (kinds("xcos") == ["maximum", "minimum", "minimum"]
               and np.allclose([p["x"][0] for p in minima], [-0.27, 1.09], atol=0.01)
               and all(p["gd_ci"][0] > 0 for p in minima))
    qs = s["quadratic_saddle"]["critical_points"]
    saddle_ok = kinds("quadratic_saddle") == ["saddle"] and np.allclose(
        sorted(qs[0]["eigenvalues"]), [-2.0, 2.0], atol=1e-3)
    ms = s["monkey_saddle"]["critical_points"]
    monkey_ok = kinds("monkey_saddle") == ["degenerate"] and np.all(
        np.abs(ms[0]["eigenvalues"]) < 1e-6)
    passed = [xcos_ok, kinds("cubic") == ["degenerate"], saddle_ok, monkey_ok]
    shares = ", ".join(f"x = {p['x'][0]:.3f}: {100 * p['gd_share']:.1f}%" for p in minima)
    because = (f"xcos {'ok' if passed[0] else 'differs'} (GD ends: {shares}); x³ "
               f"{'degenerate' if passed[1] else kinds('cubic')}; x² − y² "
               f"{'saddle, eigenvalues ±2' if passed[2] else kinds('quadratic_saddle')}; "
               f"monkey {'degenerate, H = 0' if passed[3] else kinds('monkey_saddle')}")
    return saddle.experiment.verdict(passed, because)


def _plot_1d(ax, obj, d, cfg, title):
    t = np.linspace(obj.lower[0], obj.upper[0], 400)
    ax.plot(t, np.asarray(jax.vmap(obj.fn)(jnp.asarray(t[:, None], jnp.float32))), "k", lw=1.2)
    splot.critical_points(ax, d["cp_x"][:, 0], d["cp_kind"], ys=d["cp_value"], legend=False)
    for i, (x, v, k) in enumerate(zip(d["cp_x"][:, 0], d["cp_value"], d["cp_kind"], strict=True)):
        share = np.mean(d["end_label"] == i)
        label = f"{k}\nx={x:.3f}" + (f"\nGD: {share:.0%}" if k != "maximum" else "")
        offset = (0, 8) if k == "maximum" else (0, -30)
        ax.annotate(label, (x, v), textcoords="offset points", xytext=offset, ha="center",
                    fontsize=7)
    div = np.mean(d["diverged"])
    ax.margins(y=0.3)
    ax.set(xlabel="x", ylabel="f(x)", title=title)
    ax.text(0.02, 0.98, f"GD, {len(d['end_label'])} uniform starts, η={cfg.lr}"
            + (f"\ndiverged (f → −∞): {div:.0%}" if div else ""),
            transform=ax.transAxes, va="top", fontsize=7)


def _plot_2d(ax, obj, d, title):
    splot.contour(ax, obj, levels=25)
    lo, hi = obj.lower, obj.upper
    splot.trajectories(ax, d["path"])
    splot.critical_points(ax, d["cp_x"], d["cp_kind"], size=70, legend=False)
    for x, h in zip(d["cp_x"], d["cp_hessian"], strict=True):
        w, v = np.linalg.eigh(h)
        if np.allclose(w, 0):
            ax.annotate("H = 0: degenerate", x, textcoords="offset points", xytext=(6, 8),
                        fontsize=7, color="w")
            continue
        for lam, vec in zip(w, v.T, strict=True):
            end = x + 0.35 * (hi - lo).max() / 2 * vec
            ax.annotate("", end, x, arrowprops=dict(arrowstyle="->", color="w", lw=1.2))
            ax.annotate(f"λ={lam:+.2f}", end, textcoords="offset points", xytext=(3, 3),
                        fontsize=7, color="w")
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xlabel="x", ylabel="y", title=title)


def plot(cfg: Config, data: dict) -> dict:
    fig, axes = splot.figure(2, 2, width=7.5, height=7.0)
    titles = {"xcos": "(a) f(x) = x cos(πx): local vs global minimum",
              "cubic": "(b) f(x) = x³: a degenerate critical point",
              "quadratic_saddle": "(c) f = x² − y²: a strict saddle",
              "monkey_saddle": "(d) f = x³ − 3xy²: the monkey saddle"}
    for ax, name in zip(axes.ravel(), TOYS, strict=True):
        obj, d = saddle.objectives.get(name), saddle.experiment.part(data, name)
        if obj.dim == 1:
            _plot_1d(ax, obj, d, cfg, titles[name])
        else:
            _plot_2d(ax, obj, d, titles[name])
    handles = [splot.plt.Line2D([], [], ls="", marker=s["marker"], color=s["color"],
                                markeredgecolor="k", label=k) for k, s in splot.KIND_STYLE.items()]
    handles.append(splot.plt.Line2D([], [], color="#1f78b4", label=f"GD path (η={cfg.lr})"))
    fig.legend(handles=handles, loc="outside lower center", ncols=5, frameon=False)
    return {"textbook": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
