"""The classification losses against numpy, and the loss-choice experiment on a tiny config."""

import jax
import numpy as np
import pytest

import experiments.loss_choice as lc
import saddle
from saddle.objectives import nn


def _linear(k, seed=0):
    net = nn.mlp(3, (k,), "linear")
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=net.dim).astype(np.float32) * 2
    x = rng.normal(size=(7, 3)).astype(np.float32)
    y = rng.integers(0, max(k, 2), size=7).astype(np.int32)
    p = net.unravel(theta)["dense_0"]
    z = x.astype(np.float64) @ np.asarray(p["kernel"], np.float64) + np.asarray(p["bias"])
    return net, theta, x, y, z


@pytest.mark.parametrize("k", [1, 3])
def test_losses_match_numpy(k):
    net, theta, x, y, z = _linear(k)
    t = y[:, None].astype(float) if k == 1 else np.eye(k)[y]
    sig = 1 / (1 + np.exp(-z))
    expected = {
        "mse_sigmoid": 0.5 * np.mean(np.sum((sig - t) ** 2, 1)),
        "sigmoid_cross_entropy": np.mean(np.sum(np.logaddexp(0, z) - t * z, 1)),
    }
    if k > 1:
        soft = np.exp(z - z.max(1, keepdims=True))
        soft /= soft.sum(1, keepdims=True)
        expected["mse_softmax"] = 0.5 * np.mean(np.sum((soft - t) ** 2, 1))
        expected["cross_entropy"] = -np.mean(np.log(soft[np.arange(len(y)), y]))
    for loss, value in expected.items():
        got = float(nn.loss_fn(net, loss)(theta, (x, y)))
        assert got == pytest.approx(value, rel=1e-5), loss


def test_mse_softmax_needs_two_outputs():
    net, _, x, y, _ = _linear(1)
    with pytest.raises(ValueError, match="mse_softmax' needs a net with >= 2 outputs"):
        nn.objective(net, (x, y), loss="mse_softmax")  # fails when traced, before compiling


def test_saturated_gradients_match_the_closed_forms():
    """d/dz of ½(σ(z) − y)² is σ'(z)(σ(z) − y): vanishing at a saturated wrong output
    (z = 8, y = 0), while the logistic loss keeps σ(z) − y ≈ 1."""
    net = nn.mlp(1, (1,), "linear")
    theta = np.array([0.0, 8.0], np.float32)  # (bias, kernel) in flax's order
    tree = net.unravel(theta)
    assert float(tree["dense_0"]["bias"][0]) == 0 and float(tree["dense_0"]["kernel"][0, 0]) == 8
    x, y = np.ones((1, 1), np.float32), np.zeros(1, np.int32)
    s = 1 / (1 + np.exp(-8.0))
    g_mse = jax.grad(nn.loss_fn(net, "mse_sigmoid"))(theta, (x, y))
    g_ce = jax.grad(nn.loss_fn(net, "sigmoid_cross_entropy"))(theta, (x, y))
    assert float(g_mse[0]) == pytest.approx(s * (1 - s) * (s - 0), rel=1e-4)
    assert float(g_ce[0]) == pytest.approx(s - 0, rel=1e-5)
    assert float(g_mse[0]) < 1e-3 < 0.99 < float(g_ce[0])


def test_plateau_steps():
    path = np.array([[4.0, 3.9, 2.5, 1.9, 1.0], [1.0, 1.0, 0.99, 0.98, 0.9],
                     [2.0, 0.5, 3.0, 0.1, 0.1]])
    assert lc.plateau_steps(path, np.arange(5) * 10, 0.5).tolist() == [30, -1, 10]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cfg = lc.Config(tasks=("xor",), losses=("sigmoid_cross_entropy", "mse_sigmoid"), seeds=6,
                    steps=60, record_every=10, init_scales=(1.0, 8.0))
    out = tmp_path_factory.mktemp("lc")
    return cfg, out, saddle.experiment.run_experiment(cfg, lc.run, lc.plot, lc.summarize,
                                                      out=out, show_progress=False,
                                                      figure_formats=("png",), dpi=50)


def test_tiny_run_against_independent_numbers(tiny):
    cfg, out, res = tiny
    d = saddle.experiment.part(res.data, "xor")
    net, (x, y) = lc.task("xor", cfg.seed)
    theta = jax.vmap(net.init)(jax.random.split(jax.random.fold_in(jax.random.PRNGKey(0), 0),
                                                cfg.seeds))
    for loss in cfg.losses:
        fn = nn.loss_fn(net, loss)
        for j, s in enumerate(cfg.init_scales):
            l0 = jax.vmap(fn, (0, None))(s * theta, (x, y))
            np.testing.assert_allclose(d[f"{loss}__loss_path"][j][:, 0], l0, rtol=1e-5)
            g0 = jax.vmap(jax.grad(fn), (0, None))(s * theta, (x, y))
            np.testing.assert_allclose(d[f"{loss}__grad0"][j], np.linalg.norm(g0, axis=1),
                                       rtol=1e-4)
    # saturated outputs: squared error on σ has a far smaller gradient than cross-entropy
    assert np.median(d["mse_sigmoid__grad0"][1]) < 0.5 * np.median(
        d["sigmoid_cross_entropy__grad0"][1])
    st = res.summary["tasks"]["xor"]["s=1.0"]["mse_sigmoid"]
    ok = d["mse_sigmoid__zero_error"][0]
    assert st["p_zero_error"] == ok.mean()
    assert st["distinct_minima"] == len({tuple(r) for r in d["mse_sigmoid__pred"][0]})
    assert res.summary["verdict"] in ("confirmed", "refuted", "depends")
    assert (out / "loss_choice.png").exists()


def test_bad_config():
    with pytest.raises(ValueError, match="init_scales must be > 0"):
        lc.Config(init_scales=(1.0, -2.0))
    with pytest.raises(ValueError, match="record_every=50 is larger than steps=10"):
        lc.Config(steps=10, record_every=50)
