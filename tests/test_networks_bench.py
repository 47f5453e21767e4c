"""The networks benchmark: the same training in JAX and PyTorch, its FLOP count, the exact
Hutch++ error it matches on, PyHessian on the same network, and the harness on a tiny MLP.

No timing is asserted (it depends on the machine and its load). torch and PyHessian are
optional: their tests skip where they are missing.
"""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import saddle
from benchmarks import curvature, mlp, train_many
from benchmarks import networks as nb
from saddle import experiment

SIZES = (64, 3, 10)  # d = 235: a dense Hessian costs nothing
# one network, so that the training and the curvature point share descend's program
TINY = nb.Config(sizes=SIZES, networks=1, steps=5, loop_networks=1, matmul_n=64, repeats=1,
                 point_steps=5, seeds=1, lanczos_max=10, power_max=20, curv_repeats=1,
                 eig_rtol=1e-2, trace_rel_stderr=0.3, inner=1, hvp_batch=2)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """torch with one thread: its thread pool crawls on a loaded 2-core machine."""
    try:
        import torch
    except ImportError:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def digits():
    X, y = mlp.digits()
    return X, y, (jnp.asarray(X), jnp.asarray(y))


def _flops(fn, *args) -> float:
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    return float((cost[0] if isinstance(cost, list) else cost)["flops"])


def test_step_flops_match_xla_cost_analysis(digits):
    # XLA counts every matmul (2mnk) plus the elementwise work our count leaves out
    X, _, data = digits
    model = mlp.mlp(mlp.SIZES)
    x = mlp.mlp_starts(jax.random.PRNGKey(0), 1)[0]
    f = train_many.step_flops(mlp.SIZES, X.shape[0])
    fwd, total = _flops(model.loss, x, data), _flops(jax.grad(model.loss), x, data)
    assert f["forward"] <= fwd <= 1.05 * f["forward"]
    assert f["total"] <= total <= 1.05 * f["total"]
    assert f["forward"] == 2 * 1797 * (64 * 32 + 32 * 10)


def test_the_library_loss_equals_the_textbook_mlp(digits):
    """``mlp.loss`` passes x (PyTorch's order) to ``saddle.objectives.nn`` as the flax θ;
    it must equal softmax cross-entropy of the textbook ``h @ W + b`` pass (``mlp.apply``)."""
    *_, data = digits
    model = mlp.mlp(SIZES)
    x = mlp.mlp_starts(jax.random.PRNGKey(4), 3, SIZES)
    expect = [optax.softmax_cross_entropy_with_integer_labels(
        mlp.apply(model.unravel(xi), data[0]), data[1]).mean() for xi in x]
    np.testing.assert_allclose(jax.vmap(model.loss, in_axes=(0, None))(x, data), expect,
                               rtol=1e-6)


def test_hutchpp_stderr_is_the_exact_conditional_error():
    rng = np.random.default_rng(0)
    d, matvecs = 40, 12
    A = rng.normal(size=(d, d))
    H = A @ np.diag(np.linspace(0.1, 5, d) ** 3) @ A.T / d  # decaying spectrum
    se = curvature.hutchpp_stderr(H, matvecs, np.random.default_rng(7))
    # the same sketch, deflated by explicit projectors
    s, m = matvecs // 3, matvecs - 2 * (matvecs // 3)
    S = np.random.default_rng(7).choice([-1.0, 1.0], size=(d, s))
    Q = np.linalg.qr(H @ S)[0]
    P = np.eye(d) - Q @ Q.T
    B = P @ H @ P
    assert se == pytest.approx(math.sqrt(2 * (np.sum(B * B) - np.sum(np.diag(B) ** 2)) / m),
                               rel=1e-9)
    # Monte Carlo: the spread of the mean of m Rademacher samples zᵀBz
    z = rng.choice([-1.0, 1.0], size=(20_000, m, d))
    means = np.einsum("rmi,ij,rmj->rm", z, B, z).mean(1)
    assert np.std(means) == pytest.approx(se, rel=0.04)


def test_same_training_in_torch(digits):
    pytest.importorskip("torch")
    from benchmarks import torch_mlp

    X, y, data = digits
    model = mlp.mlp(SIZES)
    x0 = mlp.mlp_starts(jax.random.PRNGKey(3), 2, SIZES)
    x0_np = np.asarray(x0)
    losses = jax.vmap(model.loss, in_axes=(0, None))
    # the conversion: torch's loss at the JAX starts is the JAX loss
    np.testing.assert_allclose(torch_mlp.losses(x0_np, X, y, SIZES), losses(x0, data),
                               rtol=1e-6)
    np.testing.assert_array_equal(torch_mlp.flat(torch_mlp.module(x0_np[0], SIZES)), x0_np[0])
    run = saddle.descend(model.loss, x0, optax.sgd(0.5), 5, data=data)
    x_func = torch_mlp.train_func(x0_np, X, y, SIZES, 0.5, 5)
    x_loop = torch_mlp.train_loop(x0_np, X, y, SIZES, 0.5, 5)
    assert run.loss.max() < losses(x0, data).min() - 0.05  # it trained
    for x in (x_func, x_loop):
        np.testing.assert_allclose(x, run.x, atol=1e-5)
        np.testing.assert_allclose(losses(jnp.asarray(x), data), run.loss, atol=1e-6)


def test_pyhessian_on_the_same_network(digits):
    pytest.importorskip("pyhessian")
    _, _, data = digits
    model = mlp.mlp(SIZES)
    x = np.asarray(saddle.descend(model.loss, mlp.mlp_starts(jax.random.PRNGKey(1), 1, SIZES),
                                  optax.sgd(0.5), 20, data=data).x[0])
    H = curvature.exact_hessian(model.loss, x)
    ev = np.linalg.eigvalsh(H)
    lam, tr = ev[-1], np.trace(H)
    ph = curvature.PyHessian(x, SIZES)
    err = ph.power_errors(0, 60, lam)
    assert err.shape == (60,) and err[-1] < 1e-4  # torch's Hessian is the JAX Hessian's
    assert abs(ph.eig(0, 60, 0.0) - lam) / lam == pytest.approx(err[-1], abs=1e-6)
    # its Hutchinson trace is unbiased: within 4 exact standard errors
    sd = math.sqrt(2 * (np.sum(H * H) - np.sum(np.diag(H) ** 2)) / 100)
    assert abs(ph.trace(0, 100) - tr) < 4 * sd
    lz = curvature.lanczos_errors(model.loss, jnp.asarray(x), data, jax.random.PRNGKey(2), 40,
                                  lam)
    assert lz[-1] < 1e-5 and curvature.first_below(lz, 1e-3) <= 40


@pytest.mark.slow  # CI time: a benchmark's end to end (BUILD_NOTES 'Test-suite time')
def test_tiny_end_to_end(tmp_path):
    torch_ok = True
    try:
        import pyhessian  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        torch_ok = False
    res = experiment.run_experiment(TINY, nb.run, nb.plot, nb.summarize, out=tmp_path,
                                    show_progress=False,
                                    figure_formats=("png",), dpi=50)
    s = json.loads((tmp_path / "summary.json").read_text())
    data, t, c = res.data, s["train"], s["curvature"]
    med = {m: float(np.median(data[f"train.{m}.times_s"])) for m in ("descend", "matmul")}
    sps = TINY.networks * TINY.steps / med["descend"]
    assert t["network_steps_per_s"]["descend"] == pytest.approx(sps, rel=1e-9)
    flops = train_many.step_flops(SIZES, 1797)["total"]
    assert t["ratios"]["matmul_fraction"] == pytest.approx(
        sps * flops / (2 * 64**3 / med["matmul"]), rel=1e-9)
    assert t["loss_end_mean_descend_all"] < t["loss_start_mean"]
    # the curvature point's exact answers and the accuracy the timed calls reached
    assert c["exact"]["lam_max"] == pytest.approx(max(c["exact"]["top_eigenvalues"]))
    assert c["eigenvalue"]["rel_error_of_timed_call"]["saddle"] <= TINY.eig_rtol
    target = TINY.trace_rel_stderr * abs(c["exact"]["trace"])
    assert c["trace"]["hutchinson_probes"] == math.ceil(
        c["trace"]["hutchinson_sample_sd_exact"] ** 2 / target**2)
    assert c["hvp_cost"]["hvp_over_grad"] > 0
    if torch_ok:
        assert t["agreement"]["agree"] and set(t["ratios"]) == {
            "torch_func", "torch_loop", "matmul_fraction"}
        assert c["eigenvalue"]["rel_error_of_timed_call"]["pyhessian"] <= TINY.eig_rtol
        assert set(s["targets_met"]) == {"train_torch_func", "train_torch_loop",
                                         "train_matmul_fraction", "curvature_eigenvalue",
                                         "curvature_trace"}
        assert s["same_answers"]
    else:
        assert "torch_func_skipped" in t and "pyhessian_skipped" in c["eigenvalue"]
        assert s["targets_met"]["train_torch_func"] is None
    assert {p.name for p in res.figures} == {"networks.png"}


def test_without_torch_the_baselines_are_skipped(tmp_path):
    cfg = nb.Config(**{**TINY.__dict__, "studies": ("train",), "use_torch": False})
    s = experiment.run_experiment(cfg, nb.run, None, nb.summarize, out=tmp_path,
                                  show_progress=False).summary
    assert s["train"]["torch_func_skipped"] == "torch disabled (--no-use-torch)"
    assert set(s["train"]["ratios"]) == {"matmul_fraction"}
    assert "curvature" not in s


@pytest.mark.parametrize("change", [{"loop_networks": 2}, {"sizes": (32, 10)},
                                    {"studies": ("train", "nope")}, {"steps": 0}])
def test_bad_config(change):
    with pytest.raises(ValueError):
        nb.Config(**{**TINY.__dict__, **change})


def test_lanczos_cores_methods_compute_the_same_ritz_value(digits):
    """The half-data operators summed, and the data-parallel ``psum`` (one device here),
    give the Ritz value of the full-data operator; a split that dropped the 1/2 (or the
    mean over shards) would double the curvature."""
    from benchmarks import lanczos_cores

    X, y, _ = digits
    key = jax.random.PRNGKey(3)
    x = mlp.mlp_starts(key, 1, mlp.SIZES)[0]
    calls = lanczos_cores.methods(mlp.mlp(mlp.SIZES).loss, x, jnp.asarray(X[:300]),
                                  jnp.asarray(y[:300]), key)
    lam = {m: float(f()) for m, f in calls.items()}
    assert lam["one_device"] > 0
    # the baseline is the library's own call, same start and steps
    np.testing.assert_allclose(lam["one_device"], float(saddle.curvature.sharpness(
        mlp.mlp(mlp.SIZES).loss, x, lanczos_cores.PRODUCTS, key,
        args=((jnp.asarray(X[:300]), jnp.asarray(y[:300])),))), rtol=1e-6)
    for m in ("halves", "two_devices"):
        np.testing.assert_allclose(lam[m], lam["one_device"], rtol=1e-4)
