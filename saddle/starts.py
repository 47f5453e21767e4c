"""Initial points from a ``jax.random`` key: in an objective's box, on a sphere around a point,
or by the objective's own sampler."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import as_point, positive_float, positive_int
from saddle.objectives.core import Objective, _as_bounds

Bounds = Any  # (lower[d], upper[d]) or an Objective


def _box(bounds: Bounds) -> tuple[jax.Array, jax.Array]:
    if isinstance(bounds, Objective):
        lo, hi = bounds.bounds
    else:
        try:
            lower, _ = bounds
        except (TypeError, ValueError):
            raise ValueError(f"bounds must be a pair (lower, upper), got {bounds!r}") from None
        lo, hi = _as_bounds(bounds, np.size(lower))
    return jnp.asarray(lo), jnp.asarray(hi)


def uniform(key: jax.Array, n: int, bounds: Bounds) -> jax.Array:
    """``[n, d]`` points uniform in the box ``bounds = (lower[d], upper[d])``."""
    n = positive_int(n, "n")
    lo, hi = _box(bounds)
    return jax.random.uniform(key, (n, lo.shape[0]), minval=lo, maxval=hi)


def normal(key: jax.Array, n: int, bounds: Bounds, scale: float = 0.25) -> jax.Array:
    """``[n, d]`` Gaussian points centred in the box, std ``scale`` × box width per axis
    (not clipped: a normal start may leave the box)."""
    n = positive_int(n, "n")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    lo, hi = _box(bounds)
    return 0.5 * (lo + hi) + scale * (hi - lo) * jax.random.normal(key, (n, lo.shape[0]))


def latin_hypercube(key: jax.Array, n: int, bounds: Bounds) -> jax.Array:
    """``[n, d]`` Latin hypercube sample (McKay, Beckman & Conover 1979): along every axis
    each of the ``n`` equal strata holds exactly one point, uniform within it."""
    n = positive_int(n, "n")
    lo, hi = _box(bounds)
    d = lo.shape[0]
    k_perm, k_jit = jax.random.split(key)
    strata = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(k_perm, d)).T
    u = (strata + jax.random.uniform(k_jit, (n, d))) / n
    return lo + (hi - lo) * u


def grid(n_per_axis: int, bounds: Bounds) -> jax.Array:
    """A regular grid over a box, ``[n_per_axis**d, d]``, last axis fastest (for maps)."""
    n_per_axis = positive_int(n_per_axis, "n_per_axis", minimum=2)
    lo, hi = _box(bounds)
    axes = [jnp.linspace(lo[i], hi[i], n_per_axis) for i in range(lo.shape[0])]
    return jnp.stack(jnp.meshgrid(*axes, indexing="ij"), -1).reshape(-1, lo.shape[0])


def sample(key: jax.Array, n: int, obj: Objective) -> Any:
    """``n`` starts for ``obj``: its own sampler ``obj.init`` applied to ``n`` keys split from
    ``key`` (a pytree with a leading axis ``n``), or, without one, uniform in its box."""
    n = positive_int(n, "n")
    if not isinstance(obj, Objective):
        raise TypeError(f"obj must be an Objective, got {type(obj).__name__}")
    if obj.init is not None:
        return jax.vmap(obj.init)(jax.random.split(key, n))
    if obj.bounds is None:
        raise ValueError(f"objective {obj.name!r} has neither init nor bounds to draw starts from")
    return uniform(key, n, obj)


def sphere(key: jax.Array, n: int, center: Any, radius: float) -> jax.Array:
    """``[n, d]`` points uniform on the sphere ``‖x − center‖ = radius`` around ``center``
    ``[d]``: ``center + radius·g/‖g‖`` with ``g ~ N(0, I_d)`` (rotation invariance of the
    Gaussian makes ``g/‖g‖`` uniform). Drawn in jax's default float dtype."""
    n = positive_int(n, "n")
    c = as_point(center, "center")
    radius = positive_float(radius, "radius")
    g = jax.random.normal(key, (n, c.shape[0]))
    return c.astype(g.dtype) + radius * (g / jnp.linalg.norm(g, axis=1, keepdims=True))
