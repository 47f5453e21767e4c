"""Escaping saddles: the most negative curvature direction, saddle-free Newton, escape times."""

import dataclasses

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


# ----------------------------------------------------------------------------- linear laws
@pytest.mark.parametrize("lr, loss_drop", [(0.05, 1.0), (0.1, 0.3), (0.02, 2.0)])
def test_exact_quadratic_cdf_against_iterating_the_linear_map(lr, loss_drop):
    """GD on x² − y² is x ← (1 − 2η)x, y ← (1 + 2η)y: iterate it from 20 000 equally
    spaced angles on the circle of radius ε and record the first step outside the ball or
    below −ℓr²; its distribution over the angles is the exact CDF (up to 1/20 000)."""
    eps, r, n = 1e-2, 0.5, 20_000
    theta = (np.arange(n) + 0.5) * 2 * np.pi / n
    x, y = eps * np.cos(theta), eps * np.sin(theta)
    first = np.full(n, -1)
    for t in range(1, 400):
        x, y = (1 - 2 * lr) * x, (1 + 2 * lr) * y
        out = (x * x + y * y > r * r) | (x * x - y * y < -loss_drop * r * r)
        first[(first < 0) & out] = t
    assert np.all(first > 0)
    t = np.arange(400)
    ecdf = np.searchsorted(np.sort(first), t, side="right") / n
    cdf = saddle.escape.exact_quadratic_cdf(t, lr, eps, r, loss_drop)
    np.testing.assert_allclose(cdf, ecdf, atol=4 / n)


def test_sphere_median_abs_against_closed_forms_and_monte_carlo():
    from saddle.escape import sphere_median_abs

    assert sphere_median_abs(2) == pytest.approx(1 / np.sqrt(2), rel=1e-12)
    assert sphere_median_abs(3) == pytest.approx(0.5, rel=1e-12)  # u₁ ~ U[−1, 1] in 3-D
    rng = np.random.default_rng(1)
    for d in (5, 10, 50):
        u = rng.normal(size=(100_000, d))
        a = np.abs(u[:, 0]) / np.linalg.norm(u, axis=1)
        # the sample median's 99.9% distribution-free interval must contain the value
        h = 3.3 * 0.5 / np.sqrt(len(a))
        lo, hi = np.quantile(a, [0.5 - h, 0.5 + h])
        assert lo <= sphere_median_abs(d) <= hi, d


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_growth_is_the_spectral_radius_and_what_optax_does(nesterov):
    """(1) the spectral radius of the 2×2 companion matrix of the recursion (numpy);
    (2) the per-step growth of optax.sgd(η, momentum=β, nesterov=...) on f = −λy²/2."""
    beta = 0.9
    for lr, lam in ((0.05, 1.0), (0.01, 3.0), (0.2, 0.5)):
        a = lr * lam
        rho = saddle.escape.momentum_growth(a, beta, nesterov)
        b, c = ((1 + beta) * (1 + a), beta * (1 + a)) if nesterov else (1 + beta + a, beta)
        companion = np.array([[b, -c], [1.0, 0.0]])  # y_{t+1} = b·y_t − c·y_{t−1}
        assert rho == pytest.approx(np.max(np.abs(np.linalg.eigvals(companion))), rel=1e-12)
        opt = optax.sgd(lr, momentum=beta, nesterov=nesterov)
        y = jnp.array([1e-3], dtype=jnp.float32)
        state = opt.init(y)
        ys = []
        for _ in range(200):
            g = -lam * y  # ∇(−λy²/2)
            upd, state = opt.update(g, state)
            y = optax.apply_updates(y, upd)
            ys.append(float(y[0]))
            if abs(ys[-1]) > 1e20:
                break
        assert ys[-1] / ys[-2] == pytest.approx(rho, rel=1e-4)


def test_cubic_valley_estimate_against_iterating_the_valley_map():
    """Along a valley of x³ − 3xy² (the ray x < 0, y = 0: f = x³), GD is ρ ← ρ + 3ηρ²; the
    steps from ε to r approach (1/ε − 1/r)/(3η) as ηε → 0 (relative error O(ηr·log))."""
    lr, r = 0.01, 0.5
    for eps in (1e-2, 1e-3):
        rho, t = eps, 0
        while rho <= r:
            rho, t = rho + 3 * lr * rho * rho, t + 1
        est = saddle.escape.cubic_valley_estimate(lr, eps, r)
        assert abs(t - est) / est < 0.01, (eps, t, est)


def test_linear_law_bad_inputs():
    with pytest.raises(ValueError, match="lam_min must be a finite number < 0"):
        saddle.escape.gd_linear_estimate(0.5, 0.1, 0.01, 1.0)
    with pytest.raises(ValueError, match="eps must be < radius"):
        saddle.escape.exact_quadratic_cdf([1, 2], 0.1, 1.0, 0.5)
    with pytest.raises(ValueError, match="d must be >= 2"):
        saddle.escape.sphere_median_abs(1)
    with pytest.raises(ValueError, match=r"beta must be a number in \[0, 1\)"):
        saddle.escape.momentum_growth(0.1, 1.0, False)


# ----------------------------------------------------------------------------- escape times
@pytest.mark.slow  # CI time: see BUILD_NOTES 'Test-suite time'
def test_escape_times_in_two_horizons_equal_one_long_run():
    """Re-running only the starts still inside after a first horizon gives exactly the escape
    steps of one long run, also for perturbed GD: each start keeps its own key."""
    # 64 starts and a first horizon that leaves at most 64 // 8 of them: escape_times pads
    # the re-run to 64 starts, so every long run below is one compiled program.
    n, first = 64, 430
    f = saddle.objectives.get("monkey_saddle").fn
    x0 = saddle.starts.sphere(jax.random.PRNGKey(0), n, np.zeros(2), 0.05)
    e_ = saddle.Escape(np.zeros(2), radius=0.5)
    pgd = saddle.optimizers.make("perturbed_gd", 0.03, radius=0.05, g_thres=0.1, t_thres=20)
    keys = jax.random.split(jax.random.PRNGKey(7), n)
    one = saddle.descend(f, x0, pgd, 700, escape=e_, key=keys).escape_step
    two = saddle.escape.escape_times(f, x0, pgd, 700, e_, first=first, key=jax.random.PRNGKey(7))
    assert np.any(one > first) and np.any((one >= 0) & (one < first))  # both horizons used
    np.testing.assert_array_equal(two.escape_step, one)
    assert not two.diverged.any() and two.steps == 700
    # With one key for the batch, noise follows the batch position: a subset re-run differs
    # (the subset padded to n with copies of its first start, as escape_times pads).
    one = saddle.descend(f, x0, pgd, 700, escape=e_).escape_step
    idx = np.flatnonzero(one > 200)
    sub = saddle.descend(f, x0[np.r_[idx, np.full(n - idx.size, idx[0])]], pgd, 700,
                         escape=e_).escape_step
    assert np.any(sub[:idx.size] != one[idx])


def test_escape_times_flags_runs_that_diverge_before_escaping():
    # f = −x⁴ from x0 = 1: GD with η = 1 explodes in a few steps; the ball radius 1e6 is
    # never left before the loss leaves max_loss_factor, so every run is "diverged"
    f = lambda x: -jnp.sum(x**4)  # noqa: E731
    x0 = np.array([[1.0], [1.5]])
    t = saddle.escape.escape_times(f, x0, optax.sgd(1.0), 50,
                                   saddle.Escape(np.zeros(1), radius=1e30))
    direct = saddle.descend(f, x0, optax.sgd(1.0), 50,
                            escape=saddle.Escape(np.zeros(1), radius=1e30))
    np.testing.assert_array_equal(t.diverged, direct.diverged & (direct.escape_step < 0))
    assert t.diverged.all() and (t.escape_step == -1).all()


def test_escape_times_bad_inputs():
    f = saddle.objectives.get("quadratic_saddle")
    esc = saddle.Escape(np.zeros(2), radius=1.0)
    with pytest.raises(ValueError, match="first must be >= 1"):
        saddle.escape.escape_times(f, np.zeros((2, 2)), optax.sgd(0.1), 10, esc, first=0)
    with pytest.raises(ValueError, match="x0 has d=3"):
        saddle.escape.escape_times(f, np.zeros((2, 3)), optax.sgd(0.1), 10, esc)
    with pytest.raises(TypeError, match=r"escape must be a saddle\.Escape"):
        saddle.escape.escape_times(f, np.zeros((2, 2)), optax.sgd(0.1), 10, None)


def test_escape_direction_moved_but_old_imports_work():
    import saddle.critical

    assert saddle.critical.escape_direction is saddle.escape.escape_direction
    assert saddle.escape_direction is saddle.escape.escape_direction
    assert saddle.critical.EscapeDirection is saddle.EscapeDirection


def test_saddle_geometry_against_closed_forms():
    """x² − y²: λ = (−2, 2), v = ±e_y, L = 2, D = r² (min on the circle is −r²); monkey
    saddle x³ − 3xy²: H = 0 at c, |λ| = 6‖x‖ so L = 6r, D = r³ (f = r³cos 3θ on the circle);
    strict_saddle in 6-D: λ = (−γ, 1, …) at c."""
    r = 0.5
    g = saddle.escape.saddle_geometry(saddle.objectives.get("quadratic_saddle"), [0.0, 0.0], r)
    np.testing.assert_allclose(g.eigenvalues, [-2.0, 2.0], atol=1e-6)
    np.testing.assert_allclose(np.abs(g.direction), [0.0, 1.0], atol=1e-6)
    assert g.curvature_scale == pytest.approx(2.0, rel=1e-6)
    assert g.depth == pytest.approx(r**2, rel=1e-6)
    g = saddle.escape.saddle_geometry(saddle.objectives.get("monkey_saddle"), [0.0, 0.0], r)
    np.testing.assert_allclose(g.eigenvalues, 0.0, atol=1e-6)
    assert g.curvature_scale == pytest.approx(6 * r, rel=1e-5)
    assert g.depth == pytest.approx(r**3, rel=1e-5)
    obj = saddle.objectives.get("strict_saddle", dim=6, gamma=0.5)
    g = saddle.escape.saddle_geometry(obj, np.zeros(6), 0.3, key=jax.random.PRNGKey(1))
    np.testing.assert_allclose(g.eigenvalues, [-0.5, 1, 1, 1, 1, 1], atol=1e-5)
    with pytest.raises(ValueError, match="center has d=3"):
        saddle.escape.saddle_geometry(obj, np.zeros(3), 0.3)


# ----------------------------------------------------------------------------- escape_estimates
def _gd_escape_step(lr, lam, y0, x0, r):
    """First step at which GD on x²·λ_x/2 − λ|y|²/2 (λ_x = 2 here) leaves the ball of radius
    r, iterating the linear map in numpy."""
    x, y, t = x0, y0, 0
    while x * x + y * y <= r * r:
        x, y, t = (1 - 2 * lr) * x, (1 + lr * lam) * y, t + 1
    return t


def test_escape_estimates_against_iterating_gd_on_x2_minus_y2():
    """x² − y²: from a start on the escape direction GD leaves the ball at the first whole
    step past the linear estimate; from the median start (|sin θ| = 1/√2) within one step
    of the start-corrected estimate."""
    lr, eps, r = 0.05, 1e-2, 0.5
    est = saddle.escape.escape_estimates([-2.0, 2.0], lr, eps, r)
    assert est["lam_min"] == -2.0 and est["median_abs_projection"] == pytest.approx(2**-0.5)
    assert _gd_escape_step(lr, 2.0, eps, 0.0, r) == int(np.floor(est["linear_estimate"])) + 1
    t = _gd_escape_step(lr, 2.0, eps / np.sqrt(2), eps / np.sqrt(2), r)
    assert abs(t - est["start_corrected_estimate"]) <= 1


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_estimates_capture_the_dependence_on_eps(nesterov):
    """Heavy ball / Nesterov (optax's recursions, in numpy) on −λy²/2 from rest at ε·m_d:
    the estimate log(r/(ε·m_d))/log ρ ignores the transient of the slower root, a constant
    number of steps; so simulated − estimated is the same for ε = 10⁻² and 10⁻⁶ (±1 step)
    and small (0 to 4 steps)."""
    lr, lam, beta, r, d = 0.1, 1.0, 0.9, 0.5, 10
    name = "nesterov" if nesterov else "momentum"
    gaps = []
    for eps in (1e-2, 1e-6):
        est = saddle.escape.escape_estimates([-lam] + [1.0] * (d - 1), lr, eps, r, momentum=beta)
        y, v, t = eps * est["median_abs_projection"], 0.0, 0
        while abs(y) <= r:
            g = -lam * y
            v = g + beta * v
            y, t = y - lr * (g + beta * v if nesterov else v), t + 1
        gaps.append(t - est[f"{name}_asymptotic_estimate"])
    assert abs(gaps[0] - gaps[1]) <= 1 and all(0 <= g <= 4 for g in gaps), gaps


def test_escape_estimates_degenerate_and_one_dimensional():
    none = saddle.escape.escape_estimates([0.0, 0.0], 0.1, 0.01, 0.5)  # monkey saddle: H = 0
    assert none == {"lam_min": 0.0, "linear_estimate": None, "start_corrected_estimate": None}
    assert saddle.escape.escape_estimates([-1e-4, 1.0], 0.1, 0.01, 0.5)["linear_estimate"] is None
    assert saddle.escape.escape_estimates([-1e-2, 1.0], 0.1, 0.01, 0.5)["linear_estimate"]
    one = saddle.escape.escape_estimates([-1.0], 0.1, 0.01, 0.5)  # a maximum in 1-D: m_1 = 1
    assert one["start_corrected_estimate"] == one["linear_estimate"]
    ten = saddle.escape.escape_estimates(np.r_[np.ones(9), -1.0], 0.1, 0.01, 0.5)  # unsorted
    assert ten["median_abs_projection"] == saddle.escape.sphere_median_abs(10)
    assert ten["lam_min"] == -1.0
    with pytest.raises(ValueError, match="eps must be < radius"):
        saddle.escape.escape_estimates([-1.0, 1.0], 0.1, 0.5, 0.5)
    with pytest.raises(ValueError, match="eigenvalues must be finite numbers"):
        saddle.escape.escape_estimates([], 0.1, 0.01, 0.5)


@pytest.mark.parametrize("lr, loss_drop", [(0.05, 1.0), (0.005, 1.0), (0.1, 0.3)])
def test_exact_quadratic_median_against_iterating_the_linear_map(lr, loss_drop):
    """The smallest t with at least half of 20 000 equally spaced angles escaped by step t
    (GD on x² − y² iterated in numpy); lr = 0.005 puts the median past the first horizon."""
    eps, r, n = 1e-2, 0.5, 20_000
    theta = (np.arange(n) + 0.5) * 2 * np.pi / n
    x, y = eps * np.cos(theta), eps * np.sin(theta)
    first, t = np.full(n, -1), 0
    while np.mean(first > 0) < 0.5:
        t += 1
        x, y = (1 - 2 * lr) * x, (1 + 2 * lr) * y
        out = (x * x + y * y > r * r) | (x * x - y * y < -loss_drop * r * r)
        first[(first < 0) & out] = t
    median = saddle.escape.exact_quadratic_median(lr, eps, r, loss_drop)
    assert abs(median - t) <= 1
    if lr < 0.01:
        assert median > 64  # past the first horizon the search starts with


def test_chain_growth_limits_and_bad_input():
    """1 + κ → 1 + L/γ as η → 0 (κ = −log(1 − ηL)/log(1 + ηγ)); ×2.105 at η = 0.1."""
    assert saddle.escape.chain_growth(1e-7, gamma=1.0, curvature=2.0) == pytest.approx(3, rel=1e-6)
    assert saddle.escape.chain_growth(0.1) == pytest.approx(1 + np.log(1 / 0.9) / np.log(1.1))
    with pytest.raises(ValueError, match="lr·curvature must be < 1"):
        saddle.escape.chain_growth(0.5, curvature=2.0)


def test_sphere_starts_lie_on_the_sphere_with_the_law_of_the_share():
    """Every start at distance ε; the share |⟨x0 − c, v⟩|/ε computed by hand; its sample
    median inside a 99.9% distribution-free interval of sphere_median_abs(5)."""
    g = saddle.escape.saddle_geometry(saddle.objectives.get("strict_saddle", dim=5).fn,
                                      np.zeros(5), 0.5)
    g = dataclasses.replace(g, center=np.full(5, 0.3))  # off the origin: c matters
    x0, share = saddle.escape.sphere_starts(jax.random.PRNGKey(7), 20_000, g, 1e-2)
    assert x0.shape == (20_000, 5) and x0.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x0 - 0.3, axis=1), 1e-2, rtol=1e-4)
    by_hand = np.abs((x0.astype(np.float64) - 0.3) @ g.direction) / 1e-2
    np.testing.assert_allclose(share, by_hand, rtol=1e-9, atol=1e-12)
    h = 3.3 * 0.5 / np.sqrt(len(share))
    lo, hi = np.quantile(share, [0.5 - h, 0.5 + h])
    assert lo <= saddle.escape.sphere_median_abs(5) <= hi
