"""Krylov tier: HVPs against finite differences and dense Hessians, Lanczos against eigh."""

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from saddle.curvature import hvp, lanczos, top_eigenpair
from saddle.precision import float64


def test_hvp_on_a_pytree_equals_finite_differences_of_the_gradient():
    with float64():
        p = {"w": jnp.array([[0.3, -1.2], [0.7, 0.1]]), "b": jnp.array([0.5, -0.4])}
        v = {"w": jnp.array([[1.0, 0.2], [-0.3, 0.5]]), "b": jnp.array([0.1, 0.9])}
        f = lambda q: jnp.sum(jnp.tanh(q["w"] @ q["b"]) ** 2) + jnp.sum(q["w"] ** 4)  # noqa: E731
        h = 1e-6
        plus = jax.grad(f)(jax.tree.map(lambda a, b: a + h * b, p, v))
        minus = jax.grad(f)(jax.tree.map(lambda a, b: a - h * b, p, v))
        fd = jax.tree.map(lambda a, b: (a - b) / (2 * h), plus, minus)
        out = hvp(f, p, v)
        for k in p:
            np.testing.assert_allclose(out[k], fd[k], rtol=1e-7, atol=1e-8)


def test_lanczos_extreme_ritz_values_equal_eigh():
    """Full re-orthogonalisation: m = d steps give the whole spectrum; m < d the extremes."""
    rng = np.random.default_rng(1)
    with float64():
        for d, m, tol in ((40, 40, 1e-10), (300, 40, 1e-3)):
            a = rng.normal(size=(d, d))
            a = (a + a.T) / 2
            exact = np.linalg.eigvalsh(a)
            # jitted: one program per (d, m) instead of every op compiled on its own
            run = jax.jit(lambda a, v, m=m: (t := lanczos(lambda u: a @ u, v, m), t.eigh()))
            tri, (theta, vecs, res) = run(jnp.asarray(a), jnp.asarray(rng.normal(size=d)))
            np.testing.assert_allclose([theta[0], theta[-1]], [exact[0], exact[-1]], rtol=tol)
            q = np.asarray(tri.basis)
            np.testing.assert_allclose(q @ q.T, np.eye(m), atol=1e-10)
            # the reported residual is ‖Av − θv‖ of the Ritz pair
            r = np.linalg.norm(a @ np.asarray(vecs[-1]) - float(theta[-1]) * np.asarray(vecs[-1]))
            np.testing.assert_allclose(res[-1], r, rtol=1e-6, atol=1e-9)


def test_lanczos_survives_an_invariant_subspace():
    """A Hessian with 3 distinct eigenvalues makes the Krylov space invariant after 3 steps;
    the restarted basis still yields every eigenvalue with its multiplicity."""
    with float64():
        lam = np.array([3.0, 3.0, 3.0, -1.0, -1.0, 0.0, 0.0, 0.0, 2.0, 2.0])
        theta = lanczos(lambda v: jnp.asarray(lam) * v, jnp.ones(10), 10).eigh()[0]
        np.testing.assert_allclose(np.sort(np.asarray(theta)), np.sort(lam), atol=1e-10)


def test_top_eigenpair_is_largest_algebraic_on_a_network_loss():
    with float64():
        key = jax.random.PRNGKey(0)
        x = jax.random.normal(key, (20, 3))
        y = jnp.sin(x[:, 0])
        w0 = jax.random.normal(jax.random.fold_in(key, 1), (3 * 4 + 4,)) * 0.5

        def loss(w):
            h = jnp.tanh(x @ w[:12].reshape(3, 4))
            return 0.5 * jnp.mean((h @ w[12:] - y) ** 2)

        exact = np.linalg.eigvalsh(np.asarray(saddle.hessian(loss, w0[None])[0]))
        lam, vec, _ = top_eigenpair(lambda v: hvp(loss, w0, v), jnp.ones(16), 16)
        np.testing.assert_allclose(lam, exact[-1], rtol=1e-8)
        np.testing.assert_allclose(np.linalg.norm(vec), 1.0, rtol=1e-10)
