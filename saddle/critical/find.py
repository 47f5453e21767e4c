"""``find_critical_points``: critical points of every kind (minima, saddles, maxima) inside an
objective's box, not only the minima optimizers find, and how complete the search was.

From many starts at once (a jittered grid over the box, the rest uniform, and the box
centre) the compiled solver (``saddle.critical.solver``) drives ∇f to zero. An end point
is **critical** when ‖∇f‖ ≤ grad_tol and its Newton step ‖H⁺∇f‖ (the distance to the zero
of the local quadratic model) is at most ``step_tol`` × the box diagonal. End points that
reached one critical point are merged by what they are (``saddle.critical.merge``): by
their model zeros, and by Newton from their midpoints, never by a fraction of the box. A
group whose members spread over a set of critical points (a ring or line of minima, a
plateau) is reported once, as a ``CriticalSet`` with its dimension.

Where autodiff yields a non-finite gradient at a finite point with finite f (sqrt(0),
0^y at an otherwise smooth minimum), the gradient is taken by central differences; a
converged point whose Hessian is non-finite has kind ``"undefined"`` (as ``classify``
says), index −1, and is reported, never dropped.

Completeness: each distinct critical point (or set) is a "species" and the starts that
reached it its abundance; the bias-corrected Chao1 estimator (``saddle.stats.chao1``)
turns the points reached by exactly one and two starts into an estimate of the points
not reached. When it is one or more the finder warns (``IncompleteSearchWarning``), and
with ``max_starts`` it adds rounds of fresh starts until it is below one.

Not found, by design: minima on the box boundary or at a kink (|x|), where ∇f ≠ 0 or
does not exist; they are not critical points. ``saddle.descend`` with
``saddle.optimizers.project_box`` after the optimizer reaches boundary minima.
"""

from __future__ import annotations

import dataclasses
import warnings

import jax
import numpy as np

from saddle._checks import one_of, positive_float, positive_int
from saddle.critical.merge import connected, leaders
from saddle.critical.solver import METHODS, Fn, fd_gradient, solve, stratified_starts
from saddle.curvature import default_eig_tol
from saddle.objectives.core import KINDS, Objective
from saddle.precision import float64
from saddle.stats import Richness, chao1


class IncompleteSearchWarning(UserWarning):
    """The Chao1 estimate says one or more critical points were probably not reached."""


@dataclasses.dataclass(frozen=True)
class CriticalSet:
    """A connected set of critical points (not isolated), reported once.

    x ``[p, d]``: its distinct points found; dimension: the number of zero eigenvalues of
    the Hessian on it (the set's tangent dimension); value: median f over it; kind and
    index: of the Hessian across the set (its other d − dimension eigenvalues:
    ``"minimum"`` for a valley of minima, ``"degenerate"`` when none are left, a plateau);
    hits: starts that ended on it; grad_norm: the largest ‖∇f‖ over it.
    """

    x: np.ndarray
    dimension: int
    value: float
    kind: str
    index: int
    hits: int
    grad_norm: float


@dataclasses.dataclass(frozen=True)
class CriticalPoints:
    """Distinct critical points found (``m`` points in ``d`` dims), numpy arrays.

    x ``[m, d]``, value ``[m]``, index ``[m]`` (negative eigenvalues; −1 where the kind
    is ``"undefined"``), kind ``[m]``, eigenvalues ``[m, d]``, grad_norm ``[m]``, hits
    ``[m]`` (starts that reached it). Sorted by kind (minima first), then value.
    ``sets``: connected sets of critical points (``CriticalSet``), apart from the points.

    Never mixed with those: ``unconverged`` ``[u, d]``, the end points of the starts that
    did not reach a critical point (inside the bounds or not); among them the distinct
    ``gradient_flat`` points ``[k, d]`` inside the bounds, where ‖H∇f‖ ≤
    ``flat_tol``·‖H‖₂‖∇f‖ (½‖∇f‖² is stationary but ∇f ≠ 0), with their
    ``gradient_flat_grad_norm`` ``[k]`` and ``gradient_flat_hits`` ``[k]``.
    ``outside``: starts that converged to a critical point outside the bounds;
    ``diverged``: starts that ended at a non-finite point or value. So
    ``hits.sum() + Σ set hits + len(unconverged) + outside + diverged == n_starts``.
    ``richness``: Chao1 over the points and sets (``saddle.stats.Richness``; ``unseen`` is
    the estimated number not reached). ``grad_tol``, ``method``: as used.
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
    sets: tuple[CriticalSet, ...] = ()
    richness: Richness | None = None
    n_starts: int = 0

    def __len__(self) -> int:
        return len(self.value)


def _kind_across(eigenvalues: np.ndarray, dimension: int, tol: float) -> tuple[str, int]:
    """Kind and index of the Hessian across a set: its eigenvalues ``[d]`` without the
    ``dimension`` smallest in magnitude (the tangent ones)."""
    across = eigenvalues[np.argsort(np.abs(eigenvalues))][dimension:]
    neg, pos = int(np.sum(across < -tol)), int(np.sum(across > tol))
    if not across.size or neg + pos < across.size:
        return "degenerate", neg
    return ("saddle" if neg and pos else "maximum" if neg else "minimum"), neg


def _analyse(fn: Fn, r: dict[str, np.ndarray], lo: np.ndarray, hi: np.ndarray,
             grad_tol: float, step_tol: float, flat_tol: float, flat_merge_tol: float,
             neighbours: int, method: str) -> CriticalPoints:
    x, value, code = r["x"], r["value"], r["code"].copy()
    diag = float(np.linalg.norm(hi - lo))
    ok = np.all(np.isfinite(x), axis=1) & np.isfinite(value)
    gn = r["grad_norm"].copy()
    no_grad = np.flatnonzero(ok & ~np.isfinite(gn))
    if no_grad.size:  # autodiff failed where f is finite: central differences
        gn[no_grad] = np.linalg.norm(fd_gradient(fn, x[no_grad]), axis=1)
    lam = r["eigenvalues"]
    smooth = np.all(np.isfinite(lam), axis=1) & np.isfinite(r["grad_norm"])
    code[ok & ~smooth] = KINDS.index("undefined")
    step = np.where(smooth[:, None], r["newton_step"], 0.0)
    converged = ok & (gn <= grad_tol) & (np.linalg.norm(step, axis=1) <= step_tol * diag)
    slack = 1e-6 * (hi - lo)
    inside = np.all((x >= lo - slack) & (x <= hi + slack), axis=1)

    eig_tol = default_eig_tol(x.dtype) * (1 + np.max(np.abs(np.where(smooth[:, None], lam, 0)),
                                                     axis=1))
    nullity = np.sum(np.abs(lam) <= eig_tol[:, None], axis=1)
    crit = np.flatnonzero(converged & inside)
    groups = connected(fn, (x + step)[crit], value[crit], nullity[crit], gn[crit], grad_tol,
                       neighbours)
    order = np.lexsort((gn[crit], groups.label))
    first = np.r_[True, groups.label[order][1:] != groups.label[order][:-1]] if crit.size \
        else np.zeros(0, bool)
    rep = crit[order[first]]  # [g], the member with the smallest ‖∇f‖, by group
    hits = np.bincount(groups.label, minlength=len(rep))
    is_set = np.zeros(len(rep), bool)
    sets = []
    for g in np.flatnonzero(groups.n_distinct >= 2):
        members = crit[groups.label == g]
        k = int(np.median(nullity[members]))
        if k < 1 or not np.all(smooth[members]):
            continue
        is_set[g] = True
        _, one = np.unique(groups.distinct[groups.label == g], return_index=True)
        kind, index = _kind_across(lam[rep[g]], k, eig_tol[rep[g]])
        sets.append(CriticalSet(x=x[members[one]], dimension=k,
                                value=float(np.median(value[members])), kind=kind,
                                index=index, hits=int(hits[g]),
                                grad_norm=float(np.max(gn[members]))))
    sets.sort(key=lambda s: s.value)
    point = np.flatnonzero(~is_set)
    point = point[np.lexsort((value[rep[point]], code[rep[point]]))]  # minima first
    p = rep[point]
    index = np.where(code[p] == KINDS.index("undefined"), -1, r["index"][p]).astype(int)

    flat = np.flatnonzero(ok & ~converged & inside & (r["flat"] <= flat_tol))
    lead, flabel = leaders(x[flat], r["flat"][flat], flat_merge_tol * diag)
    return CriticalPoints(
        x=x[p], value=value[p], index=index, kind=np.asarray(KINDS)[code[p]],
        eigenvalues=lam[p], grad_norm=gn[p], hits=hits[point],
        unconverged=x[ok & ~converged], outside=int(np.sum(converged & ~inside)),
        grad_tol=grad_tol, gradient_flat=x[flat[lead]],
        gradient_flat_grad_norm=gn[flat[lead]],
        gradient_flat_hits=np.bincount(flabel, minlength=len(lead)),
        diverged=int(np.sum(~ok)), method=method, sets=tuple(sets),
        richness=chao1(np.r_[hits[point], [s.hits for s in sets]]), n_starts=len(x))


def find_critical_points(
    objective: Objective,
    *,
    key: jax.Array,
    n_starts: int = 4096,
    steps: int = 150,
    grad_tol: float | None = None,
    step_tol: float = 1e-3,
    method: str = "hybrid",
    flat_tol: float = 1e-3,
    flat_merge_tol: float = 1e-3,
    max_starts: int | None = None,
    neighbours: int = 6,
    x64: bool = True,
    chunk_size: int | None = 65_536,
    progress: bool | None = None,
) -> CriticalPoints:
    """Find the critical points of ``objective`` inside its bounds, of every index.

    Args:
      objective: an ``Objective`` (its ``bounds`` give the box for the starts).
      key: ``jax.random`` key for the starts.
      n_starts: starts per round: a jittered grid over the box, the rest uniform, and
        the box centre.
      steps: iterations, each capped at a trust radius of 1/20 of the box diagonal.
      grad_tol: an end point is critical if ‖∇f‖ ≤ ``grad_tol`` (and its Newton step is
        at most ``step_tol`` × box diagonal); default √ε·(1 + median ‖∇f‖ over the
        starts of the first round), ε of the working dtype.
      step_tol: the largest Newton step ‖H⁺∇f‖ of a critical end point, × box diagonal
        (a small gradient far from the local model's zero is a flat spot, not a point).
      method: ``"hybrid"``, ``"newton"`` or ``"newton_mr"`` (``saddle.critical.solver``).
      flat_tol: an unconverged end point with ‖H∇f‖ ≤ ``flat_tol``·‖H‖₂‖∇f‖ is
        gradient-flat.
      flat_merge_tol: gradient-flat end points within ``flat_merge_tol`` × box diagonal
        of a better one (smaller flatness) are one region (critical points are merged by
        what they are, not by distance).
      max_starts: keep adding rounds of ``n_starts`` fresh starts while the Chao1
        estimate of unreached points is one or more, up to this many starts in all;
        None: one round.
      neighbours: each distinct end point is tested against this many nearest ones for
        being one point or one set with them (``saddle.critical.merge``).
      x64: search and classify in float64 (default; inside ``jax.enable_x64``); False:
        in JAX's default dtype.
      chunk_size: solve at most this many starts at once (bounded memory; identical
        results); None: all at once.
      progress: show a progress bar over chunks (default: when there are several and
        the call takes more than 2 s).

    Returns:
      ``CriticalPoints``; index and kind as ``saddle.classify`` gives them (eigenvalues
      within √ε·(1 + max|λ|) of zero count as zero), in the working dtype. Warns with
      ``IncompleteSearchWarning`` when Chao1 estimates one or more points unreached.

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
    step_tol = positive_float(step_tol, "step_tol")
    flat_tol = positive_float(flat_tol, "flat_tol")
    flat_merge_tol = positive_float(flat_merge_tol, "flat_merge_tol")
    if grad_tol is not None:
        grad_tol = positive_float(grad_tol, "grad_tol")
    method = one_of(method, "method", METHODS)
    neighbours = positive_int(neighbours, "neighbours")
    if max_starts is not None:
        max_starts = positive_int(max_starts, "max_starts")
    if chunk_size is not None:
        chunk_size = positive_int(chunk_size, "chunk_size")
    if objective.bounds is None:
        raise ValueError(f"objective {objective.name!r} has no box (bounds): the finder "
                         "searches inside one")
    lo, hi = objective.lower, objective.upper
    radius = float(np.linalg.norm(hi - lo)) / 20
    rounds: list[dict[str, np.ndarray]] = []
    with float64(bool(x64)):
        while True:
            k = key if not rounds else jax.random.fold_in(key, len(rounds))
            x0 = stratified_starts(k, n_starts, lo, hi)
            rounds.append(solve(objective.fn, x0, method, steps, radius, chunk_size, progress))
            r = {f: np.concatenate([q[f] for q in rounds]) for f in rounds[0]}
            if grad_tol is None:
                g0 = rounds[0]["grad_norm0"]
                g0 = g0[np.isfinite(g0)]
                eps = np.finfo(r["x"].dtype).eps
                grad_tol = float(np.sqrt(eps) * (1 + (np.median(g0) if g0.size else 0.0)))
            cps = _analyse(objective.fn, r, lo, hi, grad_tol, step_tol, flat_tol,
                           flat_merge_tol, neighbours, method)
            total = len(r["x"])
            if (max_starts is None or cps.richness.unseen < 1
                    or total + n_starts > max_starts):
                break
    if cps.richness.unseen >= 1:
        rich = cps.richness
        warnings.warn(
            f"find_critical_points on {objective.name!r} is probably incomplete: "
            f"{rich.singletons} of {rich.observed} points were reached by one start only, "
            f"Chao1 estimates {rich.unseen:.1f} more unreached (95% CI up to "
            f"{rich.high - rich.observed:.1f}); add starts (n_starts, or max_starts to add "
            f"rounds until the estimate is below one)", IncompleteSearchWarning, stacklevel=2)
    return cps
