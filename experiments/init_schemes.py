"""Initialisation schemes in deep MLPs: signal propagation at init against mean field, and
training from each scheme.

Claim tested: "He for ReLU, Xavier/LeCun for tanh": He (σ_w² = 2) keeps a ReLU net's
pre-activation variance constant with depth while LeCun/Xavier (σ_w² = 1) halve it per
layer; and zero or constant weights never break the symmetry between hidden units.

Method. (1) At init: MLPs width → ``width`` × ``depth`` → 10 (sigmoid, tanh, relu; plain
and residual x ↦ x + φ(Wx + b)) under every scheme, ``seeds`` draws each, on Gaussian
inputs; per hidden layer the mean squared pre-activation and the per-example ‖∂ℓ/∂W_l‖
(cross-entropy, random labels), against the mean-field length map and χ
(``saddle.signal_propagation``; constant init: its exact forward pass). (2) Training:
``train_depth`` hidden layers of ``train_width`` on ``dataset``, SGD at ``lr`` with
minibatches, ``seeds`` starts per scheme, all schemes of an activation in one ``descend``
call: loss curves, final training loss and test accuracy (medians with 95% intervals),
and the spread between the hidden units' incoming weights at the end (0 = symmetric).

Run: python -m experiments.init_schemes                 (RUNTIME below, 2 CPU cores)
     python -m experiments.init_schemes --width 512 --seeds 64 --steps 3000
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from saddle import optimizers, starts
from saddle import plot as splot
from saddle import signal_propagation as sp
from saddle.experiment import field
from saddle.objectives import nn as snn
from saddle.stats import median_ci

CLAIM = ("He init keeps a deep ReLU net's pre-activation variance constant while LeCun/Xavier "
         "halve it per layer, Xavier/LeCun suit tanh, and zero or constant init never break "
         "the symmetry between hidden units.")
RUNTIME = "7.3 min at load 2"
ACTS = ("sigmoid", "tanh", "relu")
SCHEMES = ("zeros", "constant", "xavier_normal", "he_normal", "lecun_normal", "orthogonal",
           "pytorch")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    activations: tuple[str, ...] = field(ACTS, "Activations at init.", choices=ACTS)
    schemes: tuple[str, ...] = field(SCHEMES, "Initialisation schemes besides normal(σ).",
                                     choices=SCHEMES)
    normal_stds: tuple[float, ...] = field((0.01, 0.1, 1.0), "σ of the normal(σ) schemes.",
                                           above=0)
    depth: int = field(50, "Hidden layers of the nets measured at init.", at_least=2)
    width: int = field(256, "Their width (and input dimension).", at_least=2)
    n_inputs: int = field(8, "Gaussian inputs per net at init.", at_least=1)
    seeds: int = field(32, "Draws per scheme (at init and in training).", at_least=2)
    dataset: str = field("digits", "Training data set.", choices=("digits", "mnist1d"))
    train_activations: tuple[str, ...] = field(("tanh", "relu"), "Activations trained.",
                                               choices=ACTS)
    train_depth: int = field(10, "Hidden layers of the trained nets.", at_least=1)
    train_width: int = field(32, "Their width.", at_least=1)
    lr: float = field(0.05, "SGD learning rate.", above=0)
    batch_size: int = field(64, "SGD minibatch size.", at_least=1)
    steps: int = field(1500, "SGD steps.", at_least=1)
    record_every: int = field(100, "Loss recorded every this many steps.", at_least=1)
    seed: int = field(0, "Seed of the jax.random keys.")

    def __post_init__(self) -> None:
        saddle.experiment.check_fields(self)
        if self.record_every > self.steps:
            raise ValueError(f"record_every={self.record_every} is larger than steps={self.steps}")


def scheme_list(cfg: Config) -> list[tuple[str, str, dict]]:
    """(label, scheme name, its keyword arguments) of every scheme, normal(σ) once per σ."""
    return ([(n, n, {}) for n in cfg.schemes]
            + [(f"normal({s:g})", "normal", {"std": s}) for s in cfg.normal_stds])


def theory(cfg: Config, name: str, kw: dict, act: str, residual: bool, x: np.ndarray) -> tuple:
    """Predicted q [depth] and relative gradient norms [depth] (NaN where none applies)."""
    if name == "constant":
        h = sp.constant_preactivations(x, 0.1, (cfg.width,) * (cfg.depth + 1), act, residual)
        return np.mean(h**2, axis=0), np.full(cfg.depth, np.nan)
    sw, sb = sp.scheme_variances(name, cfg.width, cfg.width, **kw)
    prof = sp.profile(act, sw, sb, float(np.mean(x**2)), cfg.depth, residual=residual)
    return prof.q, prof.grad_norm


def measurers(cfg: Config, x: np.ndarray, y: np.ndarray) -> dict:
    """(activation, residual) -> a compiled θs [seeds, d] -> (q, grad_norm) [seeds, depth]."""
    out = {}
    for a in cfg.activations:
        for r in (False, True):
            net = snn.mlp(cfg.width, (cfg.width,) * cfg.depth + (10,), a, residual=r)
            out[a, r] = jax.jit(lambda ts, net=net: jax.lax.map(
                lambda t: sp.measure(net, t, x, y), ts, batch_size=4))
    return out


def draw(net: snn.Net, keys: jax.Array) -> jax.Array:
    """``[len(keys), d]`` starts by the net's initialiser."""
    return jax.jit(jax.vmap(net.init))(keys)


def at_init(cfg: Config, name: str, kw: dict, key: jax.Array, x, y, fns: dict) -> dict:
    net = snn.mlp(cfg.width, (cfg.width,) * cfg.depth + (10,), init=starts.scheme(name, **kw))
    thetas = draw(net, jax.random.split(key, cfg.seeds))
    out = {}
    for (a, r), fn in fns.items():
        q, g = (np.asarray(v) for v in fn(thetas))
        tq, tg = theory(cfg, name, kw, a, r, x)
        tag = f"{a}_{'res' if r else 'plain'}"
        out |= {f"{tag}_q": q, f"{tag}_grad": g, f"{tag}_theory_q": tq, f"{tag}_theory_grad": tg}
    return out


def unit_spread(net: snn.Net, theta: jax.Array) -> jax.Array:
    """max over hidden layers and units j of ‖W[:, j] − W[:, 0]‖ / (‖W‖ + 1e-30)."""
    p = net.unravel(theta)
    vals = [jnp.max(jnp.linalg.norm(w - w[:, :1], axis=0)) / (jnp.linalg.norm(w) + 1e-30)
            for w in (p[f"dense_{i}"]["kernel"] for i in range(len(net.module.widths) - 1))]
    return jnp.max(jnp.stack(vals))


def train(cfg: Config, act: str, key: jax.Array) -> dict:
    data = saddle.data.load(cfg.dataset)
    k = int(np.max(data.y_train)) + 1
    widths = (cfg.train_width,) * cfg.train_depth + (k,)
    net = snn.mlp(data.x_train.shape[1], widths, act)
    obj = snn.objective(net, data, loss="cross_entropy")
    labels = [lab for lab, _, _ in scheme_list(cfg)]
    keys = jax.random.split(jax.random.fold_in(key, 0), cfg.seeds)
    x0 = jnp.concatenate([draw(snn.mlp(net.in_dim, widths, act, init=starts.scheme(n, **kw)),
                               keys) for _, n, kw in scheme_list(cfg)])
    run = saddle.descend(obj, x0, optimizers.make("gd", cfg.lr), cfg.steps,
                         key=jax.random.fold_in(key, 1), batch_size=cfg.batch_size,
                         record_every=cfg.record_every)

    @jax.jit
    def evaluate(thetas: jax.Array, start: jax.Array) -> tuple:
        logits = jax.vmap(lambda t: net.apply(t, data.x_test))(thetas)
        spread = jax.vmap(lambda t: unit_spread(net, t))
        return (jnp.mean(jnp.argmax(logits, -1) == data.y_test, -1), spread(thetas),
                spread(start))

    acc, spread, spread0 = (np.asarray(v).reshape(len(labels), cfg.seeds)
                            for v in evaluate(run.x, x0))
    shape = (len(labels), cfg.seeds)
    return {"loss_path": run.loss_path.reshape(*shape, -1), "path_steps": run.path_steps,
            "final_loss": run.loss.reshape(shape), "diverged": run.diverged.reshape(shape),
            "test_acc": acc, "spread": spread, "spread0": spread0}


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    kx, ky = jax.random.split(jax.random.fold_in(root, 0))
    x = np.asarray(jax.random.normal(kx, (cfg.n_inputs, cfg.width)))
    y = np.asarray(jax.random.randint(ky, (cfg.n_inputs,), 0, 10))
    data: dict[str, np.ndarray] = {}
    fns = measurers(cfg, x, y)
    for label, name, kw in ctx.progress(scheme_list(cfg), desc="init"):
        part = ctx.stage(f"init_{label}", lambda n=name, kw=kw: at_init(
            cfg, n, kw, jax.random.fold_in(root, 1), x, y, fns))
        data |= {f"init_{label}__{k}": v for k, v in part.items()}
    for act in cfg.train_activations:
        part = ctx.stage(f"train_{act}", lambda a=act: train(cfg, a, jax.random.fold_in(root, 2)))
        data |= {f"train_{act}__{k}": v for k, v in part.items()}
    return data


def _ci(v: np.ndarray) -> dict:
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"median": None, "ci_low": None, "ci_high": None, "n": 0}
    m, lo, hi = median_ci(v)
    return {"median": m, "ci_low": lo, "ci_high": hi, "n": int(v.size)}


def _beats(a: dict, b: dict) -> bool:
    """a's median final loss is below b's, the 95% intervals apart."""
    return a["n"] > 0 and b["n"] > 0 and a["ci_high"] < b["ci_low"]


def summarize(cfg: Config, data: dict) -> dict:
    init, trained = {}, {}
    for label, _, _ in scheme_list(cfg):
        d = saddle.experiment.part(data, f"init_{label}")
        for a in cfg.activations:
            for r in ("plain", "res"):
                q, g = np.median(d[f"{a}_{r}_q"], 0), np.median(d[f"{a}_{r}_grad"], 0)
                tq, tg = d[f"{a}_{r}_theory_q"], d[f"{a}_{r}_theory_grad"]
                with np.errstate(all="ignore"):
                    err = np.abs(np.log(q / tq))
                    per_layer = np.log2(q[-1] / q[0]) / (cfg.depth - 1)
                init[f"{label}/{a}/{r}"] = {
                    "q_first": q[0], "q_last": q[-1], "theory_q_last": tq[-1],
                    "q_factor_per_layer": 2.0 ** per_layer,
                    "grad_first_over_last": g[0] / g[-1] if g[-1] > 0 else None,
                    "theory_grad_first_over_last": tg[0],
                    "meanfield_log_error_median": np.median(err[np.isfinite(err)])
                    if np.isfinite(err).any() else None}
    for a in cfg.train_activations:
        d = saddle.experiment.part(data, f"train_{a}")
        for i, (label, _, _) in enumerate(scheme_list(cfg)):
            trained[f"{label}/{a}"] = {
                "final_loss": _ci(d["final_loss"][i]), "test_acc": _ci(d["test_acc"][i]),
                "diverged_fraction": float(d["diverged"][i].mean()),
                "unit_spread_max": float(np.max(d["spread"][i]))}
    he, lecun, xavier = (init.get(f"{s}/relu/plain", {}).get("q_factor_per_layer", np.nan)
                         for s in ("he_normal", "lecun_normal", "xavier_normal"))
    tests = {}
    if np.isfinite(he):
        tests["he_relu_constant"] = bool(0.5 ** (1 / cfg.depth) < he < 2 ** (1 / cfg.depth))
    if np.isfinite(lecun) and np.isfinite(xavier):
        tests["lecun_xavier_relu_halve"] = bool(0.45 < lecun < 0.55 and 0.45 < xavier < 0.55)
    sym = [trained[k]["unit_spread_max"] < 1e-6 for k in trained
           if k.split("/")[0] in ("zeros", "constant")]
    if sym:
        tests["zero_constant_symmetric"] = all(sym)
    loss = {k: v["final_loss"] for k, v in trained.items()}
    if {"he_normal/relu", "lecun_normal/relu", "xavier_normal/relu"} <= set(loss):
        tests["he_beats_lecun_xavier_relu_training"] = all(
            _beats(loss["he_normal/relu"], loss[f"{s}/relu"]) for s in ("lecun_normal",
                                                                          "xavier_normal"))
    if {"he_normal/tanh", "lecun_normal/tanh", "xavier_normal/tanh"} <= set(loss):
        tests["xavier_or_lecun_beats_he_tanh_training"] = any(
            _beats(loss[f"{s}/tanh"], loss["he_normal/tanh"]) for s in ("lecun_normal",
                                                                          "xavier_normal"))
    because = (f"ReLU q factor per layer: He {he:.3f}, LeCun {lecun:.3f}, Xavier {xavier:.3f}; "
               + "; ".join(f"{k}: {v}" for k, v in tests.items()))
    return {**saddle.experiment.verdict(list(tests.values()), because), "tests": tests,
            "init": init, "training": trained}


def plot(cfg: Config, data: dict) -> dict:
    schemes = scheme_list(cfg)
    colors = splot.plt.get_cmap("tab10")(np.arange(len(schemes)) % 10)
    layers = np.arange(1, cfg.depth + 1)
    figs = {}
    for what, ylabel in (("q", "pre-activation E[h²]"), ("grad", "‖∂ℓ/∂W_l‖ / ‖∂ℓ/∂W_L‖")):
        fig, axes = splot.figure(len(cfg.activations), 2, width=9,
                                 height=2.6 * len(cfg.activations), squeeze=False)
        for i, a in enumerate(cfg.activations):
            for j, r in enumerate(("plain", "res")):
                ax = axes[i, j]
                for c, (label, _, _) in zip(colors, schemes, strict=True):
                    d = saddle.experiment.part(data, f"init_{label}")
                    v = d[f"{a}_{r}_{what}"]
                    with np.errstate(all="ignore"):
                        v = v / v[:, -1:] if what == "grad" else v
                        ax.plot(layers, np.median(v, 0), color=c, label=label)
                    ax.plot(layers, d[f"{a}_{r}_theory_{what}"], color=c, ls=":", lw=1)
                ax.set(yscale="log", ylim=(1e-30, 1e30), xlabel="layer l", ylabel=ylabel,
                       title=f"{a}, {'residual' if r == 'res' else 'plain'}")
        axes[0, 0].legend(fontsize=6, ncols=2, title="median (—), mean field (⋯)",
                          title_fontsize=6)
        figs[f"init_{what}"] = fig
    n = len(cfg.train_activations)
    if n == 0:
        return figs
    fig, axes = splot.figure(n, 2, width=9, height=3 * n, squeeze=False)
    for i, a in enumerate(cfg.train_activations):
        d = saddle.experiment.part(data, f"train_{a}")
        for k, (c, (label, _, _)) in enumerate(zip(colors, schemes, strict=True)):
            axes[i, 0].plot(d["path_steps"], np.nanmedian(d["loss_path"][k], 0), color=c,
                            label=label)
            m, lo, hi = median_ci(d["test_acc"][k])
            axes[i, 1].errorbar(k, m, yerr=[[m - lo], [hi - m]], fmt="o", color=c, capsize=3)
        axes[i, 0].set(yscale="log", xlabel="SGD step", ylabel="training loss (median)",
                       title=f"{a}: depth {cfg.train_depth}, width {cfg.train_width}, "
                             f"{cfg.dataset}")
        axes[i, 1].set_xticks(np.arange(len(schemes)), [s[0] for s in schemes], rotation=40,
                              ha="right", fontsize=7)
        axes[i, 1].set(ylabel="test accuracy (median, 95% CI)",
                       title=f"{a}: test accuracy over {cfg.seeds} seeds")
    axes[0, 0].legend(fontsize=6, ncols=2)
    figs["init_training"] = fig
    return figs


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
