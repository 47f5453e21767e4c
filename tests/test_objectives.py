"""Every catalogued critical point of every objective: ∇f ≈ 0 and the Hessian's inertia = kind."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import float64

import saddle
from saddle.objectives import classic, get, names

# n-d families are checked at these dims (the full product catalogue for the separable ones).
DIMS = {"rastrigin": (1, 2, 3), "styblinski_tang": (1, 2, 3, 4), "rosenbrock": (2, 3, 5),
        "ackley": (2, 5), "levy": (2, 4), "griewank": (2, 4), "goe_quadratic": (1, 4, 9)}


def cases():
    for name in names():
        for dim in DIMS.get(name, (None,)):
            yield pytest.param(name, dim, id=f"{name}-{dim}" if dim else name)


# Batched f and ∇f, one compiled program per objective function (reused across tests).
@functools.partial(jax.jit, static_argnums=0)
def values(fn, x):
    return jax.vmap(fn)(x)


@functools.partial(jax.jit, static_argnums=0)
def grads(fn, x):
    return jax.vmap(jax.grad(fn))(x)


def grad_scale(obj, n=256):
    """Median ‖∇f‖ over uniform points: the scale a 'zero' gradient is measured against."""
    x = saddle.starts.uniform(jax.random.PRNGKey(1), n, obj).astype(jnp.float64)
    return float(np.median(np.linalg.norm(grads(obj.fn, x), axis=1)))


@pytest.mark.parametrize("name, dim", list(cases()))
def test_catalogued_points_are_critical_with_the_stated_inertia(name, dim):
    with float64():
        obj = get(name, dim=dim)
        smooth = [p for p in obj.known if p.smooth]
        assert len(obj.known) >= 1
        if not smooth:
            return
        xs = np.array([p.x for p in smooth], dtype=np.float64)
        cls = saddle.classify(obj, xs, eig_tol=1e-7)
        tol = 1e-7 * (1 + grad_scale(obj))
        assert cls.grad_norm.max() <= tol, (name, cls.grad_norm.max(), tol)
        assert cls.kind.tolist() == [p.kind for p in smooth]
        for p, index in zip(smooth, cls.index, strict=True):
            if p.kind != "degenerate":
                assert p.index == index
        np.testing.assert_allclose(values(obj.fn, xs), [p.value for p in smooth], rtol=1e-9,
                                   atol=1e-9)
        inside = (xs >= obj.lower) & (xs <= obj.upper)
        assert inside.all(), f"{name}: catalogued point outside the bounds"


def test_ackley_origin_is_a_nonsmooth_minimum():
    obj = get("ackley", dim=3)
    (p,) = obj.known
    assert not p.smooth and p.value == 0
    x = saddle.starts.uniform(jax.random.PRNGKey(0), 1000, (np.full(3, -1e-3), np.full(3, 1e-3)))
    assert float(jnp.min(values(obj.fn, x))) > abs(float(obj.fn(jnp.zeros(3)))) - 1e-6


# Literature values (Surjanovic & Bingham; Jamil & Yang 2013; Wikipedia's Himmelblau article).
LITERATURE = [
    ("himmelblau", [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                    (3.584428, -1.848126)], 0.0),
    ("six_hump_camel", [(0.0898, -0.7126), (-0.0898, 0.7126)], -1.0316),
    ("branin", [(-np.pi, 12.275), (np.pi, 2.275), (9.42478, 2.475)], 0.397887),
    ("goldstein_price", [(0.0, -1.0)], 3.0),
    ("beale", [(3.0, 0.5)], 0.0),
    ("three_hump_camel", [(0.0, 0.0)], 0.0),
    ("booth", [(1.0, 3.0)], 0.0),
    ("levy", [(1.0, 1.0)], 0.0),
]


@pytest.mark.parametrize("name, minima, value", LITERATURE, ids=[c[0] for c in LITERATURE])
def test_global_minima_match_the_literature(name, minima, value):
    obj = get(name)
    found = obj.known_x("minimum")
    for m in minima:
        assert np.min(np.linalg.norm(found - np.array(m), axis=1)) < 1e-3, (name, m)
        np.testing.assert_allclose(float(obj.fn(jnp.array(m))), value, atol=1e-3)
    assert obj.global_min.value == pytest.approx(value, abs=1e-4)


def test_himmelblau_maximum_and_saddles_match_the_literature():
    obj = get("himmelblau")
    (mx,) = [p for p in obj.known if p.kind == "maximum"]
    np.testing.assert_allclose(mx.x, (-0.270845, -0.923039), atol=1e-5)
    assert mx.value == pytest.approx(181.617, abs=1e-3)
    assert sum(p.kind == "saddle" for p in obj.known) == 4


def test_goldstein_price_local_minima_match_the_literature():
    obj = get("goldstein_price")
    by_value = sorted(obj.known_x("minimum").tolist(), key=lambda x: float(obj.fn(jnp.array(x))))
    np.testing.assert_allclose(by_value, [(0, -1), (-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)],
                               atol=1e-6)


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
def test_styblinski_tang_counts(dim):
    obj = get("styblinski_tang", dim=dim)
    kinds = [p.kind for p in obj.known]
    assert kinds.count("minimum") == 2**dim
    assert kinds.count("maximum") == 1
    assert kinds.count("saddle") == 3**dim - 2**dim - 1
    assert obj.global_min.value == pytest.approx(-39.16617 * dim, rel=1e-6)


def test_rastrigin_has_21_critical_points_per_axis():
    roots = get("rastrigin", dim=1).known
    assert len(roots) == 21
    assert sum(p.kind == "minimum" for p in roots) == 11
    near = [round(p.x[0] * 2) / 2 for p in roots]  # minima near integers, maxima near halves
    assert near == [k / 2 for k in range(-10, 11)]
    assert len(get("rastrigin", dim=3).known) == 21**3
    assert len(get("rastrigin", dim=10).known) == 1 and not get("rastrigin", dim=10).complete


def test_complete_catalogues_contain_every_root_scipy_finds():
    """An independent solver (MINPACK hybrid Powell via scipy) from a grid of starts finds no
    critical point in the bounds that a complete 2-D catalogue lacks."""
    optimize = pytest.importorskip("scipy.optimize")
    with float64():
        for name in names():
            obj = get(name)
            if not (obj.complete and obj.dim == 2 and name != "goe_quadratic"):
                continue
            g = jax.jit(jax.grad(obj.fn))
            h = jax.jit(jax.hessian(obj.fn))
            fun = lambda x, g=g: np.asarray(g(x))  # noqa: E731
            jac = lambda x, h=h: np.asarray(h(x))  # noqa: E731
            known = obj.known_x()
            span = np.linalg.norm(obj.upper - obj.lower)
            gtol = 1e-6 * (1 + grad_scale(obj))
            for x0 in saddle.starts.grid(12, obj):
                sol = optimize.root(fun, np.asarray(x0), jac=jac, tol=1e-12)
                x = sol.x
                if not sol.success or np.any(x < obj.lower) or np.any(x > obj.upper):
                    continue
                if np.linalg.norm(g(x)) > gtol:
                    continue
                dist = np.min(np.linalg.norm(known - x, axis=1))
                assert dist < 1e-4 * span, f"{name}: scipy found a critical point {x} not listed"


def test_derived_catalogue_is_loaded_for_each_fixed_2d_function():
    for name in ("himmelblau", "six_hump_camel", "three_hump_camel", "branin", "beale",
                 "goldstein_price", "levy", "muller_brown"):
        assert len(classic.derived(name)) >= 3


def test_goe_quadratic_index_matches_eigvalsh():
    for seed in range(5):
        obj = get("goe_quadratic", dim=6, seed=seed)
        h = np.asarray(saddle.objectives.goe_matrix(jax.random.PRNGKey(seed), 6))
        assert obj.known[0].index == int(np.sum(np.linalg.eigvalsh(h) < 0))


def test_user_objective_wraps_a_function():
    obj = saddle.Objective(fn=lambda x: jnp.sum((x - 1) ** 2), dim=3, bounds=(-2, 2))
    assert obj.bounds == ((-2.0,) * 3, (2.0,) * 3)
    assert float(obj(jnp.ones(3))) == 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.dim = 4


# ----------------------------------------------------------------------------- bad input
def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown objective 'himmelblu'.*himmelblau"):
        get("himmelblu")


def test_fixed_dim_objective_rejects_another_dim():
    with pytest.raises(ValueError, match="fixed dim=2"):
        get("himmelblau", dim=3)


@pytest.mark.parametrize("bounds, match", [
    ((1.0, 1.0), "empty or inverted"),
    ((2.0, -2.0), "empty or inverted"),
    ((0.0,), "pair"),
    ((-np.inf, 1.0), "finite"),
])
def test_bad_bounds(bounds, match):
    with pytest.raises(ValueError, match=match):
        saddle.Objective(fn=lambda x: x.sum(), dim=2, bounds=bounds)


def test_non_scalar_objective_is_rejected_before_compilation():
    with pytest.raises(TypeError, match="fn must return a scalar"):
        saddle.Objective(fn=lambda x: x * 2, dim=2, bounds=(-1, 1))


def test_bad_dim():
    with pytest.raises(ValueError, match="dim must be >= 1"):
        saddle.Objective(fn=lambda x: x.sum(), dim=0, bounds=(-1, 1))
    with pytest.raises(ValueError, match="rosenbrock needs dim >= 2"):
        get("rosenbrock", dim=1)
