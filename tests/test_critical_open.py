"""find_critical_points on functions outside the registry, each checked against an independent
computation: separable 1-D roots (Bohachevsky 1), scipy's root finder with the analytic
gradient and Hessian (Bohachevsky 2, Easom), closed forms (Brown, a circle and a plane of
minima, two minima 2·10⁻³ apart); and the Chao1 completeness estimate."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

import saddle
from saddle.critical import IncompleteSearchWarning
from saddle.precision import float64

PI = np.pi


def find(fn, bounds, dim=2, n_starts=4096, **kwargs):
    obj = saddle.Objective(fn=fn, dim=dim, bounds=bounds, name=getattr(fn, "__name__", "f"))
    return saddle.find_critical_points(obj, key=jax.random.PRNGKey(0), n_starts=n_starts,
                                       **kwargs)


def accounted(cps):
    """Every start is counted once: at a point, on a set, unconverged, outside, diverged."""
    return (cps.hits.sum() + sum(s.hits for s in cps.sets) + len(cps.unconverged)
            + cps.outside + cps.diverged)


def kind_of(eigenvalues):
    neg, pos = np.sum(eigenvalues < 0), np.sum(eigenvalues > 0)
    return "saddle" if neg and pos else "maximum" if neg else "minimum"


def roots_from_grid(grad, hess, lo, hi, n):
    """Distinct zeros of ``grad`` found by scipy's MINPACK hybrid method from an n × n grid,
    with their kinds by the eigenvalues of ``hess``."""
    found = []
    for x0 in np.stack(np.meshgrid(np.linspace(lo[0], hi[0], n),
                                   np.linspace(lo[1], hi[1], n)), -1).reshape(-1, 2):
        sol = scipy.optimize.root(grad, x0, jac=hess, method="hybr", tol=1e-14)
        if sol.success and np.linalg.norm(grad(sol.x)) < 1e-10 and np.all(
                (sol.x >= lo) & (sol.x <= hi)):
            if not any(np.linalg.norm(sol.x - p) < 1e-6 for p in found):
                found.append(sol.x)
    x = np.array(found)
    return x, np.array([kind_of(np.linalg.eigvalsh(hess(p))) for p in x])


def assert_same_points(cps, x, kinds, tol=1e-7):
    """The finder's points and the independent ones match one to one, with their kinds."""
    assert len(cps) == len(x), (len(cps), len(x))
    for p, k in zip(x, kinds, strict=True):
        dist = np.linalg.norm(cps.x - p, axis=1)
        i = int(np.argmin(dist))
        assert dist[i] < tol, (p, dist[i])
        assert cps.kind[i] == k, (p, cps.kind[i], k)


# ----------------------------------------------------------------------------- Bohachevsky
def bohachevsky1(x):
    return (x[0] ** 2 + 2 * x[1] ** 2 - 0.3 * jnp.cos(3 * jnp.pi * x[0])
            - 0.4 * jnp.cos(4 * jnp.pi * x[1]) + 0.7)


def test_bohachevsky_1_every_product_of_the_1d_critical_points():
    """f = g(x) + h(y) is separable: its critical points are the products of the 1-D ones,
    found here by sign changes of g' and h' on a fine grid and brentq; the kind follows
    from the signs of g'' and h''. 5 minima and 4 maxima on each axis: 25/40/16. On
    [−100, 100]² these lie within 0.3 of each other, closer than the 1e-3 box diagonals
    (0.28) by which the finder used to merge."""
    axes = []
    for a, b in ((0.3 * 3 * PI, 3 * PI), (0.4 * 4 * PI, 4 * PI)):
        c = 2 if b == 3 * PI else 4
        d1 = lambda t, a=a, b=b, c=c: c * t + a * np.sin(b * t)  # noqa: E731
        grid = np.linspace(-3, 3, 60001)
        s = np.sign(d1(grid))
        roots = [scipy.optimize.brentq(d1, grid[i], grid[i + 1], xtol=1e-15)
                 for i in np.flatnonzero(s[:-1] * s[1:] < 0)]
        roots += list(grid[s == 0])
        curv = [c + a * b * np.cos(b * t) for t in roots]
        axes.append((np.array(roots), np.sign(curv)))
    (rx, cx), (ry, cy) = axes
    assert (np.sum(cx > 0), np.sum(cx < 0), np.sum(cy > 0), np.sum(cy < 0)) == (5, 4, 5, 4)
    x = np.array([[u, v] for u in rx for v in ry])
    kinds = np.array([kind_of(np.array([a, b])) for a in cx for b in cy])
    cps = find(bohachevsky1, (-100.0, 100.0))
    assert_same_points(cps, x, kinds)
    assert [int(np.sum(cps.kind == k)) for k in ("minimum", "saddle", "maximum")] == [25, 40, 16]
    assert not cps.sets and cps.richness.unseen < 1
    assert accounted(cps) == 4096


def bohachevsky2(x):
    return (x[0] ** 2 + 2 * x[1] ** 2
            - 0.3 * jnp.cos(3 * jnp.pi * x[0]) * jnp.cos(4 * jnp.pi * x[1]) + 0.3)


def test_bohachevsky_2_against_scipy_roots_including_the_global_minimum():
    def grad(p):
        x, y = p
        return np.array([2 * x + 0.9 * PI * np.sin(3 * PI * x) * np.cos(4 * PI * y),
                         4 * y + 1.2 * PI * np.cos(3 * PI * x) * np.sin(4 * PI * y)])

    def hess(p):
        x, y = p
        cc = np.cos(3 * PI * x) * np.cos(4 * PI * y)
        ss = -3.6 * PI**2 * np.sin(3 * PI * x) * np.sin(4 * PI * y)
        return np.array([[2 + 2.7 * PI**2 * cc, ss], [ss, 4 + 4.8 * PI**2 * cc]])

    # |2x| ≤ 0.9π and |4y| ≤ 1.2π at a critical point: all lie in [−1.42, 1.42] × [−0.95, 0.95].
    x, kinds = roots_from_grid(grad, hess, np.array([-1.5, -1.0]), np.array([1.5, 1.0]), 61)
    cps = find(bohachevsky2, (-100.0, 100.0))
    assert_same_points(cps, x, kinds)
    assert cps.kind[0] == "minimum" and np.allclose(cps.x[0], 0.0, atol=1e-12)
    assert cps.value[0] == pytest.approx(0.0, abs=1e-12)
    assert accounted(cps) == 4096


# ----------------------------------------------------------------------------- autodiff NaN
def brown(x):
    return (x[0] ** 2) ** (x[1] ** 2 + 1) + (x[1] ** 2) ** (x[0] ** 2 + 1)


def test_brown_minimum_where_autodiff_gives_nan_is_reported_undefined():
    """At the origin 0^y makes jax's Hessian NaN though f is smooth there (f ≈ x² + y²).
    The finder reports the point, kind "undefined" (no Hessian), never drops it."""
    h = jax.hessian(brown)(jnp.zeros(2))
    assert not np.all(np.isfinite(np.asarray(h)))  # the failure being handled
    cps = find(brown, (-1.0, 4.0))
    assert cps.kind.tolist() == ["undefined"] and cps.index.tolist() == [-1]
    np.testing.assert_allclose(cps.x, [[0.0, 0.0]], atol=1e-12)
    assert cps.hits[0] >= 0.99 * 4096 and cps.diverged == 0
    # Independently: f > 0 = f(0) on a grid of the box, and Nelder–Mead (no derivatives)
    # from 64 random starts only ever reaches the origin.
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 4, 201)] * 2), -1).reshape(-1, 2)
    vals = (grid[:, 0] ** 2) ** (grid[:, 1] ** 2 + 1) + (grid[:, 1] ** 2) ** (grid[:, 0] ** 2 + 1)
    assert np.all(vals[np.any(grid != 0, axis=1)] > 0)
    def f(p):
        return (p[0] ** 2) ** (p[1] ** 2 + 1) + (p[1] ** 2) ** (p[0] ** 2 + 1)

    for x0 in np.random.default_rng(0).uniform(-1, 4, (64, 2)):
        sol = scipy.optimize.minimize(f, x0, method="Nelder-Mead",
                                      options=dict(xatol=1e-6, fatol=1e-12))
        assert np.linalg.norm(sol.x) < 1e-2


def sqrt_bowl(x):
    return jnp.sqrt(x @ x) ** 2  # = ‖x‖²; autodiff: ∞·0 = NaN at the origin, its minimum


def test_a_nan_gradient_at_a_smooth_minimum_is_replaced_by_central_differences():
    """As at drop-wave's minimum: jax's gradient is NaN at the origin, where f = ‖x‖² has
    its minimum. Newton lands there exactly; central differences give ∇f = 0, so the
    point is critical, kind "undefined" (the Hessian is NaN too), and no start diverged."""
    g = jax.grad(sqrt_bowl)(jnp.zeros(2))
    assert not np.all(np.isfinite(np.asarray(g)))
    cps = find(sqrt_bowl, (-1.0, 1.0), n_starts=256)
    assert cps.kind.tolist() == ["undefined"] and cps.diverged == 0
    np.testing.assert_allclose(cps.x, [[0.0, 0.0]], atol=1e-12)
    assert cps.hits[0] == 256
    with float64():  # error ~ε^(2/3): 4e-11 in float64
        fd = saddle.critical.solver.fd_gradient(sqrt_bowl, np.array([[0.0, 0.0], [0.3, -0.2]]))
    np.testing.assert_allclose(fd, [[0.0, 0.0], [0.6, -0.4]], atol=1e-9)


# ----------------------------------------------------------------------------- sets
def easom(x):
    return -jnp.cos(x[0]) * jnp.cos(x[1]) * jnp.exp(-(x[0] - jnp.pi) ** 2 - (x[1] - jnp.pi) ** 2)


def test_easom_plateau_is_one_set_and_the_resolvable_points_are_found():
    """Away from (π, π) Easom is flat to below the gradient tolerance: a plateau of
    (numerical) critical points, one set of dimension 2, not one point per start. Near the
    centre the points whose Hessian is resolvable (|λ| ≥ 1e-4) are found by scipy from a
    grid; every one is found with its kind, and every point reported is a zero of the
    analytic gradient. (Box [π − 8, π + 8]²: on the standard [−100, 100]² the centre
    is ~10⁻³ of the box and 4096 starts rarely reach it.)"""
    def grad(p):
        x, y = p
        e = np.exp(-(x - PI) ** 2 - (y - PI) ** 2)
        return e * np.array([np.sin(x) * np.cos(y) + 2 * (x - PI) * np.cos(x) * np.cos(y),
                             np.cos(x) * np.sin(y) + 2 * (y - PI) * np.cos(x) * np.cos(y)])

    def hess(p, h=1e-6):
        return np.stack([(grad(p + h * e) - grad(p - h * e)) / (2 * h) for e in np.eye(2)], 1)

    lo, hi = np.full(2, PI - 8), np.full(2, PI + 8)
    x, kinds = roots_from_grid(grad, hess, PI - 3.5 + 0 * lo, PI + 3.5 + 0 * hi, 36)
    clear = np.array([np.min(np.abs(np.linalg.eigvalsh(hess(p)))) >= 1e-4 for p in x])
    cps = find(easom, (PI - 8, PI + 8))
    for p, k in zip(x[clear], kinds[clear], strict=True):
        dist = np.linalg.norm(cps.x - p, axis=1)
        assert dist.min() < 1e-7 and cps.kind[np.argmin(dist)] == k, (p, k)
    assert np.sum(clear) >= 9 and cps.kind[0] == "minimum"
    assert cps.value[0] == pytest.approx(-1.0, abs=1e-12)
    assert all(np.linalg.norm(grad(p)) < 1e-9 for p in cps.x)
    (plateau,) = cps.sets
    assert plateau.dimension == 2 and plateau.kind == "degenerate"
    assert abs(plateau.value) < 1e-8
    assert np.max(np.linalg.norm(plateau.x - PI, axis=1)) > 10  # it reaches the corners
    assert plateau.hits > 0.9 * 4096 and accounted(cps) == 4096


def ring(x):
    return (x @ x - 1) ** 2


def test_a_circle_of_minima_is_one_set_of_dimension_one():
    """f = (‖x‖² − 1)²: the unit circle is a set of minima (H has eigenvalues 0 along the
    circle and 8 across it), the origin a maximum (H = −4I); nothing else."""
    cps = find(ring, (-2.0, 2.0))
    assert cps.kind.tolist() == ["maximum"] and cps.index.tolist() == [2]
    np.testing.assert_allclose(cps.x, [[0.0, 0.0]], atol=1e-12)
    (circle,) = cps.sets
    assert (circle.dimension, circle.kind, circle.index) == (1, "minimum", 0)
    np.testing.assert_allclose(np.linalg.norm(circle.x, axis=1), 1.0, atol=1e-9)
    angles = np.sort(np.arctan2(circle.x[:, 1], circle.x[:, 0]))
    assert np.max(np.diff(np.r_[angles, angles[0] + 2 * PI])) < 0.1  # all the way round
    assert accounted(cps) == 4096 and cps.richness.unseen < 1


def plane(x):
    return (x[0] - x[1]) ** 2


def test_a_plane_of_minima_in_3d_has_dimension_two():
    cps = find(plane, (-1.0, 1.0), dim=3, n_starts=1000)
    assert len(cps) == 0
    (valley,) = cps.sets
    assert (valley.dimension, valley.kind) == (2, "minimum")
    np.testing.assert_allclose(valley.x[:, 0], valley.x[:, 1], atol=1e-9)
    assert np.ptp(valley.x[:, 2]) > 1.5 and accounted(cps) == 1000


def two_close_minima(x):
    return (x[0] ** 2 - 1e-6) ** 2 + x[1] ** 2


def test_distinct_points_closer_than_any_box_fraction_stay_apart():
    """Minima at (±10⁻³, 0) and a saddle at the origin, all within 10⁻³ of each other on
    a box of diagonal 2.8 (the old merge distance was 2.8·10⁻³): three points."""
    cps = find(two_close_minima, (-1.0, 1.0), n_starts=1024)
    assert cps.kind.tolist() == ["minimum", "minimum", "saddle"]
    np.testing.assert_allclose(np.sort(cps.x[:2, 0]), [-1e-3, 1e-3], rtol=1e-9)
    np.testing.assert_allclose(cps.x[2], [0.0, 0.0], atol=1e-12)
    assert not cps.sets


# ----------------------------------------------------------------------------- completeness
def test_chao1_warns_at_too_few_starts_and_not_at_enough():
    """Rastrigin 2-D has 441 critical points in its box (catalogue, complete). At 256 starts
    many are reached once: the finder warns and estimates more than it saw. At 4096 it
    sees all 441 and says so; with max_starts it adds rounds until the estimate is < 1."""
    obj = saddle.objectives.get("rastrigin", dim=2)
    key = jax.random.PRNGKey(0)
    with pytest.warns(IncompleteSearchWarning, match="probably incomplete"):
        few = saddle.find_critical_points(obj, key=key, n_starts=256)
    assert few.richness.unseen >= 1 and few.richness.high > few.richness.observed
    assert few.richness.observed < 441 < few.richness.estimate + 441  # sanity of the count
    with warnings.catch_warnings():
        warnings.simplefilter("error", IncompleteSearchWarning)
        enough = saddle.find_critical_points(obj, key=key, n_starts=4096)
        grown = saddle.find_critical_points(obj, key=key, n_starts=1024, max_starts=16384)
    assert len(enough) == 441 and enough.richness.unseen < 1
    assert grown.richness.unseen < 1 and grown.n_starts > 1024 and grown.n_starts % 1024 == 0
    assert len(grown) >= few.richness.observed and accounted(grown) == grown.n_starts


def drop_wave(x):
    r2 = x @ x
    return -(1 + jnp.cos(12 * jnp.sqrt(r2))) / (0.5 * r2 + 2)


def test_drop_wave_rings_are_sets_whole_inside_the_box_and_cut_into_four_arcs_outside():
    """f = φ(‖x‖): every root r_k > 0 of φ' (brentq on a grid) is a circle of critical points,
    of minima where φ'' > 0 and maxima where φ'' < 0; the origin, where autodiff gives NaN,
    is the minimum. A circle inside [−5.12, 5.12]² is one set; one with 5.12 < r < 5.12√2
    meets the box in four arcs: four sets. (Rings beyond r = 6.6 reach only the corners
    and draw few starts; they are not checked.)"""
    def d1(r):
        den = 0.5 * r * r + 2
        return 12 * np.sin(12 * r) / den + (1 + np.cos(12 * r)) * r / den**2

    grid = np.linspace(0.05, 6.6, 200_001)
    s = np.sign(d1(grid))
    radii = np.array([scipy.optimize.brentq(d1, grid[i], grid[i + 1])
                      for i in np.flatnonzero(s[:-1] * s[1:] < 0)])
    h = 1e-5
    curv = (d1(radii + h) - d1(radii - h)) / (2 * h)
    cps = find(drop_wave, (-5.12, 5.12))
    assert cps.kind.tolist() == ["undefined"] and np.allclose(cps.x, 0, atol=1e-12)
    set_r = np.array([np.median(np.linalg.norm(st.x, axis=1)) for st in cps.sets])
    for r, c in zip(radii, curv, strict=True):
        on = [st for st, q in zip(cps.sets, set_r, strict=True) if abs(q - r) < 1e-6]
        assert len(on) == (1 if r < 5.12 else 4), (r, len(on))
        for st in on:
            assert st.dimension == 1 and st.kind == ("minimum" if c > 0 else "maximum")
            np.testing.assert_allclose(np.linalg.norm(st.x, axis=1), r, atol=1e-8)
    assert accounted(cps) == 4096
