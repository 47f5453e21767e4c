"""Second-order steps as optax transformations (dense Hessian: for small d).

Under optax's contract for methods that need the objective (as ``optax.lbfgs``), the
function comes from ``update(..., value_fn=f)``; ``saddle.descend`` passes it.

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

from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from saddle._checks import positive_float


def _second_order(lr: float, damping: float, absolute: bool, what: str
                  ) -> optax.GradientTransformationExtraArgs:
    if callable(lr):
        raise TypeError(f"{what} takes the objective from update(..., value_fn=f) (optax's "
                        f"contract, as saddle.descend passes it), not as an argument")
    lr = positive_float(lr, "lr")
    damping = positive_float(damping, "damping")

    def init(params: Any) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update(updates: Any, state: Any, params: Any = None, *, value_fn: Any = None,
               **extra: Any) -> tuple[Any, Any]:
        if params is None or value_fn is None:
            raise ValueError(f"{what} needs params and value_fn (the objective) in update(); "
                             "saddle.descend passes both")
        flat, unravel = ravel_pytree(params)
        g, _ = ravel_pytree(updates)
        h = jax.hessian(lambda v: value_fn(unravel(v)))(flat)
        lam, vecs = jnp.linalg.eigh(h)
        scale = (jnp.abs(lam) if absolute else lam) + damping
        # Where damping cancels a negative eigenvalue exactly, fall back to the identity.
        scale = jnp.where(scale == 0, 1.0, scale)
        step = vecs @ ((vecs.T @ g) / scale)
        return unravel(-lr * step), state

    return optax.GradientTransformationExtraArgs(init, update)


def newton(lr: float = 1.0, damping: float = 1e-6) -> optax.GradientTransformationExtraArgs:
    """Damped Newton: update ``−lr·(H + δI)⁻¹g`` with ``H = ∇²f(params)`` from the
    ``value_fn=f`` that ``update`` receives (dense Hessian of the flattened parameters)."""
    return _second_order(lr, damping, absolute=False, what="newton")


def saddle_free_newton(lr: float = 1.0, damping: float = 1e-3
                       ) -> optax.GradientTransformationExtraArgs:
    """Saddle-free Newton (Dauphin et al. 2014): ``−lr·(|H| + δI)⁻¹g``, |H| = V|Λ|Vᵀ, with
    ``H = ∇²f(params)`` from the ``value_fn=f`` that ``update`` receives.

    Example:
      >>> import saddle, numpy as np
      >>> f = saddle.objectives.get("quadratic_saddle").fn
      >>> run = saddle.descend(f, [[0.5, 1e-3]], saddle_free_newton(lr=0.5), 20)
      >>> bool(abs(run.x[0, 1]) > 0.5)
      True
    """
    return _second_order(lr, damping, absolute=True, what="saddle_free_newton")
