"""Batch and weight normalisation: a smoother landscape along the training path?

Claim tested (Santurkar et al. 2018): the same MLP with batch normalisation, or with weight
normalisation (Salimans & Kingma 2016), is smoother along its own full-batch GD path than
without (lower sharpness λ_max and lower effective β-smoothness ‖∇f(θ_{t+1}) − ∇f(θ_t)‖ /
‖θ_{t+1} − θ_t‖), and reaches a different final loss.

Method: MLP ``n_train`` digits → ``widths`` → 10, ``activation``, ``init``; variants "none",
"batch" (training-mode batch norm before each hidden activation) and "weight". Each runs
full-batch GD at ``lr`` for ``steps`` from ``seeds`` starts (the same kernels v for every
variant). Along the path: loss, sharpness (``saddle.monitors.sharpness``: Lanczos on HVPs
every ``sharpness_every`` steps) and β_t (``saddle.smoothness.gradient_change``), with medians
over seeds and 95% intervals. Test accuracy of batch-norm nets uses the statistics of the
whole training set (``saddle.objectives.nn.apply_with_statistics``).

The batch-norm loss depends on the batch: L(θ, B) = (1/|B|) Σ_{i∈B} ℓ(f_θ(x_i; μ_B, σ²_B), y_i),
μ_B, σ²_B the batch's own mean and variance of each pre-activation, so each example's term
depends on every other example of B; it is not a sum of per-example terms, and a
minibatch's loss is not an unbiased estimate of the full-batch one. Measured here: the loss
of the first ``probe`` training examples with their own statistics versus with the whole
training set's, at each end point.

Run: python -m experiments.normalization              (RUNTIME below, 2 CPU cores)
     python -m experiments.normalization --n-train 1346 --seeds 32 --steps 2000
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from saddle import monitors, optimizers, smoothness, starts
from saddle import plot as splot
from saddle.experiment import field
from saddle.objectives import nn as snn
from saddle.stats import median_ci

CLAIM = ("Batch and weight normalisation make the loss smoother along the GD path (lower "
         "sharpness and effective β-smoothness) and change the final loss.")
RUNTIME = "80 s at load 2"
NORMS = ("none", "batch", "weight")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    norms: tuple[str, ...] = field(NORMS, "Variants of the network.", choices=NORMS)
    widths: tuple[int, ...] = field((32, 32, 32, 32), "Hidden widths.", at_least=1)
    activation: str = field("relu", "Hidden activation.", choices=("relu", "tanh", "sigmoid"))
    init: str = field("he_normal", "Initialisation of the kernels (and v).",
                      choices=tuple(starts.SCHEMES))
    n_train: int = field(512, "Training examples used (the first of digits' split).",
                         at_least=8)
    lr: float = field(0.1, "Full-batch GD learning rate.", above=0)
    steps: int = field(400, "GD steps.", at_least=1)
    seeds: int = field(16, "Starts per variant.", at_least=2)
    record_every: int = field(10, "Path quantities recorded every this many steps.",
                              at_least=1)
    sharpness_every: int = field(10, "Sharpness re-estimated every this many steps.",
                                 at_least=1)
    lanczos_iters: int = field(12, "Lanczos steps per sharpness estimate.", at_least=2)
    probe: int = field(32, "Examples whose batch-norm loss is compared across batches.",
                       at_least=2)
    seed: int = field(0, "Seed of the jax.random keys.")

    def __post_init__(self) -> None:
        saddle.experiment.check_fields(self)
        if self.record_every > self.steps:
            raise ValueError(f"record_every={self.record_every} is larger than steps={self.steps}")
        if self.probe > self.n_train:
            raise ValueError(f"probe={self.probe} is larger than n_train={self.n_train}")


def build(cfg: Config, norm: str) -> snn.Net:
    return snn.mlp(64, (*cfg.widths, 10), cfg.activation, init=cfg.init, norm=norm)


def starts_for(cfg: Config, norm: str, key: jax.Array) -> jax.Array:
    """``[seeds, d]``: each variant's own initialiser (weight norm's g = ‖v‖, batch norm's
    scale 1 and shift 0) on the same keys."""
    return jax.jit(jax.vmap(build(cfg, norm).init))(jax.random.split(key, cfg.seeds))


def one_norm(cfg: Config, norm: str, key: jax.Array) -> dict:
    data = saddle.data.digits()
    x, y = data.x_train[:cfg.n_train], data.y_train[:cfg.n_train]
    net = build(cfg, norm)
    obj = snn.objective(net, (x, y), loss="cross_entropy")
    x0 = starts_for(cfg, norm, jax.random.fold_in(key, 0))
    run = saddle.descend(obj, x0, optimizers.make("gd", cfg.lr), cfg.steps,
                         key=jax.random.fold_in(key, 1), record_every=cfg.record_every,
                         monitors=[monitors.sharpness(cfg.sharpness_every, cfg.lanczos_iters),
                                   smoothness.gradient_change()])

    def evaluate(theta: jax.Array) -> tuple:
        out = snn.apply_with_statistics(net, theta, data.x_test, x)
        fn = snn.loss_fn(net, "cross_entropy")
        xp, yp = x[:cfg.probe], y[:cfg.probe]
        full_stats = jax.nn.log_softmax(snn.apply_with_statistics(net, theta, xp, x))
        probe_full = -jnp.mean(jnp.take_along_axis(full_stats, yp[:, None], axis=1))
        return jnp.mean(jnp.argmax(out, -1) == data.y_test), fn(theta, (xp, yp)) - probe_full

    acc, batch_gap = jax.jit(jax.vmap(evaluate))(jnp.asarray(run.x))
    return {"loss_path": run.loss_path, "path_steps": run.path_steps,
            "sharpness": run.records["sharpness"], "grad_change": run.records["grad_change"],
            "final_loss": run.loss, "diverged": run.diverged, "test_acc": np.asarray(acc),
            "batch_gap": np.asarray(batch_gap), "theta": np.asarray(run.x)}


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    key = jax.random.PRNGKey(cfg.seed)
    data: dict[str, np.ndarray] = {}
    for norm in ctx.progress(cfg.norms, desc="variants"):
        part = ctx.stage(norm, lambda n=norm: one_norm(cfg, n, key))
        data |= {f"{norm}__{k}": v for k, v in part.items()}
    return data


def _ci(v: np.ndarray) -> dict:
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"median": None, "ci_low": None, "ci_high": None, "n": 0}
    m, lo, hi = median_ci(v)
    return {"median": m, "ci_low": lo, "ci_high": hi, "n": int(v.size)}


def path_median(v: np.ndarray) -> np.ndarray:
    """``[seeds]``: each run's median over its recorded steps t ≥ 1 (NaNs ignored)."""
    with np.errstate(all="ignore"):
        return np.nanmedian(np.where(np.isfinite(v[:, 1:]), v[:, 1:], np.nan), axis=1)


def summarize(cfg: Config, data: dict) -> dict:
    out: dict = {"loss_depends_on_batch": (
        "batch norm: L(θ, B) = mean over i in B of loss(f(x_i; mean_B, var_B), y_i), the "
        "statistics of the batch B itself, so it is not a sum of per-example terms; "
        "batch_gap = loss of the first `probe` examples with their own statistics minus "
        "with the training set's, at the end points"), "variants": {}}
    for norm in cfg.norms:
        d = saddle.experiment.part(data, norm)
        out["variants"][norm] = {
            "sharpness_path_median": _ci(path_median(d["sharpness"])),
            "grad_change_path_median": _ci(path_median(d["grad_change"])),
            "final_loss": _ci(d["final_loss"]), "test_acc": _ci(d["test_acc"]),
            "diverged_fraction": float(d["diverged"].mean()),
            "batch_gap_abs": _ci(np.abs(d["batch_gap"]))}
    v = out["variants"]

    def below(a: str, b: str, key: str) -> bool:
        return v[a][key]["n"] > 0 and v[b][key]["n"] > 0 and v[a][key]["ci_high"] < v[b][key][
            "ci_low"]

    tests = {}
    for norm in ("batch", "weight"):
        if norm in v and "none" in v:
            tests[f"{norm}_lower_sharpness"] = below(norm, "none", "sharpness_path_median")
            tests[f"{norm}_lower_grad_change"] = below(norm, "none", "grad_change_path_median")
            tests[f"{norm}_changes_final_loss"] = (below(norm, "none", "final_loss")
                                                   or below("none", norm, "final_loss"))
    because = "; ".join(
        f"{n}: sharpness {s['sharpness_path_median']['median']:.3g}, "
        f"β {s['grad_change_path_median']['median']:.3g}, "
        f"final loss {s['final_loss']['median']:.3g}" for n, s in v.items())
    because += "; " + ", ".join(f"{k}={t}" for k, t in tests.items())
    return {**saddle.experiment.verdict(list(tests.values()), because), "tests": tests, **out}


def plot(cfg: Config, data: dict) -> dict:
    fig, axes = splot.figure(2, 2, width=9, height=6.5)
    colors = dict(zip(NORMS, ("#444444", "#1f78b4", "#e6550d"), strict=True))
    panels = (("loss_path", "training loss"), ("sharpness", "sharpness λ_max"),
              ("grad_change", "β_t = ‖Δ∇f‖ / ‖Δθ‖"))
    for ax, (key, label) in zip(axes.ravel(), panels, strict=False):
        for norm in cfg.norms:
            d = saddle.experiment.part(data, norm)
            with np.errstate(all="ignore"):
                q = np.nanpercentile(d[key], [25, 50, 75], axis=0)
            ax.plot(d["path_steps"], q[1], color=colors[norm], label=norm)
            ax.fill_between(d["path_steps"], q[0], q[2], color=colors[norm], alpha=0.2)
        ax.set(yscale="log", xlabel="GD step", ylabel=f"{label} (median, IQR)")
    axes[0, 0].legend(title="normalisation")
    axes[0, 0].set_title(f"(a) loss, {cfg.seeds} seeds, lr {cfg.lr:g}")
    axes[0, 1].set_title("(b) sharpness along the path")
    axes[1, 0].set_title("(c) effective β-smoothness along the path")
    ax = axes[1, 1]
    for j, norm in enumerate(cfg.norms):
        loss = saddle.experiment.part(data, norm)["final_loss"]
        ax.boxplot(loss[np.isfinite(loss)], positions=[j], widths=0.6, showfliers=True,
                   patch_artist=True, boxprops=dict(facecolor=colors[norm], alpha=0.6),
                   medianprops=dict(color="k"))
    ax.set_xticks(np.arange(len(cfg.norms)), cfg.norms)
    ax.set(yscale="log", ylabel="final training loss", title="(d) final loss over seeds")
    return {"normalization": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
