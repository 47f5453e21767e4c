"""find_critical_points: every catalogued critical point of every catalogued objective, with
its index; gradient-flat points reported apart; bad input rejected before any tracing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import saddle
from saddle.objectives import get, is_n_dim, names

# n-d families at small d (the full catalogue: Rastrigin 2-D has 441 points, Styblinski–Tang
# 3-D 27); every other n-d family at d = 2.
DIMS = {"rastrigin": (1, 2), "styblinski_tang": (2, 3), "rosenbrock": (2, 3)}

# Documented tolerances (float64 search, the default): location within LOC_TOL × box
# diagonal, value within VALUE_TOL·(1 + |f|). Measured: ≤ 2e-11 and ≤ 1e-14.
LOC_TOL, VALUE_TOL = 1e-8, 1e-8


def catalogue_cases():
    for name in names():
        for dim in DIMS.get(name, (2,)) if is_n_dim(name) else (None,):
            yield pytest.param(name, dim, id=f"{name}-{dim}" if dim else name)


@pytest.mark.parametrize("name, dim", list(catalogue_cases()))
def test_default_finds_every_catalogued_point_with_its_index(name, dim):
    obj = get(name, dim=dim)
    cps = saddle.find_critical_points(obj, key=jax.random.PRNGKey(0))  # default n_starts
    diag = float(np.linalg.norm(obj.upper - obj.lower))
    smooth = [p for p in obj.known if p.smooth]  # Ackley's cone tip has no gradient
    for p in smooth:
        dist = np.linalg.norm(cps.x - np.array(p.x), axis=1) if len(cps) else np.array([np.inf])
        i = int(np.argmin(dist))
        assert dist[i] <= LOC_TOL * diag, (name, p, dist[i] / diag)
        assert cps.kind[i] == p.kind, (name, p, cps.kind[i])
        if p.index is not None:
            assert cps.index[i] == p.index, (name, p, cps.index[i])
        assert abs(cps.value[i] - p.value) <= VALUE_TOL * (1 + abs(p.value)), (name, p)
    if obj.complete:  # every point found, and Chao1 agrees that none is missing
        assert len(cps) == len(smooth), f"{name}: {len(cps)} points, catalogue {len(smooth)}"
        assert cps.richness.unseen < 1, (name, cps.richness)
    assert not cps.sets  # every catalogued point is isolated
    assert np.all(cps.grad_norm <= cps.grad_tol)
    n = 4096
    assert cps.hits.sum() + len(cps.unconverged) + cps.outside + cps.diverged == n


# ----------------------------------------------------------------------------- gradient-flat
def h_prime(x):
    return x**3 - 3 * x + 3  # > 0 near x = 1, where it has a local minimum 1 (h'' = 0)


def flat_fn(x):
    """f = h(x) + (y² − 1)², h(x) = x⁴/4 − 3x²/2 + 3x, on [−3, 3] × [−2, 2].

    ∇f = (h'(x), 4y(y² − 1)) and H = diag(h''(x), 12y² − 4). h' = x³ − 3x + 3 has one
    real root x* ≈ −2.1038 (h'' > 0 there): the critical points are (x*, ±1), minima, and
    (x*, 0), a saddle. At x = 1, h' = 1 is a local minimum of h' (h''(1) = 0, h''' > 0),
    so at (1, y) with y ∈ {−1, 0, 1}: ∇f = (1, 0) ≠ 0 but H∇f = (h''h', ·) = 0 and
    ‖∇f‖² = h'² + (4y(y² − 1))² has a strict local minimum 1: gradient-flat points,
    where a minimiser of ‖∇f‖² stops and Newton finds nothing.
    """
    return x[0] ** 4 / 4 - 1.5 * x[0] ** 2 + 3 * x[0] + (x[1] ** 2 - 1) ** 2


FLAT = saddle.Objective(fn=flat_fn, dim=2, bounds=((-3.0, -2.0), (3.0, 2.0)), name="flat")
FLAT_POINTS = np.array([[1.0, -1.0], [1.0, 0.0], [1.0, 1.0]])


def test_flat_objective_is_what_its_docstring_says(x64):
    roots = np.roots([1.0, 0.0, -3.0, 3.0])
    assert np.sum(np.abs(roots.imag) < 1e-12) == 1
    grad = jax.jit(jax.vmap(jax.grad(flat_fn)))
    p = jnp.asarray(FLAT_POINTS)
    g = grad(p)
    hg = jnp.einsum("nij,nj->ni", jax.jit(jax.vmap(jax.hessian(flat_fn)))(p), g)
    np.testing.assert_allclose(np.linalg.norm(g, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(hg, 0.0, atol=1e-12)
    # ‖∇f‖² is larger on a small circle around each point: a strict local minimum.
    angle = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = 1e-2 * np.stack([np.cos(angle), np.sin(angle)], -1)
    for q in FLAT_POINTS:
        assert np.all(np.sum(np.asarray(grad(jnp.asarray(q + ring))) ** 2, axis=1) > 1.0)


def test_gradient_flat_points_are_reported_apart():
    cps = saddle.find_critical_points(FLAT, key=jax.random.PRNGKey(0), n_starts=1024)
    roots = np.roots([1.0, 0.0, -3.0, 3.0])
    x_star = float(roots[np.abs(roots.imag) < 1e-12][0].real)
    np.testing.assert_allclose(np.sort(cps.x[:, 1]), [-1, 0, 1], atol=1e-9)
    np.testing.assert_allclose(cps.x[:, 0], x_star, atol=1e-9)
    assert sorted(cps.kind.tolist()) == ["minimum", "minimum", "saddle"]
    flat = cps.gradient_flat[np.argsort(cps.gradient_flat[:, 1])]
    np.testing.assert_allclose(flat, FLAT_POINTS, atol=1e-6)
    np.testing.assert_allclose(cps.gradient_flat_grad_norm, 1.0, rtol=1e-9)
    # Every start that did not reach a critical point ended at one of them.
    assert cps.gradient_flat_hits.sum() == len(cps.unconverged)
    assert cps.hits.sum() + len(cps.unconverged) + cps.outside == 1024
    # Newton alone does not settle there: its unconverged starts end scattered.
    newton = saddle.find_critical_points(FLAT, key=jax.random.PRNGKey(0), n_starts=1024,
                                         method="newton")
    assert newton.gradient_flat_hits.sum() < 0.1 * len(newton.unconverged)


def radial_fn(x):
    """f = ψ(r²) with ψ'(s) = ((s − 1)² + 0.2)/2, so f'(r) = r((r² − 1)² + 0.2) > 0 for r > 0:
    the origin is the only critical point (a minimum). f''(r) = 0 at r₀² = (6 + √12)/10,
    where ‖∇f‖ = f'(r) has a local minimum > 0 along r and H∇f = f''(r)f'(r) r̂ = 0: a
    whole circle of gradient-flat points."""
    s = x @ x
    return ((s - 1) ** 3 / 3 + 0.2 * s) / 2


def test_a_gradient_flat_circle():
    obj = saddle.Objective(fn=radial_fn, dim=2, bounds=(-1.5, 1.5), name="radial")
    cps = saddle.find_critical_points(obj, key=jax.random.PRNGKey(1), n_starts=512)
    assert cps.kind.tolist() == ["minimum"]
    np.testing.assert_allclose(cps.x, [[0.0, 0.0]], atol=1e-9)
    r0 = np.sqrt((6 + np.sqrt(12)) / 10)
    assert len(cps.gradient_flat) > 20  # spread around the circle
    np.testing.assert_allclose(np.linalg.norm(cps.gradient_flat, axis=1), r0, atol=1e-4)
    np.testing.assert_allclose(cps.gradient_flat_grad_norm, r0 * ((r0**2 - 1) ** 2 + 0.2),
                               rtol=1e-6)


# ----------------------------------------------------------------------------- other checks
def test_float32_search_finds_himmelblau():
    cps = saddle.find_critical_points(get("himmelblau"), key=jax.random.PRNGKey(0),
                                      n_starts=512, x64=False)
    assert cps.x.dtype == np.float32
    assert sorted(cps.kind.tolist()) == ["maximum"] + ["minimum"] * 4 + ["saddle"] * 4


def test_newton_solve_converges_on_a_quadratic():
    x, gn = saddle.critical.newton_solve(get("booth").fn, jnp.zeros((3, 2)), 5, 100.0)
    np.testing.assert_allclose(x, [[1.0, 3.0]] * 3, atol=1e-5)
    assert np.all(gn < 1e-3)


# ----------------------------------------------------------------------------- bad input
class Traced:
    """An objective function that counts how often it is traced."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return jnp.sum(x**2)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_starts=0), ValueError, "n_starts must be >= 1, got 0"),
    (dict(n_starts=-5), ValueError, "n_starts must be >= 1"),
    (dict(n_starts=2.5), TypeError, "n_starts must be an int"),
    (dict(steps=0), ValueError, "steps must be >= 1"),
    (dict(grad_tol=0.0), ValueError, "grad_tol must be a finite number > 0"),
    (dict(grad_tol=-1e-3), ValueError, "grad_tol must be a finite number > 0"),
    (dict(step_tol=-1.0), ValueError, "step_tol must be a finite number > 0"),
    (dict(flat_merge_tol=0), ValueError, "flat_merge_tol must be a finite number > 0"),
    (dict(max_starts=0), ValueError, "max_starts must be >= 1"),
    (dict(neighbours=1.5), TypeError, "neighbours must be an int"),
    (dict(flat_tol=0.0), ValueError, "flat_tol must be a finite number > 0"),
    (dict(flat_tol=float("nan")), ValueError, "flat_tol must be a finite number > 0"),
    (dict(method="bfgs"), ValueError, "unknown method 'bfgs'; known: hybrid, newton"),
])
def test_bad_arguments_fail_in_one_line_before_tracing(kwargs, error, match):
    fn = Traced()
    obj = saddle.Objective(fn=fn, dim=2, bounds=(-1.0, 1.0))
    fn.calls = 0
    with pytest.raises(error, match=match) as info:
        saddle.find_critical_points(obj, key=jax.random.PRNGKey(0), **kwargs)
    assert "\n" not in str(info.value)
    assert fn.calls == 0


def test_a_plain_callable_is_rejected():
    with pytest.raises(TypeError, match=r"objective must be a saddle\.Objective \(with bounds\), "
                                        r"got function"):
        saddle.find_critical_points(get("himmelblau").fn, key=jax.random.PRNGKey(0))


@pytest.mark.slow  # CI time: see BUILD_NOTES 'Test-suite time'
def test_chunked_search_equals_one_call():
    obj = saddle.objectives.get("six_hump_camel")
    key = jax.random.PRNGKey(4)
    a = saddle.find_critical_points(obj, key=key, n_starts=600)
    b = saddle.find_critical_points(obj, key=key, n_starts=600, chunk_size=128)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.hits, b.hits)
    assert len(a) == 15
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        saddle.find_critical_points(obj, key=key, chunk_size=0)


# ----------------------------------------------------------------------------- against a catalogue
def test_match_catalogue_against_brute_force_distances():
    """Random points, some within tol of a catalogue point: the nearest within tol by a
    dense distance matrix (argmin: the lowest index on ties) decides both outputs."""
    rng = np.random.default_rng(0)
    known = rng.uniform(-1, 1, size=(40, 3))
    found = np.concatenate([known[::2] + rng.normal(0, 1e-4, (20, 3)),  # near every other one
                            rng.uniform(-1, 1, (15, 3)), known[4:5]])  # and a duplicate of 4
    tol = 1e-3
    in_cat, match = saddle.critical.match_catalogue(found, known, tol)
    dist = np.linalg.norm(found[:, None] - known[None], axis=-1)
    np.testing.assert_array_equal(in_cat, dist.min(axis=1) <= tol)
    expect = np.where(dist.min(axis=0) <= tol, dist.argmin(axis=0), -1)
    np.testing.assert_array_equal(match, expect)
    assert match[4] == 35 and match[1] == -1  # the exact copy is nearer than the jittered one
    empty, none = saddle.critical.match_catalogue(np.zeros((0, 3)), known, tol)
    assert empty.shape == (0,) and np.all(none == -1)
    with pytest.raises(ValueError, match="one d"):
        saddle.critical.match_catalogue(found, known[:, :2], tol)


def test_compare_catalogue_checks_kind_and_index():
    """Himmelblau's 9 catalogued points given as "found", one with the wrong index, one
    missing, one extra point: found flags, in_catalogue flags and the catalogued index."""
    obj = get("himmelblau")
    known = [p for p in obj.known if p.smooth]
    x = np.array([p.x for p in known])
    index = np.array([p.index for p in known])
    kind = np.array([p.kind for p in known])
    index[0] = 1  # a minimum reported with index 1
    cps = saddle.CriticalPoints(
        x=np.concatenate([x[:-1], [[0.0, 0.0]]]), value=np.zeros(9),
        index=np.concatenate([index[:-1], [0]]), kind=np.concatenate([kind[:-1], ["minimum"]]),
        eigenvalues=np.zeros((9, 2)), grad_norm=np.zeros(9), hits=np.ones(9, int),
        unconverged=np.zeros((0, 2)), outside=0, grad_tol=1e-8, gradient_flat=np.zeros((0, 2)),
        gradient_flat_grad_norm=np.zeros(0), gradient_flat_hits=np.zeros(0, int), diverged=0,
        method="hybrid")
    m = saddle.critical.compare_catalogue(cps, obj, 1e-6)
    np.testing.assert_array_equal(m.found, [False] + [True] * 7 + [False])
    np.testing.assert_array_equal(m.in_catalogue, [True] * 8 + [False])
    np.testing.assert_array_equal(m.index, [p.index for p in known])
    assert m.complete


def test_index_counts_and_the_separable_formula():
    """C(d, k)·a^(d−k)·b^k against counting the index (number of coordinates at a maximum)
    over every product of the 1-D critical points, by brute force."""
    import itertools

    for a, b, d in ((2, 1, 4), (11, 10, 2), (3, 2, 3)):
        brute = np.bincount([sum(c) for c in itertools.product([0] * a + [1] * b, repeat=d)],
                            minlength=d + 1)
        np.testing.assert_array_equal(saddle.critical.separable_index_counts(a, b, d), brute)
    np.testing.assert_array_equal(saddle.critical.index_counts([0, 2, 2, 1, 0, 0], 3),
                                  [3, 1, 2, 0])
    with pytest.raises(ValueError, match=r"index must lie in 0\.\.2"):
        saddle.critical.index_counts([0, 3], 2)
