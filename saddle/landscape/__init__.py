"""Paths between minima and the landscape they map out (low-dimensional objectives).

``neb``: climbing-image nudged elastic bands between many pairs of points at once.
``database``: minima and the index-1 saddles that connect them, de-duplicated.
``disconnectivity``: the tree of minima merged at the barrier heights where they
connect (Becker & Karplus 1997), and its drawing.
"""

from saddle.landscape.database import MinimaDatabase, connect_minima
from saddle.landscape.disconnectivity import MergeTree, draw, merge_tree
from saddle.landscape.neb import Bands, neb, straight_bands

__all__ = ["Bands", "MergeTree", "MinimaDatabase", "connect_minima", "draw", "merge_tree", "neb",
           "straight_bands"]
