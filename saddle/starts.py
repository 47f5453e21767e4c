"""Initial points from a ``jax.random`` key: in an objective's box, on a sphere around a point,
or by the objective's own sampler; and per-layer initialisation schemes for networks
(``scheme``: zeros, constant, normal, Xavier, He, LeCun, orthogonal, PyTorch's default)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

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


# ----------------------------------------------------------------------------- network schemes
class Scheme(NamedTuple):
    """A per-layer initialisation scheme for dense layers: ``kernel`` is a
    ``jax.nn.initializers`` initializer for kernels ``[fan_in, fan_out]``; ``bias(fan_in)``
    gives the initializer for the layer's bias ``[fan_out]`` (PyTorch's depends on fan_in)."""

    name: str
    kernel: Callable[..., jax.Array]
    bias: Callable[[int], Callable[..., jax.Array]]


def _zeros_bias(fan_in: int) -> Callable[..., jax.Array]:
    del fan_in
    return jax.nn.initializers.zeros


def _torch_bias(fan_in: int) -> Callable[..., jax.Array]:
    bound = 1.0 / np.sqrt(fan_in)
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(
        key, shape, dtype, minval=-bound, maxval=bound)


def _one_at_a_time(kernel: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
    """``kernel`` whose vmap over keys runs as a loop (``lax.map``): the same numbers, one
    QR per LAPACK call (batched ones can hang XLA:CPU, jaxlib 0.10.2; BUILD_NOTES)."""
    def one(key: jax.Array, shape: tuple, dtype: Any = None, **kwargs: Any) -> jax.Array:
        return jax.custom_batching.sequential_vmap(
            lambda k: kernel(k, shape, dtype, **kwargs))(key)
    return one


_VS = jax.nn.initializers.variance_scaling
SCHEMES: dict[str, str] = {
    "zeros": "all weights and biases 0 (no symmetry breaking)",
    "constant": "all weights `value` (default 0.1), biases 0",
    "normal": "weights N(0, std²) (default std 0.01), biases 0",
    "xavier_uniform": "Glorot & Bengio 2010: U(±√(6/(fan_in + fan_out))), var 2/(fan_in + fan_out)",
    "xavier_normal": "Glorot & Bengio 2010: var 2/(fan_in + fan_out), truncated normal",
    "he_uniform": "He et al. 2015: U(±√(6/fan_in)), var 2/fan_in",
    "he_normal": "He et al. 2015: var 2/fan_in, truncated normal",
    "lecun_uniform": "LeCun et al. 1998: U(±√(3/fan_in)), var 1/fan_in",
    "lecun_normal": "LeCun et al. 1998: var 1/fan_in, truncated normal (flax's default)",
    "orthogonal": "Saxe et al. 2014: a random orthogonal matrix × `gain` (default 1)",
    "pytorch": "PyTorch nn.Linear: weights and biases U(±1/√fan_in), var 1/(3·fan_in)",
}


def scheme(name: str, **kwargs: float) -> Scheme:
    """The initialisation scheme ``name`` (``SCHEMES`` lists them with their variances);
    biases are 0 except under ``"pytorch"``. "truncated normal" is jax's: a normal cut at
    ±2σ and rescaled so that the variance is the one stated (PyTorch's ``*_normal_`` use an
    untruncated normal of that variance).

    Keyword arguments: ``value`` (constant), ``std`` (normal), ``gain`` (orthogonal)."""
    allowed = {"constant": {"value"}, "normal": {"std"}, "orthogonal": {"gain"}}.get(name, set())
    if name not in SCHEMES:
        raise ValueError(f"unknown scheme {name!r}; known: {', '.join(SCHEMES)}")
    if set(kwargs) - allowed:
        raise TypeError(f"scheme {name!r} takes {sorted(allowed) or 'no arguments'}, got "
                        f"{sorted(kwargs)}")
    init = jax.nn.initializers
    if name == "normal":
        kernel = init.normal(positive_float(kwargs.get("std", 0.01), "std"))
    elif name == "constant":
        kernel = init.constant(float(kwargs.get("value", 0.1)))
    elif name == "orthogonal":
        kernel = _one_at_a_time(init.orthogonal(positive_float(kwargs.get("gain", 1.0), "gain")))
    else:
        kernel = {
            "zeros": init.zeros,
            "xavier_uniform": init.glorot_uniform(), "xavier_normal": init.glorot_normal(),
            "he_uniform": init.he_uniform(), "he_normal": init.he_normal(),
            "lecun_uniform": init.lecun_uniform(), "lecun_normal": init.lecun_normal(),
            "pytorch": _VS(1 / 3, "fan_in", "uniform"),
        }[name]
    return Scheme(name, kernel, _torch_bias if name == "pytorch" else _zeros_bias)
