"""saddle: measure the geometry of non-convex optimization with JAX.

>>> import saddle
>>> obj = saddle.objectives.get("himmelblau")
>>> saddle.classify(obj, obj.known_x()).kind.tolist().count("saddle")
4
"""

from saddle import (
    basins,
    closures,
    compare,
    critical,
    curvature,
    data,
    descent,
    distributed,
    engine,
    escape,
    experiment,
    goe,
    landscape,
    monitors,
    newton,
    objectives,
    optimizers,
    signal_propagation,
    smoothness,
    stability,
    starts,
    stats,
)
from saddle.basins import BasinStats, basin_stats
from saddle.critical import CriticalPoints, find_critical_points
from saddle.curvature import Classification, classify, eigenvalues, hessian, hvp
from saddle.descent import Escape, Run, descend, use_cpu_cores
from saddle.escape import EscapeDirection, escape_direction
from saddle.objectives import Catalogue, CriticalPoint, Objective
from saddle.stats import wilson_interval

__version__ = "0.1.0"

__all__ = [
    "BasinStats",
    "Catalogue",
    "Classification",
    "CriticalPoint",
    "CriticalPoints",
    "Escape",
    "EscapeDirection",
    "Objective",
    "Run",
    "basin_stats",
    "basins",
    "classify",
    "closures",
    "compare",
    "critical",
    "curvature",
    "data",
    "descend",
    "descent",
    "distributed",
    "eigenvalues",
    "engine",
    "escape",
    "escape_direction",
    "experiment",
    "find_critical_points",
    "goe",
    "hessian",
    "hvp",
    "landscape",
    "monitors",
    "newton",
    "objectives",
    "optimizers",
    "signal_propagation",
    "smoothness",
    "stability",
    "starts",
    "stats",
    "use_cpu_cores",
    "wilson_interval",
]
