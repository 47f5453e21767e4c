"""Batch and weight normalisation in saddle.objectives.nn, the effective-smoothness monitor
(saddle.smoothness) and the normalization experiment, against numpy forward passes, a
quadratic's exact GD path and a dense Hessian."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import experiments.normalization as nrm
import saddle
from saddle import experiment, smoothness
from saddle.objectives import nn as snn


def data(n=12, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, k, n)


def perturbed(net, seed=0):
    theta = net.init(jax.random.PRNGKey(seed))
    return theta + 0.3 * jax.random.normal(jax.random.PRNGKey(seed + 1), theta.shape)


def numpy_bn_forward(p, x, ref, depth):
    """tanh MLP with training-mode batch norm, statistics from ``ref``, in float64."""
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    for i in range(depth):
        w = np.asarray(p[f"dense_{i}"]["kernel"], np.float64)
        h, hr = x @ w, ref @ w
        mu, var = hr.mean(0), hr.var(0)
        scale, shift = (np.asarray(p[f"bn_{s}_{i}"], np.float64) for s in ("scale", "shift"))
        x = np.tanh(scale * (h - mu) / np.sqrt(var + 1e-5) + shift)
        ref = np.tanh(scale * (hr - mu) / np.sqrt(var + 1e-5) + shift)
    out = p[f"dense_{depth}"]
    return x @ np.asarray(out["kernel"], np.float64) + np.asarray(out["bias"], np.float64)


def test_batch_norm_loss_equals_numpy_with_batch_mean_and_variance():
    x, y = data()
    net = snn.mlp(5, (6, 4, 3), "tanh", norm="batch")
    theta = perturbed(net)
    p = jax.tree.map(np.asarray, net.unravel(theta))
    logits = numpy_bn_forward(p, x, x, 2)
    lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    expect = np.mean(lse - logits[np.arange(len(y)), y])
    assert float(snn.loss_fn(net, "cross_entropy")(theta, (x, y))) == pytest.approx(expect,
                                                                                     rel=1e-5)
    x_ref, _ = data(n=40, seed=1)  # statistics of another batch (a training set)
    np.testing.assert_allclose(snn.apply_with_statistics(net, theta, x[:3], x_ref),
                               numpy_bn_forward(p, x[:3], x_ref, 2), rtol=1e-4, atol=1e-5)


def test_batch_norm_loss_depends_on_the_whole_batch_plain_loss_does_not():
    """Change example 7 of the batch: under batch norm example 0's output changes; a plain
    MLP's does not, and its batch loss moves by exactly (ℓ(x₇') − ℓ(x₇))/n."""
    x, y = data()
    x2 = x.copy()
    x2[7] += 2.0
    bn = snn.mlp(5, (6, 4, 3), "tanh", norm="batch")
    plain = snn.mlp(5, (6, 4, 3), "tanh")
    tb, tp = perturbed(bn), perturbed(plain)
    assert not np.allclose(bn.apply(tb, x)[0], bn.apply(tb, x2)[0], atol=1e-4)
    np.testing.assert_array_equal(plain.apply(tp, x)[:7], plain.apply(tp, x2)[:7])
    fn = snn.loss_fn(plain, "cross_entropy")
    one = [float(fn(tp, (z[7:8], y[7:8]))) for z in (x, x2)]
    assert float(fn(tp, (x2, y)) - fn(tp, (x, y))) == pytest.approx((one[1] - one[0]) / 12,
                                                                    rel=1e-4)


def test_weight_norm_equals_the_plain_mlp_at_w_equal_g_v_over_norm_v():
    x, _ = data()
    wn = snn.mlp(5, (6, 3), "relu", norm="weight")
    plain = snn.mlp(5, (6, 3), "relu")
    theta0 = wn.init(jax.random.PRNGKey(0))
    p0 = wn.unravel(theta0)
    np.testing.assert_allclose(p0["dense_0"]["g"], np.linalg.norm(p0["dense_0"]["v"], axis=0),
                               rtol=1e-6)  # g = ‖v‖ at init
    theta = perturbed(wn)
    p = jax.tree.map(np.asarray, wn.unravel(theta))
    w = {k: {"kernel": v["g"] * v["v"] / np.linalg.norm(v["v"], axis=0), "bias": v["bias"]}
         for k, v in p.items()}
    flat = jax.flatten_util.ravel_pytree(w)[0]
    np.testing.assert_allclose(wn.apply(theta, x), plain.apply(flat, x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="norm"):
        snn.mlp(5, (6, 3), norm="layer")


def test_gradient_change_on_a_quadratic_is_norm_of_a_d_over_norm_d():
    a = np.diag([1.0, 4.0, 9.0]) + 0.5
    f = lambda x: 0.5 * x @ jnp.asarray(a, jnp.float32) @ x  # noqa: E731
    x0 = np.array([[1.0, -1.0, 0.5]], np.float32)
    run = saddle.descend(f, x0, optax.sgd(0.05), 6, record_every=1,
                         monitors=[smoothness.gradient_change()])
    xs = [x0[0].astype(np.float64)]
    for _ in range(6):
        xs.append(xs[-1] - 0.05 * a @ xs[-1])
    d = np.diff(np.array(xs), axis=0)
    expect = np.linalg.norm(d @ a, axis=1) / np.linalg.norm(d, axis=1)
    got = run.records["grad_change"][0]
    assert np.isnan(got[0])
    np.testing.assert_allclose(got[1:], expect, rtol=1e-4)
    assert float(run.outputs["grad_change_max"][0]) == pytest.approx(expect.max(), rel=1e-4)


TINY = nrm.Config(norms=("none", "batch"), widths=(6, 6), n_train=32, steps=20, seeds=2,
                  record_every=10, sharpness_every=10, lanczos_iters=20, probe=16)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return experiment.run_experiment(TINY, nrm.run, nrm.plot, nrm.summarize,
                                     out=tmp_path_factory.mktemp("nrm"), show_progress=False,
                                     figure_formats=("png",), dpi=50)


@pytest.mark.slow  # ~60 CPU-s, mostly compiling the sharpness monitor (BUILD_NOTES)
def test_experiment_sharpness_equals_dense_hessian_and_batch_gap(result):
    d = experiment.part(result.data, "batch")
    digits = saddle.data.digits()
    net = nrm.build(TINY, "batch")
    obj = snn.objective(net, (digits.x_train[:32], digits.y_train[:32]), loss="cross_entropy")
    theta = d["theta"][0]
    assert float(obj(theta)) == pytest.approx(d["final_loss"][0], rel=1e-5)
    top = np.linalg.eigvalsh(np.asarray(jax.hessian(obj)(theta), np.float64))[-1]
    assert d["sharpness"][0, -1] == pytest.approx(top, rel=0.02)
    none = experiment.part(result.data, "none")
    assert np.all(np.abs(none["batch_gap"]) < 1e-5) and np.all(np.abs(d["batch_gap"]) > 1e-4)
    assert result.summary["verdict"] in ("confirmed", "refuted", "depends")
    assert (result.out / "normalization.png").exists()
