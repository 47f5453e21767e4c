"""The optimizer zoo: every optimizer on a bench of catalogued objectives, schedules against
hand-computed values, exact agreement with optax, and the noise of perturbed/noisy GD."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import saddle
from saddle import optimizers as opts

BENCH = ("himmelblau", "six_hump_camel", "three_hump_camel", "booth", "styblinski_tang")
# Learning rates (constant schedule, default arguments) with which every start of the bench
# ends within TOL of a catalogued minimum. Measured on other seeds, each still passes at
# about 2/3 and 3/2 of its value (gd-like: from ~2e-3 to ~4.5e-3, limited below by the
# slow valleys of booth and three_hump_camel and above by the steep walls of their boxes).
LR = {
    "gd": 3e-3, "momentum": 7e-4, "nesterov": 7e-4, "adagrad": 2.0, "rmsprop": 2e-2,
    "adam": 0.1, "adamw": 0.1, "amsgrad": 0.5, "adabelief": 0.1, "lion": 1.5e-2,
    "perturbed_gd": 3e-3, "noisy_gd": 3e-3,
}
STEPS, N_STARTS, TOL = 2000, 64, 0.05


def _fraction_at_minima(x_nd: np.ndarray, obj: saddle.Objective) -> float:
    minima = obj.known_x("minimum")
    dist = np.min(np.linalg.norm(x_nd[:, None] - minima[None], axis=-1), axis=1)
    return float(np.mean(dist < TOL))


def _bench(name: str) -> dict[str, float]:
    """Fraction of starts (uniform in each objective's box) that end at a minimum of each.

    One run per optimizer on the direct sum F(x) = Σ_k f_k(x_k) of the 2-D objectives (a
    10-D objective whose minima are the products of theirs): one compiled program instead
    of five. The optax optimizers act coordinate by coordinate, so each 2-D block follows
    exactly its own run on f_k (checked below); for perturbed/noisy GD the noise and the
    gradient-norm test are those of the 10-D problem. ``descend`` freezes a diverged run
    whole, so a start that blows up in one block fails in all: stricter, never looser.
    """
    objs = [saddle.objectives.get(o) for o in BENCH]
    starts = [saddle.starts.uniform(jax.random.PRNGKey(i), N_STARTS, o) for i, o in enumerate(objs)]

    def direct_sum(x: jax.Array) -> jax.Array:
        return sum(o.fn(x[2 * k:2 * k + 2]) for k, o in enumerate(objs))

    run = saddle.descend(direct_sum, jnp.concatenate(starts, axis=1), opts.make(name, LR[name]),
                         STEPS, key=jax.random.PRNGKey(7))
    return {o.name: _fraction_at_minima(run.x[:, 2 * k:2 * k + 2], o)
            for k, o in enumerate(objs)}


def test_names_are_the_documented_tuples():
    assert opts.names() == ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                            "adamw", "amsgrad", "adabelief", "lion", "perturbed_gd", "noisy_gd")
    assert opts.schedule_names() == ("constant", "step", "exponential", "cosine",
                                     "warmup_cosine", "cyclic", "one_cycle", "plateau")
    assert set(LR) == set(opts.names())


@pytest.mark.parametrize("name", opts.names())
def test_every_optimizer_reaches_the_catalogued_minima(name):
    fractions = _bench(name)
    assert min(fractions.values()) >= 0.95, fractions


def test_direct_sum_bench_equals_separate_runs():
    # The bench's shortcut, checked for one optimizer and two objectives.
    a, b = saddle.objectives.get("booth"), saddle.objectives.get("himmelblau")
    xa = saddle.starts.uniform(jax.random.PRNGKey(0), 8, a)
    xb = saddle.starts.uniform(jax.random.PRNGKey(1), 8, b)
    opt = opts.make("adam", 0.1)
    both = saddle.descend(lambda x: a.fn(x[:2]) + b.fn(x[2:]), jnp.concatenate([xa, xb], 1),
                          opt, 200)
    np.testing.assert_allclose(both.x[:, :2], saddle.descend(a, xa, opt, 200).x, atol=1e-5)


# ----------------------------------------------------------------------------- optax itself
def _updates(opt: optax.GradientTransformation, n: int = 5, **extra) -> list[np.ndarray]:
    grads = jax.random.normal(jax.random.PRNGKey(3), (n, 3))
    params = jnp.array([0.5, -1.0, 2.0])
    state, out = opt.init(params), []
    for g in grads:
        u, state = opt.update(g, state, params, **extra)
        params = optax.apply_updates(params, u)
        out.append(np.asarray(u))
    return out


@pytest.mark.parametrize(("made", "reference"), ids=[
    "gd", "momentum", "nesterov", "adam", "adamw", "lion", "gd-cosine"], argvalues=[
    (lambda: opts.make("gd", 0.1), lambda: optax.sgd(0.1)),
    (lambda: opts.make("momentum", 0.1), lambda: optax.sgd(0.1, momentum=0.9)),
    (lambda: opts.make("nesterov", 0.1, momentum=0.5),
     lambda: optax.sgd(0.1, momentum=0.5, nesterov=True)),
    (lambda: opts.make("adam", 0.1, b1=0.8), lambda: optax.adam(0.1, b1=0.8)),
    (lambda: opts.make("adamw", 0.1, weight_decay=0.1), lambda: optax.adamw(0.1, weight_decay=0.1)),
    (lambda: opts.make("lion", 0.1), lambda: optax.lion(0.1)),
    (lambda: opts.make("gd", 0.1, schedule="cosine", steps=4),
     lambda: optax.sgd(optax.cosine_decay_schedule(0.1, 4))),
])
def test_make_is_exactly_the_optax_alias(made, reference):
    for u, v in zip(_updates(made()), _updates(reference()), strict=True):
        np.testing.assert_array_equal(u, v)


def test_gd_update_is_minus_lr_times_gradient():
    g = jnp.array([1.0, -2.0, 0.5])
    opt = opts.make("gd", 0.25)
    u, _ = opt.update(g, opt.init(jnp.zeros(3)), jnp.zeros(3), key=jax.random.PRNGKey(0))
    np.testing.assert_array_equal(u, -0.25 * g)


def test_plateau_reduces_the_step_when_the_loss_stalls():
    opt = opts.make("gd", 1.0, schedule="plateau", schedule_kwargs={"patience": 3, "factor": 0.5})
    params, state = jnp.zeros(2), opt.init(jnp.zeros(2))
    sizes = []
    for _ in range(12):  # the same loss every step: no improvement after the first
        u, state = opt.update(jnp.ones(2), state, params, value=jnp.asarray(1.0))
        sizes.append(float(u[0]))
    assert sizes[0] == -1.0 and sizes[-1] < -0.0 and sizes[-1] >= -0.25, sizes
    run = saddle.descend(saddle.objectives.get("himmelblau"), [[0.0, 0.0]],
                         opts.make("adam", 0.1, schedule="plateau"), 500)
    assert run.loss[0] < 1e-4


# ----------------------------------------------------------------------------- schedules
def _values(schedule, steps):
    return [float(schedule(t)) for t in steps]


def test_step_schedule_drops_at_the_boundaries():
    s = opts.make_schedule("step", 2.0, 100)
    np.testing.assert_allclose(_values(s, [0, 49, 50, 74, 75, 99]),
                               [2.0, 2.0, 0.2, 0.2, 0.02, 0.02], rtol=1e-6)
    s = opts.make_schedule("step", 1.0, 10, boundaries=(0.3,), factor=0.5)
    np.testing.assert_allclose(_values(s, [2, 3, 9]), [1.0, 0.5, 0.5], rtol=1e-6)


def test_cyclic_schedule_is_a_triangle_between_lr_over_10_and_lr():
    s = opts.make_schedule("cyclic", 1.0, 100, period=10)
    np.testing.assert_allclose(_values(s, [0, 2, 5, 7, 10, 15, 20]),
                               [0.1, 0.46, 1.0, 0.64, 0.1, 1.0, 0.1], rtol=1e-6)
    # Default period steps // 4, custom floor.
    s = opts.make_schedule("cyclic", 2.0, 40, base_lr=0.0)
    np.testing.assert_allclose(_values(s, [0, 5, 10]), [0.0, 2.0, 0.0], atol=1e-7)


def test_warmup_cosine_endpoints():
    s = opts.make_schedule("warmup_cosine", 0.4, 1000)  # warmup 5%: 50 steps
    np.testing.assert_allclose(_values(s, [0, 25, 50, 525, 1000]),
                               [0.0, 0.2, 0.4, 0.2, 0.0], atol=1e-6)
    s = opts.make_schedule("warmup_cosine", 0.4, 100, warmup_steps=20, end_value=0.1)
    np.testing.assert_allclose(_values(s, [20, 100]), [0.4, 0.1], atol=1e-6)


def test_decay_schedules_hand_computed():
    lr, steps = 0.5, 200
    exp = opts.make_schedule("exponential", lr, steps)  # lr · 0.01^(t/steps)
    np.testing.assert_allclose(_values(exp, [0, 100, 200]), [lr, lr * 0.1, lr * 0.01],
                               rtol=1e-5)
    cos = opts.make_schedule("cosine", lr, steps)
    np.testing.assert_allclose(_values(cos, [0, 100, 200]), [lr, lr / 2, 0.0], atol=1e-6)
    one = opts.make_schedule("one_cycle", lr, steps)  # peak at 30%, from lr/25
    np.testing.assert_allclose(_values(one, [0, 60, 200]), [lr / 25, lr, lr / 25 / 1e4],
                               rtol=1e-4)
    const = opts.make_schedule("constant", lr)
    assert _values(const, [0, 10**6]) == [lr, lr]


# ----------------------------------------------------------------------------- perturbed GD
def saddle_fn(x):
    return x[0] ** 2 - x[1] ** 2


def test_perturbed_gd_leaves_an_exact_saddle_where_gd_stays():
    x0 = np.zeros((4, 2))
    gd = saddle.descend(saddle_fn, x0, opts.make("gd", 0.1), 100)
    np.testing.assert_array_equal(gd.x, 0.0)
    pgd = saddle.descend(saddle_fn, x0, opts.make("perturbed_gd", 0.1), 100,
                         key=jax.random.PRNGKey(1))
    assert np.all(np.abs(pgd.x[:, 1]) > 10) and np.all(pgd.loss < -100)
    # Starts share x0 but not their noise: four different escapes.
    assert len({round(float(v), 6) for v in pgd.x[:, 1]}) == 4


def _kicks(opt, grad, n_steps, key):
    """Run ``opt`` ``n_steps`` on a constant gradient; the updates minus the GD part."""
    params = jnp.zeros(2)

    def body(state, k):
        u, state = opt.update(grad, state, params, key=k)
        return state, u

    state, u = jax.lax.scan(body, opt.init(params), jax.random.split(key, n_steps))
    return np.asarray(u + 0.1 * grad), state


def test_perturbation_is_uniform_in_the_ball_and_depends_on_the_key():
    opt = opts.make("perturbed_gd", 0.1, radius=0.5)
    zeros = jnp.zeros(2)
    kick = jax.jit(jax.vmap(lambda k: opt.update(zeros, opt.init(zeros), zeros, key=k)[0]))
    first = kick(jax.random.split(jax.random.PRNGKey(0), 4000))
    r = np.linalg.norm(np.asarray(first), axis=1)
    assert r.max() <= 0.5 and len(np.unique(np.asarray(first), axis=0)) == 4000
    # Uniform in a disc: P(r ≤ ρ) = (ρ/R)², mean radius 2R/3.
    np.testing.assert_allclose(r.mean(), 0.5 * 2 / 3, rtol=0.02)
    np.testing.assert_allclose(np.mean(r <= 0.25), 0.25, atol=0.03)
    with pytest.raises(ValueError, match="PRNG key"):
        opt.update(jnp.zeros(2), opt.init(jnp.zeros(2)), jnp.zeros(2))


def test_perturbation_at_most_once_per_t_thres_steps():
    t_thres, n_steps = 7, 100
    opt = opts.make("perturbed_gd", 0.1, t_thres=t_thres, g_thres=0.01)
    # Zero gradient: kicks come as soon as allowed, at steps 0, 7, 14, ...
    kicks, state = _kicks(opt, jnp.zeros(2), n_steps, jax.random.PRNGKey(0))
    kicked = np.nonzero(np.linalg.norm(kicks, axis=1) > 0)[0]
    assert kicked.tolist() == list(range(0, n_steps, t_thres))
    assert int(state.n_perturbations) == len(kicked)
    # A gradient above g_thres: never a kick, plain GD.
    kicks, state = _kicks(opt, jnp.array([0.02, 0.0]), n_steps, jax.random.PRNGKey(0))
    np.testing.assert_allclose(kicks, 0.0, atol=1e-9)
    assert int(state.n_perturbations) == 0


def test_perturbation_only_once_per_window_on_a_saddle():
    # On x² − y² the gradient is small only near the saddle; count kicks in every window.
    opt = opts.make("perturbed_gd", 0.01, radius=1e-3, g_thres=1.0, t_thres=20)

    def body(carry, k):
        x, state = carry
        u, state = opt.update(jax.grad(saddle_fn)(x), state, x, key=k)
        return (x + u, state), state.n_perturbations

    _, counts = jax.lax.scan(body, (jnp.zeros(2), opt.init(jnp.zeros(2))),
                             jax.random.split(jax.random.PRNGKey(2), 400))
    counts = np.concatenate([[0], np.asarray(counts)])
    assert counts[-1] >= 2
    assert np.all(counts[20:] - counts[:-20] <= 1)


# ----------------------------------------------------------------------------- noisy GD
@pytest.mark.parametrize(("noise", "per_coordinate_std"), [("sphere", 0.5), ("gaussian", 1.0)])
def test_noisy_gd_noise_has_the_stated_scale(noise, per_coordinate_std):
    sigma, lr, d = 1.0, 0.1, 4
    opt = opts.make("noisy_gd", lr, sigma=sigma, noise=noise)
    zeros = jnp.zeros(d)
    keys = jax.random.split(jax.random.PRNGKey(0), 8000)
    u = np.asarray(jax.jit(jax.vmap(
        lambda k: opt.update(zeros, opt.init(zeros), zeros, key=k)[0]))(keys))
    xi = -u / lr  # zero gradient: the update is −lr·σ·ξ
    np.testing.assert_allclose(xi.std(axis=0), per_coordinate_std * sigma, rtol=0.05)
    np.testing.assert_allclose(xi.mean(axis=0), 0.0, atol=0.05)
    if noise == "sphere":  # σ/√d per coordinate, norm σ exactly
        np.testing.assert_allclose(np.linalg.norm(xi, axis=1), sigma, rtol=1e-5)
    else:
        np.testing.assert_allclose(np.mean(np.sum(xi**2, axis=1)), d * sigma**2, rtol=0.05)


def test_noisy_gd_is_gd_on_the_noisy_gradient_and_needs_a_key():
    opt = opts.make("noisy_gd", 0.1, sigma=0.0)
    g = jnp.array([1.0, -2.0])
    u, _ = opt.update(g, opt.init(g), g, key=jax.random.PRNGKey(0))
    np.testing.assert_array_equal(u, -0.1 * g)
    with pytest.raises(ValueError, match="PRNG key"):
        opt.update(g, opt.init(g), g)
    run = saddle.descend(saddle_fn, np.zeros((3, 2)), opts.make("noisy_gd", 0.1), 60)
    assert np.all(run.loss < -1) and len({float(v) for v in run.x[:, 1]}) == 3


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("call", "message"), [
    (lambda: opts.make("sgdd", 0.1), "unknown optimizer 'sgdd'; known: gd, momentum, nesterov"),
    (lambda: opts.make("adam", 0.1, beta1=0.9), "'adam' got unknown argument 'beta1'; valid: b1"),
    (lambda: opts.make("gd", 0.1, momentum=0.9), "unknown argument 'momentum'"),
    (lambda: opts.make("perturbed_gd", 0.1, sigma=1.0), "valid: radius, g_thres, t_thres"),
    (lambda: opts.make("noisy_gd", 0.1, radius=1.0), "valid: sigma, noise"),
    (lambda: opts.make("noisy_gd", 0.1, noise="cauchy"), "unknown noise 'cauchy'"),
    (lambda: opts.make("gd", 0.0), "lr must be a finite number > 0, got 0.0"),
    (lambda: opts.make("gd", -1e-3), "lr must be a finite number > 0"),
    (lambda: opts.make("gd", float("nan")), "lr must be a finite number > 0"),
    (lambda: opts.make("gd", float("inf")), "lr must be a finite number > 0"),
    (lambda: opts.make("gd", 0.1, schedule="cosine"), "schedule 'cosine' needs steps"),
    (lambda: opts.make("gd", 0.1, schedule="step", steps=0), "steps must be >= 1, got 0"),
    (lambda: opts.make("gd", 0.1, schedule="linear"), "unknown schedule 'linear'; known: constant"),
    (lambda: opts.make("gd", 0.1, schedule="step", steps=10, schedule_kwargs={"gamma": 0.5}),
     "schedule 'step' got unknown argument 'gamma'; valid: boundaries, factor"),
    (lambda: opts.make("gd", 0.1, schedule="plateau", schedule_kwargs={"decay": 0.5}),
     "valid: factor, patience"),
    (lambda: opts.make_schedule("plateau", 0.1, 10), "depends on the loss"),
    (lambda: opts.make_schedule("cyclic", 0.1, None), "schedule 'cyclic' needs steps"),
    (lambda: opts.make_schedule("step", 0.1, 10, boundaries=(0.5, 1.5)), "in (0, 1), got 1.5"),
    (lambda: opts.make_schedule("warmup_cosine", 0.1, 10, warmup_steps=10), "warmup_steps"),
    (lambda: opts.make_schedule("cyclic", 0.1, 100, base_lr=0.2), "base_lr must be <= lr"),
    (lambda: opts.make("perturbed_gd", 0.1, radius=0.0), "radius must be a finite number > 0"),
    (lambda: opts.make("perturbed_gd", 0.1, t_thres=0), "t_thres must be >= 1"),
])
def test_bad_arguments_raise_one_line_value_errors(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value) and "\n" not in str(err.value)


# ----------------------------------------------------------------------------- value ranges
def _sched(name, **kw):
    return lambda: opts.make("gd", 0.1, schedule=name, steps=100, schedule_kwargs=kw)


@pytest.mark.parametrize(("call", "argument"), [
    (_sched("cosine", alpha=-1.0), "alpha"),
    (_sched("cosine", alpha=1.5), "alpha"),
    (_sched("cosine", exponent=0.0), "exponent"),
    (_sched("one_cycle", pct_start=2.0), "pct_start"),
    (_sched("one_cycle", pct_start=0.0), "pct_start"),
    (_sched("one_cycle", div_factor=0.0), "div_factor"),
    (_sched("one_cycle", final_div_factor=-1.0), "final_div_factor"),
    (_sched("warmup_cosine", init_value=-0.1), "init_value"),
    (_sched("warmup_cosine", end_value=-0.1), "end_value"),
    (_sched("warmup_cosine", end_value=0.2), "end_value"),  # above the peak lr=0.1
    (_sched("warmup_cosine", exponent=-1.0), "exponent"),
    (_sched("warmup_cosine", warmup_steps=-1), "warmup_steps"),
    (_sched("cyclic", base_lr=-0.01), "base_lr"),
    (_sched("cyclic", period=1), "period"),
    (_sched("exponential", decay_rate=0.0), "decay_rate"),
    (_sched("exponential", decay_rate=float("nan")), "decay_rate"),
    (_sched("exponential", end_value=-1.0), "end_value"),
    (_sched("exponential", end_value=0.5), "end_value"),  # a floor above lr
    (_sched("step", factor=0.0), "factor"),
    (_sched("step", factor=2.0), "factor"),
    (_sched("step", boundaries=(0.5, 0.0)), "boundaries"),
    (_sched("plateau", factor=1.0), "factor"),
    (_sched("plateau", factor=0.0), "factor"),
    (_sched("plateau", patience=-1), "patience"),
    (_sched("plateau", cooldown=-1), "cooldown"),
    (_sched("plateau", rtol=-1e-3), "rtol"),
    (_sched("plateau", accumulation_size=0), "accumulation_size"),
    (_sched("plateau", min_scale=2.0), "min_scale"),
    (lambda: opts.make("momentum", 0.1, momentum=-5.0), "momentum"),
    (lambda: opts.make("momentum", 0.1, momentum=1.0), "momentum"),
    (lambda: opts.make("nesterov", 0.1, momentum=0.0), "momentum"),
    (lambda: opts.make("rmsprop", 0.1, nesterov=True), "momentum"),
    (lambda: opts.make("rmsprop", 0.1, decay=1.0), "decay"),
    (lambda: opts.make("rmsprop", 0.1, momentum=1.5), "momentum"),
    (lambda: opts.make("rmsprop", 0.1, eps=-1e-8), "eps"),
    (lambda: opts.make("adagrad", 0.1, initial_accumulator_value=-1.0),
     "initial_accumulator_value"),
    (lambda: opts.make("adagrad", 0.1, eps=-1.0), "eps"),
    (lambda: opts.make("adam", 0.1, b1=2.0), "b1"),
    (lambda: opts.make("adam", 0.1, b2=-0.1), "b2"),
    (lambda: opts.make("adam", 0.1, eps=float("inf")), "eps"),
    (lambda: opts.make("adamw", 0.1, weight_decay=-0.1), "weight_decay"),
    (lambda: opts.make("amsgrad", 0.1, b2=1.0), "b2"),
    (lambda: opts.make("adabelief", 0.1, eps_root=-1.0), "eps_root"),
    (lambda: opts.make("lion", 0.1, b1=1.2), "b1"),
    (lambda: opts.make("lion", 0.1, b2=-1.0), "b2"),
    (lambda: opts.make("perturbed_gd", 0.1, g_thres=-1.0), "g_thres"),
    (lambda: opts.make("noisy_gd", 0.1, sigma=-1.0), "sigma"),
])
def test_out_of_range_values_name_their_argument(call, argument):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(argument) or f" {argument}" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("call", [
    _sched("cosine", alpha=0.0), _sched("cosine", alpha=1.0), _sched("cosine", exponent=0.5),
    _sched("one_cycle", pct_start=0.01, div_factor=1.0, final_div_factor=1.0),
    _sched("warmup_cosine", init_value=0.1, end_value=0.1, warmup_steps=0),
    _sched("cyclic", base_lr=0.0, period=2), _sched("cyclic", base_lr=0.1),
    _sched("exponential", decay_rate=1.0), _sched("exponential", end_value=0.0),
    _sched("exponential", decay_rate=2.0, end_value=0.5),  # growth capped above lr
    _sched("step", factor=1.0, boundaries=()), _sched("step", boundaries=[0.1, 0.9]),
    _sched("plateau", factor=0.5, patience=0, cooldown=0, min_scale=0.0, rtol=0.0, atol=1e-3),
    lambda: opts.make("momentum", 0.1, momentum=0.0),
    lambda: opts.make("nesterov", 0.1, momentum=0.99),
    lambda: opts.make("rmsprop", 0.1, decay=0.0, eps=0.0, momentum=0.5, nesterov=True),
    lambda: opts.make("adam", 0.1, b1=0.0, b2=0.0, eps=0.0, eps_root=0.0),
    lambda: opts.make("adam", 0.1, b1=np.float32(0.5)),
    lambda: opts.make("adamw", 0.1, weight_decay=0.0),
    lambda: opts.make("adamw", 0.1, weight_decay=optax.constant_schedule(1e-3)),
    lambda: opts.make("adagrad", 0.1, initial_accumulator_value=0.0),
    lambda: opts.make("lion", 0.1, b1=0.0, b2=0.0),
])
def test_edge_values_are_valid(call):
    opt = call()
    x = jnp.array([1.0, -2.0])
    u, _ = opt.update(x, opt.init(x), x, value=jnp.asarray(1.0))
    assert np.all(np.isfinite(np.asarray(u)))


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="b1 must be a number, got True"):
        opts.make("adam", 0.1, b1=True)
    with pytest.raises(TypeError, match="momentum must be a number, got None"):
        opts.make("momentum", 0.1, momentum=None)
    with pytest.raises(TypeError, match="boundaries must be a sequence"):
        opts.make_schedule("step", 0.1, 10, boundaries=0.5)
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        opts.make("rmsprop", 0.1, momentum=0.9, nesterov="yes")


# ----------------------------------------------------------------------------- projection
def test_projected_gd_reaches_minima_on_the_box_boundary():
    """f = (x₀ − 2)² + (x₁ + 0.5)² on [−1, 1]²: the box minimum (1, −0.5) has ∇f = (−2, 0)
    ≠ 0, on the boundary: not a critical point. Projected GD ends there exactly, from
    every start; plain GD leaves the box for (2, −0.5)."""
    import saddle

    def f(x):
        return (x[0] - 2.0) ** 2 + (x[1] + 0.5) ** 2

    x0 = jax.random.uniform(jax.random.PRNGKey(0), (64, 2), minval=-1.0, maxval=1.0)
    opt = optax.chain(optax.sgd(0.1), saddle.optimizers.project_box(-1.0, 1.0))
    run = saddle.descend(f, x0, opt, steps=200)
    np.testing.assert_allclose(run.x, np.broadcast_to([1.0, -0.5], (64, 2)), atol=1e-6)
    assert np.all((run.x >= -1) & (run.x <= 1))
    free = saddle.descend(f, x0, optax.sgd(0.1), steps=200)
    np.testing.assert_allclose(free.x, np.broadcast_to([2.0, -0.5], (64, 2)), atol=1e-5)
    # per-coordinate bounds, as arrays
    box = saddle.optimizers.project_box(jnp.array([-1.0, 0.0]), jnp.array([1.0, 0.2]))
    run = saddle.descend(f, x0 * 0.1, optax.chain(optax.sgd(0.1), box), steps=200)
    np.testing.assert_allclose(run.x, np.broadcast_to([1.0, 0.0], (64, 2)), atol=1e-6)
    with pytest.raises(ValueError, match="lower must be <= upper"):
        saddle.optimizers.project_box(1.0, -1.0)
    with pytest.raises(ValueError, match="lower and upper must broadcast"):
        saddle.optimizers.project_box(np.zeros(2), np.ones(3))
    with pytest.raises(TypeError, match=r"the order is descend\(f, x0, optimizer, steps\)"):
        saddle.descend(f, opt, x0, steps=200)
