"""The spectrum experiment on a tiny config against independent computations (numpy's
eigvalsh of jax.hessian, exact traces of powers of H, a numerical W₁), and the outlier rule
of saddle.curvature.outliers on synthetic spectra with planted outliers."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import experiments.spectrum as sp
from saddle import experiment
from saddle.curvature import SpectralDensity, density_on_grid
from saddle.curvature import outliers as spectral
from saddle.precision import float64

TINY = sp.Config(classes=3, widths=(4,), activations=("tanh",), seeds=1, steps=100,
                 checkpoints=(0, 100), probes=8, iters=20, window=20)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return experiment.run_experiment(TINY, sp.run, sp.plot, sp.summarize,
                                     out=tmp_path_factory.mktemp("spectrum"),
                                     show_progress=False,
                                     figure_formats=("png",), dpi=50)


@pytest.fixture(scope="module")
def hessians(result):
    """Dense Hessians ``[T, d, d]`` at the stored checkpoints, by jax.hessian directly."""
    with float64():
        obj, _ = sp.problem(TINY, "tanh")
        fn = jax.jit(jax.hessian(lambda t: obj.fn(t, obj.data)))
        return np.stack([np.asarray(fn(t)) for t in result.data["theta"][0, 0]])


def test_exact_spectrum_is_numpy_eigvalsh_of_jax_hessian(result, hessians):
    eigs = result.data["eigs"][0, 0]
    for h, e in zip(hessians, eigs, strict=True):
        np.testing.assert_allclose(e, np.linalg.eigvalsh(h), rtol=0,
                                   atol=1e-10 * np.abs(e).max())
    d = 64 * 4 + 4 + 4 * 3 + 3
    assert eigs.shape == (2, d)
    assert result.data["accuracy"][0, 0, -1] > 0.9  # "trained" is trained
    s = result.summary
    assert s["tanh"]["top_outliers"][0] == [spectral.count_outliers(
        e, window=20).top for e in eigs]
    assert s["verdict"] in ("confirmed", "depends", "refuted")
    assert (result.out / "spectrum.png").exists()


def test_slq_moments_match_exact_traces_within_the_rademacher_error(result, hessians):
    """Each probe's quadrature Σⱼ wⱼθⱼᵏ is vᵀHᵏv exactly (k < 2m; v = z/√d, z the probe's
    Rademacher draw, rebuilt here from the run's key), and their mean over P probes is within
    10 standard deviations √(2(‖A‖_F² − Σᵢ Aᵢᵢ²)/P)/d (A = Hᵏ) of tr(Hᵏ)/d: Chebyshev's bound,
    valid for the skewed law of a Rademacher quadratic form, fails 1% of the time."""
    d, p = hessians.shape[1], TINY.probes
    for j, h in enumerate(hessians[[0, -1]]):
        nodes = result.data["slq_nodes"][0, 0, j]
        weights = result.data["slq_weights"][0, 0, j]
        with float64():
            keys = jax.random.split(sp.slq_key(sp.run_key(TINY, 0, 0), j), p)
            v = np.asarray(jax.vmap(lambda k: jax.random.rademacher(
                jax.random.split(k)[0], (d,), jnp.float64))(keys)) / np.sqrt(d)
        dens = SpectralDensity(nodes, weights)
        for k in (0, 1, 2):
            a = np.linalg.matrix_power(h, k)
            np.testing.assert_allclose(np.sum(weights * nodes**k, axis=1),
                                       np.einsum("pi,ij,pj->p", v, a, v), rtol=1e-9,
                                       atol=1e-12 * np.abs(a).max())
            est = spectral.slq_moments(dens, (k,))[0][0]
            sd = np.sqrt(2 * (np.sum(a**2) - np.sum(np.diag(a) ** 2)) / p) / d
            assert abs(est - np.trace(a) / d) <= 10 * sd + 1e-12, (j, k)
        # the smoothed density on a grid has the same moments, plus σ² for k = 2
        m1, m2 = spectral.slq_moments(dens, (1, 2))[0]
        sigma = 0.05 * (nodes.max() - nodes.min())
        grid = np.linspace(nodes.min() - 8 * sigma, nodes.max() + 8 * sigma, 4001)
        with float64():
            phi = np.asarray(density_on_grid(dens, grid, sigma))
        np.testing.assert_allclose([np.trapezoid(phi * grid**k, grid) for k in (0, 1, 2)],
                                   [1.0, m1, m2 + sigma**2], rtol=1e-6, atol=1e-9)


def test_wasserstein_and_top_ritz_against_direct_computation(result):
    eigs = result.data["eigs"][0, 0, -1]
    nodes = result.data["slq_nodes"][0, 0, 1]
    weights = result.data["slq_weights"][0, 0, 1]
    dens = SpectralDensity(nodes, weights)
    # W₁ = ∫|F − G| by quadrature on a fine grid of the two step CDFs
    grid = np.linspace(min(eigs.min(), nodes.min()), max(eigs.max(), nodes.max()), 400_001)
    f = np.searchsorted(eigs, grid, side="right") / eigs.size
    order = np.argsort(nodes.ravel())
    cum = np.concatenate([[0], np.cumsum(weights.ravel()[order]) / nodes.shape[0]])
    g = cum[np.searchsorted(nodes.ravel()[order], grid, side="right")]
    w1 = np.trapezoid(np.abs(f - g), grid)
    assert spectral.wasserstein1(eigs, dens) == pytest.approx(w1, rel=1e-3)
    s = result.summary["tanh"]["slq"][0][1]
    assert s["w1_over_range"] == pytest.approx(w1 / (eigs[-1] - eigs[0]), rel=1e-3)
    # Ritz values interlace: the top one is at most λ_max, and Lanczos finds it
    assert nodes[0, -1] <= eigs[-1] * (1 + 1e-12)
    assert s["top_ritz_rel_err"] < 1e-6


@functools.cache
def _mp(n, p, seed):
    """Eigenvalues of a p × p Wishart matrix XᵀX/n (Marchenko–Pastur bulk)."""
    x = np.random.default_rng(seed).normal(size=(n, p))
    return np.linalg.eigvalsh(x.T @ x / n)


@functools.cache
def _goe(d, seed):
    """GOE eigenvalues scaled to the semicircle on [−1, 1]."""
    a = np.random.default_rng(seed).normal(size=(d, d))
    return np.linalg.eigvalsh((a + a.T) / np.sqrt(8 * d))


@pytest.mark.parametrize("bulk", ["mp", "goe", "zeros"])
@pytest.mark.parametrize("n_top,n_bottom", [(0, 0), (1, 0), (7, 3), (10, 1)])
def test_outlier_rule_finds_planted_outliers(bulk, n_top, n_bottom):
    """Bulk (Marchenko–Pastur on [0.31, 2.09], semicircle on [−1, 1], or 400 exact zeros
    with 1e-12 noise) plus outliers planted as groups spaced by a factor 1.2."""
    rng = np.random.default_rng(n_top + 10 * n_bottom)
    lam = {"mp": lambda: _mp(2000, 400, 1), "goe": lambda: _goe(400, 2),
           "zeros": lambda: 1e-12 * rng.normal(size=400)}[bulk]()
    centre = np.median(lam)
    top = centre + 15 * 1.2 ** np.arange(n_top)
    bottom = centre - 8 * 1.2 ** np.arange(n_bottom)
    spec = rng.permutation(np.concatenate([lam, top, bottom]))
    o = spectral.count_outliers(spec)
    assert (o.top, o.bottom) == (n_top, n_bottom)
    if n_top:
        assert o.upper_edge == pytest.approx(lam.max())


def test_outlier_rule_counts_a_group_as_one_block_and_respects_the_window():
    """Within a group ratios are 1.2 < 2: the rule cuts at the gap below the group, unless
    the group is wider than ``window``."""
    lam = np.concatenate([_goe(400, 3), 10 * 1.05 ** np.arange(30)])
    assert spectral.count_outliers(lam).top == 30
    assert spectral.count_outliers(lam, window=10).top == 0
    assert spectral.count_outliers(lam, min_ratio=20).top == 0


def test_outlier_rule_floor_keeps_the_bulk_next_to_the_centre_in_the_bulk():
    """Five negative eigenvalues 0.4–0.8% of λ_max below 0, four or more times farther out than the
    rest of a bulk of ±1e-3: a gap on a log scale, but within 1% of the spectral radius
    of the centre, so bulk at the default floor and outliers at a floor of 1e-3."""
    rng = np.random.default_rng(4)
    lam = np.concatenate([1e-3 * rng.uniform(-1, 1, 400), -np.linspace(4e-3, 8e-3, 5), [1.0]])
    assert spectral.count_outliers(lam)[:2] == (1, 0)
    assert spectral.count_outliers(lam, floor=1e-3)[:2] == (1, 5)


@pytest.mark.parametrize("kwargs,message", [
    ({"eigenvalues": [1.0]}, "eigenvalues must have shape"),
    ({"eigenvalues": [1.0, np.nan, 2.0]}, "eigenvalues holds 1 non-finite"),
    ({"eigenvalues": [1.0, 2.0], "window": 0}, "window must be >= 1"),
    ({"eigenvalues": [1.0, 2.0], "min_ratio": 1.0}, "min_ratio must be > 1"),
    ({"eigenvalues": [1.0, 2.0], "floor": 1.5}, "floor must be < 1"),
])
def test_outlier_rule_bad_input_names_the_argument(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message) as err:
        spectral.count_outliers(**kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs,message", [
    ({"classes": 1}, "classes must be >= 2"),
    ({"classes": 11}, "classes must be <= 10"),
    ({"activations": ("swish",)}, "unknown value 'swish' in activations"),
    ({"checkpoints": (0, 500)}, "checkpoints must rise strictly from 0 to steps=1000"),
    ({"checkpoints": (10, 1000)}, "checkpoints must rise strictly"),
    ({"min_ratio": 1.0}, "min_ratio must be a finite number > 1"),
    ({"iters": 1}, "iters must be >= 2"),
])
def test_config_bad_input_is_one_line_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        sp.Config(**kwargs)
    assert "\n" not in str(err.value)
