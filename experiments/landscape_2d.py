"""Slices of a digits MLP's loss: filter-normalised plane, its own training path's PCA plane,
and the lines from initialisation and from another solution.

Claim tested (Goodfellow, Vinyals & Saxe 2015): the training loss along the straight line
from the initialisation θ₀ to the trained network θ* decreases monotonically — no
barrier. Measured as the largest rise along the line, maxᵢ (Lᵢ − min_{j≤i} Lⱼ), relative to
the line's loss range L(θ₀) − L(θ*); "confirmed" when it is below ``monotone_tol``.

Reported besides (no claim): the filter-normalised random plane around θ* (Li et al. 2018);
the PCA plane of the training path through θ*, the share of the path's squared distance
from θ* that PC1 and PC2 capture, each recorded point's distance from the plane, and how
far the loss on the plane at the projected points is from the path's own losses (the
mismatch between drawn path and contours that users of the reference tools meet);
the loss barrier on the line between two solutions from different seeds, before and after
aligning the second one's hidden units to the first (weight matching, Ainsworth et al.
2023).

Network: ``mlp(64, (hidden, 10), activation)`` on scikit-learn's digits (standardised),
cross-entropy, full-batch Adam; every grid evaluated vmapped in resumable chunks.

Expected: the init line falls monotonically (measured rise 0); PC1 + PC2 capture most of
the path (≈ 98%) yet its start lies far off the plane, so the loss drawn under it differs
from its own; aligning units lowers the barrier between the two solutions.

Run: python -m experiments.landscape_2d      (~1.5 min measured on 2 busy CPU cores)
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import optax

import saddle
from saddle import plot as splot
from saddle.experiment import field
from saddle.landscape import align, slices
from saddle.objectives import nn as snn

CLAIM = ("The loss along the straight line from initialisation to the trained network decreases "
         "monotonically (Goodfellow et al. 2015).")
RUNTIME = "1.5 min at load 9"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    hidden: int = field(32, "Hidden units of the one hidden layer.", at_least=1)
    activation: str = field("tanh", "Hidden activation.", tuple(snn.ACTIVATIONS))
    steps: int = field(500, "Full-batch Adam steps.", at_least=1)
    lr: float = field(0.01, "Adam learning rate.", above=0)
    record_every: int = field(10, "Record the training path every this many steps.",
                              at_least=1)
    grid: int = field(41, "Grid points per axis of each 2-D slice.", at_least=2)
    span: float = field(1.0, "The random slice covers [-span, span]² in units of the "
                             "normalised directions.", above=0)
    margin: float = field(0.2, "The PCA slice extends the path's extent by this share.",
                          at_least=0)
    n_alpha: int = field(101, "Points on each 1-D line, α from 0 to 1.", at_least=3)
    chunk_size: int = field(256, "Loss evaluations per compiled chunk.", at_least=1)
    monotone_tol: float = field(1e-3, "A rise above this share of the line's loss range "
                                      "counts as a barrier.", above=0)
    seed: int = field(0, "Seed of the data split and the jax.random keys.")


def problem(cfg: Config) -> tuple[snn.Net, saddle.Objective]:
    net = snn.mlp(64, (cfg.hidden, 10), cfg.activation)
    return net, snn.objective(net, saddle.data.digits(cfg.seed), loss="cross_entropy",
                              name="digits_mlp")


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    net, obj = problem(cfg)

    def train() -> dict:
        x0 = jax.vmap(net.init)(jax.random.split(jax.random.fold_in(root, 1), 2))
        r = saddle.descend(obj, x0, optax.adam(cfg.lr), cfg.steps,
                           record_every=cfg.record_every, record_path=True)
        return {"path": r.path, "loss_path": r.loss_path, "steps": r.path_steps, "x": r.x}

    tr = ctx.stage("train", train)
    theta, theta_b = tr["x"][0], tr["x"][1]
    kw = {"chunk_size": cfg.chunk_size, "stage": ctx.stage}
    dirs = slices.random_directions(jax.random.fold_in(root, 2), theta, net.unravel)
    ticks = np.linspace(-cfg.span, cfg.span, cfg.grid)
    random_surface = slices.surface(obj, theta, dirs, ticks, ticks, name="random", **kw)
    plane = slices.pca_plane(tr["path"][0])
    lo, hi = plane.coords.min(0), plane.coords.max(0)
    pad = cfg.margin * (hi - lo)
    px, py = (np.linspace(lo[i] - pad[i], hi[i] + pad[i], cfg.grid) for i in range(2))
    pca_surface = slices.surface(obj, plane.center, plane.directions, px, py, name="pca", **kw)
    on_path = slices.on_plane(obj, plane.center, plane.directions, plane.coords, **kw,
                              name="projected")
    alphas = np.linspace(0, 1, cfg.n_alpha)
    aligned = align.weight_match(net, theta, theta_b)
    lines = {name: slices.interpolate(obj, a, b, alphas, chunk_size=cfg.chunk_size)
             for name, (a, b) in {"init": (tr["path"][0, 0], theta), "pair": (theta_b, theta),
                                  "aligned": (aligned, theta)}.items()}
    return {"path": tr["path"][0], "path_loss": tr["loss_path"][0], "path_steps": tr["steps"],
            "loss_b": obj(theta_b), "ticks": ticks, "random_surface": random_surface,
            "px": px, "py": py,
            "pca_surface": pca_surface, "coords": plane.coords, "explained": plane.explained,
            "residual": plane.residual, "distance": plane.distance, "projected_loss": on_path,
            "alphas": alphas, **{f"line_{k}": v for k, v in lines.items()},
            "pair_distance": np.array([np.linalg.norm(theta_b - theta),
                                       np.linalg.norm(aligned - theta)])}


def summarize(cfg: Config, data: dict) -> dict:
    init = data["line_init"]
    rise = slices.max_rise(init)
    span = float(init[0] - init[-1])
    rel_rise = rise / span if span > 0 else float("inf")
    path, proj = data["path_loss"], data["projected_loss"]
    rel_res = data["residual"] / np.where(data["distance"] > 0, data["distance"], 1.0)
    out = {
        "init_line": {"loss_init": float(init[0]), "loss_trained": float(init[-1]),
                      "max_rise": rise, "max_rise_relative": rel_rise},
        "pca": {"explained": data["explained"].tolist(),
                "explained_total": float(data["explained"].sum()),
                "residual_max": float(data["residual"].max()),
                "residual_relative_median": float(np.median(rel_res[:-1])),
                "residual_relative_max": float(rel_res.max()),
                "projected_loss_error_max": float(np.max(np.abs(proj - path))),
                "projected_loss_error_at_start": float(abs(proj[0] - path[0]))},
        "random_slice": {"loss_center": float(data["random_surface"][cfg.grid // 2,
                                                                     cfg.grid // 2]),
                         "loss_min": float(data["random_surface"].min()),
                         "loss_max": float(data["random_surface"].max())},
        "two_solutions": {
            "loss": [float(data["line_pair"][-1]), float(data["loss_b"])],
            "barrier_raw": slices.barrier(data["line_pair"], data["alphas"]),
            "barrier_aligned": slices.barrier(data["line_aligned"], data["alphas"]),
            "distance_raw": float(data["pair_distance"][0]),
            "distance_aligned": float(data["pair_distance"][1])},
    }
    because = (f"largest rise along the line from initialisation to the trained network: "
               f"{rel_rise:.2e} of its loss range {span:.3g} (barrier above "
               f"{cfg.monotone_tol:g})")
    return saddle.experiment.to_jsonable({
        **saddle.experiment.verdict([rel_rise <= cfg.monotone_tol], because), **out})


def plot(cfg: Config, data: dict) -> dict:
    s = summarize(cfg, data)
    fig, (a, b, c, d) = splot.figure(1, 4, width=15, height=3.8)
    t = data["ticks"]
    cs = a.contourf(t, t, np.log10(data["random_surface"]), levels=30, cmap="viridis")
    fig.colorbar(cs, ax=a, label="log10 train loss")
    a.plot(0, 0, "r*", ms=10)
    a.set(xlabel="δ (filter-normalised)", ylabel="η (filter-normalised)",
          title="(a) random plane around θ*")
    cs = b.contourf(data["px"], data["py"], np.log10(data["pca_surface"]), levels=30,
                    cmap="viridis")
    fig.colorbar(cs, ax=b, label="log10 train loss")
    b.plot(*data["coords"].T, "w.-", ms=3, lw=1, label="training path (projected)")
    b.plot(*data["coords"][0], "wo", ms=5)
    b.plot(0, 0, "r*", ms=10)
    e, p = data["explained"], s["pca"]
    b.set(xlabel=f"PC1 ({100 * e[0]:.1f}%)", ylabel=f"PC2 ({100 * e[1]:.1f}%)",
          title="(b) PCA plane of its training path")
    b.text(0.02, 0.98, f"off-plane ≤ {100 * p['residual_relative_max']:.0f}% of ‖θₜ − θ*‖\n"
           f"|L(proj) − L(θₜ)| ≤ {p['projected_loss_error_max']:.2g}", transform=b.transAxes,
           va="top", fontsize=7, color="w")
    b.legend(fontsize=7, loc="lower right")
    c.plot(data["alphas"], data["line_init"], color="C0")
    c.set(yscale="log", xlabel="α: (1 − α)θ₀ + αθ*", ylabel="train loss",
          title=f"(c) init → solution (rise {s['init_line']['max_rise_relative']:.1e})")
    d.plot(data["alphas"], data["line_pair"], color="C1", label="θ_B → θ_A")
    d.plot(data["alphas"], data["line_aligned"], color="C2", label="π(θ_B) → θ_A (aligned)")
    d.set(yscale="log", xlabel="α", ylabel="train loss", title="(d) solution → solution")
    d.legend(fontsize=7)
    return {"landscape_2d": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
