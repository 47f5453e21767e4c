"""The descent engine against closed forms and hand-written loops."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import saddle


def test_gd_on_a_quadratic_matches_the_closed_form():
    a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    x0 = np.array([[1.0, -1.0], [0.5, 2.0], [-3.0, 0.1]])
    eta, steps = 0.1, 25
    run = saddle.descend(lambda x: 0.5 * x @ a @ x, x0, optax.sgd(eta), steps)
    m = np.linalg.matrix_power(np.eye(2) - eta * np.asarray(a), steps)
    np.testing.assert_allclose(run.x, x0 @ m.T, rtol=1e-5, atol=1e-6)


def test_adam_matches_a_hand_written_loop():
    obj = saddle.objectives.get("himmelblau")
    x0 = np.array([[0.0, 0.0], [-1.0, 3.0], [4.0, -4.0]], dtype=np.float32)
    opt = optax.adam(0.05)
    run = saddle.descend(obj, x0, opt, 200)
    @jax.jit
    def step(x, state):
        u, state = opt.update(jax.grad(obj.fn)(x), state, x)
        return optax.apply_updates(x, u), state

    for i in range(3):
        x, state = jnp.asarray(x0[i]), opt.init(jnp.asarray(x0[i]))
        for _ in range(200):  # a plain Python loop, one jitted step at a time
            x, state = step(x, state)
        np.testing.assert_allclose(run.x[i], x, rtol=1e-5, atol=1e-5)


def test_chunked_equals_unchunked_and_paths_are_recorded():
    obj = saddle.objectives.get("six_hump_camel")
    x0 = saddle.starts.uniform(jax.random.PRNGKey(0), 10, obj)
    a = saddle.descend(obj, x0, optax.sgd(0.01), 100, record_every=10, record_path=True)
    b = saddle.descend(obj, x0, optax.sgd(0.01), 100, record_every=10, record_path=True,
                       chunk_size=3)
    for field in ("x", "loss", "grad_norm", "converged", "converged_step", "path"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.path.shape == (10, 11, 2) and a.path_steps.tolist() == list(range(0, 101, 10))
    np.testing.assert_array_equal(a.path[:, 0], x0)
    np.testing.assert_array_equal(a.path[:, -1], a.x)


def test_divergence_is_flagged_and_outputs_stay_finite():
    x0 = np.array([[1.0, -2.0], [0.0, 0.0]])
    run = saddle.descend(lambda x: jnp.sum(x**2), x0, optax.sgd(1.5), 500, record_every=50,
                         record_path=True)
    assert run.diverged.tolist() == [True, False]
    assert run.diverged_step[0] > 0 and run.diverged_step[1] == -1
    for arr in (run.x, run.loss, run.grad_norm, run.path, run.loss_path):
        assert np.all(np.isfinite(arr))
    assert not run.converged[0] and run.converged[1]


def test_converged_step_is_when_the_gradient_stayed_small():
    # GD on x²/2 with η = 0.5 halves x each step: |x_t| = 2^-t, below 1e-3 from t = 10.
    run = saddle.descend(lambda x: 0.5 * jnp.sum(x**2), [[1.0]], optax.sgd(0.5), 30,
                         grad_tol=1e-3)
    assert run.converged[0] and run.converged_step[0] == 10


def test_loss_value_reaches_reduce_on_plateau():
    """GD with η = 1 on x² flips x ↦ −x: the loss never falls, so reduce_on_plateau (which
    reads update(..., value=loss)) halves the step until the run converges; without the
    value the run would stay at |x| = 1. Compared with a hand-written optax loop."""
    f = lambda x: jnp.sum(x**2)  # noqa: E731
    make = lambda: optax.chain(optax.sgd(1.0),  # noqa: E731
                               optax.contrib.reduce_on_plateau(patience=2, factor=0.5))
    run = saddle.descend(f, [[1.0, -1.0]], make(), 40)
    opt = make()

    def step(_, carry):
        x, state = carry
        loss, g = jax.value_and_grad(f)(x)
        u, state = opt.update(g, state, x, value=loss)
        return optax.apply_updates(x, u), state

    x0 = jnp.array([1.0, -1.0])
    x = jax.jit(lambda x: jax.lax.fori_loop(0, 40, step, (x, opt.init(x)))[0])(x0)
    np.testing.assert_allclose(run.x[0], x, rtol=1e-6, atol=1e-12)
    assert np.abs(run.x[0]).max() < 0.5


def test_bad_inputs():
    f = lambda x: jnp.sum(x**2)  # noqa: E731
    with pytest.raises(ValueError, match=r"x0 must have shape \[n, d\]"):
        saddle.descend(f, np.zeros(2), optax.sgd(0.1), 10)
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        saddle.descend(f, np.zeros((1, 2)), optax.sgd(0.1), 0)
    with pytest.raises(ValueError, match="record_every=20 is larger than steps=10"):
        saddle.descend(f, np.zeros((1, 2)), optax.sgd(0.1), 10, record_every=20)
    with pytest.raises(ValueError, match="x0 has 1 row"):
        saddle.descend(f, [[np.inf, 0.0]], optax.sgd(0.1), 10)
    with pytest.raises(TypeError, match="optimizer must be an optax"):
        saddle.descend(f, np.zeros((1, 2)), "adam", 10)
    with pytest.raises(ValueError, match="x0 has d=3 but the objective has dim=2"):
        saddle.descend(saddle.objectives.get("himmelblau"), np.zeros((1, 3)), optax.sgd(0.1), 10)


def test_minibatch_sgd_is_reproducible_chunk_invariant_and_unbiased():
    """Least squares f(x, (A, b)) = mean((A x − b)²): SGD with minibatches reaches the
    least-squares solution's neighbourhood; same key → same numbers, chunked or not."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((256, 3)).astype(np.float32)
    b = (A @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(256)).astype(np.float32)
    f = lambda x, batch: jnp.mean((batch[0] @ x - batch[1]) ** 2)  # noqa: E731
    x0 = np.zeros((6, 3), np.float32)
    kw = dict(data=(A, b), batch_size=16, key=jax.random.PRNGKey(1))
    r1 = saddle.descend(f, x0, optax.sgd(0.02), 2000, **kw)
    r2 = saddle.descend(f, x0, optax.sgd(0.02), 2000, chunk_size=4, **kw)
    np.testing.assert_array_equal(r1.x, r2.x)
    assert len({tuple(row) for row in r1.x.round(6)}) == 6  # each start its own batches
    x_ls = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(r1.x.mean(0), x_ls, atol=0.03)
    full = np.mean((A @ x_ls - b) ** 2)
    np.testing.assert_allclose(r1.loss, [np.mean((A @ x - b) ** 2) for x in r1.x], rtol=1e-4)
    assert np.all(r1.loss >= full - 1e-6)


def test_gradient_noise_has_the_stated_scale():
    """One GD step of η on f = 0 with noise σ moves x by η·σ·N(0, I)."""
    x0 = np.zeros((4000, 2), np.float32)
    run = saddle.descend(lambda x: 0.0 * jnp.sum(x), x0, optax.sgd(1.0), 1, grad_noise=0.3)
    np.testing.assert_allclose(run.x.std(0), 0.3, rtol=0.05)
    np.testing.assert_allclose(run.x.mean(0), 0.0, atol=0.02)


def _run_on_1_and_2_devices(tmp_path: pathlib.Path, code: str) -> list[str]:
    """Run ``code`` in two subprocesses at once, ``sys.argv[1]`` = 2 and 1 devices (the
    code calls ``saddle.use_cpu_cores``), ``sys.argv[2]`` a path prefix in ``tmp_path``;
    their stdouts."""
    import subprocess
    import sys

    repo = pathlib.Path(__file__).resolve().parents[1]  # benchmarks.mlp imports from there
    procs = [subprocess.Popen([sys.executable, "-c", code, devices, str(tmp_path / devices)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={"PATH": ""}, cwd=repo)
             for devices in ("2", "1")]
    try:
        done = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_, stderr) in zip(procs, done, strict=True):
        assert p.returncode == 0, stderr[-3000:]
    return [stdout for stdout, _ in done]


def test_sharded_equals_single_device(tmp_path):
    """Run the same batches on 2 CPU devices (``saddle.use_cpu_cores(2)``, before JAX's
    first computation) and on 1 in subprocesses; a later call changes nothing; Himmelblau
    runs (chunked, padded, a grid of learning rates, noise) agree bit for bit; ``sharpness``
    of an MLP whose data is split over the devices equals dense ``eigh``. Saddle-free
    Newton (a batched eigh every step) hung on 2 devices of a 2-core machine before
    ``use_cpu_cores`` widened XLA's thread pool (``NPROC``; with more cores than devices
    a pool thread stays free anyway); its 400 runs from near strict_saddle's saddle must
    end at the catalogued minimum on their start's side of the first coordinate."""
    code = (
        "import os, sys, jax, optax, numpy as np, saddle\n"
        "n = saddle.use_cpu_cores(int(sys.argv[1]))\n"
        "obj = saddle.objectives.get('himmelblau')\n"
        "x0 = saddle.starts.uniform(jax.random.PRNGKey(0), 37, obj)\n"
        "r = saddle.descend(obj, x0, optax.adam(0.05), 100, grad_noise=0.1, chunk_size=10)\n"
        "g = saddle.descend(obj, x0[:9], saddle.optimizers.grid('gd', lr=[0.01, 0.03]), 50,\n"
        "                   chunk_size=6)\n"
        "print(n, jax.device_count(), saddle.use_cpu_cores(3),\n"
        "      saddle.descent._compiler_options() is None, os.environ.get('NPROC'))\n"
        "print(repr(r.x.tolist() + g.x.reshape(-1, 2).tolist()))\n"
        "from benchmarks import mlp\n"
        "X, y = mlp.digits()\n"
        "P = jax.sharding.PartitionSpec\n"
        "mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ('data',))\n"
        "data = jax.device_put((X[:600], y[:600]), jax.sharding.NamedSharding(mesh, P('data')))\n"
        "sizes = (64, 8, 10)\n"
        "loss, x = mlp.mlp(sizes).loss, mlp.mlp_starts(jax.random.PRNGKey(2), 1, sizes)[0]\n"
        "lam = saddle.curvature.sharpness(loss, x, 40, jax.random.PRNGKey(3), args=(data,))\n"
        "top = np.linalg.eigvalsh(np.asarray(jax.hessian(loss)(x, (X[:600], y[:600]))))[-1]\n"
        "print(len(data[0].sharding.device_set), float(lam), float(top))\n"
        "if n == 2:\n"
        "    from saddle.newton import saddle_free_newton\n"
        "    obj = saddle.objectives.get('strict_saddle', dim=10)\n"
        "    x0 = 0.01 * np.asarray(jax.random.normal(jax.random.PRNGKey(1), (400, 10)))\n"
        "    s = saddle.descend(obj, x0, saddle_free_newton(0.5), 300, progress=False)\n"
        "    np.savez(sys.argv[2] + '_sfn.npz', x0=x0, x=s.x)\n"
    )
    outs = []
    curvature = []
    for stdout in _run_on_1_and_2_devices(tmp_path, code):
        counts, xs, curv = stdout.strip().splitlines()
        outs.append((counts.split(), np.array(eval(xs))))
        curvature.append([float(v) for v in curv.split()])
    cores = saddle.descent._usable_cores()  # the pool: one thread per core and per device
    assert outs[0][0] == ["2", "2", "2", "False", str(cores + 2)]
    assert outs[1][0] == ["1", "1", "1", "False", str(cores + 1)]
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    # λ_max of a digits MLP (d = 610) with its data split over the devices (jit
    # partitions the loss's mean: data-parallel curvature) equals dense eigh's
    (shards2, lam2, top2), (shards1, lam1, top1) = curvature
    assert (shards2, shards1) == (2, 1)
    np.testing.assert_allclose([lam2, lam1], [top2, top1], rtol=1e-4)
    sfn = np.load(tmp_path / "2_sfn.npz")
    minima = np.array([p.x for p in saddle.objectives.get("strict_saddle", dim=10).known
                       if p.kind == "minimum"])  # two, on either side of x₁ = 0
    want = minima[(np.sign(sfn["x0"][:, :1]) == np.sign(minima[:, 0])).argmax(1)]
    np.testing.assert_allclose(sfn["x"], want, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_sharded_mlps_equal_single_device_to_rounding(tmp_path):
    """128 digits MLPs × 80 SGD steps on 600 examples, 2 CPU devices against 1, agree to
    rounding (sharding halves each device's dot shapes, and a dot's rounding may depend on
    its shape). With the XLA:CPU option descend had before (``ynn_fusion_type=""``) the
    first 3 networks of each device's shard came out 0.04-0.1 apart in θ (BUILD_NOTES)."""
    code = (
        "import sys, jax, optax, numpy as np, saddle\n"
        "saddle.use_cpu_cores(int(sys.argv[1]))\n"
        "from benchmarks import mlp\n"
        "X, y = mlp.digits()\n"
        "m = saddle.descend(mlp.mlp().loss, mlp.mlp_starts(jax.random.PRNGKey(0), 128),\n"
        "                   optax.sgd(0.5), 80, data=(X[:600], y[:600]), progress=False)\n"
        "np.save(sys.argv[2], m.x)\n"
    )
    _run_on_1_and_2_devices(tmp_path, code)
    np.testing.assert_allclose(np.load(tmp_path / "2.npy"), np.load(tmp_path / "1.npy"),
                               rtol=0, atol=1e-5)


def test_use_cpu_cores_keeps_a_count_forced_in_xla_flags():
    import subprocess
    import sys

    from saddle.descent import _usable_cores

    forced = str(_usable_cores() + 1)  # not what one device per core would give
    code = ("import os, saddle; print(saddle.use_cpu_cores(), saddle.use_cpu_cores(1), "
            "os.environ['NPROC'])")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={"PATH": "", **env})
             for env in ({"XLA_FLAGS": f"--xla_force_host_platform_device_count={forced}"},
                         {"JAX_NUM_CPU_DEVICES": forced})]
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr[-3000:]
        # the second call: JAX has started; XLA's pool: a thread per core and per device
        assert stdout.split() == [forced, forced, str(_usable_cores() + int(forced))]


def test_use_cpu_cores_rejects_a_bad_count():
    with pytest.raises(ValueError, match=r"^n must"):
        saddle.use_cpu_cores(0)


def test_per_start_keys_make_a_subset_rerun_identical():
    obj = saddle.objectives.get("himmelblau")
    x0 = saddle.starts.uniform(jax.random.PRNGKey(0), 12, obj)
    keys = jax.random.split(jax.random.PRNGKey(5), 12)
    full = saddle.descend(obj, x0, optax.sgd(0.01), 50, key=keys, grad_noise=1.0)
    sub = saddle.descend(obj, x0[3:7], optax.sgd(0.01), 50, key=keys[3:7], grad_noise=1.0)
    np.testing.assert_array_equal(sub.x, full.x[3:7])
    with pytest.raises(ValueError, match=r"one per start \(12\)"):
        saddle.descend(obj, x0, optax.sgd(0.01), 5, key=keys[:4])


def test_converged_step_ignores_gradient_noise():
    """Noise is added to the update, not to the gradient norm convergence is judged on:
    GD on ‖x‖² with tiny noise converges at the noiseless step (±1)."""
    f = lambda x: jnp.sum(x**2)  # noqa: E731
    clean = saddle.descend(f, [[1.0, 1.0]], optax.sgd(0.1), 300)
    noisy = saddle.descend(f, [[1.0, 1.0]], optax.sgd(0.1), 300, grad_noise=1e-5)
    assert clean.converged[0] and noisy.converged[0]
    assert abs(int(noisy.converged_step[0]) - int(clean.converged_step[0])) <= 1


def test_a_diverged_run_reports_its_last_finite_point_exactly():
    """GD with η = 1.5 on ‖x‖² gives x_t = (−2)^t x0 and f_t = 5·4^t: above the bound
    1e8·(1 + 5) from t = 14, so the run reports x_13 and f_13, chunked or not."""
    x0 = np.array([[0.0, 0.0], [1.0, -2.0], [0.5, 0.5], [1.0, -2.0]], np.float32)
    for chunk in (None, 3):
        run = saddle.descend(lambda x: jnp.sum(x**2), x0, optax.sgd(1.5), 100, chunk_size=chunk)
        assert run.diverged.tolist() == [False, True, True, True]
        assert run.diverged_step[1] == 14 and run.diverged_step[3] == 14
        np.testing.assert_allclose(run.x[1], (-2.0) ** 13 * x0[1], rtol=1e-6)
        np.testing.assert_allclose(run.loss[1], 5 * 4.0**13, rtol=1e-6)
        np.testing.assert_array_equal(run.x[0], [0.0, 0.0])
