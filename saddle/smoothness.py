"""The effective smoothness of the landscape along a training path (Santurkar et al. 2018).

``gradient_change()`` is a monitor (``saddle.monitors`` contract) recording, at every step
t ≥ 1, β_t = ‖∇f(θ_t) − ∇f(θ_{t−1})‖ / ‖θ_t − θ_{t−1}‖: the Lipschitz constant of the
gradient along the step actually taken ("effective β-smoothness"). On a quadratic
½θᵀAθ it is ‖A d‖/‖d‖ for the step d, between A's smallest and largest |eigenvalue|.
With minibatches the two gradients come from different batches, so β_t then mixes
gradient noise in; use it with full-batch runs.

References: S. Santurkar, D. Tsipras, A. Ilyas, A. Madry, "How does batch normalization
help optimization?", NeurIPS 2018, §3.1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from saddle.engine import Step
from saddle.monitors import Monitor

__all__ = ["gradient_change"]


def gradient_change() -> Monitor:
    """``grad_change``: β_t (module docstring) at each recorded step (NaN at t = 0 and where
    the step was 0); output ``grad_change_max``: the largest β_t of the run."""

    def flat(tree: object) -> jax.Array:
        return ravel_pytree(tree)[0]

    def init(step: Step) -> tuple:
        nan = jnp.full((), jnp.nan, flat(step.grad).dtype)
        return flat(step.params), flat(step.grad), nan, jnp.zeros_like(nan)

    def update(state: tuple, step: Step) -> tuple:
        x0, g0, _, top = state
        x, g = flat(step.params), flat(step.grad)
        dx = jnp.linalg.norm(x - x0)
        beta = jnp.where(dx > 0, jnp.linalg.norm(g - g0) / jnp.where(dx > 0, dx, 1.0), jnp.nan)
        beta = jnp.where(step.t > 0, beta, jnp.nan)
        return x, g, beta, jnp.where(jnp.isfinite(beta), jnp.maximum(top, beta), top)

    return Monitor(init=init, update=update,
                   output=lambda s, last: {"grad_change_max": s[3]},
                   record=lambda s, step: {"grad_change": s[2]})
