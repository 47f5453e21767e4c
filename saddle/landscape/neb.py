"""Climbing-image nudged elastic band (CI-NEB) between pairs of points, many bands at once.

A band is a chain of P images R₀ … R_{P−1} ``[P, d]`` with fixed ends. Each interior image
feels the true force perpendicular to the path plus a spring force along it,

    Fᵢ = −∇V(Rᵢ) + (∇V(Rᵢ)·τᵢ)τᵢ + k(‖Rᵢ₊₁ − Rᵢ‖ − ‖Rᵢ − Rᵢ₋₁‖)τᵢ,

with the upwind tangent τᵢ of Henkelman & Jónsson (2000) (towards the higher neighbour;
energy-weighted at extrema), so the band relaxes onto a minimum-energy path with equally
spaced images. After ``climb`` × steps the highest interior image drops its spring and
climbs along the path, Fᵢ = −∇V + 2(∇V·τ)τ (Henkelman, Uberuaga & Jónsson 2000): it
converges to the saddle on the path. The fixed point does not depend on k.

The images move by Adam (an ``optax`` transformation fed −F, since F is no gradient of
any function) with a cosine-decayed step: a step in units of length whatever the energy
scale, so one setting serves landscapes whose gradients differ by 10³. The whole
relaxation is one ``lax.scan``, vmapped over bands.

References:
  G. Henkelman, B. P. Uberuaga, H. Jónsson, "A climbing image nudged elastic band method
  for finding saddle points and minimum energy paths", J. Chem. Phys. 113, 9901 (2000).
  G. Henkelman, H. Jónsson, "Improved tangent estimate in the nudged elastic band method
  for finding minimum energy paths and saddle points", J. Chem. Phys. 113, 9978 (2000).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from saddle._checks import as_batch, positive_float, positive_int
from saddle.objectives.core import Objective

Fn = Callable[[jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class Bands:
    """Relaxed bands (``p`` bands of ``P`` images in ``d`` dims), numpy arrays.

    path ``[p, P, d]``: the images, ends included; value ``[p, P]``: V at each image;
    climbing ``[p]``: the index of the climbing (highest interior) image; force ``[p]``:
    the largest NEB force ‖Fᵢ‖ over the interior images at the end, relative to the largest
    ‖∇V‖ over the initial band (small: relaxed).
    """

    path: np.ndarray
    value: np.ndarray
    climbing: np.ndarray
    force: np.ndarray

    def __len__(self) -> int:
        return len(self.value)


def tangents(path: jax.Array, value: jax.Array) -> jax.Array:
    """Unit tangents ``[P − 2, d]`` at the interior images of ``path`` ``[P, d]`` with
    energies ``value`` ``[P]`` (Henkelman & Jónsson 2000, eqs. 8–11): towards the higher
    neighbour where V rises or falls monotonically through the image, else both
    neighbours' directions weighted by the energy differences."""
    fwd, bwd = path[2:] - path[1:-1], path[1:-1] - path[:-2]  # τ⁺, τ⁻
    v_prev, v, v_next = value[:-2], value[1:-1], value[2:]
    d_next, d_prev = v_next - v, v_prev - v
    big = jnp.maximum(jnp.abs(d_next), jnp.abs(d_prev))[:, None]
    small = jnp.minimum(jnp.abs(d_next), jnp.abs(d_prev))[:, None]
    mixed = jnp.where((v_next > v_prev)[:, None], fwd * big + bwd * small,
                      fwd * small + bwd * big)
    tau = jnp.where(((v_next > v) & (v > v_prev))[:, None], fwd,
                    jnp.where(((v_next < v) & (v < v_prev))[:, None], bwd, mixed))
    norm = jnp.linalg.norm(tau, axis=1, keepdims=True)
    return tau / jnp.where(norm > 0, norm, 1.0)


def neb_force(grad: jax.Array, path: jax.Array, value: jax.Array, k: jax.Array,
              climber: jax.Array) -> jax.Array:
    """CI-NEB forces ``[P − 2, d]`` on the interior images from ∇V ``[P − 2, d]``, the band
    ``[P, d]``, its energies ``[P]``, the spring constant k and a mask ``[P − 2]`` of the
    climbing image (module docstring)."""
    tau = tangents(path, value)
    along = jnp.sum(grad * tau, axis=1, keepdims=True)
    seg = jnp.linalg.norm(jnp.diff(path, axis=0), axis=1)
    spring = k * (seg[1:] - seg[:-1])[:, None] * tau
    nudged = -grad + along * tau + spring
    climbing = -grad + 2 * along * tau
    return jnp.where(climber[:, None], climbing, nudged)


@functools.lru_cache(maxsize=32)
def _program(fn: Fn, images: int, steps: int, climb_from: int) -> Callable:
    value_and_grad = jax.vmap(jax.value_and_grad(fn))

    def one(path0: jax.Array, lr: jax.Array, spring: jax.Array) -> tuple[jax.Array, ...]:
        opt = optax.adam(optax.cosine_decay_schedule(lr, steps))
        _, g0 = value_and_grad(path0[1:-1])
        g_scale = jnp.max(jnp.linalg.norm(g0, axis=1))
        length = jnp.linalg.norm(path0[-1] - path0[0]) / (images - 1)
        k = spring * g_scale / length  # a spring force ≈ ∇V where a segment is off by its length

        def forces(path: jax.Array, climb: jax.Array) -> tuple[jax.Array, ...]:
            v_in, g = value_and_grad(path[1:-1])
            value = jnp.concatenate([fn(path[:1][0])[None], v_in, fn(path[-1])[None]])
            top = jnp.argmax(v_in)
            climber = climb & (jnp.arange(images - 2) == top)
            return neb_force(g, path, value, k, climber), value, top

        def step(carry: tuple, t: jax.Array) -> tuple[tuple, None]:
            path, state = carry
            force, _, _ = forces(path, t >= climb_from)
            upd, state = opt.update(-force, state)
            return (path.at[1:-1].add(upd), state), None

        inner = path0[1:-1]
        (path, _), _ = jax.lax.scan(step, (path0, opt.init(inner)), jnp.arange(steps))
        force, value, top = forces(path, jnp.asarray(climb_from < steps))
        fmax = jnp.max(jnp.linalg.norm(force, axis=1)) / jnp.maximum(g_scale, 1e-30)
        return path, value, top + 1, fmax

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None)))


def straight_bands(start: Any, end: Any, images: int) -> np.ndarray:
    """``[p, images, d]`` evenly spaced images on the segments from each row of ``start``
    ``[p, d]`` to the same row of ``end``."""
    t = np.linspace(0.0, 1.0, images)[None, :, None]
    start, end = np.asarray(start), np.asarray(end)
    return start[:, None] + t * (end - start)[:, None]


def neb(f: Fn | Objective, start: Any, end: Any, *, images: int = 17, steps: int = 2000,
        lr: float = 0.01, spring: float = 1.0, climb: float = 0.3,
        path0: Any = None) -> Bands:
    """Relax a climbing-image nudged elastic band from each ``start[i]`` to ``end[i]``.

    Args:
      f: ``V(x) -> []`` on ``[d]``, or an ``Objective``.
      start, end: ``[p, d]`` end points of ``p`` bands (held fixed), usually minima.
      images: images per band, ends included (≥ 3).
      steps: Adam steps of the relaxation.
      lr: Adam's initial step as a fraction of the distance between a band's ends (cosine
        decay to zero over ``steps``).
      spring: spring constant k in units of the largest ‖∇V‖ on the initial band per
        image spacing (it sets how fast images even out, not where they end).
      climb: fraction of ``steps`` relaxed without the climbing image (0: climb at once;
        1: plain NEB, no climbing).
      path0: optional initial bands ``[p, images, d]`` (default: straight segments).

    Returns:
      ``Bands``; the climbing image of a relaxed band is its saddle.

    Example:
      >>> import saddle
      >>> b = saddle.landscape.neb(lambda x: (x[0]**2 - 1)**2 + x[1]**2, [[-1.0, 0.5]],
      ...                          [[1.0, -0.5]], images=9, steps=500)
      >>> abs(b.path[0, b.climbing[0]]).max() < 1e-3
      True
    """
    fn = f.fn if isinstance(f, Objective) else f
    if not callable(fn):
        raise TypeError(f"f must be a callable or an Objective, got {type(f).__name__}")
    dim = f.dim if isinstance(f, Objective) else None
    start = as_batch(start, "start", dim)
    end = as_batch(end, "end", start.shape[1])
    if start.shape != end.shape:
        raise ValueError(f"start and end must have one shape [p, d], got {start.shape} and "
                         f"{end.shape}")
    images = positive_int(images, "images", 3)
    steps = positive_int(steps, "steps")
    lr = positive_float(lr, "lr")
    spring = positive_float(spring, "spring")
    if not 0.0 <= float(climb) <= 1.0:
        raise ValueError(f"climb must lie in [0, 1], got {climb!r}")
    gap = np.linalg.norm(np.asarray(end) - np.asarray(start), axis=1)
    if np.any(gap == 0):
        raise ValueError(f"start and end coincide in band(s) {np.flatnonzero(gap == 0).tolist()}")
    dtype = start.dtype
    if path0 is None:
        path0 = straight_bands(start, end, images)
    else:
        path0 = np.asarray(path0)
        if path0.shape != (start.shape[0], images, start.shape[1]):
            raise ValueError(f"path0 must have shape {(start.shape[0], images, start.shape[1])}"
                             f" [p, images, d], got {path0.shape}")
        if not np.all(np.isfinite(path0)):
            raise ValueError("path0 has non-finite values")
    out = jax.eval_shape(fn, jax.ShapeDtypeStruct(start.shape[1:], dtype))
    if out.shape != ():
        raise TypeError(f"f must return a scalar for a point of shape {start.shape[1:]}, got "
                        f"shape {out.shape}")
    climb_from = round(float(climb) * steps)
    program = _program(fn, images, steps, climb_from)
    # lr per band: a fraction of its length (vmapped as data, not a compile key).
    path, value, top, fmax = program(jnp.asarray(path0, dtype), jnp.asarray(lr * gap, dtype),
                                     jnp.asarray(spring, dtype))
    path, value, top, fmax = (np.asarray(a) for a in (path, value, top, fmax))
    return Bands(path=path, value=value, climbing=top, force=fmax)
