"""Critical points of every kind (minima, saddles, maxima), not only the minima optimizers find.

``find_critical_points`` draws starts in the objective's box and, from all of them in
one jit-compiled ``vmap`` over a ``lax.scan``, drives ∇f to zero; it keeps the end points
that reached a critical point, merges duplicates, classifies each by its Hessian and
counts the starts that reached it. End points that did not are reported apart
(``unconverged``), and among them the distinct *gradient-flat* points, where ½‖∇f‖² is
stationary but ∇f is not zero (``gradient_flat``).

Methods (``method=``); every step uses the dense Hessian H = V diag(λ) Vᵀ at x:

* ``"newton"``: Newton–Raphson on ∇f = 0, x ← x − H⁺∇f, the step capped at a trust
  radius (1/20 of the box diagonal). Attracted to critical points of every index; far
  from them it jumps about (it descends no merit function), which lets it reach every
  basin from uniform starts.
* ``"newton_mr"``: minimises ½‖∇f‖² (Newton-MR, Roosta, Liu, Xu & Mahoney 2018). The
  step p = −H⁺∇f is the minimum-norm solution of min‖Hp + ∇f‖ (the eigendecomposition
  here, which handles singular H; MINRES in the paper), accepted if it satisfies Armijo
  on ‖∇f‖² (‖∇f(x + p)‖² ≤ ‖∇f‖² + 2ρ pᵀH∇f, pᵀH∇f ≤ 0). If not, instead of shortening
  p along its ray, it is damped along the Levenberg–Marquardt path p(μ) = −(H² + μI)⁻¹H∇f,
  μ = λ_max²·4ᵏ, k = −11..3, which shrinks the directions of small |λ| first (Gauss–Newton
  on ∇f = 0). A plain backtracking line search stalled: near a gradient-flat point the
  step along the near-null direction is huge and shortening the whole step froze the
  other directions too. It converges to the local minima of ‖∇f‖²: the critical points
  and the gradient-flat points, where H∇f = 0 but ∇f ≠ 0 (Frye et al. 2019, 2021).
* ``"hybrid"`` (default): the first 2/3 of the ``steps`` Newton, the last 1/3 Newton-MR.

Why ``hybrid`` (measured on every catalogued objective: names() at d = 2, Rastrigin
d = 1, 2, Styblinski–Tang and Rosenbrock d = 2, 3; 4096 starts, 150 steps, float64,
seed 0, 2 CPU cores with other jobs running):

=========== ============ ======================================== =====================
method      completeness starts unconverged (of 4096)              time: first / again
=========== ============ ======================================== =====================
newton      23/23 cases  Levy 170, Beale 593                       29.6 s / 4.9 s
newton_mr   23/23 cases  Levy 703, Rosenbrock 2-D 1576, 3-D 2263,  34.9 s / 10.5 s
                         Beale 758, Rastrigin 1-D 9
hybrid      23/23 cases  Levy 9, Beale 602                         27.6 s / 6.0 s
=========== ============ ======================================== =====================

(completeness: every catalogued point found, with its index, no point outside a complete
catalogue; "first" includes compiling, about 1 s per objective, "again" is the run).
All three are complete, so the choice rests on what is left over. Newton-MR alone is
slowest and leaves most starts unconverged where ‖∇f‖² decreases slowly (Rosenbrock's
curved valley; Beale's valley y → 1, x → −∞, where f tends to a constant): its
monotone search cannot take Newton's jumps. Newton alone leaves its unconverged starts
wherever the jumps stopped, which says nothing about them. The Newton-MR tail of
``hybrid`` takes them to the nearest minimum of ‖∇f‖²: a critical point (found late)
or a gradient-flat point. Levy 2-D has genuine ones (f is separable; one coordinate at a
critical point, the other where the 1-D derivative has a local extremum ≠ 0): Newton
leaves 170 starts unconverged, hybrid 9, of which 7 sit at gradient-flat points. The
tail costs up to 16 gradients a step over 1/3 of the steps, and compile time, which
dominates on these problems, is the same for the three (one program). Beale's
unconverged starts have left the box along its valley (x ≈ −100) under every method.

Starts: a jittered grid (one uniform start per cell of a ⌊n^(1/d)⌋^d grid), the rest
uniform, and the box centre. Stratifying matters for completeness: with 4096 i.i.d.
uniform starts, the rarest Rastrigin 2-D points (corners, Newton basins of ~0.13% of
the box) drew 5 starts on average and one of 441 points was missed in 1 of 10 seeds
(Poisson: ~11% of seeds); with the jittered grid every seed in 0..9 hit every point at
least 3 times. The centre is a critical point of every objective symmetric about it;
Griewank's only catalogued point, the origin, has a Newton basin of ~10⁻⁵ of its
[−600, 600]² box (about 10⁵ critical points there) and is found only because of it.
4096 starts suffice for every catalogued objective (Rastrigin 2-D's 441 points, Levy
2-D's 150); Rastrigin 3-D's 9261 need 131072 (65536 miss 3).

Precision. The search runs in float64 by default (``x64=True``, inside
``jax.enable_x64``; the objective's ``fn`` must accept float64 input, as every catalogued
one does), which makes the default gradient tolerance √ε·(1 + median‖∇f‖ at the starts)
1.5·10⁻⁸ relative instead of 3.5·10⁻⁴: for Goldstein–Price (f ~ 10⁶) 5·10⁻⁴ instead of
12. Newton steps polish converged points to ‖∇f‖ ~ 10⁻¹³; locations match the float64
catalogue to 10⁻¹¹ of the box diagonal. A point also counts as critical only if its
Newton step ‖H⁺∇f‖ (its distance to the zero of the local quadratic model) is below the
merge distance. In float32 (``x64=False``, for accelerators without fast float64) two
catalogued objectives go wrong: Beale gets a spurious degenerate point (‖∇f‖ = 0.31
under the float32 tolerance 0.43: a nearly flat spot whose gradient float32 cannot
resolve), and Rosenbrock 3-D's minimum (λ from 0.48 to 1400) is called degenerate by the
√ε eigenvalue tolerance.

References:
  F. Roosta, Y. Liu, P. Xu, M. W. Mahoney, "Newton-MR: Inexact Newton method with
  minimum residual sub-problem solver", arXiv:1810.00303 (2018).
  C. G. Frye, N. S. Wadia, M. R. DeWeese, K. E. Bouchard, "Numerically recovering the
  critical points of a deep linear autoencoder", arXiv:1901.10603 (2019); C. G. Frye,
  J. Simon, N. S. Wadia, A. Ligeralde, M. R. DeWeese, K. E. Bouchard, "Critical
  point-finding methods reveal gradient-flat regions of deep network losses", Neural
  Computation 33 (2021), arXiv:2003.10397.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import one_of, positive_float, positive_int
from saddle.basins import assign, cluster
from saddle.curvature import default_eig_tol, kind_codes
from saddle.escape import EscapeDirection, escape_direction  # noqa: F401  (moved; re-exported)
from saddle.objectives.core import KINDS, Objective
from saddle.precision import float64

Fn = Callable[[jax.Array], jax.Array]

METHODS = ("hybrid", "newton", "newton_mr")
_TRIALS = 16  # damping μ = 0, then λ_max²·4^k for k = −11, ..., 3
_ARMIJO = 1e-4


@dataclasses.dataclass(frozen=True)
class CriticalPoints:
    """Distinct critical points found (``m`` points in ``d`` dims), numpy arrays.

    x ``[m, d]``, value ``[m]``, index ``[m]`` (negative eigenvalues), kind ``[m]``,
    eigenvalues ``[m, d]``, grad_norm ``[m]``, hits ``[m]`` (starts that reached it).
    Sorted by kind (minima first), then value.

    Never mixed with those: ``unconverged`` ``[u, d]``, the end points of the starts that
    did not reach a critical point (‖∇f‖ > ``grad_tol``, or a Newton step ‖H⁺∇f‖ longer
    than the merge distance; inside the bounds or not); among them the distinct
    ``gradient_flat`` points ``[k, d]`` inside the bounds, where ‖H∇f‖ ≤
    ``flat_tol``·‖H‖₂‖∇f‖ (½‖∇f‖² is stationary but ∇f ≠ 0), with their
    ``gradient_flat_grad_norm`` ``[k]`` and ``gradient_flat_hits`` ``[k]``.
    ``outside``: starts that converged to a critical point outside the bounds;
    ``diverged``: starts that ended at a non-finite point or gradient. So
    ``hits.sum() + len(unconverged) + outside + diverged`` is the number of starts.
    ``grad_tol``: the gradient tolerance used; ``method``: the method used.
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
    gradient_flat: np.ndarray
    gradient_flat_grad_norm: np.ndarray
    gradient_flat_hits: np.ndarray
    diverged: int
    method: str

    def __len__(self) -> int:
        return len(self.value)


# ----------------------------------------------------------------------------- the solver
NEWTON, MR, STAY = 0, 1, 2  # what a step of the compiled loop does


def _phases(method: str, steps: int) -> np.ndarray:
    """``[steps + 1]`` step codes: Newton, Newton-MR, and a last step that stays (it only
    measures the end point, so that the loop body is the only code that calls ``fn``)."""
    n_newton = {"newton": steps, "newton_mr": 0, "hybrid": -(-2 * steps // 3)}[method]
    return np.r_[np.where(np.arange(steps) < n_newton, NEWTON, MR), STAY].astype(np.int32)


@functools.lru_cache(maxsize=64)
def _program(fn: Fn, method: str, steps: int) -> Callable:
    value_and_grad, grad, hess = jax.value_and_grad(fn), jax.grad(fn), jax.hessian(fn)
    phases = _phases(method, steps)  # numpy: a jax array here would fix the dtype mode

    def step(carry: tuple, phase: jax.Array) -> tuple[tuple, None]:
        x, radius, _, g0 = carry
        f, g = value_and_grad(x)
        h = hess(x)
        lam, v = jnp.linalg.eigh(h)
        c = v.T @ g
        lam_max = jnp.max(jnp.abs(lam))
        keep = jnp.abs(lam) > 100 * jnp.finfo(x.dtype).eps * lam_max
        gg = g @ g
        phi0 = jnp.where(jnp.isfinite(gg), gg, jnp.inf)

        def direction(mu: jax.Array) -> tuple[jax.Array, jax.Array]:
            # argmin ‖Hp + g‖² + μ‖p‖² in the eigenbasis (μ = 0: p = −H⁺g), capped at
            # the trust radius; and pᵀH g (< 0 unless H g = 0).
            den = lam * lam + mu
            q = jnp.where(keep | (mu > 0), -lam * c / jnp.where(den > 0, den, 1.0), 0.0)
            q = q * jnp.minimum(1.0, radius / jnp.maximum(jnp.linalg.norm(q), 1e-30))
            return v @ q, jnp.sum(lam * c * q)

        def trial(t: tuple) -> tuple:  # Armijo on ‖∇f‖² along the damping path
            k, best_x, best_phi, _ = t
            mu = jnp.where(k == 0, 0.0, lam_max**2 * 4.0 ** (k - _TRIALS + 4))
            p, slope = direction(mu)
            xt = x + p
            gt = grad(xt)
            phi = jnp.where(jnp.all(jnp.isfinite(gt)), gt @ gt, jnp.inf)
            ok = phi <= phi0 + 2 * _ARMIJO * slope
            take = ok | (phi < best_phi)
            return k + 1, jnp.where(take, xt, best_x), jnp.where(take, phi, best_phi), ok

        # Only Newton-MR steps search (``done`` starts True otherwise).
        init = (jnp.asarray(0), x, phi0, phase != MR)
        _, x_mr, _, _ = jax.lax.while_loop(lambda t: ~t[3] & (t[0] < _TRIALS), trial, init)
        x_new = jnp.where(phase == NEWTON, x + direction(jnp.zeros((), x.dtype))[0],
                          jnp.where(phase == MR, x_mr, x))
        x_new = jnp.where(jnp.all(jnp.isfinite(x_new)), x_new, x)
        gn = jnp.sqrt(gg)
        flat = jnp.linalg.norm(h @ g) / jnp.maximum(lam_max * gn, jnp.finfo(x.dtype).tiny)
        index, _, code = kind_codes(lam, default_eig_tol(x.dtype) * (1 + lam_max))
        newton_len = jnp.linalg.norm(jnp.where(keep, c / jnp.where(keep, lam, 1.0), 0.0))
        info = (f, gn, lam, index.astype(jnp.int32), code.astype(jnp.int32), flat, newton_len)
        return (x_new, radius, info, jnp.where(jnp.isnan(g0), gn, g0)), None

    def one(x0: jax.Array, radius: jax.Array) -> tuple[jax.Array, ...]:
        d, nan = x0.shape[0], jnp.asarray(jnp.nan, x0.dtype)
        zero = jnp.zeros((), jnp.int32)
        info = (nan, nan, jnp.full((d,), nan), zero, zero, nan, nan)
        (x, _, info, g0), _ = jax.lax.scan(step, (x0, radius, info, nan), phases)
        return (x, *info, g0)

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def _solve(fn: Fn, x0: jax.Array, method: str, steps: int, radius: float,
           chunk_size: int | None = None, progress: bool | None = None) -> dict[str, np.ndarray]:
    """The solver from every row of ``x0`` in chunks of ``chunk_size`` starts (the last
    padded to the same shape: one compilation), with a progress bar over chunks when
    there are several and the call takes more than 2 s (or when ``progress``)."""
    from tqdm.auto import tqdm

    program = _program(fn, method, steps)
    n = x0.shape[0]
    chunk = n if chunk_size is None else min(chunk_size, n)
    starts = range(0, n, chunk)
    show = progress if progress is not None else len(starts) > 1
    parts = []
    for lo in tqdm(starts, desc="critical points", disable=not show,
                   delay=0 if progress else 2.0, leave=False):
        xs = x0[lo:lo + chunk]
        m = xs.shape[0]
        if m < chunk:
            xs = jnp.concatenate([xs, jnp.broadcast_to(xs[:1], (chunk - m, xs.shape[1]))])
        parts.append([np.asarray(v)[:m] for v in program(xs, jnp.asarray(radius, x0.dtype))])
    names = ("x", "value", "grad_norm", "eigenvalues", "index", "code", "flat", "newton_len",
             "grad_norm0")
    return {k: np.concatenate(v) for k, v in zip(names, zip(*parts, strict=True), strict=True)}


def newton_solve(fn: Fn, x0: jax.Array, steps: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Trust-region Newton on ∇f = 0 from each row of ``x0`` ``[n, d]`` (working dtype).

    Step ``−H⁺∇f`` capped at length ``radius``. Returns end points ``[n, d]`` and
    their gradient norms ``[n]``.
    """
    out = _solve(fn, jnp.asarray(x0), "newton", positive_int(steps, "steps"),
                 positive_float(radius, "radius"))
    return out["x"], out["grad_norm"]


def _stratified_starts(key: jax.Array, n: int, lo: np.ndarray, hi: np.ndarray) -> jax.Array:
    """``[n, d]`` starts: a jittered grid (one uniform point in each of ``k^d`` equal cells,
    ``k = ⌊n^(1/d)⌋``), the rest uniform in the box; the grid point of the central cell is
    replaced by the box centre (which lies in that cell, so the grid stays stratified)."""
    d = len(lo)
    k = int(np.floor(n ** (1 / d) + 1e-9))
    while k > 1 and k**d > n:
        k -= 1
    cells = np.indices((k,) * d).reshape(d, -1).T if k > 1 else np.zeros((1, d))
    k_grid, k_rest = jax.random.split(key)
    u = jax.random.uniform(k_grid, cells.shape)
    rest = jax.random.uniform(k_rest, (n - len(cells), d), dtype=u.dtype)
    unit = jnp.concatenate([(jnp.asarray(cells, u.dtype) + u) / k, rest])
    x = jnp.asarray(lo, u.dtype) + jnp.asarray(hi - lo, u.dtype) * unit
    centre_cell = int(np.sum((k // 2) * k ** np.arange(d - 1, -1, -1)))
    return x.at[centre_cell].set(jnp.asarray(0.5 * (lo + hi), u.dtype))


def _representatives(x: np.ndarray, score: np.ndarray, tol: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Merge points ``[n, d]`` closer than ``tol``; per merged point its member with the
    lowest ``score``. Returns (indices into x ``[m]``, hits ``[m]``).

    Points in one grid cell of side ``tol`` are grouped first (vectorised; the starts
    that reached one critical point agree to ~1e-10), then the groups' best members are
    merged by ``saddle.basins.cluster`` (a point joins the first centre within ``tol``).
    """
    if not len(x):
        return np.zeros(0, int), np.zeros(0, int)
    keys = np.floor(x / tol).astype(np.int64)
    _, group, size = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()

    def best_per(labels: np.ndarray, s: np.ndarray) -> np.ndarray:
        order = np.lexsort((s, labels))
        return order[np.r_[True, labels[order][1:] != labels[order][:-1]]]

    best = best_per(group, score)  # [groups], ordered by group id
    _, labels = cluster(x[best], tol)
    return best[best_per(labels, score[best])], np.bincount(labels, weights=size).astype(int)


def find_critical_points(
    objective: Objective,
    *,
    key: jax.Array,
    n_starts: int = 4096,
    steps: int = 150,
    grad_tol: float | None = None,
    merge_tol: float = 1e-3,
    method: str = "hybrid",
    flat_tol: float = 1e-3,
    x64: bool = True,
    chunk_size: int | None = 65_536,
    progress: bool | None = None,
) -> CriticalPoints:
    """Find the critical points of ``objective`` inside its bounds, of every index.

    Args:
      objective: an ``Objective`` (its ``bounds`` give the box for the starts).
      key: ``jax.random`` key for the starts.
      n_starts: number of starts: a jittered grid over the box, the rest uniform, and
        the box centre (module docstring). The default 4096 finds every catalogued point
        of every catalogued objective (Rastrigin 2-D's 441, Levy 2-D's 150).
      steps: iterations, each capped at a trust radius of 1/20 of the box diagonal.
      grad_tol: an end point is critical if ‖∇f‖ ≤ ``grad_tol`` and its Newton step
        ‖H⁺∇f‖ ≤ ``merge_tol`` × box diagonal; default √ε·(1 + median ‖∇f‖ over the
        starts), ε of the working dtype.
      merge_tol: points closer than ``merge_tol`` × box diagonal are one point.
      method: ``"hybrid"``, ``"newton"`` or ``"newton_mr"`` (module docstring).
      flat_tol: an unconverged end point with ‖H∇f‖ ≤ ``flat_tol``·‖H‖₂‖∇f‖ is
        gradient-flat.
      x64: search and classify in float64 (default; inside ``jax.enable_x64``); False:
        in JAX's default dtype.
      chunk_size: solve at most this many starts at once (bounded memory; identical
        results); None: all at once.
      progress: show a progress bar over chunks (default: when there are several and
        the call takes more than 2 s).

    Returns:
      ``CriticalPoints``; index and kind as ``saddle.classify`` gives them (eigenvalues
      within √ε·(1 + max|λ|) of zero count as zero), in the working dtype.

    Example:
      >>> import jax, saddle
      >>> cps = saddle.find_critical_points(saddle.objectives.get("himmelblau"),
      ...                                   key=jax.random.PRNGKey(0), n_starts=512)
      >>> sorted(set(cps.kind.tolist())), len(cps)
      (['maximum', 'minimum', 'saddle'], 9)
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a saddle.Objective (with bounds), got "
                        f"{type(objective).__name__}")
    n_starts = positive_int(n_starts, "n_starts")
    steps = positive_int(steps, "steps")
    try:
        jax.random.fold_in(key, 0)
    except (TypeError, ValueError):
        raise TypeError(f"key must be a jax.random key, got {type(key).__name__}") from None
    merge_tol = positive_float(merge_tol, "merge_tol")
    flat_tol = positive_float(flat_tol, "flat_tol")
    if grad_tol is not None:
        grad_tol = positive_float(grad_tol, "grad_tol")
    method = one_of(method, "method", METHODS)
    if chunk_size is not None:
        chunk_size = positive_int(chunk_size, "chunk_size")
    if objective.bounds is None:
        raise ValueError(f"objective {objective.name!r} has no box (bounds): the finder "
                         "searches inside one")
    lo, hi = objective.lower, objective.upper
    diag = float(np.linalg.norm(hi - lo))
    with float64(bool(x64)):
        x0 = _stratified_starts(key, n_starts, lo, hi)
        r = _solve(objective.fn, x0, method, steps, diag / 20, chunk_size, progress)
    x, gn = r["x"], r["grad_norm"]
    if grad_tol is None:
        g0 = r["grad_norm0"][np.isfinite(r["grad_norm0"])]
        eps = np.finfo(x.dtype).eps
        grad_tol = float(np.sqrt(eps) * (1 + (np.median(g0) if g0.size else 0.0)))
    finite = (np.all(np.isfinite(x), axis=1) & np.isfinite(gn) & np.isfinite(r["value"])
              & np.all(np.isfinite(r["eigenvalues"]), axis=1))
    # Critical: a small gradient, and the Newton step −H⁺∇f (the distance to the zero of
    # the local quadratic model) shorter than the merge distance.
    converged = finite & (gn <= grad_tol) & (r["newton_len"] <= merge_tol * diag)
    slack = 1e-6 * (hi - lo)
    inside = np.all((x >= lo - slack) & (x <= hi + slack), axis=1)

    crit = np.flatnonzero(converged & inside)
    rep, hits = _representatives(x[crit], gn[crit], merge_tol * diag)
    rep = crit[rep]
    order = np.lexsort((r["value"][rep], r["code"][rep]))  # codes follow KINDS: minima first
    rep, hits = rep[order], hits[order]

    flat = np.flatnonzero(finite & ~converged & inside & (r["flat"] <= flat_tol))
    frep, fhits = _representatives(x[flat], r["flat"][flat], merge_tol * diag)
    frep = flat[frep]
    return CriticalPoints(
        x=x[rep], value=r["value"][rep], index=r["index"][rep].astype(int),
        kind=np.asarray(KINDS)[r["code"][rep]], eigenvalues=r["eigenvalues"][rep],
        grad_norm=gn[rep], hits=hits, unconverged=x[finite & ~converged],
        outside=int(np.sum(converged & ~inside)), grad_tol=grad_tol,
        gradient_flat=x[frep], gradient_flat_grad_norm=gn[frep], gradient_flat_hits=fhits,
        diverged=int(np.sum(~finite)), method=method)


# ----------------------------------------------------------------------------- against a catalogue
def match_catalogue(found_x: Any, catalogue_x: Any, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Match found points ``[m, d]`` with catalogued ones ``[k, d]`` within distance ``tol``.

    Returns ``in_catalogue`` ``[m]`` (bool: a catalogued point lies within ``tol``) and
    ``match`` ``[k]``: the index of the nearest found point within ``tol`` of each
    catalogued one, −1 if none (nearest by Euclidean distance, the lowest index on exact
    ties: ``saddle.basins.assign`` both ways, a k-d tree, memory O((m + k)·d)).
    """
    tol = positive_float(tol, "tol")
    found = np.asarray(found_x, dtype=np.float64)
    known = np.asarray(catalogue_x, dtype=np.float64)
    if found.ndim != 2 or known.ndim != 2 or found.shape[1] != known.shape[1]:
        raise ValueError(f"found_x and catalogue_x must be [m, d] and [k, d] with one d, got "
                         f"shapes {found.shape} and {known.shape}")
    in_catalogue = assign(found, known, tol) >= 0 if len(found) else np.zeros(0, bool)
    match = assign(known, found, tol) if len(known) else np.zeros(0, np.int64)
    return in_catalogue, match


@dataclasses.dataclass(frozen=True)
class CatalogueMatch:
    """Found critical points (``m``) against the ``k`` smooth points of an objective's
    catalogue (those with a gradient).

    in_catalogue ``[m]``: a catalogued point lies within ``tol`` of the found one;
    found ``[k]``: the catalogued point was found within ``tol`` with its kind and index (a
    degenerate one, whose index the catalogue may leave open: with its kind); index
    ``[k]``: the catalogued index, −1 where the catalogue gives none; complete: the
    catalogue lists every critical point inside the bounds, so a found point outside it
    is spurious.
    """

    in_catalogue: np.ndarray
    found: np.ndarray
    index: np.ndarray
    complete: bool


def compare_catalogue(cps: CriticalPoints, objective: Objective, tol: float) -> CatalogueMatch:
    """``CatalogueMatch`` of the points ``cps`` found on ``objective`` (``match_catalogue``
    within distance ``tol``)."""
    smooth = [p for p in objective.known if p.smooth]
    known = np.array([p.x for p in smooth], dtype=float).reshape(-1, objective.dim)
    index = np.array([-1 if p.index is None else p.index for p in smooth], dtype=int)
    kind = np.array([p.kind for p in smooth], dtype=str)
    in_catalogue, match = match_catalogue(np.reshape(cps.x, (-1, objective.dim)), known, tol)
    hit = np.flatnonzero(match >= 0)
    found = np.zeros(len(known), bool)
    found[hit] = (cps.kind[match[hit]] == kind[hit]) & (
        (cps.index[match[hit]] == index[hit]) | (kind[hit] == "degenerate"))
    return CatalogueMatch(in_catalogue=in_catalogue, found=found, index=index,
                          complete=objective.complete)


def index_counts(index: Any, dim: int) -> np.ndarray:
    """``[dim + 1]`` number of points with Hessian index k = 0..dim, from indices ``[m]``."""
    dim = positive_int(dim, "dim")
    index = np.asarray(index, dtype=np.int64)
    if np.any((index < 0) | (index > dim)):
        raise ValueError(f"index must lie in 0..{dim}, got {index.min()}..{index.max()}")
    return np.bincount(index, minlength=dim + 1)


def separable_index_counts(n_minima: int, n_maxima: int, dim: int) -> np.ndarray:
    """``[dim + 1]`` critical points of index k of f(x) = Σ_i g(x_i) whose 1-D g has
    ``n_minima`` minima and ``n_maxima`` maxima (all nondegenerate): C(d, k)·a^(d−k)·b^k.

    ∇f = 0 iff every coordinate is a critical point of g, and the Hessian is diagonal, so
    the index is the number of coordinates at a maximum of g (``objectives.product_points``).
    """
    a, b = positive_int(n_minima, "n_minima", 0), positive_int(n_maxima, "n_maxima", 0)
    dim = positive_int(dim, "dim")
    return np.array([math.comb(dim, k) * a ** (dim - k) * b**k for k in range(dim + 1)])
