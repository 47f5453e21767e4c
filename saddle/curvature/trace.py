"""Stochastic Hessian traces from Hessian-vector products: Hutchinson and Hutch++.

Both estimate the trace of the Hessian of ``f(x, *args)`` in ``x`` (flat or any pytree,
flattened with ``ravel_pytree``; ``args`` traced, e.g. a data batch), are jit-compiled
with static shapes, draw Rademacher probes from ``key`` only, and can be ``jax.vmap``-ed
over points, keys and args.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from saddle._checks import positive_int
from saddle.curvature._inputs import check_key, check_scalar, point_size
from saddle.curvature.krylov import hessian_operator

__all__ = ["TraceEstimate", "hutchinson_trace", "hutchpp_trace"]

Fn = Callable[..., jax.Array]


class TraceEstimate(NamedTuple):
    """estimate: the trace estimate (scalar).  stderr: the sample standard deviation of the
    Hutchinson samples over √probes (for Hutch++, of the deflated part, which carries all
    of its error; see ``hutchpp_trace``).  probes: the number of Hutchinson probes (int scalar)."""

    estimate: jax.Array
    stderr: jax.Array
    probes: jax.Array


def _mean_and_stderr(samples: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jnp.mean(samples), jnp.std(samples, ddof=1) / math.sqrt(samples.shape[0])


def hutchinson_trace(f: Fn, x: Any, key: jax.Array, probes: int = 32, *,
                     probe_batch: int | None = None, args: tuple = ()) -> TraceEstimate:
    """Hutchinson's estimate of ``tr H`` (H the Hessian of ``f(x, *args)``): the mean of
    ``zᵀHz`` over ``probes`` Rademacher vectors z (unbiased, variance
    ``2(‖H‖_F² − Σᵢ Hᵢᵢ²)/probes``), with its standard error (sample standard deviation /
    √probes; ``probes >= 2``).  ``probe_batch`` HVPs run at once (default all).

    Reference: Hutchinson (1990), "A stochastic estimator of the trace of the influence
    matrix for Laplacian smoothing splines", Comm. Stat. Simul. Comput. 19(2).
    """
    point_size(x)
    check_key(key)
    probes = positive_int(probes, "probes", minimum=2)
    batch = probes if probe_batch is None else positive_int(probe_batch, "probe_batch")
    check_scalar(f, x, args)
    return _hutchinson(f, x, key, args, probes=probes, batch=min(batch, probes))


@functools.partial(jax.jit, static_argnums=0, static_argnames=("probes", "batch"))
def _hutchinson(f: Fn, x: Any, key: jax.Array, args: tuple, *, probes: int, batch: int
                ) -> TraceEstimate:
    flat, matvec = hessian_operator(f, x, *args)
    z = jax.random.rademacher(key, (probes, flat.shape[0]), flat.dtype)
    samples = jax.lax.map(lambda v: v @ matvec(v), z, batch_size=batch)
    return TraceEstimate(*_mean_and_stderr(samples), jnp.asarray(probes))


def hutchpp_trace(f: Fn, x: Any, key: jax.Array, matvecs: int = 48, *,
                  probe_batch: int | None = None, args: tuple = ()) -> TraceEstimate:
    """Hutch++ estimate of ``tr H`` (of ``f(x, *args)``) from ``matvecs`` Hessian-vector
    products.

    The budget is split in thirds: ``s = matvecs // 3`` products ``HS`` of a Rademacher
    sketch S ``[d, s]`` give ``Q = qr(HS)``; ``s`` more give ``tr(QᵀHQ)`` exactly; the
    remaining ``m = matvecs − 2s`` are Hutchinson probes of ``(I − QQᵀ)H(I − QQᵀ)``.
    ``stderr`` is the Hutchinson standard error of that last part (sample std/√m).  As
    ``tr(QᵀHQ) + tr((I − QQᵀ)H(I − QQᵀ)) = tr H`` for every orthonormal Q, that part
    carries the whole error: stderr estimates the standard deviation of the estimate given
    the sketch (its square is unbiased for the variance over sketches and probes too), and
    is 0 when Q captures the range of H (rank H ≤ s).  ``probes`` is m.  Needs
    ``matvecs >= 4`` (s ≥ 1, m ≥ 2).  ``probe_batch`` HVPs run at once (default all).

    Reference: Meyer, Musco, Musco & Woodruff (2021), "Hutch++: optimal stochastic trace
    estimation", SOSA, Algorithm 1.
    """
    point_size(x)
    check_key(key)
    matvecs = positive_int(matvecs, "matvecs", minimum=4)
    s = matvecs // 3
    m = matvecs - 2 * s
    batch = matvecs if probe_batch is None else positive_int(probe_batch, "probe_batch")
    check_scalar(f, x, args)
    return _hutchpp(f, x, key, args, sketch=s, probes=m, batch=batch)


@functools.partial(jax.jit, static_argnums=0, static_argnames=("sketch", "probes", "batch"))
def _hutchpp(f: Fn, x: Any, key: jax.Array, args: tuple, *, sketch: int, probes: int,
             batch: int) -> TraceEstimate:
    flat, matvec = hessian_operator(f, x, *args)
    d = flat.shape[0]

    def apply(rows: jax.Array) -> jax.Array:
        return jax.lax.map(matvec, rows, batch_size=min(batch, rows.shape[0]))

    k_sketch, k_probe = jax.random.split(key)
    s = jax.random.rademacher(k_sketch, (sketch, d), flat.dtype)
    q = jnp.linalg.qr(apply(s).T)[0].T  # rows: an orthonormal basis of range(HS), [min(s, d), d]
    exact = jnp.sum(q * apply(q))
    g = jax.random.rademacher(k_probe, (probes, d), flat.dtype)
    g = g - (g @ q.T) @ q
    samples = jnp.sum(g * apply(g), axis=1)
    mean, stderr = _mean_and_stderr(samples)
    return TraceEstimate(exact + mean, stderr, jnp.asarray(probes))
