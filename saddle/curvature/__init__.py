"""Local geometry in two tiers.

Dense (``dense``, for d up to a few thousand): Hessians, eigenvalues, ``classify``.
Krylov (``krylov``, for any d): Hessian-vector products and Lanczos on them.
"""

from saddle.curvature.dense import (
    Classification,
    classify,
    default_eig_tol,
    eigenvalues,
    hessian,
    kind_codes,
)
from saddle.curvature.krylov import hvp, lanczos, top_eigenpair

__all__ = [
    "Classification",
    "classify",
    "default_eig_tol",
    "eigenvalues",
    "hessian",
    "hvp",
    "kind_codes",
    "lanczos",
    "top_eigenpair",
]
