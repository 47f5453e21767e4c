"""Signal propagation at init (saddle.signal_propagation), residual MLPs and the init_schemes
experiment, against closed forms, scipy quadrature, draws of the schemes and Monte Carlo of
wide random networks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import experiments.init_schemes as ini
from saddle import experiment, starts
from saddle import signal_propagation as sp
from saddle.objectives import nn as snn


def test_quadrature_equals_closed_forms_and_scipy():
    q = np.array([0.0, 0.3, 1.0, 7.0])
    np.testing.assert_allclose(sp.expect(lambda h: np.maximum(h, 0) ** 2, q), q / 2, atol=1e-12)
    np.testing.assert_allclose(sp.length_map(q, "linear", 1.7, 0.2), 1.7 * q + 0.2, rtol=1e-12)
    np.testing.assert_allclose(sp.chi(q[1:], "relu", 2.0), 1.0, rtol=1e-12)  # He: χ = 1
    for qi, rel in ((0.3, 1e-9), (2.5, 1e-9), (50.0, 1e-2)):  # tanh(√q z) sharpens with q
        exact = scipy.integrate.quad(
            lambda z, qi=qi: np.tanh(np.sqrt(qi) * z) ** 2 * scipy.stats.norm.pdf(z),
            -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)[0]
        assert sp.length_map(qi, "tanh", 1.0) == pytest.approx(exact, rel=rel)


@pytest.mark.parametrize("name, kw, fan_in, fan_out", [
    ("xavier_normal", {}, 300, 100), ("he_uniform", {}, 300, 100), ("lecun_normal", {}, 200, 200),
    ("orthogonal", {}, 300, 100), ("orthogonal", {"gain": 2.0}, 100, 300),
    ("pytorch", {}, 300, 100), ("normal", {"std": 0.3}, 300, 100)])
def test_scheme_variances_match_draws_of_the_schemes(name, kw, fan_in, fan_out):
    s = starts.scheme(name, **kw)
    w = np.asarray(s.kernel(jax.random.PRNGKey(0), (fan_in, fan_out)))
    b = np.asarray(s.bias(fan_in)(jax.random.PRNGKey(1), (20000,)))
    sw, sb = sp.scheme_variances(name, fan_in, fan_out, **kw)
    assert fan_in * np.mean(w**2) == pytest.approx(sw, rel=0.03)
    assert np.mean(b**2) == pytest.approx(sb, rel=0.03, abs=1e-12)


@pytest.mark.parametrize("act, scheme, residual", [
    ("relu", "lecun_normal", False), ("tanh", "pytorch", True)])
def test_mean_field_profile_matches_wide_random_networks(act, scheme, residual):
    """Finite width: per ReLU layer q is multiplied by a mean over n units with relative
    variance 5/n, so over 4 layers and 16 nets the mean's relative error has std ≈
    √(4·5/(256·16)) ≈ 7%: 20% is about 3 standard deviations."""
    width, depth = 256, 4
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, width)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    net = snn.mlp(width, (width,) * depth + (10,), act, init=scheme, residual=residual)
    f = jax.jit(jax.vmap(lambda k: sp.measure(net, net.init(k), x, y)))
    q, g = (np.mean(v, 0) for v in f(jax.random.split(jax.random.PRNGKey(0), 16)))
    prof = sp.profile(act, *sp.scheme_variances(scheme, width, width), float(np.mean(x**2)),
                      depth, residual=residual)
    np.testing.assert_allclose(q, prof.q, rtol=0.2)
    np.testing.assert_allclose(g / g[-1], prof.grad_norm, rtol=0.2)
    if act == "relu":  # LeCun halves a ReLU net's variance per layer
        np.testing.assert_allclose(prof.q[1:] / prof.q[:-1], 0.5, rtol=1e-9)


def _hidden_preactivations(net, theta, x):
    _, inter = net.module.apply({"params": net.unravel(theta)}, x, capture_intermediates=True)
    depth = len(net.module.widths) - 1
    # the MLP runs feature-major: each layer's captured output is [units, n]
    return np.stack([inter["intermediates"][f"dense_{i}"]["__call__"][0].T for i in range(depth)])


@pytest.mark.parametrize("act, residual", [("tanh", False), ("sigmoid", True)])
def test_constant_init_forward_pass_is_exact_and_symmetric(act, residual):
    x = np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32)
    net = snn.mlp(6, (4, 4, 4, 2), act, init="constant", residual=residual)
    h = _hidden_preactivations(net, net.init(jax.random.PRNGKey(0)), x)  # [L, n, units]
    assert np.all(h == h[..., :1])  # every unit of a layer computes the same number
    np.testing.assert_allclose(h[..., 0].T, sp.constant_preactivations(x, 0.1, (4, 4, 4, 2), act,
                                                                       residual), rtol=1e-5)


def test_residual_mlp_equals_numpy():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    net = snn.mlp(3, (4, 4, 4, 2), "tanh", residual=True)
    theta = net.init(jax.random.PRNGKey(3))
    p = jax.tree.map(np.asarray, net.unravel(theta))
    z = np.tanh(x @ p["dense_0"]["kernel"] + p["dense_0"]["bias"])
    for i in (1, 2):
        z = z + np.tanh(z @ p[f"dense_{i}"]["kernel"] + p[f"dense_{i}"]["bias"])
    np.testing.assert_allclose(net.apply(theta, x), z @ p["dense_3"]["kernel"]
                               + p["dense_3"]["bias"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="residual needs equal hidden widths"):
        snn.mlp(3, (4, 5, 2), residual=True)


def test_zero_init_never_breaks_symmetry():
    """tanh/relu: every gradient but the output bias's is exactly 0; sigmoid: the output
    kernel learns, yet after GD all hidden units of a layer are still identical."""
    rng = np.random.default_rng(4)
    data = (rng.standard_normal((30, 5)).astype(np.float32), rng.integers(0, 3, 30))
    for act in ("tanh", "relu"):
        net = snn.mlp(5, (6, 6, 3), act, init="zeros")
        g = net.unravel(jax.grad(snn.loss_fn(net, "cross_entropy"))(jnp.zeros(net.dim), data))
        nonzero = [k for k, v in jax.tree_util.tree_leaves_with_path(g) if np.any(v != 0)]
        assert [jax.tree_util.keystr(k) for k in nonzero] == ["['dense_2']['bias']"]
    net = snn.mlp(5, (6, 6, 3), "sigmoid", init="zeros")
    fn = jax.jit(jax.value_and_grad(snn.loss_fn(net, "cross_entropy")))
    theta = jnp.zeros(net.dim)
    first = float(fn(theta, data)[0])
    for _ in range(30):  # plain GD
        theta = theta - 0.5 * fn(theta, data)[1]
    assert float(fn(theta, data)[0]) < first - 1e-3
    assert float(ini.unit_spread(net, theta)) == 0.0
    lecun = snn.mlp(5, (6, 6, 3), "sigmoid")
    assert float(ini.unit_spread(lecun, lecun.init(jax.random.PRNGKey(0)))) > 0.1
    p = net.unravel(theta)
    assert np.any(p["dense_1"]["kernel"] != 0) and np.any(p["dense_2"]["kernel"] != 0)


def test_experiment_tiny(tmp_path):
    """Zero and constant init (no random draws to compile): the measured pre-activations
    equal the exact constant forward pass, and training never separates the units."""
    cfg = ini.Config(activations=("relu",), schemes=("zeros", "constant"), normal_stds=(),
                     depth=4, width=16, n_inputs=4, seeds=3, train_activations=("relu",),
                     train_depth=2, train_width=8, steps=20, record_every=10)
    res = experiment.run_experiment(cfg, ini.run, ini.plot, ini.summarize, out=tmp_path,
                                    show_progress=False,
                                    figure_formats=("png",), dpi=50)
    const = experiment.part(res.data, "init_constant")
    for r in ("plain", "res"):
        np.testing.assert_allclose(const[f"relu_{r}_q"], const[f"relu_{r}_theory_q"][None]
                                   .repeat(3, 0), rtol=1e-4)
    assert np.all(experiment.part(res.data, "init_zeros")["relu_plain_q"] == 0)
    t = res.summary["training"]  # equal up to float32 rounding (relative spread < 1e-6)
    assert t["zeros/relu"]["unit_spread_max"] < 1e-6 and t["constant/relu"][
        "unit_spread_max"] < 1e-6
    assert res.summary["tests"] == {"zero_constant_symmetric": True}
    assert res.summary["verdict"] == "confirmed"
    assert (tmp_path / "init_q.png").exists() and (tmp_path / "init_training.png").exists()
