"""Critical points of every kind (minima, saddles, maxima), not only the minima optimizers find.

``find_critical_points`` draws starts in the objective's box, runs trust-region Newton
on ∇f = 0 from all of them in one vmapped program (Newton's step −H⁻¹∇f is attracted
to critical points of any index, unlike descent), keeps the points whose gradient
norm reached the tolerance, merges duplicates and classifies each with the Hessian.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from saddle import starts as starts_lib
from saddle._checks import as_point, positive_float, positive_int
from saddle.basins import cluster
from saddle.curvature import classify, default_eig_tol, hessian
from saddle.objectives.core import Objective

Fn = Callable[[jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class CriticalPoints:
    """Distinct critical points found (``m`` points in ``d`` dims), numpy arrays.

    x ``[m, d]``, value ``[m]``, index ``[m]`` (negative eigenvalues), kind ``[m]``,
    eigenvalues ``[m, d]``, grad_norm ``[m]``, hits ``[m]`` (starts that reached it).
    Sorted by kind (minima first), then value. ``unconverged`` ``[u, d]``: end points
    of starts whose gradient norm stayed above ``grad_tol`` (never mixed in);
    ``outside``: how many starts converged to a point outside the bounds.
    """

    x: np.ndarray
    value: np.ndarray
    index: np.ndarray
    kind: np.ndarray
    eigenvalues: np.ndarray
    grad_norm: np.ndarray
    hits: np.ndarray
    unconverged: np.ndarray
    outside: int
    grad_tol: float

    def __len__(self) -> int:
        return len(self.value)


@functools.lru_cache(maxsize=32)
def _newton_program(fn: Fn, steps: int, radius: float) -> Callable:
    grad, hess = jax.grad(fn), jax.hessian(fn)

    def step(x: jax.Array, _: None) -> tuple[jax.Array, None]:
        g, h = grad(x), hess(x)
        dx = jnp.linalg.solve(h, g)
        # A singular Hessian gives a non-finite step: fall back to the gradient direction.
        dx = jnp.where(jnp.all(jnp.isfinite(dx)), dx, g)
        norm = jnp.linalg.norm(dx)
        dx = dx * jnp.minimum(1.0, radius / jnp.maximum(norm, 1e-30))
        return jnp.where(jnp.all(jnp.isfinite(dx)), x - dx, x), None

    def one(x0: jax.Array) -> tuple[jax.Array, jax.Array]:
        x, _ = jax.lax.scan(step, x0, None, length=steps)
        return x, jnp.linalg.norm(grad(x))

    return jax.jit(jax.vmap(one))


def newton_solve(fn: Fn, x0: jax.Array, steps: int, radius: float) -> tuple[jax.Array, jax.Array]:
    """Trust-region Newton on ∇f = 0 from each row of ``x0`` ``[n, d]``.

    Step ``−H⁻¹∇f`` capped at length ``radius``. Returns end points ``[n, d]`` and
    their gradient norms ``[n]``.
    """
    return _newton_program(fn, steps, float(radius))(x0)


def find_critical_points(
    objective: Objective,
    *,
    key: jax.Array,
    n_starts: int = 1024,
    steps: int = 100,
    grad_tol: float | None = None,
    merge_tol: float = 1e-3,
) -> CriticalPoints:
    """Find the critical points of ``objective`` inside its bounds, of every index.

    Args:
      objective: an ``Objective`` (its ``bounds`` give the box for the starts).
      key: ``jax.random`` key for the starts.
      n_starts: number of uniform starts in the box.
      steps: Newton iterations (trust radius 1/20 of the box diagonal).
      grad_tol: ‖∇f‖ below which an end point counts as critical; default
        √ε·(1 + median ‖∇f‖ over the starts), ε of the working dtype.
      merge_tol: points closer than ``merge_tol`` × box diagonal are one point.

    Returns:
      ``CriticalPoints``, classified by ``saddle.classify``.
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a saddle.Objective, got {type(objective).__name__}")
    n_starts = positive_int(n_starts, "n_starts")
    steps = positive_int(steps, "steps")
    merge_tol = positive_float(merge_tol, "merge_tol")
    if grad_tol is not None:
        grad_tol = positive_float(grad_tol, "grad_tol")
    lo, hi = objective.lower, objective.upper
    diag = float(np.linalg.norm(hi - lo))
    x0 = starts_lib.uniform(key, n_starts, objective)
    x, gn = (np.asarray(a) for a in newton_solve(objective.fn, x0, steps, diag / 20))
    if grad_tol is None:
        g0 = np.linalg.norm(np.asarray(jax.vmap(jax.grad(objective.fn))(x0)), axis=1)
        eps = np.finfo(x.dtype).eps
        grad_tol = float(np.sqrt(eps) * (1 + np.median(g0[np.isfinite(g0)])))
    finite = np.all(np.isfinite(x), axis=1) & np.isfinite(gn)
    converged = finite & (gn <= grad_tol)
    slack = 1e-6 * (hi - lo)
    inside = np.all((x >= lo - slack) & (x <= hi + slack), axis=1)
    found = x[converged & inside]
    reps, labels = cluster(found, merge_tol * diag)
    hits = np.bincount(labels, minlength=len(reps))
    if len(reps):
        # The best-converged member of each cluster represents it.
        gn_found = gn[converged & inside]
        best = np.array([np.flatnonzero(labels == i)[np.argmin(gn_found[labels == i])]
                         for i in range(len(reps))])
        reps = found[best]
        cls = classify(objective.fn, reps)
        value = np.asarray(jax.vmap(objective.fn)(jnp.asarray(reps)))
        kind_order = {"minimum": 0, "saddle": 1, "maximum": 2, "degenerate": 3}
        order = np.lexsort((value, [kind_order[k] for k in cls.kind]))
        fields = dict(x=reps, value=value, index=cls.index, kind=cls.kind,
                      eigenvalues=cls.eigenvalues, grad_norm=cls.grad_norm, hits=hits)
        fields = {k: np.asarray(v)[order] for k, v in fields.items()}
    else:
        d = objective.dim
        fields = dict(x=np.zeros((0, d)), value=np.zeros(0), index=np.zeros(0, int),
                      kind=np.zeros(0, str), eigenvalues=np.zeros((0, d)),
                      grad_norm=np.zeros(0), hits=np.zeros(0, int))
    return CriticalPoints(**fields, unconverged=x[finite & ~converged],
                          outside=int(np.sum(converged & ~inside)), grad_tol=grad_tol)


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
