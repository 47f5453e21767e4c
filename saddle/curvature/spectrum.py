"""Hessian spectra without the Hessian: extreme eigenpairs, sharpness and the spectral density.

All three run Lanczos (``krylov.lanczos``, full re-orthogonalisation, inside
``lax.fori_loop``) on Hessian-vector products of ``f(x, *args)`` in ``x`` (a flat vector
or any pytree, flattened with ``ravel_pytree``; vectors come back flat, in that order;
``args``, e.g. a data batch, are traced, so new values reuse the compiled program). Each
is jit-compiled with static shapes, takes its randomness from ``key`` only, and can be
``jax.vmap``-ed over points, keys and args; ``saddle.curvature.batch`` runs many points
in chunks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from saddle._checks import one_of, positive_float, positive_int
from saddle.curvature._inputs import WHICH, check_key, check_scalar, point_size
from saddle.curvature.krylov import hessian_operator, lanczos, top_eigenpair

__all__ = [
    "Extremes",
    "SpectralDensity",
    "density_on_grid",
    "extreme_eigenpairs",
    "sharpness",
    "slq_density",
]

Fn = Callable[..., jax.Array]


class Extremes(NamedTuple):
    """Ritz approximations of the Hessian's eigenpairs at both ends of the spectrum.

    lowest: ``[k]`` ascending (``lowest[0]`` the most negative).  highest: ``[k]``
    descending (``highest[0]`` the largest algebraic eigenvalue).  ``*_vectors``: ``[k, d]``
    unit Ritz vectors as rows, flat in ``ravel_pytree(x)`` order.  ``*_residuals``: ``[k]``
    ``‖Hv − θv‖₂`` of each pair, computed with one more Hessian-vector product per pair,
    an a-posteriori error bound: some eigenvalue of H lies within it of θ.  The fields of
    an end not asked for (``which``) are ``None``.
    """

    lowest: jax.Array | None
    lowest_vectors: jax.Array | None
    lowest_residuals: jax.Array | None
    highest: jax.Array | None
    highest_vectors: jax.Array | None
    highest_residuals: jax.Array | None


def default_iters(d: int, k: int = 1) -> int:
    """Lanczos steps used when ``iters`` is not given: ``min(d, 2k + 80)``."""
    return min(d, 2 * k + 80)


def extreme_eigenpairs(f: Fn, x: Any, k: int = 1, iters: int | None = None, *,
                       key: jax.Array, which: str = "both", args: tuple = ()) -> Extremes:
    """The ``k`` lowest and/or ``k`` highest Hessian eigenpairs of ``f(x, *args)``, as Ritz
    pairs of ``iters`` Lanczos steps (at most ``d``; default ``default_iters``) from a
    Gaussian start drawn from ``key``, with their residuals ``‖Hv − θv‖`` (k more
    Hessian-vector products per end).

    Ritz values converge from inside the spectrum: ``lowest`` from above, ``highest``
    from below; m = d steps give the exact spectrum (Golub & Van Loan, *Matrix
    Computations*, 4th ed., §10.1).  Returns ``Extremes``.
    """
    k, m = check_extremes(f, x, k, iters, which)
    check_key(key)
    check_scalar(f, x, args)
    return _extremes(f, x, key, args, k=k, iters=m, which=which)


def check_extremes(f: Fn, x: Any, k: Any, iters: Any, which: Any, name: str = "x"
                   ) -> tuple[int, int]:
    """``(k, m)`` for ``extreme_eigenpairs`` after checking its arguments but ``f`` and
    ``key`` (``m`` the number of Lanczos steps); ``x`` may be shape-only."""
    d = point_size(x, name)
    k = positive_int(k, "k")
    if k > d:
        raise ValueError(f"k must be <= d = {d} (the number of parameters), got {k}")
    m = default_iters(d, k) if iters is None else min(positive_int(iters, "iters"), d)
    if m < k:
        raise ValueError(f"iters must be >= k = {k}, got {iters}")
    one_of(which, "which", WHICH)
    return k, m


@functools.partial(jax.jit, static_argnums=0, static_argnames=("k", "iters", "which"))
def _extremes(f: Fn, x: Any, key: jax.Array, args: tuple, *, k: int, iters: int, which: str
              ) -> Extremes:
    flat, matvec = hessian_operator(f, x, *args)
    start, restart = jax.random.split(key)
    tri = lanczos(matvec, jax.random.normal(start, flat.shape, flat.dtype), iters, key=restart)
    ends = {"lowest": range(k), "highest": range(iters - 1, iters - 1 - k, -1)}
    wanted = ("lowest", "highest") if which == "both" else (which,)
    theta, vecs, _ = tri.eigh(select=jnp.array([i for w in wanted for i in ends[w]]))
    res = jnp.linalg.norm(jax.vmap(matvec)(vecs) - theta[:, None] * vecs, axis=1)
    out = dict.fromkeys(Extremes._fields)
    for i, w in enumerate(wanted):
        part = slice(i * k, (i + 1) * k)
        out.update({w: theta[part], f"{w}_vectors": vecs[part], f"{w}_residuals": res[part]})
    return Extremes(**out)


def sharpness(f: Fn, x: Any, iters: int, key: jax.Array, *, args: tuple = ()) -> jax.Array:
    """The largest *algebraic* Hessian eigenvalue of ``f(x, *args)`` (a scalar): the top Ritz
    value of ``iters`` Lanczos steps (``krylov.top_eigenpair``) from a Gaussian start drawn
    from ``key``; a lower bound that converges from below."""
    point_size(x)
    iters = positive_int(iters, "iters")
    check_key(key)
    check_scalar(f, x, args)
    return _sharpness(f, x, key, args, iters=iters)


@functools.partial(jax.jit, static_argnums=0, static_argnames=("iters",))
def _sharpness(f: Fn, x: Any, key: jax.Array, args: tuple, *, iters: int) -> jax.Array:
    flat, matvec = hessian_operator(f, x, *args)
    start, restart = jax.random.split(key)
    v0 = jax.random.normal(start, flat.shape, flat.dtype)
    return top_eigenpair(matvec, v0, iters, key=restart)[0]


class SpectralDensity(NamedTuple):
    """Stochastic Lanczos quadrature of the Hessian's spectral measure
    ``μ = (1/d) Σᵢ δ(λᵢ)``: one Gauss quadrature rule per probe.

    nodes: ``[probes, m]`` Ritz values (ascending).  weights: ``[probes, m]``, ≥ 0, each
    row summing to 1.  For a polynomial p of degree < 2m, ``Σⱼ wⱼ p(θⱼ)`` of a probe is
    ``vᵀp(H)v`` of its unit probe v, whose mean over Rademacher probes is ``tr p(H) / d``.
    """

    nodes: jax.Array
    weights: jax.Array


def slq_density(f: Fn, x: Any, key: jax.Array, probes: int = 16, iters: int = 80, *,
                probe_batch: int | None = None, args: tuple = ()) -> SpectralDensity:
    """Stochastic Lanczos quadrature for the Hessian's spectral density of ``f(x, *args)``.

    Per probe ``v = z/‖z‖`` (z Rademacher, from ``key``): ``iters`` Lanczos steps (at most
    ``d``) give ``T = QᵀHQ``; nodes are the eigenvalues θⱼ of T and weights the squared
    first components ``(e₁ᵀyⱼ)²`` of its eigenvectors.  ``probe_batch`` probes run at once
    (``lax.map``'s ``batch_size``; default all).  Smooth with ``density_on_grid``.

    References: Ubaru, Chen & Saad (2017), "Fast estimation of tr(f(A)) via stochastic
    Lanczos quadrature", SIAM J. Matrix Anal. Appl. 38(4); Ghorbani, Krishnan & Xiao
    (2019), "An investigation into neural net optimization via Hessian eigenvalue
    density", ICML.
    """
    d = point_size(x)
    check_key(key)
    probes = positive_int(probes, "probes")
    m = min(positive_int(iters, "iters"), d)
    batch = probes if probe_batch is None else positive_int(probe_batch, "probe_batch")
    check_scalar(f, x, args)
    return _slq(f, x, key, args, probes=probes, iters=m, batch=min(batch, probes))


@functools.partial(jax.jit, static_argnums=0, static_argnames=("probes", "iters", "batch"))
def _slq(f: Fn, x: Any, key: jax.Array, args: tuple, *, probes: int, iters: int, batch: int
         ) -> SpectralDensity:
    flat, matvec = hessian_operator(f, x, *args)
    d = flat.shape[0]

    def one(k: jax.Array) -> tuple[jax.Array, jax.Array]:
        probe, restart = jax.random.split(k)
        z = jax.random.rademacher(probe, (d,), flat.dtype) / math.sqrt(d)
        theta, y = jnp.linalg.eigh(lanczos(matvec, z, iters, key=restart).matrix())
        return theta, y[0] ** 2

    nodes, weights = jax.lax.map(one, jax.random.split(key, probes), batch_size=batch)
    return SpectralDensity(nodes, weights)


def density_on_grid(density: SpectralDensity, grid: Any, sigma: float) -> jax.Array:
    """The SLQ density smoothed by a Gaussian kernel of width ``sigma`` on ``grid`` ``[g]``:
    ``φ(t) = (1/P) Σ_p Σ_j w_pj N(t; θ_pj, σ²)`` ``[..., g]`` (leading axes of a batched
    density kept).  φ integrates to 1 over the real line; on a grid it does when the grid
    extends a few σ beyond the nodes and its spacing is below σ."""
    sigma = positive_float(sigma, "sigma")
    grid = jnp.asarray(grid)
    if grid.ndim != 1:
        raise ValueError(f"grid must have shape [g], got shape {grid.shape}")
    nodes = jnp.asarray(density.nodes)
    weights = jnp.asarray(density.weights)
    if nodes.shape != weights.shape or nodes.ndim < 2:
        raise ValueError(f"density must hold nodes and weights of one shape [..., probes, m], "
                         f"got {nodes.shape} and {weights.shape}")
    z = (grid[:, None, None] - nodes[..., None, :, :]) / sigma
    kernel = jnp.exp(-0.5 * z**2) / (sigma * math.sqrt(2 * math.pi))
    return jnp.mean(jnp.sum(weights[..., None, :, :] * kernel, axis=-1), axis=-1)
