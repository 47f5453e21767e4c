"""Quadratic Bézier curves (saddle.landscape.bezier) against closed forms and scipy, and the
mode_connectivity experiment's de-duplication modulo permutations."""

import jax
import numpy as np
import pytest
from scipy import integrate, optimize

from saddle.landscape import bezier


def ring(p):
    """(x² + y² − 1)²: a valley of minima along the unit circle, 0 on it."""
    return (p[0] ** 2 + p[1] ** 2 - 1.0) ** 2


def test_curve_ends_and_midpoint_match_the_formula():
    rng = np.random.default_rng(0)
    a, c, b = (rng.normal(size=7).astype(np.float32) for _ in range(3))
    np.testing.assert_allclose(bezier.bezier_point(a, c, b, 0.0), a, rtol=1e-6)
    np.testing.assert_allclose(bezier.bezier_point(a, c, b, 1.0), b, rtol=1e-6)
    np.testing.assert_allclose(bezier.bezier_point(a, c, b, 0.5), (a + 2 * c + b) / 4, rtol=1e-5)
    ts = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    pts = np.asarray(bezier.bezier_point(a, c, b, ts))
    direct = np.stack([(1 - t) ** 2 * a + 2 * t * (1 - t) * c + t**2 * b for t in ts])
    np.testing.assert_allclose(pts, direct, rtol=1e-5, atol=1e-6)
    # losses along the curve (plane evaluation, chunked) equal f at the direct points
    f = lambda p: (p**2).sum() + p[0] * p[1]  # noqa: E731
    np.testing.assert_allclose(bezier.bezier_losses(f, a, c, b, ts, chunk_size=2),
                               [float(f(p)) for p in direct], rtol=1e-5)


def test_trained_control_point_follows_the_ring_to_scipys_optimum():
    """From (1, 0) to (0, 1) on the ring the straight line's midpoint has loss ¼; by symmetry
    the best control point is (h, h), h = argmin ∫₀¹ f(φ(t)) dt (scipy quad + bounded search):
    the trained θ_c must land there and its barrier be ~0."""
    a, b = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)

    def mean_loss(h):
        c = np.array([h, h])
        return integrate.quad(lambda t: float(ring((1 - t) ** 2 * a + 2 * t * (1 - t) * c
                                                   + t**2 * b)), 0, 1)[0]

    h = optimize.minimize_scalar(mean_loss, bounds=(0, 2), method="bounded",
                                 options={"xatol": 1e-8}).x
    fit = bezier.train_bezier(ring, a, b, key=jax.random.PRNGKey(0), steps=300, lr=0.01,
                              samples=32)
    np.testing.assert_allclose(fit.theta_c, [h, h], atol=0.01)
    assert fit.history[-20:].mean() < 0.01 * fit.history[:5].mean()
    ts = np.linspace(0, 1, 101)
    line = bezier.bezier_losses(ring, a, (a + b) / 2, b, ts)
    curve = bezier.bezier_losses(ring, a, fit.theta_c, b, ts)
    assert bezier.peak_barrier(line) == pytest.approx(0.25, rel=1e-5)  # (½ − 1)² at t = ½
    assert bezier.peak_barrier(curve) < 0.01 * bezier.peak_barrier(line)


def test_peak_barrier_and_bad_input_one_line_errors():
    assert bezier.peak_barrier([1.0, 3.0, 2.0]) == 1.0
    assert bezier.peak_barrier([1.0, 0.5, 2.0]) == 0.0
    a = np.zeros(3)
    cases = [
        (lambda: bezier.bezier_point(a, np.zeros(4), a, 0.5), "theta_c"),
        (lambda: bezier.bezier_point(a, a, a, np.zeros((2, 2))), "t must"),
        (lambda: bezier.bezier_losses(ring, a, a, a, []), "ts must"),
        (lambda: bezier.bezier_losses(3, a, a, a, [0.5]), "f must"),
        (lambda: bezier.peak_barrier([1.0]), "values must"),
        (lambda: bezier.train_bezier(ring, a, np.ones(2), key=jax.random.PRNGKey(0)), "theta_b"),
        (lambda: bezier.train_bezier(ring, a, a, key=jax.random.PRNGKey(0), steps=0), "steps"),
        (lambda: bezier.train_bezier(ring, a, a, key=jax.random.PRNGKey(0), lr=-1), "lr"),
        (lambda: bezier.train_bezier(ring, a, a, key=jax.random.PRNGKey(0), samples=1.5),
         "samples"),
        (lambda: bezier.train_bezier(ring, a, [np.nan] * 3, key=jax.random.PRNGKey(0)),
         "theta_b"),
    ]
    for call, name in cases:
        with pytest.raises((ValueError, TypeError), match=name) as err:
            call()
        assert "\n" not in str(err.value)


def _nets():
    import experiments.mode_connectivity as mc
    from saddle.objectives import nn as snn

    net = snn.mlp(5, (6, 3), "tanh")
    thetas = np.asarray(jax.vmap(net.init)(jax.random.split(jax.random.PRNGKey(1), 2)))
    return mc, net, thetas


def test_a_permuted_sign_flipped_copy_is_the_same_minimum_another_seed_is_not():
    from saddle.landscape import align

    mc, net, (t0, t1) = _nets()
    rng = np.random.default_rng(0)
    copy = np.asarray(align.permute_units(net, t0, [rng.permutation(6)],
                                          [rng.choice([-1.0, 1.0], 6)]))
    assert np.linalg.norm(copy - t0) > 1.0  # far apart as raw vectors
    thetas = np.stack([t0, t1, copy])
    _, pairs, dist = mc.aligned_pairs(net, thetas, neighbours=2)
    d = dict(zip(map(tuple, pairs), dist, strict=True))
    assert d[(0, 2)] < 1e-5 and d[(1, 2)] == pytest.approx(d[(0, 1)], rel=1e-5)
    assert d[(0, 1)] > 0.5
    assert mc.n_components(3, pairs, dist < 1e-3) == 2
    assert mc.n_components(3, pairs, dist < 0) == 3


@pytest.mark.slow
def test_tiny_mode_connectivity_experiment_against_direct_evaluations(tmp_path):
    """Lines and curve agree with the objective evaluated directly; the summary's counts and
    barriers are recomputed from the saved arrays."""
    from saddle import experiment
    from saddle.landscape import align

    mc, _, _ = _nets()
    cfg = mc.Config(hidden=3, steps=40, record_every=20, n_seeds=4, neighbours=1,
                    bezier_steps=30, n_t=5, chunk_size=8)
    r = experiment.run_experiment(cfg, mc.run, mc.plot, mc.summarize, out=tmp_path,
                                  show_progress=False,
                                  figure_formats=("png",), dpi=50)
    d, s = r.data, r.summary
    net, obj = mc.problem(cfg)
    x0 = jax.vmap(net.init)(jax.random.split(jax.random.fold_in(jax.random.PRNGKey(0), 1), 4))
    import optax

    import saddle
    x = np.asarray(saddle.descend(obj, x0, optax.adam(cfg.lr), cfg.steps).x)
    np.testing.assert_allclose(d["loss"], [float(obj(t)) for t in x], rtol=1e-4)
    b_al = align.weight_match(net, x[0], x[1])
    for t, v, w, c in zip(d["ts"], d["line"], d["line_aligned"], d["curve"], strict=True):
        assert v == pytest.approx(float(obj((1 - t) * x[0] + t * x[1])), rel=1e-4)
        assert w == pytest.approx(float(obj((1 - t) * x[0] + t * b_al)), rel=1e-4)
        assert c == pytest.approx(float(obj(bezier.bezier_point(x[0], d["theta_c"], x[1], t))),
                                  rel=1e-4)
    assert s["pair"]["barrier_line"] == pytest.approx(d["line"].max() - max(d["line"][[0, -1]]))
    assert 1 <= s["seeds"]["distinct_by_distance"] <= 4
    assert s["verdict"] in ("confirmed", "refuted")
    assert (r.out / "mode_connectivity.png").exists()
