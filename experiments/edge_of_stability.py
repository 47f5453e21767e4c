"""Full-batch gradient descent trains at the edge of stability (Cohen et al. 2021).

Claim tested: with step η, the sharpness λ_max(∇²L) rises (progressive sharpening) until
it reaches 2/η, then hovers there while the loss keeps falling, non-monotonically; heavy-ball
momentum β does the same at its threshold 2(1 + β)/η (``saddle.stability.threshold``).
Gradient flow, beside it, keeps sharpening past every 2/η.

Settings: (1) Cohen et al.'s "chebyshev-4-20" regression (locuslab/edge-of-stability,
``src/synthetic.py``, ``src/archs.py`` "regression"): 20 points evenly spaced on [−1, 1]
labelled by the Chebyshev polynomial T₄, a one-hidden-layer tanh net of width 100 (first
layer Xavier-normal with gain 1.9, zero biases; here the output layer also has a zero-
initialised bias), square loss ½·mean‖ŷ − y‖²; 301 parameters, so the monitor's Lanczos
sharpness is checked against the dense ``eigvalsh`` of ``jax.hessian`` at recorded points.
(2) a tanh MLP on ``digits_train`` digits images, one-hot targets, square loss (Lanczos).

Method: all step sizes of one optimizer in one program (``saddle.optimizers.grid``) from
``n_seeds`` initialisations, the sharpness monitor (``iters`` warm-started Lanczos steps)
every ``every`` steps. Gradient flow: GD at η_flow = min(η)/``flow_ratio`` run to the
same time η·t as the smallest η (its sharpness must stay well below 2/η_flow).

Verdict, band fixed before running: for every setting, optimizer, η and seed, the sharpness
crosses its threshold, the median of sharpness/threshold over the records after the
crossing lies in [0.8, 1.2], the recorded loss rises at some records after the crossing
and is lower at the end than at the crossing. "confirmed" if all hold, "depends" if some.

Run: python -m experiments.edge_of_stability
     python -m experiments.edge_of_stability --settings chebyshev   (15 min at load ≈ 10)
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpy.polynomial import chebyshev

import saddle
from saddle import plot as splot
from saddle import stability
from saddle.experiment import field, part
from saddle.objectives import nn as snn

CLAIM = ("Full-batch GD's sharpness rises to 2/η and hovers there (heavy ball: 2(1+β)/η) "
         "while the loss falls non-monotonically.")
RUNTIME = "2 min at load 2"
BAND = (0.8, 1.2)
SETTINGS = ("chebyshev", "digits")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    settings: tuple[str, ...] = field(SETTINGS, "Which settings to run.", SETTINGS)
    degree: int = field(4, "Degree k of the Chebyshev polynomial T_k fitted.", at_least=1)
    width: int = field(100, "Hidden width of the Chebyshev tanh net.", at_least=1)
    lrs: tuple[float, ...] = field((0.4, 0.2, 0.1), "GD step sizes η (Chebyshev).", above=0)
    momentum: float = field(0.9, "Heavy-ball momentum β.", at_least=0, below=1)
    momentum_lrs: tuple[float, ...] = field((0.2, 0.1), "Heavy-ball step sizes (Chebyshev; "
                                            "none: no heavy-ball runs).", above=0)
    steps: int = field(16000, "Steps per run (Chebyshev).", at_least=1)
    digits_lrs: tuple[float, ...] = field((0.4, 0.2), "GD step sizes η (digits).", above=0)
    digits_momentum_lrs: tuple[float, ...] = field(
        (0.8, 0.4), "Heavy-ball step sizes (digits); thresholds 2(1+β)/η = 4.75 and 9.5 lie "
        "in the range GD's sharpness reaches there (5–10).", above=0)
    digits_steps: int = field(8000, "Steps per run (digits).", at_least=1)
    digits_train: int = field(500, "Digits training images used.", at_least=10, at_most=1347)
    digits_depth: int = field(2, "Hidden layers of the digits MLP.", at_least=1)
    digits_width: int = field(32, "Hidden width of the digits MLP.", at_least=1)
    every: int = field(50, "Sharpness and loss recorded every this many steps.", at_least=1)
    iters: int = field(10, "Lanczos steps per sharpness estimate (warm-started).", at_least=2)
    flow_ratio: int = field(4, "Gradient flow = GD at min(η)/flow_ratio.", at_least=1)
    dense_every: int = field(8, "Chebyshev: dense eigh at every this-many-th record.",
                             at_least=1)
    n_seeds: int = field(3, "Initialisations per setting.", at_least=1)
    seed: int = field(0, "Seed of the jax.random keys.")

    def __post_init__(self) -> None:
        saddle.experiment.check_fields(self)
        if not self.settings:
            raise ValueError("settings must name at least one setting")
        for name, lrs in (("lrs", self.lrs), ("digits_lrs", self.digits_lrs)):
            if not lrs:
                raise ValueError(f"{name} must hold at least one step size")
        for name in ("steps", "digits_steps"):
            if getattr(self, name) < 4 * self.every:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 4·every "
                                 f"({4 * self.every})")


def problem(cfg: Config, setting: str) -> tuple[saddle.Objective, snn.Net, jax.Array, dict]:
    """The objective, its net, ``[n_seeds, d]`` starts and the run lengths of a setting."""
    keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(cfg.seed),
                                               SETTINGS.index(setting)), cfg.n_seeds)
    if setting == "chebyshev":
        x = np.linspace(-1, 1, 20, dtype=np.float32)[:, None]
        y = chebyshev.chebval(x, np.eye(cfg.degree + 1)[cfg.degree]).astype(np.float32)
        net = snn.mlp(1, (cfg.width, 1), "tanh", init="xavier_normal")
        p = net.unravel(jnp.ones(net.dim))
        p["dense_0"]["kernel"] = p["dense_0"]["kernel"] * 1.9  # Cohen et al.'s gain
        gain = ravel_pytree(p)[0]
        runs = {"gd": cfg.lrs, "momentum": cfg.momentum_lrs, "steps": cfg.steps}
    else:
        ds = saddle.data.digits(cfg.seed)
        x = ds.x_train[:cfg.digits_train].astype(np.float32)
        y = np.eye(10, dtype=np.float32)[ds.y_train[:cfg.digits_train]]
        net = snn.mlp(64, (cfg.digits_width,) * cfg.digits_depth + (10,), "tanh",
                      init="xavier_normal")
        gain = jnp.ones(net.dim)
        runs = {"gd": cfg.digits_lrs, "momentum": cfg.digits_momentum_lrs,
                "steps": cfg.digits_steps}
    theta0 = jax.vmap(net.init)(keys) * gain
    return snn.objective(net, (x, y), name=setting), net, theta0, runs


def _descend(cfg: Config, obj: saddle.Objective, theta0: jax.Array, opt, steps: int,
             every: int, path: bool) -> dict:
    run = saddle.descend(obj, theta0, opt, steps, record_every=every, record_path=path,
                         monitors=[saddle.monitors.sharpness(every, cfg.iters)],
                         max_loss_factor=1e4)
    sharp, loss = run.records["sharpness"], run.loss_path
    after = (run.diverged_step[..., None] >= 0) & (run.path_steps > run.diverged_step[..., None])
    out = {"sharpness": np.where(after, np.nan, sharp), "loss": np.where(after, np.nan, loss),
           "steps": run.path_steps}
    if path:  # dense check: exact top eigenvalue at every dense_every-th record
        pts = run.path[..., ::cfg.dense_every, :]
        h = jax.jit(jax.vmap(lambda t: jnp.linalg.eigvalsh(
            jax.hessian(obj.fn)(t, obj.data))[-1]))
        out["dense"] = np.asarray(h(pts.reshape(-1, pts.shape[-1]))).reshape(pts.shape[:-1])
        out["lanczos"] = sharp[..., ::cfg.dense_every]
    return out


def one_setting(cfg: Config, setting: str, ctx: saddle.experiment.Context) -> dict:
    obj, _, theta0, runs = problem(cfg, setting)
    steps, dense = runs["steps"], setting == "chebyshev"
    data = {}
    for kind, kw in (("gd", {}), ("momentum", {"momentum": cfg.momentum})):
        if not runs[kind]:
            continue
        opt = saddle.optimizers.grid("momentum" if kw else "gd", lr=list(runs[kind]), **kw)
        part_ = ctx.stage(f"{setting}_{kind}", lambda opt=opt: _descend(
            cfg, obj, theta0, opt, steps, cfg.every, dense))
        data |= {f"{setting}_{kind}__{k}": v for k, v in part_.items()}
    lr_flow = min(runs["gd"]) / cfg.flow_ratio
    flow = ctx.stage(f"{setting}_flow", lambda: _descend(
        cfg, obj, theta0, saddle.optimizers.grid("gd", lr=[lr_flow]), steps * cfg.flow_ratio,
        cfg.every * cfg.flow_ratio, dense))
    data |= {f"{setting}_flow__{k}": v for k, v in flow.items()}
    data[f"{setting}_flow__lr"] = np.asarray(lr_flow)
    return data


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    data = {}
    for setting in ctx.progress(cfg.settings, desc="settings"):
        data |= one_setting(cfg, setting, ctx)
    return data


def summarize(cfg: Config, data: dict) -> dict:
    out, passed, because = {"band": BAND, "momentum": cfg.momentum}, [], []
    for setting in cfg.settings:
        _, _, _, runs = problem(cfg, setting)
        res = out[setting] = {}
        for kind, beta in (("gd", 0.0), ("momentum", cfg.momentum)):
            d = part(data, f"{setting}_{kind}")
            for i, lr in enumerate(runs[kind]):
                thr = float(stability.threshold(lr, beta))
                st = [stability.edge_statistics(d["sharpness"][i, j], d["loss"][i, j],
                                                d["steps"], thr) for j in range(cfg.n_seeds)]
                ratio = np.array([s.median_ratio for s in st])
                ok = [s.cross_step >= 0 and BAND[0] <= s.median_ratio <= BAND[1]
                      and s.loss_up_fraction > 0 and s.loss_final < s.loss_at_cross
                      for s in st]
                passed.append(all(ok))
                res[f"{kind}_lr{lr:g}"] = {
                    "threshold": thr, "crossed": [s.cross_step >= 0 for s in st],
                    "cross_time": [lr * s.cross_step if s.cross_step >= 0 else None for s in st],
                    "median_ratio_after": ratio, "loss_up_fraction": [s.loss_up_fraction
                                                                      for s in st],
                    "loss_at_cross": [s.loss_at_cross for s in st],
                    "loss_final": [s.loss_final for s in st], "passed": all(ok)}
                because.append(f"{setting} {kind} η={lr:g}: ratio "
                               f"{np.nanmin(ratio) if np.isfinite(ratio).any() else np.nan:.2f}"
                               f"–{np.nanmax(ratio) if np.isfinite(ratio).any() else np.nan:.2f}"
                               f"{'' if all(ok) else ' FAIL'}")
        flow = part(data, f"{setting}_flow")
        res["flow"] = {"lr": float(flow["lr"]),
                       "max_sharpness_x_lr_over_2": float(np.nanmax(flow["sharpness"])
                                                          * flow["lr"] / 2),
                       "final_sharpness": np.nanmedian(flow["sharpness"][0, :, -1]),
                       "max_gd_threshold": float(stability.threshold(min(runs["gd"])))}
        if f"{setting}_gd__dense" in data:
            errs = [np.abs(data[f"{setting}_{k}__lanczos"] / data[f"{setting}_{k}__dense"] - 1)
                    for k in ("gd", "momentum", "flow") if f"{setting}_{k}__dense" in data]
            res["monitor_vs_dense_max_rel_err"] = float(max(np.nanmax(e) for e in errs))
    out |= saddle.experiment.verdict(passed, f"median sharpness/threshold after crossing in "
                                             f"{list(BAND)}, loss non-monotone and falling: "
                                     + "; ".join(because))
    return out


def plot(cfg: Config, data: dict) -> dict:
    fig, axes = splot.figure(len(cfg.settings), 3, width=11, height=3.3 * len(cfg.settings))
    axes = np.asarray(axes).reshape(len(cfg.settings), 3)
    for row, setting in zip(axes, cfg.settings, strict=True):
        _, _, _, runs = problem(cfg, setting)
        flow = part(data, f"{setting}_flow")
        colors = splot.plt.get_cmap("viridis")(np.linspace(0, 0.85, len(runs["gd"])))
        d = part(data, f"{setting}_gd")
        for i, lr in enumerate(runs["gd"]):
            t = lr * d["steps"]
            row[0].plot(t, d["sharpness"][i].T, color=colors[i], lw=0.8)
            row[0].axhline(2 / lr, color=colors[i], ls=":", lw=1, label=f"2/η, η={lr:g}")
            row[1].plot(t, d["loss"][i].T, color=colors[i], lw=0.8)
        ft = flow["lr"] * flow["steps"]
        row[0].plot(ft, flow["sharpness"][0].T, color="k", lw=1.2)
        row[1].plot(ft, flow["loss"][0].T, color="k", lw=1.2)
        row[0].plot([], [], color="k", label="gradient flow")
        m = part(data, f"{setting}_momentum")
        for i, lr in enumerate(runs["momentum"]):
            thr = stability.threshold(lr, cfg.momentum)
            row[2].plot(m["steps"], m["sharpness"][i].T / thr, lw=0.8,
                        color=splot.plt.get_cmap("tab10")(i), label=f"η={lr:g}")
        row[2].axhspan(*BAND, color="0.9", zorder=0)
        row[2].axhline(1, color="k", ls=":", lw=1)
        row[0].set(xlabel="time η·t", ylabel="sharpness", title=f"({setting}) GD sharpness")
        row[0].legend(fontsize=7)
        row[1].set(xlabel="time η·t", ylabel="train loss", yscale="log", title="GD loss")
        row[2].set(xlabel="step", ylabel="sharpness / (2(1+β)/η)",
                   title=f"heavy ball β={cfg.momentum:g}")
        row[2].legend(fontsize=7)
    return {"edge_of_stability": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
