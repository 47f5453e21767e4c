"""The two-layer ReLU teacher–student population loss in matrix form (fast, exact derivatives).

The same function as ``saddle.objectives.teacher.relu_population_loss`` (a = b = 1), with
every pair's arc-cosine kernel taken from one matrix of cosines C = ŴV̂ᵀ:

    κ(w, v) = ‖w‖‖v‖ h(c)/(2π),  h(c) = √(1 − c²) + (π − arccos c)·c,  c = ŵᵀv̂,
    L(W) = ½ (Σᵢⱼ κ(wᵢ, wⱼ) − 2Σᵢⱼ κ(wᵢ, vⱼ) + Σᵢⱼ κ(vᵢ, vⱼ)),  κ(w, w) = ‖w‖²/2.

h is given its derivatives directly: h′(c) = π − arccos c (the two 1/√(1 − c²) terms
cancel) and h″(c) = 1/√(1 − c²), taken as 0 at c = ±1, where it multiplies
‖∂c/∂w‖² = (1 − c²)/‖w‖², whose product tends to 0. So the gradient and the Hessian are
exact and finite wherever no row of W is 0, also where units are parallel (the global
minima), and cost one [n, d]×[d, m] product plus n·m scalar functions, instead of a
kernel per pair.

Reference: I. Safran, O. Shamir, "Spurious local minima are common in two-layer ReLU
neural networks", ICML 2018 (the loss and its Hessian); Y. Cho, L. K. Saul, "Kernel
methods for deep learning", NeurIPS 2009 (κ).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["relu_loss"]


@jax.custom_jvp
def _dh(c: jax.Array) -> jax.Array:
    """h′(c) = π − arccos c, with h″(c) = 1/√(1 − c²), 0 at c = ±1."""
    return jnp.pi - jnp.arccos(jnp.clip(c, -1.0, 1.0))


@_dh.defjvp
def _dh_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
    (c,), (dc,) = primals, tangents
    s2 = 1 - c * c
    ok = s2 > 0
    return _dh(c), jnp.where(ok, dc / jnp.sqrt(jnp.where(ok, s2, 1.0)), 0.0)


@jax.custom_jvp
def _h(c: jax.Array) -> jax.Array:
    """h(c) = √(1 − c²) + (π − arccos c)·c = 2π κ(u, v) for unit u, v with uᵀv = c."""
    c = jnp.clip(c, -1.0, 1.0)
    return jnp.sqrt(1 - c * c) + (jnp.pi - jnp.arccos(c)) * c


@_h.defjvp
def _h_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
    (c,), (dc,) = primals, tangents
    return _h(c), _dh(c) * dc


def _kernel_sum(w: jax.Array, v: jax.Array, same: bool) -> jax.Array:
    """Σᵢⱼ κ(wᵢ, vⱼ) for ``w`` ``[n, d]``, ``v`` ``[m, d]``; with ``same`` (v is w) the
    diagonal is ‖wᵢ‖²/2 exactly (c ≡ 1 there, so no derivative flows through it)."""
    tiny = jnp.finfo(w.dtype).tiny
    nw, nv = jnp.linalg.norm(w, axis=1), jnp.linalg.norm(v, axis=1)
    c = (w / jnp.maximum(nw, tiny)[:, None]) @ (v / jnp.maximum(nv, tiny)[:, None]).T
    outer = nw[:, None] * nv[None]
    if not same:
        return jnp.sum(outer * _h(c)) / (2 * jnp.pi)
    eye = jnp.eye(w.shape[0], dtype=bool)
    off = jnp.where(eye, 0.0, outer * _h(jnp.where(eye, 0.0, c)))
    return jnp.sum(off) / (2 * jnp.pi) + 0.5 * jnp.sum(nw * nw)


def relu_loss(w: jax.Array, v: jax.Array) -> jax.Array:
    """½E[(Σᵢ relu(wᵢᵀx) − Σⱼ relu(vⱼᵀx))²], x ~ N(0, I_d), for student ``w`` ``[n, d]``
    and teacher ``v`` ``[m, d]`` (output weights 1): a scalar, differentiable twice."""
    v = v.astype(w.dtype)
    return 0.5 * (_kernel_sum(w, w, True) - 2 * _kernel_sum(w, v, False)
                  + _kernel_sum(v, v, True))
