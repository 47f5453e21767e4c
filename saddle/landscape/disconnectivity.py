"""Disconnectivity graphs: minima merged into superbasins at the barrier heights that join them.

Two minima lie in one superbasin at energy E when a path between them never rises above
E; the lowest such E is the minimax saddle energy between them. Raising E merges
superbasins at the saddles in order of energy, which is Kruskal's algorithm on the
minima–saddle graph with edges weighted by saddle energy: the merges are the edges of
its minimum spanning tree (``networkx``), taken in ascending order with a union–find.
The result is a binary tree whose leaves (the minima) hang at their energies and whose
internal nodes sit at the merge energies; drawn, it is the disconnectivity graph of
Becker & Karplus (1997) at continuous energy resolution.

References:
  O. M. Becker, M. Karplus, "The topology of multidimensional potential energy surfaces:
  Theory and application to peptide structure and kinetics", J. Chem. Phys. 106, 1495
  (1997). D. J. Wales, M. A. Miller, T. R. Walsh, "Archetypal energy landscapes",
  Nature 394, 758 (1998).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class MergeTree:
    """The merge tree of ``m`` minima. Nodes 0..m−1 are the minima; node m + k is the k-th
    merge. value ``[m + k]``: the energy of each node (a minimum's value, a merge's saddle
    energy); children ``[k, 2]``: the two nodes each merge joins; level ``[k]``: the merge
    energies, ascending (``value[m:]``); saddle ``[k]``: the edge (saddle row) of each
    merge; roots: nodes without a parent (one when the graph is connected)."""

    value: np.ndarray
    children: np.ndarray
    saddle: np.ndarray
    roots: tuple[int, ...]
    n_minima: int

    @property
    def level(self) -> np.ndarray:
        return self.value[self.n_minima:]

    @property
    def connected(self) -> bool:
        return len(self.roots) == 1

    def barrier(self, i: int, j: int) -> float:
        """The lowest energy at which minima ``i`` and ``j`` share a superbasin (the
        minimax saddle energy of the paths between them; ``inf`` if none connects them)."""
        parent = np.full(len(self.value), -1)
        for k, (a, b) in enumerate(self.children):
            parent[[a, b]] = self.n_minima + k
        up, node = set(), int(i)
        while node >= 0:
            up.add(node)
            node = parent[node]
        node = int(j)
        while node >= 0 and node not in up:
            node = parent[node]
        if node < 0:
            return float("inf")
        return float(self.value[node]) if node >= self.n_minima else float(self.value[i])


def merge_tree(minima_value: Any, edges: Any, saddle_value: Any) -> MergeTree:
    """The merge tree of minima with energies ``minima_value`` ``[m]`` joined by saddles:
    ``edges`` ``[s, 2]`` (the two minima of each saddle; a row with −1 or two equal entries
    joins nothing) at energies ``saddle_value`` ``[s]`` (module docstring).

    Example:
      >>> t = merge_tree([0.0, 1.0, 2.0], [[0, 1], [1, 2], [0, 2]], [3.0, 5.0, 4.0])
      >>> t.level.tolist(), t.barrier(1, 2)
      ([3.0, 4.0], 4.0)
    """
    import networkx as nx
    from networkx.utils import UnionFind

    value = np.asarray(minima_value, dtype=float)
    edges = np.asarray(edges)
    saddle_value = np.asarray(saddle_value, dtype=float)
    if value.ndim != 1 or not len(value) or not np.all(np.isfinite(value)):
        raise ValueError(f"minima_value must be a finite vector [m] with m >= 1, got shape "
                         f"{value.shape}")
    if edges.size == 0:
        edges = edges.reshape(0, 2)
    if edges.ndim != 2 or edges.shape[1] != 2 or not np.issubdtype(edges.dtype, np.integer):
        raise ValueError(f"edges must be integers of shape [s, 2], got shape {edges.shape} "
                         f"dtype {edges.dtype}")
    if saddle_value.shape != (len(edges),) or not np.all(np.isfinite(saddle_value)):
        raise ValueError(f"saddle_value must be finite with shape ({len(edges)},) like edges, "
                         f"got shape {saddle_value.shape}")
    m = len(value)
    if np.any(edges >= m) or np.any(edges < -1):
        raise ValueError(f"edges must hold minima 0..{m - 1} (or −1 for none)")
    g = nx.Graph()
    g.add_nodes_from(range(m))
    for s, (a, b) in enumerate(edges.tolist()):
        if a < 0 or b < 0 or a == b:
            continue
        if saddle_value[s] < max(value[a], value[b]):
            raise ValueError(f"saddle_value[{s}] = {saddle_value[s]} lies below a minimum it "
                             f"joins ({a}: {value[a]}, {b}: {value[b]})")
        if not g.has_edge(a, b) or saddle_value[s] < g[a][b]["weight"]:
            g.add_edge(a, b, weight=float(saddle_value[s]), saddle=s)
    mst = sorted(nx.minimum_spanning_edges(g, weight="weight", data=True),
                 key=lambda e: (e[2]["weight"], e[2]["saddle"]))
    sets, top = UnionFind(range(m)), {i: i for i in range(m)}
    node_value, children, saddles = list(value), [], []
    for a, b, data in mst:
        ra, rb = sets[a], sets[b]
        children.append((top[ra], top[rb]))
        saddles.append(data["saddle"])
        node_value.append(data["weight"])
        sets.union(ra, rb)
        top[sets[a]] = len(node_value) - 1
    roots = tuple(sorted(top[r] for r in {sets[i] for i in range(m)}))
    return MergeTree(value=np.asarray(node_value),
                     children=np.asarray(children, int).reshape(-1, 2),
                     saddle=np.asarray(saddles, int), roots=roots, n_minima=m)


def draw(ax: Any, tree: MergeTree, *, labels: Sequence[str] | None = None,
         color: str = "k", linewidth: float = 1.2) -> np.ndarray:
    """Draw the disconnectivity graph of ``tree`` on ``ax``: a vertical line from each
    node up to its merge, a horizontal bar joining the two at the merge energy, energy on
    the vertical axis; separate trees side by side. Leaves are ordered so that no lines
    cross; ``labels`` (one per minimum) are written under them. Returns the horizontal
    position ``[m]`` of each minimum."""
    m = tree.n_minima
    kids = {m + k: tuple(c) for k, c in enumerate(tree.children)}
    order: list[int] = []

    def leaves(node: int) -> None:
        if node < m:
            order.append(node)
            return
        a, b = sorted(kids[node], key=lambda c: tree.value[c])  # deeper side first
        leaves(a)
        leaves(b)

    for root in sorted(tree.roots, key=lambda r: tree.value[r]):
        leaves(root)
    xpos = np.zeros(len(tree.value))
    xpos[order] = np.arange(m)
    for k, (a, b) in enumerate(tree.children):
        xpos[m + k] = 0.5 * (xpos[a] + xpos[b])
        level = tree.value[m + k]
        for c in (a, b):
            ax.plot([xpos[c], xpos[c]], [tree.value[c], level], color=color, lw=linewidth)
        ax.plot([xpos[a], xpos[b]], [level, level], color=color, lw=linewidth)
    span = float(np.ptp(tree.value)) or 1.0
    for r in tree.roots:  # a short stub above each tree
        ax.plot([xpos[r], xpos[r]], [tree.value[r], tree.value[r] + 0.08 * span], color=color,
                lw=linewidth)
    if labels is not None:
        ax.set_xticks(xpos[:m], [str(s) for s in labels])
    else:
        ax.set_xticks([])
    ax.set_xlim(-0.6, m - 0.4)
    ax.set_ylabel("energy")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return xpos[:m]
