"""Objectives: pure scalar functions of parameters (a flat vector or a pytree), with an optional
box, an optional start sampler, and catalogues of known critical points kept apart."""

from saddle.objectives import classic, random, saddles, toys  # noqa: F401  (registers the families)
from saddle.objectives.core import (
    KINDS,
    Catalogue,
    CriticalPoint,
    Objective,
    get,
    is_n_dim,
    names,
    register,
)
from saddle.objectives.random import goe_matrix, goe_quadratic

__all__ = ["KINDS", "Catalogue", "CriticalPoint", "Objective", "get", "goe_matrix", "goe_quadratic",
           "is_n_dim", "names", "register"]
