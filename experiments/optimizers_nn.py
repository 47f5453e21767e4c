"""Optimizers on one network, each at its own best learning rate: who reaches a loss target
first, and who ends stuck on a plateau?

Claim tested (the seeds' advice "momentum rolls a ball past saddles and small bumps"): on
a small tanh MLP, momentum, Nesterov and Adam, each at its own best learning rate, reach a
loss target in fewer steps than plain gradient descent at its own best learning rate.
"Confirmed" when the 95% interval of each one's median steps-to-target lies entirely
below GD's, "refuted" when none does, "depends" otherwise.

Method: ``mlp(2, (16, 16, 2), tanh)`` on ``spirals`` (cross-entropy, full batch). For each
of GD, momentum, Nesterov, Adagrad, RMSprop, Adam and AdamW the learning-rate sweep over
``lrs`` × ``n_select`` selection starts is ONE ``descend`` program
(``saddle.optimizers.grid``); the kept lr minimises the median final loss over those
starts (a diverged run counts as +∞; ``saddle.compare.best_lr``). Each optimizer then runs
at its kept lr from ``n_eval`` FRESH starts (other keys than the selection's, the same for
every optimizer), so the comparison is not biased by the selection. L-BFGS
(``optax.lbfgs``, zoom line search, which ``descend`` runs since it passes value, grad
and value_fn to ``update``) has no learning rate to sweep; its steps are iterations, each
with several loss evaluations in its line search.

Definitions, fixed before running and relative to the data:
* target = ``target_fraction`` × log K, K classes (log K is the loss of the uninformed
  predictor); steps to target: the first step with full-batch loss < target
  (``saddle.compare.hitting_time``), censored at the horizon (``saddle.stats``).
* stuck on a plateau at the end: ‖∇f‖ < ``grad_fraction`` × the median ‖∇f(θ₀)‖ of the
  evaluation starts, loss ≥ target, and λ_min(∇²f) < −``eig_fraction`` × λ_max (index > 0;
  Lanczos, ``saddle.compare.curvature_ends``, run on the end points that meet the first
  two conditions).
Intervals: medians by order statistics (``median_ci``), shares by Wilson, all 95%.

Expected (measured, default config): median steps to loss < 0.069 — Adam 74.5 [66, 79],
momentum 94 [82, 100], Nesterov 114 [103, 130], L-BFGS 67.5 iterations, GD 322 [283, 394]
(kept lrs: GD 3, momentum and Nesterov 1, Adam 0.1): confirmed. No run of any optimizer
ends stuck on a plateau (0/32 each, Wilson upper end 0.11).

Run: python -m experiments.optimizers_nn            (4 min wall, 2.8 min CPU, 2 cores at load ≈ 4)
     python -m experiments.optimizers_nn --n-select 128 --n-eval 256 --steps 3000 \
         --lrs 0.001 0.003 0.01 0.03 0.1 0.3 1 3 10
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import optax

import saddle
from saddle import compare, optimizers
from saddle import plot as splot
from saddle.experiment import field
from saddle.objectives import nn as snn

CLAIM = ("Momentum, Nesterov and Adam, each at its own best learning rate, reach a loss target "
         "on a small tanh MLP in fewer steps than gradient descent at its best learning rate.")
RUNTIME = "1 min at load 2"
FAST = ("momentum", "nesterov", "adam")  # the optimizers the claim is about, against "gd"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    dataset: str = field("spirals", "Data set (saddle.data).", ("spirals", "xor", "digits"))
    n_data: int = field(400, "Points drawn (spirals, xor); digits has its own.", at_least=8)
    widths: tuple[int, ...] = field((16, 16), "Hidden widths of the MLP.")
    activation: str = field("tanh", "Hidden activation.", tuple(snn.ACTIVATIONS))
    optimizers: tuple[str, ...] = field(
        ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"),
        "Optimizers swept over lrs (must include gd).", optimizers.names)
    lbfgs: bool = field(True, "Also run L-BFGS (optax.lbfgs, zoom line search).")
    lbfgs_steps: int = field(200, "L-BFGS iterations (each with a line search).", at_least=1)
    lrs: tuple[float, ...] = field((0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
                                   "Learning rates swept for every optimizer.")
    n_select: int = field(32, "Starts of the lr sweep (selection seeds).", at_least=1)
    n_eval: int = field(32, "Fresh starts of the comparison (evaluation seeds).", at_least=1)
    steps: int = field(500, "Optimizer steps per run.", at_least=2)
    record_every: int = field(10, "Loss recorded every this many steps for the curves.",
                              at_least=1)
    target_fraction: float = field(0.1, "Loss target as a share of log K.", above=0)
    grad_fraction: float = field(1e-2, "Plateau: ‖∇f‖ below this share of the median "
                                       "initial ‖∇f‖.", above=0)
    eig_fraction: float = field(1e-3, "Plateau: λ_min below −this share of λ_max.", above=0)
    lanczos_iters: int = field(40, "Lanczos steps per end point.", at_least=2)
    seed: int = field(0, "Seed of the data and the jax.random keys.")

    def __post_init__(self) -> None:
        if "gd" not in self.optimizers:
            raise ValueError("optimizers must include 'gd' (the claim's baseline)")
        if not self.lrs or min(self.lrs) <= 0:
            raise ValueError(f"lrs must be learning rates > 0, got {self.lrs}")
        if self.record_every > self.steps:
            raise ValueError(f"record_every={self.record_every} is larger than steps={self.steps}")


def problem(cfg: Config) -> tuple[snn.Net, saddle.Objective, int]:
    """The network, its full-batch cross-entropy objective, and K (classes)."""
    kw = {} if cfg.dataset == "digits" else {"n": cfg.n_data}
    ds = saddle.data.load(cfg.dataset, seed=cfg.seed, **kw)
    net = snn.mlp(ds.x_train.shape[1], (*cfg.widths, ds.n_classes), cfg.activation)
    return net, snn.objective(net, ds, loss="cross_entropy", name="mlp"), ds.n_classes


def _starts(net: snn.Net, key: jax.Array, n: int) -> np.ndarray:
    return np.asarray(jax.jit(jax.vmap(net.init))(jax.random.split(key, n)))


def evaluate(cfg: Config, obj: saddle.Objective, x0: np.ndarray, opt: optax.GradientTransformation,
             steps: int, target: float, key: jax.Array) -> dict:
    """Runs from ``x0`` with the hitting time of ``target``, loss quantiles over time, and the
    Hessian's extreme eigenvalues at the end points with ‖∇f‖ < grad_tol and loss ≥ target
    (the plateau candidates; NaN elsewhere), grad_tol = ``grad_fraction`` × the median
    ‖∇f(x0)‖ (``grad0``, recorded at step 0)."""
    r = saddle.descend(obj, x0, opt, steps, key=key, record_every=min(cfg.record_every, steps),
                       monitors=[compare.hitting_time(target)])
    low, high = np.full(len(x0), np.nan), np.full(len(x0), np.nan)
    grad0 = r.records["grad_norm"][:, 0]
    grad_tol = cfg.grad_fraction * float(np.median(grad0))
    cand = np.flatnonzero((r.grad_norm < grad_tol) & (r.loss >= target) & ~r.diverged)
    if cand.size:
        low[cand], high[cand] = compare.curvature_ends(
            obj.fn, r.x[cand], key=jax.random.fold_in(key, 1), iters=cfg.lanczos_iters,
            args=(obj.data,))
    return {"loss": np.where(r.diverged, np.inf, r.loss), "grad_norm": r.grad_norm,
            "grad0": grad0,
            "diverged": r.diverged, "hit_step": r.outputs["hit_step"], "lowest": low,
            "highest": high, "path_steps": r.path_steps,
            "loss_quantiles": np.nanpercentile(r.loss_path, [25, 50, 75], axis=0)}


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    net, obj, k = problem(cfg)
    target = cfg.target_fraction * float(np.log(k))
    x_sel = _starts(net, jax.random.fold_in(root, 1), cfg.n_select)
    x_eval = _starts(net, jax.random.fold_in(root, 2), cfg.n_eval)
    data: dict[str, np.ndarray] = {"target": np.float64(target),
                                   "lrs": np.asarray(cfg.lrs)}
    for name in ctx.progress(cfg.optimizers, desc="optimizers"):
        def sweep(name: str = name) -> dict:
            r = saddle.descend(obj, x_sel, optimizers.grid(name, lr=list(cfg.lrs)), cfg.steps,
                               key=jax.random.fold_in(root, 3))
            return {"sweep_loss": r.loss, "sweep_diverged": r.diverged}

        sw = ctx.stage(f"sweep_{name}", sweep)
        best = compare.best_lr(sw["sweep_loss"], sw["sweep_diverged"])[0]
        ev = ctx.stage(f"eval_{name}", lambda name=name, lr=cfg.lrs[best]: evaluate(
            cfg, obj, x_eval, optimizers.make(name, lr), cfg.steps, target,
            jax.random.fold_in(root, 4)))
        data |= {f"{name}__{key}": v for key, v in {**sw, **ev, "best": best}.items()}
    if cfg.lbfgs:
        ev = ctx.stage("eval_lbfgs", lambda: evaluate(cfg, obj, x_eval, optax.lbfgs(),
                                                      cfg.lbfgs_steps, target,
                                                      jax.random.fold_in(root, 4)))
        data |= {f"lbfgs__{key}": v for key, v in ev.items()}
    return data


def names(cfg: Config) -> tuple[str, ...]:
    return (*cfg.optimizers, *(("lbfgs",) if cfg.lbfgs else ()))


def stuck_flags(cfg: Config, data: dict, name: str) -> np.ndarray:
    """``[n_eval]``: the run of ``name`` ended stuck on a plateau (module docstring)."""
    d = saddle.experiment.part(data, name)
    return compare.stuck(d["loss"], d["grad_norm"], d["lowest"], target=float(data["target"]),
                         grad_tol=cfg.grad_fraction * float(np.median(d["grad0"])),
                         eig_tol=cfg.eig_fraction * np.nan_to_num(np.maximum(d["highest"], 0)))


def summarize(cfg: Config, data: dict) -> dict:
    out: dict = {"target": float(data["target"]), "steps": cfg.steps, "n_select": cfg.n_select,
                 "n_eval": cfg.n_eval, "seeds": "selection and evaluation starts differ",
                 "optimizers": {}}
    for name in names(cfg):
        d = saddle.experiment.part(data, name)
        budget = cfg.lbfgs_steps if name == "lbfgs" else cfg.steps
        hit = saddle.stats.censored_summary(d["hit_step"], budget)
        fin = d["loss"][np.isfinite(d["loss"])]
        med, lo, hi = saddle.stats.median_ci(fin) if fin.size else (np.nan,) * 3
        row = {"final_loss_median": med, "final_loss_ci": [lo, hi],
               "steps_to_target_median": hit.median, "steps_to_target_ci": [hit.ci_low,
                                                                           hit.ci_high],
               "median_censored": hit.median_censored, "budget": budget,
               "reached": compare.shares(d["hit_step"] >= 0),
               "stuck": compare.shares(stuck_flags(cfg, data, name)),
               "diverged": compare.shares(d["diverged"]),
               "plateau_candidates": int(np.sum(np.isfinite(d["lowest"])))}
        if name != "lbfgs":
            best, score = compare.best_lr(d["sweep_loss"], d["sweep_diverged"])
            row |= {"best_lr": cfg.lrs[best], "sweep_median_loss": score,
                    "best_lr_at_grid_edge": best in (0, len(cfg.lrs) - 1)}
        out["optimizers"][name] = row
    o = out["optimizers"]
    gd_lo = o["gd"]["steps_to_target_ci"][0]
    fast = [n for n in FAST if n in o]
    wins = [o[n]["steps_to_target_ci"][1] < gd_lo for n in fast]
    because = "; ".join(f"{n} median {o[n]['steps_to_target_median']:g} steps "
                        f"[{o[n]['steps_to_target_ci'][0]:g}, {o[n]['steps_to_target_ci'][1]:g}]"
                        for n in ("gd", *fast))
    because += (f" to loss < {out['target']:.3g} (faster = interval entirely below GD's); "
                "best lr " + ", ".join(f"{n} {o[n]['best_lr']:g}" + " (grid edge)" * o[n][
                    "best_lr_at_grid_edge"] for n in ("gd", *fast)))
    return saddle.experiment.to_jsonable({**saddle.experiment.verdict(wins, because), **out})


def plot(cfg: Config, data: dict) -> dict:
    s = summarize(cfg, data)["optimizers"]
    ns = names(cfg)
    colors = dict(zip(ns, splot.plt.get_cmap("tab10")(np.arange(len(ns)) % 10), strict=True))
    fig, axes = splot.figure(2, 3, width=13, height=7.5)
    (a, b, c), (d, e, f) = axes
    for n in cfg.optimizers:
        score = np.asarray(s[n]["sweep_median_loss"], float)
        a.plot(cfg.lrs, np.where(np.isfinite(score), score, np.nan), "o-", color=colors[n],
               label=n, ms=3)
        a.plot(s[n]["best_lr"], score[cfg.lrs.index(s[n]["best_lr"])], "*", ms=12,
               color=colors[n])
    a.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="median final loss",
          title=f"(a) lr sweep, {cfg.n_select} selection starts (★ kept)")
    a.legend(fontsize=7)
    for j, n in enumerate(ns):
        loss = data[f"{n}__loss"]
        b.boxplot(loss[np.isfinite(loss)], positions=[j], widths=0.6, showfliers=True,
                  patch_artist=True, boxprops=dict(facecolor=colors[n], alpha=0.7),
                  medianprops=dict(color="k"))
        q, t = data[f"{n}__loss_quantiles"], data[f"{n}__path_steps"]
        d.plot(t, q[1], color=colors[n], label=n)
        d.fill_between(t, q[0], q[2], color=colors[n], alpha=0.15)
    ticks = dict(ticks=np.arange(len(ns)), labels=ns, rotation=30, ha="right")
    b.set_xticks(**ticks)
    b.axhline(float(data["target"]), color="grey", ls=":", lw=1)
    b.set(yscale="log", ylabel="final loss", title=f"(b) final loss, {cfg.n_eval} fresh starts")
    splot.ecdfs(c, {n: data[f"{n}__hit_step"] for n in ns}, colors, budget=cfg.steps)
    c.set(xscale="log", xlabel="steps to target", ylabel="share of runs",
          title=f"(c) steps to loss < {float(data['target']):.3g} (censored)")
    d.axhline(float(data["target"]), color="grey", ls=":", lw=1)
    d.set(yscale="log", xlabel="step", ylabel="loss (median, IQR)", title="(d) loss curves")
    keys = ("reached", "stuck", "diverged")
    cen, lo, hi = (np.array([[s[n][k][v] for n in ns] for k in keys])
                   for v in ("share", "ci_low", "ci_high"))
    splot.grouped_intervals(e, cen, lo, hi, names=["reached target", "stuck on plateau",
                                                   "diverged"],
                            colors=["#1b9e77", "#d95f02", "#7570b3"], bars=True)
    e.set_xticks(**ticks)
    e.set(ylim=(0, 1.05), ylabel="share (Wilson 95%)", title="(e) outcomes")
    e.legend(fontsize=7)
    for n in ns:
        f.scatter(data[f"{n}__grad_norm"], data[f"{n}__loss"], s=10, color=colors[n], label=n,
                  alpha=0.7)
    f.axhline(float(data["target"]), color="grey", ls=":", lw=1)
    f.axvline(cfg.grad_fraction * float(np.median(data["gd__grad0"])), color="grey", ls="--",
              lw=1)
    f.set(xscale="log", yscale="log", xlabel="final ‖∇f‖", ylabel="final loss",
          title="(f) end points (plateau box: upper left)")
    return {"optimizers_nn": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
