"""Which converged end points are one critical point, and which form a set of them.

Never by a fraction of the box: two end points are merged by what they are.

1. **Same zero.** Each end point x carries the zero of its local quadratic model,
   z = x − H⁺∇f (one Newton step). Two end points whose z agree to the resolution of the
   coordinates, ‖zᵢ − zⱼ‖ ≤ √ε·(1 + 2 max‖z‖), reached one nondegenerate critical point
   (Newton polishes those to ~ε, and no two distinct ones are that close unless the
   Hessian is singular at the scale of the gradient tolerance). Found with a grid hash
   and a k-d tree: O(n log n).
2. **Connected through critical points.** A nondegenerate critical point is isolated, so
   only end points whose Hessian is singular (a zero eigenvalue, |λ| ≤ √ε·(1 + max|λ|))
   can lie on a set of them. Among the distinct such points of equal value (f within
   √ε·(1 + |fᵢ| + |fⱼ|)), each is tested against its ``neighbours`` nearest, then each
   group against its nearest other groups: i and j are joined when Newton from the points
   at 1/4, 1/2 and 3/4 of the segment between them (steps capped at ‖zᵢ − zⱼ‖/16,
   stopping at ‖∇f‖ ≤ grad_tol) settles, from each, at a critical point within
   ‖zᵢ − zⱼ‖/8 whose value equals fᵢ and fⱼ. Samples along a ring, a line or a plateau
   of critical points pass (the chord's sag is small against its length); two distinct
   points fail (Newton from between them lands on one of them, a quarter of the way or
   more, or on a point of another value), even on a lattice of equal-valued points,
   where a midpoint alone may be a third such point. Chains of joined pairs make a set.

A group is then one **point** when its members share one zero (step 1), and a **set**
when they do not: its dimension k, the median number of zero eigenvalues over its
distinct members, is that of its tangent space; its kind is that of the Hessian across
it (the other d − k eigenvalues).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from saddle.critical.solver import Fn, settle

_ALONG = (0.25, 0.5, 0.75)  # where a segment between two end points is tested


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """``[n]`` connected-component labels of the graph on n nodes with ``edges`` ``[e, 2]``."""
    if not len(edges):
        return np.arange(n)
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def same_zero(z: np.ndarray, resolution: float) -> np.ndarray:
    """``[n]`` labels: rows of ``z`` ``[n, d]`` within ``resolution`` of each other, by chains.

    A grid of cells of side resolution/√d groups exact and near duplicates first (two
    points in one cell are within ``resolution``), then a k-d tree joins the cells'
    first points within ``resolution``.
    """
    n, d = z.shape
    if not n:
        return np.zeros(0, int)
    cells = np.floor(z / (resolution / np.sqrt(d))).astype(np.int64)
    _, first, cell = np.unique(cells, axis=0, return_index=True, return_inverse=True)
    pairs = cKDTree(z[first]).query_pairs(resolution, output_type="ndarray")
    return components(len(first), pairs)[cell.ravel()]


@dataclasses.dataclass(frozen=True)
class Groups:
    """End points grouped into critical points and sets (``n`` end points).

    label ``[n]``: group of each end point, 0..g−1; distinct ``[n]``: its same-zero group
    (step 1), 0..s−1; n_distinct ``[g]``: same-zero groups in each group.
    """

    label: np.ndarray
    distinct: np.ndarray
    n_distinct: np.ndarray


def _value_classes(value: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """``[s]`` labels of runs of sorted ``value`` whose neighbours differ by at most ``tol``."""
    order = np.argsort(value, kind="stable")
    v = value[order]
    cut = np.r_[False, np.diff(v) > np.minimum(tol[order][1:], tol[order][:-1])]
    label = np.empty(len(v), int)
    label[order] = np.cumsum(cut)
    return label


def _nearest_outside(z: np.ndarray, label: np.ndarray, members: np.ndarray, width: int
                     ) -> np.ndarray:
    """Edges ``[e, 2]`` from the component ``members`` to the ``width`` nearest other
    components: per other component, the shortest edge (a k-d tree of the points outside)."""
    outside = np.flatnonzero(label != label[members[0]])
    k = min(4 * width, len(outside))
    dist, nn = cKDTree(z[outside]).query(z[members], k)
    dist, nn = dist.reshape(len(members), k).ravel(), outside[nn.reshape(len(members), k).ravel()]
    src = np.repeat(members, k)
    order = np.argsort(dist, kind="stable")
    _, first = np.unique(label[nn[order]], return_index=True)
    best = order[np.sort(first)][:width]  # the nearest edge into each of the nearest components
    return np.stack([src[best], nn[best]], 1)


def connected(fn: Fn, z: np.ndarray, value: np.ndarray, nullity: np.ndarray,
              score: np.ndarray, grad_tol: float, neighbours: int = 6, width: int = 3,
              rounds: int = 32) -> Groups:
    """Group end points ``[n, d]`` (their model zeros ``z``, values ``[n]``, zero
    eigenvalues of their Hessian ``nullity`` ``[n]``) into critical points and sets (module
    docstring). ``score`` ``[n]`` (lower is better, e.g. ‖∇f‖) picks the member that
    stands for a same-zero group in step 2.

    Step 2 runs among points of equal value (their f within √ε·(1 + |fᵢ| + |fⱼ|)): first
    each against its ``neighbours`` nearest, then, in rounds (Borůvka-like, up to
    ``rounds``), each group against its ``width`` nearest other groups, so that samples
    spread unevenly along one set (a dense bunch whose nearest neighbours all lie inside
    it) still join."""
    if not len(z):
        return Groups(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int))
    eps = np.finfo(z.dtype).eps
    resolution = float(np.sqrt(eps) * (1 + 2 * np.max(np.linalg.norm(z, axis=1))))
    distinct = same_zero(z, resolution)
    s = int(distinct.max()) + 1
    order = np.lexsort((score, distinct))
    rep = order[np.r_[True, distinct[order][1:] != distinct[order][:-1]]]  # [s], by group
    zr, fr, flat = z[rep], value[rep], nullity[rep] >= 1
    f_scale = np.sqrt(eps) * (1 + np.abs(fr))

    def test(pairs: np.ndarray) -> np.ndarray:
        """The pairs ``[e, 2]`` joined through critical points (module docstring)."""
        i, j = pairs[:, 0], pairs[:, 1]
        f_tol = f_scale[i] + f_scale[j]
        pairs = pairs[np.abs(fr[i] - fr[j]) <= f_tol]
        if not len(pairs):
            return pairs
        i, j = pairs[:, 0], pairs[:, 1]
        f_tol = np.tile(f_scale[i] + f_scale[j], len(_ALONG))
        gap = np.tile(np.linalg.norm(zr[i] - zr[j], axis=1), len(_ALONG))
        at = np.concatenate([(1 - t) * zr[i] + t * zr[j] for t in _ALONG])
        p, fp, gp = settle(fn, at, gap / 16, grad_tol)
        ok = ((gp <= grad_tol) & (np.linalg.norm(p - at, axis=1) <= gap / 8)
              & (np.abs(fp - np.tile(fr[i], len(_ALONG))) <= f_tol)
              & (np.abs(fp - np.tile(fr[j], len(_ALONG))) <= f_tol))
        return pairs[ok.reshape(len(_ALONG), -1).all(axis=0)]

    edges = [np.zeros((0, 2), int)]
    classes = _value_classes(fr, f_scale)
    for cls in np.unique(classes):
        idx = np.flatnonzero((classes == cls) & flat)  # local index → rep index
        if len(idx) < 2:
            continue
        k = min(neighbours, len(idx) - 1)
        _, nn = cKDTree(zr[idx]).query(zr[idx], k + 1)
        pairs = np.sort(np.stack([np.repeat(idx, k), idx[nn[:, 1:].ravel()]], 1), axis=1)
        edges.append(test(np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)))
        closed: set[tuple[int, int]] = set()  # (first member, size): unchanged and tried
        for _ in range(rounds):
            local = components(s, np.concatenate(edges))[idx]
            groups = [np.flatnonzero(local == c) for c in np.unique(local)]
            todo = [g for g in groups if (int(g[0]), len(g)) not in closed]
            if len(groups) < 2 or not todo:
                break
            cand = idx[np.concatenate([_nearest_outside(zr[idx], local, g, width)
                                       for g in todo])]
            joined = test(np.unique(np.sort(cand, axis=1), axis=0))
            closed |= {(int(g[0]), len(g)) for g in todo}
            if not len(joined):
                break
            edges.append(joined)
    label = components(s, np.concatenate(edges))
    _, label = np.unique(label, return_inverse=True)
    return Groups(label=label[distinct], distinct=distinct,
                  n_distinct=np.bincount(label, minlength=int(label.max()) + 1))


def leaders(x: np.ndarray, score: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy leader clustering in order of ``score``: the best unassigned point takes every
    unassigned point within ``tol``. Returns (leaders' indices into ``x`` ``[m]``, labels
    ``[n]``); one k-d tree query per leader."""
    if not len(x):
        return np.zeros(0, int), np.zeros(0, int)
    tree = cKDTree(x)
    label = np.full(len(x), -1)
    lead = []
    for i in np.argsort(score, kind="stable"):
        if label[i] >= 0:
            continue
        near = np.asarray(tree.query_ball_point(x[i], tol), dtype=int)
        label[near[label[near] < 0]] = len(lead)
        lead.append(i)
    return np.asarray(lead, dtype=int), label
