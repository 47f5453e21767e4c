"""Objectives: pure functions ``[d] -> scalar`` with bounds and catalogued critical points."""

from saddle.objectives import classic, random, saddles, toys  # noqa: F401  (registers the families)
from saddle.objectives.core import KINDS, CriticalPoint, Objective, get, is_n_dim, names, register
from saddle.objectives.random import goe_matrix, goe_quadratic

__all__ = ["KINDS", "CriticalPoint", "Objective", "get", "goe_matrix", "goe_quadratic",
           "is_n_dim", "names", "register"]
