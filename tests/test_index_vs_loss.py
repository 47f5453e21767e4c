"""The index-law fit (saddle.critical.index_law) against synthetic points drawn from the law, and
the index_vs_loss experiment on a tiny config, its end points re-checked independently
(jax.grad, finite-difference Hessians with numpy's eigvalsh, scipy's Wilson interval)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import experiments.index_vs_loss as ivl
from saddle import experiment
from saddle.critical.index_law import fit_index_law, index_law
from saddle.precision import float64


def _synthetic(exponent: float, n: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """ε uniform in [1.2, 3]·ε_c with ε_c = 0.1, α = 0.3((ε − ε_c)/ε_c)^p + N(0, 0.003²)."""
    rng = np.random.default_rng(seed)
    eps = rng.uniform(0.12, 0.3, n)
    return eps, index_law(eps, 0.1, 0.3, exponent) + rng.normal(0, 0.003, n)


def test_fit_recovers_the_law_from_noisy_synthetic_points():
    eps, alpha = _synthetic(1.5)
    assert np.all(alpha > 0)
    key = jax.random.PRNGKey(0)
    fixed = fit_index_law(eps, alpha, key=key, n_boot=100)
    assert fixed.eps_c_ci[0] <= 0.1 <= fixed.eps_c_ci[1]
    assert fixed.alpha0_ci[0] <= 0.3 <= fixed.alpha0_ci[1]
    assert abs(fixed.eps_c - 0.1) < 0.01 and abs(fixed.alpha0 - 0.3) < 0.05
    assert fixed.exponent == 1.5 and fixed.exponent_ci is None
    assert fixed.rmse < 0.006  # noise σ = 0.003
    free = fit_index_law(eps, alpha, key=key, exponent=None, n_boot=100)
    assert free.exponent_ci[0] <= 1.5 <= free.exponent_ci[1]
    assert abs(free.exponent - 1.5) < 0.3


def test_fit_rejects_three_halves_when_the_points_follow_another_exponent():
    """Points from a linear law (p = 1): 3/2 lies outside the free exponent's interval."""
    eps, alpha = _synthetic(1.0, n=120, seed=1)
    free = fit_index_law(eps, alpha, key=jax.random.PRNGKey(1), exponent=None, n_boot=100)
    assert free.exponent_ci[1] < 1.5
    assert free.exponent_ci[0] <= 1.0 <= free.exponent_ci[1]


def test_bad_input_names_the_argument():
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="eps and alpha"):
        fit_index_law(np.ones(6), np.ones(5), key=key)
    with pytest.raises(ValueError, match="alpha must be finite and > 0"):
        fit_index_law(np.ones(6), np.r_[np.ones(5), 0.0], key=key)
    with pytest.raises(ValueError, match="at least 5 points"):
        fit_index_law(np.ones(4), np.ones(4), key=key, exponent=None)
    with pytest.raises(ValueError, match="gauss_width"):
        ivl.Config(gauss_width=0)
    with pytest.raises(ValueError, match="networks"):
        ivl.Config(networks=("mnist",))
    with pytest.raises(ValueError, match="checkpoints"):
        ivl.Config(gd_steps=10, checkpoints=20)


TINY = ivl.Config(networks=("gauss",), gauss_width=3, gauss_samples=6, n_inits=3,
                  gd_steps=200, lr=0.2, checkpoints=5, steps=40, minres_iters=18, n_boot=20,
                  polish_steps=20, polish_krylov=8)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return experiment.run_experiment(TINY, ivl.run, ivl.plot, ivl.summarize,
                                     out=tmp_path_factory.mktemp("ivl"), show_progress=False,
                                     figure_formats=("png",), dpi=50)


def _fd_hessian(fn, theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences of jax.grad, symmetrised: an independent dense Hessian."""
    grad = jax.jit(jax.grad(fn))
    cols = [(np.asarray(grad(theta + h * e)) - np.asarray(grad(theta - h * e))) / (2 * h)
            for e in np.eye(theta.size)]
    hess = np.stack(cols, axis=1)
    return (hess + hess.T) / 2


def test_tiny_run_end_points_check_out_independently(result):
    data, s = result.data, result.summary["gauss"]
    status = data["gauss_status"]
    crit, flat = status == "critical", status == "gradient_flat"
    assert crit.sum() >= 1
    with float64():
        obj, _ = ivl.problem(TINY, "gauss")
        fn = lambda t: obj.fn(t, obj.data)  # noqa: E731
        for theta, eig in zip(data["gauss_x"][crit], data["gauss_eig"][crit], strict=True):
            theta = jnp.asarray(theta)
            assert float(jnp.linalg.norm(jax.grad(fn)(theta))) <= TINY.grad_tol
            lam = np.linalg.eigvalsh(_fd_hessian(fn, np.asarray(theta)))
            assert int(np.sum(lam < -TINY.eig_tol * np.abs(lam).max())) == \
                int(ivl.index_of(eig[None], TINY.eig_tol)[0])
        for theta in data["gauss_x"][flat]:  # ‖H∇f‖ ≤ flat_tol·max|λ|·‖∇f‖, ‖∇f‖ > grad_tol
            g = np.asarray(jax.grad(fn)(jnp.asarray(theta)))
            hess = _fd_hessian(fn, theta)
            assert np.linalg.norm(g) > TINY.grad_tol
            assert np.linalg.norm(hess @ g) <= TINY.flat_tol * np.abs(
                np.linalg.eigvalsh(hess)).max() * np.linalg.norm(g) * (1 + 1e-6)
    n = status.size
    assert n == TINY.n_inits * TINY.checkpoints
    assert s["n_critical"] == crit.sum() and s["runs"] == n
    ci = scipy.stats.binomtest(int(flat.sum()), n).proportion_ci(method="wilson")
    np.testing.assert_allclose(s["gradient_flat_ci"], [ci.low, ci.high], rtol=1e-4)
    assert result.summary["verdict"] in ("confirmed", "depends", "refuted", "inconclusive")
    assert (result.out / "index_vs_loss.png").exists()


def test_tiny_run_starts_span_loss_levels_and_values_are_losses(result):
    """The starts come from several loss levels (log-spaced GD checkpoints), and the stored
    value of each end point is the objective recomputed at its parameters."""
    data = result.data
    start = data["gauss_start_loss"].reshape(TINY.n_inits, -1)
    assert np.all(start[:, 0] > start[:, -1])
    with float64():
        obj, _ = ivl.problem(TINY, "gauss")
        ok = data["gauss_status"] != "diverged"
        vals = jax.vmap(lambda t: obj.fn(t, obj.data))(jnp.asarray(data["gauss_x"][ok]))
    np.testing.assert_allclose(data["gauss_value"][ok], np.asarray(vals), rtol=1e-10)
