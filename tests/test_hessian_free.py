"""Hessian-free Newton-MR (saddle.critical.hessian_free): MINRES against numpy's solvers, and
the critical points it reaches against catalogues and the deep linear closed form."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import saddle
from saddle.critical.hessian_free import minres, newton_mr
from saddle.objectives import nn as snn
from saddle.precision import float64


def test_minres_solves_indefinite_and_singular_systems():
    """d iterations: the solution of a nonsingular indefinite system (numpy.linalg.solve);
    on a singular consistent system from x = 0, the minimum-norm solution (pinv b)."""
    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.standard_normal((30, 30)))[0]
    with float64():
        for lam in (np.linspace(-3, 5, 30), np.r_[np.zeros(5), np.linspace(-2, 4, 25)]):
            h = q @ np.diag(lam) @ q.T
            b = h @ rng.standard_normal(30)  # in the range of h
            hj = jnp.asarray(h)
            x = np.asarray(minres(lambda v, hj=hj: hj @ v, jnp.asarray(b), 40))
            np.testing.assert_allclose(x, np.linalg.pinv(h) @ b, atol=1e-8)
        # fewer iterations than d on a well-conditioned SPD system: a small residual already
        h = q @ np.diag(np.linspace(1, 2, 30)) @ q.T
        b = rng.standard_normal(30)
        x = np.asarray(minres(lambda v: jnp.asarray(h) @ v, jnp.asarray(b), 12))
        assert np.linalg.norm(h @ x - b) < 1e-6 * np.linalg.norm(b)


def test_newton_mr_on_himmelblau_reaches_catalogued_points():
    obj = saddle.objectives.get("himmelblau")
    with float64():
        x0 = saddle.starts.uniform(jax.random.PRNGKey(0), 64, obj)
        res = newton_mr(obj, x0, key=jax.random.PRNGKey(1), steps=60, minres_iters=4,
                        grad_tol=1e-8)
    crit = res.status == "critical"
    assert crit.mean() > 0.8
    known = obj.known_x()
    dist = np.linalg.norm(res.x[crit][:, None] - known[None], axis=-1).min(axis=1)
    assert np.all(dist < 1e-6)
    assert np.all(res.grad_norm[crit] <= 1e-8)


def test_newton_mr_on_a_linear_autoencoder_finds_baldi_hornik_critical_points():
    """x ↦ W₂W₁x, 4 → 2 → 4, data with covariance diag(1, 2, 3, 4) (exactly, by whitening a
    sample): every critical point's loss is ½Σ_{i∉S} λᵢ for a subset S of at most 2
    eigen-directions (Baldi & Hornik 1989). Each critical end point's loss is one of these
    values, and its index (dense Hessian) is 0 only for S = the top two (loss ½(1 + 2))."""
    rng = np.random.default_rng(1)
    z = rng.standard_normal((400, 4))
    z = (z - z.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z.T, bias=True))).T
    lam = np.array([1.0, 2.0, 3.0, 4.0])
    x = z * np.sqrt(lam)
    values = sorted({0.5 * (lam.sum() - lam[list(s)].sum())
                     for k in range(3) for s in itertools.combinations(range(4), k)})
    with float64():
        obj = snn.objective(snn.linear_autoencoder(4, 2), (jnp.asarray(x), jnp.asarray(x)))
        x0 = jax.vmap(obj.init)(jax.random.split(jax.random.PRNGKey(2), 16))
        res = newton_mr(obj, x0.astype(jnp.float64), key=jax.random.PRNGKey(3), steps=40,
                        minres_iters=16, grad_tol=1e-8)
        crit = res.status == "critical"
        eig = saddle.curvature.eigenvalues(lambda t: obj(t), jnp.asarray(res.x[crit]))
    assert crit.mean() > 0.5, res.status  # measured: 12 of 16, minima and saddles
    gap = np.abs(res.value[crit][:, None] - np.array(values)[None]).min(axis=1)
    assert np.all(gap < 1e-8), res.value[crit]
    eig = np.asarray(eig)
    tol = 1e-6 * np.abs(eig).max()
    is_min = np.all(eig > -tol, axis=1)
    np.testing.assert_array_equal(is_min, np.isclose(res.value[crit], 1.5, atol=1e-8))


def test_bad_input():
    f = saddle.objectives.get("himmelblau")
    with pytest.raises(ValueError, match=r"x0 must be \[n, d\] starts"):
        newton_mr(f, jnp.zeros(2), key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="minres_iters must be >= 1"):
        newton_mr(f, jnp.zeros((2, 2)), key=jax.random.PRNGKey(0), minres_iters=0)
    with pytest.raises(TypeError, match=r"key must be a jax\.random key"):
        newton_mr(f, jnp.zeros((2, 2)), key=3)


def _double_wells(q: np.ndarray):
    """f(x) = ¼Σᵢ(yᵢ² − 1)², y = Qx: critical points x = Qᵀc, c ∈ {−1, 0, 1}ᵈ, with index
    the number of zeros in c (f'' = 3yᵢ² − 1 = −1 at 0, 2 at ±1)."""
    qj = jnp.asarray(q)
    return lambda x: 0.25 * jnp.sum(((qj @ x) ** 2 - 1) ** 2)


def test_trust_converges_quadratically_to_critical_points_of_every_index():
    """From 0.05-perturbations of all 3⁴ critical points of rotated double wells (‖∇f‖ up
    to ~0.08), 5 steps of the trust solver reach ‖∇f‖ ≤ 1e-11 at the nearest critical point,
    as 5 steps of dense Newton (numpy) do: a quadratic rate (measured 0.08 → 1e-2 → 3e-4 →
    2e-7 → 3e-13; a linear rate slower than 1/25 per step stays above 1e-11). The index of
    every end point (dense eigenvalues) is the number of zero coordinates of its c, 0 to 4."""
    rng = np.random.default_rng(4)
    q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    cs = np.array(list(itertools.product((-1.0, 0.0, 1.0), repeat=4)))
    exact = cs @ q  # rows Qᵀc
    x0 = exact + 0.05 * rng.standard_normal(exact.shape) / np.sqrt(4)
    f = _double_wells(q)
    with float64():
        res = newton_mr(f, jnp.asarray(x0), key=jax.random.PRNGKey(0), steps=5,
                        minres_iters=4, grad_tol=1e-11, solver="trust")
        grad, hess = jax.jit(jax.grad(f)), jax.jit(jax.hessian(f))
        newton = x0.copy()
        for _ in range(5):  # the dense-Newton oracle
            newton = np.stack([x - np.linalg.solve(np.asarray(hess(jnp.asarray(x))),
                                                   np.asarray(grad(jnp.asarray(x))))
                               for x in newton])
        eig = np.stack([np.linalg.eigvalsh(np.asarray(hess(jnp.asarray(x)))) for x in res.x])
    assert np.all(res.status == "critical"), res.grad_norm.max()
    np.testing.assert_allclose(res.x, exact, atol=1e-6)
    np.testing.assert_allclose(res.x, newton, atol=1e-6)
    np.testing.assert_array_equal(np.sum(eig < 0, axis=1), np.sum(cs == 0, axis=1))


def test_trust_ends_at_a_gradient_flat_minimum_of_the_gradient_norm():
    """f(x, y) = x³/3 + x + y²/2 has no critical point: ∇f = (x² + 1, y), and ‖∇f‖² has
    its minimum 1 at (0, 0), where H∇f = (2x(x² + 1), y) = 0: a gradient-flat point (Frye
    et al. 2021). The trust solver ends there, classified gradient-flat."""
    def f(x: jax.Array) -> jax.Array:
        return x[0] ** 3 / 3 + x[0] + x[1] ** 2 / 2

    with float64():
        x0 = jax.random.uniform(jax.random.PRNGKey(5), (16, 2), jnp.float64, -1.0, 1.0)
        res = newton_mr(f, x0, key=jax.random.PRNGKey(6), steps=30, minres_iters=2,
                        solver="trust")
    assert np.all(res.status == "gradient_flat"), res.status
    np.testing.assert_allclose(res.x, 0.0, atol=1e-6)
    np.testing.assert_allclose(res.grad_norm, 1.0, atol=1e-10)


def test_bad_solver():
    with pytest.raises(ValueError, match="solver must be one of"):
        newton_mr(lambda x: x @ x, jnp.zeros((2, 2)), key=jax.random.PRNGKey(0), solver="lm")
