"""Quadratic Bézier curves between two minima, and training their control point.

The curve from θ_A to θ_B with control point θ_c is

    φ(t) = (1 − t)²θ_A + 2t(1 − t)θ_c + t²θ_B,   t ∈ [0, 1],

so φ(0) = θ_A, φ(1) = θ_B and φ(½) = (θ_A + 2θ_c + θ_B)/4. ``train_bezier`` minimises the
loss averaged over the curve, E_{t~U(0,1)} L(φ(t)), over θ_c alone: each step draws
``samples`` values of t from a ``jax.random`` key, takes the gradient of their mean loss and
updates θ_c with Adam (the whole loop one ``lax.scan``). θ_c starts at the midpoint
(θ_A + θ_B)/2, where the curve is the straight line.

``peak_barrier`` is the barrier reported for lines and curves alike:
maxₜ L(φ(t)) − max(L(φ(0)), L(φ(1))), the height of the path's highest point above the
higher of its two ends (≤ 0 when the path never rises above them).

Reference:
  T. Garipov, P. Izmailov, D. Podoprikhin, D. Vetrov, A. G. Wilson, "Loss surfaces, mode
  connectivity, and fast ensembling of DNNs", NeurIPS 2018.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from saddle._checks import as_point, positive_float, positive_int
from saddle.landscape.slices import on_plane

__all__ = ["BezierFit", "bezier_losses", "bezier_point", "peak_barrier", "train_bezier"]

Fn = Callable[[jax.Array], jax.Array]


def _ts(ts: Any) -> np.ndarray:
    t = np.asarray(ts, dtype=float)
    if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)):
        raise ValueError(f"ts must be a non-empty finite 1-D array, got shape {t.shape}")
    return t


def _ends(a: Any, c: Any, b: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    a = as_point(a, "theta_a")
    return a, as_point(c, "theta_c", a.shape[0]), as_point(b, "theta_b", a.shape[0])


def _point(a: jax.Array, c: jax.Array, b: jax.Array, t: jax.Array) -> jax.Array:
    t = t.astype(a.dtype)
    return (1 - t) ** 2 * a + 2 * t * (1 - t) * c + t**2 * b


def bezier_point(theta_a: Any, theta_c: Any, theta_b: Any, t: Any) -> jax.Array:
    """φ(t) ``[d]`` for a scalar t, or ``[n, d]`` for t ``[n]`` (module docstring)."""
    a, c, b = _ends(theta_a, theta_c, theta_b)
    t = jnp.asarray(t)
    if t.ndim > 1:
        raise ValueError(f"t must be a scalar or 1-D, got shape {t.shape}")
    return _point(a, c, b, t[..., None]) if t.ndim else _point(a, c, b, t)


def bezier_losses(f: Fn, theta_a: Any, theta_c: Any, theta_b: Any, ts: Any, *,
                  chunk_size: int | None = None) -> np.ndarray:
    """f(φ(t)) ``[n]`` for each t of ``ts`` ``[n]``: φ(t) = a + u(t)(c − a) + v(t)(b − a) with
    u = 2t(1 − t), v = t², evaluated as points of a plane (``slices.on_plane``, chunked)."""
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    a, c, b = _ends(theta_a, theta_c, theta_b)
    t = _ts(ts)
    coords = np.stack([2 * t * (1 - t), t**2], 1)
    return on_plane(f, a, jnp.stack([c - a, b - a]), coords, chunk_size=chunk_size)


def peak_barrier(values: Any) -> float:
    """maxᵢ vᵢ − max(v₀, v_{n−1}) for a path's losses ``[n]`` from end A to end B."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"values must be a finite 1-D array of length >= 2, got shape {v.shape}")
    return float(v.max() - max(v[0], v[-1]))


@dataclasses.dataclass(frozen=True)
class BezierFit:
    """A trained control point ``theta_c`` ``[d]`` and ``history`` ``[steps]``: each step's
    minibatch estimate of E_t L(φ(t)) before its update."""

    theta_c: jax.Array
    history: np.ndarray


def train_bezier(f: Fn, theta_a: Any, theta_b: Any, *, key: jax.Array, steps: int = 1000,
                 lr: float = 1e-2, samples: int = 1, theta_c: Any = None) -> BezierFit:
    """θ_c minimising E_{t~U(0,1)} f(φ(t)) by Adam (``lr``) over ``steps`` steps, each on the
    mean of ``samples`` fresh draws of t (Garipov et al. 2018 use one per minibatch); θ_c
    starts at ``theta_c``, by default the midpoint (θ_A + θ_B)/2."""
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    a = as_point(theta_a, "theta_a")
    b = as_point(theta_b, "theta_b", a.shape[0])
    c0 = (a + b) / 2 if theta_c is None else as_point(theta_c, "theta_c", a.shape[0])
    steps = positive_int(steps, "steps")
    samples = positive_int(samples, "samples")
    lr = positive_float(lr, "lr")
    try:
        keys = jax.random.split(key, steps)
    except Exception:
        raise TypeError(f"key must be a jax.random key, got {key!r}"[:120]) from None
    opt = optax.adam(lr)

    def mean_loss(c: jax.Array, t: jax.Array) -> jax.Array:
        return jnp.mean(jax.vmap(lambda s: f(_point(a, c, b, s)))(t))

    def step(carry: tuple, k: jax.Array) -> tuple[tuple, jax.Array]:
        c, state = carry
        t = jax.random.uniform(k, (samples,), a.dtype)
        value, g = jax.value_and_grad(mean_loss)(c, t)
        updates, state = opt.update(g, state, c)
        return (optax.apply_updates(c, updates), state), value

    (c, _), history = jax.jit(lambda c, ks: jax.lax.scan(step, (c, opt.init(c)), ks))(c0, keys)
    return BezierFit(theta_c=c, history=np.asarray(history))
