"""Local geometry in two tiers.

Dense (``dense``, for d up to a few thousand): Hessians, eigenvalues, ``classify``.
Krylov (for any d, on Hessian-vector products): ``krylov`` (HVPs, Lanczos), ``spectrum``
(extreme eigenpairs at both ends, sharpness, SLQ spectral density), ``trace``
(Hutchinson, Hutch++), ``outliers`` (a spectrum as bulk plus outliers; SLQ against the
exact spectrum), ``batch`` (any of them over many points, in chunks).
"""

from saddle.curvature.batch import extreme_eigenpairs_batch, over_points
from saddle.curvature.dense import (
    Classification,
    classify,
    default_eig_tol,
    eigenvalues,
    hessian,
    kind_codes,
)
from saddle.curvature.krylov import Tridiagonal, hessian_operator, hvp, lanczos, top_eigenpair
from saddle.curvature.outliers import (
    Outliers,
    count_outliers,
    slq_moments,
    smoothed_ks,
    wasserstein1,
)
from saddle.curvature.spectrum import (
    Extremes,
    SpectralDensity,
    density_on_grid,
    extreme_eigenpairs,
    sharpness,
    slq_density,
)
from saddle.curvature.trace import TraceEstimate, hutchinson_trace, hutchpp_trace

__all__ = [
    "Classification",
    "Extremes",
    "Outliers",
    "SpectralDensity",
    "TraceEstimate",
    "Tridiagonal",
    "classify",
    "count_outliers",
    "default_eig_tol",
    "density_on_grid",
    "eigenvalues",
    "extreme_eigenpairs",
    "extreme_eigenpairs_batch",
    "hessian",
    "hessian_operator",
    "hutchinson_trace",
    "hutchpp_trace",
    "hvp",
    "kind_codes",
    "lanczos",
    "over_points",
    "sharpness",
    "slq_density",
    "slq_moments",
    "smoothed_ks",
    "top_eigenpair",
    "wasserstein1",
]
