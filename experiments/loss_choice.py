"""Squared error or cross-entropy for a classifier? The seeds' "loss design" advice measured.

Claim tested: on classification, cross-entropy (softmax, or a logistic unit per class)
trains better than squared error on the same outputs (MSE on softmax or on sigmoid
probabilities): more seeds reach zero training error, and from saturated outputs MSE
sits on a plateau (its gradient carries a factor σ'(ŷ) → 0) where cross-entropy does not.

Method: three tasks — XOR (noisy blobs, a 2-2-2 tanh net, the smallest that can solve
it), two spirals (2-16-16-2 tanh) and 500 of scikit-learn's digits (64-16-10 tanh) — one
output per class and four losses of ``saddle.objectives.nn``: ``cross_entropy``
(softmax), ``sigmoid_cross_entropy``, ``mse_softmax``, ``mse_sigmoid``. ``seeds`` starts
θ₀ = s·θ_init (lecun-normal θ_init; s = 1 and a saturating s, ``init_scales``), the same
starts for every loss; full-batch heavy-ball momentum (β = 0.9) at one learning rate per
task, the same for every loss, for ``steps`` steps. Measured per run: zero training
error; the plateau at initialisation = the first recorded step at which the loss fell
below (1 − ``drop``)·L₀ (censored at ``steps``), and ‖∇L(θ₀)‖; and the distinct minima
reached, clustered by their function on the training set: two runs are the same minimum
when they predict the same class for every training point (so all zero-error runs are one).
Shares with Wilson 95% intervals, plateau medians with order-statistic 95% intervals.

Run: python -m experiments.loss_choice          (about 3 min on 2 CPU cores)
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

import saddle
from saddle import data as sdata
from saddle import plot as splot
from saddle.experiment import field
from saddle.objectives import nn

CLAIM = ("Cross-entropy trains classifiers better than squared error on the same outputs: "
         "more seeds reach zero training error, and no plateau from saturated outputs.")
RUNTIME = "55 s at load 2"
TASKS = ("xor", "spirals", "digits")
LOSSES = ("cross_entropy", "sigmoid_cross_entropy", "mse_softmax", "mse_sigmoid")
DIGITS_TRAIN = 500  # the first 500 of digits' (shuffled, stratified) training split
PAIRS = (("cross_entropy", "mse_softmax"), ("sigmoid_cross_entropy", "mse_sigmoid"))


def task(name: str, seed: int = 0) -> tuple[nn.Net, tuple[np.ndarray, np.ndarray]]:
    """The net and the training split (x, integer labels) of a task."""
    if name == "xor":
        ds, widths = sdata.xor(seed, n=200, noise=0.2), (2, 2)
    elif name == "spirals":
        ds, widths = sdata.spirals(seed, n=200, noise=0.05), (16, 16, 2)
    else:
        ds, widths = sdata.digits(seed), (16, 10)
    x, y = np.asarray(ds.x_train[:DIGITS_TRAIN], np.float32), ds.y_train[:DIGITS_TRAIN]
    return nn.mlp(x.shape[1], widths, "tanh"), (x, np.asarray(y, np.int32))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    tasks: tuple[str, ...] = field(TASKS, "The classification tasks.", choices=TASKS)
    losses: tuple[str, ...] = field(LOSSES, "The losses compared.", choices=LOSSES)
    seeds: int = field(32, "Starts per task, init scale and loss (the same for every loss).",
                       at_least=2)
    init_scales: tuple[float, ...] = field((1.0, 6.0), "Factors s of θ₀ = s·θ_lecun; the "
                                           "last one is the saturated case.")
    steps: int = field(1000, "Heavy-ball steps.", at_least=1)
    record_every: int = field(10, "Loss recorded every this many steps (plateau time).",
                              at_least=1)
    lr_xor: float = field(0.1, "Learning rate on xor.", above=0)
    lr_spirals: float = field(0.1, "Learning rate on spirals.", above=0)
    lr_digits: float = field(0.1, "Learning rate on digits.", above=0)
    drop: float = field(0.5, "The plateau ends when the loss fell below (1 − drop)·L₀.",
                        above=0, below=1)
    seed: int = field(0, "Seed of the jax.random keys and the data sets.")

    def __post_init__(self) -> None:
        if not (self.tasks and self.losses and self.init_scales):
            raise ValueError("tasks, losses and init_scales must not be empty")
        if not all(s > 0 for s in self.init_scales):
            raise ValueError(f"init_scales must be > 0, got {self.init_scales}")
        if self.record_every > self.steps:
            raise ValueError(f"record_every={self.record_every} is larger than "
                             f"steps={self.steps}")


def plateau_steps(loss_path: np.ndarray, steps: np.ndarray, drop: float) -> np.ndarray:
    """``[n]`` first recorded step with loss ≤ (1 − drop)·loss at step 0 (``loss_path``
    ``[n, T]`` at ``steps`` ``[T]``), or −1 if it never fell that far (censored)."""
    below = loss_path <= (1 - drop) * loss_path[:, :1]
    return np.where(below.any(1), steps[np.argmax(below, 1)], -1)


def one_task(cfg: Config, name: str, key: jax.Array) -> dict:
    net, (x, y) = task(name, cfg.seed)
    theta = jax.vmap(net.init)(jax.random.split(key, cfg.seeds))
    x0 = np.concatenate([s * np.asarray(theta) for s in cfg.init_scales])  # [S·seeds, d]
    opt = saddle.optimizers.make("momentum", getattr(cfg, f"lr_{name}"), momentum=0.9)
    out: dict[str, np.ndarray] = {}
    for loss in cfg.losses:
        obj = nn.objective(net, (x, y), loss=loss)
        run = saddle.descend(obj, x0, opt, cfg.steps, record_every=cfg.record_every,
                             max_loss_factor=1e12)
        pred = np.argmax(np.asarray(jax.vmap(net.apply, (0, None))(run.x, x)), -1)
        grad0 = jax.vmap(jax.grad(obj.fn), (0, None))(x0, obj.data)
        shape = (len(cfg.init_scales), cfg.seeds)
        out |= {f"{loss}__zero_error": (pred == y).all(1).reshape(shape),
                f"{loss}__pred": pred.reshape(*shape, -1).astype(np.int8),
                f"{loss}__plateau": plateau_steps(run.loss_path, run.path_steps,
                                                  cfg.drop).reshape(shape),
                f"{loss}__grad0": np.linalg.norm(grad0, axis=1).reshape(shape),
                f"{loss}__loss_path": run.loss_path.reshape(*shape, -1),
                f"{loss}__diverged": run.diverged.reshape(shape)}
    out["path_steps"] = run.path_steps
    return out


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    return ctx.stages(cfg.tasks, lambda i, name: one_task(cfg, name, jax.random.fold_in(root, i)),
                      desc="tasks")


def plateau_median(p: np.ndarray, steps: int) -> tuple[float, float, float]:
    """Median plateau and its 95% interval (order statistics), censored runs (−1) counted
    as longer than ``steps``: a median or bound that falls on one is inf."""
    med, lo, hi = saddle.stats.median_ci(np.where(p < 0, steps + 1, p).astype(float))
    med = np.inf if np.mean(p < 0) >= 0.5 else med
    return tuple(float(np.inf if v > steps else v) for v in (med, lo, hi))


def stats(cfg: Config, d: dict, loss: str, j: int) -> dict:
    ok = d[f"{loss}__zero_error"][j]
    lo, hi = saddle.wilson_interval(ok.sum(), ok.size)
    med, mlo, mhi = plateau_median(d[f"{loss}__plateau"][j], cfg.steps)
    pred = d[f"{loss}__pred"][j]
    return {"p_zero_error": float(ok.mean()), "ci_low": float(lo), "ci_high": float(hi),
            "plateau_median": med, "plateau_ci": [mlo, mhi],
            "plateau_censored": float((d[f"{loss}__plateau"][j] < 0).mean()),
            "grad_norm_init_median": float(np.median(d[f"{loss}__grad0"][j])),
            "distinct_minima": len(np.unique(pred, axis=0)),
            "distinct_minima_with_errors": len(np.unique(pred[~ok], axis=0)),
            "diverged": float(d[f"{loss}__diverged"][j].mean())}


def summarize(cfg: Config, data: dict) -> dict:
    out: dict = {"seeds": cfg.seeds, "steps": cfg.steps, "init_scales": cfg.init_scales,
                 "tasks": {}}
    passed, because = [], []
    sat = len(cfg.init_scales) - 1
    for name in cfg.tasks:
        d = saddle.experiment.part(data, name)
        s = {f"s={sc}": {loss: stats(cfg, d, loss, j) for loss in cfg.losses}
             for j, sc in enumerate(cfg.init_scales)}
        out["tasks"][name] = s
        for ce, mse in (p for p in PAIRS if set(p) <= set(cfg.losses)):
            for sc in s:
                a, b = s[sc][ce], s[sc][mse]
                passed.append(a["ci_low"] > b["ci_high"])
                because.append(f"{name} {sc}: zero error {ce} {a['p_zero_error']:.2f} vs "
                               f"{mse} {b['p_zero_error']:.2f}")
            a, b = (s[f"s={cfg.init_scales[sat]}"][k] for k in (ce, mse))
            passed.append(b["plateau_ci"][0] > a["plateau_ci"][1])
            because.append(f"{name} s={cfg.init_scales[sat]}: plateau median {ce} "
                           f"{a['plateau_median']:g} vs {mse} {b['plateau_median']:g} steps")
    out |= saddle.experiment.verdict(
        passed, "; ".join(because) + f" (of {cfg.seeds} seeds; a test passes when the 95% "
                                     f"intervals are disjoint in CE's favour; inf = censored)")
    return out


def plot(cfg: Config, data: dict) -> dict:
    nt, nl, ns = len(cfg.tasks), len(cfg.losses), len(cfg.init_scales)
    fig, axes = splot.figure(2, nt, width=3.6 * nt, height=6.4, squeeze=False)
    colors = splot.plt.get_cmap("tab10")(np.arange(nl))
    for c, name in enumerate(cfg.tasks):
        d = saddle.experiment.part(data, name)
        ax, axc = axes[0, c], axes[1, c]
        for i, loss in enumerate(cfg.losses):
            for j in range(ns):
                st = stats(cfg, d, loss, j)
                p, pos = st["p_zero_error"], j * (nl + 1) + i
                ax.bar(pos, p, color=colors[i], yerr=[[p - st["ci_low"]], [st["ci_high"] - p]],
                       capsize=2, label=loss if j == 0 else None, hatch="//" if j else None)
            lp = d[f"{loss}__loss_path"][-1]
            med = np.median(lp / lp[:, :1], axis=0)
            axc.plot(d["path_steps"], med, color=colors[i], label=loss)
        ax.set_xticks([j * (nl + 1) + (nl - 1) / 2 for j in range(ns)],
                      [f"s = {sc}" for sc in cfg.init_scales])
        ax.set(ylim=(0, 1.05), ylabel="P(zero training error)",
               title=f"({'abc'[c]}) {name}: {cfg.seeds} seeds, 95% CI")
        axc.axhline(1 - cfg.drop, color="k", ls=":", lw=1)
        axc.set_xscale("symlog", linthresh=10)
        axc.set(xlim=(0, cfg.steps), yscale="log", xlabel="step", ylabel="median L(t)/L(0)",
                title=f"({'def'[c]}) {name}: saturated start s = {cfg.init_scales[-1]}")
        if c == 0:
            ax.legend(fontsize=7)
            axc.legend(fontsize=7)
    return {"loss_choice": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
