"""Escaping saddles: the most negative curvature direction, saddle-free Newton, escape times."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import saddle
from saddle.newton import newton, saddle_free_newton


@pytest.mark.parametrize("name", ["himmelblau", "six_hump_camel", "goldstein_price", "branin"])
def test_escape_direction_decreases_f_at_every_catalogued_saddle(name, x64):
    obj = saddle.objectives.get(name)
    for p in obj.known:
        if p.kind != "saddle":
            continue
        x = np.array(p.x)
        v = saddle.escape_direction(obj, x)
        assert v.exists and v.eigenvalue < 0
        np.testing.assert_allclose(np.linalg.norm(v.vector), 1.0, rtol=1e-6)
        eps = 1e-3
        for sign in (1, -1):  # both ways down, by ≈ ½|λ|ε² (second order)
            drop = float(obj.fn(jnp.asarray(x)) - obj.fn(jnp.asarray(x + sign * eps * v.vector)))
            np.testing.assert_allclose(drop, -0.5 * v.eigenvalue * eps**2, rtol=0.05)


def test_escape_direction_at_a_minimum_reports_none():
    obj = saddle.objectives.get("himmelblau")
    v = saddle.escape_direction(obj, [3.0, 2.0])
    assert not v.exists and v.eigenvalue > 0 and not v.vector.any()
    # The monkey saddle: no negative eigenvalue (H = 0), though f does decrease to third order.
    assert not saddle.escape_direction(saddle.objectives.get("monkey_saddle"), [0.0, 0.0]).exists


def test_saddle_free_newton_leaves_the_saddle_plain_newton_does_not():
    f = saddle.objectives.get("quadratic_saddle").fn
    x0 = np.array([[0.5, 1e-3], [-0.3, -1e-2]])
    n = saddle.descend(f, x0, newton(), 30)
    np.testing.assert_allclose(n.x, 0.0, atol=1e-6)  # one exact Newton step lands on it
    sfn = saddle.descend(f, x0, saddle_free_newton(lr=0.5, damping=1e-6), 30,
                         escape=saddle.Escape(center=np.zeros(2), radius=1.0))
    assert np.all(sfn.escape_step > 0)
    # |H| = 2I: each SFN step multiplies y by (1 + lr) and x by (1 − lr).
    y_t = np.abs(x0[:, 1]) * 1.5 ** np.arange(31)[:, None]
    np.testing.assert_array_equal(sfn.escape_step, np.argmax(y_t > 1.0, axis=0))


def test_gd_escape_time_matches_linear_theory():
    """GD on x² − y² from (a, ε): y_t = ε(1 + 2η)^t, so the ball of radius r is left at the
    first t with ε(1 + 2η)^t > r (x_t → 0 does not matter)."""
    eta, r = 0.05, 1.0
    eps = np.array([1e-2, 1e-4, 1e-6])
    x0 = np.stack([np.full(3, 0.1), eps], -1)
    run = saddle.descend(lambda x: x[0] ** 2 - x[1] ** 2, x0, optax.sgd(eta), 1000,
                         escape=saddle.Escape(center=np.zeros(2), radius=r))
    expected = np.ceil(np.log(r / eps) / np.log(1 + 2 * eta)).astype(int)
    # float32 rounding of (1 + 2η)^t can move the crossing by one step
    assert np.all(np.abs(run.escape_step - expected) <= 1)


def test_loss_drop_escape_and_bad_escape():
    run = saddle.descend(lambda x: x[0] ** 2 - x[1] ** 2, [[0.0, 0.1]], optax.sgd(0.1), 100,
                         escape=saddle.Escape(center=np.zeros(2), loss_drop=1.0))
    # f = −y², y_t = 0.1·1.2^t: f < −1 once y > 1, at t = ⌈log(10)/log(1.2)⌉ = 13
    assert run.escape_step[0] == 13
    with pytest.raises(ValueError, match="escape radius must be > 0"):
        saddle.Escape(center=[0.0, 0.0], radius=-1.0)
    with pytest.raises(ValueError, match="finite radius or loss_drop"):
        saddle.Escape(center=[0.0, 0.0])
    with pytest.raises(ValueError, match=r"escape\.center has d=3"):
        saddle.descend(lambda x: x.sum(), [[0.0, 0.0]], optax.sgd(0.1), 3,
                       escape=saddle.Escape(center=[0.0, 0.0, 0.0], radius=1.0))


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"x must have shape \[d\]"):
        saddle.escape_direction(saddle.objectives.get("himmelblau"), [[0.0, 0.0]])
    with pytest.raises(ValueError, match="damping must be a finite number > 0"):
        saddle_free_newton(damping=0.0)
    with pytest.raises(TypeError, match="takes the objective from update"):
        newton(lambda x: x.sum())


def test_escape_direction_random_goe_saddle_agrees_with_eigh():
    obj = saddle.objectives.get("goe_quadratic", dim=6, seed=3)
    h = np.asarray(saddle.objectives.goe_matrix(jax.random.PRNGKey(3), 6), dtype=np.float64)
    v = saddle.escape_direction(obj, np.zeros(6))
    lam, vecs = np.linalg.eigh(h)
    assert v.exists == (lam[0] < 0)
    np.testing.assert_allclose(v.eigenvalue, lam[0], rtol=1e-5)
    np.testing.assert_allclose(abs(v.vector @ vecs[:, 0]), 1.0, rtol=1e-5)
