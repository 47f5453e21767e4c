"""The throughput benchmark: every baseline does descend's work, and the experiment runs.

No timing is asserted (the numbers depend on the machine and its load): what is tested
is that the comparison is fair (the loop, vmap(scan), NumPy and torch baselines end at
descend's final points), that cos2pi is accurate, and that the experiment contract holds.
"""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import experiments.throughput as tp
import saddle
from saddle import experiment

TINY = tp.Config(
    rastrigin_dim=3, n_starts=100, steps=10, loop_starts=3, scipy_starts=3, baseline_steps=5,
    repeats=1, n_max=200, chunk_size=150, scale_steps=10, scale_dims=(3,),
    scale_d_starts=100, cos_elements=1024, flag_rounds=0, use_torch=False,
)
RATIO_KEYS = {"vmap_scan", "loop", "numpy_f32", "numpy_f64", "torch", "scipy_jax_per_start",
              "scipy_jax_per_eval", "scipy_numpy_per_start", "scipy_numpy_per_eval",
              "scipy_per_start", "scipy_per_eval"}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    pytest.importorskip("scipy")
    return experiment.run_experiment(TINY, tp.run, tp.plot, tp.summarize,
                                     out=tmp_path_factory.mktemp("throughput"),
                                     show_progress=False)


def test_tiny_config_end_to_end(result):
    s = json.loads((result.out / "summary.json").read_text())
    assert set(s["workloads"]) == {"himmelblau", "rastrigin"}
    for name, w in s["workloads"].items():
        extra = {"cos2pi_speedup"} if name == "rastrigin" else set()
        assert set(w["ratios"]) == RATIO_KEYS | extra
        assert set(w["targets"]) == {"loop", "scipy", "numpy", "torch"}
        assert w["methods"]["torch"] == {"skipped": "torch disabled (--no-use-torch)"}
        assert w["ratios"]["torch"] is None and w["targets"]["torch"]["met"] is None
        for key in RATIO_KEYS - {"torch"}:
            assert w["ratios"][key] > 0, (name, key)
        for base in ("loop", "scipy", "numpy"):
            t = w["targets"][base]
            assert t["target"] == tp.TARGETS[name][base] and t["met"] == (t["ratio"] >= t["target"])
        assert w["methods"]["descend"]["extrapolated"] is False
        assert "scaled" in w["methods"]["numpy_f32"]["extrapolated"]
        assert w["methods"]["descend"]["compile_s"] >= 0
        # the loop and vmap(scan) baselines reach descend's final points
        assert w["max_abs_diff_final_x_vs_descend"]["loop"] < 1e-5
        assert w["max_abs_diff_final_x_vs_descend"]["vmap_scan"] < 1e-5
    assert s["targets_met"]["himmelblau"].keys() == {"loop", "scipy", "numpy", "torch"}
    scale = s["scaling"]["n"]["himmelblau"]
    assert [p["n"] for p in scale["points"]] == [100, 200]
    assert scale["points"][1]["chunk_size"] == 150  # n = 200 ran as 2 chunks of 150
    assert scale["chunked_max_abs_diff_vs_unchunked"] == 0.0
    assert set(s["scaling"]["d"]) == {"3"}
    cos = s["cos_gap"]
    assert set(cos["ns_per_element"]) == set(tp.COS_VARIANTS)
    assert cos["max_abs_error_vs_numpy_f64"]["x_in_[-5.12,5.12]"]["poly_f32_cos"] < 3e-7
    assert s["versions"]["jax"] == jax.__version__ and s["device"].startswith("cpu")
    names = {p.name for p in result.figures}
    assert {"throughput_ratios.png", "throughput_scaling.png", "throughput_cos.png"} <= names


def test_rerun_reuses_results(result):
    again = experiment.run_experiment(TINY, tp.run, None, tp.summarize, out=result.out,
                                      show_progress=False)
    assert again.reused and again.summary["workloads"]["himmelblau"]["ratios"] == (
        result.summary["workloads"]["himmelblau"]["ratios"])


@pytest.mark.parametrize("name", ["himmelblau", "rastrigin"])
def test_baselines_reproduce_descend(name):
    wl = tp.workload(name, rastrigin_dim=3)
    x0 = tp.starts(jax.random.PRNGKey(3), 6, wl)
    steps, lr = 200, 1e-2
    ref = saddle.descend(wl.fn, x0, tp.adam(lr), steps)
    assert not ref.diverged.any()
    one = jax.jit(tp.adam_scan_one(wl.fn, tp.adam(lr), steps))
    loop = np.stack([np.asarray(one(x)) for x in x0])
    bare = np.asarray(jax.jit(jax.vmap(tp.adam_scan_one(wl.fn, tp.adam(lr), steps)))(x0))
    np.testing.assert_allclose(loop, ref.x, atol=1e-6)
    np.testing.assert_allclose(bare, ref.x, atol=1e-6)
    for dtype in (np.float32, np.float64):
        x_np = tp.numpy_adam(wl.grad_np, x0, steps, lr, dtype)
        assert x_np.dtype == dtype
        np.testing.assert_allclose(x_np, ref.x, atol=1e-4, err_msg=str(dtype))


@pytest.mark.parametrize("name", ["himmelblau", "rastrigin"])
def test_torch_reproduces_descend(name):
    pytest.importorskip("torch")
    wl = tp.workload(name, rastrigin_dim=3)
    x0 = tp.starts(jax.random.PRNGKey(4), 6, wl)
    ref = saddle.descend(wl.fn, x0, tp.adam(1e-2), 200)
    np.testing.assert_allclose(tp.torch_adam(wl.torch_loss, x0, 200, 1e-2), ref.x, atol=1e-4)


@pytest.mark.parametrize("name", ["himmelblau", "rastrigin"])
def test_numpy_gradients_match_jax(name, x64):
    wl = tp.workload(name, rastrigin_dim=4)
    x = np.random.default_rng(0).uniform(-5, 5, (7, wl.dim))
    g = np.empty_like(x)
    wl.grad_np(x, g, np.empty_like(x))
    expected = np.asarray(jax.vmap(jax.grad(wl.fn))(jnp.asarray(x)))
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-10)
    for row, gr in zip(x, expected, strict=True):
        value, grad = wl.value_grad_np(row)
        assert value == pytest.approx(float(wl.fn(jnp.asarray(row))), rel=1e-12)
        np.testing.assert_allclose(grad, gr, rtol=1e-12, atol=1e-10)


def test_cos2pi_accuracy_and_derivative():
    x = np.linspace(-50, 50, 400_001).astype(np.float32)
    s, c = (np.asarray(a, np.float64) for a in jax.jit(tp.sincos2pi)(jnp.asarray(x)))
    c_true, s_true = tp._cos_sin_2pi_f64(x.astype(np.float64))
    assert np.abs(c - c_true).max() < 3e-7 and np.abs(s - s_true).max() < 3e-7
    # exact at the quarter points, where the reduction is exact
    q = jnp.asarray([0.0, 0.25, 0.5, 0.75, -1.25, 7.0], jnp.float32)
    s, c = tp.sincos2pi(q)
    np.testing.assert_allclose(np.asarray(c), [1, 0, -1, 0, 0, 1], atol=1e-7)
    np.testing.assert_allclose(np.asarray(s), [0, 1, 0, -1, -1, 0], atol=1e-7)
    dx = jax.vmap(jax.grad(tp.cos2pi))(jnp.asarray(x[::1000]))
    np.testing.assert_allclose(np.asarray(dx), -2 * np.pi * s_true[::1000], atol=3e-6)
    pts = jnp.asarray(np.random.default_rng(1).uniform(-5.12, 5.12, (20, 10)), jnp.float32)
    np.testing.assert_allclose(jax.vmap(tp.rastrigin_fn)(pts),
                               jax.vmap(tp.rastrigin_jnp_cos_fn)(pts), rtol=1e-5)


def test_cos2pi_float64(x64):
    x = np.linspace(-1000, 1000, 100_001)
    s, c = (np.asarray(a) for a in tp.sincos2pi(jnp.asarray(x)))
    c_true, s_true = tp._cos_sin_2pi_f64(x)
    assert c.dtype == np.float64
    assert np.abs(c - c_true).max() < 1e-14 and np.abs(s - s_true).max() < 1e-14


def test_scale_ns():
    assert tp.scale_ns(tp.Config()) == [100, 1000, 10_000, 100_000]
    assert tp.scale_ns(tp.Config(n_max=1_000_000)) == [100, 1000, 10_000, 100_000, 1_000_000]
    assert tp.scale_ns(tp.Config(n_max=250)) == [100, 250]


@pytest.mark.parametrize(
    "kwargs, field",
    [
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
    ],
)
def test_bad_config(kwargs, field):
    with pytest.raises(ValueError, match=field):
        tp.Config(**kwargs)
