"""A database of minima and the index-1 saddles that connect them, found by bands.

``connect_minima`` runs a climbing-image band (``saddle.landscape.neb``) between every pair
of known minima at once. Every interior local maximum of a relaxed band's energy profile
(the climbing image, and the lower maxima of a band that passes an intermediate minimum)
is refined by trust-region Newton on ∇f = 0 (``saddle.critical.solver``) and kept only
when ``saddle.classify`` certifies it: ‖∇f‖ ≤ grad_tol and Hessian index 1. Which minima a
saddle connects is not read off the band: the two steepest-descent paths that leave it
along ± its unstable eigenvector (``saddle.escape_direction``) decide, as in Wales's
discrete path sampling (gradient descent with step 1/(2L), L the largest |Hessian
eigenvalue| seen on the bands and the minima, then Newton). A minimum they reach that is
not in the database joins it, and the bands between it and the others run in the next
round. Points are one when their Newton-polished locations agree to the resolution of the
coordinates (``saddle.critical.merge.same_zero``), never by a fraction of the box.

Reference: D. J. Wales, "Discrete path sampling", Mol. Phys. 100, 3285 (2002);
D. J. Wales, *Energy Landscapes* (Cambridge University Press, 2003), ch. 6.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from saddle._checks import as_batch, positive_float, positive_int
from saddle.critical.merge import same_zero
from saddle.critical.solver import settle
from saddle.curvature import classify
from saddle.descent import descend
from saddle.escape import escape_direction
from saddle.landscape.neb import Bands, neb
from saddle.objectives.core import Objective
from saddle.precision import float64

ROWS = 64  # point batches are padded to a multiple of this: one compilation per objective
NEWTON_STEPS = 60  # trust-region Newton steps refining a candidate saddle or a minimum
DESCENT_STEPS = 2000  # gradient-descent steps of a steepest-descent path from a saddle


@dataclasses.dataclass(frozen=True)
class MinimaDatabase:
    """Minima (``m``), certified index-1 saddles (``s``) and the bands (``p``) that found
    them, in ``d`` dims; numpy arrays.

    minima_x ``[m, d]``, minima_value ``[m]``: the given minima first, then those the
    descent paths from saddles reached. saddle_x ``[s, d]``, saddle_value ``[s]``,
    saddle_eigenvalues ``[s, d]`` (ascending; one negative). edges ``[s, 2]``: the minima
    the two steepest-descent paths from each saddle reach (−1: the path left the box or
    did not reach a minimum; equal entries: both sides reach one minimum). barrier
    ``[s, 2]``: f(saddle) − f(minimum) for both ends (NaN for −1). saddle_band ``[s]``:
    the first band that found each saddle. pairs ``[p, 2]``: the minima each band joins;
    bands: the relaxed ``Bands``. candidates: band maxima refined; rejected: those Newton
    did not take to a certified index-1 saddle inside the box. rounds: band rounds run.
    grad_tol: ‖∇f‖ below which a point is critical.
    """

    minima_x: np.ndarray
    minima_value: np.ndarray
    saddle_x: np.ndarray
    saddle_value: np.ndarray
    saddle_eigenvalues: np.ndarray
    edges: np.ndarray
    barrier: np.ndarray
    saddle_band: np.ndarray
    pairs: np.ndarray
    bands: Bands
    candidates: int
    rejected: int
    rounds: int
    grad_tol: float

    def graph(self) -> Any:
        """The minima–saddle graph as a ``networkx.MultiGraph``: node i (attribute
        ``value``) per minimum, one edge per saddle joining two distinct minima (attributes
        ``saddle`` (its row), ``value``, ``x``)."""
        import networkx as nx

        g = nx.MultiGraph()
        for i, v in enumerate(self.minima_value):
            g.add_node(i, value=float(v))
        for s, (a, b) in enumerate(self.edges):
            if a >= 0 and b >= 0 and a != b:
                g.add_edge(int(a), int(b), saddle=s, value=float(self.saddle_value[s]),
                           x=self.saddle_x[s])
        return g


def _pad(x: np.ndarray) -> np.ndarray:
    """``x`` ``[n, d]`` padded with copies of its first row to a multiple of ``ROWS`` rows."""
    return np.concatenate([x, np.broadcast_to(x[:1], (-len(x) % ROWS, x.shape[1]))])


def _newton(fn: Any, x: np.ndarray, radius: float, tol: float) -> np.ndarray:
    """Newton steps −H⁺∇f capped at ``radius`` from each row of ``x`` ``[n, d]`` until
    ‖∇f‖ ≤ ``tol`` (``saddle.critical.solver.settle``)."""
    return settle(fn, x, np.full(len(x), radius), tol, NEWTON_STEPS, ROWS)[0]


def _classify(fn: Any, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """(kind, index, ‖∇f‖, eigenvalues) of ``saddle.classify`` at the rows of ``x``."""
    c = classify(fn, _pad(x))
    n = len(x)
    return c.kind[:n], c.index[:n], c.grad_norm[:n], c.eigenvalues[:n]


def _interior_maxima(value: np.ndarray) -> list[tuple[int, int]]:
    """(band, image) of every interior local maximum of each energy profile ``[p, P]``."""
    v = value
    peak = (v[:, 1:-1] > v[:, :-2]) & (v[:, 1:-1] >= v[:, 2:])
    return [(int(b), int(i) + 1) for b, i in zip(*np.nonzero(peak), strict=True)]


def _distinct(x: np.ndarray) -> np.ndarray:
    """``[n]`` labels of the rows of ``x`` ``[n, d]`` that are one point: equal to the
    resolution of the coordinates, √ε·(1 + 2 max‖x‖)."""
    eps = np.finfo(x.dtype).eps
    return same_zero(x, float(np.sqrt(eps) * (1 + 2 * np.max(np.linalg.norm(x, axis=1)))))


def _match(new: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``[n]`` the row of ``known`` each row of ``new`` is (``_distinct``), −1 if none."""
    if not len(new):
        return np.zeros(0, int)
    if not len(known):
        return np.full(len(new), -1)
    label = _distinct(np.concatenate([known, new]))
    first = {int(lab): i for i, lab in reversed(list(enumerate(label[:len(known)])))}
    return np.array([first.get(int(lab), -1) for lab in label[len(known):]])


def connect_minima(
    objective: Objective,
    minima_x: Any,
    *,
    images: int = 17,
    steps: int = 2000,
    lr: float = 0.01,
    spring: float = 1.0,
    climb: float = 0.3,
    max_rounds: int = 3,
    grad_tol: float | None = None,
    x64: bool = True,
) -> MinimaDatabase:
    """Minima and the index-1 saddles between them, from bands between every pair of minima.

    Args:
      objective: an ``Objective`` with bounds (saddles outside them are rejected, descent
        paths that leave them end nowhere).
      minima_x: ``[m, d]`` known minima (m ≥ 2), e.g. the ``"minimum"`` rows of
        ``saddle.find_critical_points``; each is polished by Newton and must be a minimum.
      images, steps, lr, spring, climb: of each band (``saddle.landscape.neb``).
      max_rounds: rounds of bands; a round runs the bands between the minima found so far
        that have none yet, and stops early when no new minimum turns up.
      grad_tol: ‖∇f‖ at most this is critical; default √ε·(1 + median ‖∇f‖ on a 16 × 16
        grid over the box), ε of the working dtype.
      x64: work in float64 (default); False: in JAX's default dtype.

    Returns:
      ``MinimaDatabase``.

    Example:
      >>> import saddle
      >>> obj = saddle.objectives.get("muller_brown")
      >>> db = saddle.landscape.connect_minima(obj, obj.catalogue.x("minimum"), steps=500)
      >>> len(db.minima_value), sorted(db.saddle_value.round(2).tolist())
      (3, [-72.25, -40.66])
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a saddle.Objective, got {type(objective).__name__}")
    if objective.bounds is None:
        raise ValueError(f"objective {objective.name!r} has no box (bounds)")
    if objective.data is not None:
        raise ValueError(f"objective {objective.name!r} has data: connect_minima takes f(x)")
    minima = as_batch(minima_x, "minima_x", objective.dim)
    if minima.shape[0] < 2:
        raise ValueError(f"minima_x must hold at least two minima, got {minima.shape[0]}")
    images = positive_int(images, "images", 3)
    steps = positive_int(steps, "steps")
    lr, spring = positive_float(lr, "lr"), positive_float(spring, "spring")
    if not 0.0 <= float(climb) <= 1.0:
        raise ValueError(f"climb must lie in [0, 1], got {climb!r}")
    max_rounds = positive_int(max_rounds, "max_rounds")
    if grad_tol is not None:
        grad_tol = positive_float(grad_tol, "grad_tol")
    with float64(bool(x64)):
        return _connect(objective, np.asarray(minima), images, steps, lr, spring, float(climb),
                        max_rounds, grad_tol)


def _connect(obj: Objective, minima: np.ndarray, images: int, steps: int, lr: float,
             spring: float, climb: float, max_rounds: int,
             grad_tol: float | None) -> MinimaDatabase:
    fn = obj.fn
    dtype = jnp.asarray(0.0).dtype
    lo, hi = obj.lower, obj.upper
    diag = float(np.linalg.norm(hi - lo))
    radius = diag / 20
    if grad_tol is None:
        axes = [np.linspace(lo[i], hi[i], 16) for i in range(obj.dim)] if obj.dim <= 3 else None
        grid = (np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, obj.dim) if axes
                else lo + (hi - lo) * np.asarray(jax.random.uniform(
                    jax.random.PRNGKey(0), (256, obj.dim), dtype)))
        g = _classify(fn, grid.astype(dtype))[2]
        grad_tol = float(np.sqrt(np.finfo(dtype).eps) * (1 + np.median(g[np.isfinite(g)])))
    polish_tol = 1e-3 * grad_tol
    slack = 1e-6 * (hi - lo)

    def inside(x: np.ndarray) -> np.ndarray:
        return np.all((x >= lo - slack) & (x <= hi + slack), axis=1)

    def polish_minima(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Newton-polished points ``[n, d]`` and whether each is a certified minimum."""
        x = _newton(fn, np.asarray(x, dtype), radius, polish_tol)
        kind, _, gn, _ = _classify(fn, x)
        return x, (kind == "minimum") & (gn <= grad_tol) & inside(x)

    minima, ok = polish_minima(minima)
    if not np.all(ok):
        bad = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"minima_x row {bad} is not a minimum of {obj.name!r} inside its box "
                         f"(Newton from it ends at {minima[bad].tolist()}, kind "
                         f"{_classify(fn, minima[bad:bad + 1])[0][0]})")
    label = _distinct(minima)
    if len(np.unique(label)) < len(label):
        i, j = (int(k) for k in np.flatnonzero(label == label[np.argmax(np.bincount(label))])[:2])
        raise ValueError(f"minima_x rows {i} and {j} are one minimum")

    saddles = np.zeros((0, obj.dim), dtype)
    saddle_band = np.zeros(0, int)
    band_parts: list[Bands] = []
    pairs_done: list[tuple[int, int]] = []
    candidates = rejected = rounds = 0
    edges = np.zeros((0, 2), int)
    curvature = float(np.max(np.abs(_classify(fn, minima)[3])))
    while rounds < max_rounds:
        todo = [p for p in itertools.combinations(range(len(minima)), 2) if p not in pairs_done]
        if not todo:
            break
        rounds += 1
        pair = np.asarray(todo)
        bands = neb(fn, minima[pair[:, 0]], minima[pair[:, 1]], images=images, steps=steps,
                    lr=lr, spring=spring, climb=climb)
        offset = len(pairs_done)
        pairs_done += todo
        band_parts.append(bands)
        lam = _classify(fn, bands.path.reshape(-1, obj.dim))[3]
        curvature = max(curvature, float(np.max(np.abs(lam[np.isfinite(lam)]))))

        peaks = _interior_maxima(bands.value)
        candidates += len(peaks)
        if peaks:
            x0 = np.stack([bands.path[b, i] for b, i in peaks])
            x = _newton(fn, x0.astype(dtype), radius, polish_tol)
            kind, index, gn, _ = _classify(fn, x)
            good = (kind == "saddle") & (index == 1) & (gn <= grad_tol) & inside(x)
            rejected += int(np.sum(~good))
            x, where = x[good], np.array([offset + b for b, _ in peaks])[good]
            seen = _match(x, saddles)
            fresh_label = _distinct(x[seen < 0]) if np.any(seen < 0) else np.zeros(0, int)
            _, first = np.unique(fresh_label, return_index=True)
            new = x[seen < 0][np.sort(first)]
            saddles = np.concatenate([saddles, new])
            saddle_band = np.concatenate([saddle_band, where[seen < 0][np.sort(first)]])
        else:
            new = np.zeros((0, obj.dim), dtype)
        if not len(new):
            break
        ends, minima, grew = _descend_both_ways(fn, new, minima, curvature, radius, polish_minima,
                                               diag)
        edges = np.concatenate([edges, ends])
        if not grew:
            break

    value = np.asarray(jax.vmap(fn)(jnp.asarray(minima, dtype)))
    s_value = (np.asarray(jax.vmap(fn)(jnp.asarray(saddles, dtype))) if len(saddles)
               else np.zeros(0))
    s_eig = _classify(fn, saddles)[3] if len(saddles) else np.zeros((0, obj.dim))
    low = np.where(edges >= 0, value[np.maximum(edges, 0)], np.nan)
    bands = Bands(*(np.concatenate([getattr(b, f.name) for b in band_parts])
                    for f in dataclasses.fields(Bands)))
    return MinimaDatabase(
        minima_x=minima, minima_value=value, saddle_x=saddles, saddle_value=s_value,
        saddle_eigenvalues=s_eig, edges=edges, barrier=s_value[:, None] - low,
        saddle_band=saddle_band, pairs=np.asarray(pairs_done), bands=bands,
        candidates=candidates, rejected=rejected, rounds=rounds, grad_tol=grad_tol)


def _descend_both_ways(fn: Any, saddles: np.ndarray, minima: np.ndarray, curvature: float,
                       radius: float, polish: Any, diag: float
                       ) -> tuple[np.ndarray, np.ndarray, bool]:
    """The minima ``[s, 2]`` that steepest descent reaches from each saddle along ± its
    unstable eigenvector (−1: none), the minima extended by new ones, and whether any was
    new. Descent: gradient descent with step 1/(2L) (within the step of the gradient flow),
    started 10⁻³ × box diagonal off the saddle, then Newton."""
    if not len(saddles):
        return np.zeros((0, 2), int), minima, False
    v = np.stack([escape_direction(fn, s).vector for s in saddles])
    x0 = np.concatenate([saddles + 1e-3 * diag * v, saddles - 1e-3 * diag * v])
    run = descend(fn, _pad(x0), optax.sgd(0.5 / curvature), DESCENT_STEPS)
    x, ok = polish(np.asarray(run.x)[:len(x0)])
    ok &= ~np.asarray(run.diverged)[:len(x0)]
    which = np.where(ok, _match(x, minima), -1)
    fresh = np.flatnonzero(ok & (which < 0))
    grew = bool(fresh.size)
    if grew:
        label = _distinct(x[fresh])
        _, first = np.unique(label, return_index=True)
        order = {int(lab): len(minima) + k for k, lab in enumerate(label[np.sort(first)])}
        which[fresh] = [order[int(lab)] for lab in label]  # numbered in order of appearance
        minima = np.concatenate([minima, x[fresh[np.sort(first)]]])
    n = len(saddles)
    return np.stack([which[:n], which[n:]], axis=1), minima, grew
