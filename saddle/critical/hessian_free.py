"""Critical points of networks, Hessian-free: Newton-MR with MINRES on Hessian-vector products.

For d too large for a dense Hessian, each step solves min_p ‖Hp + ∇f‖ approximately by
``minres_iters`` iterations of MINRES (Paige & Saunders 1975) on HVPs, started from 0
(so the iterates lie in the Krylov space of ∇f; on a singular H they approach the
least-squares solution), then backtracks along p until ‖∇f‖² satisfies Armijo:
‖∇f(x + αp)‖² ≤ ‖∇f(x)‖² + 2ρα⟨p, H∇f⟩ (Newton-MR, Roosta et al. 2018, Algorithm 1;
MINRES iterates satisfy ⟨p, H∇f⟩ ≤ 0, so p descends ‖∇f‖²). Like its dense counterpart
it converges to minima of ‖∇f‖²: critical points (∇f = 0) and gradient-flat points
(H∇f = 0, ∇f ≠ 0; Frye et al. 2021), told apart at the end by ‖∇f‖ and by the
flatness ‖H∇f‖/(|λ|_max‖∇f‖), |λ|_max from a few Lanczos steps.

Everything is one ``jit(vmap(lax.scan))`` over starts with static iteration counts; the
objective may carry data (``fn(θ, batch)``: the full batch is used).

References:
  C. C. Paige, M. A. Saunders, "Solution of sparse indefinite systems of linear
  equations", SIAM J. Numer. Anal. 12 (1975) 617–629.
  F. Roosta, Y. Liu, P. Xu, M. W. Mahoney, "Newton-MR: Inexact Newton method with minimum
  residual sub-problem solver", arXiv:1810.00303 (2018).
  C. G. Frye et al., "Critical point-finding methods reveal gradient-flat regions of deep
  network losses", Neural Computation 33 (2021).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import positive_float, positive_int
from saddle.curvature.krylov import lanczos
from saddle.objectives.core import Objective

STATUSES = ("critical", "gradient_flat", "unconverged", "diverged")
_ARMIJO = 1e-4
_BACKTRACK = 12  # α = 1, ½, ..., 2⁻¹¹


def minres(matvec: Callable[[jax.Array], jax.Array], b: jax.Array, iters: int) -> jax.Array:
    """``iters`` MINRES iterations for H x = b from x = 0 (H symmetric, possibly indefinite
    or singular, given by ``matvec``); ``[d]``. Stops updating when the Krylov space is
    exhausted. Follows scipy.sparse.linalg.minres without preconditioner."""
    eps = jnp.finfo(b.dtype).eps
    beta1 = jnp.linalg.norm(b)
    zero = jnp.zeros_like(b)
    s0 = dict(x=zero, r1=b, r2=b, y=b, w=zero, w2=zero, oldb=jnp.zeros_like(beta1),
              beta=beta1, dbar=jnp.zeros_like(beta1), epsln=jnp.zeros_like(beta1),
              phibar=beta1, cs=-jnp.ones_like(beta1), sn=jnp.zeros_like(beta1),
              done=beta1 <= jnp.finfo(b.dtype).tiny, first=jnp.asarray(True))

    def body(_: int, s: dict) -> dict:
        beta = jnp.where(s["done"], 1.0, s["beta"])
        v = s["y"] / beta
        y = matvec(v)
        y = jnp.where(s["first"], y, y - (s["beta"] / jnp.where(s["oldb"] > 0, s["oldb"], 1.0))
                      * s["r1"])
        alfa = v @ y
        y = y - (alfa / beta) * s["r2"]
        new_beta = jnp.linalg.norm(y)
        oldeps = s["epsln"]
        delta = s["cs"] * s["dbar"] + s["sn"] * alfa
        gbar = s["sn"] * s["dbar"] - s["cs"] * alfa
        epsln = s["sn"] * new_beta
        dbar = -s["cs"] * new_beta
        gamma = jnp.maximum(jnp.hypot(gbar, new_beta), eps)
        cs, sn = gbar / gamma, new_beta / gamma
        phi, phibar = cs * s["phibar"], sn * s["phibar"]
        w = (v - oldeps * s["w2"] - delta * s["w"]) / gamma
        new = dict(x=s["x"] + phi * w, r1=s["r2"], r2=y, y=y, w=w, w2=s["w"], oldb=s["beta"],
                   beta=new_beta, dbar=dbar, epsln=epsln, phibar=phibar, cs=cs, sn=sn,
                   done=new_beta <= eps * beta1, first=jnp.asarray(False))
        return jax.tree.map(lambda a, b_: jnp.where(s["done"], a, b_), s, new)

    return jax.lax.fori_loop(0, iters, body, s0)["x"]


@functools.lru_cache(maxsize=32)
def _program(loss: Callable, with_data: bool, steps: int, minres_iters: int,
             lanczos_iters: int) -> Callable:
    def one(x0: jax.Array, key: jax.Array, data: Any) -> tuple[jax.Array, ...]:
        fn = (lambda x: loss(x, data)) if with_data else loss
        grad = jax.grad(fn)

        def hvp(x: jax.Array, v: jax.Array) -> jax.Array:
            return jax.jvp(grad, (x,), (v,))[1]

        def step(x: jax.Array, _: None) -> tuple[jax.Array, None]:
            g = grad(x)
            gg = g @ g
            p = minres(lambda v: hvp(x, v), -g, minres_iters)
            slope = p @ hvp(x, g)  # ⟨p, H g⟩ ≤ 0 for MINRES iterates

            def trial(t: tuple) -> tuple:
                k, _, _ = t
                alpha = jnp.asarray(0.5, x.dtype) ** k
                gt = grad(x + alpha * p)
                phi = jnp.where(jnp.all(jnp.isfinite(gt)), gt @ gt, jnp.inf)
                return k + 1, alpha, phi <= gg + 2 * _ARMIJO * alpha * slope

            _, alpha, ok = jax.lax.while_loop(
                lambda t: ~t[2] & (t[0] < _BACKTRACK), trial,
                (jnp.asarray(0), jnp.asarray(1.0, x.dtype), jnp.asarray(False)))
            move = ok & jnp.isfinite(gg) & (gg > 0)
            return jnp.where(move, x + alpha * p, x), None

        x, _ = jax.lax.scan(step, x0, None, length=steps)
        f, g = jax.value_and_grad(fn)(x)
        ritz = lanczos(lambda v: hvp(x, v), jax.random.normal(key, x.shape, x.dtype),
                       lanczos_iters, key=key).eigh()[0]
        return x, f, jnp.linalg.norm(g), jnp.linalg.norm(hvp(x, g)), jnp.max(jnp.abs(ritz))

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None)))


@dataclasses.dataclass(frozen=True)
class HessianFreeResult:
    """End points of Newton-MR from ``n`` starts (numpy): x ``[n, d]``, value, grad_norm,
    hg_norm (‖H∇f‖), lam_max (|λ|_max estimate), flatness ‖H∇f‖/(|λ|_max‖∇f‖) ``[n]``,
    status ``[n]`` (``STATUSES``); grad_tol as used."""

    x: np.ndarray
    value: np.ndarray
    grad_norm: np.ndarray
    hg_norm: np.ndarray
    lam_max: np.ndarray
    flatness: np.ndarray
    status: np.ndarray
    grad_tol: float


def newton_mr(objective: Objective | Callable, x0: Any, *, key: jax.Array, steps: int = 100,
              minres_iters: int = 50, lanczos_iters: int = 20, grad_tol: float = 1e-6,
              flat_tol: float = 1e-3) -> HessianFreeResult:
    """Hessian-free Newton-MR on ∇f = 0 from every row of ``x0`` ``[n, d]``.

    Args:
      objective: an ``Objective`` over flat parameters (with ``data``: the full batch) or
        a function ``f(x) -> []``.
      x0: starts ``[n, d]``.
      key: ``jax.random`` key for the Lanczos start vectors (one per start).
      steps: Newton-MR iterations; minres_iters: MINRES iterations per step (HVPs);
      lanczos_iters: Lanczos steps for |λ|_max at the end point.
      grad_tol: an end point with ‖∇f‖ ≤ grad_tol is critical.
      flat_tol: a non-critical end point with ‖H∇f‖ ≤ flat_tol·|λ|_max‖∇f‖ is
        gradient-flat; the others are unconverged (non-finite f or ∇f: diverged).
    """
    steps, minres_iters = positive_int(steps, "steps"), positive_int(minres_iters, "minres_iters")
    lanczos_iters = positive_int(lanczos_iters, "lanczos_iters")
    grad_tol, flat_tol = positive_float(grad_tol, "grad_tol"), positive_float(flat_tol, "flat_tol")
    x0 = jnp.asarray(x0)
    if x0.ndim != 2:
        raise ValueError(f"x0 must be [n, d] starts, got shape {tuple(x0.shape)}")
    try:
        keys = jax.random.split(key, x0.shape[0])
    except (TypeError, ValueError):
        raise TypeError(f"key must be a jax.random key, got {type(key).__name__}") from None
    if isinstance(objective, Objective):
        fn, data = objective.fn, objective.data
    elif callable(objective):
        fn, data = objective, None
    else:
        raise TypeError(f"objective must be an Objective or a function, got "
                        f"{type(objective).__name__}")
    out = _program(fn, data is not None, steps, minres_iters, lanczos_iters)(x0, keys, data)
    x, value, gn, hg, lam = (np.asarray(a) for a in out)
    flat = hg / np.maximum(lam * gn, np.finfo(x.dtype).tiny)
    finite = np.isfinite(value) & np.isfinite(gn) & np.all(np.isfinite(x), axis=1)
    status = np.where(~finite, "diverged", np.where(
        gn <= grad_tol, "critical", np.where(flat <= flat_tol, "gradient_flat", "unconverged")))
    return HessianFreeResult(x=x, value=value, grad_norm=gn, hg_norm=hg, lam_max=lam,
                             flatness=flat, status=status, grad_tol=grad_tol)
