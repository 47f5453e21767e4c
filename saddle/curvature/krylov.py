"""Krylov curvature: Hessian-vector products and Lanczos on them, for parameters of any size.

The Hessian is never formed: ``hvp`` is forward-over-reverse differentiation,
``H(x)v = d/dε ∇f(x + εv)|₀``, at about the cost of two gradients. ``lanczos`` builds
an orthonormal basis ``Q`` of the Krylov space span{v, Hv, ..., H^{m−1}v} with full
re-orthogonalisation and the tridiagonal ``T = QᵀHQ``; the eigenvalues of ``T`` (Ritz
values) approximate the extreme eigenvalues of ``H`` first (Golub & Van Loan,
*Matrix Computations*, 4th ed., §10.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

__all__ = ["Tridiagonal", "hessian_operator", "hvp", "lanczos", "top_eigenpair"]


def hvp(f: Callable[[Any], jax.Array], x: Any, v: Any) -> Any:
    """Hessian-vector product ``H(x) v`` (``x`` and ``v`` pytrees of one structure), by
    forward-over-reverse differentiation."""
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


def hessian_operator(f: Callable[..., jax.Array], x: Any, *args: Any
                     ) -> tuple[jax.Array, Callable[[jax.Array], jax.Array]]:
    """``(flat, matvec)``: ``x`` flattened by ``ravel_pytree`` ``[d]`` and ``v ↦ H(x)v`` on
    flat vectors ``[d] → [d]``, H the Hessian of ``f(x, *args)`` in ``x``; forward-over-reverse
    like ``hvp`` but linearised once (``jax.linearize`` of the gradient), so repeated
    products skip the primal pass."""
    flat, unravel = ravel_pytree(x)
    _, matvec = jax.linearize(jax.grad(lambda z: f(unravel(z), *args)), flat)
    return flat, matvec


class Tridiagonal(NamedTuple):
    """A Lanczos decomposition ``HQᵀ ≈ QᵀT``: ``alpha`` ``[m]`` (diagonal of T), ``beta``
    ``[m]`` (``beta[j]`` couples q_j and q_{j+1}; ``beta[m−1]`` is the residual norm of
    the last step, 0 where an invariant subspace was found), ``basis`` ``[m, d]`` (Q, rows
    orthonormal)."""

    alpha: jax.Array
    beta: jax.Array
    basis: jax.Array

    def matrix(self) -> jax.Array:
        """The tridiagonal ``T`` ``[m, m]``."""
        off = self.beta[: self.alpha.shape[0] - 1]
        return jnp.diag(self.alpha) + jnp.diag(off, 1) + jnp.diag(off, -1)

    def eigh(self, *, select: Any = None) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Ritz values ``[m]`` (ascending), Ritz vectors ``[m, d]`` (rows) and their
        residuals ``‖Hv − θv‖ = beta[m−1]·|y_m|`` ``[m]``; with ``select`` (indices into
        the ascending order, ``[s]``) only those ``s`` pairs, in that order."""
        m = self.alpha.shape[0]
        theta, y = jnp.linalg.eigh(self.matrix())
        if select is not None:
            theta, y = theta[select], y[:, select]
        return theta, y.T @ self.basis, jnp.abs(self.beta[m - 1] * y[m - 1])


def lanczos(matvec: Callable[[jax.Array], jax.Array], v0: jax.Array, iters: int, *,
            key: jax.Array | None = None) -> Tridiagonal:
    """``iters`` Lanczos steps (at most ``d``) on the symmetric operator ``matvec`` from ``v0``
    ``[d]``, with full re-orthogonalisation (twice, classical Gram–Schmidt).

    When the Krylov space becomes invariant (``beta`` ≈ 0) the next vector is a random
    one (from ``key``) orthogonal to the basis, and ``beta`` is 0 there, so T stays exact.
    Jittable and vmappable; ``iters`` is static.
    """
    d = v0.shape[0]
    m = min(int(iters), d)
    key = jax.random.PRNGKey(0) if key is None else key
    eps = jnp.finfo(v0.dtype).eps

    def orthogonal(q_rows: jax.Array, w: jax.Array) -> jax.Array:
        for _ in range(2):
            w = w - q_rows.T @ (q_rows @ w)
        return w

    def unit_or_random(w: jax.Array, q_rows: jax.Array, scale: jax.Array, k: jax.Array
                       ) -> tuple[jax.Array, jax.Array]:
        norm = jnp.linalg.norm(w)
        broken = norm <= 1e3 * eps * scale

        def random_unit(_: Any) -> jax.Array:  # drawn only on a breakdown (unbatched)
            r = orthogonal(q_rows, jax.random.normal(k, (d,), v0.dtype))
            return r / jnp.linalg.norm(r)

        q = jax.lax.cond(broken, random_unit, lambda _: w / jnp.where(broken, 1.0, norm),
                         None)
        return q, jnp.where(broken, 0.0, norm)

    basis = jnp.zeros((m, d), v0.dtype)
    q0, _ = unit_or_random(v0, basis, jnp.linalg.norm(v0), jax.random.fold_in(key, m))
    basis = basis.at[0].set(q0)

    def body(j: jax.Array, carry: tuple) -> tuple:
        basis, alpha, beta = carry
        q = basis[j]
        w = matvec(q)
        a = q @ w
        scale = jnp.linalg.norm(w)
        w = orthogonal(basis, w)
        q_next, b = unit_or_random(w, basis, scale, jax.random.fold_in(key, j))
        basis = jnp.where(j + 1 < m, basis.at[jnp.minimum(j + 1, m - 1)].set(q_next), basis)
        return basis, alpha.at[j].set(a), beta.at[j].set(b)

    zeros = jnp.zeros((m,), v0.dtype)
    basis, alpha, beta = jax.lax.fori_loop(0, m, body, (basis, zeros, zeros))
    return Tridiagonal(alpha, beta, basis)


def top_eigenpair(matvec: Callable[[jax.Array], jax.Array], v0: jax.Array, iters: int, *,
                  key: jax.Array | None = None) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Largest *algebraic* Ritz value, its unit Ritz vector ``[d]`` and residual norm, from
    ``iters`` Lanczos steps started at ``v0`` (warm-start with the previous vector)."""
    theta, vecs, res = lanczos(matvec, v0, iters, key=key).eigh()
    return theta[-1], vecs[-1], res[-1]
