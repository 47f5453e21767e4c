"""The pure optimization core: one run of an optax optimizer from one start, watched by monitors.

``optimize(fn, optimizer, params, key, steps=...)`` is a pure function of arrays: it can
be jitted, vmapped over starts (and over hyper-parameters), or differentiated. It is
a ``lax.scan`` of optax updates; at each step it evaluates the loss and gradient,
builds a ``Step`` and hands it to the monitors (``saddle.monitors``), which keep
whatever per-step quantities they track. It returns a ``Result`` pytree with the final
parameters, one status per run and the monitors' outputs and records.

A step at ``x_t`` (t = 0, ..., steps − 1)::

    f_t, g_t = f(x_t, batch_t), ∇f(x_t, batch_t)
    alive_t  = alive_{t−1} and f_t, ‖g_t‖ finite and f_t ≤ max_loss_factor·(1 + |f(x_0)|)
    monitors see Step(t, x_t, f_t, g_t, ‖g_t‖, alive_t, ...)
    u, s     = optimizer.update(g_t + σξ, s, x_t, value=f_t, grad=g_t + σξ,
                                value_fn=f(·, batch_t), key=k_t)
    x_{t+1}  = x_t + u

and the end point ``x_steps`` is measured once more on all rows (``t = steps``). A run
whose start has a non-finite loss or gradient is an *invalid start*; one that stops
being alive *diverged* (its parameters keep being updated — NaN is free — and the
driver reports its last finite point). Per-step randomness comes from
``k_t = fold_in(key, t)``: minibatch rows from ``fold_in(k_t, 1)``, gradient noise from
``fold_in(k_t, 2)``, the optimizer's ``key=`` from ``fold_in(k_t, 3)``, monitors' from
``fold_in(k_t, 4)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
import optax.tree_utils as otu

__all__ = ["STATUSES", "Result", "Step", "optimize", "status_names"]

STATUSES = ("converged", "not_converged", "escaped", "diverged", "invalid_start")
"""Per-run status, by precedence: invalid_start (f or ∇f not finite at the start) >
diverged > escaped (left the escape region, when an escape monitor is used) > converged
(‖∇f‖ < tol at the end) > not_converged."""
CONVERGED, NOT_CONVERGED, ESCAPED, DIVERGED, INVALID_START = range(5)


class Step(NamedTuple):
    """What monitors see at step ``t`` (before its update is applied).

    t: int32 step number (``steps`` for the final measurement). params: ``x_t``.
    loss: ``f(x_t)`` on the step's batch (all rows at t = 0, at recorded steps and at
    the end). grad: ``∇f(x_t)`` before gradient noise. grad_norm: its 2-norm over all
    leaves. alive: no divergence up to and including this step. start: ``x_0``.
    loss_fn: ``params -> f`` on the same batch (for Hessian-vector products).
    key: a PRNG key for the monitors at this step.
    """

    t: jax.Array
    params: Any
    loss: jax.Array
    grad: Any
    grad_norm: jax.Array
    alive: jax.Array
    start: Any
    loss_fn: Callable[[Any], jax.Array]
    key: jax.Array


class Result(NamedTuple):
    """One run (a pytree): ``params`` ``x_steps``; ``status`` int32 index into ``STATUSES``;
    ``outputs`` the monitors' per-run results; ``records`` their values every
    ``record_every`` steps, each ``[T, ...]`` with ``T = steps // record_every + 1``
    (empty without ``record_every``)."""

    params: Any
    status: jax.Array
    outputs: dict[str, Any]
    records: dict[str, Any]


def status_names(status: Any) -> Any:
    """Status codes → names (numpy string array of the same shape)."""
    import numpy as np

    return np.asarray(STATUSES)[np.asarray(status)]


def _batch(data: Any, batch_size: int | None, key: jax.Array) -> Any:
    """All rows of ``data``, or ``batch_size`` rows drawn uniformly with replacement."""
    if data is None or batch_size is None:
        return data
    rows = jax.tree.leaves(data)[0].shape[0]
    idx = jax.random.randint(jax.random.fold_in(key, 1), (batch_size,), 0, rows)
    return jax.tree.map(lambda a: a[idx], data)


def _ignoring_key(loss_fn: Callable) -> Callable:
    """``value_fn`` for optax: optax's line searches forward every extra argument of
    ``update`` (here ``key=``) to ``value_fn`` and reject those it does not take."""

    def value_fn(params: Any, *, key: Any = None) -> jax.Array:
        del key
        return loss_fn(params)

    return value_fn


def _loss_fn(fn: Callable, batch: Any) -> Callable[[Any], jax.Array]:
    return fn if batch is None else (lambda p: fn(p, batch))


def optimize(
    fn: Callable[..., jax.Array],
    optimizer: optax.GradientTransformation,
    params: Any,
    key: jax.Array,
    *,
    steps: int,
    monitor: Any,
    data: Any = None,
    batch_size: int | None = None,
    grad_noise: float | jax.Array = 0.0,
    max_loss_factor: float | jax.Array = 1e8,
    record_every: int | None = None,
) -> Result:
    """Run ``optimizer`` on ``fn`` from ``params`` for ``steps`` steps (see the module docstring).

    Args:
      fn: ``fn(params)``, or ``fn(params, batch)`` when ``data`` is given.
      optimizer: an optax transformation; ``update`` receives ``value=``, ``grad=``,
        ``value_fn=`` and ``key=`` (``optax.with_extra_args_support`` drops what it does
        not take).
      params: the start ``x_0`` (any pytree of float arrays).
      key: this run's PRNG key.
      steps: number of updates (static).
      monitor: a ``saddle.monitors.Monitor`` (compose several with ``monitors.chain``).
      data: a pytree of arrays with a common leading axis of rows, or None.
      batch_size: rows per step drawn with replacement (static); None: all rows.
      grad_noise: σ of Gaussian noise added to the gradient the optimizer sees.
      max_loss_factor: a loss above ``max_loss_factor·(1 + |f(x_0)|)`` is divergence.
      record_every: record the monitors every this many steps (static), or None.

    Returns:
      A ``Result``.
    """
    opt = optax.with_extra_args_support(optimizer)
    full = _loss_fn(fn, data)

    def measure(t: Any, x: Any, alive: jax.Array, loss_fn: Callable, k: jax.Array,
                value_grad: tuple | None = None) -> Step:
        loss, g = jax.value_and_grad(loss_fn)(x) if value_grad is None else value_grad
        gn = otu.tree_norm(g)
        fine = jnp.isfinite(loss) & jnp.isfinite(gn) & (loss <= max_loss)
        return Step(jnp.asarray(t, jnp.int32), x, loss, g, gn, alive & fine, params, loss_fn,
                    jax.random.fold_in(k, 4))

    f0, g0 = jax.value_and_grad(full)(params)
    max_loss = max_loss_factor * (1 + jnp.abs(f0))
    step0 = measure(0, params, jnp.asarray(True), full, key, (f0, g0))
    valid_start = step0.alive

    def body(carry: tuple, t: jax.Array) -> tuple[tuple, None]:
        x, opt_state, mstate, alive = carry
        k = jax.random.fold_in(key, t)
        step = measure(t, x, alive, _loss_fn(fn, _batch(data, batch_size, k)), k)
        mstate = monitor.update(mstate, step)
        g = step.grad
        if not (isinstance(grad_noise, float) and grad_noise == 0.0):
            g = otu.tree_add_scale(g, grad_noise,
                                   otu.tree_random_like(jax.random.fold_in(k, 2), g))
        updates, opt_state = opt.update(g, opt_state, x, value=step.loss, grad=g,
                                        value_fn=_ignoring_key(step.loss_fn),
                                        key=jax.random.fold_in(k, 3))
        return (optax.apply_updates(x, updates), opt_state, mstate, step.alive), None

    def run(carry: tuple, first: int, length: int) -> tuple:
        if length == 0:
            return carry
        return jax.lax.scan(body, carry, first + jnp.arange(length, dtype=jnp.int32))[0]

    carry = (params, opt.init(params), monitor.init(step0), valid_start)
    records: dict[str, Any] = {}
    if record_every is None:
        carry = run(carry, 0, steps)
    else:
        def block(carry: tuple, j: jax.Array) -> tuple[tuple, dict]:
            carry = jax.lax.scan(body, carry, j * record_every
                                 + jnp.arange(record_every, dtype=jnp.int32))[0]
            x, _, mstate, alive = carry
            t = (j + 1) * record_every
            return carry, record(mstate, measure(t, x, alive, full, jax.random.fold_in(key, t)))

        def record(mstate: Any, step: Step) -> dict:
            # what the monitors would hold after seeing x_t on all rows (state not kept)
            return monitor.record(monitor.update(mstate, step), step)

        first = record(carry[2], step0)
        n_blocks = steps // record_every
        carry, rest = jax.lax.scan(block, carry, jnp.arange(n_blocks, dtype=jnp.int32))
        records = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)
        carry = run(carry, n_blocks * record_every, steps % record_every)
    x, _, mstate, alive = carry
    last = measure(steps, x, alive, full, jax.random.fold_in(key, steps))
    mstate = monitor.update(mstate, last)
    outputs = monitor.output(mstate, last)
    status = jnp.where(~valid_start, INVALID_START,
                       jnp.where(~last.alive, DIVERGED,
                                 jnp.where(outputs.get("escaped", False), ESCAPED,
                                           jnp.where(outputs.get("converged", False),
                                                     CONVERGED, NOT_CONVERGED))))
    return Result(x, status.astype(jnp.int32), outputs, records)
