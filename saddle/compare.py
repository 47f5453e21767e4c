"""Comparing optimizers and schedules on one objective: best learning rate from a sweep,
time to a loss target, runs stuck on plateaus, and shares of diverged runs.

* ``hitting_time(target)``: a ``saddle.monitors`` monitor, the first step ``t`` at which
  ``f(x_t) < target`` (−1 if never; censor with ``saddle.stats.censored_summary``).
* ``best_lr(final_loss, diverged)``: the index of the learning rate whose median final
  loss over the sweep's starts is lowest (a diverged run counts as +∞).
* ``stuck(loss, grad_norm, lowest, ...)``: ended on a plateau — small gradient, loss above
  the target and a direction of negative curvature (index > 0).
* ``curvature_ends(obj, xs, key=, iters=)``: the lowest and highest Hessian eigenvalues at
  many points (Lanczos on Hessian-vector products), for ``stuck``.
* ``shares(flags)``: share of ``True`` per row with its Wilson 95% interval.
* ``lr_trajectory(optimizer, steps)``: the step size an optimizer takes at each step on
  f(x) = x (gradient 1), i.e. its learning-rate schedule as the optimizer applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from saddle.curvature.batch import extreme_eigenpairs_batch
from saddle.engine import Step
from saddle.monitors import Monitor
from saddle.stats import wilson_interval

__all__ = ["best_lr", "curvature_ends", "hitting_time", "lr_trajectory", "shares", "stuck"]


def hitting_time(target: float) -> Monitor:
    """``hit_step``: the first step ``t`` (0 = the start) at which the run is alive and
    ``f(x_t) < target``, −1 if never (the end point counts as step ``steps``)."""
    target = float(target)
    if not np.isfinite(target):
        raise ValueError(f"target must be a finite number, got {target}")

    def update(first: jax.Array, step: Step) -> jax.Array:
        hit = (first < 0) & step.alive & (step.loss < target)
        return jnp.where(hit, step.t, first)

    return Monitor(init=lambda step: jnp.asarray(-1, jnp.int32), update=update,
                   output=lambda first, last: {"hit_step": first})


def _losses(final_loss: Any, diverged: Any) -> tuple[np.ndarray, np.ndarray]:
    loss = np.asarray(final_loss, dtype=float)
    div = np.asarray(diverged, dtype=bool)
    if loss.ndim != 2 or div.shape != loss.shape:
        raise ValueError(f"final_loss and diverged must both be [h, n], got shapes "
                         f"{loss.shape} and {div.shape}")
    return loss, div


def best_lr(final_loss: Any, diverged: Any) -> tuple[int, np.ndarray]:
    """The learning rate to keep from a sweep: ``(argmin_h score_h, score [h])`` with
    ``score_h`` the median over starts of the final loss ``[h, n]``, a diverged run (or a
    non-finite loss) counting as +∞; the first of equal scores wins."""
    loss, div = _losses(final_loss, diverged)
    score = np.median(np.where(div | ~np.isfinite(loss), np.inf, loss), axis=1)
    if not np.any(np.isfinite(score)):
        raise ValueError("every learning rate of the sweep diverged on at least half the starts")
    return int(np.argmin(score)), score


def stuck(loss: Any, grad_norm: Any, lowest: Any, *, target: float, grad_tol: float,
          eig_tol: Any) -> np.ndarray:
    """``[n]`` bool: ended on a plateau, i.e. ``‖∇f‖ < grad_tol`` and ``f ≥ target`` and
    ``λ_min < −eig_tol`` (``eig_tol`` a number or one per point, e.g. a share of λ_max).
    ``lowest`` is a Lanczos (Ritz) value, never below ``λ_min``, so ``lowest < −eig_tol``
    proves an eigenvalue below ``−eig_tol``."""
    loss, g, lam = (np.asarray(v, dtype=float) for v in (loss, grad_norm, lowest))
    if not (loss.shape == g.shape == lam.shape):
        raise ValueError(f"loss, grad_norm and lowest must have one shape, got {loss.shape}, "
                         f"{g.shape}, {lam.shape}")
    for name, v in (("grad_tol", grad_tol), ("eig_tol", eig_tol)):
        v = np.asarray(v, dtype=float)
        if not np.all(np.isfinite(v) & (v >= 0)):
            raise ValueError(f"{name} must be finite numbers >= 0, got {v}")
    return (g < grad_tol) & (loss >= target) & (lam < -eig_tol)


def curvature_ends(f: Callable[..., jax.Array], xs: Any, *, key: jax.Array, iters: int = 40,
                   args: tuple = (), chunk_size: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(lowest [n], highest [n])`` Hessian eigenvalues of ``f(x, *args)`` at the points
    ``xs [n, d]``: Ritz values of ``iters`` Lanczos steps (``extreme_eigenpairs_batch``),
    ``lowest ≥ λ_min`` and ``highest ≤ λ_max``, exact when ``iters ≥ d``."""
    e = extreme_eigenpairs_batch(f, xs, 1, iters, key=key, which="both", args=args,
                                 chunk_size=chunk_size)
    return np.asarray(e.lowest)[:, 0], np.asarray(e.highest)[:, 0]


def shares(flags: Any) -> dict[str, np.ndarray]:
    """For bool ``flags [..., n]``: ``share``, ``ci_low``, ``ci_high`` ``[...]`` (Wilson 95%)."""
    f = np.asarray(flags, dtype=bool)
    if f.ndim < 1 or f.shape[-1] < 1:
        raise ValueError(f"flags must be [..., n] with n >= 1, got shape {f.shape}")
    lo, hi = wilson_interval(f.sum(-1), f.shape[-1])
    return {"share": f.mean(-1), "ci_low": lo, "ci_high": hi}


def lr_trajectory(optimizer: optax.GradientTransformation, steps: int) -> np.ndarray:
    """``[steps]``: −uₜ of ``optimizer`` on f(x) = x (gradient 1 at every step, value = x)
    from x = 0; for SGD with a schedule this is the schedule as the optimizer applies it."""
    opt = optax.with_extra_args_support(optimizer)

    def body(carry: tuple, _: Any) -> tuple:
        x, state = carry
        u, state = opt.update(jnp.ones(()), state, x, value=x, grad=jnp.ones(()),
                              value_fn=lambda p: p)
        return (x + u, state), -u

    x0 = jnp.zeros(())
    _, lrs = jax.lax.scan(body, (x0, opt.init(x0)), None, length=int(steps))
    return np.asarray(lrs)
