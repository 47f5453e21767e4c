"""The two-layer ReLU teacher–student in closed form, on standard Gaussian inputs.

A student x ↦ Σᵢ aᵢ relu(wᵢᵀx) (k units) learns a teacher x ↦ Σⱼ bⱼ relu(vⱼᵀx) (m units)
from x ~ N(0, I_d). Its population loss needs no data: with the arc-cosine kernel
(Cho & Saul 2009)

    κ(w, v) = E[relu(wᵀx)·relu(vᵀx)] = ‖w‖‖v‖(sin θ + (π − θ)cos θ)/(2π),  θ = ∠(w, v),

    L(W, a) = ½ E[(Σᵢ aᵢ relu(wᵢᵀx) − Σⱼ bⱼ relu(vⱼᵀx))²]
            = ½ (aᵀK(W, W)a − 2aᵀK(W, V)b + bᵀK(V, V)b).

κ's gradient is given directly (``jax.custom_jvp``): ∇_w κ = ((π − θ)v + ‖v‖ sin θ ŵ)/(2π).
Autodiff through arccos would give ∞·0 where a student unit is parallel to a teacher
unit (θ = 0: the global minimum W = V) or to itself (the diagonal of K(W, W)); there
the terms that multiply dθ cancel, and their limit, 0, is used, so gradient and Hessian
are finite and exact everywhere except at w = 0.

Reference: I. Safran, O. Shamir, "Spurious local minima are common in two-layer ReLU
neural networks", ICML 2018 (this setting, a = b = 1); Y. Cho, L. K. Saul, "Kernel
methods for deep learning", NeurIPS 2009 (κ).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import positive_int
from saddle.objectives.core import Objective


@jax.custom_jvp
def _angle(c: jax.Array) -> jax.Array:
    """θ = arccos c, with dθ = −dc/√(1 − c²) and 0 where c = ±1 (there the terms that
    multiply dθ in κ's derivatives cancel: their limit is taken)."""
    return jnp.arccos(c)


@_angle.defjvp
def _angle_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
    (c,), (dc,) = primals, tangents
    s2 = 1 - c * c
    ok = s2 > 0
    return jnp.arccos(c), jnp.where(ok, -dc / jnp.sqrt(jnp.where(ok, s2, 1.0)), 0.0)


def _parts(w: jax.Array, v: jax.Array) -> tuple[jax.Array, ...]:
    nw, nv = jnp.linalg.norm(w), jnp.linalg.norm(v)
    c = jnp.clip(w @ v / jnp.maximum(nw * nv, jnp.finfo(w.dtype).tiny), -1.0, 1.0)
    return nw, nv, c, _angle(c)


@jax.custom_jvp
def _kappa(w: jax.Array, v: jax.Array) -> jax.Array:
    nw, nv, c, theta = _parts(w, v)
    return nw * nv * (jnp.sin(theta) + (jnp.pi - theta) * c) / (2 * jnp.pi)


@_kappa.defjvp
def _kappa_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
    # ∇_w κ = ((π − θ)v + ‖v‖ sin θ ŵ)/(2π), and symmetrically in v.
    (w, v), (dw, dv) = primals, tangents
    nw, nv, _, theta = _parts(w, v)
    tiny = jnp.finfo(w.dtype).tiny
    gw = ((jnp.pi - theta) * v + nv * jnp.sin(theta) * w / jnp.maximum(nw, tiny)) / (2 * jnp.pi)
    gv = ((jnp.pi - theta) * w + nw * jnp.sin(theta) * v / jnp.maximum(nv, tiny)) / (2 * jnp.pi)
    return _kappa(w, v), gw @ dw + gv @ dv


def relu_kernel(w: jax.Array, v: jax.Array) -> jax.Array:
    """κ(w, v) = E[relu(wᵀx) relu(vᵀx)], x ~ N(0, I): ``w`` ``[..., d]``, ``v`` ``[..., d]``
    (broadcast) → ``[...]``."""
    return jnp.vectorize(_kappa, signature="(d),(d)->()")(w, v)


def relu_population_loss(w: jax.Array, v: jax.Array, a: jax.Array | None = None,
                         b: jax.Array | None = None) -> jax.Array:
    """½E[(Σᵢ aᵢ relu(wᵢᵀx) − Σⱼ bⱼ relu(vⱼᵀx))²] for student ``w`` ``[k, d]`` and teacher
    ``v`` ``[m, d]`` (output weights ``a`` ``[k]``, ``b`` ``[m]``, default ones)."""
    a = jnp.ones(w.shape[0], w.dtype) if a is None else a
    b = jnp.ones(v.shape[0], w.dtype) if b is None else b
    k_ww = relu_kernel(w[:, None], w[None])
    k_wv = relu_kernel(w[:, None], v[None])
    k_vv = relu_kernel(v[:, None], v[None])
    return 0.5 * (a @ k_ww @ a - 2 * a @ k_wv @ b + b @ k_vv @ b)


def relu_teacher_student(teacher: Any, width: int, *, init_std: float | None = None,
                         name: str = "relu_teacher_student") -> Objective:
    """The population loss of a ``width``-unit student (a = 1) against ``teacher`` ``[m, d]``
    (b = 1) as an ``Objective`` over the flat student weights θ = vec(W) ``[width·d]``;
    ``init`` draws W with entries N(0, init_std²) (default 1/√d, Xavier-like)."""
    v = jnp.asarray(teacher, jnp.float32)
    if v.ndim != 2 or not np.all(np.isfinite(np.asarray(v))):
        raise ValueError(f"teacher must be a finite [m, d] array, got shape {tuple(v.shape)}")
    k, d = positive_int(width, "width"), v.shape[1]
    std = 1 / math.sqrt(d) if init_std is None else float(init_std)
    if not (math.isfinite(std) and std > 0):
        raise ValueError(f"init_std must be a finite number > 0, got {init_std!r}")

    def fn(theta: jax.Array) -> jax.Array:
        return relu_population_loss(theta.reshape(k, d), v.astype(theta.dtype))

    def init(key: jax.Array) -> jax.Array:
        return std * jax.random.normal(key, (k * d,))

    return Objective(fn=fn, dim=k * d, init=init, name=name)
