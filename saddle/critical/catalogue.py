"""Found critical points against an objective's catalogue of known ones, and index counts."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from saddle._checks import positive_float, positive_int
from saddle.basins import assign
from saddle.objectives.core import Objective

if TYPE_CHECKING:
    from saddle.critical.find import CriticalPoints

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
