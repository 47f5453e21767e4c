import math

import jax
import numpy as np
import pytest
import scipy.stats

import saddle
from saddle import starts

BOUNDS = (np.array([-1.0, 0.0, 10.0]), np.array([1.0, 5.0, 10.5]))


def test_uniform_and_lhs_stay_in_the_box_and_are_reproducible():
    for draw in (starts.uniform, starts.latin_hypercube):
        x = np.asarray(draw(jax.random.PRNGKey(0), 500, BOUNDS))
        assert x.shape == (500, 3)
        assert np.all(x >= BOUNDS[0]) and np.all(x <= BOUNDS[1])
        np.testing.assert_array_equal(x, draw(jax.random.PRNGKey(0), 500, BOUNDS))
        assert not np.array_equal(x, draw(jax.random.PRNGKey(1), 500, BOUNDS))


def test_latin_hypercube_has_one_point_per_stratum():
    n = 64
    x = np.asarray(starts.latin_hypercube(jax.random.PRNGKey(3), n, BOUNDS))
    u = (x - BOUNDS[0]) / (BOUNDS[1] - BOUNDS[0])
    for axis in range(3):
        np.testing.assert_array_equal(np.sort(np.floor(u[:, axis] * n)), np.arange(n))


def test_normal_moments():
    x = np.asarray(starts.normal(jax.random.PRNGKey(0), 20000, BOUNDS, scale=0.1))
    np.testing.assert_allclose(x.mean(0), (BOUNDS[0] + BOUNDS[1]) / 2, atol=0.01)
    np.testing.assert_allclose(x.std(0), 0.1 * (BOUNDS[1] - BOUNDS[0]), rtol=0.03)


def test_grid_covers_the_corners():
    g = np.asarray(starts.grid(5, saddle.objectives.get("six_hump_camel")))
    assert g.shape == (25, 2)
    np.testing.assert_array_equal(g[0], [-3, -2])
    np.testing.assert_array_equal(g[-1], [3, 2])


def test_bad_inputs():
    with pytest.raises(ValueError, match="n must be >= 1"):
        starts.uniform(jax.random.PRNGKey(0), 0, BOUNDS)
    with pytest.raises(ValueError, match="empty or inverted"):
        starts.uniform(jax.random.PRNGKey(0), 3, ([0.0, 1.0], [1.0, 1.0]))
    with pytest.raises(ValueError, match="scale must be"):
        starts.normal(jax.random.PRNGKey(0), 3, BOUNDS, scale=-1)


@pytest.mark.parametrize("d", [1, 2, 5])
def test_sphere_is_uniform_on_the_sphere(d):
    """Radius exact; mean ≈ center and per-axis second moment r²/d (E[u_i²] = 1/d by
    symmetry) within 5 standard errors; for d = 2 the angle is uniform (KS test)."""
    n, r = 40_000, 0.3
    c = np.linspace(-1.0, 2.0, d)
    x = np.asarray(starts.sphere(jax.random.PRNGKey(d), n, c, r), dtype=np.float64)
    assert x.shape == (n, d)
    np.testing.assert_allclose(np.linalg.norm(x - c, axis=1), r, rtol=1e-6)
    u = x - c
    se = r / math.sqrt(n)  # |u_i| <= r, so the std of the mean is below r/√n
    np.testing.assert_allclose(u.mean(0), 0.0, atol=5 * se)
    np.testing.assert_allclose((u**2).mean(0), r * r / d, atol=5 * r * r / math.sqrt(n))
    if d == 2:
        angle = np.arctan2(u[:, 1], u[:, 0])
        assert scipy.stats.kstest(angle, scipy.stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3
    np.testing.assert_array_equal(x, np.asarray(starts.sphere(jax.random.PRNGKey(d), n, c, r)))


def test_sphere_bad_inputs():
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        starts.sphere(key, 0, [0.0, 0.0], 1.0)
    with pytest.raises(ValueError, match=r"center must have shape \[d\]"):
        starts.sphere(key, 3, [[0.0, 0.0]], 1.0)
    with pytest.raises(ValueError, match="center has 1 row"):
        starts.sphere(key, 3, [0.0, np.nan], 1.0)
    with pytest.raises(ValueError, match="radius must be a finite number > 0"):
        starts.sphere(key, 3, [0.0, 0.0], -1.0)
