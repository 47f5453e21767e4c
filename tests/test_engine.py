"""The pure core (saddle.engine.optimize) and descend's contracts built on it: statuses,
one compile per structure, hyper-parameter axes, optax's extra arguments, pytrees."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import saddle
from saddle import engine
from saddle import monitors as mon

QUAD = lambda x: 0.5 * jnp.sum(x**2)  # noqa: E731


def test_optimize_is_pure_and_matches_plain_optax_under_jit_and_vmap():
    """The core inside the user's own jit(vmap(...)) gives what a hand-written optax loop
    gives, and the status codes say what happened."""
    obj = saddle.objectives.get("himmelblau")
    x0 = saddle.starts.uniform(jax.random.PRNGKey(0), 8, obj)
    keys = jax.random.split(jax.random.PRNGKey(1), 8)
    monitor = mon.chain(mon.loss(), mon.convergence(1e-3))
    run = jax.jit(jax.vmap(lambda x, k: engine.optimize(
        obj.fn, optax.adam(0.05), x, k, steps=300, monitor=monitor)))(x0, keys)

    def plain(x):
        opt = optax.adam(0.05)

        def step(_, carry):
            x, s = carry
            u, s = opt.update(jax.grad(obj.fn)(x), s, x)
            return optax.apply_updates(x, u), s

        return jax.lax.fori_loop(0, 300, step, (x, opt.init(x)))[0]

    expected = jax.jit(jax.vmap(plain))(x0)
    np.testing.assert_allclose(run.params, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(run.outputs["loss"], jax.jit(jax.vmap(obj.fn))(expected), rtol=1e-4,
                               atol=1e-6)
    gn = np.linalg.norm(np.asarray(jax.jit(jax.vmap(jax.grad(obj.fn)))(expected)), axis=1)
    np.testing.assert_array_equal(run.status == engine.CONVERGED, gn < 1e-3)


def test_statuses_invalid_start_diverged_escaped_converged():
    f = lambda x: jnp.sum(x**2) + jnp.log(x[0] + 10.0)  # noqa: E731 (NaN for x0 < -10)
    x0 = np.array([[1.0, 1.0], [-20.0, 0.0], [0.5, 0.5]])
    run = saddle.descend(f, x0, optax.sgd(0.1), 200)
    assert run.status.tolist() == ["converged", "invalid_start", "converged"]
    # an invalid start never puts a NaN in the results: +inf loss, the start as x
    assert run.loss[1] == np.inf and run.grad_norm[1] == np.inf
    np.testing.assert_array_equal(run.x[1], x0[1])
    assert not run.diverged[1] and run.diverged_step[1] == -1 and not run.converged[1]
    div = saddle.descend(QUAD, [[1.0, 1.0]], optax.sgd(2.5), 200)  # |1 − 2.5| > 1
    assert div.status.tolist() == ["diverged"] and np.isfinite(div.loss).all()
    esc = saddle.descend(lambda x: x[0] ** 2 - x[1] ** 2 + x[1] ** 4, [[0.0, 1e-3]],
                         optax.sgd(0.1), 200, escape=saddle.Escape(np.zeros(2), radius=0.5))
    assert esc.status.tolist() == ["escaped"] and esc.escape_step[0] > 0


def _count_compiles():
    events = []

    def listener(name, *args, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            events.append(name)

    jax.monitoring.register_event_duration_secs_listener(listener)
    return events, listener


def test_one_compile_per_structure():
    """A fresh but equal optimizer, another learning rate, another escape centre, and a
    fresh objective from the registry compile nothing new."""
    x0 = saddle.starts.uniform(jax.random.PRNGKey(0), 16, saddle.objectives.get("rastrigin",
                                                                                dim=3))

    def call(lr, center):
        obj = saddle.objectives.get("strict_saddle", dim=3, gamma=1.0)  # a fresh closure
        return saddle.descend(obj, x0, optax.adam(lr), 50, escape=saddle.Escape(center, 0.5))

    first = call(1e-2, np.zeros(3))
    events, listener = _count_compiles()
    try:
        again = call(1e-2, np.zeros(3))
        other = call(3e-2, np.full(3, 0.1))
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert events == []
    np.testing.assert_array_equal(first.x, again.x)
    # the other numbers were really used: compare with a program compiled for them
    ref = jax.jit(jax.vmap(lambda x: engine.optimize(
        saddle.objectives.get("strict_saddle", dim=3).fn, optax.adam(3e-2), x,
        jax.random.PRNGKey(0), steps=50, monitor=mon.loss()).params))(x0)
    # (numbers passed as data round differently from compiled-in constants: ~1e-6)
    np.testing.assert_allclose(other.x, ref, rtol=1e-4, atol=1e-5)
    assert not np.allclose(other.x, first.x, rtol=1e-2)


def test_learning_rate_grid_compiles_once_and_equals_separate_runs():
    obj = saddle.objectives.get("himmelblau")
    x0 = saddle.starts.uniform(jax.random.PRNGKey(3), 256, obj)
    lrs = np.geomspace(1e-3, 0.3, 16)
    grid = saddle.optimizers.grid("momentum", lr=lrs)
    before = set(saddle.descent._PROGRAMS)  # (a bounded cache: count new keys, not its size)
    warm = saddle.descend(obj, x0, saddle.optimizers.grid("momentum", lr=lrs / 2), 200)
    # one program for the 16 × 256 runs (and one that replays the runs that diverged)
    new = [k for k in saddle.descent._PROGRAMS if k not in before]
    assert len(new) == 1 + bool(warm.diverged.any())
    events, listener = _count_compiles()
    try:
        run = saddle.descend(obj, x0, grid, 200)  # other values: nothing compiles
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert events == []
    assert run.x.shape == (16, 256, 2) and run.hyper["lr"].tolist() == lrs.tolist()
    for i in (0, 7, 15):
        alone = saddle.descend(obj, x0, saddle.optimizers.make("momentum", lrs[i]), 200)
        np.testing.assert_allclose(run.x[i], alone.x, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(run.status[i], alone.status)


def test_axis_needs_one_structure_and_bad_optimizers_fail_early():
    with pytest.raises(ValueError, match=r"optimizer\[1\] differs in structure"):
        saddle.descend(QUAD, [[1.0]], [optax.adam(0.1), optax.sgd(0.1)], 5)
    with pytest.raises(TypeError, match=r"optimizer\[0\] must be an optax"):
        saddle.descend(QUAD, [[1.0]], ["adam"], 5)
    with pytest.raises(ValueError, match="empty sequence"):
        saddle.descend(QUAD, [[1.0]], [], 5)


def test_lbfgs_and_line_searches_run_under_descend():
    """optax.lbfgs needs value=, grad= and value_fn=; from Rosenbrock's classic start
    (−1.2, 1) it reaches the minimum (1, 1) in 100 steps (GD needs thousands)."""
    obj = saddle.objectives.get("rosenbrock", dim=2)
    x0 = np.array([[-1.2, 1.0], [0.5, -0.5]])
    run = saddle.descend(obj, x0, optax.lbfgs(), 100, grad_tol=1e-4)
    np.testing.assert_allclose(run.x, 1.0, atol=1e-3)
    assert run.converged.all()
    gd = saddle.descend(obj, x0, optax.sgd(1e-3), 100)
    assert np.abs(gd.x - 1).max() > 0.1
    chain = optax.chain(optax.sgd(1.0), optax.scale_by_backtracking_linesearch(20))
    bt = saddle.descend(QUAD, [[3.0, -4.0]], chain, 20)
    assert bt.converged[0]


def test_newton_takes_the_function_from_value_fn():
    """One Newton step on a quadratic lands on its critical point; on a pytree too."""
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    f = lambda x: 0.5 * x @ jnp.asarray(a) @ x - x.sum()  # noqa: E731
    run = saddle.descend(f, [[5.0, -7.0]], saddle.newton.newton(), 1)
    np.testing.assert_allclose(run.x[0], np.linalg.solve(a, np.ones(2)), atol=1e-5)
    tree = {"u": jnp.array([5.0]), "v": jnp.array([-7.0])}
    g = lambda p: f(jnp.concatenate([p["u"], p["v"]]))  # noqa: E731
    pr = saddle.descend(g, jax.tree.map(lambda a: a[None], tree), saddle.newton.newton(), 1)
    np.testing.assert_allclose([pr.x["u"][0, 0], pr.x["v"][0, 0]],
                               np.linalg.solve(a, np.ones(2)), atol=1e-5)


def test_pytree_parameters_equal_the_flat_run():
    """A two-layer linear model as a dict of arrays gives, step for step, what the same
    model on its flattened parameters gives."""
    key = jax.random.PRNGKey(0)
    xs = jax.random.normal(key, (32, 3))
    ys = xs @ jnp.array([1.0, -2.0, 0.5])
    tree = {"w1": jnp.ones((3, 4)) * 0.1, "w2": jnp.ones(4) * 0.2}
    flat0, unravel = ravel_pytree(tree)

    def loss(p, batch):
        x, y = batch
        return 0.5 * jnp.mean((x @ p["w1"] @ p["w2"] - y) ** 2)

    starts = jax.tree.map(lambda a: jnp.stack([a, 2 * a]), tree)
    tr = saddle.descend(loss, starts, optax.adam(1e-2), 100, data=(xs, ys), record_every=50,
                        monitors=[mon.distance()])
    fl = saddle.descend(lambda v, b: loss(unravel(v), b), jnp.stack([flat0, 2 * flat0]),
                        optax.adam(1e-2), 100, data=(xs, ys), record_every=50,
                        monitors=[mon.distance()])
    assert tr.x["w1"].shape == (2, 3, 4)
    np.testing.assert_allclose(jax.vmap(lambda p: ravel_pytree(p)[0])(tr.x), fl.x, rtol=1e-6)
    np.testing.assert_allclose(tr.loss_path, fl.loss_path, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(tr.outputs["distance"], fl.outputs["distance"], rtol=1e-5)


def test_objective_with_init_data_and_no_box():
    xs = np.linspace(-1, 1, 20)[:, None].astype(np.float32)
    ys = 3 * xs[:, 0] - 1

    def fn(p, batch):
        x, y = batch
        return jnp.mean((x[:, 0] * p["a"] + p["b"] - y) ** 2)

    obj = saddle.Objective(fn=fn, init=lambda k: {"a": jax.random.normal(k), "b": jnp.zeros(())},
                           data=(xs, ys), name="line")
    x0 = saddle.starts.sample(jax.random.PRNGKey(0), 4, obj)
    assert x0["a"].shape == (4,)
    run = saddle.descend(obj, x0, optax.sgd(0.5), 300)
    np.testing.assert_allclose(run.x["a"], 3.0, atol=1e-3)
    np.testing.assert_allclose(run.x["b"], -1.0, atol=1e-3)
    with pytest.raises(ValueError, match="no box"):
        _ = obj.lower
    with pytest.raises(ValueError, match="needs dim"):
        saddle.Objective(fn=QUAD)
    with pytest.raises(TypeError, match="must return a scalar"):
        saddle.Objective(fn=lambda p, b: p["a"] * b[1], init=lambda k: {"a": jnp.zeros(())},
                         data=(xs, ys))


def test_one_line_errors_for_bad_shapes():
    with pytest.raises(ValueError, match=r"x0 must have shape \[n, d\], got shape \(\)"):
        saddle.descend(QUAD, 1.0, optax.sgd(0.1), 5)
    with pytest.raises(ValueError, match=r"converged_step must have shape \[n\]"):
        saddle.basins.time_to_converge(np.zeros((3, 3)), np.zeros(3), 2)
    with pytest.raises(ValueError, match=r"x must have shape \[n, d\]"):
        saddle.basins.cluster(np.zeros(5), 0.1)
    with pytest.raises(TypeError, match=r"key must be a jax\.random key"):
        saddle.find_critical_points(saddle.objectives.get("himmelblau"), key=None)
    # one monitor is accepted as well as a sequence of them
    run = saddle.descend(QUAD, [[1.0]], optax.sgd(0.5), 3, monitors=mon.distance())
    np.testing.assert_allclose(run.outputs["distance"], [1 - 0.5**3])
