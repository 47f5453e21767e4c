"""Escaping saddles: the escape direction, a saddle's neighbourhood, escape times of a batch of
runs, and the linear laws.

Near a strict saddle c with Hessian eigenvalue λ_min < 0 along the unit vector v, GD
with step η multiplies the component of x − c along v by (1 + η|λ_min|) per step, so a
start at distance ε whose component along v is ε·|⟨u, v⟩| leaves the ball of radius r
after about log(r/(ε|⟨u, v⟩|))/log(1 + η|λ_min|) steps (``gd_linear_estimate``). For a
start uniform on the sphere, |⟨u, v⟩| has median ``sphere_median_abs(d)``; on x² − y²
the whole distribution of the escape time is known (``exact_quadratic_cdf``); heavy ball
and Nesterov grow by the largest root of their recursion (``momentum_growth``); at the
monkey saddle (H = 0) the time grows like 1/ε (``cubic_valley_estimate``).
``escape_estimates`` gathers these for one saddle. Through a chain of saddles GD's time
grows by the factor ``chain_growth`` per saddle (Du et al. 2017).

References:
    S. S. Du, C. Jin, J. D. Lee, M. I. Jordan, B. Póczos, A. Singh, "Gradient descent can
    take exponential time to escape saddle points", NeurIPS 2017.
    C. Jin, R. Ge, P. Netrapalli, S. M. Kakade, M. I. Jordan, "How to escape saddle points
    efficiently", ICML 2017.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.stats

from saddle._checks import as_batch, as_point, positive_float, positive_int
from saddle.curvature import default_eig_tol, eigenvalues, hessian
from saddle.descent import Escape, descend
from saddle.objectives.core import Objective
from saddle.starts import sphere

Fn = Callable[[jax.Array], jax.Array]

__all__ = ["EscapeDirection", "EscapeTimes", "SaddleGeometry", "chain_growth",
           "cubic_valley_estimate", "escape_direction", "escape_estimates", "escape_times",
           "exact_quadratic_cdf", "exact_quadratic_median", "gd_linear_estimate",
           "momentum_growth", "saddle_geometry", "sphere_median_abs", "sphere_starts"]


# ----------------------------------------------------------------------------- direction
@dataclasses.dataclass(frozen=True)
class EscapeDirection:
    """The most negative curvature direction at a point.

    vector ``[d]``: unit eigenvector of the smallest Hessian eigenvalue (zeros when none is
    negative). eigenvalue: that eigenvalue λ_min. exists: λ_min < −tol, i.e. a small step
    ±ε·vector lowers f by ≈ ½|λ_min|ε² (second order; the sign of the step is free).
    """

    vector: np.ndarray
    eigenvalue: float
    exists: bool


def escape_direction(f: Fn | Objective, x: Any, *, eig_tol: float | None = None) -> EscapeDirection:
    """Direction of most negative curvature at ``x`` ``[d]`` (Li Hongyi's lecture: at a
    saddle, step along the eigenvector u of λ_min < 0: f(x + εu) ≈ f(x) + ½λ_min ε²).

    At a point whose Hessian has no eigenvalue below ``−eig_tol·(1 + max|λ|)`` (a minimum,
    or a degenerate point) ``exists`` is False and ``vector`` is zero: the Hessian shows
    no descent direction.

    >>> import saddle
    >>> v = saddle.escape_direction(saddle.objectives.get("quadratic_saddle"), [0.0, 0.0])
    >>> v.exists, abs(v.vector.round(6)).tolist(), v.eigenvalue
    (True, [0.0, 1.0], -2.0)
    """
    fn = f.fn if isinstance(f, Objective) else f
    dim = f.dim if isinstance(f, Objective) else None
    point = as_point(x, "x", dim)
    tol = default_eig_tol(point.dtype) if eig_tol is None else positive_float(eig_tol, "eig_tol")
    h = hessian(fn, point[None])[0]
    eigs, vecs = (np.asarray(a) for a in jnp.linalg.eigh(h))
    lam = float(eigs[0])
    exists = bool(lam < -tol * (1 + np.abs(eigs).max()))
    vec = vecs[:, 0] if exists else np.zeros_like(vecs[:, 0])
    return EscapeDirection(vector=vec, eigenvalue=lam, exists=exists)


@dataclasses.dataclass(frozen=True)
class SaddleGeometry:
    """The neighbourhood of a saddle c: ``eigenvalues`` ``[d]`` (ascending) of the Hessian
    at c and ``direction`` ``[d]``, the eigenvector of the smallest; ``curvature_scale`` L,
    the largest |Hessian eigenvalue| at c and at the sample points on the spheres of radius
    r/2 and r; ``depth`` D = f(c) − min f over the sample points on the sphere r and
    c ± r·direction."""

    center: np.ndarray
    eigenvalues: np.ndarray
    direction: np.ndarray
    curvature_scale: float
    depth: float


def saddle_geometry(f: Fn | Objective, center: Any, radius: float, *,
                    key: jax.Array | None = None) -> SaddleGeometry:
    """``SaddleGeometry`` of ``f`` around ``center`` ``[d]`` within ``radius``, in float32.

    Sample points: for d = 2, 2048 equally spaced on the circle; otherwise 512 uniform on
    the sphere (``saddle.starts.sphere`` with ``key``, default ``PRNGKey(0)``), scaled to
    radius r and r/2. L sets a learning rate for the ball (ηL < 2), D a loss-drop escape
    criterion that no point inside the ball meets.
    """
    fn = f.fn if isinstance(f, Objective) else f
    as_point(center, "center", f.dim if isinstance(f, Objective) else None)
    c64 = np.asarray(center, dtype=np.float64)
    radius = positive_float(radius, "radius")
    d = c64.size
    c = jnp.asarray(center, jnp.float32)
    lam, vecs = np.linalg.eigh(np.asarray(hessian(fn, c[None])[0], dtype=np.float64))
    if d == 2:
        phi = jnp.linspace(0, 2 * jnp.pi, 2048, endpoint=False)
        u = jnp.stack([jnp.cos(phi), jnp.sin(phi)], 1)
    else:
        u = sphere(jax.random.PRNGKey(0) if key is None else key, 512, np.zeros(d), 1.0)
    ball = jnp.concatenate([c + radius * u, c + 0.5 * radius * u])
    h_eigs = np.asarray(eigenvalues(fn, ball))
    v = jnp.asarray(vecs[:, 0], jnp.float32)
    pts = jnp.concatenate([c + radius * u, (c + radius * v)[None], (c - radius * v)[None]])
    return SaddleGeometry(center=c64, eigenvalues=lam, direction=vecs[:, 0],
                          curvature_scale=float(max(np.abs(lam).max(), np.abs(h_eigs).max())),
                          depth=float(fn(c) - jnp.min(jax.vmap(fn)(pts))))


def sphere_starts(key: jax.Array, n: int, geometry: SaddleGeometry,
                  eps: float) -> tuple[np.ndarray, np.ndarray]:
    """``n`` starts uniform on the sphere of radius ε around the saddle of ``geometry``
    (``saddle.starts.sphere``), ``[n, d]`` float32, and each start's share along the escape
    direction, |⟨x0 − c, v⟩|/ε ``[n]`` (median ``sphere_median_abs(d)``)."""
    n = positive_int(n, "n")
    eps = positive_float(eps, "eps")
    x0 = np.asarray(sphere(key, n, geometry.center, eps), dtype=np.float32)
    share = np.abs((x0.astype(np.float64) - geometry.center) @ geometry.direction) / eps
    return x0, share


# ----------------------------------------------------------------------------- times
@dataclasses.dataclass(frozen=True)
class EscapeTimes:
    """Per start ``[n]``: ``escape_step`` (first step outside the escape region, −1 = not
    within ``steps``) and ``diverged`` (the run diverged before it escaped)."""

    escape_step: np.ndarray
    diverged: np.ndarray
    steps: int


def escape_times(f: Fn | Objective, x0: Any, optimizer: optax.GradientTransformation,
                 steps: int, escape: Escape, *, first: int = 256,
                 key: jax.Array | None = None) -> EscapeTimes:
    """``run.escape_step`` of one ``saddle.descend(f, x0, optimizer, steps, escape=escape)``
    from the starts ``x0`` ``[n, d]``, computed in two horizons.

    A run of ``min(first, steps)`` steps from every start, then a run of ``steps`` steps
    from the starts that have neither escaped nor diverged. Identical to the single long
    run, also for random optimizers: start ``i`` uses key ``split(key, n)[i]`` (default
    ``key = PRNGKey(0)``) in both runs, so its noise does not depend on which starts run
    beside it. Small re-runs are padded to a power of two (≥ 64) so that re-runs of
    different sizes share a compiled program.
    """
    as_batch(x0, "x0", f.dim if isinstance(f, Objective) else None)
    x0 = np.asarray(x0)
    steps = positive_int(steps, "steps")
    first = positive_int(first, "first")
    if not isinstance(escape, Escape):
        raise TypeError(f"escape must be a saddle.Escape, got {type(escape).__name__}")
    n = len(x0)
    out = np.full(n, -1, dtype=np.int64)
    div = np.zeros(n, dtype=bool)
    idx = np.arange(n)
    keys = jax.random.split(jax.random.PRNGKey(0) if key is None else key, n)
    for horizon in sorted({min(first, steps), steps}):
        m = idx.size
        size = m if m > n // 8 else min(n, max(64, 1 << (m - 1).bit_length()))
        padded = np.concatenate([idx, np.full(size - m, idx[0])])
        run = descend(f, x0[padded], optimizer, horizon, escape=escape, key=keys[padded])
        out[idx] = run.escape_step[:m]
        div[idx] = (run.diverged & (run.escape_step < 0))[:m]
        idx = np.flatnonzero((out < 0) & ~div)
        if idx.size == 0:
            break
    return EscapeTimes(escape_step=out, diverged=div, steps=steps)


# ----------------------------------------------------------------------------- linear laws
def gd_linear_estimate(lam_min: float, lr: float, eps: float, radius: float) -> float:
    """log(r/ε)/log(1 + η|λ_min|): steps for GD's component along the escape direction to
    grow from ε to r (a start on the escape direction; a real number of steps)."""
    if not (math.isfinite(lam_min) and lam_min < 0):
        raise ValueError(f"lam_min must be a finite number < 0, got {lam_min!r}")
    lr, eps, radius = (positive_float(v, k) for v, k in ((lr, "lr"), (eps, "eps"),
                                                          (radius, "radius")))
    return math.log(radius / eps) / math.log1p(lr * abs(lam_min))


def sphere_median_abs(d: int) -> float:
    """Median of |u₁| for u uniform on the unit sphere in ℝ^d (d ≥ 2).

    u₁² ~ Beta(½, (d − 1)/2) (a ratio of χ² variables), so the median is
    √(Beta median) (``scipy.stats.beta``): 1/√2 for d = 2, ½ for d = 3.
    """
    d = positive_int(d, "d", minimum=2)
    return math.sqrt(float(scipy.stats.beta.median(0.5, (d - 1) / 2)))


def exact_quadratic_cdf(t: Any, lr: float, eps: float, radius: float,
                        loss_drop: float = 1.0) -> np.ndarray:
    """P(T ≤ t) for GD with step η on f = x² − y² from a start uniform on the circle of
    radius ε; T = first step with ‖x_t‖ > r or f(x_t) < −loss_drop·r².

    From (ε cos θ, ε sin θ): x_t = ε cos θ·a^t, y_t = ε sin θ·b^t (a = 1 − 2η, b = 1 + 2η),
    and T ≤ t iff cos²θ·a^{2t} + sin²θ·b^{2t} > R² or sin²θ·b^{2t} − cos²θ·a^{2t} > ℓR²
    (R = r/ε, ℓ = loss_drop; the first is convex in t, the second increasing), so
    P(T ≤ t) = 1 − (2/π)·arcsin √u_t with u_t = min((R² − a^{2t})/(b^{2t} − a^{2t}),
    (ℓR² + a^{2t})/(b^{2t} + a^{2t})) clipped to [0, 1]. Shape of ``t``.
    """
    lr, eps, radius, loss_drop = (positive_float(v, k) for v, k in (
        (lr, "lr"), (eps, "eps"), (radius, "radius"), (loss_drop, "loss_drop")))
    if eps >= radius:
        raise ValueError(f"eps must be < radius, got eps={eps}, radius={radius}")
    t = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(t) | (t < 0)):
        raise ValueError("t must be finite numbers of steps >= 0")
    with np.errstate(over="ignore"):
        a2, b2 = (1 - 2 * lr) ** (2 * t), (1 + 2 * lr) ** (2 * t)
    r2 = (radius / eps) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        u_ball = np.where(t > 0, (r2 - a2) / (b2 - a2), np.inf)
        u_loss = (loss_drop * r2 + a2) / (b2 + a2)
    u = np.clip(np.minimum(u_ball, u_loss), 0.0, 1.0)
    return 1 - 2 / np.pi * np.arcsin(np.sqrt(u))


def momentum_growth(a: float, beta: float, nesterov: bool) -> float:
    """Per-step growth factor of heavy ball (optax ``trace``) or Nesterov along a direction
    of curvature −a/η (a = η|λ| > 0): the largest root of ρ² − (1 + β + a)ρ + β (heavy
    ball) or ρ² − (1 + β)(1 + a)ρ + β(1 + a) (Nesterov), the spectral radius of the
    two-step recursion for the component along that direction."""
    a = positive_float(a, "a")
    if not (isinstance(beta, int | float) and 0 <= beta < 1):
        raise ValueError(f"beta must be a number in [0, 1), got {beta!r}")
    if nesterov:
        b, c = (1 + beta) * (1 + a), beta * (1 + a)
    else:
        b, c = 1 + beta + a, beta
    return (b + math.sqrt(b * b - 4 * c)) / 2


def cubic_valley_estimate(lr: float, eps: float, radius: float) -> float:
    """(1/ε − 1/r)/(3η): GD's steps down a valley of the monkey saddle x³ − 3xy² from
    distance ε to r; along the valley ρ_{t+1} = ρ_t + 3ηρ_t², whose continuous limit
    dρ/dt = 3ηρ² integrates to this (it is exact as ηρ → 0)."""
    lr, eps, radius = (positive_float(v, k) for v, k in ((lr, "lr"), (eps, "eps"),
                                                          (radius, "radius")))
    if eps >= radius:
        raise ValueError(f"eps must be < radius, got eps={eps}, radius={radius}")
    return (1 / eps - 1 / radius) / (3 * lr)


def exact_quadratic_median(lr: float, eps: float, radius: float, loss_drop: float = 1.0) -> int:
    """The median escape step of GD on x² − y² from a start uniform on the circle of radius
    ε: the smallest whole t with ``exact_quadratic_cdf(t, ...)`` ≥ ½."""
    horizon = 64
    while exact_quadratic_cdf(horizon, lr, eps, radius, loss_drop) < 0.5:
        horizon *= 2
    cdf = exact_quadratic_cdf(np.arange(horizon + 1), lr, eps, radius, loss_drop)
    return int(np.searchsorted(cdf, 0.5))


def escape_estimates(eigenvalues: Any, lr: float, eps: float, radius: float,
                     momentum: float = 0.9, eig_tol: float = 1e-3) -> dict[str, float | None]:
    """The linear laws for a saddle with Hessian eigenvalues ``[d]``, step η = ``lr``, starts
    uniform on the sphere of radius ε, escape at radius r.

    Returns ``lam_min``; ``linear_estimate`` log(r/ε)/log(1 + η|λ_min|) (a start on the
    escape direction); ``start_corrected_estimate``, the same from ε·m_d with
    m_d = ``sphere_median_abs(d)`` (the median start; m_1 = 1);
    ``median_abs_projection`` m_d; ``momentum_asymptotic_estimate`` and
    ``nesterov_asymptotic_estimate`` log(r/(ε·m_d))/log ρ with ρ = ``momentum_growth``
    (β = ``momentum``). A degenerate saddle, λ_min ≥ −``eig_tol``·(1 + max|λ|), has no
    linear law: then only ``lam_min`` and the two GD estimates as ``None``.
    """
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64).ravel())
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        raise ValueError(f"eigenvalues must be finite numbers, at least one, got {eigenvalues!r}")
    lr, eps, radius, eig_tol = (positive_float(v, k) for v, k in (
        (lr, "lr"), (eps, "eps"), (radius, "radius"), (eig_tol, "eig_tol")))
    if eps >= radius:
        raise ValueError(f"eps must be < radius, got eps={eps}, radius={radius}")
    lam_min = float(lam[0])
    out: dict[str, float | None] = {"lam_min": lam_min, "linear_estimate": None,
                                    "start_corrected_estimate": None}
    if lam_min >= -eig_tol * (1 + np.abs(lam).max()):
        return out
    m_d = sphere_median_abs(lam.size) if lam.size > 1 else 1.0
    out |= {"linear_estimate": gd_linear_estimate(lam_min, lr, eps, radius),
            "start_corrected_estimate": gd_linear_estimate(lam_min, lr, eps * m_d, radius),
            "median_abs_projection": m_d}
    for name, nesterov in (("momentum", False), ("nesterov", True)):
        rho = momentum_growth(lr * abs(lam_min), momentum, nesterov)
        out[f"{name}_asymptotic_estimate"] = math.log(radius / (eps * m_d)) / math.log(rho)
    return out


def chain_growth(lr: float, gamma: float = 1.0, curvature: float = 1.0) -> float:
    """1 + κ, κ = −log(1 − ηL)/log(1 + ηγ): the factor by which GD's time to pass the
    saddles of ``saddle.objectives.get("chained_saddle", gamma=γ, curvature=L)`` grows per
    saddle (asymptotically in the number of saddles; derivation in its docstring).
    Requires ηL < 1."""
    lr, gamma, curvature = (positive_float(v, k) for v, k in (
        (lr, "lr"), (gamma, "gamma"), (curvature, "curvature")))
    if lr * curvature >= 1:
        raise ValueError(f"lr·curvature must be < 1, got lr={lr}, curvature={curvature}")
    return 1 - math.log1p(-lr * curvature) / math.log1p(lr * gamma)
