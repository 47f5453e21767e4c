# A frozen copy of saddle/descent.py at commit d1c631a (the engine before issue 7): the
# baseline of `python -m benchmarks.throughput --studies engine`. Do not edit (imports only).
"""The parallel descent engine: many optimizations from many starts in one compiled program.

``descend(f, x0, optimizer, steps)`` runs ``optimizer`` (any ``optax``
transformation) from every row of ``x0`` ``[n, d]``: one ``jit`` of a ``vmap`` over
a ``lax.scan``. Each run is watched for convergence (‖∇f‖ < ``grad_tol`` from some
step to the end) and divergence (a non-finite loss or gradient, or a loss above
``max_loss``): a diverged run is frozen at its last finite point and flagged, so
no NaN reaches its outputs.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from saddle._checks import as_batch, positive_float, positive_int
from saddle.objectives.core import Objective

Fn = Callable[[jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class Run:
    """Per-start results of ``descend`` (numpy arrays; ``n`` starts, ``d`` dims).

    x ``[n, d]``: final point (the last finite one for a diverged run).
    loss, grad_norm ``[n]``: f and ‖∇f‖ there.
    converged ``[n]``: ‖∇f‖ < grad_tol at the end. converged_step ``[n]``: first step from
    which ‖∇f‖ stayed below grad_tol (−1 if never).
    diverged ``[n]``: hit a non-finite value or loss > max_loss. diverged_step ``[n]``
    (−1 if never).
    steps: steps requested. path ``[n, T, d]`` and loss_path ``[n, T]``: the point and
    loss every ``record_every`` steps from step 0 (None unless asked);
    path_steps ``[T]``: the step of each recorded point.
    escape_step ``[n]``: with ``escape=``, the first step at which the run was outside the
    ball or below the loss threshold (−1 if never; None without ``escape``).
    """

    x: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    converged: np.ndarray
    converged_step: np.ndarray
    diverged: np.ndarray
    diverged_step: np.ndarray
    steps: int
    path: np.ndarray | None = None
    loss_path: np.ndarray | None = None
    path_steps: np.ndarray | None = None
    escape_step: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class Escape:
    """When has a run left a point (a saddle)? At the first step where
    ``‖x − center‖ > radius`` or ``f(x) < f(center) − loss_drop`` (either may be ``inf``)."""

    center: Any
    radius: float = float("inf")
    loss_drop: float = float("inf")

    def __post_init__(self) -> None:
        for name in ("radius", "loss_drop"):
            v = getattr(self, name)
            if not v > 0:
                raise ValueError(f"escape {name} must be > 0, got {v}")
        if np.isinf(self.radius) and np.isinf(self.loss_drop):
            raise ValueError("escape needs a finite radius or loss_drop")


class _State(NamedTuple):
    x: jax.Array
    opt_state: Any
    x_good: jax.Array
    loss_good: jax.Array
    gn_good: jax.Array
    last_above: jax.Array  # last step with grad norm >= tol
    diverged_step: jax.Array
    escape_step: jax.Array
    t: jax.Array


@dataclasses.dataclass(frozen=True)
class _Spec:
    """Everything static about a batch of runs: the key of the compiled-program cache."""

    fn: Fn
    opt: optax.GradientTransformationExtraArgs
    steps: int
    grad_tol: float
    max_loss_factor: float
    record_every: int | None
    batch_size: int | None
    grad_noise: float
    escape: bool
    track_good: bool = True  # carry the last finite point (needed only by diverging runs)


def _loss_and_grad(spec: _Spec, x: jax.Array, data: Any, key: jax.Array) -> tuple:
    """f, the gradient the optimizer sees, and the norm convergence is judged on, at x.

    With ``data`` and ``batch_size``: f and ∇f on a minibatch drawn with replacement (the
    norm is the minibatch gradient's: computing the full one every step would cost a
    full pass). Gaussian ``grad_noise`` is added after the norm is taken."""
    if data is None:
        loss, g = jax.value_and_grad(spec.fn)(x)
    else:
        if spec.batch_size is not None:
            n_rows = jax.tree.leaves(data)[0].shape[0]
            idx = jax.random.randint(jax.random.fold_in(key, 1), (spec.batch_size,), 0, n_rows)
            data = jax.tree.map(lambda a: a[idx], data)
        loss, g = jax.value_and_grad(spec.fn)(x, data)
    gn = jnp.linalg.norm(g)
    if spec.grad_noise:
        g = g + spec.grad_noise * jax.random.normal(jax.random.fold_in(key, 2), g.shape, g.dtype)
    return loss, g, gn


def _escaped(x: jax.Array, loss: jax.Array, esc: tuple) -> jax.Array:
    center, radius, threshold = esc
    return (jnp.linalg.norm(x - center) > radius) | (loss < threshold)


def _step(spec: _Spec, max_loss: jax.Array, data: Any, start_key: jax.Array, esc: tuple,
          s: _State) -> _State:
    key = jax.random.fold_in(start_key, s.t)
    loss, g, gn = _loss_and_grad(spec, s.x, data, key)
    alive = s.diverged_step < 0
    bad = ~jnp.isfinite(loss) | ~jnp.isfinite(gn) | (loss > max_loss)
    fine = alive & ~bad
    updates, opt_state = spec.opt.update(g, s.opt_state, s.x, value=loss,
                                         key=jax.random.fold_in(key, 3))
    x_new = optax.apply_updates(s.x, updates)
    keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(fine, a, b), new, old)  # noqa: E731
    return _State(
        # x itself is not gated: a run stays flagged once it diverges and reports x_good.
        # Gating x on a value computed in the same step made the whole step 7x slower on
        # XLA:CPU (Himmelblau, 10^4 starts, Adam: 1.3e8 -> 9.2e8 start-steps/s).
        x=x_new,
        # not gated: once a run is not fine it never moves again, so its optimizer state
        # is never read; gating would turn e.g. Adam's step count into a per-start array
        opt_state=opt_state,
        # Tracking the last finite point halves the step's speed on XLA:CPU, so the first
        # pass skips it and only the runs that diverged are replayed with it (descend).
        x_good=keep(s.x, s.x_good) if spec.track_good else s.x_good,
        loss_good=jnp.where(fine, loss, s.loss_good) if spec.track_good else s.loss_good,
        gn_good=jnp.where(fine, gn, s.gn_good) if spec.track_good else s.gn_good,
        last_above=jnp.where(fine & (gn >= spec.grad_tol), s.t, s.last_above),
        diverged_step=jnp.where(alive & bad, s.t, s.diverged_step),
        escape_step=(jnp.where(fine & (s.escape_step < 0) & _escaped(s.x, loss, esc), s.t,
                               s.escape_step) if spec.escape else s.escape_step),
        t=s.t + 1,
    )


# XLA:CPU (jaxlib 0.10) hands small row reductions (the loss over d, ‖∇f‖) to YNNPACK
# fusions that cost more than the rest of a step; XLA's own loops are 2-3x faster here.
_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


@functools.cache
def _compiler_options() -> dict | None:
    """``_CPU_OPTIONS`` on a CPU backend with one local device whose XLA knows them (an
    unknown option fails at compile time), else None: sharded, this option gave wrong runs
    (BUILD_NOTES, descend's XLA:CPU option)."""
    if jax.default_backend() != "cpu" or jax.local_device_count() > 1:
        return None
    try:
        jax.jit(lambda x: x.sum(1), compiler_options=_CPU_OPTIONS)(jnp.ones((2, 2)))
    except Exception:  # XlaRuntimeError "No such compile option" (its module moves)
        return None
    return _CPU_OPTIONS


@functools.lru_cache(maxsize=64)
def _compiled(spec: _Spec) -> Callable:
    steps, record_every, grad_tol = spec.steps, spec.record_every, spec.grad_tol

    def run_one(x0: jax.Array, start_key: jax.Array, data: Any, esc: tuple) -> tuple:
        full = spec.fn if data is None else (lambda x: spec.fn(x, data))
        f0, g0 = jax.value_and_grad(full)(x0)
        max_loss = spec.max_loss_factor * (1 + jnp.abs(f0))
        if spec.escape:  # (center, radius, loss threshold f(center) − loss_drop)
            esc = (esc[0], esc[1], full(esc[0]) - esc[2])
        step = functools.partial(_step, spec, max_loss, data, start_key, esc)
        body = lambda s, _: (step(s), None)  # noqa: E731
        s = _State(x0, spec.opt.init(x0), x0, f0, jnp.linalg.norm(g0),
                   jnp.asarray(-1), jnp.asarray(-1), jnp.asarray(-1), jnp.asarray(0))
        if record_every is None:
            s, _ = jax.lax.scan(body, s, None, length=steps)
            path = loss_path = None
        else:
            def block(s: _State, _: None) -> tuple:
                s, _ = jax.lax.scan(body, s, None, length=record_every)
                return s, (s.x, full(s.x))

            s0 = s
            s, (path, loss_path) = jax.lax.scan(block, s, None, length=steps // record_every)
            s, _ = jax.lax.scan(body, s, None, length=steps % record_every)
            path = jnp.concatenate([s0.x[None], path])
            loss_path = jnp.concatenate([f0[None], loss_path])
        # The final point has not been checked by a step: one more (full-data) evaluation.
        loss, g = jax.value_and_grad(full)(s.x)
        gn = jnp.linalg.norm(g)
        alive = s.diverged_step < 0
        bad = ~jnp.isfinite(loss) | ~jnp.isfinite(gn) | (loss > max_loss)
        ok = alive & ~bad
        diverged_step = jnp.where(alive & bad, steps, s.diverged_step)
        x = jnp.where(ok, s.x, s.x_good)
        loss = jnp.where(ok, loss, s.loss_good)
        gn = jnp.where(ok, gn, s.gn_good)
        converged = ok & (gn < grad_tol)
        last_above = jnp.where(gn >= grad_tol, steps, s.last_above)
        conv_step = jnp.where(converged, last_above + 1, -1)
        escape_step = s.escape_step
        if spec.escape:
            escape_step = jnp.where(ok & (escape_step < 0) & _escaped(s.x, loss, esc), steps,
                                    escape_step)
        if path is not None:  # recorded points from the diverging step on: the last good one
            at = jnp.arange(path.shape[0]) * record_every
            valid = (diverged_step < 0) | (at < diverged_step)
            path = jnp.where(valid[:, None], path, x)
            loss_path = jnp.where(valid, loss_path, loss)
        return (x, loss, gn, converged, conv_step, diverged_step >= 0, diverged_step, path,
                loss_path, escape_step)

    return jax.jit(jax.vmap(run_one, in_axes=(0, 0, None, None)),
                   compiler_options=_compiler_options())


def _shard(arrays: list[jax.Array]) -> list[jax.Array]:
    """Split the leading (start) axis over this process's devices; a no-op on one device.

    Multi-host: each process runs ``descend`` on its own share of the starts (see the
    README), so only local devices are used here."""
    devices = jax.local_devices()
    if len(devices) == 1:
        return arrays
    mesh = jax.sharding.Mesh(np.asarray(devices), ("starts",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("starts"))
    return [jax.device_put(a, sharding) for a in arrays]


def _run_chunks(program: Callable, x0: jax.Array, keys: jax.Array, chunk: int, data: Any,
                esc: tuple | None) -> list[np.ndarray | None]:
    """``program`` over ``x0`` in chunks of ``chunk`` starts (the last one padded with copies
    of its first start, so that one shape compiles), sharded over local devices."""
    parts = []
    for start in range(0, x0.shape[0], chunk):  # a loop over chunks, each one vmapped call
        xs, ks = x0[start:start + chunk], keys[start:start + chunk]
        pad = chunk - xs.shape[0]
        if pad:
            xs = jnp.concatenate([xs, jnp.broadcast_to(xs[:1], (pad, *xs.shape[1:]))])
            ks = jnp.concatenate([ks, jnp.broadcast_to(ks[:1], (pad, *ks.shape[1:]))])
        xs, ks = _shard([xs, ks])
        res = program(xs, ks, data, esc)
        parts.append([None if a is None else np.array(a)[:chunk - pad] for a in res])
    return [None if p[0] is None else np.concatenate(p) for p in zip(*parts, strict=True)]


def _start_keys(key: Any, n: int) -> jax.Array:
    """One PRNG key per start: ``fold_in(key, i)`` from one key, or the ``n`` keys given."""
    key = jax.random.PRNGKey(0) if key is None else jnp.asarray(key)
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    single_ndim = 0 if typed else 1
    if key.ndim == single_ndim:
        return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n))
    if key.ndim == single_ndim + 1 and key.shape[0] == n:
        return key
    raise ValueError(f"key must be one PRNG key or one per start ({n}), got shape {key.shape}")


def descend(
    f: Fn | Objective,
    x0: Any,
    optimizer: optax.GradientTransformation,
    steps: int,
    *,
    key: jax.Array | None = None,
    grad_tol: float = 1e-3,
    max_loss_factor: float = 1e8,
    record_every: int | None = None,
    chunk_size: int | None = None,
    data: Any = None,
    batch_size: int | None = None,
    grad_noise: float = 0.0,
    escape: Escape | None = None,
) -> Run:
    """Run ``optimizer`` for ``steps`` steps from each start in ``x0`` ``[n, d]``.

    Args:
      f: objective ``[d] -> []`` (or an ``Objective``); with ``data``, ``f(x, batch)``.
      x0: starts ``[n, d]``, finite.
      optimizer: any ``optax.GradientTransformation``. Its ``update`` also receives
        ``value=`` (the loss, for ``optax.contrib.reduce_on_plateau``) and ``key=`` (a
        PRNG key distinct per start and step, for perturbed/noisy methods).
      steps: number of updates, ≥ 1.
      key: PRNG key for all randomness (minibatches, gradient noise, the optimizer's);
        start ``i`` uses ``fold_in(key, i)``, so chunking and sharding do not change
        results. Default ``PRNGKey(0)``. Or one key per start (``[n]`` typed or ``[n, 2]``
        raw keys): start ``i`` then uses ``key[i]``, so a subset of starts can be re-run
        with exactly the noise it had in the full batch.
      grad_tol: a run has converged when ‖∇f‖ < grad_tol at its end.
      max_loss_factor: a run diverges when f > max_loss_factor·(1 + |f(x0)|) or any
        value is non-finite.
      record_every: if given, keep every ``record_every``-th point in ``path``
        (memory ``O(n·steps/record_every·d)``; otherwise ``O(n·d)``).
      chunk_size: run at most this many starts at once (bounded memory; identical
        results).
      data: a pytree of arrays with a common leading axis of ``N`` rows (a data set);
        ``f`` is then called as ``f(x, batch)``.
      batch_size: with ``data``, each step of each start uses ``batch_size`` rows drawn
        uniformly with replacement (SGD); ``None`` uses all rows. ``converged`` and the
        final loss are measured on the full data; ``converged_step`` follows the
        minibatch gradient's norm (a full pass per step would cost more than the step).
      grad_noise: standard deviation σ of Gaussian noise added to every gradient.
      escape: record per start the first step at which the run left a ball around
        ``escape.center`` or lost ``escape.loss_drop`` of f (see ``Escape``).

    Returns:
      A ``Run`` of numpy arrays.

    >>> import optax, saddle
    >>> run = saddle.descend(lambda x: (x**2).sum(), [[1.0, -2.0]], optax.sgd(0.1), 100)
    >>> bool(run.converged[0])
    True
    """
    fn, dim = (f.fn, f.dim) if isinstance(f, Objective) else (f, None)
    if not callable(fn):
        raise TypeError(f"f must be a callable or an Objective, got {type(f).__name__}")
    x0 = as_batch(x0, "x0", dim)
    steps = positive_int(steps, "steps")
    grad_tol = positive_float(grad_tol, "grad_tol")
    max_loss_factor = positive_float(max_loss_factor, "max_loss_factor")
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"optimizer must be an optax.GradientTransformation, got "
                        f"{type(optimizer).__name__}")
    if record_every is not None:
        record_every = positive_int(record_every, "record_every")
        if record_every > steps:
            raise ValueError(f"record_every={record_every} is larger than steps={steps}")
    if grad_noise != 0:
        grad_noise = positive_float(grad_noise, "grad_noise")
    point = jax.ShapeDtypeStruct(x0.shape[1:], x0.dtype)
    if data is None:
        if batch_size is not None:
            raise ValueError("batch_size needs data (the rows to sample minibatches from)")
        out = jax.eval_shape(fn, point)
    else:
        data = jax.tree.map(jnp.asarray, data)
        rows = {a.shape[0] if a.ndim else None for a in jax.tree.leaves(data)}
        if len(rows) != 1 or None in rows:
            raise ValueError(f"data arrays must share one leading axis (rows), got {rows}")
        if batch_size is not None:
            batch_size = positive_int(batch_size, "batch_size")
        out = jax.eval_shape(fn, point, data)
    if out.shape != ():
        raise TypeError(f"f must return a scalar for a point of shape {x0.shape[1:]}, "
                        f"got shape {out.shape}")
    start_keys = _start_keys(key, x0.shape[0])
    if escape is None:
        esc = None
    elif not isinstance(escape, Escape):
        raise TypeError(f"escape must be a saddle.descent.Escape, got {type(escape).__name__}")
    else:
        center = as_batch(np.asarray(escape.center)[None], "escape.center", x0.shape[1])[0]
        esc = (center.astype(x0.dtype), jnp.asarray(escape.radius, x0.dtype),
               jnp.asarray(escape.loss_drop, x0.dtype))
    n = x0.shape[0]
    chunk = n if chunk_size is None else min(positive_int(chunk_size, "chunk_size"), n)
    n_dev = jax.local_device_count()
    chunk = -(-chunk // n_dev) * n_dev  # a multiple of the device count, for sharding
    spec = _Spec(fn, optax.with_extra_args_support(optimizer), steps, grad_tol,
                 max_loss_factor, record_every, batch_size, float(grad_noise), esc is not None,
                 track_good=False)
    cat = _run_chunks(_compiled(spec), x0, start_keys, chunk, data, esc)
    diverged = np.flatnonzero(cat[5])
    if diverged.size:  # replay the runs that diverged, tracking their last finite point
        size = min(chunk, max(8, 1 << int(diverged.size - 1).bit_length()))
        size = -(-size // n_dev) * n_dev
        replay = _run_chunks(_compiled(dataclasses.replace(spec, track_good=True)),
                             x0[diverged], start_keys[diverged], size, data, esc)
        for full, part in zip(cat, replay, strict=True):
            if full is not None:
                full[diverged] = part
    x, loss, gn, conv, conv_step, div, div_step, path, loss_path, escape_step = cat
    path_steps = (None if record_every is None else
                  np.arange(0, steps // record_every + 1) * record_every)
    return Run(x=x, loss=loss, grad_norm=gn, converged=conv, converged_step=conv_step,
               diverged=div, diverged_step=div_step, steps=steps, path=path,
               loss_path=loss_path, path_steps=path_steps,
               escape_step=escape_step if esc is not None else None)
