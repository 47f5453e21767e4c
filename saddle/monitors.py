"""Monitors: per-step quantities of a run, as small ``(init, update)`` pairs composed like optax.

A monitor watches the ``saddle.engine.Step`` of every step of a run (its parameters,
loss, gradient, whether it is still alive, ...) and keeps a small state:

* ``init(step0) -> state`` at the start,
* ``update(state, step) -> state`` at every step ``t = 0, ..., steps − 1`` and once more
  for the end point (``t = steps``, measured on all rows),
* ``output(state, last) -> dict`` of per-run results at the end,
* ``record(state, step) -> dict`` of values kept every ``record_every`` steps (optional).

``chain(m1, m2, ...)`` runs several as one. Adding a quantity is writing one of these;
the engine does not change. Keys must be unique across a chain. Memory: a monitor's
state is per run; records are ``[T, ...]`` per run and key, so only ``path()`` (the
parameters) grows with the number of parameters.

>>> import optax, saddle
>>> run = saddle.descend(lambda x: (x**2).sum(), [[1.0, -2.0]], optax.sgd(0.1), 50,
...                      monitors=[saddle.monitors.distance()])
>>> round(float(run.outputs["distance"][0]), 4)
2.2361
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax.tree_utils as otu
from jax.flatten_util import ravel_pytree

from saddle._checks import positive_float, positive_int
from saddle.curvature.krylov import hvp, top_eigenpair
from saddle.engine import Step

__all__ = [
    "Monitor",
    "chain",
    "convergence",
    "distance",
    "divergence",
    "escape",
    "grad_norm",
    "last_finite",
    "loss",
    "path",
    "sharpness",
]


def _no_record(state: Any, step: Step) -> dict:
    del state, step
    return {}


class Monitor(NamedTuple):
    """A per-step quantity: ``init``, ``update``, ``output`` and ``record`` (module docstring)."""

    init: Callable[[Step], Any]
    update: Callable[[Any, Step], Any]
    output: Callable[[Any, Step], dict]
    record: Callable[[Any, Step], dict] = _no_record


def _merge(dicts: list[dict], what: str) -> dict:
    out: dict = {}
    for d in dicts:
        for k, v in d.items():
            if k in out:
                raise ValueError(f"two monitors {what} the key {k!r}")
            out[k] = v
    return out


def chain(*monitors: Monitor) -> Monitor:
    """One monitor running ``monitors`` in order (their states in a tuple)."""
    for m in monitors:
        if not isinstance(m, Monitor):
            raise TypeError(f"monitors must be saddle.monitors.Monitor, got {type(m).__name__}")

    return Monitor(
        init=lambda step: tuple(m.init(step) for m in monitors),
        update=lambda s, step: tuple(m.update(si, step) for m, si in zip(monitors, s,
                                                                          strict=True)),
        output=lambda s, last: _merge([m.output(si, last) for m, si in zip(monitors, s,
                                                                           strict=True)],
                                      "output"),
        record=lambda s, step: _merge([m.record(si, step) for m, si in zip(monitors, s,
                                                                           strict=True)],
                                      "record"),
    )


def _stateless(output: Callable[[Step], dict], record: Callable[[Step], dict] | None = None
               ) -> Monitor:
    return Monitor(init=lambda step: (), update=lambda s, step: s,
                   output=lambda s, last: output(last),
                   record=(lambda s, step: record(step)) if record else _no_record)


# ----------------------------------------------------------------------------- the basics
def loss() -> Monitor:
    """``loss``: f at the end point (output) and at each recorded step (record)."""
    return _stateless(lambda last: {"loss": last.loss}, lambda step: {"loss": step.loss})


def grad_norm() -> Monitor:
    """``grad_norm``: ‖∇f‖₂ at the end point (output) and at each recorded step (record)."""
    return _stateless(lambda last: {"grad_norm": last.grad_norm},
                      lambda step: {"grad_norm": step.grad_norm})


def path() -> Monitor:
    """``params``: the parameters at each recorded step (memory ``T × d`` per run)."""
    return _stateless(lambda last: {}, lambda step: {"params": step.params})


def distance() -> Monitor:
    """``distance``: ‖x_t − x_0‖₂ (over all leaves) at the end and at each recorded step."""

    def dist(step: Step) -> jax.Array:
        return otu.tree_norm(otu.tree_sub(step.params, step.start))

    return _stateless(lambda last: {"distance": dist(last)},
                      lambda step: {"distance": dist(step)})


def convergence(tol: float) -> Monitor:
    """``converged``: alive and ‖∇f‖ < ``tol`` at the end; ``converged_step``: the first step
    from which ‖∇f‖ stayed below ``tol`` to the end (−1 if not converged)."""
    tol = positive_float(tol, "grad_tol")

    def update(last_above: jax.Array, step: Step) -> jax.Array:
        return jnp.where(step.alive & (step.grad_norm >= tol), step.t, last_above)

    def output(last_above: jax.Array, last: Step) -> dict:
        converged = last.alive & (last.grad_norm < tol)
        return {"converged": converged,
                "converged_step": jnp.where(converged, last_above + 1, -1)}

    return Monitor(init=lambda step: jnp.asarray(-1, jnp.int32), update=update, output=output)


def divergence() -> Monitor:
    """``diverged_step``: the first step at which the run stopped being alive (a non-finite
    loss or gradient, or a loss above the engine's limit), −1 if never."""

    def update(first: jax.Array, step: Step) -> jax.Array:
        return jnp.where((first < 0) & ~step.alive, step.t, first)

    return Monitor(init=lambda step: jnp.asarray(-1, jnp.int32), update=update,
                   output=lambda first, last: {"diverged_step": first})


def last_finite() -> Monitor:
    """``last_finite_params``, ``last_finite_loss``, ``last_finite_grad_norm``: the last
    point at which the run was alive, with f and ‖∇f‖ there (a ``where`` on the
    parameters every step: the driver runs it only to replay runs that diverged)."""

    def keep(step: Step) -> tuple:
        return step.params, step.loss, step.grad_norm

    def update(state: tuple, step: Step) -> tuple:
        return jax.tree.map(lambda new, old: jnp.where(step.alive, new, old), keep(step), state)

    def output(state: tuple, last: Step) -> dict:
        x, f, g = state
        return {"last_finite_params": x, "last_finite_loss": f, "last_finite_grad_norm": g}

    return Monitor(init=keep, update=update, output=output)


def escape(center: Any, radius: float = float("inf"), loss_drop: float = float("inf")
           ) -> Monitor:
    """``escape_step``: the first step at which the run (alive) was outside the ball
    ``‖x − center‖ > radius`` or below ``f(center) − loss_drop`` (−1 if never);
    ``escaped``: whether it did. ``center`` has the parameters' structure."""
    for name, v in (("radius", radius), ("loss_drop", loss_drop)):
        if not float(v) > 0:
            raise ValueError(f"escape {name} must be > 0, got {v}")
    if np.isinf(radius) and np.isinf(loss_drop):
        raise ValueError("escape needs a finite radius or loss_drop")

    def init(step: Step) -> tuple:
        c = jax.tree.map(lambda a, p: jnp.asarray(a, p.dtype), center, step.params)
        return c, step.loss_fn(c) - loss_drop, jnp.asarray(-1, jnp.int32)

    def update(state: tuple, step: Step) -> tuple:
        c, threshold, first = state
        out = (otu.tree_norm(otu.tree_sub(step.params, c)) > radius) | (step.loss < threshold)
        return c, threshold, jnp.where(step.alive & (first < 0) & out, step.t, first)

    def output(state: tuple, last: Step) -> dict:
        return {"escape_step": state[2], "escaped": state[2] >= 0}

    return Monitor(init=init, update=update, output=output)


# ----------------------------------------------------------------------------- curvature
def sharpness(every: int = 10, iters: int = 10) -> Monitor:
    """``sharpness``: the largest algebraic Hessian eigenvalue λ_max of f at the parameters,
    re-estimated every ``every`` steps by ``iters`` Lanczos steps on Hessian-vector products
    (``saddle.curvature.top_eigenpair``) warm-started from the previous top Ritz vector;
    output: the last estimate, record: the estimate current at each recorded step.

    The estimate uses the step's batch (all rows for full-batch runs). Cost: ``iters``
    HVPs (≈ 2 gradients each) every ``every`` steps; state: one vector of the parameters'
    size per run. A Ritz value is a lower bound of λ_max that converges from below.
    """
    every = positive_int(every, "every")
    iters = positive_int(iters, "iters")

    def estimate(step: Step, v0: jax.Array) -> tuple[jax.Array, jax.Array]:
        flat, unravel = ravel_pytree(step.params)

        def matvec(v: jax.Array) -> jax.Array:
            return ravel_pytree(hvp(step.loss_fn, step.params, unravel(v)))[0]

        lam, vec, _ = top_eigenpair(matvec, v0.astype(flat.dtype), iters, key=step.key)
        return lam, vec

    def init(step: Step) -> tuple:
        flat, _ = ravel_pytree(step.params)
        return estimate(step, jax.random.normal(step.key, flat.shape, flat.dtype))

    def update(state: tuple, step: Step) -> tuple:
        return jax.lax.cond((step.t % every == 0) & (step.t > 0),
                            lambda s: estimate(step, s[1]), lambda s: s, state)

    return Monitor(init=init, update=update,
                   output=lambda s, last: {"sharpness": s[0]},
                   record=lambda s, step: {"sharpness": s[0]})
