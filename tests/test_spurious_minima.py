"""The matrix-form ReLU teacher–student loss, minimum certification, and the spurious_minima
experiment on a tiny config, each against an independent computation."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import experiments.spurious_minima as sm
from saddle import experiment
from saddle.critical.certify import certify_minima
from saddle.objectives.relu_matrix import relu_loss
from saddle.objectives.teacher import relu_population_loss
from saddle.precision import float64


def _lib(n: int, k: int):
    """The library's per-pair closed form (saddle.objectives.teacher), teacher I_k."""
    return lambda th: relu_population_loss(th.reshape(n, k), jnp.eye(k, dtype=th.dtype))


def _fast(n: int, k: int):
    return lambda th: relu_loss(th.reshape(n, k), jnp.eye(k, dtype=th.dtype))


@pytest.mark.slow  # CI time: see BUILD_NOTES 'Test-suite time'
def test_matrix_form_equals_the_per_pair_closed_form_with_derivatives():
    """Value and gradient of relu_loss equal those of relu_population_loss (a separate
    implementation), and its Hessian equals central differences of that gradient, at random
    points and where units are parallel: the global minimum W = I, and n = k + 1 with one
    teacher unit split in two parallel halves."""
    k, h = 3, 1e-6
    split = np.vstack([np.eye(k)[:2], 0.3 * np.eye(k)[2], 0.7 * np.eye(k)[2]])
    with float64():
        rng = np.random.default_rng(0)
        cases = {k: [rng.normal(size=(2, k * k)), np.eye(k).ravel()],
                 k + 1: [rng.normal(size=(2, (k + 1) * k)), split.ravel()]}
        for n, points in cases.items():
            th = np.vstack(points)
            fast, lib = _fast(n, k), _lib(n, k)
            lib_vg = jax.jit(jax.vmap(jax.value_and_grad(lib)))
            fast_vg = jax.jit(jax.vmap(jax.value_and_grad(fast)))
            np.testing.assert_allclose(fast_vg(th)[0], lib_vg(th)[0], atol=1e-13)
            np.testing.assert_allclose(fast_vg(th)[1], lib_vg(th)[1], atol=1e-12)
            steps = h * np.eye(th.shape[1])
            for x, hess in zip(th, jax.jit(jax.vmap(jax.hessian(fast)))(th), strict=True):
                fd = (lib_vg(x + steps)[1] - lib_vg(x - steps)[1]) / (2 * h)
                np.testing.assert_allclose(hess, (fd + fd.T) / 2, atol=1e-6)  # O(h): H is Lipschitz
        assert abs(float(_fast(k + 1, k)(jnp.asarray(split.ravel())))) < 1e-14  # global


def test_safran_shamir_k7_spurious_minimum_is_certified():
    """The k = n = 7 spurious minimum published with Safran & Shamir's code (github
    ItaySafran/Overparameterization, README; columns are units, 10 digits) is a critical
    point of relu_loss (‖∇L‖ at the rounding level of its digits), and certify_minima polishes
    it by < 1e-9 and certifies a minimum with loss clearly above 0."""
    a, b, e, c, d = -0.6327039049, 0.2616910758, 0.1859910463, 0.9969227988, -0.0350801559
    w = np.full((7, 7), d)
    np.fill_diagonal(w, c)
    w[0, 0], w[0, 1:], w[1:, 0] = a, b, e
    th = w.T.ravel()  # rows are units here
    with float64():
        fn = _fast(7, 7)
        assert float(jnp.linalg.norm(jax.grad(fn)(jnp.asarray(th)))) < 1e-8
        cert = certify_minima(fn, th[None])
    assert cert.status[0] == "minimum"
    assert np.abs(cert.x[0] - th).max() < 1e-9 and cert.grad_norm[0] < 1e-13
    assert cert.value[0] > 0.02 and cert.lam_min[0] > 1e3 * cert.margin[0]


def test_certify_minima_tells_minimum_saddle_degenerate_and_not_converged():
    """f = (x² − 1)² + y²·(1 + z²) + z⁴: (1, 0, 0) has eigenvalues (8, 2, 0): degenerate;
    f + z²: (1, 0, 0) a minimum (8, 2, 2), (0, 0, 0) a saddle (−4, 2, 2); a far point
    without polishing is not converged. Newton polishing reaches the minimum from nearby."""
    def f(v):
        return (v[0] ** 2 - 1) ** 2 + v[1] ** 2 * (1 + v[2] ** 2) + v[2] ** 4

    def g(v):
        return f(v) + v[2] ** 2

    with float64():
        pts = np.array([[1 + 1e-4, 1e-4, -1e-4], [1e-5, 0.0, 0.0], [0.5, 0.5, 0.5]])
        cg = certify_minima(g, pts[:2])
        assert list(cg.status) == ["minimum", "saddle"]
        np.testing.assert_allclose(cg.lam_min, [2, -4], rtol=1e-8)
        np.testing.assert_allclose(cg.x[0], [1, 0, 0], atol=1e-12)
        cf = certify_minima(f, np.array([[1.0, 0.0, 0.0]]))
        assert cf.status[0] == "degenerate"
        assert certify_minima(g, pts[2:], polish_steps=0).status[0] == "not_converged"
        with pytest.raises(ValueError, match="xs"):
            certify_minima(g, np.zeros(3))


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = sm.Config(ks=(6, 8), extra=(0,), n_starts=64, steps=1500, rounds=1,
                    save_points=True)
    return cfg, experiment.run_experiment(cfg, sm.run, sm.plot, sm.summarize,
                                          out=tmp_path_factory.mktemp("sm"),
                                          show_progress=False,
                                          figure_formats=("png",), dpi=50)


def _fd_hessian(grad, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of a gradient, symmetrised (numpy)."""
    cols = [(np.asarray(grad(jnp.asarray(x + h * e))) - np.asarray(grad(jnp.asarray(x - h * e))))
            / (2 * h) for e in np.eye(len(x))]
    m = np.stack(cols, 1)
    return (m + m.T) / 2


def test_tiny_run_every_minimum_and_global_end_checked_independently(result):
    cfg, res = result
    s = res.summary
    assert s["totals"]["spurious"] >= 3  # k = 8: about 13% of starts
    assert s["totals"]["global"] + s["totals"]["spurious"] == 128
    with float64():
        for k in cfg.ks:
            i = list(res.data["k"]).index(k)
            x, outcome = res.data[f"x_k{k}_n{k}"], res.data["outcome"][i]
            lib = _lib(k, k)
            grad = jax.jit(jax.grad(lib))
            for j in np.flatnonzero(outcome == "spurious"):
                # independent: the per-pair closed form, finite-difference Hessian, numpy eigh
                assert np.linalg.norm(grad(jnp.asarray(x[j]))) < 1e-10
                lam = np.linalg.eigvalsh(_fd_hessian(grad, x[j]))
                assert lam[0] > 1e-3
                assert abs(lam[0] - res.data["lam_min"][i][j]) < 1e-6
                assert float(lib(jnp.asarray(x[j]))) > 1e-2
            for j in np.flatnonzero(outcome == "global"):
                w = x[j].reshape(k, k)
                perm = np.argmax(w, axis=1)
                assert sorted(perm) == list(range(k))  # a permutation of the teacher
                np.testing.assert_allclose(w, np.eye(k)[perm], atol=1e-6)
    assert (res.out / "spurious_minima.png").exists()


def test_tiny_run_shares_and_wilson_intervals(result):
    from scipy.stats import binomtest, norm

    cfg, res = result
    for row in res.summary["settings"]:
        hits = row["counts"]["spurious"]
        ci = binomtest(hits, cfg.n_starts).proportion_ci(confidence_level=2 * norm.cdf(1.96) - 1,
                                                         method="wilson")
        np.testing.assert_allclose(row["ci"], [ci.low, ci.high], atol=1e-12)
    assert res.summary["settings"][0]["counts"]["spurious"] <= 2  # k = 6: rare


@pytest.mark.parametrize("kwargs, name", [
    ({"ks": (6,), "extra": (-6,)}, "extra"),
    ({"ks": (8,), "dim": 6}, "dim"),
    ({"ks": (0,)}, "ks"),
    ({"n_starts": 0}, "n_starts"),
])
def test_bad_config_is_one_line_naming_the_field(kwargs, name):
    with pytest.raises(ValueError, match=name) as err:
        sm.Config(**kwargs)
    assert "\n" not in str(err.value)


def test_permutations_of_the_teacher_have_loss_zero():
    """Global minima at n = k: every permutation of the rows of I_k (a closed form: loss 0)."""
    with float64():
        fn = _fast(4, 4)
        for p in itertools.permutations(range(4)):
            assert abs(float(fn(jnp.asarray(np.eye(4)[list(p)].ravel())))) < 1e-14
