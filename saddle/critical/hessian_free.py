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

``solver="trust"`` instead takes regularised Newton steps on φ = ½‖∇f‖² with its exact
Hessian B = H² + ∇³f[∇f] (HVPs of x ↦ H∇f), in the Krylov space K_m(B, H∇f) (Lanczos,
full re-orthogonalisation, basis m·d per start): p = −(B_m + μI)⁻¹H∇f with
μ = max(0, −λ_min(T)) + θ·max|λ(T)|. A step is taken when ‖∇f‖² falls by at least 10⁻⁴
of the model's decrease, else θ ← 4θ on the same Krylov space (≤ 12 trials); θ shrinks
×0.1 after a step with ratio ρ > ¾ and grows ×4 when ρ < ¼ (Levenberg–Marquardt / trust
region, Moré 1978; Nocedal & Wright, *Numerical Optimization*, ch. 4). Near a
non-degenerate critical point B → H² and p → −H⁻¹∇f (quadratic convergence); unlike
Newton-MR, whose Gauss–Newton model H² is singular at gradient-flat points, it also
converges quickly to gradient-flat points that are local minima of ‖∇f‖².

Everything is one ``jit(vmap(lax.scan))`` over starts with static iteration counts; the
objective may carry data (``fn(θ, batch)``: the full batch is used).

References:
  C. C. Paige, M. A. Saunders, "Solution of sparse indefinite systems of linear
  equations", SIAM J. Numer. Anal. 12 (1975) 617–629.
  F. Roosta, Y. Liu, P. Xu, M. W. Mahoney, "Newton-MR: Inexact Newton method with minimum
  residual sub-problem solver", arXiv:1810.00303 (2018).
  J. J. Moré, "The Levenberg–Marquardt algorithm: implementation and theory", Lecture
  Notes in Mathematics 630 (1978) 105–116.
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
SOLVERS = ("minres", "trust")
_ARMIJO = 1e-4
_BACKTRACK = 12  # α = 1, ½, ..., 2⁻¹¹; trust: θ, 4θ, ..., 4¹¹θ
_THETA0 = 1e-3  # initial (μ − shift) / max|λ(T)| (Madsen, Nielsen & Tingleff's τ)


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


def _trust_solver(grad: Callable, krylov_iters: int, key: jax.Array) -> Callable:
    """One regularised Newton step on φ = ½‖∇f‖² in the Krylov space of its Hessian B at
    ∇φ = H∇f: carry ``(x, θ)`` ↦ ``(x', θ')``."""

    def dphi(x: jax.Array) -> jax.Array:  # ∇φ = H∇f
        return jax.jvp(grad, (x,), (grad(x),))[1]

    def step(carry: tuple, _: None) -> tuple[tuple, None]:
        x, theta = carry
        g = grad(x)
        gg = g @ g
        r = jax.jvp(grad, (x,), (g,))[1]
        tri = lanczos(lambda v: jax.jvp(dphi, (x,), (v,))[1], r, krylov_iters, key=key)
        s, u = jnp.linalg.eigh(tri.matrix())
        c = u[0] * jnp.linalg.norm(r)  # Uᵀ(‖∇φ‖e₁)
        shift = jnp.maximum(-s[0], 0.0)  # μ ≥ −λ_min(T): the model is convex
        scale = jnp.max(jnp.abs(s))

        def trial(state: tuple) -> tuple:
            j, _, _, _ = state
            mu = shift + theta * jnp.asarray(4.0, x.dtype) ** j * scale
            den = jnp.where(s + mu > 0, s + mu, 1.0)
            xt = x - tri.basis.T @ (u @ (c / den))
            pred = jnp.sum(c**2 * (s + 2 * mu) / den**2)  # 2·(model decrease of φ)
            gt = grad(xt)
            phi = jnp.where(jnp.all(jnp.isfinite(gt)), gt @ gt, jnp.inf)
            rho = (gg - phi) / jnp.where(pred > 0, pred, 1.0)
            return j + 1, (pred > 0) & (rho >= _ARMIJO), xt, rho

        j, ok, xt, rho = jax.lax.while_loop(
            lambda st: ~st[1] & (st[0] < _BACKTRACK), trial,
            (jnp.asarray(0), jnp.asarray(False), x, jnp.asarray(0.0, x.dtype)))
        tried = theta * jnp.asarray(4.0, x.dtype) ** (j - 1)
        grow = jnp.where(rho > 0.75, 0.1, jnp.where(rho < 0.25, 4.0, 1.0))
        eps = jnp.finfo(x.dtype).eps
        theta = jnp.clip(jnp.where(ok, tried * grow, tried), eps, 1 / eps)
        move = ok & jnp.isfinite(gg) & (gg > 0)
        return (jnp.where(move, xt, x), theta), None

    return step


def _minres_solver(hvp: Callable, grad: Callable, minres_iters: int) -> Callable:
    """One Newton-MR step: carry ``(x, θ)`` ↦ ``(x', θ)`` (θ unused)."""

    def step(carry: tuple, _: None) -> tuple[tuple, None]:
        x, theta = carry
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
        return (jnp.where(move, x + alpha * p, x), theta), None

    return step


@functools.lru_cache(maxsize=32)
def _program(loss: Callable, with_data: bool, steps: int, minres_iters: int,
             lanczos_iters: int, solver: str = "minres") -> Callable:
    def one(x0: jax.Array, key: jax.Array, data: Any) -> tuple[jax.Array, ...]:
        fn = (lambda x: loss(x, data)) if with_data else loss
        grad = jax.grad(fn)

        def hvp(x: jax.Array, v: jax.Array) -> jax.Array:
            return jax.jvp(grad, (x,), (v,))[1]

        step = (_trust_solver(grad, minres_iters, jax.random.fold_in(key, 1))
                if solver == "trust" else _minres_solver(hvp, grad, minres_iters))
        (x, _), _ = jax.lax.scan(step, (x0, jnp.asarray(_THETA0, x0.dtype)), None,
                                 length=steps)
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
              flat_tol: float = 1e-3, solver: str = "minres") -> HessianFreeResult:
    """Hessian-free Newton-MR on ∇f = 0 from every row of ``x0`` ``[n, d]``.

    Args:
      objective: an ``Objective`` over flat parameters (with ``data``: the full batch) or
        a function ``f(x) -> []``.
      x0: starts ``[n, d]``.
      key: ``jax.random`` key for the Lanczos start vectors (one per start).
      steps: iterations; minres_iters: HVPs per step, i.e. MINRES iterations, or the
        Krylov dimension of the ``"trust"`` solver (at most d);
      lanczos_iters: Lanczos steps for |λ|_max at the end point.
      grad_tol: an end point with ‖∇f‖ ≤ grad_tol is critical.
      flat_tol: a non-critical end point with ‖H∇f‖ ≤ flat_tol·|λ|_max‖∇f‖ is
        gradient-flat; the others are unconverged (non-finite f or ∇f: diverged).
      solver: ``"minres"`` (Newton-MR) or ``"trust"`` (regularised Newton on ½‖∇f‖²,
        see the module docstring).
    """
    steps, minres_iters = positive_int(steps, "steps"), positive_int(minres_iters, "minres_iters")
    lanczos_iters = positive_int(lanczos_iters, "lanczos_iters")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
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
    out = _program(fn, data is not None, steps, minres_iters, lanczos_iters, solver)(
        x0, keys, data)
    x, value, gn, hg, lam = (np.asarray(a) for a in out)
    flat = hg / np.maximum(lam * gn, np.finfo(x.dtype).tiny)
    finite = np.isfinite(value) & np.isfinite(gn) & np.all(np.isfinite(x), axis=1)
    status = np.where(~finite, "diverged", np.where(
        gn <= grad_tol, "critical", np.where(flat <= flat_tol, "gradient_flat", "unconverged")))
    return HessianFreeResult(x=x, value=value, grad_norm=gn, hg_norm=hg, lam_max=lam,
                             flatness=flat, status=status, grad_tol=grad_tol)
