"""Do small batches end flatter and generalise better? With Dinh et al.'s control.

Claim tested (Keskar et al. 2017): SGD with small batches ends at flatter minima (smaller
sharpness λ_max of the full training loss's Hessian) with a smaller train/test gap than
large-batch or full-batch training. Control (Dinh et al. 2017): for a ReLU network,
(W₁, b₁, W₂) → (αW₁, αb₁, W₂/α) computes the same function (``saddle.stability.
layer_scales``), so the loss and the test error stay the same while the sharpness changes:
sharpness alone cannot predict generalisation.

Method: a ReLU MLP ``64 → hidden → 10`` (He-normal) on scikit-learn's digits (standardised,
the first ``n_train`` training images), cross-entropy, ``n_seeds`` initialisations per
batch size, one ``descend(..., batch_size=b)`` per batch size (minibatches drawn with
replacement; a b ≥ n_train is full-batch GD), ``steps`` SGD steps for every b, learning
rate by ``lr_rule`` (``saddle.stability.batch_lr``: "constant" = ``lr`` for every b,
default; "linear" = ``lr``·b/``batch_sizes[0]``, capped at ``lr_cap``). Measured at the
end, on all training rows: sharpness by ``lanczos_iters`` Lanczos steps, train and test
loss and accuracy; per batch size the median over seeds with its 95% order-statistic
interval (``saddle.stats.median_ci``). Dinh control: the full-batch run of seed 0
reparametrised for α in ``alphas``: its losses, accuracies and sharpness.

Verdict: "confirmed" if the smallest batch's median sharpness interval lies below the
largest batch's and so does its median loss-gap (test − train loss) interval; "refuted"
if neither, "depends" if one. The Dinh numbers are reported beside it.

Run: python -m experiments.batch_size      (RUNTIME below)
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from saddle import plot as splot
from saddle import stability
from saddle.experiment import field
from saddle.objectives import nn as snn

CLAIM = ("SGD with small batches ends flatter (lower sharpness) with a smaller train/test "
         "gap than full batch; Dinh's reparametrisation changes sharpness, not the function.")
RUNTIME = "40 s at load 2"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    batch_sizes: tuple[int, ...] = field((8, 32, 128, 1347), "Batch sizes (≥ n_train: "
                                         "full batch), increasing.", at_least=1)
    hidden: int = field(32, "Hidden ReLU units.", at_least=1)
    n_train: int = field(1347, "Digits training images used.", at_least=10, at_most=1347)
    steps: int = field(3000, "SGD steps for every batch size.", at_least=1)
    lr: float = field(0.1, "Learning rate (at batch_sizes[0] under the linear rule).", above=0)
    lr_rule: str = field("constant", "How the learning rate scales with the batch size.",
                         stability.BATCH_RULES)
    lr_cap: float = field(1.0, "Largest learning rate the rule may give.", above=0)
    n_seeds: int = field(16, "Initialisations per batch size.", at_least=2)
    lanczos_iters: int = field(40, "Lanczos steps for the final sharpness.", at_least=2)
    alphas: tuple[float, ...] = field((0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0),
                                      "Dinh control: the layer scales α.", above=0)
    seed: int = field(0, "Seed of the jax.random keys.")

    def __post_init__(self) -> None:
        saddle.experiment.check_fields(self)
        if list(self.batch_sizes) != sorted(set(self.batch_sizes)) or len(self.batch_sizes) < 2:
            raise ValueError(f"batch_sizes must be at least two increasing values, got "
                             f"{self.batch_sizes}")
        if 1.0 not in self.alphas:
            raise ValueError(f"alphas must include 1.0 (the minimum itself), got {self.alphas}")


def problem(cfg: Config) -> tuple[snn.Net, saddle.data.Dataset]:
    ds = saddle.data.digits(cfg.seed)
    ds = dataclasses.replace(ds, x_train=ds.x_train[:cfg.n_train].astype(np.float32),
                             y_train=ds.y_train[:cfg.n_train],
                             x_test=ds.x_test.astype(np.float32))
    return snn.mlp(64, (cfg.hidden, 10), "relu", init="he_normal"), ds


def evaluate(net: snn.Net, theta: np.ndarray, ds: saddle.data.Dataset, key: jax.Array,
             iters: int) -> dict:
    """Train/test cross-entropy and accuracy and the full-training-loss sharpness at each
    row of ``theta`` ``[n, d]``."""
    fn = snn.loss_fn(net, "cross_entropy")

    def metrics(t: jax.Array, x: np.ndarray, y: np.ndarray) -> tuple:
        out = net.apply(t, jnp.asarray(x))
        return fn(t, (x, y)), jnp.mean(jnp.argmax(out, -1) == y)

    train = jax.vmap(lambda t: metrics(t, ds.x_train, ds.y_train))(theta)
    test = jax.vmap(lambda t: metrics(t, ds.x_test, ds.y_test))(theta)
    ext = saddle.curvature.extreme_eigenpairs_batch(
        fn, jnp.asarray(theta), 1, iters, key=key, which="highest",
        args=((jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)),))
    return {"train_loss": train[0], "train_acc": train[1], "test_loss": test[0],
            "test_acc": test[1], "sharpness": ext.highest[:, 0]}


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    net, ds = problem(cfg)
    obj = snn.objective(net, ds, loss="cross_entropy")
    root = jax.random.PRNGKey(cfg.seed)
    theta0 = jax.vmap(net.init)(jax.random.split(jax.random.fold_in(root, 0), cfg.n_seeds))
    data: dict = {}
    for b in ctx.progress(cfg.batch_sizes, desc="batch sizes"):
        lr = stability.batch_lr(cfg.lr, b, cfg.batch_sizes[0], cfg.lr_rule, cap=cfg.lr_cap)

        def one(b: int = b, lr: float = lr) -> dict:
            r = saddle.descend(obj, theta0, saddle.optimizers.make("gd", lr), cfg.steps,
                               batch_size=None if b >= cfg.n_train else b,
                               key=jax.random.fold_in(root, 1))
            ev = evaluate(net, r.x, ds, jax.random.fold_in(root, 2), cfg.lanczos_iters)
            return {**ev, "theta": r.x, "lr": np.asarray(lr), "diverged": r.diverged}

        data |= {f"b{b}__{k}": v for k, v in ctx.stage(f"b{b}", one).items()}
    theta = data[f"b{cfg.batch_sizes[-1]}__theta"][0]
    scaled = np.stack([np.asarray(stability.layer_scales(net, 0, a)) * theta
                       for a in cfg.alphas])
    dinh = ctx.stage("dinh", lambda: evaluate(net, scaled, ds, jax.random.fold_in(root, 3),
                                              cfg.lanczos_iters))
    data |= {f"dinh__{k}": v for k, v in dinh.items()}
    return {k: v for k, v in data.items() if not k.endswith("__theta")}


def _median(x: np.ndarray) -> dict:
    m, lo, hi = saddle.stats.median_ci(x)
    return {"median": m, "ci_low": lo, "ci_high": hi}


def summarize(cfg: Config, data: dict) -> dict:
    out: dict = {"lr_rule": cfg.lr_rule, "steps": cfg.steps, "n_seeds": cfg.n_seeds,
                 "batch": {}}
    for b in cfg.batch_sizes:
        d = saddle.experiment.part(data, f"b{b}")
        ok = ~d["diverged"]
        out["batch"][str(b)] = {
            "lr": float(d["lr"]), "diverged": int((~ok).sum()),
            **{k: _median(v[ok]) for k, v in (
                ("sharpness", d["sharpness"]), ("train_loss", d["train_loss"]),
                ("test_loss", d["test_loss"]), ("loss_gap", d["test_loss"] - d["train_loss"]),
                ("acc_gap", d["train_acc"] - d["test_acc"]), ("test_acc", d["test_acc"]))}}
    small, large = (out["batch"][str(b)] for b in (cfg.batch_sizes[0], cfg.batch_sizes[-1]))
    flatter = small["sharpness"]["ci_high"] < large["sharpness"]["ci_low"]
    smaller_gap = small["loss_gap"]["ci_high"] < large["loss_gap"]["ci_low"]
    dinh = saddle.experiment.part(data, "dinh")
    out["dinh"] = {"alphas": cfg.alphas, "sharpness": dinh["sharpness"],
                   "train_loss": dinh["train_loss"], "test_acc": dinh["test_acc"],
                   "max_train_loss_change": float(np.ptp(dinh["train_loss"])),
                   "max_test_acc_change": float(np.ptp(dinh["test_acc"]))}
    b0, b1 = cfg.batch_sizes[0], cfg.batch_sizes[-1]
    out |= saddle.experiment.verdict([flatter, smaller_gap], (
        f"median sharpness b={b0}: {small['sharpness']['median']:.3g} "
        f"[{small['sharpness']['ci_low']:.3g}, {small['sharpness']['ci_high']:.3g}] vs b={b1}: "
        f"{large['sharpness']['median']:.3g} [{large['sharpness']['ci_low']:.3g}, "
        f"{large['sharpness']['ci_high']:.3g}]; loss gap {small['loss_gap']['median']:.3g} "
        f"[{small['loss_gap']['ci_low']:.3g}, {small['loss_gap']['ci_high']:.3g}] vs "
        f"{large['loss_gap']['median']:.3g} [{large['loss_gap']['ci_low']:.3g}, "
        f"{large['loss_gap']['ci_high']:.3g}]; Dinh: the same b={b1} minimum has sharpness "
        f"{np.min(dinh['sharpness']):.3g}–{np.max(dinh['sharpness']):.3g} over α in "
        f"[{min(cfg.alphas):g}, {max(cfg.alphas):g}], train loss change "
        f"{out['dinh']['max_train_loss_change']:.1e}"))
    return out


def plot(cfg: Config, data: dict) -> dict:
    fig, (ax_s, ax_g, ax_d) = splot.figure(1, 3, width=11, height=3.4)
    bs = np.asarray(cfg.batch_sizes, float)
    for ax, key, label in ((ax_s, "sharpness", "final sharpness λ_max"),
                           (ax_g, "loss_gap", "test − train loss")):
        for j, b in enumerate(cfg.batch_sizes):
            d = saddle.experiment.part(data, f"b{b}")
            v = d[key] if key in d else d["test_loss"] - d["train_loss"]
            ax.scatter(np.full(v.size, bs[j]) * np.exp(0.05 * np.random.default_rng(j)
                                                       .standard_normal(v.size)),
                       v, s=8, color="0.6")
            m, lo, hi = saddle.stats.median_ci(v)
            ax.errorbar(bs[j], m, yerr=[[m - lo], [hi - m]], fmt="o", color="C0", capsize=3)
        ax.set(xscale="log", xlabel="batch size", ylabel=label,
               title=f"{cfg.n_seeds} seeds: median, 95% CI")
    dinh = saddle.experiment.part(data, "dinh")
    ax_d.plot(cfg.alphas, dinh["sharpness"], "o-", color="C3", label="sharpness")
    ax_d.set(xscale="log", yscale="log", xlabel="α  (W₁, b₁, W₂) → (αW₁, αb₁, W₂/α)",
             ylabel="sharpness of the same function",
             title=f"Dinh control: train loss changes by {np.ptp(dinh['train_loss']):.1e}")
    return {"batch_size": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
