"""De-duplication of end points: ``saddle.critical.merge.connected`` against the box-merge it
replaced (``legacy_representatives``, frozen here: a grid of cells of the merge distance,
then greedy leader clustering of the cells' best points, O(cells × points found)).

Two workloads, end points as the solver leaves them:

* ``rastrigin3``: the 9261 critical points of 3-D Rastrigin in [−5.12, 5.12]³, each end
  point one of them plus a relative jitter of 10⁻¹³ (Newton's polish): isolated points,
  merged by step 1 (same zero) alone. n up to 10⁶.
* ``plateau``: n distinct points spread over a flat square (f = 0 on it), the worst case
  for both: every point is distinct, so the legacy clustering is O(n²), and the new
  step 2 tests ~3n pairs by Newton from points along their segments.

``python -m benchmarks.dedup`` prints a table (seconds, and legacy ÷ new where both ran)
and writes ``results/benchmarks/dedup.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from saddle.basins import cluster
from saddle.critical.merge import connected
from saddle.precision import float64


def legacy_representatives(x: np.ndarray, score: np.ndarray, tol: float
                           ) -> tuple[np.ndarray, np.ndarray]:
    """The finder's merge before issue 8 (frozen copy): points closer than ``tol`` are one."""
    if not len(x):
        return np.zeros(0, int), np.zeros(0, int)
    keys = np.floor(x / tol).astype(np.int64)
    _, group, size = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()

    def best_per(labels: np.ndarray, s: np.ndarray) -> np.ndarray:
        order = np.lexsort((s, labels))
        return order[np.r_[True, labels[order][1:] != labels[order][:-1]]]

    best = best_per(group, score)
    _, labels = cluster(x[best], tol)
    return best[best_per(labels, score[best])], np.bincount(labels, weights=size).astype(int)


def rastrigin(x: jnp.ndarray) -> jnp.ndarray:
    return 10 * x.shape[0] + jnp.sum(x**2 - 10 * jnp.cos(2 * jnp.pi * x))


def flat(x: jnp.ndarray) -> jnp.ndarray:
    return 0.0 * jnp.sum(x)


def rastrigin_points() -> np.ndarray:
    """``[9261, 3]``: products of the 21 critical points of 1-D Rastrigin in [−5.12, 5.12]
    (2x + 20π sin 2πx = 0, solved by Newton from the half-integers' neighbourhood)."""
    t = np.arange(-5, 5.5, 0.5)
    for _ in range(50):
        t = t - (2 * t + 20 * np.pi * np.sin(2 * np.pi * t)) / (2 + 40 * np.pi**2
                                                                 * np.cos(2 * np.pi * t))
    return np.stack(np.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3)


def workload(name: str, n: int, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    if name == "rastrigin3":
        pts = rastrigin_points()
        z = pts[rng.integers(0, len(pts), n)]
        z = z * (1 + 1e-13 * rng.standard_normal(z.shape))
        value = 30 + np.sum(z**2 - 10 * np.cos(2 * np.pi * z), axis=1)
        return rastrigin, z, value, np.zeros(n, int), 2 * np.sqrt(3) * 5.12
    z = rng.uniform(-1, 1, (n, 2))
    return flat, z, np.zeros(n), np.full(n, 2), 2 * np.sqrt(2)


def measure(name: str, n: int, legacy: bool) -> dict:
    fn, z, value, nullity, diag = workload(name, n)
    score = np.zeros(n)
    with float64():
        connected(fn, z[:64], value[:64], nullity[:64], score[:64], 1e-8)  # compile
        t = time.perf_counter()
        groups = connected(fn, z, value, nullity, score, 1e-8)
        new_s = time.perf_counter() - t
    row = {"workload": name, "n": n, "new_s": new_s, "groups": int(groups.label.max()) + 1}
    if legacy:
        t = time.perf_counter()
        rep, _ = legacy_representatives(z, score, 1e-3 * diag)
        row.update(legacy_s=time.perf_counter() - t, legacy_groups=len(rep))
        row["legacy_over_new"] = row["legacy_s"] / new_s
    return row


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000",
                   help="numbers of end points for rastrigin3 (comma-separated)")
    p.add_argument("--plateau", default="4096,16384", help="numbers of plateau points")
    p.add_argument("--legacy-max", type=int, default=16384,
                   help="run the O(n·m) legacy merge only up to this many points")
    p.add_argument("--out", default="results/benchmarks/dedup.json")
    a = p.parse_args(argv)
    rows = []
    for name, sizes in (("rastrigin3", a.sizes), ("plateau", a.plateau)):
        for n in (int(s) for s in sizes.split(",") if s):
            rows.append(row := measure(name, n, n <= a.legacy_max))
            print(f"{name:11s} n={n:>8d}  new {row['new_s']:8.2f} s  groups {row['groups']:6d}"
                  + (f"  legacy {row['legacy_s']:8.2f} s  groups {row['legacy_groups']:6d}"
                     f"  legacy/new {row['legacy_over_new']:7.1f}" if "legacy_s" in row else ""),
                  flush=True)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows, indent=1))
    tmp.replace(out)
    return rows


if __name__ == "__main__":
    main()
