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
