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
