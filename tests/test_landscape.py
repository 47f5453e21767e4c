"""Paths between minima: the band recovers known saddles (closed form, the literature, scipy),
barriers both ways, the disconnectivity tree against hand-computed merges, bad input."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

import saddle
from saddle.landscape import connect_minima, merge_tree, neb
from saddle.precision import float64


def double_well(x):
    """(x² − 1)² + y²: minima (±1, 0) with f = 0, one saddle at the origin with f = 1,
    Hessian diag(−4, 2) there (index 1)."""
    return (x[0] ** 2 - 1) ** 2 + x[1] ** 2


def test_band_recovers_the_closed_form_saddle():
    with float64():
        # Ends off the axis so that the straight band is not already the path.
        b = neb(double_well, [[-1.0, 0.6], [1.0, -0.4]], [[1.0, -0.6], [-1.0, -0.5]],
                images=11, steps=800)
        for k in range(2):
            x = b.path[k, b.climbing[k]]
            assert np.abs(x).max() < 1e-6, x
            assert abs(b.value[k, b.climbing[k]] - 1.0) < 1e-10
            c = saddle.classify(double_well, x[None])
            assert c.index[0] == 1 and c.kind[0] == "saddle"
            np.testing.assert_allclose(c.eigenvalues[0], [-4.0, 2.0], atol=1e-5)
        np.testing.assert_array_equal(b.path[:, 0], [[-1.0, 0.6], [1.0, -0.4]])  # ends fixed
        f = np.array([[float(double_well(jnp.asarray(x))) for x in band] for band in b.path])
        np.testing.assert_allclose(b.value, f, rtol=1e-12)


# Müller–Brown, written out in numpy for scipy (independent of saddle's jax version).
A = np.array([-200.0, -100.0, -170.0, 15.0])
a_, b_ = np.array([-1, -1, -6.5, 0.7]), np.array([0, 0, 11, 0.6])
c_ = np.array([-10, -10, -6.5, 0.7])
X0, Y0 = np.array([1.0, 0.0, -0.5, -1.0]), np.array([0.0, 0.5, 1.5, 1.0])


def mb(p):
    dx, dy = p[0] - X0, p[1] - Y0
    return float(np.sum(A * np.exp(a_ * dx**2 + b_ * dx * dy + c_ * dy**2)))


def mb_grad(p):
    dx, dy = p[0] - X0, p[1] - Y0
    e = A * np.exp(a_ * dx**2 + b_ * dx * dy + c_ * dy**2)
    return np.array([np.sum(e * (2 * a_ * dx + b_ * dy)), np.sum(e * (b_ * dx + 2 * c_ * dy))])


@pytest.fixture(scope="module")
def muller_brown():
    obj = saddle.objectives.get("muller_brown")
    return obj, connect_minima(obj, obj.catalogue.x("minimum"), steps=1000)


def test_muller_brown_saddles_match_literature_and_scipy(muller_brown):
    """Literature (Müller & Brown 1979): saddles −40.66 at (−0.822, 0.624) and −72.25 at
    (0.212, 0.293). Independently: MINPACK on the numpy gradient from the rounded
    literature locations, and a finite-difference Hessian with one negative eigenvalue."""
    _, db = muller_brown
    assert len(db.minima_value) == 3 and len(db.saddle_value) == 2
    order = np.argsort(db.saddle_value)
    np.testing.assert_allclose(db.saddle_value[order], [-72.25, -40.66], atol=0.01)
    for s, x_lit in zip(order, [(0.212, 0.293), (-0.822, 0.624)], strict=True):
        sol = scipy.optimize.root(mb_grad, x_lit, tol=1e-13)
        assert sol.success
        np.testing.assert_allclose(db.saddle_x[s], sol.x, atol=1e-8)
        assert abs(db.saddle_value[s] - mb(sol.x)) < 1e-8
        h = np.array([(mb_grad(sol.x + e) - mb_grad(sol.x - e)) / 2e-6 for e in np.eye(2) * 1e-6])
        assert np.sum(np.linalg.eigvalsh((h + h.T) / 2) < 0) == 1
        assert np.sum(db.saddle_eigenvalues[s] < 0) == 1
    np.testing.assert_allclose(np.sort(db.minima_value), [-146.70, -108.17, -80.77], atol=0.01)


def test_muller_brown_edges_and_barriers_both_ways(muller_brown):
    """The deep saddle (−40.66) joins the global minimum (−146.70) and the middle one
    (−80.77); the other (−72.25) joins the middle one and −108.17. Barriers are
    f(saddle) − f(minimum) for both ends; the graph is a path, so connected."""
    _, db = muller_brown
    name = {round(float(v), 2): i for i, v in enumerate(db.minima_value)}
    for s, v in enumerate(db.saddle_value):
        want = {-40.66: {-146.70, -80.77}, -72.25: {-80.77, -108.17}}[round(float(v), 2)]
        assert {round(float(db.minima_value[m]), 2) for m in db.edges[s]} == want
        np.testing.assert_allclose(db.barrier[s], v - db.minima_value[db.edges[s]], rtol=1e-12)
    tree = merge_tree(db.minima_value, db.edges, db.saddle_value)
    assert tree.connected
    assert tree.barrier(name[-146.7], name[-108.17]) == pytest.approx(-40.66, abs=0.01)
    assert db.graph().number_of_edges() == 2


def test_band_through_an_intermediate_minimum(muller_brown):
    """The band from the global minimum to −108.17 passes the middle minimum: its energy
    profile has two maxima, and both saddles are found by it."""
    _, db = muller_brown
    lo, hi = np.argmin(db.minima_value), np.argsort(db.minima_value)[1]
    k = next(i for i, p in enumerate(db.pairs.tolist()) if set(p) == {lo, hi})
    v = db.bands.value[k]
    peaks = np.sum((v[1:-1] > v[:-2]) & (v[1:-1] >= v[2:]))
    assert peaks == 2


def brute_minimax(values, edges, saddles, i, j):
    """The lowest E such that i and j are joined using saddles with energy ≤ E (try every
    saddle energy in ascending order, flood fill)."""
    for level in sorted(set(saddles)):
        reach, grew = {i}, True
        while grew:
            grew = False
            for (a, b), s in zip(edges, saddles, strict=True):
                if s <= level and (a in reach) != (b in reach):
                    reach |= {a, b}
                    grew = True
        if j in reach:
            return level
    return np.inf


def test_merge_tree_on_a_hand_made_graph():
    """Minima 0..4 at 0, 1, 2, 3, 10; saddles 0–1 at 5, 1–2 at 4, 0–2 at 7 (redundant),
    2–3 at 6, and minimum 4 alone. Merges: {1,2} at 4, +0 at 5, +3 at 6; two trees."""
    values = [0.0, 1.0, 2.0, 3.0, 10.0]
    edges = [[0, 1], [1, 2], [0, 2], [2, 3]]
    saddles = [5.0, 4.0, 7.0, 6.0]
    t = merge_tree(values, edges, saddles)
    assert t.level.tolist() == [4.0, 5.0, 6.0]
    assert t.saddle.tolist() == [1, 0, 3]
    assert not t.connected and len(t.roots) == 2 and 4 in t.roots
    assert t.children.tolist()[0] in ([1, 2], [2, 1])
    for i, j in itertools.combinations(range(5), 2):
        assert t.barrier(i, j) == brute_minimax(values, edges, saddles, i, j), (i, j)


def test_merge_tree_random_graphs_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = 7
        values = rng.normal(size=m)
        edges = np.array([p for p in itertools.combinations(range(m), 2) if rng.random() < 0.4]
                         ).reshape(-1, 2)
        saddles = np.array([max(values[a], values[b]) + rng.random() * 2 for a, b in edges])
        t = merge_tree(values, edges, saddles)
        for i, j in itertools.combinations(range(m), 2):
            assert t.barrier(i, j) == brute_minimax(values, edges.tolist(), saddles.tolist(),
                                                    i, j)


@pytest.mark.parametrize("call, match", [
    (lambda: neb(double_well, [[0.0, 0.0]], [[1.0]]), "end has d=1"),
    (lambda: neb(double_well, [[0.0, 0.0]], [[0.0, 0.0]]), "start and end coincide"),
    (lambda: neb(double_well, [[0.0, 0.0]], [[1.0, 0.0]], images=2), "images must be >= 3"),
    (lambda: neb(double_well, [[0.0, 0.0]], [[1.0, 0.0]], climb=1.5), "climb must lie"),
    (lambda: neb(double_well, [[np.nan, 0.0]], [[1.0, 0.0]]), "start has 1 row"),
    (lambda: neb(double_well, [[0.0, 0.0]], [[1.0, 0.0]], lr=0), "lr must be"),
    (lambda: neb(lambda x: x, [[0.0, 0.0]], [[1.0, 0.0]]), "f must return a scalar"),
    (lambda: neb(double_well, [[0.0, 0.0]], [[1.0, 0.0]], path0=np.zeros((1, 4, 2))),
     "path0 must have shape"),
    (lambda: connect_minima(double_well, [[-1.0, 0.0], [1.0, 0.0]]),
     "objective must be a saddle.Objective"),
    (lambda: connect_minima(saddle.objectives.get("muller_brown"), [[-0.558, 1.442]]),
     "at least two minima"),
    (lambda: connect_minima(saddle.objectives.get("muller_brown"), [[0.0, 0.0, 0.0]]),
     "minima_x has d=3"),
    (lambda: merge_tree([0.0, 1.0], [[0, 2]], [3.0]), "edges must hold minima 0..1"),
    (lambda: merge_tree([0.0, 1.0], [[0, 1]], [0.5]), r"saddle_value\[0\] = 0.5 lies below"),
    (lambda: merge_tree([0.0, 1.0], [[0, 1]], [3.0, 4.0]), "saddle_value must be finite"),
    (lambda: merge_tree([0.0, 1.0], [[0.0, 1.0]], [3.0]), "edges must be integers"),
])
def test_bad_input_one_line_error_naming_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match) as err:
        call()
    assert "\n" not in str(err.value)


def test_not_a_minimum_is_rejected():
    """A saddle passed as a minimum is caught (Newton stays on it; classify says saddle)."""
    obj = saddle.objectives.get("muller_brown")
    with pytest.raises(ValueError, match="minima_x row 1 is not a minimum"):
        connect_minima(obj, np.stack([obj.catalogue.x("minimum")[0],
                                      obj.catalogue.x("saddle")[0]]), steps=10)



def test_paths_config_rejects_bad_fields():
    import experiments.paths as paths

    assert "muller_brown" in paths.catalogued_2d()
    with pytest.raises(ValueError, match="objectives is empty"):
        paths.Config(objectives=())
    with pytest.raises(ValueError, match="images"):
        paths.Config(images=2)
