"""Edge of stability: the threshold against the heavy-ball iteration on a quadratic, the
crossing statistics on a hand-made trace, and a tiny run of the experiment whose monitor
sharpness is checked against dense Hessian eigenvalues."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import experiments.edge_of_stability as eos
from saddle import experiment, stability


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_threshold_separates_convergence_from_divergence_on_a_quadratic(beta):
    """Heavy ball on ½λx², iterated in numpy: stable just below 2(1+β)/η, unstable above."""
    lr = 0.1
    thr = float(stability.threshold(lr, beta))
    assert thr == pytest.approx(2 * (1 + beta) / lr)
    for factor, stable in ((0.97, True), (1.03, False)):
        lam, x, v = factor * thr, 1.0, 0.0
        for _ in range(300):
            v = beta * v + lam * x
            x = x - lr * v
        assert (abs(x) < 1e-3) == stable and (abs(x) > 1e3) == (not stable)


def test_edge_statistics_on_a_known_trace():
    steps = np.arange(10) * 5
    s = np.array([1, 2, 3, 4, 5.5, 4.8, 5.2, 5.0, 5.1, np.nan])  # NaN: diverged, ignored
    f = np.array([9, 8, 7, 6, 5, 6, 4, 4.5, 3, 2])
    st = stability.edge_statistics(s, f, steps, 5.0)
    assert (st.cross_index, st.cross_step) == (4, 20)
    assert st.median_ratio == pytest.approx(np.median([4.8, 5.2, 5.0, 5.1]) / 5)
    assert st.loss_up_fraction == pytest.approx(2 / 4)  # 5→6, 6→4, 4→4.5, 4.5→3
    assert (st.loss_at_cross, st.loss_final) == (5, 3)
    never = stability.edge_statistics(s[:4], f[:4], steps[:4], 5.0)
    assert never.cross_step == -1 and np.isnan(never.median_ratio)
    with pytest.raises(ValueError, match="thresh"):
        stability.edge_statistics(s, f, steps, -1.0)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = eos.Config(settings=("chebyshev",), lrs=(0.4,), momentum_lrs=(), steps=1600,
                     n_seeds=1, flow_ratio=1, dense_every=4)
    return experiment.run_experiment(cfg, eos.run, None, eos.summarize,
                                     out=tmp_path_factory.mktemp("eos"), show_progress=False)


@pytest.mark.slow  # one compile of the monitored program: ~15 s CPU
def test_chebyshev_targets_and_dense_sharpness_at_the_start(result):
    obj, _, theta0, _ = eos.problem(eos.Config(settings=("chebyshev",), n_seeds=1), "chebyshev")
    x, y = obj.data
    assert np.allclose(y[:, 0], 8 * x[:, 0] ** 4 - 8 * x[:, 0] ** 2 + 1, atol=1e-5)  # T₄
    hess = np.asarray(jax.jit(jax.hessian(obj.fn))(theta0[0], obj.data), np.float64)
    top = np.linalg.eigvalsh((hess + hess.T) / 2)[-1]
    assert result.data["chebyshev_gd__dense"][0, 0, 0] == pytest.approx(top, rel=1e-4)


@pytest.mark.slow  # one compile of the monitored program: ~15 s CPU
def test_monitor_sharpness_matches_dense_eigh_along_the_run(result):
    lanczos, dense = result.data["chebyshev_gd__lanczos"], result.data["chebyshev_gd__dense"]
    assert lanczos.shape == dense.shape and lanczos.shape[-1] >= 8
    np.testing.assert_allclose(lanczos, dense, rtol=1e-3)
    assert result.summary["chebyshev"]["monitor_vs_dense_max_rel_err"] < 1e-3


@pytest.mark.slow  # one compile of the monitored program: ~15 s CPU
def test_gd_hovers_at_two_over_eta(result):
    """η = 0.4: the sharpness starts near 3 < 2/η = 5, reaches 5 and stays near it."""
    s = result.summary["chebyshev"]["gd_lr0.4"]
    assert s["threshold"] == pytest.approx(5.0)
    assert result.data["chebyshev_gd__dense"][0, 0, 0] < 0.8 * 5.0
    assert s["crossed"] == [True]
    assert eos.BAND[0] <= s["median_ratio_after"][0] <= eos.BAND[1]
    assert s["loss_final"][0] < s["loss_at_cross"][0]
    assert result.summary["verdict"] in ("confirmed", "depends")


def test_bad_config():
    with pytest.raises(ValueError, match="steps=100 must be >= 4·every"):
        eos.Config(steps=100)
    with pytest.raises(ValueError, match="unknown value 'cifar'"):
        eos.Config(settings=("cifar",))
    with pytest.raises(ValueError, match="momentum"):
        eos.Config(momentum=1.0)
    with pytest.raises(ValueError, match="momentum"):
        stability.threshold(0.1, 1.5)
    with pytest.raises(ValueError, match="lr"):
        stability.threshold([0.1, -0.1])
    assert jnp.isfinite(stability.threshold(0.1))
