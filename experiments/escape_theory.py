"""GD near a saddle follows the linear law: escape times against log(r/ε)/log(1 + η|λ_min|).

Claim tested: near a strict saddle GD's median escape time is the linear estimate
log(r/(ε·m_d))/log(1 + η|λ_min|) for the median start (``saddle.escape``: m_d the median
|⟨u, v⟩| of a start on the sphere); on x² − y² the whole distribution is the exact law
``exact_quadratic_cdf``; each start's time is the law for its own component ε|⟨u, v⟩|
along the escape direction v; at the monkey saddle (H = 0) there is no linear law and
the time from a start in a valley is (1/ε − 1/r)/(3η). (Other optimizers:
``experiments.escape``.)

Method: around each saddle c (x² − y², the monkey saddle, Himmelblau's four saddles, the
n-d ``strict_saddle``) ``n_starts`` starts uniform on the sphere of radius ε
(``saddle.escape.sphere_starts``). Escape = first step with ‖x − c‖ > r or
f < f(c) − loss_drop·D, D = f(c) − min f on the sphere r (``saddle.escape.escape_times``).
A run still inside after ``steps`` steps is censored (``saddle.stats.censored_summary``:
medians with order-statistic 95% intervals). GD's step η = ``lr_scale``/L, L the largest
|Hessian eigenvalue| sampled on the balls r/2 and r around the objective's saddles; the
estimates are ``saddle.escape.escape_estimates``. Same keys as ``experiments.escape``
gives GD, so both report the same GD runs.

Expected (defaults, measured): GD's median equals the start-corrected estimate within 3%
(x² − y² 45, exact median 45, KS distance 0.006; Himmelblau 155/122/192/432 vs
154/121/192/427; 10-d strict saddle 100 vs 97); the plain estimate is 8–30% low; monkey
saddle: median 1207 vs the valley start's 980, 3.6% never. Verdict (summary.json):
"confirmed" when at every strict saddle GD's median (its 95% interval) meets the
start-corrected estimate ± ``theory_tolerance``.

Runtime: about 40 s on 2 CPU cores shared with other jobs, most of it XLA compilation.

Run: python -m experiments.escape_theory
     python -m experiments.escape_theory --n-starts 100000 --eps 1e-3 --steps 20000
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

import saddle
from saddle import escape as law
from saddle import plot as splot
from saddle.experiment import field

SADDLES = ("quadratic_saddle", "monkey_saddle", "himmelblau", "strict_saddle")


CLAIM = ("Near a strict saddle GD's escape time follows the linear law log(r/ε)/log(1 + η|λ_min|).")
RUNTIME = "40 s"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    saddles: tuple[str, ...] = field(SADDLES, "Saddle families (himmelblau: its 4 saddles).",
                                     choices=SADDLES)
    n_starts: int = field(10_000, "starts per saddle", at_least=1)
    eps: float = field(1e-2, "distance ε of the starts from the saddle", above=0)
    radius: float = field(0.5, "escape radius r", above=0)
    loss_drop: float = field(1.0, "escape loss drop δ in units of f(c) − min f on the sphere r",
                             above=0)
    steps: int = field(4000, "step budget (censoring time)", at_least=1)
    lr_scale: float = field(0.1, "η·L of GD (GD is unstable at ηL >= 2)", above=0, below=2)
    strict_dim: int = field(10, "dimension of strict_saddle", at_least=2)
    strict_gamma: float = field(1.0, "γ of strict_saddle (λ_min = −γ)", above=0)
    theory_tolerance: float = field(0.05, "verdict: GD's median agrees with the linear "
                                           "estimate when its 95% CI meets estimate·(1 ± this)",
                                    above=0)
    seed: int = field(0, "PRNG seed")

    def __post_init__(self) -> None:
        saddle.experiment.check_fields(self)
        if not self.saddles:
            raise ValueError("saddles must name at least one saddle family")
        if self.eps >= self.radius:
            raise ValueError(f"eps must be < radius (starts inside the ball), got "
                             f"eps={self.eps}, radius={self.radius}")
        if "strict_saddle" in self.saddles and self.radius >= math.sqrt(self.strict_gamma):
            raise ValueError(f"radius must be < sqrt(strict_gamma) = "
                             f"{math.sqrt(self.strict_gamma):.3g} (the minima of strict_saddle "
                             f"would lie inside the ball), got {self.radius}")


def sites(cfg: Config) -> list[tuple[str, saddle.Objective, tuple[float, ...]]]:
    """``(label, objective, point)`` for every catalogued saddle (degenerate ones too) of the
    families in ``cfg.saddles``, in the order of their coordinates."""
    out = []
    for name in cfg.saddles:
        kw = {"dim": cfg.strict_dim, "gamma": cfg.strict_gamma} if name == "strict_saddle" else {}
        obj = saddle.objectives.get(name, **kw)
        pts = sorted(p.x for p in obj.known if p.kind in ("saddle", "degenerate"))
        out += [(name if len(pts) == 1 else f"{name}_{i}", obj, x) for i, x in enumerate(pts)]
    return out


def measure(cfg: Config, obj: saddle.Objective, center, key: jax.Array) -> dict:
    """The saddle's geometry and the starts around it (``proj``: |⟨x0 − c, v⟩|/ε)."""
    g = law.saddle_geometry(obj.fn, center, cfg.radius, key=jax.random.fold_in(key, 0))
    x0, proj = law.sphere_starts(jax.random.fold_in(key, 1), cfg.n_starts, g, cfg.eps)
    return {"center": g.center, "eigenvalues": g.eigenvalues, "direction": g.direction,
            "L": np.float64(g.curvature_scale), "D": np.float64(g.depth), "x0": x0, "proj": proj}


def gd_times(cfg: Config, geo: dict, fn, lr: float, key: jax.Array) -> dict:
    """GD's escape steps from one saddle's starts."""
    esc = saddle.Escape(geo["center"], cfg.radius, loss_drop=cfg.loss_drop * float(geo["D"]))
    gd = saddle.optimizers.make("gd", lr)
    return {"escape_step": law.escape_times(fn, geo["x0"], gd, cfg.steps, esc, key=key).escape_step}


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    table = sites(cfg)
    data: dict[str, np.ndarray] = {"sites": np.array([s[0] for s in table], dtype=str)}
    geos = {label: ctx.stage(f"{label}__geometry", lambda obj=obj, x=x, i=i: measure(
        cfg, obj, x, jax.random.fold_in(jax.random.fold_in(root, 1), i)))
        for i, (label, obj, x) in enumerate(table)}
    scale = {}  # one learning rate per objective: the largest curvature near its saddles
    for label, obj, _ in table:
        scale[obj.name] = max(scale.get(obj.name, 0.0), float(geos[label]["L"]))
    for i, (label, obj, _) in enumerate(ctx.progress(table, desc="saddles")):
        data |= {f"{label}__{k}": v for k, v in geos[label].items() if k not in ("x0", "L")}
        data[f"{label}__L"] = np.float64(scale[obj.name])
        # GD's key in experiments.escape (optimizer 0 there): the same GD runs
        key = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(root, 2), i), 0)
        part = ctx.stage(f"{label}__gd", lambda label=label, obj=obj, key=key: gd_times(
            cfg, geos[label], obj.fn, cfg.lr_scale / scale[obj.name], key))
        data[f"{label}__gd__escape_step"] = part["escape_step"]
    return data


def theory(cfg: Config, data: dict, label: str) -> dict:
    """GD's estimates at saddle ``label``; at the monkey saddle the valley estimate; on
    x² − y² the exact median and the KS distance of the measured times to the exact law."""
    scale = float(data[f"{label}__L"])
    eta = cfg.lr_scale / scale
    out = {"L": scale, "lr": eta,
           **law.escape_estimates(data[f"{label}__eigenvalues"], eta, cfg.eps, cfg.radius)}
    if label == "monkey_saddle":
        out["valley_estimate"] = law.cubic_valley_estimate(eta, cfg.eps, cfg.radius)
    if label == "quadratic_saddle":
        out["exact_median"] = law.exact_quadratic_median(eta, cfg.eps, cfg.radius, cfg.loss_drop)
        cdf = law.exact_quadratic_cdf(np.arange(cfg.steps + 1), eta, cfg.eps, cfg.radius,
                                      cfg.loss_drop)
        ks, critical = saddle.stats.ks_distance(data[f"{label}__gd__escape_step"], cdf, 0.99)
        out |= {"ks_distance_to_exact": ks, "ks_1pct_threshold": critical}
    return out


def summarize(cfg: Config, data: dict) -> dict:
    out: dict = {"n_starts": cfg.n_starts, "eps": cfg.eps, "radius": cfg.radius,
                 "steps": cfg.steps, "saddles": {}}
    for label in map(str, data["sites"]):
        e = data[f"{label}__gd__escape_step"]
        out["saddles"][label] = {
            "center": data[f"{label}__center"], "gd_theory": theory(cfg, data, label),
            "gd": dataclasses.asdict(saddle.stats.censored_summary(e, cfg.steps))}
    return {**verdict(cfg, out["saddles"]), **out}


def verdict(cfg: Config, saddles: dict) -> dict:
    """GD's median vs the start-corrected linear estimate E at every strict saddle: they
    agree when the median's 95% interval meets E·(1 ± ``theory_tolerance``). A median
    censored at the budget decides only when the budget exceeds E·(1 + tolerance)."""
    agree, because, tol = [], [], cfg.theory_tolerance
    for label, entry in saddles.items():
        est, gd = entry["gd_theory"]["start_corrected_estimate"], entry["gd"]
        if est is None:
            continue
        meets = saddle.stats.median_meets(gd, est * (1 - tol), est * (1 + tol))
        if meets is not None:
            agree.append(meets)
        because.append(f"{label} median >= {gd['median']:g} (censored) vs {est:.1f}"
                       if gd["median_censored"] else
                       f"{label} {gd['median']:g} [{gd['ci_low']:g}, {gd['ci_high']:g}] vs "
                       f"{est:.1f} ({gd['median'] / est - 1:+.1%})")
    text = "; ".join(because) or "no strict saddle"
    return saddle.experiment.verdict(agree, f"GD median (95% CI) vs start-corrected linear "
                                            f"estimate, tolerance {tol:.0%}: {text}")


# ----------------------------------------------------------------------------- figure
def title(cfg: Config, data: dict, label: str) -> str:
    if label.startswith("himmelblau"):
        c = data[f"{label}__center"]
        return f"Himmelblau saddle ({c[0]:.2f}, {c[1]:.2f})"
    if label == "strict_saddle":
        return f"strict saddle, d={cfg.strict_dim}, γ={cfg.strict_gamma:g}"
    return {"quadratic_saddle": "x² − y²", "monkey_saddle": "monkey saddle x³ − 3xy²"}[label]


def plot(cfg: Config, data: dict) -> dict:
    s = summarize(cfg, data)["saddles"]
    fig, (a, b, c) = splot.figure(1, 3, width=13, height=3.8)
    strict = [lab for lab, v in s.items() if v["gd_theory"]["linear_estimate"]]
    if "quadratic_saddle" in s:  # (a) x² − y²: measured GD CDF vs the exact one
        th, e = s["quadratic_saddle"]["gd_theory"], data["quadratic_saddle__gd__escape_step"]
        t = np.arange(0, int(np.percentile(saddle.stats.censored(e, cfg.steps + 1), 99.5)) + 10)
        splot.ecdf(a, e, start=0, color="k", lw=1.5, label=f"GD, measured (n={e.size})")
        a.plot(t, law.exact_quadratic_cdf(t, th["lr"], cfg.eps, cfg.radius, cfg.loss_drop), "o",
               ms=2.5, color="#d95f02", label="exact P(T ≤ t)")
        a.axvline(th["linear_estimate"], color="k", ls=":", lw=1, label="log(r/ε)/log(1+2η)")
        a.axvline(th["exact_median"], color="#d95f02", ls="--", lw=1,
                  label=f"exact median {th['exact_median']}")
        a.set(xlim=(max(0, th["linear_estimate"] - 10), t[-1]), xlabel="escape step t",
              ylabel="P(T ≤ t)", title=f"(a) x² − y², GD η={th['lr']:.3g}: KS = "
                                       f"{th['ks_distance_to_exact']:.4f}")
        a.legend(fontsize=7, loc="lower right")
    for label in strict:  # (b) GD escape step per start vs its component along v
        th = s[label]["gd_theory"]
        e, p = data[f"{label}__gd__escape_step"], data[f"{label}__proj"]
        sel = (e >= 0) & (np.arange(e.size) < 2000)
        if not sel.any():  # no start escaped within the budget: nothing to draw
            continue
        line = b.plot(1 / p[sel], e[sel], ".", ms=2.5, alpha=0.5, label=title(cfg, data, label))
        q = np.geomspace(1, max(1 / p[sel].min(), 2), 50)
        b.plot(q, [law.gd_linear_estimate(th["lam_min"], th["lr"], cfg.eps / qq, cfg.radius)
                   for qq in q], color=line[0].get_color(), lw=0.9, ls="--")
    b.set(xscale="log", yscale="log", xlabel="1/|⟨u, v⟩| (start's share along the escape "
                                             "direction)", ylabel="GD escape step",
          title="(b) GD per start (dots) vs log(r/(ε|⟨u,v⟩|))/log(1+η|λ|) (dashed)")
    if b.lines:
        b.legend(fontsize=6, loc="lower right", markerscale=3)
    else:
        b.text(0.5, 0.5, f"no GD start escaped within {cfg.steps} steps", ha="center",
               transform=b.transAxes)
    if strict:  # (c) measured GD median vs the estimates
        gd, th = ([s[lab][k] for lab in strict] for k in ("gd", "gd_theory"))
        m = np.array([[g["median"], g["ci_low"], g["ci_high"]] for g in gd])
        xs = np.arange(len(strict), dtype=float)
        c.errorbar(xs, m[:, 0], yerr=[m[:, 0] - m[:, 1], m[:, 2] - m[:, 0]], fmt="o", color="k",
                   capsize=3, ms=5, label="measured median (95% CI)")
        c.plot(xs - 0.2, [t["linear_estimate"] for t in th], "x", color="#1f77b4", ms=7,
               mew=1.5, label="log(r/ε)/log(1+η|λ_min|)")
        c.plot(xs + 0.2, [t["start_corrected_estimate"] for t in th], "+", color="#d95f02",
               ms=10, mew=1.5, label="same for the median start (ε·m_d)")
        c.set_xticks(xs, [title(cfg, data, lab) for lab in strict], rotation=20, ha="right",
                     fontsize=7)
        c.set(yscale="log", ylabel="GD escape step", title="(c) GD median vs linear theory")
        c.legend(fontsize=7)
    return {"gd_theory": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
