"""Second-order steps as optax transformations (dense Hessian: for small d).

``newton`` steps −η(H + δI)⁻¹∇f: attracted to critical points of every index, it
stays on a saddle. ``saddle_free_newton`` steps −η(|H| + δI)⁻¹∇f with
|H| = V|Λ|Vᵀ (Dauphin et al. 2014): the negative-curvature directions are rescaled
but not reversed, so it moves away from saddles as fast as Newton moves towards
minima.

References:
  Y. Dauphin, R. Pascanu, C. Gulcehre, K. Cho, S. Ganguli, Y. Bengio, "Identifying and
  attacking the saddle point problem in high-dimensional non-convex optimization",
  NeurIPS 2014.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from saddle._checks import positive_float

Fn = Callable[[jax.Array], jax.Array]


def _second_order(fn: Fn, lr: float, damping: float, absolute: bool
                  ) -> optax.GradientTransformationExtraArgs:
    if not callable(fn):
        raise TypeError(f"fn must be callable (the objective [d] -> []), got {type(fn).__name__}")
    lr = positive_float(lr, "lr")
    damping = positive_float(damping, "damping")
    hess = jax.hessian(fn)

    def init(params: jax.Array) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update(updates: jax.Array, state: Any, params: jax.Array | None = None,
               **extra: Any) -> tuple[jax.Array, Any]:
        if params is None:
            raise ValueError("a Newton-type step needs params (the engine passes them)")
        lam, vecs = jnp.linalg.eigh(hess(params))
        scale = (jnp.abs(lam) if absolute else lam) + damping
        # Where damping cancels a negative eigenvalue exactly, fall back to the identity.
        scale = jnp.where(scale == 0, 1.0, scale)
        step = vecs @ ((vecs.T @ updates) / scale)
        return -lr * step, state

    return optax.GradientTransformationExtraArgs(init, update)


def newton(fn: Fn, lr: float = 1.0, damping: float = 1e-6) -> optax.GradientTransformationExtraArgs:
    """Damped Newton: update ``−lr·(H + δI)⁻¹∇f`` with ``H = ∇²fn(params)`` (``[d]`` params)."""
    return _second_order(fn, lr, damping, absolute=False)


def saddle_free_newton(fn: Fn, lr: float = 1.0, damping: float = 1e-3
                       ) -> optax.GradientTransformationExtraArgs:
    """Saddle-free Newton (Dauphin et al. 2014): ``−lr·(|H| + δI)⁻¹∇f``, |H| = V|Λ|Vᵀ.

    Example:
      >>> import saddle, numpy as np
      >>> f = saddle.objectives.get("quadratic_saddle").fn
      >>> run = saddle.descend(f, [[0.5, 1e-3]], saddle_free_newton(f, lr=0.5), 20)
      >>> bool(abs(run.x[0, 1]) > 0.5)
      True
    """
    return _second_order(fn, lr, damping, absolute=True)
