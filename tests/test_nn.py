"""Networks as objectives (saddle.objectives.nn), network starts (saddle.starts.scheme) and the
ReLU teacher–student in closed form (saddle.objectives.teacher), each against an independent
computation: numpy losses, least squares, PCA, Monte Carlo, finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import saddle
from saddle.objectives import nn as snn
from saddle.objectives import teacher
from saddle.precision import float64


def data(n=64, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x, rng.integers(0, k, n)


# ----------------------------------------------------------------------------- flattening
def test_flat_parameters_round_trip_through_the_flax_module():
    net = snn.mlp(5, (7, 3), "gelu")
    assert net.dim == 5 * 7 + 7 + 7 * 3 + 3
    key = jax.random.PRNGKey(0)
    theta = net.init(key)
    params = net.module.init(key, jnp.zeros((1, 5)))["params"]
    np.testing.assert_array_equal(theta, ravel_pytree(params)[0])
    x, _ = data()
    np.testing.assert_allclose(net.apply(theta, x), net.module.apply({"params": params}, x),
                               rtol=1e-6)
    assert jax.tree.map(np.shape, net.unravel(theta)) == jax.tree.map(np.shape, params)


@pytest.mark.parametrize("act, bias", [("relu", True), ("gelu", False), ("tanh", True)])
def test_mlp_outputs_equal_the_textbook_forward_pass(act, bias):
    """The module runs feature-major inside; outside it is x ↦ φ(x W₁ + b₁) W₂ + b₂ ...,
    here in float64 numpy from the unravelled kernels [fan_in, fan_out]."""
    x, _ = data(n=9, d=5)
    net = snn.mlp(5, (6, 4, 3), act, bias=bias)
    theta = net.init(jax.random.PRNGKey(3))
    p = net.unravel(theta)
    phi = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
           "gelu": lambda z: np.asarray(jax.nn.gelu(z))}[act]
    h = x.astype(np.float64)
    for i in range(3):
        h = h @ np.asarray(p[f"dense_{i}"]["kernel"], np.float64)
        if bias:
            h = h + np.asarray(p[f"dense_{i}"]["bias"], np.float64)
        h = phi(h) if i < 2 else h
    np.testing.assert_allclose(net.apply(theta, x), h, rtol=2e-5, atol=2e-6)
    # one example, and extra leading axes, as nn.Dense takes them
    np.testing.assert_allclose(net.apply(theta, x[0]), h[0], rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(net.apply(theta, x.reshape(3, 3, 5)), h.reshape(3, 3, 3),
                               rtol=2e-5, atol=2e-6)


# ----------------------------------------------------------------------------- losses
def test_cross_entropy_and_logistic_losses_equal_numpy():
    x, y = data()
    net = snn.mlp(5, (4, 3), "tanh")
    theta = net.init(jax.random.PRNGKey(1))
    logits = np.asarray(net.apply(theta, x), np.float64)
    lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    expect = np.mean(lse - logits[np.arange(len(y)), y])
    obj = snn.objective(net, (x, y), loss="cross_entropy")
    assert float(obj(theta)) == pytest.approx(expect, rel=1e-5)
    one = snn.mlp(5, (4, 1), "tanh")
    theta1 = one.init(jax.random.PRNGKey(2))
    z = np.asarray(one.apply(theta1, x), np.float64)[:, 0]
    yb = y % 2
    expect = np.mean(np.log1p(np.exp(-np.where(yb == 1, z, -z))))
    assert float(snn.objective(one, (x, yb), loss="cross_entropy")(theta1)) == pytest.approx(
        expect, rel=1e-5)


def test_mse_convention_and_l2_give_the_textbook_hessian():
    """One linear layer, loss ½·mean‖Wᵀx − y‖²: the Hessian in vec(W) is I ⊗ XᵀX/n (the ½ and
    the mean), and l2 adds l2·I."""
    x, _ = data(n=40, d=4)
    y = np.random.default_rng(1).standard_normal((40, 2)).astype(np.float32)
    net = snn.deep_linear(4, (2,))
    with float64():
        obj = snn.objective(net, (x, y), loss="mse", l2=0.3)
        h = np.asarray(jax.hessian(obj)(jnp.zeros(net.dim)))
        # saddle's dense tier takes the objective's data as an argument: the same Hessian
        np.testing.assert_allclose(saddle.curvature.hessian(obj, jnp.zeros((2, net.dim))),
                                   np.broadcast_to(h, (2, 8, 8)), rtol=1e-12)
    cov = x.T.astype(np.float64) @ x / 40
    # kernel [4, 2] flattened row-major: parameter (i, j) at 2i + j
    np.testing.assert_allclose(h, np.kron(cov, np.eye(2)) + 0.3 * np.eye(8), rtol=1e-5, atol=1e-6)


def test_gd_on_linear_regression_reaches_the_least_squares_solution():
    x, _ = data(n=80, d=4)
    w_true = np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32)
    y = x @ w_true + 0.1 * np.random.default_rng(2).standard_normal((80, 1)).astype(np.float32)
    obj = snn.objective(snn.deep_linear(4, (1,)), (x, y))
    x0 = saddle.starts.sample(jax.random.PRNGKey(0), 8, obj)
    run = saddle.descend(obj, x0, optax.sgd(0.3), 2000)
    lstsq = np.linalg.lstsq(x, y, rcond=None)[0].ravel()
    np.testing.assert_allclose(run.x, np.broadcast_to(lstsq, (8, 4)), atol=1e-4)


def test_minibatch_losses_average_to_the_full_batch_loss():
    x, y = data(n=60)
    obj = snn.objective(snn.mlp(5, (6, 3), "relu"), (x, y), loss="cross_entropy")
    theta = obj.init(jax.random.PRNGKey(3))
    parts = [obj(theta, (x[i:i + 15], y[i:i + 15])) for i in range(0, 60, 15)]
    assert float(np.mean(parts)) == pytest.approx(float(obj(theta)), rel=1e-5)


def test_linear_autoencoder_pca_solution_is_critical_with_the_residual_variance():
    """Baldi & Hornik: W₁ = U_kᵀ, W₂ = U_k (top-k eigenvectors of the sample covariance
    XᵀX/n) is a global minimum of ½·mean‖x − W₂W₁x‖², with loss ½Σ_{i>k} λᵢ."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((200, 6)) * np.arange(1, 7)).astype(np.float32)
    net = snn.linear_autoencoder(6, 2)
    lam, u = np.linalg.eigh(x.T.astype(np.float64) @ x / 200)
    top = u[:, -2:]
    with float64():
        theta = ravel_pytree({"dense_0": {"kernel": top}, "dense_1": {"kernel": top.T}})[0]
        obj = snn.objective(net, (x, x))
        assert float(obj(theta)) == pytest.approx(0.5 * lam[:-2].sum(), rel=1e-6)
        assert float(jnp.linalg.norm(jax.grad(obj)(theta))) < 1e-8


def test_bad_network_input_fails_in_one_line():
    x, y = data()
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        snn.mlp(5, (3,), "swish")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        snn.objective(snn.mlp(5, (3,)), (x, y), loss="hinge")
    with pytest.raises(ValueError, match=r"data inputs must be \[n, 4\]"):
        snn.objective(snn.mlp(4, (3,)), (x, y))
    with pytest.raises(ValueError, match="widths must name at least one layer"):
        snn.mlp(4, ())
    with pytest.raises(ValueError, match="l2 must be a finite number >= 0"):
        snn.objective(snn.mlp(5, (3,)), (x, y), l2=-1.0)


# ----------------------------------------------------------------------------- starts
@pytest.mark.parametrize("name, variance", [
    ("xavier_uniform", 2 / (300 + 200)), ("xavier_normal", 2 / (300 + 200)),
    ("he_uniform", 2 / 300), ("he_normal", 2 / 300), ("lecun_uniform", 1 / 300),
    ("lecun_normal", 1 / 300), ("pytorch", 1 / (3 * 300)),
])
def test_scheme_variances_match_their_formulas(name, variance):
    """Kernel [fan_in 300, fan_out 200]: the sample variance of 60 000 entries is within 4
    standard errors (SE ≈ variance·√(2/N) for a normal, less for a uniform)."""
    w = np.asarray(saddle.starts.scheme(name).kernel(jax.random.PRNGKey(0), (300, 200)))
    assert abs(w.var() - variance) < 4 * variance * np.sqrt(2 / w.size)
    assert abs(w.mean()) < 4 * np.sqrt(variance / w.size)
    if name.endswith("uniform") or name == "pytorch":
        assert np.abs(w).max() <= np.sqrt(3 * variance) + 1e-7  # U(±√(3·var))


def test_pytorch_biases_orthogonal_and_constant_schemes():
    net = snn.mlp(50, (40, 10), "relu", init="pytorch")
    p = net.unravel(net.init(jax.random.PRNGKey(0)))
    for layer, fan_in in (("dense_0", 50), ("dense_1", 40)):
        for leaf in p[layer].values():
            assert np.abs(leaf).max() <= 1 / np.sqrt(fan_in) + 1e-7
            assert np.abs(leaf).max() > 0.8 / np.sqrt(fan_in)  # spans the interval
    q = np.asarray(saddle.starts.scheme("orthogonal", gain=2.0).kernel(
        jax.random.PRNGKey(1), (30, 30)))
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(30), atol=1e-4)
    z = snn.mlp(5, (4, 2), init="zeros")
    assert not np.any(np.asarray(z.init(jax.random.PRNGKey(0))))
    c = snn.mlp(5, (4, 2), init=saddle.starts.scheme("constant", value=0.5))
    p = c.unravel(c.init(jax.random.PRNGKey(0)))
    assert np.all(np.asarray(p["dense_0"]["kernel"]) == 0.5)
    assert np.all(np.asarray(p["dense_0"]["bias"]) == 0)
    with pytest.raises(ValueError, match="unknown scheme 'glorot'"):
        saddle.starts.scheme("glorot")
    with pytest.raises(TypeError, match="scheme 'he_normal' takes no arguments"):
        saddle.starts.scheme("he_normal", std=1.0)


def _qr_operand_shapes(jaxpr) -> list:
    from jax.extend.core import jaxprs_in_params

    out = []
    for e in jaxpr.eqns:
        if e.primitive.name == "qr":
            out.append(e.invars[0].aval.shape)
        for sub in jaxprs_in_params(e.params):
            out += _qr_operand_shapes(sub)
    return out


def test_vmapped_orthogonal_init_takes_one_matrix_per_qr_and_equals_single_draws():
    """Under vmap each QR takes one matrix (jit(vmap(init)) of a depth-8 orthogonal net hung
    with batched QRs, jaxlib 0.10.2, BUILD_NOTES)."""
    net = snn.mlp(8, (8, 8, 8, 4), init="orthogonal")
    keys = jax.random.split(jax.random.PRNGKey(3), 5)
    shapes = _qr_operand_shapes(jax.make_jaxpr(jax.vmap(net.init))(keys).jaxpr)
    assert shapes and all(len(s) == 2 for s in shapes), shapes
    many = np.asarray(jax.jit(jax.vmap(net.init))(keys))
    np.testing.assert_array_equal(many, np.stack([net.init(k) for k in keys]))
    with float64():  # the kernel takes jax's default dtype, as jax's orthogonal does
        w = net.unravel(net.init(keys[0]))["dense_1"]["kernel"]
        assert w.dtype == np.float64
        np.testing.assert_allclose(np.asarray(w).T @ np.asarray(w), np.eye(8), atol=1e-12)


# ----------------------------------------------------------------------------- teacher–student
def mc_loss(w, v, n=1_000_000, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, w.shape[1]))
    r = np.maximum
    vals = 0.5 * (r(x @ w.T, 0).sum(1) - r(x @ v.T, 0).sum(1)) ** 2
    return vals.mean(), vals.std() / np.sqrt(n)


@pytest.mark.parametrize("case", ["random", "near_parallel", "opposite"])
def test_relu_population_loss_matches_monte_carlo(case):
    rng = np.random.default_rng(7)
    v = np.eye(4)[:3]
    w = {"random": rng.standard_normal((3, 4)),
         "near_parallel": v + 1e-3 * rng.standard_normal((3, 4)),
         "opposite": -v + 0.3 * rng.standard_normal((3, 4))}[case]
    mean, se = mc_loss(w, v)
    with float64():
        closed = float(teacher.relu_population_loss(jnp.asarray(w), jnp.asarray(v)))
    assert abs(closed - mean) < 4 * se + 1e-12


def test_relu_kernel_gradient_and_hessian_against_finite_differences():
    """At a random point and at the global minimum W = V (student units parallel to teacher
    units and to themselves, where autodiff through arccos gives ∞·0), the closed-form
    gradient and Hessian equal central differences."""
    rng = np.random.default_rng(8)
    v = jnp.asarray(rng.standard_normal((3, 4)))
    with float64():
        obj = teacher.relu_teacher_student(v, 3)
        f, grad, hess = jax.jit(obj), jax.jit(jax.grad(obj)), jax.jit(jax.hessian(obj))
        eye = jnp.eye(12)
        for theta in (jnp.asarray(rng.standard_normal(12)), v.ravel()):
            g, h = grad(theta), hess(theta)
            assert np.all(np.isfinite(np.asarray(h)))
            fd_g = (jax.vmap(f)(theta + 1e-6 * eye) - jax.vmap(f)(theta - 1e-6 * eye)) / 2e-6
            np.testing.assert_allclose(g, fd_g, atol=1e-7)
            fd_h = (jax.vmap(grad)(theta + 1e-5 * eye) - jax.vmap(grad)(theta - 1e-5 * eye)) / 2e-5
            np.testing.assert_allclose(h, fd_h.T, atol=1e-4)
        assert float(f(v.ravel())) == pytest.approx(0.0, abs=1e-12)
        assert float(jnp.linalg.norm(grad(v.ravel()))) < 1e-12
        assert np.linalg.eigvalsh(np.asarray(hess(v.ravel()))).min() > -1e-10
