"""Learning-rate schedules on a network: does decaying help, and does warm-up save a large
learning rate?

Claim tested (the seeds' advice "warm up the learning rate, decay it with a schedule"):
(1) decay: at one peak learning rate, a cosine decay ends at a lower training loss than the
constant rate (the 95% intervals of the two medians are disjoint); (2) warm-up: at a large
peak learning rate, linear warm-up followed by the same cosine decay (``warmup_cosine``)
leaves fewer failed runs than the cosine decay without warm-up (disjoint Wilson intervals
at one of ``large_lrs`` at least). "confirmed" when both hold, "refuted" when neither,
"depends" otherwise.

Method: ``mlp(2, (16, 16, 2), tanh)`` on ``spirals``, cross-entropy, minibatch SGD with
momentum 0.9 (``batch_size`` rows a step), ``n_seeds`` starts (the net's initialiser),
the same starts and minibatch draws for every schedule. Each schedule of
``saddle.optimizers.make(optimizer, lr, schedule=, steps=)`` runs from peak ``lr``:
constant, step, exponential, cosine, warmup + cosine, cyclic (triangular), one-cycle and
reduce-on-plateau (``optax.contrib.reduce_on_plateau`` on the minibatch loss averaged over
an epoch, ``accumulation_size`` = ⌈n_train / batch_size⌉ steps, with ``plateau_patience``
epochs of patience, as Keras's and PyTorch's ReduceLROnPlateau are used per epoch).
Measured per schedule: final full-batch training loss and test accuracy (medians with
order-statistic 95% intervals), loss curves (median and quartiles) and the learning rate
the optimizer applies at each step (``saddle.compare.lr_trajectory``; plateau's depends on
the losses and is not drawn).
Warm-up: constant, cosine and warmup_cosine over ``large_lrs`` (one ``descend`` program per
schedule, ``saddle.optimizers.grid``); a run *failed* when it diverged (non-finite or
exploding loss) or its final training loss is ≥ log K, the loss of predicting uniform
class probabilities (defined before running).

Expected (measured, default config): at peak lr 0.3 cosine ends at median train loss 0.048
[0.044, 0.053] against constant's 0.31 [0.25, 0.38] (test accuracy 0.96 vs 0.82);
warm-up does not lower the failed share at large peak lrs (lr 10: 15/32 failed with
warm-up, 7/32 without; constant fails 32/32 at lr 1, 3 and 10): "depends".

Run: python -m experiments.schedules_nn          (1.5 min wall at load ≈ 3; 5 min at load ≈ 10)
     python -m experiments.schedules_nn --n-seeds 256 --steps 3000
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from saddle import compare, optimizers
from saddle import plot as splot
from saddle.experiment import field
from saddle.objectives import nn as snn

CLAIM = ("On a small MLP trained by minibatch SGD with momentum, a cosine decay ends at a lower "
         "training loss than a constant learning rate, and warm-up before the decay leaves "
         "fewer failed runs at a large peak learning rate.")
RUNTIME = "35 s at load 2"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    dataset: str = field("spirals", "Data set (saddle.data).", ("spirals", "xor", "digits"))
    n_data: int = field(400, "Points drawn (spirals, xor); digits has its own.", at_least=8)
    widths: tuple[int, ...] = field((16, 16), "Hidden widths of the MLP.")
    activation: str = field("tanh", "Hidden activation.", tuple(snn.ACTIVATIONS))
    optimizer: str = field("momentum", "The optimizer every schedule drives.", optimizers.names)
    lr: float = field(0.3, "Peak (or starting) learning rate of every schedule.", above=0)
    schedules: tuple[str, ...] = field(
        ("constant", "step", "exponential", "cosine", "warmup_cosine", "cyclic", "one_cycle",
         "plateau"), "The schedules compared.", optimizers.schedule_names)
    large_lrs: tuple[float, ...] = field((1.0, 3.0, 10.0), "Peak rates of the warm-up test.")
    warmup_test: tuple[str, ...] = field(("constant", "cosine", "warmup_cosine"),
                                         "Schedules of the warm-up test (with cosine and "
                                         "warmup_cosine).", optimizers.schedule_names)
    batch_size: int = field(32, "Rows per SGD step.", at_least=1)
    plateau_patience: int = field(10, "Plateau: epochs without improvement before the lr "
                                      "is cut by 10.", at_least=0)
    n_seeds: int = field(32, "Starts, the same for every schedule.", at_least=1)
    steps: int = field(1000, "Optimizer steps per run.", at_least=2)
    record_every: int = field(20, "Loss recorded every this many steps.", at_least=1)
    seed: int = field(0, "Seed of the data and the jax.random keys.")

    def __post_init__(self) -> None:
        if not self.schedules:
            raise ValueError("schedules must name at least one schedule")
        if not self.large_lrs or min(self.large_lrs) <= 0:
            raise ValueError(f"large_lrs must be learning rates > 0, got {self.large_lrs}")
        if not {"cosine", "warmup_cosine"} <= set(self.warmup_test):
            raise ValueError(f"warmup_test must include cosine and warmup_cosine, got "
                             f"{self.warmup_test}")
        if self.record_every > self.steps:
            raise ValueError(f"record_every={self.record_every} is larger than steps={self.steps}")



def problem(cfg: Config) -> tuple[snn.Net, saddle.Objective, saddle.data.Dataset]:
    kw = {} if cfg.dataset == "digits" else {"n": cfg.n_data}
    ds = saddle.data.load(cfg.dataset, seed=cfg.seed, **kw)
    net = snn.mlp(ds.x_train.shape[1], (*cfg.widths, ds.n_classes), cfg.activation)
    return net, snn.objective(net, ds, loss="cross_entropy", name="mlp"), ds


def accuracy(net: snn.Net, thetas: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``[..., n]`` share of rows of ``x`` whose arg-max output is ``y``, per θ ``[..., n, d]``."""
    th = np.asarray(thetas)
    flat = th.reshape(-1, th.shape[-1])
    acc = jax.jit(jax.vmap(lambda t: jnp.mean(jnp.argmax(net.apply(t, x), -1) == y)))
    return np.asarray(acc(flat)).reshape(th.shape[:-1])


def failed(cfg: Config, data: dict, name: str) -> np.ndarray:
    """``[len(large_lrs), n_seeds]``: the warm-up test's runs of ``name`` that failed."""
    loss = data[f"{name}__large_loss"]
    return data[f"{name}__large_diverged"] | ~(loss < float(data["chance_loss"]))


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    net, obj, ds = problem(cfg)
    x0 = np.asarray(jax.jit(jax.vmap(net.init))(jax.random.split(jax.random.fold_in(root, 1),
                                                        cfg.n_seeds)))
    key = jax.random.fold_in(root, 2)  # the same minibatches for every schedule
    data: dict[str, np.ndarray] = {"chance_loss": np.float64(np.log(ds.n_classes))}
    names = (*cfg.schedules, *(n for n in cfg.warmup_test if n not in cfg.schedules))
    for name in ctx.progress(names, desc="schedules"):
        def one(name: str = name) -> dict:
            # peak lr and (for the warm-up test) the large ones: one program, an lr axis
            main, big = name in cfg.schedules, name in cfg.warmup_test
            epoch = -(-len(ds.x_train) // cfg.batch_size)
            skw = ({"accumulation_size": epoch, "patience": cfg.plateau_patience}
                   if name == "plateau" else None)
            g = optimizers.grid(cfg.optimizer, lr=[cfg.lr] * main + list(cfg.large_lrs) * big,
                                schedule=name, steps=cfg.steps, schedule_kwargs=skw)
            r = saddle.descend(obj, x0, g, cfg.steps, key=key, batch_size=cfg.batch_size,
                               record_every=cfg.record_every)
            loss = np.where(r.diverged, np.inf, r.loss)
            out = {"large_loss": loss[main:], "large_diverged": r.diverged[main:]} if big else {}
            if main:
                out |= {"loss": loss[0], "diverged": r.diverged[0], "x": r.x[0],
                        "test_accuracy": accuracy(net, r.x[0], ds.x_test, ds.y_test),
                        "loss_quantiles": np.nanpercentile(r.loss_path[0], [25, 50, 75], 0),
                        "path_steps": r.path_steps, "lr_curve": np.full(cfg.steps, np.nan)
                        if name == "plateau" else compare.lr_trajectory(optimizers.make(
                            "gd", cfg.lr, schedule=name, steps=cfg.steps), cfg.steps)}
            return out

        data |= {f"{name}__{k}": v for k, v in ctx.stage(name, one).items()}
    return data


def _median(values: np.ndarray) -> dict:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    med, lo, hi = saddle.stats.median_ci(v) if v.size else (np.nan,) * 3
    return {"median": med, "ci": [lo, hi], "n_finite": int(v.size)}


def summarize(cfg: Config, data: dict) -> dict:
    out: dict = {"optimizer": cfg.optimizer, "peak_lr": cfg.lr, "steps": cfg.steps,
                 "batch_size": cfg.batch_size, "n_seeds": cfg.n_seeds,
                 "chance_loss": float(data["chance_loss"]), "schedules": {}, "warmup": {}}
    for name in cfg.schedules:
        d = saddle.experiment.part(data, name)
        out["schedules"][name] = {"train_loss": _median(d["loss"]),
                                  "test_accuracy": _median(d["test_accuracy"]),
                                  "diverged": compare.shares(d["diverged"])}
    for name in cfg.warmup_test:
        out["warmup"][name] = {"lrs": list(cfg.large_lrs),
                               "failed": compare.shares(failed(cfg, data, name))}
    tests, because = [], []
    s = out["schedules"]
    if "constant" in s and "cosine" in s:
        c, k = s["constant"]["train_loss"], s["cosine"]["train_loss"]
        tests.append(bool(k["ci"][1] < c["ci"][0]))
        because.append(f"decay: cosine median train loss {k['median']:.3g} [{k['ci'][0]:.3g}, "
                       f"{k['ci'][1]:.3g}] vs constant {c['median']:.3g} [{c['ci'][0]:.3g}, "
                       f"{c['ci'][1]:.3g}] at lr {cfg.lr:g}")
    w, n = out["warmup"]["warmup_cosine"]["failed"], out["warmup"]["cosine"]["failed"]
    tests.append(bool(np.any(np.asarray(w["ci_high"]) < np.asarray(n["ci_low"]))))
    because.append("warm-up: failed share with/without warm-up at lr " + ", ".join(
        f"{lr:g}: {a:.2f} vs {b:.2f}" for lr, a, b in zip(cfg.large_lrs, w["share"],
                                                           n["share"], strict=True))
        + " (helps = Wilson intervals disjoint)")
    return saddle.experiment.to_jsonable(
        {**saddle.experiment.verdict(tests, "; ".join(because)), **out})


def plot(cfg: Config, data: dict) -> dict:
    s = summarize(cfg, data)
    ns = cfg.schedules
    colors = splot.plt.get_cmap("tab10")(np.arange(len(ns)) % 10)
    fig, axes = splot.figure(2, 3, width=13, height=7.5)
    (a, b, c), (d, e, f) = axes
    for j, name in enumerate(ns):
        q, t = data[f"{name}__loss_quantiles"], data[f"{name}__path_steps"]
        a.plot(t, q[1], color=colors[j], label=name)
        a.fill_between(t, q[0], q[2], color=colors[j], alpha=0.15)
        d.plot(np.arange(cfg.steps), data[f"{name}__lr_curve"], color=colors[j], label=name)
        for ax, key in ((b, "loss"), (e, "test_accuracy")):
            v = data[f"{name}__{key}"]
            ax.boxplot(v[np.isfinite(v)], positions=[j], widths=0.6, patch_artist=True,
                       boxprops=dict(facecolor=colors[j], alpha=0.7),
                       medianprops=dict(color="k"))
    a.set(yscale="log", xlabel="step", ylabel="train loss (median, IQR)",
          title=f"(a) {cfg.optimizer}, peak lr {cfg.lr:g}, {cfg.n_seeds} seeds")
    a.legend(fontsize=7, ncols=2)
    ticks = dict(ticks=np.arange(len(ns)), labels=ns, rotation=30, ha="right")
    for ax in (b, e):
        ax.set_xticks(**ticks)
    b.set(yscale="log", ylabel="final train loss", title="(b) final train loss")
    e.set(ylabel="test accuracy", title="(e) test accuracy")
    d.set(yscale="log", xlabel="step", ylabel="learning rate applied",
          title="(d) schedules (plateau: adaptive, not drawn)")
    w = s["warmup"]
    wcol = splot.plt.get_cmap("Set1")(np.arange(len(cfg.warmup_test)) % 9)
    cen, lo, hi = (np.array([w[n]["failed"][k] for n in cfg.warmup_test]) for k in
                   ("share", "ci_low", "ci_high"))
    splot.grouped_intervals(c, cen, lo, hi, names=list(cfg.warmup_test), colors=wcol,
                            bars=True)
    c.set_xticks(np.arange(len(cfg.large_lrs)), [f"lr {v:g}" for v in cfg.large_lrs])
    c.set(ylim=(0, 1.05), ylabel="failed share (Wilson 95%)",
          title="(c) failed runs (diverged or loss ≥ log K)")
    c.legend(fontsize=7)
    for i in range(len(cfg.large_lrs)):
        for j, name in enumerate(cfg.warmup_test):
            v = data[f"{name}__large_loss"][i]
            f.scatter(np.full(v.size, i + (j - 1) * 0.25), np.clip(v, None, 1e3), s=8,
                      color=wcol[j],
                      label=name if i == 0 else None, alpha=0.7)
    f.axhline(float(data["chance_loss"]), color="k", ls=":", lw=1)
    f.set_xticks(np.arange(len(cfg.large_lrs)), [f"lr {v:g}" for v in cfg.large_lrs])
    f.set(yscale="log", ylabel="final train loss", title="(f) large peak lr: every run "
          "(dotted: log K)")
    f.legend(fontsize=7)
    return {"schedules_nn": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
