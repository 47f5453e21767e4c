"""The throughput benchmark: every comparison does the same work, and the harness holds.

No timing is asserted (the numbers depend on the machine and its load). Tested: every
baseline ends where descend ends (independent implementations of the same Adam updates
agree), the NumPy Adam is optax.adam step by step, the frozen engine and the bare MLP
program reach descend's final points, the summary's ratios follow from the recorded
times, the MLP loss is the cross-entropy scikit-learn computes, and the config contract.
"""

import itertools
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import benchmarks.throughput as tp
import saddle
from benchmarks import baselines, cos_study, engine, legacy_descend, mlp, ratios, scaling
from benchmarks.timing import round_robin
from benchmarks.workloads import rastrigin_jnp_cos_fn, starts, workload
from saddle import experiment
from saddle.objectives.classic import rastrigin_fn

# The scaling points (n = 100, and 150 in two chunks of 100, the second padded) and the
# d-point take descend's shape and steps from the ratios study: one compiled program each.
TINY = tp.Config(
    rastrigin_dim=3, n_starts=100, steps=20, loop_starts=3, scipy_starts=3, baseline_steps=20,
    repeats=1, n_max=150, chunk_size=100, scale_steps=20, scale_dims=(3,),
    scale_d_starts=100, cos_elements=1024, flag_rounds=0, use_torch=False, engine_repeats=1,
    mlp_sizes=(64, 4, 10), mlp_networks=2, mlp_steps=10, mlp_lr=1e-2, mlp_repeats=1,
)
RATIO_KEYS = {"vmap_scan", "loop", "numpy_f32", "numpy_f64", "torch", "scipy_jax_per_start",
              "scipy_jax_per_eval", "scipy_numpy_per_start", "scipy_numpy_per_eval",
              "scipy_per_start", "scipy_per_eval"}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return experiment.run_experiment(TINY, tp.run, tp.plot, tp.summarize,
                                     out=tmp_path_factory.mktemp("throughput"),
                                     show_progress=False,
                                     figure_formats=("png",), dpi=50)


@pytest.mark.slow  # CI time: see BUILD_NOTES 'Test-suite time'
def test_tiny_config_end_to_end(result):
    s = json.loads((result.out / "summary.json").read_text())
    data, n, steps = result.data, TINY.n_starts, TINY.steps
    assert set(s["workloads"]) == {"himmelblau", "rastrigin"}
    for name, w in s["workloads"].items():
        extra = {"cos2pi_speedup"} if name == "rastrigin" else set()
        assert set(w["ratios"]) == RATIO_KEYS | extra
        assert w["methods"]["torch"] == {"skipped": "torch disabled (--no-use-torch)"}
        # the ratios follow from the recorded times (loop: 3 starts, scaled to n)
        best = {m: float(data[f"{name}.{m}.times_s"].min())
                for m in ("descend", "loop", "numpy_f32", "scipy_numpy")}
        descend_sps = n * steps / best["descend"]
        assert w["ratios"]["loop"] == pytest.approx(
            descend_sps / (TINY.loop_starts * steps / best["loop"]), rel=1e-9)
        assert w["ratios"]["numpy_f32"] == pytest.approx(best["numpy_f32"] / best["descend"],
                                                         rel=1e-9)
        assert w["ratios"]["scipy_numpy_per_start"] == pytest.approx(
            (best["scipy_numpy"] / TINY.scipy_starts) / (best["descend"] / n), rel=1e-9)
        # every same-work baseline ends at descend's final points (independent Adams)
        agree = w["max_abs_diff_final_x_vs_descend"]
        assert set(agree) >= {"loop", "vmap_scan", "numpy_f32", "numpy_f64"}
        for m, diff in agree.items():
            assert diff < (1e-4 if m.startswith(("numpy", "descend_jnp")) else 1e-5), (name, m)
        # scipy's L-BFGS-B stops at stationary points (its own criterion, float64)
        wl = workload(name, TINY.rastrigin_dim)
        for m in ("scipy_numpy", "scipy_jax"):
            x = data[f"{name}.{m}.x"].astype(np.float64)
            g = np.empty_like(x)
            wl.grad_np(x, g, np.empty_like(x))
            ok = data[f"{name}.{m}.success"]
            assert ok.any() and np.abs(g[ok]).max() < 1e-3, (name, m)
    scale = s["scaling"]["n"]["himmelblau"]
    assert [p["n"] for p in scale["points"]] == [100, 150]
    assert scale["points"][1]["chunk_size"] == 100  # n = 150 ran as 2 chunks of 100
    assert scale["chunked_max_abs_diff_vs_unchunked"] == 0.0
    assert set(s["scaling"]["d"]) == {"3"}
    cos = s["cos_gap"]
    assert set(cos["ns_per_element"]) == set(cos_study.COS_VARIANTS)
    assert cos["max_abs_error_vs_numpy_f64"]["x_in_[-5.12,5.12]"]["poly_f32_cos"] < 3e-7
    # the engines: same final points; the ratio is the recorded best times' ratio
    eng = s["engine"]
    for name, w in eng["workloads"].items():
        assert w["final_points_agree"] and w["max_abs_diff_x"] <= engine.AGREE_ATOL, name
        assert w["converged_mismatch"] == 0 and w["diverged_mismatch"] == 0
        t_new = data[f"engine.{name}.new.times_s"].min()
        t_old = data[f"engine.{name}.legacy.times_s"].min()
        assert w["ratio_new_over_legacy"] == pytest.approx(t_old / t_new, rel=1e-9)
    m = s["mlp"]
    assert m["d"] == 64 * 4 + 4 + 4 * 10 + 10 and m["networks"] == 2
    assert m["final_points_agree"] and m["max_abs_diff_x_descend_vs_bare"] < 1e-5
    assert m["mean_loss"]["end_descend"] < m["mean_loss"]["start"] - 0.1  # it trained
    assert m["mean_loss"]["end_bare"] == pytest.approx(m["mean_loss"]["end_descend"], abs=1e-5)
    assert set(s["verdict"]) == {
        "engine_within_10pct_of_legacy", "engine_within_10pct_of_legacy_cpu_time",
        "engine_same_final_points", "mlp_descend_within_10pct_of_bare",
        "mlp_descend_within_10pct_of_bare_cpu_time", "mlp_same_final_parameters"}
    assert s["versions"]["jax"] == jax.__version__ and s["device"].startswith("cpu")
    names = {p.name for p in result.figures}
    assert names == {f"throughput_{f}.{e}" for f in ("ratios", "scaling", "cos", "engine")
                     for e in ("png",)}


@pytest.mark.slow  # CI time: see BUILD_NOTES 'Test-suite time'
def test_rerun_reuses_results(result):
    again = experiment.run_experiment(TINY, tp.run, None, tp.summarize, out=result.out,
                                      show_progress=False)
    assert again.reused and again.summary["workloads"]["himmelblau"]["ratios"] == (
        result.summary["workloads"]["himmelblau"]["ratios"])


@pytest.mark.slow  # CI time: see BUILD_NOTES 'Test-suite time'
def test_select_studies(tmp_path):
    cfg = tp.Config(**{**TINY.__dict__, "studies": ("engine",), "workloads": ("himmelblau",)})
    res = experiment.run_experiment(cfg, tp.run, tp.plot, tp.summarize, out=tmp_path,
                                    show_progress=False,
                                    figure_formats=("png",), dpi=50)
    assert {k.split(".")[0] for k in res.data} == {"engine"}
    assert "workloads" not in res.summary and "mlp" not in res.summary
    assert set(res.summary["engine"]["workloads"]) == {"himmelblau"}
    assert {p.name for p in res.figures} == {"throughput_engine.png"}


def test_extrapolation_arithmetic():
    """A baseline measured on 10 of 1000 starts and 10 of 100 steps in 2 s (best of 3 s,
    2 s): 2 s × 100 × 10 = 2000 s for the full workload."""
    cfg = tp.Config(n_starts=1000, steps=100, baseline_steps=10, loop_starts=10)
    data = {"w.loop.times_s": np.array([3.0, 2.0]), "w.loop.starts": np.array(10),
            "w.loop.steps": np.array(10), "w.loop.first_s": np.array(5.0),
            "w.loop.maxrss_growth_mb": np.array(0.0)}
    s = ratios.method_summary(cfg, data, "w", "loop")
    assert s["seconds_full"] == pytest.approx(2000.0)
    assert s["steps_per_s"] == pytest.approx(1000 * 100 / 2000.0)
    assert s["compile_s"] == pytest.approx(3.0)
    assert "10 starts x 10 steps" in s["extrapolated"]


@pytest.mark.parametrize("name", ["himmelblau", "rastrigin"])
def test_baselines_reproduce_descend(name):
    wl = workload(name, rastrigin_dim=3)
    x0 = starts(jax.random.PRNGKey(3), 6, wl)
    steps, lr = 200, 1e-2
    ref = saddle.descend(wl.fn, x0, baselines.adam(lr), steps)
    assert not ref.diverged.any()
    one = jax.jit(baselines.adam_scan_one(wl.fn, baselines.adam(lr), steps))
    loop = np.stack([np.asarray(one(x)) for x in x0])
    bare = np.asarray(jax.jit(jax.vmap(baselines.adam_scan_one(
        wl.fn, baselines.adam(lr), steps)))(x0))
    # The baselines compile Adam's numbers in; descend passes them as data (one program
    # for every learning rate), which XLA rounds differently in float32: ~1e-6 relative.
    np.testing.assert_allclose(loop, ref.x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bare, ref.x, rtol=1e-5, atol=1e-6)
    old = legacy_descend.descend(wl.fn, x0, baselines.adam(lr), steps)
    np.testing.assert_allclose(old.x, ref.x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loop, bare, atol=1e-6)
    for dtype in (np.float32, np.float64):
        x_np = baselines.numpy_adam(wl.grad_np, x0, steps, lr, dtype)
        assert x_np.dtype == dtype
        np.testing.assert_allclose(x_np, ref.x, atol=1e-4, err_msg=str(dtype))


def test_numpy_adam_is_optax_adam_step_by_step(x64):
    """optax.adam with its own defaults, one update at a time, against the fused NumPy
    Adam run for t steps, t = 1..30 (float64)."""
    wl = workload("rastrigin", rastrigin_dim=3)
    x0 = np.random.default_rng(0).uniform(-5.12, 5.12, (5, 3))
    opt, lr = optax.adam(0.05), 0.05
    x = jnp.asarray(x0)
    state = opt.init(x)
    grad = jax.jit(jax.vmap(jax.grad(wl.fn)))
    for t in range(1, 31):
        updates, state = opt.update(grad(x), state, x)
        x = optax.apply_updates(x, updates)
        np.testing.assert_allclose(baselines.numpy_adam(wl.grad_np, x0, t, lr, np.float64),
                                   np.asarray(x), rtol=0, atol=1e-11, err_msg=f"step {t}")


@pytest.mark.parametrize("name", ["himmelblau", "rastrigin"])
def test_torch_reproduces_descend(name):
    pytest.importorskip("torch")
    wl = workload(name, rastrigin_dim=3)
    x0 = starts(jax.random.PRNGKey(4), 6, wl)
    ref = saddle.descend(wl.fn, x0, baselines.adam(1e-2), 200)
    np.testing.assert_allclose(baselines.torch_adam(wl.torch_loss, x0, 200, 1e-2), ref.x,
                               atol=1e-4)


@pytest.mark.parametrize("name", ["himmelblau", "rastrigin"])
def test_numpy_gradients_match_jax(name, x64):
    wl = workload(name, rastrigin_dim=4)
    x = np.random.default_rng(0).uniform(-5, 5, (7, wl.dim))
    g = np.empty_like(x)
    wl.grad_np(x, g, np.empty_like(x))
    expected = np.asarray(jax.jit(jax.vmap(jax.grad(wl.fn)))(x))
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-10)
    for row, gr in zip(x, expected, strict=True):
        value, grad = wl.value_grad_np(row)
        assert value == pytest.approx(float(wl.fn(jnp.asarray(row))), rel=1e-12)
        np.testing.assert_allclose(grad, gr, rtol=1e-12, atol=1e-10)


def test_cos_reference_and_jnp_cos_rastrigin():
    q = np.array([0.0, 0.25, 0.5, 0.75, -1.25, 7.0, 1000.5])
    c, s = cos_study.cos_sin_2pi_f64(q)
    np.testing.assert_allclose(c, [1, 0, -1, 0, 0, 1, -1], atol=1e-15)
    np.testing.assert_allclose(s, [0, 1, 0, -1, -1, 0, 0], atol=1e-15)
    x = np.linspace(-0.5, 0.5, 1001)
    c, s = cos_study.cos_sin_2pi_f64(x)
    np.testing.assert_allclose(c, np.cos(2 * np.pi * x), atol=1e-15)
    pts = jnp.asarray(np.random.default_rng(1).uniform(-5.12, 5.12, (20, 10)), jnp.float32)
    np.testing.assert_allclose(jax.jit(jax.vmap(rastrigin_fn))(pts),
                               jax.jit(jax.vmap(rastrigin_jnp_cos_fn))(pts), rtol=1e-5)


def test_round_robin_alternates_and_counts():
    order = []
    calls = {m: (lambda m=m: order.append(m) or m) for m in ("a", "b", "c")}
    res = round_robin(calls, 3)
    assert order == ["a", "b", "c", "a", "b", "c", "c", "b", "a", "a", "b", "c"]
    assert all(len(res[m]["times_s"]) == len(res[m]["cpu_s"]) == 3 and res[m]["out"] == m
               for m in calls)


def test_scale_ns():
    assert scaling.scale_ns(tp.Config()) == [100, 1000, 10_000, 100_000]
    assert scaling.scale_ns(tp.Config(n_max=1_000_000)) == [100, 1000, 10_000, 100_000,
                                                            1_000_000]
    assert scaling.scale_ns(tp.Config(n_max=250)) == [100, 250]


# ----------------------------------------------------------------------------- the MLP
def test_digits():
    X, y = mlp.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0 and set(np.unique(y)) == set(range(10))


def test_mlp_loss_is_sklearn_log_loss():
    from scipy.special import softmax
    from sklearn.metrics import log_loss

    X, y = mlp.digits()
    rng = np.random.default_rng(0)
    sizes = (64, 8, 5, 10)
    params = [(rng.normal(0, 0.5, (a, b)).astype(np.float32),
               rng.normal(0, 0.5, b).astype(np.float32))
              for a, b in itertools.pairwise(sizes)]
    h = X.astype(np.float64)
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        h = np.tanh(h) if i < len(params) - 1 else h
    expected = log_loss(y, softmax(h, axis=1), labels=range(10))
    model = mlp.mlp(sizes)
    flat, _ = ravel_pytree(params)
    assert model.dim == flat.size == 64 * 8 + 8 + 8 * 5 + 5 + 5 * 10 + 10
    got = float(jax.jit(model.loss)(flat, (jnp.asarray(X), jnp.asarray(y))))
    assert got == pytest.approx(expected, rel=1e-5)


def test_mlp_starts_are_glorot():
    model = mlp.mlp()
    assert model.dim == 64 * 32 + 32 + 32 * 10 + 10 == 2410
    key = jax.random.PRNGKey(5)
    x0 = mlp.mlp_starts(key, 64)
    assert x0.shape == (64, 2410)
    layers = jax.vmap(model.unravel)(x0)  # the flat vector is what the loss unravels
    for (W, b), (W0, b0), (a, c) in zip(layers, mlp.init_params(key, 64),
                                        [(64, 32), (32, 10)], strict=True):
        np.testing.assert_array_equal(W, W0)
        assert W.shape == (64, a, c) and not np.any(b) and not np.any(b0)
        # Glorot & Bengio (2010): Var W = 2 / (fan_in + fan_out); standard error of a
        # sample variance over N draws is below Var·sqrt(2/N) (0.4% / 1%): allow 5 of them
        var, n = 2 / (a + c), W.size
        assert float(jnp.var(W)) == pytest.approx(var, rel=5 * math.sqrt(2 / n))
    assert np.abs(x0[0] - x0[1]).max() > 0.1


@pytest.mark.slow
def test_xla_flag_sets_keep_results(tmp_path):
    """The flag study runs descend in child processes; the flags change speed only."""
    cfg = tp.Config(**{**TINY.__dict__, "studies": ("flags",), "flag_rounds": 1})
    res = experiment.run_experiment(cfg, tp.run, None, tp.summarize, out=tmp_path,
                                    show_progress=False)
    flags = res.summary["cos_gap"]["xla_flags"]
    assert [f["xla_flags"] for f in flags] == list(tp.DEFAULT_FLAG_SETS)
    assert all("error" not in f for f in flags), flags
    for w in cos_study.FLAG_WORKLOADS:
        assert flags[1][f"max_abs_diff_x_{w}_vs_no_flags"] < 1e-5


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"studies": ()}, "studies"),
        ({"studies": ("engine", "speed")}, "studies"),
        ({"studies": ("engine", "engine")}, "studies"),
        ({"workloads": ()}, "workloads"),
        ({"workloads": ("himmelblau", "sphere")}, "workloads"),
        ({"n_starts": 0}, "n_starts"),
        ({"steps": 0}, "steps"),
        ({"lr": 0.0}, "lr"),
        ({"lr": math.inf}, "lr"),
        ({"repeats": 0}, "repeats"),
        ({"loop_starts": 20_000}, "loop_starts"),
        ({"scipy_starts": 0}, "scipy_starts"),
        ({"baseline_steps": 2000}, "baseline_steps"),
        ({"n_max": 10}, "n_max"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"scale_dims": ()}, "scale_dims"),
        ({"scale_dims": (2, 0)}, "scale_dims"),
        ({"rastrigin_dim": 0}, "rastrigin_dim"),
        ({"flag_rounds": -1}, "flag_rounds"),
        ({"cos_elements": 0}, "cos_elements"),
        ({"engine_repeats": 0}, "engine_repeats"),
        ({"mlp_networks": 0}, "mlp_networks"),
        ({"mlp_steps": 0}, "mlp_steps"),
        ({"mlp_repeats": 0}, "mlp_repeats"),
        ({"mlp_lr": -1.0}, "mlp_lr"),
        ({"mlp_sizes": (64, 32, 9)}, "mlp_sizes"),
        ({"mlp_sizes": (64, 0, 10)}, "mlp_sizes"),
        ({"mlp_sizes": (10,)}, "mlp_sizes"),
    ],
)
def test_bad_config(kwargs, field):
    with pytest.raises(ValueError, match=field):
        tp.Config(**kwargs)
