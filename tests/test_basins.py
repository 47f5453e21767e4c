import numpy as np
import pytest

import saddle
from saddle.basins import DIVERGED, UNASSIGNED, assign, basin_stats, wilson_interval


def test_wilson_interval_hand_values():
    # p̂ = 0.5, n = 10, z = 1.96: centre 0.5, half-width 1.96·√(0.025 + 0.0096)/1.384 = 0.2634.
    lo, hi = wilson_interval(5, 10)
    np.testing.assert_allclose([lo, hi], [0.2366, 0.7634], atol=1e-4)
    lo, hi = wilson_interval(0, 10)  # upper bound z²/(n + z²) = 3.8416/13.8416
    np.testing.assert_allclose([lo, hi], [0.0, 0.277540], atol=1e-6)
    with pytest.raises(ValueError, match="n must be >= 1"):
        wilson_interval(0, 0)


def test_assign_and_stats_sum_to_one_with_diverged_runs():
    minima = np.array([[0.0, 0.0], [1.0, 1.0]])
    ends = np.array([[0.001, 0], [1, 1.001], [1, 1], [5, 5], [0, 0]])
    div = np.array([False, False, False, False, True])
    labels = assign(ends, minima, tol=0.01, diverged=div)
    assert labels.tolist() == [0, 1, 1, UNASSIGNED, DIVERGED]
    s = basin_stats(ends, minima, tol=0.01, diverged=div)
    assert s.probs.sum() + s.unassigned + s.diverged == pytest.approx(1.0)
    assert s.probs.tolist() == [0.2, 0.4] and s.diverged == 0.2
    assert np.all(s.ci_low <= s.probs) and np.all(s.probs <= s.ci_high)


def test_bad_tolerance():
    with pytest.raises(ValueError, match="tol must be a finite number > 0"):
        saddle.basins.assign(np.zeros((1, 2)), np.zeros((1, 2)), tol=-1)


def test_cluster_recovers_separated_groups():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 3.0]])
    sizes = [50, 30, 20]
    x = np.concatenate([c + 0.01 * rng.standard_normal((k, 2))
                        for c, k in zip(centres, sizes, strict=True)])
    found, labels = saddle.basins.cluster(x, tol=0.5)
    np.testing.assert_allclose(found, centres, atol=0.01)  # largest cluster first
    assert np.bincount(labels).tolist() == sizes


def test_time_to_converge_per_basin():
    steps = np.array([10, 20, 30, -1, 100, 200])
    labels = np.array([0, 0, 0, 0, 1, -2])
    t = saddle.basins.time_to_converge(steps, labels, 2)
    assert t["median"].tolist() == [20, 100] and t["count"].tolist() == [3, 1]
    assert t["all"][0] == 30 and t["all"][3] == 5


def test_basin_map_orientation():
    # grid(3): x varies slowest, so labels == x-index gives an image whose columns are x.
    labels = np.repeat(np.arange(3), 3)
    img = saddle.basins.basin_map(labels, 3)
    assert img[0].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="expected n_per_axis"):
        saddle.basins.basin_map(labels, 4)


@pytest.mark.parametrize("n", [1, 7, 10_000, 10**7])
def test_wilson_interval_contains_the_estimate_at_the_edges(n):
    lo, hi = wilson_interval(n, n)
    assert hi == 1.0 and lo < 1.0
    lo, hi = wilson_interval(0, n)
    assert lo == 0.0 and hi > 0.0


def test_basin_stats_accepts_one_minimum_as_a_vector_and_none():
    ends = np.array([[0.0, 0.0], [0.0, 0.001], [3.0, 3.0]])
    s = basin_stats(ends, np.array([0.0, 0.0]), tol=0.01)
    assert s.counts.tolist() == [2] and s.unassigned == pytest.approx(1 / 3)
    s = basin_stats(ends, np.zeros((0, 2)), tol=0.01)
    assert s.counts.tolist() == [] and s.unassigned == 1.0


# ----------------------------------------------------------------------- k-d tree vs brute force
def _brute_force(x, minima, tol, diverged=None):
    """The direct rule: nearest minimum by the full [n, m] distance matrix, first index on
    ties; non-finite or flagged end points are DIVERGED."""
    x = np.asarray(x, dtype=float)
    minima = np.asarray(minima, dtype=float).reshape(-1, x.shape[1])
    labels = np.full(len(x), UNASSIGNED)
    if len(minima):
        dist = np.linalg.norm(x[:, None, :] - minima[None], axis=-1)
        with np.errstate(invalid="ignore"):
            labels = np.where(dist.min(axis=1) <= tol, dist.argmin(axis=1), UNASSIGNED)
    bad = ~np.isfinite(x).all(axis=1)
    if diverged is not None:
        bad |= np.asarray(diverged, dtype=bool)
    return np.where(bad, DIVERGED, labels)


@pytest.mark.parametrize("seed", range(6))
def test_assign_equals_brute_force_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    d = 1 + seed % 3
    m = [0, 1, 2, 7, 40, 300][seed]
    minima = rng.uniform(-1, 1, size=(m, d))
    if m >= 2:
        minima[1] = minima[0]  # a duplicated minimum: an exact tie, first index wins
    near = minima[rng.integers(m, size=400)] if m else np.zeros((400, d))
    x = np.concatenate([near + rng.normal(scale=0.05, size=near.shape),
                        rng.uniform(-1.5, 1.5, size=(300, d))])
    x[::97] = np.nan
    x[5, 0] = np.inf
    div = rng.random(len(x)) < 0.05
    for tol in (0.02, 0.1, 0.5, 5.0):
        np.testing.assert_array_equal(assign(x, minima, tol), _brute_force(x, minima, tol))
        np.testing.assert_array_equal(assign(x, minima, tol, div),
                                      _brute_force(x, minima, tol, div))


def test_assign_exact_ties_go_to_the_lowest_index():
    # minima on the unit square's corners in scrambled order; end points at edge midpoints
    # and at the centre are equidistant from 2 and 4 of them
    minima = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    x = np.array([[0.5, 0.0], [0.0, 0.5], [0.5, 1.0], [1.0, 0.5], [0.5, 0.5], [0.5, 0.5 + 1e-3]])
    labels = assign(x, minima, tol=0.75)
    np.testing.assert_array_equal(labels, _brute_force(x, minima, 0.75))
    assert labels.tolist() == [2, 1, 0, 0, 0, 0]
    # tol exactly at the distance: counted inside (‖x − c‖ <= tol), as the direct rule
    assert assign(np.array([[0.5, 0.0]]), minima, tol=0.5).tolist() == [2]


def test_assign_equals_brute_force_on_a_lattice_with_float32_ends():
    """End points in float32 (as descend returns them) on the 3-D Rastrigin minima."""
    m1 = [p.x[0] for p in saddle.objectives.get("rastrigin", dim=1).known if p.kind == "minimum"]
    minima = np.stack(np.meshgrid(m1, m1, m1, indexing="ij"), -1).reshape(-1, 3)
    rng = np.random.default_rng(1)
    x = (minima[rng.integers(len(minima), size=3000)]
         + rng.normal(scale=0.3, size=(3000, 3))).astype(np.float32)
    for tol in (0.1, 0.5):
        np.testing.assert_array_equal(assign(x, minima, tol), _brute_force(x, minima, tol))


def test_assign_memory_grows_by_the_labels_only():
    """10^5 → 2·10^5 end points against the 1331 minima of 3-D Rastrigin: traced peak
    memory may grow by at most two int64 per added end point (the labels and one copy),
    not by the m·d·8 = 32 kB per point of an [n, m, d] distance array."""
    import tracemalloc

    m1 = [p.x[0] for p in saddle.objectives.get("rastrigin", dim=1).known if p.kind == "minimum"]
    minima = np.stack(np.meshgrid(m1, m1, m1, indexing="ij"), -1).reshape(-1, 3)
    assert minima.shape == (1331, 3)
    rng = np.random.default_rng(0)
    peaks = {}
    for n in (100_000, 200_000):
        x = minima[rng.integers(len(minima), size=n)] + rng.normal(scale=0.01, size=(n, 3))
        tracemalloc.start()
        try:
            labels = assign(x, minima, tol=0.05)
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert np.mean(labels >= 0) > 0.999
    assert peaks[200_000] - peaks[100_000] <= 2 * 8 * 100_000, peaks


# ----------------------------------------------------------------------------- bad input
def test_minima_of_the_wrong_width_raise_naming_minima_x():
    ends = np.zeros((4, 2))
    for bad in (np.zeros((2, 3)), np.zeros(6), np.zeros(3), np.zeros((1, 2, 2))):
        for call in (lambda b: assign(ends, b, 0.1), lambda b: basin_stats(ends, b, 0.1)):
            with pytest.raises(ValueError, match=r"minima_x must have shape \[m, 2\]") as err:
                call(bad)
            assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="minima_x has 1 row"):
        assign(ends, [[0.0, np.nan]], 0.1)


def test_non_finite_end_points_count_as_diverged():
    ends = np.array([[0.0, 0.0], [np.nan, 0.0], [np.inf, 1.0], [5.0, 5.0]])
    s = basin_stats(ends, np.zeros((1, 2)), tol=0.1)
    assert s.labels.tolist() == [0, DIVERGED, DIVERGED, UNASSIGNED]
    assert (s.diverged, s.unassigned, s.probs.tolist()) == (0.5, 0.25, [0.25])


@pytest.mark.parametrize("x_end, diverged, match", [
    (np.zeros(3), None, r"x_end must be a numeric array of shape \[n, d\]"),
    (np.zeros((2, 2, 2)), None, r"x_end must be a numeric array of shape \[n, d\]"),
    ([["a", "b"]], None, "x_end must be a numeric array"),
    (np.zeros((3, 2)), np.zeros(4, bool), r"diverged must have shape \[3\]"),
])
def test_shape_errors_are_one_line_value_errors(x_end, diverged, match):
    with pytest.raises(ValueError, match=match) as err:
        assign(x_end, np.zeros((1, 2)), 0.1, diverged)
    assert "\n" not in str(err.value)
