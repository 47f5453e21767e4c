"""The escape objectives (strict_saddle, chained_saddle): catalogues, completeness, dynamics."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import float64

import saddle
from saddle.objectives import get
from saddle.objectives.saddles import chain_points, smooth_step


def check_catalogue(obj):
    """Every catalogued point: ∇f ≈ 0, value, and the Hessian's inertia = kind/index."""
    xs = obj.known_x()
    cls = saddle.classify(obj, xs, eig_tol=1e-7)
    assert cls.grad_norm.max() < 1e-10
    assert cls.kind.tolist() == [p.kind for p in obj.known]
    assert cls.index.tolist() == [p.index for p in obj.known]
    np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(obj.fn))(jnp.asarray(xs))),
                               [p.value for p in obj.known], atol=1e-12)
    assert np.all((xs >= obj.lower) & (xs <= obj.upper))
    return cls


@pytest.mark.parametrize("dim, gamma", [(2, 1.0), (3, 0.3), (10, 4.0)])
def test_strict_saddle_catalogue(dim, gamma):
    with float64():
        obj = get("strict_saddle", dim=dim, gamma=gamma)
        cls = check_catalogue(obj)
        assert obj.complete and len(obj.known) == 3
        (i,) = [k for k, p in enumerate(obj.known) if p.kind == "saddle"]
        expected = np.array([-gamma] + [1.0] * (dim - 1))
        np.testing.assert_allclose(cls.eigenvalues[i], expected, atol=1e-12)
        assert obj.global_min.value == pytest.approx(-gamma**2 / 4)
        v = saddle.escape_direction(obj, obj.known[i].x)
        assert v.exists and v.eigenvalue == pytest.approx(-gamma)
        assert abs(v.vector[0]) == pytest.approx(1.0)


@pytest.mark.parametrize("dim", [1, 2, 3, 5])
def test_chained_saddle_catalogue(dim):
    with float64():
        gamma, curv = 0.7, 1.3
        obj = get("chained_saddle", dim=dim, gamma=gamma, curvature=curv)
        cls = check_catalogue(obj)
        assert obj.complete and len(obj.known) == 2 ** (dim + 1) - 1
        kinds = [p.kind for p in obj.known]
        assert kinds.count("minimum") == 2**dim
        assert kinds.count("saddle" if dim > 1 else "maximum") == 2**dim - 1
        # z_k = (±1 ×k, 0, ...): Hessian diag(2γ ×k, −γ, L ×(d−k−1)).
        for p, eig in zip(obj.known, cls.eigenvalues, strict=True):
            k = int(np.sum(np.abs(p.x) == 1))
            expected = [2 * gamma] * k + ([-gamma] if k < dim else []) + [curv] * (dim - k - 1)
            np.testing.assert_allclose(eig, np.sort(expected), atol=1e-9)
            assert p.value == pytest.approx(-k * gamma / 4)
        np.testing.assert_array_equal(np.abs(chain_points(dim)),
                                      np.tril(np.ones((dim + 1, dim)), -1))


@pytest.mark.parametrize("name, dim", [("chained_saddle", 3), ("chained_saddle", 4),
                                       ("strict_saddle", 3)])
def test_catalogue_is_complete_for_an_independent_root_finder(name, dim):
    """MINPACK (scipy) from random starts in the box finds no critical point not listed."""
    optimize = pytest.importorskip("scipy.optimize")
    with float64():
        obj = get(name, dim=dim)
        g, h = jax.jit(jax.grad(obj.fn)), jax.jit(jax.hessian(obj.fn))
        known = obj.known_x()
        x0s = np.asarray(saddle.starts.uniform(jax.random.PRNGKey(0), 300, obj), np.float64)
        found = 0
        for x0 in x0s:
            sol = optimize.root(lambda x: np.asarray(g(x)), x0,
                                jac=lambda x: np.asarray(h(x)), tol=1e-13)
            x = sol.x
            if (not sol.success or np.any(np.abs(x) > obj.upper)
                    or np.linalg.norm(g(x)) > 1e-9):
                continue
            found += 1
            assert np.min(np.linalg.norm(known - x, axis=1)) < 1e-6, x
        assert found > 50


def test_chained_saddle_is_smooth_and_bounded_below():
    with float64():
        t = jnp.linspace(-0.5, 1.5, 2001)
        s = jax.jit(jax.vmap(smooth_step))(t)
        assert float(s[0]) == 0.0 and float(s[-1]) == 1.0
        assert np.all(np.diff(np.asarray(s)) >= 0)
        for order in (jax.grad(smooth_step), jax.grad(jax.grad(smooth_step))):
            vals = np.asarray(jax.jit(jax.vmap(order))(jnp.array([0.0, 1e-9, 0.5, 1.0, 2.0])))
            assert np.all(np.isfinite(vals))
        obj = get("chained_saddle", dim=4)
        x = saddle.starts.uniform(jax.random.PRNGKey(1), 5000, obj).astype(jnp.float64)
        f = np.asarray(jax.jit(jax.vmap(obj.fn))(x))
        assert f.min() >= -4 / 4 - 1e-12
        hess = np.asarray(jax.jit(jax.vmap(jax.hessian(obj.fn)))(x[:50]))
        assert np.all(np.isfinite(hess))


def test_gd_passes_the_chained_saddles_in_order():
    """From a natural start near z_0, GD comes within 0.05 of z_1, z_2, ..., z_d in that order,
    and each passage takes longer than the previous one."""
    dim = 4
    with float64():
        obj = get("chained_saddle", dim=dim)
        x0 = np.array([[0.05, 0.08, -0.06, 0.07]])
        run = saddle.descend(obj, x0, optax.sgd(0.1), 1500, record_every=1, record_path=True)
        path = np.abs(run.path[0])
        z = chain_points(dim)
        first = [int(np.argmax(np.linalg.norm(path - zk, axis=1) < 0.05)) for zk in z[1:]]
        assert all(np.linalg.norm(path[t] - zk) < 0.05 for t, zk in zip(first, z[1:], strict=True))
        gaps = np.diff([0, *first])
        assert np.all(np.diff(gaps[1:]) > 0), gaps  # passages 2..d slow down


def test_bad_arguments():
    with pytest.raises(ValueError, match="strict_saddle needs dim >= 2"):
        get("strict_saddle", dim=1)
    with pytest.raises(ValueError, match="gamma must be a finite number > 0"):
        get("strict_saddle", dim=3, gamma=0.0)
    with pytest.raises(ValueError, match="inner < outer"):
        get("chained_saddle", dim=3, inner=0.8, outer=0.5)
    with pytest.raises(ValueError, match="curvature >= gamma/8"):
        get("chained_saddle", dim=3, gamma=1.0, curvature=0.1)
