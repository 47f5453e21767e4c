"""How optimizers escape saddles: escape-time distributions, linear theory, chained saddles.

Claim tested: near a strict saddle, gradient descent leaves a ball of radius r from a
start at distance ε in about log(r/ε)/log(1 + η|λ_min|) steps (the component along the
negative eigenvector grows ×(1 + η|λ_min|) per step); momentum, Nesterov, Adam, perturbed
GD, noisy GD and saddle-free Newton change that time in ways the same linear picture
explains; at a degenerate saddle (the monkey saddle, H = 0) the time grows like 1/ε, not
log(1/ε), and starts near its ridges wait much longer. And (Du et al. 2017): on a chain of
d saddles GD's time to pass all of them grows exponentially in d while perturbed GD's
(Jin et al. 2017) grows linearly.

Method. Saddles: x² − y² ("quadratic_saddle"), the monkey saddle x³ − 3xy²
("monkey_saddle"), the four catalogued saddles of Himmelblau's function and the n-d
``strict_saddle`` (λ = (−γ, 1, …, 1), ``--strict-dim``, ``--strict-gamma``). Around each
saddle c, ``n_starts`` starts uniform on the sphere ‖x − c‖ = ε (normalised Gaussians
from a ``jax.random`` key derived from ``seed``; the same starts for every optimizer).
Escape: ``saddle.descend(..., escape=saddle.Escape(c, radius=r, loss_drop=δ))`` and
``run.escape_step``, the first step at which ‖x − c‖ > r or f < f(c) − δ, with
δ = ``loss_drop`` × D and D = f(c) − min f on the sphere of radius r (so with the
default ``loss_drop = 1`` the ball decides: no point inside it is that low). A run that
has not escaped after ``steps`` steps is "never" (escape_step −1): its share is reported
with a Wilson interval and, in the statistics, it is censored at ``steps`` (never NaN).
Medians carry 95% distribution-free intervals from order statistics: [X_(l), X_(n−l+1)]
with l the 2.5% quantile of Binomial(n, ½). Each block runs 256 steps from all starts, then
``steps`` steps from the starts not yet escaped: identical to one run of ``steps`` steps
at a fraction of the cost. For that every start gets its own PRNG key once
(``saddle.descend`` takes one key per start), so a re-run of a subset draws exactly the
noise those starts had in the full batch.

Learning rates, one per objective, from its curvature scale L = the largest |Hessian
eigenvalue| over the balls of radius r around its saddles (sampled): GD, momentum and
Nesterov (β = 0.9), perturbed GD and noisy GD use η = ``lr_scale``/L (0.1/L: ηL = 0.1
is well inside GD's stability limit 2 and heavy ball's 2(1 + β), and momentum's
effective step η/(1 − β) = 1/L is the classic step size);
Adam is invariant to rescaling f, so its learning rate is a length: ``adam_lr`` = 0.01
(it moves ≈ lr per step per coordinate, r/lr ≈ 50 steps to cross the ball); saddle-free
Newton (Dauphin et al. 2014) takes the Newton step, ``sfn_lr`` = 1, damping 10⁻³.
Perturbed GD: kick radius ε, g_thres = L·ε (the gradient scale at the starts), t_thres =
50. Noisy GD: gradient noise uniform on the sphere of radius σ = L·ε.

Theory for GD. Linear estimate T_lin = log(r/ε)/log(1 + η|λ_min|). A start uniform on
the sphere has a random component ε·|⟨u, v⟩| along the escape direction v, so the median
start needs T_med = log(r/(ε·m_d))/log(1 + η|λ_min|), m_d the median of |⟨u, v⟩| (1/√2 in
2-D, ≈ 0.21 for d = 10). For x² − y² the distribution is exact: from
(ε cos θ, ε sin θ), x_t = ε cos θ·a^t, y_t = ε sin θ·b^t (a = 1 − 2η, b = 1 + 2η), and
T ≤ t iff cos²θ·a^{2t} + sin²θ·b^{2t} > R² or sin²θ·b^{2t} − cos²θ·a^{2t} > ℓR²
(R = r/ε, ℓ = ``loss_drop``; the first is convex in t, the second increasing), i.e.
P(T ≤ t) = 1 − (2/π)·arcsin √u_t, u_t = min((R² − a^{2t})/(b^{2t} − a^{2t}),
(ℓR² + a^{2t})/(b^{2t} + a^{2t})) clipped to [0, 1] (``exact_quadratic_cdf``). For the
monkey saddle, GD along a valley gives ρ_{t+1} = ρ_t + 3ηρ_t², ≈ (1/ε − 1/r)/(3η) steps.

Chained saddles (``chained_saddle``, dims ``chain_dims``): starts uniform in
[−τ, τ]^d (τ = ``chain_init``, inside the first saddle's quadratic region, as Du et al.
start in the first saddle's region); "passed all saddles" = f < −(d − ½)γ/4, half-way
from the last saddle's value −(d − 1)γ/4 to the minimum's −dγ/4. GD and perturbed GD
(kick radius 0.01, g_thres 0.01, t_thres 20) at η = ``chain_lr``, in float64: in float32
the coordinate still waiting underflows to 0 and GD never escapes (also measured, as
``gd_float32``). Theory: time ×(1 + κ) per saddle, κ = −log(1 − ηL)/log(1 + ηγ).

Expected (defaults, measured): GD's median escape step equals the start-corrected linear
estimate within 3%: x² − y² 45 (exact median 45, naive log(r/ε)/log(1 + 2η) = 41; KS
distance to the exact CDF 0.006 at n = 10⁴), Himmelblau's saddles 155/122/192/432 vs
154/121/192/427, the 10-d strict saddle 100 vs 97 (naive 70; the quartic slows the last
stretch). Momentum and Nesterov are 2.5-6× faster than GD (more where η|λ_min| is
small: heavy ball grows ×≈(1 + η|λ|/(1 − β)) per step), saddle-free Newton takes 7-11
steps everywhere, Adam 35-44 (≈ r/lr, whatever the curvature); perturbed and noisy GD
match GD at strict saddles. On the monkey saddle GD needs a median 1207 steps (980 for a
start in a valley) and 3.6% of starts have not escaped after 4000; perturbed/noisy GD
cut the median to ~850-880 and the never-share to ≤ 0.1%. Chained saddles: GD's median
time to pass all d saddles grows ×2.18 per saddle (theory ×2.11), from 92 (d = 2) to
9957 (d = 8); perturbed GD's by +88 steps per saddle (620 at d = 8). In float32 GD never
passes from d = 6, in float64 6% of starts never do at d = 8: the waiting coordinate
underflows to exactly 0 and GD sits on the saddle for good.

Runtime: about 1.5 minutes on 2 CPU cores, over half of it XLA compilation (49 saddle ×
optimizer blocks + 21 chain runs).

Run: python -m experiments.escape
     python -m experiments.escape --n-starts 100000 --eps 1e-3 --steps 20000
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from saddle import optimizers
from saddle import plot as splot
from saddle.newton import saddle_free_newton
from saddle.precision import float64

SADDLES = ("quadratic_saddle", "monkey_saddle", "himmelblau", "strict_saddle")
OPTIMIZERS = ("gd", "momentum", "nesterov", "adam", "perturbed_gd", "noisy_gd",
              "saddle_free_newton")
PGD_T_THRES = 50
CHAIN_PGD = {"radius": 0.01, "g_thres": 0.01, "t_thres": 20}
MOMENTUM = 0.9  # optax/saddle default for momentum and nesterov
FIRST_HORIZON = 256  # most starts escape within it; the rest get the full budget


def _field(default, text: str):
    return dataclasses.field(default=default, metadata={"help": text})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    saddles: tuple[str, ...] = _field(SADDLES, "saddle families (himmelblau: its 4 saddles)")
    optimizers: tuple[str, ...] = _field(OPTIMIZERS, "optimizers compared")
    n_starts: int = _field(10_000, "starts per saddle and optimizer")
    eps: float = _field(1e-2, "distance ε of the starts from the saddle")
    radius: float = _field(0.5, "escape radius r")
    loss_drop: float = _field(1.0, "escape loss drop δ in units of f(c) − min f on the sphere r")
    steps: int = _field(4000, "step budget (censoring time)")
    lr_scale: float = _field(0.1, "η·L for gd, momentum, nesterov, perturbed_gd, noisy_gd")
    adam_lr: float = _field(0.01, "Adam learning rate (a length)")
    sfn_lr: float = _field(1.0, "saddle-free Newton learning rate")
    strict_dim: int = _field(10, "dimension of strict_saddle")
    strict_gamma: float = _field(1.0, "γ of strict_saddle (λ_min = −γ)")
    chain_dims: tuple[int, ...] = _field((2, 3, 4, 5, 6, 7, 8), "chained_saddle dimensions")
    chain_starts: int = _field(256, "starts per chain dimension")
    chain_steps: int = _field(20_000, "step budget on the chain")
    chain_lr: float = _field(0.1, "GD / perturbed GD step on the chain")
    chain_init: float = _field(0.1, "chain starts uniform in [−τ, τ]^d")
    seed: int = _field(0, "PRNG seed")

    def __post_init__(self) -> None:
        for name in self.saddles:
            if name not in SADDLES:
                raise ValueError(f"unknown saddle {name!r} in saddles; known: {', '.join(SADDLES)}")
        for name in self.optimizers:
            if name not in OPTIMIZERS:
                raise ValueError(f"unknown optimizer {name!r} in optimizers; known: "
                                 f"{', '.join(OPTIMIZERS)}")
        if not self.saddles and not self.chain_dims:
            raise ValueError("saddles and chain_dims are both empty: nothing to measure")
        if self.saddles and not self.optimizers:
            raise ValueError("optimizers must name at least one optimizer")
        if len(set(self.saddles)) != len(self.saddles):
            raise ValueError(f"saddles has duplicates: {self.saddles}")
        if len(set(self.optimizers)) != len(self.optimizers):
            raise ValueError(f"optimizers has duplicates: {self.optimizers}")
        for f in ("n_starts", "steps", "chain_starts", "chain_steps"):
            if getattr(self, f) < 1:
                raise ValueError(f"{f} must be >= 1, got {getattr(self, f)}")
        for f in ("eps", "radius", "loss_drop", "lr_scale", "adam_lr", "sfn_lr", "strict_gamma",
                  "chain_lr", "chain_init"):
            v = getattr(self, f)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(f"{f} must be a finite number > 0, got {v!r}")
        if self.eps >= self.radius:
            raise ValueError(f"eps must be < radius (starts inside the ball), got "
                             f"eps={self.eps}, radius={self.radius}")
        if self.lr_scale >= 2:
            raise ValueError(f"lr_scale must be < 2 (GD is unstable at ηL >= 2), got "
                             f"{self.lr_scale}")
        if self.strict_dim < 2:
            raise ValueError(f"strict_dim must be >= 2, got {self.strict_dim}")
        if "strict_saddle" in self.saddles and self.radius >= math.sqrt(self.strict_gamma):
            raise ValueError(f"radius must be < sqrt(strict_gamma) = "
                             f"{math.sqrt(self.strict_gamma):.3g} (the minima of strict_saddle "
                             f"would lie inside the ball), got {self.radius}")
        if any(d < 1 or d > 12 for d in self.chain_dims):
            raise ValueError(f"chain_dims must lie in 1..12, got {self.chain_dims}")
        if len(set(self.chain_dims)) != len(self.chain_dims):
            raise ValueError(f"chain_dims has duplicates: {self.chain_dims}")
        if self.chain_init > 0.25:
            raise ValueError(f"chain_init must be <= 0.25 (the first saddle's quadratic "
                             f"region), got {self.chain_init}")
        if self.chain_lr >= 1:
            raise ValueError(f"chain_lr must be < 1 (η·L < 2 at the minima, curvature 2), got "
                             f"{self.chain_lr}")


# ----------------------------------------------------------------------------- statistics
def binom_cdf_half(n: int) -> np.ndarray:
    """P(B ≤ k), k = 0..n, for B ~ Binomial(n, ½), in float64 via log-gamma."""
    k = np.arange(n + 1)
    logpmf = (np.array([math.lgamma(n + 1)]) - np.vectorize(math.lgamma)(k + 1)
              - np.vectorize(math.lgamma)(n - k + 1) - n * math.log(2))
    return np.minimum(np.cumsum(np.exp(logpmf)), 1.0)


def median_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Median of ``x`` and its distribution-free CI [X_(l), X_(n−l+1)] (order statistics,
    1-based) with l the largest integer such that P(B ≤ l − 1) ≤ (1 − level)/2,
    B ~ Binomial(n, ½): coverage ≥ ``level`` for any continuous distribution."""
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    cdf = binom_cdf_half(n)
    l = int(np.searchsorted(cdf, (1 - level) / 2, side="right"))  # #{k: P(B ≤ k) ≤ α/2}
    l = max(l, 1)
    return float(np.median(x)), float(x[l - 1]), float(x[n - l])


def censored(escape_step: np.ndarray, steps: int) -> np.ndarray:
    """Escape steps with "never" (−1) censored at ``steps``."""
    e = np.asarray(escape_step)
    return np.where(e < 0, steps, e)


def sphere_median_abs(d: int) -> float:
    """Median of |u₁| for u uniform on the unit sphere in ℝ^d (d ≥ 2): solves
    ∫₀^{arcsin m} cos^{d−2}φ dφ = ½ ∫₀^{π/2} cos^{d−2}φ dφ (u₁ = sin φ)."""
    phi = np.linspace(0, np.pi / 2, 200_001)
    w = np.cos(phi) ** (d - 2)
    c = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(phi))])
    return float(np.sin(np.interp(0.5 * c[-1], c, phi)))


def gd_linear_estimate(lam_min: float, lr: float, eps: float, radius: float) -> float:
    """log(r/ε)/log(1 + η|λ_min|): GD's escape time for a start on the escape direction."""
    return math.log(radius / eps) / math.log1p(lr * abs(lam_min))


def exact_quadratic_cdf(t: np.ndarray, lr: float, eps: float, radius: float,
                        loss_drop: float = 1.0) -> np.ndarray:
    """P(T ≤ t) for GD on x² − y² from a start uniform on the circle of radius ε (module
    docstring): T = first step with ‖x_t‖ > r or f(x_t) < −loss_drop·r²."""
    t = np.asarray(t, dtype=float)
    with np.errstate(over="ignore"):
        a2, b2 = (1 - 2 * lr) ** (2 * t), (1 + 2 * lr) ** (2 * t)
    R2 = (radius / eps) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        u_ball = np.where(t > 0, (R2 - a2) / (b2 - a2), np.inf)
    u_loss = (loss_drop * R2 + a2) / (b2 + a2)
    u = np.clip(np.minimum(u_ball, u_loss), 0.0, 1.0)
    return 1 - 2 / np.pi * np.arcsin(np.sqrt(u))


def momentum_growth(a: float, beta: float, nesterov: bool) -> float:
    """Per-step growth of heavy-ball / Nesterov along a direction of curvature −a/η (a = η|λ|):
    the largest root of ρ² − (1 + β + a)ρ + β (heavy ball) or ρ² − (1 + β)(1 + a)ρ + β(1 + a)."""
    if nesterov:
        b, c = (1 + beta) * (1 + a), beta * (1 + a)
    else:
        b, c = 1 + beta + a, beta
    return (b + math.sqrt(b * b - 4 * c)) / 2


# ----------------------------------------------------------------------------- saddles
@dataclasses.dataclass(frozen=True)
class Site:
    """One saddle to escape from: its objective and location."""

    label: str
    objective: str
    kwargs: tuple[tuple[str, float], ...]
    center: tuple[float, ...]

    def get(self) -> saddle.Objective:
        return saddle.objectives.get(self.objective, **dict(self.kwargs))


def sites(cfg: Config) -> list[Site]:
    out = []
    for name in cfg.saddles:
        if name == "himmelblau":
            obj = saddle.objectives.get("himmelblau")
            pts = sorted((p for p in obj.known if p.kind == "saddle"), key=lambda p: p.x)
            out += [Site(f"himmelblau_{i}", name, (), p.x) for i, p in enumerate(pts)]
        elif name == "strict_saddle":
            kw = (("dim", cfg.strict_dim), ("gamma", cfg.strict_gamma))
            out.append(Site(name, name, kw, (0.0,) * cfg.strict_dim))
        else:
            out.append(Site(name, name, (), (0.0, 0.0)))
    return out


def geometry(fn, center: np.ndarray, radius: float, key: jax.Array) -> dict[str, np.ndarray]:
    """Hessian eigen-decomposition at the saddle, the curvature scale L (max |eigenvalue|
    over the ball, sampled on the spheres r/2 and r) and D = f(c) − min f on the sphere r
    (sampled, plus ±r along the escape direction)."""
    d = center.size
    c = jnp.asarray(center, jnp.float32)
    lam, vecs = np.linalg.eigh(np.asarray(saddle.hessian(fn, c[None])[0], dtype=np.float64))
    n = 512 if d > 2 else 2048
    u = jax.random.normal(key, (n, d))
    u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
    if d == 2:  # a fine circle instead
        phi = jnp.linspace(0, 2 * jnp.pi, n, endpoint=False)
        u = jnp.stack([jnp.cos(phi), jnp.sin(phi)], 1)
    ball = jnp.concatenate([c + radius * u, c + 0.5 * radius * u])
    h_eigs = np.asarray(jax.vmap(lambda x: jnp.linalg.eigvalsh(jax.hessian(fn)(x)))(ball))
    scale = float(max(np.abs(lam).max(), np.abs(h_eigs).max()))
    v = jnp.asarray(vecs[:, 0], jnp.float32)
    sphere = jnp.concatenate([c + radius * u, (c + radius * v)[None], (c - radius * v)[None]])
    drop = float(fn(c) - jnp.min(jax.vmap(fn)(sphere)))
    return {"center": np.asarray(center, dtype=np.float64), "eigenvalues": lam,
            "direction": vecs[:, 0], "L": np.float64(scale), "D": np.float64(drop)}


def make_optimizer(name: str, cfg: Config, fn, scale: float):
    """The optimizer ``name`` at the learning rate for curvature scale L = ``scale``
    (module docstring)."""
    eta = cfg.lr_scale / scale
    if name == "adam":
        return optimizers.make("adam", cfg.adam_lr)
    if name == "saddle_free_newton":
        return saddle_free_newton(cfg.sfn_lr)
    if name == "perturbed_gd":
        return optimizers.make(name, eta, radius=cfg.eps, g_thres=scale * cfg.eps,
                               t_thres=PGD_T_THRES)
    if name == "noisy_gd":
        return optimizers.make(name, eta, sigma=scale * cfg.eps)
    return optimizers.make(name, eta)


def lr_of(name: str, cfg: Config, scale: float) -> float:
    return {"adam": cfg.adam_lr, "saddle_free_newton": cfg.sfn_lr}.get(name, cfg.lr_scale / scale)


def escape_steps(fn, x0: np.ndarray, opt, steps: int, escape: saddle.Escape,
                 first: int = FIRST_HORIZON, key: jax.Array | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``run.escape_step`` of one ``saddle.descend`` of ``steps`` steps, computed as a run of
    ``first`` steps from every start and a run of ``steps`` steps from the starts still
    inside. Exact for random optimizers too: each start keeps its own key (one per start,
    from ``key``) in both runs. Two horizons only: each
    one costs a compilation (~0.5 s), as much as ~10⁶–10⁷ start-steps.
    Returns (escape_step [n], diverged before escaping [n])."""
    n = len(x0)
    out = np.full(n, -1, dtype=np.int64)
    div = np.zeros(n, dtype=bool)
    idx = np.arange(n)
    keys = jax.random.split(jax.random.PRNGKey(0) if key is None else key, n)
    for horizon in sorted({min(first, steps), steps}):
        m = idx.size
        # Pad a small re-run to a power of two, so that saddles of one objective can share
        # the program; a large one runs as it is.
        size = m if m > n // 8 else min(n, max(64, 1 << (m - 1).bit_length()))
        padded = np.concatenate([idx, np.full(size - m, idx[0])])
        run = saddle.descend(fn, x0[padded], opt, horizon, escape=escape, key=keys[padded])
        out[idx] = run.escape_step[:m]
        div[idx] = (run.diverged & (run.escape_step < 0))[:m]
        idx = np.flatnonzero((out < 0) & ~div)
        if idx.size == 0:
            break
    return out, div


def sphere_starts(key: jax.Array, n: int, center: np.ndarray, eps: float) -> np.ndarray:
    u = jax.random.normal(key, (n, center.size))
    u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
    return np.asarray(jnp.asarray(center, jnp.float32) + eps * u, dtype=np.float32)


def measure_site(cfg: Config, site: Site, fn, key: jax.Array) -> dict[str, np.ndarray]:
    """The saddle's geometry and the starts around it."""
    geo = geometry(fn, np.asarray(site.center), cfg.radius, jax.random.fold_in(key, 0))
    x0 = sphere_starts(jax.random.fold_in(key, 1), cfg.n_starts, geo["center"], cfg.eps)
    proj = np.abs((x0.astype(np.float64) - geo["center"]) @ geo["direction"]) / cfg.eps
    return {**geo, "x0": x0, "proj": proj}


def measure_block(cfg: Config, geo: dict, fn, opt, key: jax.Array) -> dict:
    """Escape steps of one optimizer from one saddle's starts."""
    esc = saddle.Escape(center=geo["center"], radius=cfg.radius,
                        loss_drop=cfg.loss_drop * float(geo["D"]))
    e, div = escape_steps(fn, geo["x0"], opt, cfg.steps, esc, key=key)
    return {"escape_step": e, "diverged": div}


def measure_chain(cfg: Config, d: int, key: jax.Array) -> dict[str, np.ndarray]:
    """GD (float64 and float32) and perturbed GD through ``chained_saddle`` in dim d."""
    k_x0, k_run = jax.random.split(key)
    x0 = np.asarray(jax.random.uniform(k_x0, (cfg.chain_starts, d), minval=-cfg.chain_init,
                                       maxval=cfg.chain_init), dtype=np.float64)
    esc = saddle.Escape(center=np.zeros(d), loss_drop=(d - 0.5) / 4)
    out = {}
    # GD's time grows ×~2 per saddle, so one run of chain_steps costs less than the
    # compilations of a ladder of horizons; perturbed GD is done in ~90 steps per saddle.
    fn = saddle.objectives.get("chained_saddle", dim=d).fn
    gd = optimizers.make("gd", cfg.chain_lr)
    with float64():
        out["gd"], out["gd_diverged"] = escape_steps(fn, x0, gd, cfg.chain_steps, esc,
                                                     first=cfg.chain_steps)
        pgd = optimizers.make("perturbed_gd", cfg.chain_lr, **CHAIN_PGD)
        out["perturbed_gd"], out["perturbed_gd_diverged"] = escape_steps(
            fn, x0, pgd, cfg.chain_steps, esc, first=128 * d, key=k_run)
    out["gd_float32"], _ = escape_steps(fn, x0.astype(np.float32), gd, cfg.chain_steps, esc,
                                        first=cfg.chain_steps)
    return out


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    data: dict[str, np.ndarray] = {}
    table = sites(cfg)
    data["sites"] = np.array([s.label for s in table], dtype=str)
    # One objective (one fn) per family, so that saddles of one objective share programs.
    fns = {}
    for site in table:
        fns.setdefault(site.objective, site.get().fn)
    geos = {}
    for i, site in enumerate(table):
        key = jax.random.fold_in(jax.random.fold_in(root, 1), i)
        geos[site.label] = ctx.stage(
            f"{site.label}__geometry",
            lambda site=site, key=key: measure_site(cfg, site, fns[site.objective], key))
    # One learning rate per objective: from the largest curvature near any of its saddles.
    scale = {}
    for site in table:
        scale[site.objective] = max(scale.get(site.objective, 0.0), float(geos[site.label]["L"]))
    for site in table:
        geo = geos[site.label]
        data |= {f"{site.label}__{k}": v for k, v in geo.items() if k not in ("x0", "L")}
        data[f"{site.label}__L_local"] = geo["L"]
        data[f"{site.label}__L"] = np.float64(scale[site.objective])
    opts = {(obj, name): make_optimizer(name, cfg, fns[obj], scale[obj])
            for obj in fns for name in cfg.optimizers}
    blocks = [(i, s, j, name) for i, s in enumerate(table) for j, name in enumerate(cfg.optimizers)]
    for i, site, j, name in ctx.progress(blocks, desc="saddle × optimizer"):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(root, 2), i), j)
        part = ctx.stage(f"{site.label}__{name}", lambda site=site, name=name, key=key:
                         measure_block(cfg, geos[site.label], fns[site.objective],
                                       opts[site.objective, name], key))
        data |= {f"{site.label}__{name}__{k}": v for k, v in part.items()}
    data["chain_dims"] = np.asarray(cfg.chain_dims, dtype=np.int64)
    for d in ctx.progress(cfg.chain_dims, desc="chained saddles"):
        key = jax.random.fold_in(jax.random.fold_in(root, 3), d)
        part = ctx.stage(f"chain_d{d}", lambda d=d, key=key: measure_chain(cfg, d, key))
        data |= {f"chain_d{d}__{k}": v for k, v in part.items()}
    return data


# ----------------------------------------------------------------------------- summary
def _stats(e: np.ndarray, steps: int, div: np.ndarray | None = None) -> dict:
    n = len(e)
    never = int(np.sum(e < 0))
    med, lo, hi = median_ci(censored(e, steps))
    never_lo, never_hi = (float(v) for v in saddle.wilson_interval(never, n))
    out = {"median": med, "ci_low": lo, "ci_high": hi,
           "median_censored": bool(med >= steps), "ci_high_censored": bool(hi >= steps),
           "q25": float(np.percentile(censored(e, steps), 25)),
           "q75": float(np.percentile(censored(e, steps), 75)),
           "never_fraction": never / n, "never_ci": [float(never_lo), float(never_hi)],
           "n": n}
    if div is not None:
        out["diverged_before_escape_fraction"] = float(np.mean(div))
    return out


def gd_theory(cfg: Config, data: dict, label: str) -> dict:
    lam = data[f"{label}__eigenvalues"]
    scale = float(data[f"{label}__L"])
    eta = cfg.lr_scale / scale
    d = lam.size
    lam_min = float(lam[0])
    out: dict = {"lam_min": lam_min, "L": scale, "lr": eta}
    tol = 1e-3 * (1 + np.abs(lam).max())
    if lam_min >= -tol:  # degenerate: no linear theory
        out |= {"linear_estimate": None, "start_corrected_estimate": None}
        if label == "monkey_saddle":
            out["valley_estimate"] = (1 / cfg.eps - 1 / cfg.radius) / (3 * eta)
        return out
    m_d = sphere_median_abs(d)
    out |= {"linear_estimate": gd_linear_estimate(lam_min, eta, cfg.eps, cfg.radius),
            "start_corrected_estimate": gd_linear_estimate(lam_min, eta, cfg.eps * m_d,
                                                           cfg.radius),
            "median_abs_projection": m_d}
    a = eta * abs(lam_min)
    for name, nest in (("momentum", False), ("nesterov", True)):
        rho = momentum_growth(a, MOMENTUM, nest)
        out[f"{name}_asymptotic_estimate"] = math.log(cfg.radius / (cfg.eps * m_d)) / math.log(rho)
    if label == "quadratic_saddle":
        t = np.arange(cfg.steps + 1)
        cdf = exact_quadratic_cdf(t, eta, cfg.eps, cfg.radius, cfg.loss_drop)
        out["exact_median"] = int(np.searchsorted(cdf, 0.5))
        if f"{label}__gd__escape_step" in data:
            e = censored(data[f"{label}__gd__escape_step"], cfg.steps + 1)
            ecdf = np.searchsorted(np.sort(e), t, side="right") / e.size
            out["ks_distance_to_exact"] = float(np.max(np.abs(ecdf - cdf)))
            out["ks_1pct_threshold"] = 1.63 / math.sqrt(e.size)
    return out


def summarize(cfg: Config, data: dict) -> dict:
    out: dict = {"n_starts": cfg.n_starts, "eps": cfg.eps, "radius": cfg.radius,
                 "steps": cfg.steps, "saddles": {}}
    for label in data["sites"]:
        label = str(label)
        scale = float(data[f"{label}__L"])
        entry = {"center": data[f"{label}__center"],
                 "eigenvalues": data[f"{label}__eigenvalues"],
                 "loss_drop_delta": cfg.loss_drop * float(data[f"{label}__D"]),
                 "gd_theory": gd_theory(cfg, data, label), "optimizers": {}}
        for name in cfg.optimizers:
            e = data[f"{label}__{name}__escape_step"]
            s = _stats(e, cfg.steps, data[f"{label}__{name}__diverged"])
            entry["optimizers"][name] = {"lr": lr_of(name, cfg, scale), **s}
        out["saddles"][label] = entry
    if len(data.get("chain_dims", [])):
        out["chain"] = chain_summary(cfg, data)
    return out


def chain_summary(cfg: Config, data: dict) -> dict:
    dims = [int(d) for d in data["chain_dims"]]
    eta = cfg.chain_lr
    kappa = -math.log1p(-eta) / math.log1p(eta)  # L = γ = 1
    rows = {}
    for d in dims:  # string keys, as in summary.json
        rows[str(d)] = {name: _stats(data[f"chain_d{d}__{name}"], cfg.chain_steps)
                        for name in ("gd", "perturbed_gd", "gd_float32")}
    out: dict = {"dims": dims, "lr": eta, "predicted_growth_per_saddle": 1 + kappa,
                 "per_dim": rows}
    ok = [d for d in dims if not rows[str(d)]["gd"]["median_censored"]]
    if len(ok) >= 2:
        slope = np.polyfit(ok, np.log([rows[str(d)]["gd"]["median"] for d in ok]), 1)[0]
        out["gd_fitted_growth_per_saddle"] = float(np.exp(slope))
    ok = [d for d in dims if not rows[str(d)]["perturbed_gd"]["median_censored"]]
    if len(ok) >= 2:
        slope = np.polyfit(ok, [rows[str(d)]["perturbed_gd"]["median"] for d in ok], 1)[0]
        out["perturbed_gd_fitted_steps_per_saddle"] = float(slope)
    return out


# ----------------------------------------------------------------------------- figures
COLORS = {"gd": "#000000", "momentum": "#1f77b4", "nesterov": "#17becf", "adam": "#d62728",
          "perturbed_gd": "#2ca02c", "noisy_gd": "#bcbd22", "saddle_free_newton": "#9467bd"}
SHORT = {"gd": "GD", "momentum": "momentum", "nesterov": "Nesterov", "adam": "Adam",
         "perturbed_gd": "perturbed GD", "noisy_gd": "noisy GD",
         "saddle_free_newton": "saddle-free Newton"}


def _title(cfg: Config, data: dict, label: str) -> str:
    if label.startswith("himmelblau"):
        c = data[f"{label}__center"]
        return f"Himmelblau saddle ({c[0]:.2f}, {c[1]:.2f})"
    if label == "strict_saddle":
        return f"strict saddle, d={cfg.strict_dim}, γ={cfg.strict_gamma:g}"
    return {"quadratic_saddle": "x² − y²", "monkey_saddle": "monkey saddle x³ − 3xy²"}[label]


def plot(cfg: Config, data: dict) -> dict:
    figs = {}
    labels = [str(s) for s in data["sites"]]
    if labels:
        figs["escape_times"] = _plot_ecdfs(cfg, data, labels)
        figs["escape_medians"] = _plot_medians(cfg, data, labels)
        if "gd" in cfg.optimizers:
            figs["gd_theory"] = _plot_theory(cfg, data, labels)
    if len(data.get("chain_dims", [])):
        figs["chained_saddles"] = _plot_chain(cfg, data)
    return figs


def _plot_ecdfs(cfg: Config, data: dict, labels: list[str]):
    ncols = 4
    nrows = -(-(len(labels) + 1) // ncols)  # one slot for the legend
    fig, axes = splot.figure(nrows, ncols, width=13, height=2.9 * nrows + 0.5, squeeze=False)
    for ax in axes.ravel()[len(labels):]:
        ax.set_visible(False)
    handles = {}
    for ax, label in zip(axes.ravel(), labels, strict=False):
        th = gd_theory(cfg, data, label)
        hi = 1.0
        notes = []
        for name in cfg.optimizers:
            e = data[f"{label}__{name}__escape_step"]
            s = np.sort(e[e >= 0])
            never = np.mean(e < 0)
            hi = max(hi, s[-1] if s.size else 1, cfg.steps if never else 1)
            (h,) = ax.step(np.concatenate([[0.5], s]), np.arange(s.size + 1) / e.size,
                           where="post", color=COLORS[name], lw=1.3)
            handles[SHORT[name]] = h
            if never >= 0.0005:
                notes.append((f"{SHORT[name]}: {never:.1%} never", COLORS[name]))
        if "gd" in cfg.optimizers:
            if th.get("linear_estimate"):
                handles["GD: log(r/ε)/log(1+η|λ_min|)"] = ax.axvline(
                    th["linear_estimate"], color="k", ls=":", lw=1)
                handles["GD theory for the median start"] = ax.axvline(
                    th["start_corrected_estimate"], color="k", ls="--", lw=1)
            if th.get("valley_estimate"):
                handles["GD theory, start in a valley"] = ax.axvline(
                    th["valley_estimate"], color="k", ls="-.", lw=1)
        for k, (text, color) in enumerate(notes):
            ax.text(0.03, 0.95 - 0.08 * k, text, transform=ax.transAxes, fontsize=7,
                    color=color, va="top")
        if hi >= cfg.steps:
            handles[f"step budget ({cfg.steps})"] = ax.axvline(cfg.steps, color="grey", lw=0.8)
        ax.set(xscale="log", ylim=(0, 1.02), xlim=(0.8, 1.6 * hi),
               title=_title(cfg, data, label), xlabel="escape step",
               ylabel="fraction escaped")
    slot = axes.ravel()[len(labels)]
    slot.set_visible(True)
    slot.axis("off")
    slot.legend(list(handles.values()), list(handles.keys()), loc="center", fontsize=8,
                frameon=False)
    fig.suptitle(f"Escape-time distributions: {cfg.n_starts} starts uniform on the sphere of "
                 f"radius ε={cfg.eps:g} around each saddle; escape = leave the ball of radius "
                 f"r={cfg.radius:g}", fontsize=10)
    return fig


def _plot_medians(cfg: Config, data: dict, labels: list[str]):
    fig, ax = splot.figure(1, 1, width=10, height=4.2)
    k = len(cfg.optimizers)
    width = 0.8 / k
    lowest = []
    for j, name in enumerate(cfg.optimizers):
        xs, med, lo, hi, cens = [], [], [], [], []
        for i, label in enumerate(labels):
            s = _stats(data[f"{label}__{name}__escape_step"], cfg.steps)
            xs.append(i + (j - (k - 1) / 2) * width)
            med.append(s["median"])
            lo.append(s["median"] - s["ci_low"])
            hi.append(s["ci_high"] - s["median"])
            cens.append(s["median_censored"])
            lowest.append(max(s["ci_low"], 1.0))
        med = np.asarray(med)
        ax.errorbar(xs, med, yerr=[lo, hi], fmt="o", ms=4, color=COLORS[name], capsize=2,
                    label=SHORT[name], lw=1)
        cens = np.asarray(cens)
        if cens.any():
            ax.plot(np.asarray(xs)[cens], med[cens], "^", ms=8, mfc="none", color=COLORS[name])
    if "gd" in cfg.optimizers:
        for i, label in enumerate(labels):
            th = gd_theory(cfg, data, label)
            est = th.get("start_corrected_estimate") or th.get("valley_estimate")
            if est:
                ax.hlines(est, i - 0.45, i + 0.45, color="k", ls="--", lw=0.8,
                          label="GD theory: median start (monkey: valley start)"
                          if i == 0 else None)
    ax.axhline(cfg.steps, color="grey", lw=0.8, label=f"step budget ({cfg.steps})")
    ax.set_xticks(range(len(labels)), [_title(cfg, data, s) for s in labels], rotation=20,
                  ha="right")
    ax.set(yscale="log", ylabel="median escape step (95% CI)",
           title=f"Median escape step per optimizer and saddle (ε={cfg.eps:g}, r={cfg.radius:g};"
                 f" ▵: median censored at {cfg.steps})")
    ax.set_ylim(0.6 * min(lowest), 8 * cfg.steps)
    ax.legend(ncols=4, fontsize=7, loc="upper left")
    return fig


def _plot_theory(cfg: Config, data: dict, labels: list[str]):
    fig, axes = splot.figure(1, 3, width=13, height=3.8)
    # (a) x² − y²: measured GD CDF against the exact one
    ax = axes[0]
    if "quadratic_saddle" in labels:
        th = gd_theory(cfg, data, "quadratic_saddle")
        e = censored(data["quadratic_saddle__gd__escape_step"], cfg.steps + 1)
        t = np.arange(0, int(np.percentile(e, 99.5)) + 10)
        ecdf = np.searchsorted(np.sort(e), t, side="right") / e.size
        cdf = exact_quadratic_cdf(t, th["lr"], cfg.eps, cfg.radius, cfg.loss_drop)
        ax.step(t, ecdf, where="post", color="k", lw=1.5, label=f"GD, measured (n={e.size})")
        ax.plot(t, cdf, "o", ms=2.5, color="#d95f02", label="exact P(T ≤ t)")
        ax.axvline(th["linear_estimate"], color="k", ls=":", lw=1, label="log(r/ε)/log(1+2η)")
        ax.axvline(th["exact_median"], color="#d95f02", ls="--", lw=1,
                   label=f"exact median {th['exact_median']}")
        ax.set(xlim=(max(0, th["linear_estimate"] - 10), t[-1]), xlabel="escape step t",
               ylabel="P(T ≤ t)",
               title=f"(a) x² − y², GD η={th['lr']:.3g}: KS = {th['ks_distance_to_exact']:.4f}")
        ax.legend(fontsize=7, loc="lower right")
    # (b) GD escape step against the start's component along the escape direction
    ax = axes[1]
    for label in labels:
        th = gd_theory(cfg, data, label)
        if not th.get("linear_estimate"):
            continue
        e = data[f"{label}__gd__escape_step"]
        p = data[f"{label}__proj"]
        sel = (e >= 0) & (np.arange(e.size) < 2000)
        line = ax.plot(1 / p[sel], e[sel], ".", ms=2.5, alpha=0.5,
                       label=_title(cfg, data, label))[0]
        q = np.geomspace(1, max(1 / p[sel].min(), 2), 50)
        ax.plot(q, [gd_linear_estimate(th["lam_min"], th["lr"], cfg.eps / qq, cfg.radius)
                    for qq in q], color=line.get_color(), lw=0.9, ls="--")
    ax.set(xscale="log", yscale="log", xlabel="1/|⟨u, v⟩| (start's share along the escape "
                                               "direction)", ylabel="GD escape step",
           title="(b) GD per start (dots) vs log(r/(ε|⟨u,v⟩|))/log(1+η|λ|) (dashed)")
    ax.legend(fontsize=6, loc="lower right", markerscale=3)
    # (c) measured GD median vs estimates
    ax = axes[2]
    xs, meds, lins, cors, names = [], [], [], [], []
    for label in labels:
        th = gd_theory(cfg, data, label)
        if not th.get("linear_estimate"):
            continue
        s = _stats(data[f"{label}__gd__escape_step"], cfg.steps)
        xs.append(len(xs))
        meds.append((s["median"], s["ci_low"], s["ci_high"]))
        lins.append(th["linear_estimate"])
        cors.append(th["start_corrected_estimate"])
        names.append(_title(cfg, data, label))
    if meds:
        m = np.asarray(meds)
        xs = np.asarray(xs, dtype=float)
        ax.errorbar(xs, m[:, 0], yerr=[m[:, 0] - m[:, 1], m[:, 2] - m[:, 0]], fmt="o", color="k",
                    capsize=3, ms=5, label="measured median (95% CI)")
        ax.plot(xs - 0.2, lins, "x", color="#1f77b4", ms=7, mew=1.5,
                label="log(r/ε)/log(1+η|λ_min|)")
        ax.plot(xs + 0.2, cors, "+", color="#d95f02", ms=10, mew=1.5,
                label="same for the median start (ε·m_d)")
        ax.set_xticks(xs, names, rotation=20, ha="right", fontsize=7)
        ax.set(yscale="log", ylabel="GD escape step", title="(c) GD median vs linear theory")
        ax.legend(fontsize=7)
    return fig


def _plot_chain(cfg: Config, data: dict):
    s = chain_summary(cfg, data)
    dims = np.asarray(s["dims"])
    fig, axes = splot.figure(1, 2, width=10, height=3.8)
    ax = axes[0]
    styles = {"gd": ("GD (float64)", "k", "o"), "perturbed_gd": ("perturbed GD", "#2ca02c", "s")}
    for name, (lab, color, marker) in styles.items():
        rows = [s["per_dim"][str(d)][name] for d in s["dims"]]
        med = np.array([r["median"] for r in rows])
        lo = np.array([r["ci_low"] for r in rows])
        hi = np.array([r["ci_high"] for r in rows])
        q25 = np.array([r["q25"] for r in rows])
        q75 = np.array([r["q75"] for r in rows])
        ax.fill_between(dims, q25, q75, color=color, alpha=0.15, lw=0)
        ax.errorbar(dims, med, yerr=[med - lo, hi - med], fmt=marker + "-", color=color,
                    label=f"{lab}: median, 95% CI; band: quartiles", ms=4, capsize=2)
        cens = np.array([r["median_censored"] for r in rows])
        if cens.any():
            ax.plot(dims[cens], med[cens], "^", ms=9, mfc="none", color=color)
    ok = [s["per_dim"][str(d)]["gd"]["median"] for d in s["dims"]]
    d0 = dims[0]
    g = s["predicted_growth_per_saddle"]
    ax.plot(dims, ok[0] * g ** (dims - d0), ":", color="grey",
            label=f"×(1+κ) = ×{g:.2f} per saddle (theory)")
    ax.axhline(cfg.chain_steps, color="grey", lw=0.8, label=f"step budget ({cfg.chain_steps})")
    fit = s.get("gd_fitted_growth_per_saddle")
    ax.set_xticks(dims)
    ax.set(yscale="log", xlabel="d (saddles in the chain)", ylabel="steps to pass all saddles",
           title=f"(a) chained saddles, η={cfg.chain_lr:g}"
                 + (f": GD ×{fit:.2f}/saddle" if fit else ""))
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[1]
    for name, lab, color in (("gd", "GD float64", "k"), ("gd_float32", "GD float32", "#d62728"),
                             ("perturbed_gd", "perturbed GD", "#2ca02c")):
        never = np.array([s["per_dim"][str(d)][name]["never_fraction"] for d in s["dims"]])
        ax.plot(dims, never, "o-", color=color, label=lab, ms=4)
    ax.set_xticks(dims)
    ax.set(xlabel="d", ylabel=f"share not past all saddles after {cfg.chain_steps} steps",
           ylim=(-0.03, 1.03), title="(b) never past all saddles: the waiting coordinate "
                                     "underflows to 0")
    ax.legend(fontsize=7)
    return fig


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
