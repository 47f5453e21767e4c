"""Does momentum roll past bumps and saddles into the lower basin?

Claim tested (the seeds' advice "momentum rolls a ball past saddles and small bumps"):
heavy-ball momentum and Nesterov reach the lower basin more often than GD at the same
learning rate η, and more often than GD at momentum's effective step η/(1−β) (the fair
control: otherwise "momentum helps" may only be "bigger steps help").

Landscapes: ``bump`` — f(x) = x²/2 + h·exp(−(x−c)²/(2w²)) (h, c, w = 1, 0.3, 0.4): a deep
minimum at x ≈ −0.552 (f ≈ 0.256) and a shallow one at x ≈ 0.986 (f ≈ 0.716) behind the
bump's maximum at x ≈ 0.358; starts uniform in [−3, 3]. ``camel`` — the three-hump camel
(registry): the global minimum at 0 and two shallow minima (f ≈ 0.299), each behind a
saddle (f ≈ 0.877); starts uniform in [−2.5, 2.5]². ``xor`` — a 2-2-1 tanh net (linear
output, lecun-normal init) on the four XOR points with squared error: the global minimum
has loss 0, runs that stop above it are stuck. Each start runs ``steps`` steps of GD,
momentum (β sweep, one program via ``saddle.optimizers.grid``), Nesterov, and GD at
η/(1−β); then ``polish`` steps of GD at η (a descent that crosses no barrier) settle the
end point, which is assigned to the catalogue's minima (``saddle.basins.assign``) or, for
the net, judged by its loss (< ``loss_tol``). Shares with Wilson 95% intervals; the
verdict compares momentum at ``beta`` with GD at η and with GD at η/(1−β).

Run: python -m experiments.momentum_escape      (about 2 min on 2 CPU cores)
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import optax

import saddle
from saddle import optimizers
from saddle import plot as splot
from saddle.data import XOR_CENTRES
from saddle.experiment import field
from saddle.objectives import nn
from saddle.objectives.core import Catalogue, CriticalPoint, Objective, roots_1d

CLAIM = ("Momentum (heavy ball, Nesterov) reaches the lower basin more often than GD at the "
         "same learning rate and than GD at its effective step η/(1−β).")
RUNTIME = "45 s at load 2"
LANDSCAPES = ("bump", "camel", "xor")
BUMP = (1.0, 0.3, 0.4)  # height h, centre c, width w
BOXES = {"bump": (-3.0, 3.0), "camel": (-2.5, 2.5)}


def bump_fn(x: jax.Array, h: float = BUMP[0], c: float = BUMP[1], w: float = BUMP[2]
            ) -> jax.Array:
    """f(x) = x²/2 + h·exp(−(x−c)²/(2w²)) for ``x`` ``[1]`` (a quadratic with a bump)."""
    return 0.5 * x[0] ** 2 + h * jax.numpy.exp(-((x[0] - c) ** 2) / (2 * w * w))


def bump_objective() -> Objective:
    """The quadratic-plus-bump on [−3, 3]; critical points: the zeros of
    f'(x) = x − h(x−c)/w²·e^{−(x−c)²/2w²} in [−10, 10] (``roots_1d``; for |x| > 10 the bump's
    slope is < 10⁻¹⁰⁰ and f' ≈ x ≠ 0), kind from the sign of f''."""
    h, c, w = BUMP

    def e(x: np.ndarray) -> np.ndarray:
        return np.exp(-((x - c) ** 2) / (2 * w * w))

    def dg(x: np.ndarray) -> np.ndarray:
        return x - h * (x - c) / w**2 * e(x)

    def d2g(x: np.ndarray) -> np.ndarray:
        return 1 - h / w**2 * e(x) * (1 - (x - c) ** 2 / w**2)

    known = tuple(CriticalPoint(x=(x,), value=0.5 * x * x + h * float(e(x)), kind=kind,
                                index=int(kind == "maximum"))
                  for x, kind in roots_1d(dg, d2g, -10.0, 10.0))
    return Objective(fn=bump_fn, dim=1, bounds=BOXES["bump"], name="bump",
                     catalogue=Catalogue(known, complete=True))


def xor_net() -> tuple[nn.Net, Objective]:
    """The 2-2-1 tanh net and its squared-error objective on the four XOR points (0/1)."""
    x = XOR_CENTRES.astype(np.float32)
    y = (x[:, 0] * x[:, 1] < 0).astype(np.float32)[:, None]
    net = nn.mlp(2, (2, 1), "tanh")
    return net, nn.objective(net, (x, y), loss="mse", name="xor")


def landscape(name: str) -> Objective:
    return {"bump": bump_objective, "camel": lambda: saddle.objectives.get("three_hump_camel"),
            "xor": lambda: xor_net()[1]}[name]()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    landscapes: tuple[str, ...] = field(LANDSCAPES, "The landscapes.", choices=LANDSCAPES)
    n_starts: int = field(10_000, "Starts per landscape (the same for every optimizer).",
                          at_least=1)
    steps: int = field(1000, "Optimizer steps per start.", at_least=1)
    polish: int = field(1000, "GD steps at η after them, to settle each end point.", at_least=1)
    betas: tuple[float, ...] = field((0.5, 0.8, 0.9, 0.95, 0.99),
                                     "The momentum coefficients β (each in (0, 1)).")
    beta: float = field(0.9, "The β the verdict compares (one of betas).")
    lr_bump: float = field(0.01, "η on bump.", above=0)
    lr_camel: float = field(0.005, "η on camel.", above=0)
    lr_xor: float = field(0.1, "η on xor.", above=0)
    loss_tol: float = field(1e-3, "xor: a run reached the global minimum if its loss is below.",
                            above=0)
    basin_tol: float = field(1e-2, "bump, camel: distance within which an end point is at a "
                                   "catalogued minimum.", above=0)
    seed: int = field(0, "Seed of the jax.random keys.")

    def __post_init__(self) -> None:
        if not self.landscapes or not self.betas:
            raise ValueError("landscapes and betas must not be empty")
        if not all(0 < b < 1 for b in self.betas):
            raise ValueError(f"betas must lie in (0, 1), got {self.betas}")
        if self.beta not in self.betas:
            raise ValueError(f"beta={self.beta} is not one of betas={self.betas}")


def arms(cfg: Config) -> list[str]:
    """Names of the optimizers in the order of the data's first axis."""
    return (["gd"] + [f"momentum β={b}" for b in cfg.betas] + [f"gd η/(1−β), β={b}"
            for b in cfg.betas] + [f"nesterov β={b}" for b in cfg.betas])


def one_landscape(cfg: Config, name: str, key: jax.Array) -> dict:
    obj = landscape(name)
    lr = getattr(cfg, f"lr_{name}")
    b = list(cfg.betas)
    x0 = (saddle.starts.sample(key, cfg.n_starts, obj) if name == "xor" else
          saddle.starts.uniform(key, cfg.n_starts, (np.full(obj.dim, BOXES[name][0]),
                                                    np.full(obj.dim, BOXES[name][1]))))
    heavy = optimizers.grid("momentum", lr=lr, momentum=[0.0, *b])  # β = 0 is GD exactly
    matched = optimizers.grid("momentum", lr=[lr / (1 - v) for v in b], momentum=0.0)
    runs = [saddle.descend(obj, x0, heavy.optimizers + matched.optimizers, cfg.steps),
            saddle.descend(obj, x0, optimizers.grid("nesterov", lr=lr, momentum=b), cfg.steps)]
    x_end = np.concatenate([r.x for r in runs]).reshape(-1, obj.dim)
    diverged = np.concatenate([r.diverged for r in runs]).reshape(-1)
    done = saddle.descend(obj, np.where(diverged[:, None], 0.0, x_end), optax.sgd(lr),
                          cfg.polish)
    diverged |= done.diverged
    out = {"x0": np.asarray(x0), "diverged": diverged, "loss": np.where(diverged, np.inf,
                                                                         done.loss)}
    if name == "xor":
        out["success"] = ~diverged & (done.loss < cfg.loss_tol)
    else:
        minima = [p for p in obj.catalogue.points if p.kind == "minimum"]
        labels = saddle.basins.assign(done.x, [p.x for p in minima], cfg.basin_tol, diverged)
        out["label"] = labels
        out["success"] = labels == int(np.argmin([p.value for p in minima]))
    return {k: v.reshape(len(arms(cfg)), cfg.n_starts, *v.shape[1:]) if k != "x0" else v
            for k, v in out.items()}


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    return ctx.stages(cfg.landscapes, lambda i, name: one_landscape(
        cfg, name, jax.random.fold_in(root, i)), desc="landscapes")


def shares(ok: np.ndarray) -> dict:
    """Share of successes per arm ``ok`` ``[A, n]``, with Wilson 95% intervals."""
    lo, hi = saddle.wilson_interval(ok.sum(1), ok.shape[1])
    return {"p": ok.mean(1), "ci_low": lo, "ci_high": hi}


def summarize(cfg: Config, data: dict) -> dict:
    names, nb = arms(cfg), len(cfg.betas)
    j = 1 + cfg.betas.index(cfg.beta)  # momentum at beta; matched GD at j + nb
    out: dict = {"n_starts": cfg.n_starts, "beta": cfg.beta, "landscapes": {}}
    passed, because = [], []
    for name in cfg.landscapes:
        d = saddle.experiment.part(data, name)
        s = shares(d["success"])
        out["landscapes"][name] = {a: {"p_lower_basin": float(s["p"][i]),
                                       "ci_low": float(s["ci_low"][i]),
                                       "ci_high": float(s["ci_high"][i]),
                                       "diverged": float(d["diverged"][i].mean())}
                                   for i, a in enumerate(names)}
        eq = bool(s["ci_low"][j] > s["ci_high"][0])
        fair = bool(s["ci_low"][j] > s["ci_high"][j + nb])
        passed += [eq, fair]
        best = int(np.argmax(s["p"]))
        because.append(f"{name}: momentum β={cfg.beta} {s['p'][j]:.3f} vs GD at η "
                       f"{s['p'][0]:.3f} ({'higher' if eq else 'not higher'}) and vs GD at "
                       f"η/(1−β) {s['p'][j + nb]:.3f} ({'higher' if fair else 'not higher'}; "
                       f"{d['diverged'][j + nb].mean():.0%} diverged); best: {names[best]} "
                       f"{s['p'][best]:.3f}")
    out |= saddle.experiment.verdict(
        passed, "; ".join(because) + " (higher = 95% Wilson intervals disjoint)")
    return out


def plot(cfg: Config, data: dict) -> dict:
    nb, b = len(cfg.betas), np.asarray(cfg.betas)
    fig, axes = splot.panels(len(cfg.landscapes) + 1, 2, col_width=4.2, row_height=3.1)
    for ax, name in zip(axes, cfg.landscapes, strict=False):
        s = shares(saddle.experiment.part(data, name)["success"])
        for sl, label, mk in ((slice(1, 1 + nb), "momentum", "o"),
                              (slice(1 + 2 * nb, 1 + 3 * nb), "nesterov", "s"),
                              (slice(1 + nb, 1 + 2 * nb), "GD at η/(1−β)", "^")):
            p = s["p"][sl]
            ax.errorbar(1 / (1 - b), p, yerr=[p - s["ci_low"][sl], s["ci_high"][sl] - p],
                        marker=mk, capsize=3, label=label)
        ax.axhspan(s["ci_low"][0], s["ci_high"][0], color="k", alpha=0.2)
        ax.axhline(s["p"][0], color="k", lw=1, label="GD at η")
        ax.set(xscale="log", xlabel="1/(1−β) (effective step / η)", ylim=(-0.02, 1.02),
               ylabel="P(lower basin)", title=f"{name} ({cfg.n_starts} starts, 95% CI)")
        ax.legend(fontsize=7)
    ax = axes[-1]
    if "bump" in cfg.landscapes:
        d = saddle.experiment.part(data, "bump")
        x0 = d["x0"][:, 0]
        edges = np.linspace(*BOXES["bump"], 61)
        which = np.digitize(x0, edges) - 1
        j = 1 + cfg.betas.index(cfg.beta)
        for i, label, ls in ((0, "GD at η", "-"), (j, f"momentum β={cfg.beta}", "--"),
                             (nb, f"momentum β={cfg.betas[-1]}", "-."),
                             (j + nb, f"GD at η/(1−{cfg.beta})", ":")):
            frac = [d["success"][i][which == k].mean() if np.any(which == k) else np.nan
                    for k in range(60)]
            ax.step(edges[:-1], frac, where="post", label=label, ls=ls, lw=1.5)
        t = np.linspace(*BOXES["bump"], 400)
        ax2 = ax.twinx()
        ax2.plot(t, np.asarray(bump_fn(t[None])), "k:", lw=1)
        ax2.set_ylabel("f(x) (dotted)")
        ax.set(xlabel="start x₀", ylabel="P(lower basin | x₀)", title="bump: by start")
        ax.legend(fontsize=7)
    return {"momentum_escape": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
