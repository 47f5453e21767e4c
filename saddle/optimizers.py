"""The optimizer zoo: names → ``optax`` transformations, learning-rate schedules by name,
and the saddle-escaping noise of perturbed GD and noisy GD.

Every optimizer is an optax alias (``sgd``, ``adam``, ...) called with the learning rate
or schedule; nothing optax already has is re-derived here. The two additions are small
optax transforms, random through the ``key=`` extra argument that ``saddle.descend``
passes to ``update`` (a distinct PRNG key per start and per step; no seed is ever kept
in an optimizer state, so vmapped starts never share noise):

* ``perturbed(inner, radius=, g_thres=, t_thres=)``: Jin et al. (2017) perturbations.
* ``add_gradient_noise(sigma, noise=)``: Ge et al. (2015) noise on the gradient.

>>> import saddle
>>> opt = saddle.optimizers.make("nesterov", lr=1e-2, schedule="cosine", steps=2000)
>>> sched = saddle.optimizers.make_schedule("step", 1.0, 100)
>>> [round(float(sched(t)), 6) for t in (49, 50, 75)]
[1.0, 0.1, 0.01]
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu

from saddle._checks import one_of, positive_float, positive_int

__all__ = [
    "Grid",
    "PerturbedState",
    "add_gradient_noise",
    "grid",
    "make",
    "make_schedule",
    "names",
    "perturbed",
    "project_box",
    "schedule_names",
]


# ----------------------------------------------------------------------------- checks
def _nonnegative_float(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


_DECAY_WHY = "it is the decay rate of a moving average"
# Valid values of the numeric arguments passed on to optax, by name: an interval and why.
# "factor" means different things in the step schedule and in plateau (``_FACTOR``).
_RANGES: dict[str, tuple[str, str]] = {
    "momentum": ("[0, 1)", "the velocity v <- momentum·v + g keeps this fraction of itself "
                 "each step: from 1 up it never decays, below 0 it flips sign every step"),
    "b1": ("[0, 1)", _DECAY_WHY), "b2": ("[0, 1)", _DECAY_WHY), "decay": ("[0, 1)", _DECAY_WHY),
    "eps": ("[0, inf)", ""), "eps_root": ("[0, inf)", ""), "weight_decay": ("[0, inf)", ""),
    "initial_accumulator_value": ("[0, inf)", ""), "initial_scale": ("[0, inf)", ""),
    "alpha": ("[0, 1]", "the final learning rate is alpha·lr"),
    "exponent": ("(0, inf)", ""),
    "pct_start": ("(0, 1)", "the fraction of steps spent rising to the peak"),
    "div_factor": ("(0, inf)", ""), "final_div_factor": ("(0, inf)", ""),
    "init_value": ("[0, inf)", ""), "end_value": ("[0, inf)", ""), "base_lr": ("[0, inf)", ""),
    "decay_rate": ("(0, inf)", ""),
    "rtol": ("[0, inf)", ""), "atol": ("[0, inf)", ""), "min_scale": ("[0, 1]", ""),
}
_FACTOR = {"step": ("(0, 1]", "the learning rate is multiplied by it at each boundary"),
           "plateau": ("(0, 1)", "the learning rate is multiplied by it when the loss stalls")}
_INTS = {"warmup_steps": 0, "period": 2, "t_thres": 1, "patience": 0, "cooldown": 0,
         "accumulation_size": 1}  # integer arguments: their minimum
_BOOLS = {"nesterov", "centered", "eps_in_sqrt", "bias_correction", "bias_correction_mu",
          "bias_correction_nu", "staircase"}
_SCHEDULABLE = {"weight_decay"}  # optax also takes a schedule here


def _in_interval(value: Any, name: str, interval: str, why: str = "") -> float:
    """``float(value)``, checked to lie in ``interval`` (written "[0, 1)", "(0, inf)", ...)."""
    if isinstance(value, bool | str) or not isinstance(value, int | float | np.number):
        raise TypeError(f"{name} must be a number, got {value!r}")
    lo, hi = (float(t) for t in interval[1:-1].split(","))
    v = float(value)
    ok = ((lo <= v if interval[0] == "[" else lo < v)
          and (v <= hi if interval[-1] == "]" else v < hi) and math.isfinite(v))
    if not ok:
        raise ValueError(f"{name} must lie in {interval}, got {value!r}" + (f": {why}" if why
                                                                          else ""))
    return v


def _check_values(kwargs: Mapping[str, Any], none_ok: Sequence[str] = (),
                  ranges: Mapping[str, tuple[str, str]] | None = None) -> None:
    """Check every argument that has an entry in the tables above; ``None`` only where the
    callee's default is ``None``."""
    ranges = {**_RANGES, **(ranges or {})}
    for name, value in kwargs.items():
        if value is None and name in none_ok:
            continue
        if name in ranges and not (name in _SCHEDULABLE and callable(value)):
            _in_interval(value, name, *ranges[name])
        elif name in _INTS:
            positive_int(value, name, minimum=_INTS[name])
        elif name in _BOOLS and not isinstance(value, bool | np.bool_):
            raise TypeError(f"{name} must be True or False, got {value!r}")


def _keyword_names(fn: Callable, exclude: Sequence[str] = ()) -> tuple[str, ...]:
    """The arguments ``fn`` accepts by keyword, in signature order, minus ``exclude``."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind in kinds and p.name not in exclude)


def _none_defaults(fn: Callable) -> tuple[str, ...]:
    """The arguments of ``fn`` whose default is ``None`` (so ``None`` is a valid value)."""
    return tuple(p.name for p in inspect.signature(fn).parameters.values() if p.default is None)


def _check_kwargs(what: str, kwargs: Mapping[str, Any], valid: Sequence[str]) -> None:
    for k in kwargs:
        if k not in valid:
            raise ValueError(f"{what} got unknown argument {k!r}; valid: "
                             f"{', '.join(valid) if valid else '(none)'}")


def _need_key(key: Any, what: str) -> None:
    if key is None:
        raise ValueError(f"{what} is random: call update(updates, state, params, key=key) "
                         "with a fresh PRNG key each step (saddle.descend does)")


# ----------------------------------------------------------------------------- noise
def _unit_sphere(key: jax.Array, tree: Any) -> Any:
    """A point uniform on the unit sphere of the whole pytree (a normalized Gaussian)."""
    z = otu.tree_random_like(key, tree, jax.random.normal)
    return otu.tree_scale(1.0 / otu.tree_norm(z), z)


def _uniform_ball(key: jax.Array, tree: Any, radius: float) -> Any:
    """A point uniform in the ball of ``radius`` in the space of the pytree (dim D):
    a uniform direction times ``radius · U^{1/D}``, ``U ~ Uniform(0, 1)``."""
    k_dir, k_len = jax.random.split(key)
    dtype = jax.tree.leaves(tree)[0].dtype
    u = jax.random.uniform(k_len, (), dtype)
    return otu.tree_scale(radius * u ** (1.0 / otu.tree_size(tree)), _unit_sphere(k_dir, tree))


class PerturbedState(NamedTuple):
    """State of ``perturbed``: the inner state, the step count, the step of the last
    perturbation, and how many perturbations were made (int32 scalars; no seed)."""

    inner: optax.OptState
    count: jax.Array
    last: jax.Array
    n_perturbations: jax.Array


def perturbed(
    inner: optax.GradientTransformation,
    *,
    radius: float = 1e-2,
    g_thres: float = 1e-3,
    t_thres: int = 100,
) -> optax.GradientTransformationExtraArgs:
    """Add a random kick uniform in a ball to ``inner``'s step when the gradient is small.

    The perturbation step of perturbed gradient descent (Jin et al. 2017, Algorithm 2):
    ``Δx_t = inner(g_t) + ξ_t·[‖g_t‖ ≤ g_thres and t − t_last ≥ t_thres]``,
    ``ξ_t ~ Uniform(B(0, radius))`` in parameter space, ``t_last`` the step of the last
    perturbation (none before step 0, so the first one may come at step 0).
    ``perturbed(optax.sgd(lr))`` is PGD. The wrapper (like ``optax.apply_if_finite``)
    reads the raw gradient before ``inner`` scales it, so put it first in a chain; the
    gradient is evaluated at ``x_t``, not at ``x_t + ξ_t`` as in the paper, a difference
    of ``O(lr · L · radius)`` on the perturbed steps only. The paper's escape test
    (``f_thres``) is left out: this runs for a fixed number of steps. The paper
    perturbs when ``t − t_last > t_thres``; here ``≥``, so at most one kick in any
    ``t_thres`` consecutive steps. Near a minimum it keeps kicking every ``t_thres``
    steps, so a run can end up to ``radius`` away and above ``saddle.descend``'s
    ``grad_tol``: judge it by the distance to minima (a schedule scales the GD part only).

    Args:
      inner: the base step, e.g. ``optax.sgd(lr)``; receives raw gradients.
      radius: radius ``r`` of the ball, > 0 (parameter units).
      g_thres: perturb only when ‖g‖ ≤ g_thres (≥ 0).
      t_thres: at least this many steps between perturbations (≥ 1).

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose ``update`` needs ``key=``.

    References:
      Jin, Ge, Netrapalli, Kakade, Jordan, "How to escape saddle points efficiently",
      ICML 2017.
    """
    radius = positive_float(radius, "radius")
    g_thres = _nonnegative_float(g_thres, "g_thres")
    t_thres = positive_int(t_thres, "t_thres")
    inner = optax.with_extra_args_support(inner)

    def init_fn(params: Any) -> PerturbedState:
        i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
        return PerturbedState(inner.init(params), i32(0), i32(-t_thres), i32(0))

    def update_fn(updates: Any, state: PerturbedState, params: Any = None, *,
                  key: jax.Array | None = None, **extra_args: Any) -> tuple:
        _need_key(key, "perturbed")
        k_inner, k_xi = jax.random.split(key)
        fire = (otu.tree_norm(updates) <= g_thres) & (state.count - state.last >= t_thres)
        steps, inner_state = inner.update(updates, state.inner, params, key=k_inner,
                                          **extra_args)
        xi = _uniform_ball(k_xi, steps, radius)
        steps = otu.tree_where(fire, otu.tree_add(steps, xi), steps)
        return steps, PerturbedState(
            inner=inner_state,
            count=state.count + 1,
            last=jnp.where(fire, state.count, state.last),
            n_perturbations=state.n_perturbations + fire.astype(jnp.int32),
        )

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


NOISES = ("sphere", "gaussian")


def add_gradient_noise(sigma: float = 1.0, *, noise: str = "sphere"
                       ) -> optax.GradientTransformationExtraArgs:
    """Add fresh noise ``σ·ξ`` to the gradient, drawn from the ``key=`` extra argument.

    ``g ← g + σ·ξ`` with ``noise="sphere"``: ξ uniform on the unit sphere of the whole
    parameter space (Ge et al. 2015; ‖σξ‖ = σ exactly, per-coordinate std σ/√d), or
    ``noise="gaussian"``: ξ ~ N(0, I) (per-coordinate std σ, ‖σξ‖ ≈ σ√d). Put it before
    the optimizer: ``chain(add_gradient_noise(σ), sgd(lr))`` is noisy GD. Unlike
    ``optax.add_noise`` the state holds no seed and the variance is not annealed. With a
    constant ``lr`` the iterate keeps fluctuating near a minimum (‖∇f‖ ~ σ·√(lr·λ) for
    curvature λ), so ``saddle.descend``'s ``converged`` stays False; decay ``lr``.

    Args:
      sigma: noise scale σ ≥ 0 (0 gives the plain gradient).
      noise: "sphere" or "gaussian".

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose ``update`` needs ``key=``.

    References:
      Ge, Huang, Jin, Yuan, "Escaping from saddle points — online stochastic gradient
      for tensor decomposition", COLT 2015 (Algorithm 1, noisy SGD).
    """
    sigma = _nonnegative_float(sigma, "sigma")
    one_of(noise, "noise", NOISES)

    def init_fn(params: Any) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update_fn(updates: Any, state: optax.EmptyState, params: Any = None, *,
                  key: jax.Array | None = None, **extra_args: Any) -> tuple:
        del params, extra_args
        _need_key(key, "add_gradient_noise")
        xi = (_unit_sphere(key, updates) if noise == "sphere"
              else otu.tree_random_like(key, updates, jax.random.normal))
        return otu.tree_add_scale(updates, sigma, xi), state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def project_box(lower: Any, upper: Any) -> optax.GradientTransformation:
    """Keep the iterate in the box [lower, upper]: put it last in a chain, after the
    optimizer, for projected descent.

    The update u becomes Π(x + u) − x, with Π the Euclidean projection onto the box
    (``optax.projections.projection_box``), so x + u is the projected step. Projected
    GD reaches minima on the boundary of the box, which are not critical points
    (∇f ≠ 0 there) and which ``find_critical_points`` rightly does not report.

    Args:
      lower, upper: the bounds, scalars or arrays broadcastable to the parameters (a
        pytree of such for pytree parameters), lower ≤ upper.
    """
    try:
        lo, hi = np.broadcast_arrays(np.asarray(lower, float), np.asarray(upper, float))
    except ValueError:
        raise ValueError(f"lower and upper must broadcast to one shape, got {lower!r} and "
                         f"{upper!r}") from None
    if np.any(np.isnan(lo) | np.isnan(hi) | (lo > hi)):
        raise ValueError(f"lower must be <= upper everywhere, got lower={lower!r}, "
                         f"upper={upper!r}")

    def update_fn(updates: Any, state: optax.EmptyState, params: Any = None) -> tuple:
        if params is None:
            raise ValueError("project_box needs params: call update(updates, state, params)")
        target = optax.projections.projection_box(optax.apply_updates(params, updates),
                                                  lower, upper)
        return jax.tree.map(jnp.subtract, target, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


# ----------------------------------------------------------------------------- the zoo
# name -> (optax alias, arguments fixed by the name, defaults a caller may override)
_OPTAX: dict[str, tuple[Callable, dict[str, Any], dict[str, Any]]] = {
    "gd": (optax.sgd, {"momentum": None, "nesterov": False}, {}),
    "momentum": (optax.sgd, {"nesterov": False}, {"momentum": 0.9}),
    "nesterov": (optax.sgd, {"nesterov": True}, {"momentum": 0.9}),
    "adagrad": (optax.adagrad, {}, {}),
    "rmsprop": (optax.rmsprop, {}, {}),
    "adam": (optax.adam, {}, {}),
    "adamw": (optax.adamw, {}, {}),
    "amsgrad": (optax.amsgrad, {}, {}),
    "adabelief": (optax.adabelief, {}, {}),
    "lion": (optax.lion, {}, {}),
}
# name -> (noise transform whose keywords the name accepts, builder from (lr, kwargs))
_NOISY: dict[str, tuple[Callable, Callable[..., optax.GradientTransformation]]] = {
    "perturbed_gd": (perturbed, lambda lr, kw: perturbed(optax.sgd(lr), **kw)),
    "noisy_gd": (add_gradient_noise,
                 lambda lr, kw: optax.chain(add_gradient_noise(**kw), optax.sgd(lr))),
}


def names() -> tuple[str, ...]:
    """The optimizer names ``make`` accepts."""
    return (*_OPTAX, *_NOISY)


def _check_optax_kwargs(name: str, kwargs: Mapping[str, Any]) -> None:
    fn, fixed, _ = _OPTAX[name]
    _check_values(kwargs, () if name in ("momentum", "nesterov") else _none_defaults(fn))
    nesterov = fixed.get("nesterov", kwargs.get("nesterov", False))
    if nesterov and "momentum" in _keyword_names(fn) and not kwargs.get("momentum"):
        raise ValueError(f"nesterov needs momentum in (0, 1), got momentum="
                         f"{kwargs.get('momentum')!r}: without it the step is plain GD")


def _valid_kwargs(name: str) -> tuple[str, ...]:
    if name in _OPTAX:
        fn, fixed, _ = _OPTAX[name]
        return _keyword_names(fn, ("learning_rate", *fixed))
    return _keyword_names(_NOISY[name][0], ("inner",))


# ----------------------------------------------------------------------------- schedules
def _step(lr: float, steps: int, *, boundaries: Sequence[float] = (0.5, 0.75),
          factor: float = 0.1) -> optax.Schedule:
    if isinstance(boundaries, str) or not isinstance(boundaries, Sequence):
        raise TypeError(f"boundaries must be a sequence of fractions of steps, got {boundaries!r}")
    scales: dict[int, float] = {}
    for b in boundaries:
        at = round(_in_interval(b, "boundaries", "(0, 1)", "fractions of steps") * steps)
        scales[at] = scales.get(at, 1.0) * factor
    return optax.piecewise_constant_schedule(lr, scales)


def _at_most_lr(value: float | None, name: str, lr: float, why: str) -> None:
    if value is not None and value > lr:
        raise ValueError(f"{name} must be <= lr={lr}, got {value}: {why}")


def _exponential(lr: float, steps: int, *, decay_rate: float = 0.01, staircase: bool = False,
                 end_value: float | None = None) -> optax.Schedule:
    if decay_rate < 1:
        _at_most_lr(end_value, "end_value", lr, "with decay_rate < 1 it is a floor")
    return optax.exponential_decay(lr, transition_steps=steps, decay_rate=decay_rate,
                                   staircase=staircase, end_value=end_value)


def _cosine(lr: float, steps: int, *, alpha: float = 0.0,
            exponent: float = 1.0) -> optax.Schedule:
    return optax.cosine_decay_schedule(lr, decay_steps=steps, alpha=alpha, exponent=exponent)


def _warmup_cosine(lr: float, steps: int, *, warmup_steps: int | None = None,
                   init_value: float = 0.0, end_value: float = 0.0,
                   exponent: float = 1.0) -> optax.Schedule:
    warmup = round(0.05 * steps) if warmup_steps is None else warmup_steps
    if warmup >= steps:
        raise ValueError(f"warmup_steps must be < steps={steps}, got {warmup}")
    _at_most_lr(init_value, "init_value", lr, "lr is the peak")
    _at_most_lr(end_value, "end_value", lr, "lr is the peak")
    return optax.warmup_cosine_decay_schedule(init_value, lr, warmup_steps=warmup,
                                              decay_steps=steps, end_value=end_value,
                                              exponent=exponent)


def _cyclic(lr: float, steps: int, *, period: int | None = None,
            base_lr: float | None = None) -> optax.Schedule:
    period = max(2, steps // 4) if period is None else period
    base = lr / 10 if base_lr is None else float(base_lr)
    _at_most_lr(base, "base_lr", lr, "lr is the peak")

    def schedule(count: jax.Array) -> jax.Array:
        phase = jnp.mod(count, period) / period  # in [0, 1): 0 at base, 1/2 at the peak
        return base + (lr - base) * (1 - jnp.abs(2 * phase - 1))

    return schedule


def _one_cycle(lr: float, steps: int, *, pct_start: float = 0.3, div_factor: float = 25.0,
               final_div_factor: float = 1e4) -> optax.Schedule:
    return optax.cosine_onecycle_schedule(steps, lr, pct_start=pct_start, div_factor=div_factor,
                                          final_div_factor=final_div_factor)


_SCHEDULES: dict[str, Callable[..., optax.Schedule]] = {
    "step": _step,
    "exponential": _exponential,
    "cosine": _cosine,
    "warmup_cosine": _warmup_cosine,
    "cyclic": _cyclic,
    "one_cycle": _one_cycle,
}


def schedule_names() -> tuple[str, ...]:
    """The schedule names ``make`` accepts (``make_schedule`` takes all but "plateau")."""
    return ("constant", *_SCHEDULES, "plateau")


def _steps_for(schedule: str, steps: Any) -> int:
    if steps is None:
        raise ValueError(f"schedule {schedule!r} needs steps (the run length), got steps=None")
    return positive_int(steps, "steps")


def make_schedule(name: str, lr: float, steps: int | None = None,
                  **kwargs: Any) -> optax.Schedule:
    """A learning-rate schedule ``step -> value`` by name, peaking at (or starting from) ``lr``.

    * constant: ``lr``.
    * step: ``lr · factor^{#{b : t ≥ round(b·steps)}}``; ``boundaries=(0.5, 0.75)``
      (fractions of ``steps``), ``factor=0.1``.
    * exponential: ``lr · decay_rate^{t/steps}`` (``optax.exponential_decay``),
      ``decay_rate=0.01``; also ``staircase``, ``end_value``.
    * cosine: ``optax.cosine_decay_schedule`` from ``lr`` to ``alpha·lr`` over ``steps``.
    * warmup_cosine: ``optax.warmup_cosine_decay_schedule``: linear from ``init_value=0``
      to ``lr`` over ``warmup_steps`` (default 5% of ``steps``), then cosine to
      ``end_value=0`` at ``steps``.
    * cyclic: triangular (Smith 2017), ``base + (lr − base)·(1 − |2·(t mod P)/P − 1|)``:
      ``base_lr`` (default lr/10) at ``t = kP``, ``lr`` at ``t = kP + P/2``; period
      ``P = period`` (default ``steps // 4``, at least 2).
    * one_cycle: ``optax.cosine_onecycle_schedule(steps, lr, pct_start=0.3,
      div_factor=25, final_div_factor=1e4)``.

    Args:
      name: one of ``schedule_names()`` except "plateau" (which watches the loss, so it
        is a transform: ``make(..., schedule="plateau")``).
      lr: the base (peak) learning rate, finite and > 0.
      steps: the run length; needed by every schedule but "constant".
      **kwargs: the schedule's own arguments, listed above. Each is checked against its
        valid range before anything is built: alpha in [0, 1]; pct_start in (0, 1);
        exponent, decay_rate, div_factor, final_div_factor > 0; step ``factor`` in (0, 1]
        and ``boundaries`` in (0, 1); init_value, end_value, base_lr in [0, lr] (exponential:
        end_value ≥ 0, ≤ lr when decay_rate < 1); warmup_steps ≥ 0 and < steps; period ≥ 2.

    Returns:
      An ``optax.Schedule``.

    References:
      cyclic: Smith, "Cyclical learning rates for training neural networks", WACV 2017.
    """
    if name == "plateau":
        raise ValueError("schedule 'plateau' depends on the loss, not only the step: use "
                         "make(name, lr, schedule='plateau')")
    one_of(name, "schedule", schedule_names())
    lr = positive_float(lr, "lr")
    if name == "constant":
        _check_kwargs("schedule 'constant'", kwargs, ())
        if steps is not None:
            positive_int(steps, "steps")
        return optax.constant_schedule(lr)
    fn = _SCHEDULES[name]
    _check_kwargs(f"schedule {name!r}", kwargs, _keyword_names(fn, ("lr", "steps")))
    _check_values(kwargs, _none_defaults(fn), {"factor": _FACTOR["step"]})
    return fn(lr, _steps_for(name, steps), **kwargs)


# ----------------------------------------------------------------------------- make
def make(
    name: str,
    lr: float,
    *,
    schedule: str = "constant",
    steps: int | None = None,
    schedule_kwargs: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> optax.GradientTransformationExtraArgs:
    """The optimizer ``name`` with learning rate ``lr`` under ``schedule``, as optax.

    Optimizers: gd (``optax.sgd``), momentum (sgd, ``momentum=0.9``), nesterov (sgd,
    ``momentum=0.9, nesterov=True``), adagrad, rmsprop, adam, adamw, amsgrad, adabelief,
    lion (the optax functions of those names), perturbed_gd (``perturbed(sgd(lr))``,
    Jin et al. 2017) and noisy_gd (``chain(add_gradient_noise(σ), sgd(lr))``, Ge et al.
    2015). All arguments are checked here, before any tracing.

    Args:
      name: one of ``names()``.
      lr: learning rate (the peak of a schedule), finite and > 0.
      schedule: one of ``schedule_names()`` (see ``make_schedule``); "plateau" chains
        ``optax.contrib.reduce_on_plateau`` after the optimizer, which needs the loss as
        ``update(..., value=loss)`` (``saddle.descend`` passes it).
      steps: run length, needed by every schedule but constant and plateau.
      schedule_kwargs: the schedule's own arguments (``make_schedule``), or those of
        ``reduce_on_plateau`` (``factor`` in (0, 1), ``patience`` and ``cooldown`` ≥ 0,
        ``rtol``, ``atol`` ≥ 0, ``accumulation_size`` ≥ 1, ``min_scale`` in [0, 1]).
      **kwargs: the optax function's arguments (``b1``, ``momentum``, ``weight_decay``,
        ...) or the noise's (perturbed_gd: ``radius``, ``g_thres``, ``t_thres``;
        noisy_gd: ``sigma``, ``noise``). Checked before anything is built: momentum,
        b1, b2 and rmsprop's decay in [0, 1) (nesterov needs momentum > 0); eps,
        eps_root, weight_decay, initial_accumulator_value, initial_scale ≥ 0.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; perturbed_gd and noisy_gd need
      ``update(..., key=key)`` with a fresh key per step (``saddle.descend`` passes one).

    >>> import jax, jax.numpy as jnp
    >>> opt = make("perturbed_gd", 1e-2, radius=0.1, schedule="warmup_cosine", steps=1000)
    >>> x = jnp.zeros(2)
    >>> u, state = opt.update(jnp.zeros(2), opt.init(x), x, key=jax.random.PRNGKey(0))
    >>> bool(0 < jnp.linalg.norm(u) <= 0.1)
    True
    """
    one_of(name, "optimizer", names())
    lr = positive_float(lr, "lr")
    one_of(schedule, "schedule", schedule_names())
    _check_kwargs(f"optimizer {name!r}", kwargs, _valid_kwargs(name))
    if name in _OPTAX:
        _check_optax_kwargs(name, {**_OPTAX[name][2], **kwargs})
    skw = dict(schedule_kwargs or {})
    if schedule == "plateau":
        valid = _keyword_names(optax.contrib.reduce_on_plateau)
        _check_kwargs("schedule 'plateau'", skw, valid)
        _check_values(skw, ranges={"factor": _FACTOR["plateau"]})
        if steps is not None:
            positive_int(steps, "steps")
        learning_rate: float | optax.Schedule = lr
    elif schedule == "constant" and not skw:
        if steps is not None:
            positive_int(steps, "steps")
        learning_rate = lr  # a float, so make("gd", lr) is exactly optax.sgd(lr)
    else:
        learning_rate = make_schedule(schedule, lr, steps, **skw)
    if name in _OPTAX:
        fn, fixed, defaults = _OPTAX[name]
        opt = fn(learning_rate, **{**defaults, **kwargs, **fixed})
    else:
        opt = _NOISY[name][1](learning_rate, kwargs)
    if schedule == "plateau":
        opt = optax.chain(opt, optax.contrib.reduce_on_plateau(**skw))
    return optax.with_extra_args_support(opt)


# ----------------------------------------------------------------------------- grids
class Grid(NamedTuple):
    """A hyper-parameter axis for ``saddle.descend``: ``optimizers`` (one structure, ``h`` of
    them) and ``values`` (``{argument: [h]}``, the value of each varied argument per
    optimizer)."""

    optimizers: tuple[optax.GradientTransformation, ...]
    values: dict[str, Any]


def grid(name: str, *, schedule: str = "constant", steps: int | None = None,
         schedule_kwargs: Mapping[str, Any] | None = None, **axes: Any) -> Grid:
    """Optimizers ``make(name, ...)`` over the Cartesian product of the arguments given as
    sequences (the first one varies slowest); scalar arguments are shared.

    ``saddle.descend(f, x0, grid("adam", lr=[1e-3, 1e-2, 1e-1]), steps)`` runs the three
    learning rates × all starts in one compiled program; results get a leading axis
    ``[h]`` and ``run.hyper`` says which values each slice had.

    >>> g = grid("momentum", lr=[0.1, 0.01], momentum=[0.5, 0.9])
    >>> len(g.optimizers), g.values["lr"].tolist(), g.values["momentum"].tolist()
    (4, [0.1, 0.1, 0.01, 0.01], [0.5, 0.9, 0.5, 0.9])
    """
    import itertools

    import numpy as np

    varied = {k: list(v) for k, v in axes.items() if isinstance(v, Sequence | np.ndarray)
              and not isinstance(v, str)}
    if "lr" not in axes:
        raise ValueError("grid needs lr (a value or a sequence of values)")
    for k, v in varied.items():
        if not v:
            raise ValueError(f"grid axis {k!r} is empty")
    fixed = {k: v for k, v in axes.items() if k not in varied}
    combos = list(itertools.product(*varied.values())) or [()]
    opts = []
    for combo in combos:
        kw = {**fixed, **dict(zip(varied, combo, strict=True))}
        lr = kw.pop("lr")
        opts.append(make(name, lr, schedule=schedule, steps=steps,
                         schedule_kwargs=schedule_kwargs, **kw))
    values = {k: np.asarray([c[i] for c in combos]) for i, k in enumerate(varied)}
    return Grid(tuple(opts), values)
