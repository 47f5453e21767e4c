"""Derive the critical-point catalogue of the 2-D classic objectives (catalogue.json).

Run: python tools/derive_catalogue.py   (about a minute on 2 CPU cores)
     python tools/derive_catalogue.py muller_brown   (only these; the others are kept)

Method: float64 Newton on ∇f = 0 with the step capped at 1/20 of the box
(a trust region), 200 iterations from every node of a 301 × 301 grid over the
bounds. Points with ‖∇f‖ < 1e-8·(1 + median ‖∇f‖ on the grid) that lie in the
bounds are de-duplicated (distance < 1e-5 of the box diagonal) and classified by
the eigenvalues of the Hessian (|λ| < 1e-8·max|λ| counts as zero).

It deliberately does not call ``saddle.find_critical_points``: the catalogue is what
the finder is tested against, so it comes from a separate, deliberately plain
computation (a full grid of starts, plain trust-region Newton, float64 throughout).
"""

import json
import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from saddle.objectives import get  # noqa: E402

NAMES = ["himmelblau", "six_hump_camel", "three_hump_camel", "branin", "beale",
         "goldstein_price", "levy", "muller_brown"]
OUT = Path(__file__).resolve().parents[1] / "saddle" / "objectives" / "catalogue.json"


def newton_from_grid(obj, n_grid=301, iters=200):
    lo, hi = obj.lower, obj.upper
    axes = [np.linspace(lo[i], hi[i], n_grid) for i in range(2)]
    x0 = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    grad, hess = jax.grad(obj.fn), jax.hessian(obj.fn)
    radius = np.linalg.norm(hi - lo) / 20

    def step(x, _):
        g, h = grad(x), hess(x)
        dx = jnp.linalg.solve(h + 1e-300 * jnp.eye(2), g)
        n = jnp.linalg.norm(dx)
        dx = jnp.where(jnp.isfinite(n), dx * jnp.minimum(1.0, radius / n), 0.0)
        return x - dx, None

    solve = jax.jit(jax.vmap(lambda x: jax.lax.scan(step, x, None, iters)[0]))
    xs = np.asarray(solve(jnp.asarray(x0)))
    gn0 = np.median(np.linalg.norm(np.asarray(jax.vmap(grad)(jnp.asarray(x0))), axis=1))
    return xs, gn0


def catalogue(obj):
    xs, gscale = newton_from_grid(obj)
    grad, hess = jax.vmap(jax.grad(obj.fn)), jax.vmap(jax.hessian(obj.fn))
    ok = np.all(np.isfinite(xs), axis=1)
    xs = xs[ok]
    gn = np.linalg.norm(np.asarray(grad(jnp.asarray(xs))), axis=1)
    tol = 1e-8 * (1 + gscale)
    span = obj.upper - obj.lower
    inside = np.all((xs >= obj.lower - 1e-9 * span) & (xs <= obj.upper + 1e-9 * span), axis=1)
    xs = xs[(gn < tol) & inside]
    diag = np.linalg.norm(span)
    points = []
    for x in xs[np.lexsort(xs.T[::-1])]:
        if all(np.linalg.norm(x - p) > 1e-5 * diag for p in points):
            points.append(x)
    out = []
    for x in points:
        eig = np.linalg.eigvalsh(np.asarray(hess(jnp.asarray(x[None])))[0])
        zero = np.abs(eig) < 1e-8 * max(1.0, np.abs(eig).max())
        neg, pos = int(np.sum((eig < 0) & ~zero)), int(np.sum((eig > 0) & ~zero))
        if neg and pos:
            kind = "saddle"
        elif zero.any():
            kind = "degenerate"
        else:
            kind = "minimum" if neg == 0 else "maximum"
        out.append({"x": [float(v) for v in x], "value": float(obj.fn(jnp.asarray(x))),
                    "kind": kind, "index": None if kind == "degenerate" else neg})
    return out, tol


def main(names=NAMES):
    result = json.loads(OUT.read_text()) if set(names) != set(NAMES) else {}
    for name in names:
        obj = get(name)
        pts, tol = catalogue(obj)
        kinds = {k: sum(p["kind"] == k for p in pts) for k in
                 ("minimum", "saddle", "maximum", "degenerate")}
        print(f"{name:18s} {len(pts):4d} points {kinds} (grad tol {tol:.1e})")
        result[name] = pts
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:] or NAMES)
