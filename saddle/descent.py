"""``descend``: many optimizations from many starts (and hyper-parameters) in one compiled program.

The host driver around ``saddle.engine.optimize``: it validates the input (one-line
errors, before anything compiles), draws one PRNG key per start, builds the monitors,
compiles one ``jit(vmap(optimize))`` per *structure* and runs it in chunks sharded over
the local devices, replays the runs that diverged to find their last finite point,
and returns numpy results with one status per run.

Structure, not values, is what compiles. The objective, the optimizer and the monitors
are split by ``saddle.closures.split`` into their numbers (learning rate, β's, ε, an
escape centre, ...) and the rest; the numbers are passed to the program as data. So
``descend`` with ``optax.adam(1e-2)`` and then with a fresh ``optax.adam(1e-3)`` compiles
once, and a sequence of optimizers of one structure (``saddle.optimizers.grid``) is a
hyper-parameter axis, vmapped in the same program as the starts.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from saddle import closures, engine
from saddle import monitors as mon
from saddle._checks import as_batch, positive_float, positive_int
from saddle.objectives.core import Objective, check_data

__all__ = ["Escape", "Run", "descend", "use_cpu_cores"]


@dataclasses.dataclass(frozen=True)
class Run:
    """Per-run results of ``descend`` (numpy). Shapes ``[n, ...]`` for ``n`` starts, or
    ``[h, n, ...]`` with a hyper-parameter axis of ``h`` optimizers.

    x: final parameters (``[n, d]``, or a pytree of ``[n, ...]`` leaves): the last finite
    point for a diverged run, the start for an invalid one.
    loss, grad_norm ``[n]``: f and ‖∇f‖ there (``+inf`` for an invalid start, whose f or
    ∇f is not finite: filter by ``status``).
    status ``[n]``: one of ``saddle.engine.STATUSES`` per run.
    converged ``[n]``: ‖∇f‖ < grad_tol at the end. converged_step ``[n]``: first step from
    which ‖∇f‖ stayed below grad_tol (−1 if never).
    diverged ``[n]``: a non-finite value or a loss > max_loss during the run.
    diverged_step ``[n]`` (−1 if never).
    steps: steps requested.
    path ``[n, T, d]`` (with ``record_path``) and loss_path ``[n, T]``: parameters and
    loss every ``record_every`` steps from step 0 (None unless asked); path_steps
    ``[T]``: the step of each record. After a run diverged its records hold the last
    value recorded before.
    escape_step ``[n]``: with ``escape``, the first step at which the run was outside the
    ball or below the loss threshold (−1 if never; None without ``escape``).
    outputs, records: every monitor's per-run outputs and records by key (``records``
    values are ``[n, T, ...]``).
    hyper: the hyper-parameter values of each optimizer on the axis (``{name: [h]}``),
    or None without an axis.
    """

    x: Any
    loss: np.ndarray
    grad_norm: np.ndarray
    converged: np.ndarray
    converged_step: np.ndarray
    diverged: np.ndarray
    diverged_step: np.ndarray
    steps: int
    path: Any = None
    loss_path: np.ndarray | None = None
    path_steps: np.ndarray | None = None
    escape_step: np.ndarray | None = None
    status: np.ndarray | None = None
    outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    records: dict[str, Any] = dataclasses.field(default_factory=dict)
    hyper: dict[str, np.ndarray] | None = None


@dataclasses.dataclass(frozen=True)
class Escape:
    """When has a run left a point (a saddle)? At the first step where
    ``‖x − center‖ > radius`` or ``f(x) < f(center) − loss_drop`` (either may be ``inf``).
    Shorthand for the monitor ``saddle.monitors.escape``."""

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


# ----------------------------------------------------------------------------- compiling
# XLA:CPU (jaxlib 0.10) hands small row reductions (the loss over d, ‖∇f‖) to YNNPACK
# fusions that cost more than the rest of a step; XLA's own loops are 2-3x faster there.
# Dots stay with YNNPACK: without it, sharded programs gave wrong runs (BUILD_NOTES).
_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type":
                "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_DOT"}
_LIFT_ERRORS = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
                jax.errors.TracerIntegerConversionError, jax.errors.NonConcreteBooleanIndexError)


@functools.cache
def _compiler_options() -> dict | None:
    """``_CPU_OPTIONS`` on a CPU backend whose XLA knows them (an unknown option or value
    fails at compile time), else None: YNNPACK fusions for dots only, on one device or
    several alike, so a sharded run equals the unsharded one (to rounding: a dot's
    rounding may depend on its per-device shape)."""
    if jax.default_backend() != "cpu":
        return None
    try:
        jax.jit(lambda x: x.sum(1), compiler_options=_CPU_OPTIONS)(jnp.ones((2, 2)))
    except Exception:  # XlaRuntimeError "No such compile option" (its module moves)
        return None
    return _CPU_OPTIONS


@dataclasses.dataclass(frozen=True)
class _Static:
    """What is compiled into the program besides the structures."""

    steps: int
    record_every: int | None
    batch_size: int | None
    noisy: bool
    has_data: bool
    opt_axis: bool


class _Part:
    """A callable (or tuple of them) split for compiling: lifted (numbers passed as data)
    or static (numbers compiled in)."""

    def __init__(self, obj: Any, lift: bool) -> None:
        self.leaves, self.skeleton = closures.split(obj)
        self.lift = lift
        self.key = (self.skeleton if lift
                    else ("static", *closures.static_key(self.leaves, self.skeleton)))

    def args(self) -> list:
        return self.leaves if self.lift else []

    def build(self, args: list) -> Any:
        return closures.merge(self.skeleton, args if self.lift else self.leaves)


_PROGRAMS: collections.OrderedDict = collections.OrderedDict()
_STATIC_ONLY: set = set()  # skeletons that failed to trace with their numbers as data


def _program(shared: _Part, opt: _Part, cfg: _Static) -> Callable:
    """The compiled ``vmap`` of ``engine.optimize`` for these structures (cached)."""
    key = (shared.key, opt.key, cfg)
    if key in _PROGRAMS:
        _PROGRAMS.move_to_end(key)
        return _PROGRAMS[key]

    def one(shared_args: list, opt_args: list, x0: Any, start_key: jax.Array, data: Any,
            consts: tuple) -> engine.Result:
        fn, monitor = shared.build(shared_args)
        max_loss_factor, grad_noise = consts
        return engine.optimize(fn, opt.build(opt_args), x0, start_key, steps=cfg.steps,
                               monitor=monitor, data=data if cfg.has_data else None,
                               batch_size=cfg.batch_size,
                               grad_noise=grad_noise if cfg.noisy else 0.0,
                               max_loss_factor=max_loss_factor,
                               record_every=cfg.record_every)

    axes = (None, 0 if cfg.opt_axis else None, 0, 0, None, None)
    program = jax.jit(jax.vmap(one, in_axes=axes), compiler_options=_compiler_options())
    _PROGRAMS[key] = program
    if len(_PROGRAMS) > 64:
        _PROGRAMS.popitem(last=False)
    return program


# ----------------------------------------------------------------------------- running
def _usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def use_cpu_cores(n: int | None = None) -> int:
    """Ask for ``n`` XLA CPU devices (default: one per core this process may run on) so
    that ``descend`` shards its starts over every core; returns the number of local devices
    in effect. Only a call before JAX's first computation changes it (JAX fixes the device
    count then); a later call, or one on a GPU/TPU backend, changes nothing. Without ``n``,
    a count already asked for is kept: ``JAX_NUM_CPU_DEVICES`` (or ``jax_num_cpu_devices``)
    or ``--xla_force_host_platform_device_count`` in ``XLA_FLAGS``.

    Before JAX starts it also sets ``NPROC`` (the size of XLA:CPU's thread pool) to
    cores + devices unless set: with one thread per core, sharded batched LAPACK calls
    (eigh, QR, ...) can block every thread (jaxlib 0.10.2; BUILD_NOTES)."""
    if n is not None:
        n = positive_int(n, "n")
    if _jax_started():
        return jax.local_device_count()
    forced = _forced_device_count()
    if n is None and forced is not None:
        _widen_thread_pool(forced)
        return jax.local_device_count()
    n = _usable_cores() if n is None else n
    jax.config.update("jax_num_cpu_devices", n)
    _widen_thread_pool(n)
    return jax.local_device_count()


def _jax_started() -> bool:
    """Whether JAX has created its backends (device count and thread pool now fixed)."""
    from jax._src import xla_bridge  # no public equivalent (jax 0.10)

    return xla_bridge.backends_are_initialized()


def _forced_device_count() -> int | None:
    """The CPU device count asked for by ``jax_num_cpu_devices`` (``JAX_NUM_CPU_DEVICES``)
    or ``--xla_force_host_platform_device_count`` in ``XLA_FLAGS``, else None."""
    if jax.config.jax_num_cpu_devices >= 0:
        return jax.config.jax_num_cpu_devices
    found = re.findall(r"--xla_force_host_platform_device_count=(\d+)",
                       os.environ.get("XLA_FLAGS", ""))
    return int(found[-1]) if found else None


def _widen_thread_pool(devices: int) -> None:
    """``NPROC`` = cores + ``devices`` unless set (read once, when XLA:CPU starts)."""
    os.environ.setdefault("NPROC", str(_usable_cores() + devices))


def _shard(tree: Any) -> Any:
    """Split the leading (run) axis over this process's devices; a no-op on one device.

    Multi-host: each process runs ``descend`` on its own share of the starts (see the
    README), so only local devices are used here."""
    devices = jax.local_devices()
    if len(devices) == 1:
        return tree
    mesh = jax.sharding.Mesh(np.asarray(devices), ("runs",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs"))
    return jax.device_put(tree, sharding)


def _take(tree: Any, idx: np.ndarray) -> Any:
    return jax.tree.map(lambda a: a[idx], tree)


@dataclasses.dataclass(frozen=True)
class _Batch:
    """Everything a call of ``descend`` runs, validated: run ``r`` is start ``r % n`` with
    optimizer ``r // n``; ``rows`` are the optimizers' leaves stacked ``[h, ...]`` for a
    hyper-parameter axis (else None)."""

    fn: Callable
    opts: list
    rows: list | None
    x0: Any
    keys: jax.Array
    n: int
    data: Any
    consts: tuple
    cfg: _Static
    progress: bool | None


def _run_chunks(b: _Batch, program: Callable, shared: _Part, opt: _Part, rows: list | None,
                runs: np.ndarray, chunk: int, desc: str) -> engine.Result:
    """``program`` over ``runs`` in chunks of ``chunk`` (the last padded with copies of its
    first run, so that one shape compiles), sharded over local devices; numpy results."""
    from tqdm.auto import tqdm

    parts = []
    starts = range(0, len(runs), chunk)
    show = b.progress if b.progress is not None else len(starts) > 1
    for lo in tqdm(starts, desc=desc, disable=not show, delay=0 if b.progress else 2.0,
                   leave=False):
        idx = runs[lo:lo + chunk]
        pad = chunk - len(idx)
        idx = np.concatenate([idx, np.full(pad, idx[0])])
        batch = (_take(b.x0, idx % b.n), b.keys[idx % b.n],
                 None if rows is None else [a[idx // b.n] for a in rows])
        xs, ks, oa = _shard(batch)
        res = program(shared.args(), opt.args() if oa is None else oa, xs, ks, b.data,
                      b.consts)
        parts.append(jax.tree.map(lambda a, m=chunk - pad: np.asarray(a)[:m], res))
    return jax.tree.map(lambda *a: np.concatenate(a), *parts)


def _execute(b: _Batch, monitors: list, runs: np.ndarray, chunk: int, desc: str
             ) -> engine.Result:
    """``runs`` (sorted) with ``monitors``. The numbers of the objective, the monitors and
    the optimizer are passed as data; where tracing them fails (a callable that branches
    in Python on one of its numbers), first the objective's and monitors', then the
    optimizer's are compiled in instead (an axis then runs one program per optimizer)."""
    problem = (b.fn, mon.chain(*monitors))
    for lift_shared, lift_opt in ((True, True), (False, True), (False, False)):
        shared, opt = _Part(problem, lift_shared), _Part(b.opts[0], lift_opt)
        if shared.key in _STATIC_ONLY or opt.key in _STATIC_ONLY:
            continue
        if b.rows is not None and not lift_opt:
            parts = []  # runs are sorted: grouped by optimizer they keep their order
            for i, o in enumerate(b.opts):
                mine = runs[runs // b.n == i] % b.n
                if mine.size:
                    part = _Part(o, lift=False)
                    program = _program(shared, part, dataclasses.replace(b.cfg, opt_axis=False))
                    parts.append(_run_chunks(b, program, shared, part, None, mine, chunk, desc))
            return jax.tree.map(lambda *a: np.concatenate(a), *parts)
        try:
            return _run_chunks(b, _program(shared, opt, b.cfg), shared, opt, b.rows, runs,
                               chunk, desc)
        except _LIFT_ERRORS:
            if not lift_opt:
                raise
            _STATIC_ONLY.add(shared.key if lift_shared else opt.key)
    raise AssertionError("unreachable")


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


# ----------------------------------------------------------------------------- validation
def _starts(x0: Any, dim: int | None) -> tuple[Any, int]:
    """``x0`` as a pytree of float jax arrays with a common leading axis ``n``, finite."""
    if dim is not None or isinstance(x0, list | np.ndarray | jax.Array | float | int):
        x = as_batch(x0, "x0", dim)
        return x, x.shape[0]
    if isinstance(x0, optax.GradientTransformation):
        raise TypeError("x0 must be the starts, got an optax optimizer: the order is "
                        "descend(f, x0, optimizer, steps)")
    leaves = jax.tree.leaves(x0)
    if not leaves:
        raise ValueError("x0 has no arrays")
    arrays = [np.asarray(a) for a in leaves]
    sizes = {a.shape[0] if a.ndim else None for a in arrays}
    if len(sizes) != 1 or None in sizes or 0 in sizes:
        raise ValueError(f"x0 leaves must share one leading axis of starts, got {sizes}")
    for a in arrays:
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"x0 leaves must be float arrays, got dtype {a.dtype}")
        if not np.all(np.isfinite(a)):
            raise ValueError("x0 has non-finite values")
    return jax.tree.map(jnp.asarray, x0), sizes.pop()


def _optimizers(optimizer: Any) -> tuple[list, dict | None]:
    """The optimizers (one, or a hyper-parameter axis) and the axis's values."""
    from saddle.optimizers import Grid

    def check(o: Any, what: str) -> Any:
        if not (hasattr(o, "init") and hasattr(o, "update")):
            raise TypeError(f"{what} must be an optax.GradientTransformation, got "
                            f"{type(o).__name__}")
        return o

    if isinstance(optimizer, Grid):
        return [check(o, "optimizer") for o in optimizer.optimizers], dict(optimizer.values)
    if isinstance(optimizer, Sequence) and not isinstance(optimizer, str | bytes) and not hasattr(
            optimizer, "init"):
        if not optimizer:
            raise ValueError("optimizer: an empty sequence of optimizers")
        opts = [check(o, f"optimizer[{i}]") for i, o in enumerate(optimizer)]
        return opts, {"index": np.arange(len(opts))}
    return [check(optimizer, "optimizer")], None


def _leaf_rows(opts: list, dtype: Any) -> list[np.ndarray]:
    """The optimizers' leaves stacked ``[h, ...]`` (Python floats in the parameters' dtype),
    after checking they share one structure."""
    splits = [closures.split(o) for o in opts]
    first = splits[0][1]
    for i, (_, sk) in enumerate(splits[1:], start=1):
        if sk != first:
            raise ValueError(f"optimizer[{i}] differs in structure from optimizer[0] (another "
                             f"optax function or static argument): a hyper-parameter axis "
                             f"varies numbers only")
    cols = list(zip(*(leaves for leaves, _ in splits), strict=True))
    return [np.stack([np.asarray(v, dtype=dtype if np.ndim(v) == 0 and not hasattr(v, "dtype")
                                 else None) for v in col]) for col in cols]


def descend(
    f: Callable | Objective,
    x0: Any,
    optimizer: Any,
    steps: int,
    *,
    key: jax.Array | None = None,
    grad_tol: float = 1e-3,
    max_loss_factor: float = 1e8,
    record_every: int | None = None,
    record_path: bool = False,
    chunk_size: int | None = None,
    data: Any = None,
    batch_size: int | None = None,
    grad_noise: float = 0.0,
    escape: Escape | None = None,
    monitors: Sequence[mon.Monitor] = (),
    progress: bool | None = None,
) -> Run:
    """Run ``optimizer`` for ``steps`` steps from each start in ``x0``.

    Args:
      f: objective ``f(params)`` (or an ``Objective``); with ``data``, ``f(params, batch)``.
      x0: starts: ``[n, d]``, or a pytree whose leaves share a leading axis ``n``; finite.
      optimizer: any ``optax.GradientTransformation``; or a hyper-parameter axis: a
        sequence of optimizers of one structure (say, ``optax.adam(lr)`` for 16 values
        of lr), or a ``saddle.optimizers.grid``. ``update`` also receives ``value=``,
        ``grad=``, ``value_fn=`` (optax's contract: ``optax.lbfgs()`` and line searches
        run) and ``key=`` (a PRNG key per start and step, for perturbed/noisy methods).
      steps: number of updates, ≥ 1.
      key: PRNG key for all randomness (minibatches, gradient noise, the optimizer's);
        start ``i`` uses ``fold_in(key, i)`` (every optimizer on an axis the same), so
        chunking and sharding draw the same numbers. Default ``PRNGKey(0)``. Or one key
        per start (``[n]`` typed or ``[n, 2]`` raw), so a subset of starts can be re-run
        with exactly the randomness it had in the full batch.
      grad_tol: a run has converged when ‖∇f‖ < grad_tol at its end.
      max_loss_factor: a run diverges when f > max_loss_factor·(1 + |f(x0)|) or any
        value is non-finite.
      record_every: record the loss, the gradient norm and every monitor's records every
        ``record_every`` steps from step 0 (``loss_path``, ``records``).
      record_path: with ``record_every``, also record the parameters (``path``; memory
        ``n · T · d``).
      chunk_size: run at most this many runs at once (bounded memory; identical results).
      data: a pytree of arrays with a common leading axis of rows (default: the
        objective's ``data``); ``f`` is then called as ``f(params, batch)``.
      batch_size: with ``data``, each step of each start uses ``batch_size`` rows drawn
        uniformly with replacement (SGD); ``None`` uses all rows. ``converged``, the final
        loss and the records are measured on all rows; ``converged_step`` follows the
        minibatch gradient's norm.
      grad_noise: standard deviation σ of Gaussian noise added to every gradient.
      escape: record per start the first step at which the run left a ball around
        ``escape.center`` or lost ``escape.loss_drop`` of f (see ``Escape``).
      monitors: more per-step quantities (``saddle.monitors``; one or a sequence), e.g.
        ``[saddle.monitors.sharpness(every=10)]``; their results are in ``outputs`` and
        ``records``.
      progress: show a progress bar over chunks (default: when there are several chunks
        and the call takes more than 2 s).

    Returns:
      A ``Run`` of numpy arrays.

    >>> import optax, saddle
    >>> run = saddle.descend(lambda x: (x**2).sum(), [[1.0, -2.0]], optax.sgd(0.1), 100)
    >>> bool(run.converged[0]), str(run.status[0])
    (True, 'converged')
    """
    fn, dim = (f.fn, f.dim) if isinstance(f, Objective) else (f, None)
    if not callable(fn):
        raise TypeError(f"f must be a callable or an Objective, got {type(f).__name__}")
    if data is None and isinstance(f, Objective):
        data = f.data
    x0, n = _starts(x0, dim)
    steps = positive_int(steps, "steps")
    grad_tol = positive_float(grad_tol, "grad_tol")
    max_loss_factor = positive_float(max_loss_factor, "max_loss_factor")
    opts, hyper = _optimizers(optimizer)
    if record_every is not None:
        record_every = positive_int(record_every, "record_every")
        if record_every > steps:
            raise ValueError(f"record_every={record_every} is larger than steps={steps}")
    elif record_path:
        raise ValueError("record_path needs record_every (how often to record)")
    if grad_noise != 0:
        grad_noise = positive_float(grad_noise, "grad_noise")
    point = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), x0)
    if data is None:
        if batch_size is not None:
            raise ValueError("batch_size needs data (the rows to sample minibatches from)")
        out = jax.eval_shape(fn, point)
    else:
        data = check_data(data, "data")
        if batch_size is not None:
            batch_size = positive_int(batch_size, "batch_size")
        out = jax.eval_shape(fn, point, data)
    if getattr(out, "shape", None) != ():
        raise TypeError(f"f must return a scalar for parameters "
                        f"{jax.tree.map(lambda a: a.shape, point)}, got "
                        f"{getattr(out, 'shape', type(out).__name__)}")
    start_keys = _start_keys(key, n)
    extra = [monitors] if isinstance(monitors, mon.Monitor) else list(monitors)
    for m in extra:
        if not isinstance(m, mon.Monitor):
            raise TypeError(f"monitors must be saddle.monitors.Monitor, got {type(m).__name__}")
    if escape is not None:
        if not isinstance(escape, Escape):
            raise TypeError(f"escape must be a saddle.descent.Escape, got "
                            f"{type(escape).__name__}")
        center = escape.center
        if dim is not None or isinstance(x0, jax.Array):
            width = dim if dim is not None else x0.shape[1]
            center = as_batch(np.asarray(center)[None], "escape.center", width)[0]
            center = np.asarray(center, dtype=x0.dtype)
        extra.append(mon.escape(center, escape.radius, escape.loss_drop))
    # divergence and last_finite run only in the replay of the runs that diverged
    base = [mon.loss(), mon.grad_norm(), mon.convergence(grad_tol), *extra]
    if record_path:
        base.append(mon.path())

    dtype = jax.tree.leaves(x0)[0].dtype
    h = len(opts)
    runs = np.arange(h * n)
    n_dev = jax.local_device_count()
    chunk = len(runs) if chunk_size is None else min(positive_int(chunk_size, "chunk_size"),
                                                     len(runs))
    chunk = -(-chunk // n_dev) * n_dev  # a multiple of the device count, for sharding
    b = _Batch(fn=fn, opts=opts, rows=_leaf_rows(opts, dtype) if hyper is not None else None,
               x0=x0, keys=start_keys, n=n, data=data,
               consts=(max_loss_factor, float(grad_noise)),
               cfg=_Static(steps, record_every, batch_size, bool(grad_noise), data is not None,
                           hyper is not None),
               progress=progress)

    res = _execute(b, base, runs, chunk, "descend")
    status = res.status
    out = dict(res.outputs)
    x = res.params
    out["diverged_step"] = np.full(len(status), -1, np.int32)
    diverged = np.flatnonzero(status == engine.DIVERGED)
    if diverged.size:  # replay the runs that diverged: when, and their last finite point
        size = min(chunk, max(8, 1 << int(diverged.size - 1).bit_length()))
        size = -(-size // n_dev) * n_dev
        replay = _execute(b, [*base, mon.divergence(), mon.last_finite()], diverged, size,
                          "replay diverged")
        out["diverged_step"][diverged] = replay.outputs["diverged_step"]
        x = jax.tree.map(lambda a, v: _put(a, diverged, v), x,
                         replay.outputs["last_finite_params"])
        out["loss"] = _put(out["loss"], diverged, replay.outputs["last_finite_loss"])
        out["grad_norm"] = _put(out["grad_norm"], diverged,
                                replay.outputs["last_finite_grad_norm"])
    invalid = np.flatnonzero(status == engine.INVALID_START)
    if invalid.size:  # no finite point at all: report the start, with f and ∇f as +inf
        x = jax.tree.map(lambda a, b: _put(a, invalid, np.asarray(b)[invalid % n]), x, x0)
        out["loss"] = _put(out["loss"], invalid, np.inf)
        out["grad_norm"] = _put(out["grad_norm"], invalid, np.inf)
    records = _hold_after_divergence(res.records, out["diverged_step"], status, record_every)

    def shaped(a: np.ndarray) -> np.ndarray:
        return a.reshape(h, n, *a.shape[1:]) if hyper is not None else a

    path_steps = (None if record_every is None else
                  np.arange(0, steps // record_every + 1) * record_every)
    known = {"loss", "grad_norm", "converged", "converged_step", "diverged_step",
             "escape_step", "escaped"}
    return Run(
        x=jax.tree.map(shaped, x), loss=shaped(out["loss"]), grad_norm=shaped(out["grad_norm"]),
        converged=shaped(out["converged"]), converged_step=shaped(out["converged_step"]),
        diverged=shaped(status == engine.DIVERGED), diverged_step=shaped(out["diverged_step"]),
        steps=steps, path=jax.tree.map(shaped, records["params"]) if record_path else None,
        loss_path=None if record_every is None else shaped(records["loss"]),
        path_steps=path_steps,
        escape_step=shaped(out["escape_step"]) if escape is not None else None,
        status=shaped(engine.status_names(status)),
        outputs={k: jax.tree.map(shaped, v) for k, v in out.items() if k not in known},
        records={k: jax.tree.map(shaped, v) for k, v in records.items()},
        hyper=hyper)


def _put(a: np.ndarray, idx: np.ndarray, values: Any) -> np.ndarray:
    a = np.array(a)
    a[idx] = values
    return a


def _hold_after_divergence(records: dict, diverged_step: np.ndarray, status: np.ndarray,
                           record_every: int | None) -> dict:
    """Records at and after a run's divergence hold its last record before it (invalid
    starts: their first record, with non-finite floats as +inf)."""
    if not records:
        return records
    ds = np.asarray(diverged_step, dtype=np.int64)
    stop = np.where(status == engine.INVALID_START, 1, np.where(ds >= 0, ds, np.inf))
    T = jax.tree.leaves(records)[0].shape[1]
    at = np.arange(T) * record_every
    last = np.clip(np.searchsorted(at, stop, side="left") - 1, 0, T - 1)  # [runs]
    keep = at[None, :] < stop[:, None]  # [runs, T]
    bad = status == engine.INVALID_START

    def hold(a: np.ndarray) -> np.ndarray:
        held = a[np.arange(len(a)), last]  # [runs, ...]
        m = keep.reshape(*keep.shape, *(1,) * (a.ndim - 2))
        a = np.where(m, a, held[:, None])
        if bad.any() and np.issubdtype(a.dtype, np.floating):
            a[bad] = np.where(np.isfinite(a[bad]), a[bad], np.inf)
        return a

    return {k: jax.tree.map(hold, v) for k, v in records.items()}
