"""Index of critical points against their loss (Dauphin et al. 2014, Fig. 1), the 3/2 law
(Pennington & Bahri 2017), and how often the search ends at gradient-flat points instead
(Frye et al. 2021).

Claim tested: in small tanh networks the index fraction α (negative Hessian eigenvalues /
d) of critical points rises with their loss ε: low-loss critical points have small index
and minima lie only near the bottom; above a threshold ε_c, α ≈ α₀((ε − ε_c)/ε_c)^{3/2}.

Networks: ``gauss``, an n-n-n tanh MLP without biases (as Pennington & Bahri's 16-16-16,
here n = ``gauss_width``) memorising ``gauss_samples`` standard-normal inputs with
standard-normal targets; ``digits``, a 64-h-10 tanh MLP with biases (h = ``digits_hidden``)
on the first ``digits_samples`` training digits (standardised pixels) with one-hot targets.
Loss: the objective ½·mean over examples of Σ_outputs (ŷ − y)² + ``l2``/2·‖θ‖²; the
reported ε is it divided by the number of outputs (½·mean over examples and outputs,
Pennington & Bahri's scale, where ŷ = 0 gives ε ≈ ½ on Gaussian targets).

Method (Dauphin et al.'s): gradient descent from ``n_inits`` initialiser draws, recorded at
``checkpoints`` log-spaced steps, gives starts at many loss levels; Hessian-free Newton-MR
(``saddle.critical.newton_mr``) from each ends at a critical point (‖∇f‖ ≤ ``grad_tol``),
a gradient-flat point (‖H∇f‖ ≤ ``flat_tol``·|λ|_max‖∇f‖), or neither; from the latter
``polish_steps`` of its ``"trust"`` solver (regularised Newton on ½‖∇f‖²) continue; the dense
Hessian spectrum (``saddle.curvature.eigenvalues``) at every end point gives the index
(eigenvalues below −``eig_tol``·max|λ|). The law is fitted on the critical points with
α > 0 (``saddle.critical.index_law``), with the exponent fixed at 3/2 and free.

Verdict per network: Spearman ρ(ε, α) > 0 at p < 0.01; every minimum (α = 0) has
ε at most the upper end of the ε_c interval; 3/2 inside the free exponent's interval.

Run: python -m experiments.index_vs_loss
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.stats

import saddle
from saddle import plot as splot
from saddle.critical.index_law import fit_index_law
from saddle.experiment import field
from saddle.objectives import nn as snn
from saddle.precision import float64

NETWORKS = ("gauss", "digits")


CLAIM = ("The index of a network's critical points rises with their loss, as α ∝ ((ε − "
         "ε_c)/ε_c)^{3/2} (Dauphin et al. 2014; Pennington & Bahri 2017).")
RUNTIME = "4.2 min at load 2"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    networks: tuple[str, ...] = field(NETWORKS, "Networks to study.", choices=NETWORKS)
    gauss_width: int = field(8, "Width n of the n-n-n tanh network on Gaussian data.",
                             at_least=1)
    gauss_samples: int = field(32, "Gaussian data points (φ = 2n²/(samples·n)).", at_least=1)
    digits_hidden: int = field(3, "Hidden width of the 64-h-10 digits network.", at_least=1)
    digits_samples: int = field(100, "Training digits used.", at_least=10)
    l2: float = field(1e-3, "L2 penalty l2/2·‖θ‖² (keeps critical points at finite θ).",
                      at_least=0)
    n_inits: int = field(8, "Gradient-descent runs per network.", at_least=1)
    gd_steps: int = field(3000, "Gradient-descent steps.", at_least=2)
    lr: float = field(0.1, "Gradient-descent learning rate.", above=0)
    checkpoints: int = field(16, "Log-spaced checkpoints per run used as Newton-MR starts.",
                             at_least=1)
    steps: int = field(300, "Newton-MR iterations.", at_least=1)
    minres_iters: int = field(128, "MINRES iterations per Newton-MR step.", at_least=1)
    polish_steps: int = field(80, "Trust-solver steps from Newton-MR's unconverged ends "
                              "(0: none).", at_least=0)
    polish_krylov: int = field(32, "Krylov dimension of a trust-solver step.", at_least=1)
    grad_tol: float = field(1e-8, "Critical: ‖∇f‖ at most this.", above=0)
    flat_tol: float = field(1e-3, "Gradient-flat: ‖H∇f‖ ≤ flat_tol·|λ|_max‖∇f‖.", above=0)
    eig_tol: float = field(1e-6, "Eigenvalues below −eig_tol·max|λ| count as negative.",
                           above=0)
    n_boot: int = field(200, "Bootstrap resamples for the fit's intervals.", at_least=1)
    seed: int = field(0, "Seed of the jax.random keys.")

    def __post_init__(self) -> None:
        saddle.experiment.check_fields(self)
        if self.checkpoints > self.gd_steps:
            raise ValueError(f"checkpoints must be at most gd_steps={self.gd_steps}, got "
                             f"{self.checkpoints}")


def problem(cfg: Config, name: str) -> tuple[saddle.Objective, int]:
    """The float64 objective of network ``name`` and its number of outputs."""
    key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), NETWORKS.index(name))
    if name == "gauss":
        n, m = cfg.gauss_width, cfg.gauss_samples
        kx, ky = jax.random.split(key)
        x, y = (jax.random.normal(k, (m, n), jnp.float64) for k in (kx, ky))
        net = snn.mlp(n, (n, n), "tanh", bias=False)
        return snn.objective(net, (x, y), l2=cfg.l2, name="gauss"), n
    ds = saddle.data.digits(cfg.seed)
    x = jnp.asarray(ds.x_train[: cfg.digits_samples], jnp.float64)
    y = jax.nn.one_hot(ds.y_train[: cfg.digits_samples], 10, dtype=jnp.float64)
    net = snn.mlp(64, (cfg.digits_hidden, 10), "tanh")
    return snn.objective(net, (x, y), l2=cfg.l2, name="digits"), 10


def index_of(eig: np.ndarray, eig_tol: float) -> np.ndarray:
    """``[n]`` count of eigenvalues ``[n, d]`` below −eig_tol·max|λ| (per row)."""
    return np.sum(eig < -eig_tol * np.abs(eig).max(axis=1, keepdims=True), axis=1)


def _study(cfg: Config, name: str) -> dict[str, np.ndarray]:
    key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 10 + NETWORKS.index(name))
    obj, _ = problem(cfg, name)
    inits = jax.vmap(obj.init)(jax.random.split(jax.random.fold_in(key, 0), cfg.n_inits))
    gd = saddle.descend(obj, inits.astype(jnp.float64), optax.sgd(cfg.lr), cfg.gd_steps,
                        record_every=1, record_path=True)
    at = np.searchsorted(gd.path_steps, np.unique(
        np.geomspace(1, cfg.gd_steps, cfg.checkpoints).round()).clip(max=gd.path_steps[-1]))
    starts = gd.path[:, at].reshape(-1, obj.dim)
    res = saddle.critical.newton_mr(obj, jnp.asarray(starts), key=jax.random.fold_in(key, 1),
                                    steps=cfg.steps, minres_iters=cfg.minres_iters,
                                    grad_tol=cfg.grad_tol, flat_tol=cfg.flat_tol)
    x, value, status = res.x.copy(), res.value.copy(), res.status.copy()
    gn, flat = res.grad_norm.copy(), res.flatness.copy()
    left = np.flatnonzero(status == "unconverged")
    if cfg.polish_steps and left.size:  # ends Newton-MR left crawling: trust solver on ½‖∇f‖²
        pol = saddle.critical.newton_mr(
            obj, jnp.asarray(x[left]), key=jax.random.fold_in(key, 2), steps=cfg.polish_steps,
            minres_iters=cfg.polish_krylov, grad_tol=cfg.grad_tol, flat_tol=cfg.flat_tol,
            solver="trust")
        x[left], value[left], status[left] = pol.x, pol.value, pol.status
        gn[left], flat[left] = pol.grad_norm, pol.flatness
    ok = status != "diverged"
    eig = np.full(x.shape, np.nan)
    if ok.any():
        eig[ok] = np.asarray(saddle.curvature.eigenvalues(obj, jnp.asarray(x[ok])))
    return {"x": x, "value": value, "status": status, "grad_norm": gn, "flatness": flat,
            "eig": eig, "start_loss": gd.loss_path[:, at].ravel(), "status_newton_mr": res.status}


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    out = {}
    with float64():
        for name in cfg.networks:
            for k, v in ctx.stage(name, lambda name=name: _study(cfg, name)).items():
                out[f"{name}_{k}"] = v
    return out


def _network_summary(cfg: Config, name: str, data: dict) -> tuple[dict, list[bool], str]:
    d = data[f"{name}_x"].shape[1]
    out_dim = 10 if name == "digits" else cfg.gauss_width
    status = data[f"{name}_status"]
    crit = status == "critical"
    eps = data[f"{name}_value"][crit] / out_dim
    alpha = index_of(data[f"{name}_eig"][crit], cfg.eig_tol) / d
    n_flat, n = int(np.sum(status == "gradient_flat")), status.size
    lo, hi = saddle.wilson_interval(n_flat, n)
    mr = data[f"{name}_status_newton_mr"]
    s = {"dim": d, "runs": n, "statuses": {str(k): int(np.sum(status == k))
                                           for k in np.unique(status)},
         "statuses_newton_mr_alone": {str(k): int(np.sum(mr == k)) for k in np.unique(mr)},
         "n_critical": int(crit.sum()), "n_minima": int(np.sum(alpha == 0)),
         "gradient_flat_share": n_flat / n, "gradient_flat_ci": [float(lo), float(hi)],
         "gradient_flat_among_converged": n_flat / max(n_flat + int(crit.sum()), 1),
         "unconverged_flatness_q10_q50_q90": np.quantile(
             data[f"{name}_flatness"][status == "unconverged"], [0.1, 0.5, 0.9]).tolist()
         if np.any(status == "unconverged") else None}
    tests, notes = [], []
    if crit.sum() >= 3:
        rho, p = scipy.stats.spearmanr(eps, alpha)
        s["spearman_rho"], s["spearman_p"] = float(rho), float(p)
        tests.append(bool(rho > 0 and p < 0.01))
        notes.append(f"ρ = {rho:.2f} (p = {p:.1g})")
    pos = alpha > 0
    key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 20 + NETWORKS.index(name))
    if pos.sum() >= 5:
        fixed = fit_index_law(eps[pos], alpha[pos], key=key, n_boot=cfg.n_boot)
        free = fit_index_law(eps[pos], alpha[pos], key=key, exponent=None, n_boot=cfg.n_boot)
        s["fit_3/2"], s["fit_free"] = dataclasses.asdict(fixed), dataclasses.asdict(free)
        worst_min = float(eps[~pos].max()) if (~pos).any() else None
        s["highest_minimum_loss"] = worst_min
        tests.append(worst_min is None or worst_min <= fixed.eps_c_ci[1])
        tests.append(free.exponent_ci[0] <= 1.5 <= free.exponent_ci[1])
        notes.append(f"ε_c = {fixed.eps_c:.3f} [{fixed.eps_c_ci[0]:.3f}, "
                     f"{fixed.eps_c_ci[1]:.3f}], highest minimum at ε = "
                     f"{worst_min if worst_min is None else round(worst_min, 3)}, free "
                     f"exponent {free.exponent:.2f} [{free.exponent_ci[0]:.2f}, "
                     f"{free.exponent_ci[1]:.2f}]")
    notes.append(f"gradient-flat ends {n_flat}/{n}")
    return s, tests, f"{name}: " + ", ".join(notes)


def summarize(cfg: Config, data: dict) -> dict:
    out, tests, because = {}, [], []
    for name in cfg.networks:
        s, t, b = _network_summary(cfg, name, data)
        out[name], tests, because = s, tests + t, [*because, b]
    return saddle.experiment.to_jsonable({**saddle.experiment.verdict(
        tests, "; ".join(because)), **out})


def plot(cfg: Config, data: dict) -> dict:
    summary = summarize(cfg, data)
    fig, axes = splot.figure(1, len(cfg.networks), width=5 * len(cfg.networks), height=4)
    for ax, name in zip(np.atleast_1d(axes), cfg.networks, strict=True):
        d = data[f"{name}_x"].shape[1]
        out_dim = 10 if name == "digits" else cfg.gauss_width
        status, s = data[f"{name}_status"], summary[name]
        for kind, style in (("critical", dict(color="C3", s=14)),
                            ("gradient_flat", dict(facecolors="none", edgecolors="C0", s=18)),
                            ("unconverged", dict(color="0.7", s=6, marker="x"))):
            m = status == kind
            if m.any():
                ax.scatter(index_of(data[f"{name}_eig"][m], cfg.eig_tol) / d,
                           data[f"{name}_value"][m] / out_dim, label=f"{kind} ({m.sum()})",
                           **style)
        if "fit_3/2" in s:
            f = s["fit_3/2"]
            a = np.linspace(0, ax.get_xlim()[1], 200)
            ax.plot(a, f["eps_c"] * (1 + (a / f["alpha0"]) ** (2 / 3)), color="k", lw=1,
                    label=f"α₀((ε−ε_c)/ε_c)^{{3/2}}, ε_c = {f['eps_c']:.3f}")
        lo, hi = s["gradient_flat_ci"]
        ax.set(xlabel="index fraction α", ylabel="loss ε (½·mean squared error per output)",
               title=f"{name} (d = {d}): gradient-flat ends "
                     f"{s['gradient_flat_share']:.0%} [{lo:.0%}, {hi:.0%}]")
        ax.legend(fontsize=7)
    return {"index_vs_loss": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
