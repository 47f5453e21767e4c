"""The textbook toys (Dive into Deep Learning, §12.1 "Optimization and Deep Learning").

Each catalogue is complete inside the bounds and derived by hand below.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from saddle.objectives.core import Catalogue, CriticalPoint, Objective, register, roots_1d


def xcos_fn(x: jax.Array) -> jax.Array:
    return x[0] * jnp.cos(jnp.pi * x[0])


@register("xcos")
def xcos() -> Objective:
    """f(x) = x·cos(πx) on [−1, 2]: D2L's local-vs-global minimum figure (Fig. 12.1.2).

    f'(x) = cos(πx) − πx·sin(πx), f''(x) = −2π sin(πx) − π²x cos(πx). The zeros of
    f' in [−1, 2], bracketed and bisected in float64 (``roots_1d``): a local minimum
    at x ≈ −0.27385 (f ≈ −0.17860), a local maximum at x ≈ 0.27385 (f is odd) and
    the global minimum at x ≈ 1.09041 (f ≈ −1.04672).
    """
    pi = np.pi

    def dg(t: np.ndarray) -> np.ndarray:
        return np.cos(pi * t) - pi * t * np.sin(pi * t)

    def d2g(t: np.ndarray) -> np.ndarray:
        return -2 * pi * np.sin(pi * t) - pi**2 * t * np.cos(pi * t)

    known = tuple(
        CriticalPoint(x=(x,), value=x * np.cos(pi * x), kind=kind, index=int(kind == "maximum"))
        for x, kind in roots_1d(dg, d2g, -1.0, 2.0)
    )
    return Objective(name="xcos", fn=xcos_fn, dim=1, bounds=(-1.0, 2.0),
                     catalogue=Catalogue(known, complete=True))


def cubic_fn(x: jax.Array) -> jax.Array:
    return x[0] ** 3


@register("cubic")
def cubic() -> Objective:
    """f(x) = x³ on [−2, 2]: f'(0) = f''(0) = 0, a degenerate critical point that is
    neither minimum nor maximum (D2L Fig. 12.1.3). The only zero of f' = 3x²."""
    known = (CriticalPoint(x=(0.0,), value=0.0, kind="degenerate"),)
    return Objective(name="cubic", fn=cubic_fn, dim=1, bounds=(-2.0, 2.0),
                     catalogue=Catalogue(known, complete=True))


def quadratic_saddle_fn(x: jax.Array) -> jax.Array:
    return x[0] ** 2 - x[1] ** 2


@register("quadratic_saddle")
def quadratic_saddle() -> Objective:
    """f(x, y) = x² − y² on [−1, 1]²: ∇f = (2x, −2y) vanishes only at 0, where the
    Hessian diag(2, −2) has one negative eigenvalue: a strict saddle (D2L Fig. 12.1.4)."""
    known = (CriticalPoint(x=(0.0, 0.0), value=0.0, kind="saddle", index=1),)
    return Objective(name="quadratic_saddle", fn=quadratic_saddle_fn, dim=2,
                     bounds=(-1.0, 1.0), catalogue=Catalogue(known, complete=True))


def monkey_saddle_fn(x: jax.Array) -> jax.Array:
    return x[0] ** 3 - 3 * x[0] * x[1] ** 2


@register("monkey_saddle")
def monkey_saddle() -> Objective:
    """f(x, y) = x³ − 3xy² on [−1, 1]²: ∇f = (3x² − 3y², −6xy) vanishes only at 0,
    where the Hessian is zero: three descending valleys, a degenerate saddle that
    second-order information cannot see."""
    known = (CriticalPoint(x=(0.0, 0.0), value=0.0, kind="degenerate"),)
    return Objective(name="monkey_saddle", fn=monkey_saddle_fn, dim=2, bounds=(-1.0, 1.0),
                     catalogue=Catalogue(known, complete=True))
