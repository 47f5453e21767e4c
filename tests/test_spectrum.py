"""Krylov curvature estimators against the dense oracle ``eigh(jax.hessian(f)(x))``.

Quadratics with a known spectrum (negative eigenvalues included, random eigenbasis) and
a small tanh MLP loss (d = 137); statistical checks use the exact Rademacher variance
``Var(zᵀAz) = 2(‖A‖_F² − Σᵢ Aᵢᵢ²)`` or the spread of many independent estimates.
"""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from saddle.curvature import (
    SpectralDensity,
    density_on_grid,
    extreme_eigenpairs,
    extreme_eigenpairs_batch,
    hutchinson_trace,
    hutchpp_trace,
    over_points,
    sharpness,
    slq_density,
)

pytestmark = pytest.mark.usefixtures("x64")


def quad(x, a, b, c):
    """``½xᵀAx + bᵀx + c Σᵢ cos xᵢ``: Hessian ``A − c·diag(cos x)`` (A for c = 0)."""
    return 0.5 * x @ a @ x + b @ x + c * jnp.sum(jnp.cos(x))


def quadratic(lam, seed=0, c=0.0):
    """Arguments ``(A, b, c)`` of ``quad`` with ``A = U diag(lam) Uᵀ`` (U random orthogonal),
    and A in numpy.  Every test passes them as ``args``, so one compiled program serves
    every matrix of a size."""
    rng = np.random.default_rng(seed)
    d = len(lam)
    u, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a = (u * np.asarray(lam)) @ u.T
    a = (a + a.T) / 2
    args = (jnp.asarray(a), jnp.asarray(rng.normal(size=d)), jnp.asarray(c, jnp.float64))
    return args, a


@functools.cache
def mlp():
    """Mean squared error of a 3-10-8-1 tanh MLP on 40 points: loss, parameter pytree, and
    the dense Hessian ``[137, 137]`` of the flattened loss."""
    rng = np.random.default_rng(0)  # numpy draws: no compilation
    xs = jnp.asarray(rng.normal(size=(40, 3)))
    ys = jnp.sin(xs[:, 0]) * jnp.cos(xs[:, 1])
    params = [{"w": jnp.asarray(rng.normal(size=(a, b)) / np.sqrt(a)),
               "b": jnp.asarray(0.1 * rng.normal(size=b))}
              for a, b in itertools.pairwise([3, 10, 8, 1])]

    def loss(p):
        h = xs
        for layer in p[:-1]:
            h = jnp.tanh(h @ layer["w"] + layer["b"])
        return 0.5 * jnp.mean(((h @ p[-1]["w"] + p[-1]["b"])[:, 0] - ys) ** 2)

    flat, unravel = ravel_pytree(params)
    hess = jax.jit(jax.hessian(lambda z: loss(unravel(z))))(flat)
    return loss, params, np.asarray(hess)


def rademacher_sd(a):
    """Standard deviation of ``zᵀAz`` for a Rademacher z."""
    return np.sqrt(2 * (np.sum(a**2) - np.sum(np.diag(a) ** 2)))


def assert_ritz_pairs(a, theta, vecs, res):
    """Unit vectors; the reported residual is the dense ‖Av − θv‖ of each pair."""
    vecs = np.asarray(vecs)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-10)
    dense = np.linalg.norm(vecs @ a - np.asarray(theta)[:, None] * vecs, axis=1)
    np.testing.assert_allclose(res, dense, rtol=1e-5, atol=1e-11 * np.abs(a).max())


# ----------------------------------------------------------------------------- extremes
LAM = np.concatenate([[-4.0, -3.4, -3.0], np.linspace(-1.0, 2.0, 74), [4.0, 4.6, 5.5]])
X80 = np.linspace(-1.0, 1.0, 80)


def test_extremes_of_a_quadratic_equal_its_spectrum():
    args, a = quadratic(LAM)
    key = jax.random.PRNGKey(1)
    e = extreme_eigenpairs(quad, X80, k=3, iters=50, key=key, args=args)
    exact = np.sort(LAM)
    np.testing.assert_allclose(e.lowest, exact[:3], rtol=0, atol=1e-9)
    np.testing.assert_allclose(e.highest, exact[::-1][:3], rtol=0, atol=1e-9)
    assert e.lowest_vectors.shape == e.highest_vectors.shape == (3, 80)
    assert_ritz_pairs(a, e.lowest, e.lowest_vectors, e.lowest_residuals)
    assert_ritz_pairs(a, e.highest, e.highest_vectors, e.highest_residuals)
    assert np.max(e.lowest_residuals) < 1e-6 and np.max(e.highest_residuals) < 1e-6
    low = jax.eval_shape(lambda: extreme_eigenpairs(quad, X80, k=3, iters=50, key=key,
                                                    which="lowest", args=args))
    assert low.highest is low.highest_vectors is low.highest_residuals is None
    assert low.lowest_vectors.shape == (3, 80)


def test_unconverged_ritz_pairs_obey_interlacing_and_the_residual_bound():
    """A spectrum crowded at both ends (3 sin(πt/2), gaps ~1e-3 there) keeps 50 steps from
    converging: θ_j ≥ λ_j at the bottom and ≤ at the top (Cauchy interlacing), and some
    eigenvalue lies within the residual of every Ritz value."""
    lam = 3 * np.sin(np.pi / 2 * np.linspace(-1.0, 1.0, 80))
    args, a = quadratic(lam, seed=2)
    e = extreme_eigenpairs(quad, X80, k=3, iters=50, key=jax.random.PRNGKey(0), args=args)
    assert np.all(e.lowest >= lam[:3] - 1e-12) and np.all(e.highest <= lam[::-1][:3] + 1e-12)
    for theta, res in ((e.lowest, e.lowest_residuals), (e.highest, e.highest_residuals)):
        gap = np.min(np.abs(lam[None] - np.asarray(theta)[:, None]), axis=1)
        assert np.all(gap <= res * (1 + 1e-8) + 1e-12)
        assert np.all(res > 1e-3)  # genuinely unconverged, so the bound is tested
    assert_ritz_pairs(a, e.lowest, e.lowest_vectors, e.lowest_residuals)
    assert_ritz_pairs(a, e.highest, e.highest_vectors, e.highest_residuals)


def test_extremes_of_an_mlp_loss_on_its_pytree_equal_eigh():
    loss, params, h = mlp()
    exact = np.linalg.eigvalsh(h)
    assert exact[0] < 0 < exact[-1]
    key = jax.random.PRNGKey(3)
    e = extreme_eigenpairs(loss, params, k=2, iters=60, key=key)
    scale = np.abs(exact).max()
    np.testing.assert_allclose(e.lowest, exact[:2], rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(e.highest, exact[::-1][:2], rtol=0, atol=1e-9 * scale)
    assert_ritz_pairs(h, e.lowest, e.lowest_vectors, e.lowest_residuals)
    assert_ritz_pairs(h, e.highest, e.highest_vectors, e.highest_residuals)


# ----------------------------------------------------------------------------- SLQ
def test_slq_moments_are_unbiased_for_normalised_traces_of_powers():
    """Σⱼ wⱼθⱼᵏ of a probe is vᵀHᵏv (Gauss quadrature is exact to degree 2m − 1), whose
    mean over probes is tr(Hᵏ)/d; checked within 4 standard errors of the Rademacher
    variance, k = 1, 2, on two quadratics."""
    probes, key = 200, jax.random.PRNGKey(5)
    for lam in (LAM, np.linspace(-1.0, 1.0, 80) ** 3):
        args, hess = quadratic(lam, seed=4)
        dens = slq_density(quad, X80, key, probes, 4, args=args)
        assert dens.nodes.shape == dens.weights.shape == (probes, 4)
        np.testing.assert_allclose(np.sum(dens.weights, axis=1), 1.0, rtol=1e-12)
        assert np.all(dens.weights >= 0)
        d = hess.shape[0]
        for k in (1, 2):
            power = np.linalg.matrix_power(hess, k)
            moment = np.mean(np.sum(dens.weights * dens.nodes**k, axis=1))
            se = rademacher_sd(power) / d / np.sqrt(probes)
            assert abs(moment - np.trace(power) / d) <= 4 * se, (k, moment, se)


LAM30 = np.linspace(-2.0, 3.0, 30)


@pytest.mark.slow  # SLQ's moments and its smoothed density are tested by default
def test_slq_with_d_steps_has_every_eigenvalue_as_a_node_with_mean_weight_one_over_d():
    """m = d: the nodes are the whole spectrum; the weight of λᵢ is (uᵢᵀv)², of mean 1/d
    and variance at most 2/d² per probe."""
    args, _ = quadratic(LAM30, seed=6)
    dens = slq_density(quad, np.zeros(30), jax.random.PRNGKey(7), 100, 30, args=args)
    np.testing.assert_allclose(dens.nodes, np.broadcast_to(LAM30, (100, 30)), atol=1e-8)
    mean_w = np.mean(dens.weights, axis=0)
    assert np.all(np.abs(mean_w - 1 / 30) <= 4 * np.sqrt(2 / 100) / 30)


def test_smoothed_density_integrates_to_one_and_matches_the_smoothed_spectrum():
    """With m = d the smoothed SLQ density is, probe by probe, Σᵢ (uᵢᵀv)² N(t; λᵢ, σ²):
    it integrates to 1, and its mean over probes tends to (1/d) Σᵢ N(t; λᵢ, σ²)."""
    args, _ = quadratic(LAM30, seed=8)
    dens = slq_density(quad, np.zeros(30), jax.random.PRNGKey(9), 100, 30, args=args)
    sigma = 0.3
    grid = np.linspace(-2.0 - 10 * sigma, 3.0 + 10 * sigma, 2001)
    phi = np.asarray(density_on_grid(dens, grid, sigma))
    np.testing.assert_allclose(np.trapezoid(phi, grid), 1.0, atol=1e-8)
    two = SpectralDensity(*(jnp.stack([a, a[::-1]]) for a in dens))  # leading axes kept
    np.testing.assert_allclose(density_on_grid(two, grid, sigma), np.stack([phi, phi]),
                               rtol=1e-12, atol=1e-15)
    kernel = np.exp(-0.5 * ((grid[:, None] - LAM30) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    # per grid point, φ is a mean over probes of Σᵢ wᵢ N(t; λᵢ, σ²); its spread bounds the error
    per_probe = kernel @ np.asarray(dens.weights).T
    se = per_probe.std(axis=1, ddof=1) / np.sqrt(100)
    assert np.all(np.abs(phi - kernel.mean(axis=1)) <= 4 * se + 1e-12)


# ----------------------------------------------------------------------------- traces
RUNS, MATVECS = 200, 30
X100 = np.zeros(100)


def many_traces(estimator, args):
    """``estimator`` (Hutchinson or Hutch++, 30 matvecs) with RUNS independent keys."""
    keys = jax.random.split(jax.random.PRNGKey(11), RUNS)
    t = jax.vmap(lambda k: estimator(quad, X100, k, MATVECS, args=args))(keys)
    return np.asarray(t.estimate), np.asarray(t.stderr), np.asarray(t.probes)


def test_hutchinson_is_unbiased_and_its_stderr_calibrated():
    args, a = quadratic(np.linspace(-2.0, 3.0, 100), seed=10)
    est, se, probes = many_traces(hutchinson_trace, args)
    exact, sd = np.trace(a), rademacher_sd(a)
    assert np.all(probes == MATVECS)
    assert abs(est.mean() - exact) <= 4 * sd / np.sqrt(MATVECS * RUNS)
    # E[stderr²] = Var(estimate) = sd²/probes: checked against the exact variance and
    # against the spread of the estimates themselves
    assert abs(np.mean(se**2) - sd**2 / MATVECS) <= 4 * np.std(se**2) / np.sqrt(RUNS)
    gap = (est - exact) ** 2 - se**2
    assert abs(gap.mean()) <= 4 * gap.std() / np.sqrt(RUNS)


def test_hutchpp_is_exact_when_the_rank_is_at_most_the_sketch_size():
    lam = np.concatenate([[5.0, -3.0, 2.0, 1.5, -0.5, 0.2, 4.0], np.zeros(93)])
    args, a = quadratic(lam, seed=12)
    est, se, probes = many_traces(hutchpp_trace, args)  # sketch of 10 ≥ rank 7
    np.testing.assert_allclose(est, np.trace(a), rtol=0, atol=1e-10)
    assert np.all(se < 1e-10) and np.all(probes == 10)


def test_hutchpp_beats_hutchinson_at_equal_matvecs_on_a_decaying_spectrum():
    """λᵢ = 1/i², d = 100, 30 matvecs each, over 200 seeds: Hutch++ is unbiased, its
    stderr calibrated, and its squared error smaller on average (one-sided paired test)."""
    args, a = quadratic(1.0 / np.arange(1, 101) ** 2, seed=14)
    exact = np.trace(a)
    est_pp, se_pp, _ = many_traces(hutchpp_trace, args)
    est_hu, _, _ = many_traces(hutchinson_trace, args)
    err_pp, err_hu = est_pp - exact, est_hu - exact
    assert abs(err_pp.mean()) <= 4 * err_pp.std() / np.sqrt(RUNS)
    gap = err_pp**2 - se_pp**2
    assert abs(gap.mean()) <= 4 * gap.std() / np.sqrt(RUNS)
    diff = err_hu**2 - err_pp**2
    assert diff.mean() > 3 * diff.std() / np.sqrt(RUNS)


# ----------------------------------------------------------------------------- batches
KEY16 = jax.random.PRNGKey(16)


def every_estimator(x, key, *args):
    """Every estimator at one point of ``quad``, with the settings other tests compile."""
    e = extreme_eigenpairs(quad, x, k=3, iters=50, key=key, args=args)
    return (e.lowest, e.highest, e.lowest_residuals, e.highest_vectors,
            sharpness(quad, x, 40, key, args=args),
            slq_density(quad, x, key, 200, 4, args=args),
            hutchinson_trace(quad, x, key, MATVECS, args=args),
            hutchpp_trace(quad, x, key, MATVECS, args=args))


TRACES = []


def traced_once(x, key, *args):
    """``every_estimator``, counting the traces of the batched program."""
    TRACES.append(1)
    return every_estimator(x, key, *args)


def assert_rows_equal(batched, i, one):
    jax.tree.map(lambda b, o: np.testing.assert_allclose(b[i], o, rtol=1e-9, atol=1e-12),
                 batched, one)


@pytest.mark.slow  # 5 vmapped programs to compile; chunked batches (jit(vmap)) are tested below
def test_vmap_over_three_points_equals_three_calls():
    """``over_points`` is ``jit(vmap(fn))`` with key fold_in(key, i) for point i; at points
    where c·cos x differs, so does the Hessian A − c·diag(cos x)."""
    args, a = quadratic(LAM, seed=16, c=0.7)
    xs = jnp.stack([jnp.asarray(X80), -2 * jnp.asarray(X80), 3 * jnp.asarray(X80) ** 2])
    batched = over_points(traced_once, xs, key=KEY16, args=args)
    assert not np.allclose(batched[0][0], batched[0][1])
    for i in range(3):
        one = every_estimator(xs[i], jax.random.fold_in(KEY16, i), *args)
        assert_rows_equal(batched, i, one)
        top = np.linalg.eigvalsh(a - 0.7 * np.diag(np.cos(np.asarray(xs[i]))))[-1]
        np.testing.assert_allclose(one[4], top, rtol=1e-9)  # sharpness, against eigh


@pytest.mark.slow  # CI time: see BUILD_NOTES 'Test-suite time'
def test_chunks_equal_separate_calls_with_one_compilation():
    """5 points in chunks of 3 (the last padded): the i-th row equals a call with key
    fold_in(key, i), so chunking changes nothing; one trace serves every chunk (and the
    3-point batch of the test above)."""
    args, _ = quadratic(LAM, seed=17, c=0.7)
    xs = jnp.asarray(X80)[None] * jnp.arange(1.0, 6.0)[:, None]
    rows = over_points(traced_once, xs, key=KEY16, chunk_size=3, args=args)
    assert len(TRACES) == 1 and isinstance(rows[0], np.ndarray) and rows[0].shape == (5, 3)
    ext = extreme_eigenpairs_batch(quad, xs, k=3, iters=50, key=KEY16, chunk_size=2,
                                   args=args)
    assert ext.lowest_vectors.shape == (5, 3, 80)
    for i in range(5):
        one = every_estimator(xs[i], jax.random.fold_in(KEY16, i), *args)
        assert_rows_equal(rows, i, one)
        np.testing.assert_allclose(ext.lowest[i], one[0], rtol=1e-10)
        np.testing.assert_allclose(ext.highest[i], one[1], rtol=1e-10)


# ----------------------------------------------------------------------------- bad input
def never_called(x):
    raise AssertionError("f was traced before the arguments were checked")


KEY = jax.random.PRNGKey(0)
DENSITY = SpectralDensity(jnp.zeros((2, 3)), jnp.full((2, 3), 1 / 3))


@pytest.mark.parametrize("call, message", [
    (lambda: extreme_eigenpairs(never_called, jnp.zeros(3), k=4, key=KEY), "k must be <= d = 3"),
    (lambda: extreme_eigenpairs(never_called, jnp.zeros(3), k=0, key=KEY), "k must be >= 1"),
    (lambda: extreme_eigenpairs(never_called, jnp.zeros(5), k=2, iters=1, key=KEY),
     "iters must be >= k"),
    (lambda: extreme_eigenpairs(never_called, jnp.zeros(5), iters=0, key=KEY), "iters must be"),
    (lambda: extreme_eigenpairs(never_called, jnp.zeros(5), key=KEY, which="top"),
     "unknown which 'top'"),
    (lambda: extreme_eigenpairs(never_called, jnp.zeros(5), key=None), "key is required"),
    (lambda: extreme_eigenpairs(never_called, jnp.arange(5), key=KEY), "x must hold floating"),
    (lambda: sharpness(never_called, jnp.zeros(5), 0, KEY), "iters must be >= 1"),
    (lambda: slq_density(never_called, jnp.zeros(5), KEY, probes=0), "probes must be >= 1"),
    (lambda: slq_density(never_called, jnp.zeros(5), KEY, iters=0), "iters must be >= 1"),
    (lambda: hutchinson_trace(never_called, jnp.zeros(5), KEY, 1), "probes must be >= 2"),
    (lambda: hutchpp_trace(never_called, jnp.zeros(5), KEY, 3), "matvecs must be >= 4"),
    (lambda: extreme_eigenpairs_batch(never_called, jnp.zeros((2, 5)), key=KEY, chunk_size=0),
     "chunk_size must be >= 1"),
    (lambda: extreme_eigenpairs_batch(never_called, jnp.zeros((2, 5)), k=6, key=KEY),
     "k must be <= d = 5"),
    (lambda: extreme_eigenpairs_batch(never_called, jnp.zeros(()), key=KEY), "xs must have"),
    (lambda: density_on_grid(DENSITY, [0.0], 0.0), "sigma must be"),
    (lambda: hutchinson_trace(lambda x: x, jnp.zeros(5), KEY), "f must return a scalar"),
    (lambda: hutchinson_trace(quad, jnp.zeros(5), KEY, args=[1.0]), "args must be a tuple"),
])
def test_bad_input_is_a_one_line_error_naming_the_argument(call, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        call()
    assert "\n" not in str(info.value)
