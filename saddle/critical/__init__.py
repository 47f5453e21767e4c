"""Critical points of every kind (minima, saddles, maxima), not only the minima optimizers find.

``find_critical_points`` (``find``) runs a compiled Newton / Newton-MR solver (``solver``)
from many starts, merges end points by what they are and reports sets of critical points
once (``merge``), and says how complete the search probably is (Chao1). ``catalogue``
checks found points against an objective's catalogue of known ones. For networks, where
no dense Hessian fits, ``newton_mr`` (``hessian_free``) runs Newton-MR with MINRES on
Hessian-vector products.
"""

from saddle.critical.catalogue import (
    CatalogueMatch,
    compare_catalogue,
    index_counts,
    match_catalogue,
    separable_index_counts,
)
from saddle.critical.certify import Certificate, certify_minima
from saddle.critical.find import (
    CriticalPoints,
    CriticalSet,
    IncompleteSearchWarning,
    find_critical_points,
)
from saddle.critical.hessian_free import HessianFreeResult, minres, newton_mr
from saddle.critical.index_law import IndexLawFit, fit_index_law, index_law
from saddle.critical.solver import METHODS, newton_solve
from saddle.escape import EscapeDirection, escape_direction  # noqa: F401  (moved; re-exported)

__all__ = [
    "METHODS",
    "CatalogueMatch",
    "Certificate",
    "CriticalPoints",
    "CriticalSet",
    "HessianFreeResult",
    "IncompleteSearchWarning",
    "IndexLawFit",
    "certify_minima",
    "compare_catalogue",
    "find_critical_points",
    "fit_index_law",
    "index_counts",
    "index_law",
    "match_catalogue",
    "minres",
    "newton_mr",
    "newton_solve",
    "separable_index_counts",
]
