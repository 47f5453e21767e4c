"""Certified local minima: Newton polishing, then the smallest Hessian eigenvalue beyond its error.

For each point x (near a critical point, e.g. where gradient descent stopped):

1. polish: up to ``polish_steps`` Newton steps x ← x − H⁻¹∇f while ‖∇f‖ > ``grad_tol``
   (a step is kept only if it lowers ‖∇f‖);
2. measure at the polished x: f, ‖∇f‖, the Hessian H (autodiff) and its eigenvalues
   (LAPACK ``eigvalsh`` in float64, on the host);
3. margin δ = δ_eig + δ_grad, where δ_eig = 10·p·ε·‖H‖₂ bounds eigvalsh's backward error
   (p parameters, ε the unit roundoff) and δ_grad = ‖H(x + s) − H(x)‖_F, s = −H⁻¹∇f,
   is the change of the Hessian between x and the critical point x + s that the residual
   gradient points to (Weyl: the eigenvalues there differ by at most this);
4. status: ``not_converged`` if ‖∇f‖ > grad_tol, else ``minimum`` if λ_min > δ,
   ``saddle`` if λ_min < −δ, ``degenerate`` otherwise (|λ_min| ≤ δ: second order cannot
   tell).

Hessians are computed in chunks of ``chunk_size`` points (one compiled program per
function and chunk shape); eigenvalues one matrix at a time per BLAS thread.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from threadpoolctl import threadpool_limits

from saddle._checks import as_batch, positive_float, positive_int

__all__ = ["STATUSES", "Certificate", "certify_minima"]

STATUSES = ("minimum", "saddle", "degenerate", "not_converged")


@dataclasses.dataclass(frozen=True)
class Certificate:
    """Per-point results of ``certify_minima`` (numpy, ``n`` points in ``p`` dims).

    x ``[n, p]``: the polished points. value, grad_norm ``[n]``: f and ‖∇f‖ there.
    lam_min, lam_max ``[n]``: extreme Hessian eigenvalues. margin ``[n]``: δ = δ_eig +
    δ_grad. newton_step ``[n]``: ‖H⁻¹∇f‖, the distance to the critical point.
    status ``[n]``: one of ``STATUSES``.
    """

    x: np.ndarray
    value: np.ndarray
    grad_norm: np.ndarray
    lam_min: np.ndarray
    lam_max: np.ndarray
    margin: np.ndarray
    newton_step: np.ndarray
    status: np.ndarray


@functools.lru_cache(maxsize=32)
def _program(fn: Callable[[jax.Array], jax.Array]) -> Callable:
    """(f, ∇f, ∇²f) at each row of a chunk ``[c, p]``."""
    value_and_grad, hess = jax.value_and_grad(fn), jax.hessian(fn)

    def one(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        f, g = value_and_grad(x)
        return f, g, hess(x)

    return jax.jit(jax.vmap(one))


def _newton(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """−H⁻¹g per row (least squares where H is singular)."""
    try:
        return -np.linalg.solve(h, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return -np.stack([np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(h, g, strict=True)])


def _chunk(program: Callable, x: np.ndarray, grad_tol: float, polish_steps: int
           ) -> tuple[np.ndarray, ...]:
    def measure(z: np.ndarray) -> tuple[np.ndarray, ...]:
        f, g, h = (np.asarray(a, np.float64) for a in program(jnp.asarray(z)))
        return f, g, h, np.linalg.norm(g, axis=1)

    f, g, h, gn = measure(x)
    for _ in range(polish_steps):
        move = gn > grad_tol
        if not move.any():
            break
        x_new = np.where(move[:, None], x + _newton(h, g), x)
        f2, g2, h2, gn2 = measure(x_new)
        keep = gn2 < gn
        x = np.where(keep[:, None], x_new, x)
        f, gn = np.where(keep, f2, f), np.where(keep, gn2, gn)
        g, h = np.where(keep[:, None], g2, g), np.where(keep[:, None, None], h2, h)
    lam = np.linalg.eigvalsh(h)
    s = _newton(h, g)
    _, _, h_s, _ = measure(x + s)
    p = x.shape[1]
    eps = np.finfo(np.float64).eps / 2
    norm2 = np.max(np.abs(lam), axis=1)
    margin = 10 * p * eps * norm2 + np.linalg.norm(h_s - h, axis=(1, 2))
    return x, f, gn, lam[:, 0], lam[:, -1], margin, np.linalg.norm(s, axis=1)


def certify_minima(fn: Callable[[jax.Array], jax.Array], xs: np.ndarray, *,
                   grad_tol: float = 1e-11, polish_steps: int = 3,
                   chunk_size: int = 32) -> Certificate:
    """Polish each row of ``xs`` ``[n, p]`` by Newton steps and certify it as a minimum
    (or a saddle, degenerate, or not converged) by the rule in the module docstring.

    Args:
      fn: a twice-differentiable scalar function of a ``[p]`` vector (call it on float64
        arrays, under ``saddle.precision.float64``, for the margins to be meaningful).
      xs: ``[n, p]`` points near critical points.
      grad_tol: ‖∇f‖ a point must reach to be called critical.
      polish_steps: Newton steps at most.
      chunk_size: points per compiled Hessian call (the last chunk is padded).
    """
    xs = np.asarray(as_batch(xs, "xs"))
    grad_tol = positive_float(grad_tol, "grad_tol")
    polish_steps = positive_int(polish_steps, "polish_steps", minimum=0)
    size = min(positive_int(chunk_size, "chunk_size"), xs.shape[0])
    program = _program(fn)
    parts = []
    with threadpool_limits(1):  # BLAS threads spin and fight on a shared CPU; one is faster
        for lo in range(0, xs.shape[0], size):
            x = xs[lo:lo + size]
            m = x.shape[0]
            x = np.concatenate([x, np.broadcast_to(x[:1], (size - m, x.shape[1]))])
            parts.append([a[:m] for a in _chunk(program, x, grad_tol, polish_steps)])
    x, f, gn, lo_, hi_, margin, step = (np.concatenate(a) for a in zip(*parts, strict=True))
    status = np.where(gn > grad_tol, "not_converged",
                      np.where(lo_ > margin, "minimum",
                               np.where(lo_ < -margin, "saddle", "degenerate")))
    return Certificate(x=x, value=f, grad_norm=gn, lam_min=lo_, lam_max=hi_, margin=margin,
                       newton_step=step, status=status.astype(str))
