"""Dense curvature (d up to a few thousand): Hessians, eigenvalues, and the kind of a point.

Precision. In float32 (JAX's default) Hessian eigenvalues carry a relative error of
about 1e-6·‖H‖, so eigenvalues below the default tolerance √ε·(1 + ‖H‖) ≈ 3e-4·(1 + ‖H‖)
are called zero: fine for telling minima from saddles at well-separated points.
Use float64 (``jax.config.update("jax_enable_x64", True)`` and float64 inputs) for
near-degenerate points, ill-conditioned Hessians (Rosenbrock's valley, cond ~ 2500),
or large objective values (Goldstein–Price, f ~ 10⁶), where the tolerance drops to
√ε ≈ 1.5e-8.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import as_batch, positive_float
from saddle.objectives.core import KINDS, Objective

Fn = Callable[[jax.Array], jax.Array]


def _unwrap(f: Fn | Objective, dim: int | None = None) -> tuple[Fn, int | None, Any]:
    """(function of (x, data), dim, data): an objective's data (full batch) is passed to
    the compiled program as an argument, never baked into it."""
    if isinstance(f, Objective):
        if f.data is None:
            return _no_data(f.fn), f.dim, None
        return f.fn, f.dim, f.data
    if not callable(f):
        raise TypeError(f"f must be a callable or an Objective, got {type(f).__name__}")
    return _no_data(f), dim, None


@functools.lru_cache(maxsize=256)
def _no_data(fn: Fn) -> Callable[[jax.Array, Any], jax.Array]:
    """``fn`` as a function of (x, data) that ignores data (cached: one per ``fn``, so the
    compile caches keyed on it still hit)."""
    return lambda x, data: fn(x)


def _check_scalar(fn: Callable, xs: jax.Array, data: Any) -> None:
    out = jax.eval_shape(fn, jax.ShapeDtypeStruct(xs.shape[1:], xs.dtype), data)
    if out.shape != ():
        raise TypeError(f"f must return a scalar for a point of shape {xs.shape[1:]}, "
                        f"got shape {out.shape}")


def hessian(f: Fn | Objective, xs: Any) -> jax.Array:
    """Dense Hessians ``[n, d, d]`` of ``f`` at the points ``xs`` ``[n, d]`` (one vmapped call)."""
    fn, dim, data = _unwrap(f)
    xs = as_batch(xs, "xs", dim)
    _check_scalar(fn, xs, data)
    return _hessians(fn, xs, data)


def eigenvalues(f: Fn | Objective, xs: Any) -> jax.Array:
    """Ascending Hessian eigenvalues ``[n, d]`` at the points ``xs`` ``[n, d]``."""
    return jnp.linalg.eigvalsh(hessian(f, xs))


@functools.partial(jax.jit, static_argnums=0)
def _hessians(fn: Callable, xs: jax.Array, data: Any) -> jax.Array:
    return jax.vmap(jax.hessian(fn), in_axes=(0, None))(xs, data)


@dataclasses.dataclass(frozen=True)
class Classification:
    """Per-point local geometry from ``classify`` (numpy arrays, ``n`` points in ``d`` dims).

    grad_norm: ``[n]`` ‖∇f‖₂.  eigenvalues: ``[n, d]`` ascending Hessian eigenvalues.
    index: ``[n]`` number of eigenvalues below ``−tol``.  n_zero: ``[n]`` number within
    ``±tol``.  kind: ``[n]`` one of minimum, saddle, maximum, degenerate, undefined
    (non-finite Hessian).
    tol: ``[n]`` the eigenvalue tolerance used at each point.
    """

    grad_norm: np.ndarray
    eigenvalues: np.ndarray
    index: np.ndarray
    n_zero: np.ndarray
    kind: np.ndarray
    tol: np.ndarray

    def is_critical(self, grad_tol: float) -> np.ndarray:
        """``[n]`` bool: gradient norm at most ``grad_tol``."""
        return self.grad_norm <= grad_tol


def kind_codes(eigs: jax.Array, tol: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(index, n_zero, code)`` from eigenvalues ``[..., d]`` and tolerance ``[...]``.

    A negative and a positive eigenvalue make a saddle whatever else (code 1); all
    positive a minimum (0); all negative a maximum (2); otherwise some eigenvalue is
    zero within ``tol`` and no two have opposite signs: degenerate (3). A non-finite
    eigenvalue (f not twice differentiable there, or NaN) gives undefined (4). Codes index
    ``saddle.objectives.KINDS``.
    """
    tol = tol[..., None]
    neg = jnp.sum(eigs < -tol, axis=-1)
    pos = jnp.sum(eigs > tol, axis=-1)
    zero = eigs.shape[-1] - neg - pos
    code = jnp.where(
        (neg > 0) & (pos > 0), 1, jnp.where(zero > 0, 3, jnp.where(neg == 0, 0, 2))
    )
    code = jnp.where(jnp.all(jnp.isfinite(eigs), axis=-1), code, 4)
    return neg, zero, code


def default_eig_tol(dtype: Any) -> float:
    """√ε of ``dtype``: 3.5e-4 in float32, 1.5e-8 in float64."""
    return float(np.sqrt(np.finfo(dtype).eps))


def classify(
    f: Fn | Objective,
    xs: Any,
    *,
    eig_tol: float | None = None,
    batch_size: int | None = None,
) -> Classification:
    """Gradient norm, Hessian eigenvalues, index and kind at each point of ``xs`` ``[n, d]``.

    An eigenvalue λ counts as zero when ``|λ| <= eig_tol · (1 + max_j |λ_j|)``; the
    default ``eig_tol`` is √ε of the input dtype (see the module docstring for when to
    use float64). One jit-compiled, vmapped call; ``batch_size`` bounds memory by
    evaluating that many points at a time (``lax.map``).

    >>> import saddle
    >>> c = saddle.classify(saddle.objectives.get("quadratic_saddle"), [[0.0, 0.0]])
    >>> str(c.kind[0]), int(c.index[0])
    ('saddle', 1)
    """
    fn, dim, data = _unwrap(f)
    xs = as_batch(xs, "xs", dim)
    _check_scalar(fn, xs, data)
    tol = default_eig_tol(xs.dtype) if eig_tol is None else positive_float(eig_tol, "eig_tol")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    out = _classify(fn, xs, data, jnp.asarray(tol, xs.dtype), batch_size)
    gn, eigs, index, zero, code, tols = (np.asarray(a) for a in out)
    return Classification(grad_norm=gn, eigenvalues=eigs, index=index, n_zero=zero,
                          kind=np.asarray(KINDS)[code], tol=tols)


@functools.partial(jax.jit, static_argnums=(0, 4))
def _classify(fn: Callable, xs: jax.Array, data: Any, rtol: jax.Array,
              batch_size: int | None) -> tuple:
    def one(x: jax.Array) -> tuple:
        g = jax.grad(fn)(x, data)
        eigs = jnp.linalg.eigvalsh(jax.hessian(fn)(x, data))
        tol = rtol * (1 + jnp.max(jnp.abs(eigs)))
        index, zero, code = kind_codes(eigs, tol)
        return jnp.linalg.norm(g), eigs, index, zero, code, tol

    return jax.lax.map(one, xs, batch_size=batch_size or xs.shape[0])
