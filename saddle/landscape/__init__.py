"""Paths between minima and the landscape they map out (low-dimensional objectives).

``neb``: climbing-image nudged elastic bands between many pairs of points at once.
``database``: minima and the index-1 saddles that connect them, de-duplicated.
``disconnectivity``: the tree of minima merged at the barrier heights where they
connect (Becker & Karplus 1997), and its drawing.
``slices``: 1-D interpolations, filter-normalised 2-D slices and the PCA plane of a training
trajectory, evaluated in resumable chunks.
``align``: hidden units of two MLPs matched (permutations, sign flips) before comparing them.
``bezier``: quadratic Bézier curves between two minima, their control point trained
(Garipov et al. 2018).
"""

from saddle.landscape.align import permute_units, weight_match
from saddle.landscape.bezier import (
    BezierFit,
    bezier_losses,
    bezier_point,
    peak_barrier,
    train_bezier,
)
from saddle.landscape.database import MinimaDatabase, connect_minima
from saddle.landscape.disconnectivity import MergeTree, draw, merge_tree
from saddle.landscape.neb import Bands, neb, straight_bands
from saddle.landscape.slices import (
    PCAPlane,
    barrier,
    filter_normalize,
    interpolate,
    max_rise,
    on_plane,
    pca_plane,
    random_directions,
    surface,
)

__all__ = ["Bands", "BezierFit", "MergeTree", "MinimaDatabase", "PCAPlane", "barrier",
           "bezier_losses", "bezier_point", "connect_minima", "draw", "filter_normalize",
           "interpolate", "max_rise", "merge_tree", "neb", "on_plane", "pca_plane",
           "peak_barrier", "permute_units", "random_directions", "straight_bands", "surface",
           "train_bezier", "weight_match"]
