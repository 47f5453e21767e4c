"""The escape experiment: GD on x² − y² against its exact escape-time law, chained saddles,
the statistics, and a tiny end-to-end run."""

import math

import jax
import numpy as np
import optax
import pytest
from conftest import float64

import experiments.escape as esc
import saddle
from saddle import experiment, optimizers


# ----------------------------------------------------------------------------- statistics
def test_median_ci_uses_the_binomial_order_statistics():
    # n = 100: the classic distribution-free 95% interval is [X_(40), X_(61)].
    assert esc.median_ci(np.arange(1, 101)) == (50.5, 40.0, 61.0)
    _, lo, hi = esc.median_ci(np.arange(1, 10_001))
    assert (lo, hi) == (4902.0, 5099.0)  # n/2 ∓ 1.96·√n/2 ≈ ∓ 98
    assert esc.median_ci([7.0]) == (7.0, 7.0, 7.0)


def test_median_ci_covers_the_true_median_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    x = rng.exponential(size=(2000, 51))
    hits = [lo <= math.log(2) <= hi for _, lo, hi in map(esc.median_ci, x)]
    assert 0.94 <= np.mean(hits) <= 0.985


def test_never_is_censored_not_nan():
    e = np.array([3, -1, 5, -1, -1])
    np.testing.assert_array_equal(esc.censored(e, 100), [3, 100, 5, 100, 100])
    s = esc._stats(e, 100)
    assert s["median"] == 100 and s["median_censored"] and s["never_fraction"] == 0.6


def test_sphere_median_abs_projection():
    assert esc.sphere_median_abs(2) == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    assert esc.sphere_median_abs(3) == pytest.approx(0.5, abs=1e-6)  # u₁ ~ U[−1, 1] in 3-D
    u = np.random.default_rng(1).normal(size=(200_000, 10))
    mc = np.median(np.abs(u[:, 0]) / np.linalg.norm(u, axis=1))
    assert esc.sphere_median_abs(10) == pytest.approx(mc, abs=3e-3)


# ----------------------------------------------------------------------------- GD on x² − y²
@pytest.mark.parametrize("lr, loss_drop", [(0.05, 1.0), (0.1, 0.3)])
def test_gd_escape_time_on_quadratic_saddle_follows_the_exact_law(lr, loss_drop):
    """The measured distribution of run.escape_step (n = 4000 uniform starts on the circle)
    against P(T ≤ t) = 1 − (2/π)·arcsin √u_t: KS distance below the 1% critical value,
    while the same law shifted by one step is rejected."""
    n, eps, r = 4000, 1e-2, 0.5
    f = saddle.objectives.get("quadratic_saddle").fn
    x0 = esc.sphere_starts(jax.random.PRNGKey(3), n, np.zeros(2), eps)
    run = saddle.descend(f, x0, optax.sgd(lr), 300,
                         escape=saddle.Escape(np.zeros(2), radius=r, loss_drop=loss_drop * r**2))
    e = run.escape_step
    assert np.all(e > 0)
    t = np.arange(301)
    ecdf = np.searchsorted(np.sort(e), t, side="right") / n
    cdf = esc.exact_quadratic_cdf(t, lr, eps, r, loss_drop)
    crit = 1.63 / math.sqrt(n)
    assert np.max(np.abs(ecdf - cdf)) < crit
    assert np.max(np.abs(ecdf - np.concatenate([[0.0], cdf[:-1]]))) > crit  # off by one step
    exact_median = int(np.searchsorted(cdf, 0.5))
    assert abs(np.median(e) - exact_median) <= 1
    # The naive estimate is for a start on the escape direction: it is below the median
    # by log(√2)/log(1 + 2η) steps, the median start's |sin θ| = 1/√2 (when the ball
    # decides; with loss_drop = ℓ < 1 the effective radius is ≈ √ℓ·r).
    r_eff = r * math.sqrt(min(loss_drop, 1.0))
    lin = esc.gd_linear_estimate(-2.0, lr, eps, r_eff)
    corrected = esc.gd_linear_estimate(-2.0, lr, eps / math.sqrt(2), r_eff)
    assert lin < exact_median - 1 and abs(corrected - exact_median) <= 1.5


def test_escape_steps_in_horizons_equals_one_long_run():
    """Re-running only the starts still inside after a first horizon gives exactly the escape
    steps of one long run, also for perturbed GD: each start keeps its own key."""
    f = saddle.objectives.get("monkey_saddle").fn
    x0 = esc.sphere_starts(jax.random.PRNGKey(0), 100, np.zeros(2), 0.05)
    e_ = saddle.Escape(np.zeros(2), radius=0.5)
    pgd = optimizers.make("perturbed_gd", 0.03, radius=0.05, g_thres=0.1, t_thres=20)
    keys = jax.random.split(jax.random.PRNGKey(7), 100)
    one = saddle.descend(f, x0, pgd, 700, escape=e_, key=keys).escape_step
    ladder, div = esc.escape_steps(f, x0, pgd, 700, e_, first=200, key=jax.random.PRNGKey(7))
    assert np.any(one > 200) and np.any((one >= 0) & (one < 200))  # both horizons used
    np.testing.assert_array_equal(ladder, one)
    assert not div.any()
    # With one key for the batch, noise follows the batch position: a subset re-run differs.
    one = saddle.descend(f, x0, pgd, 700, escape=e_).escape_step
    sub = saddle.descend(f, x0[one > 200], pgd, 700, escape=e_).escape_step
    assert np.any(sub != one[one > 200])


# ----------------------------------------------------------------------------- chained saddles
def test_perturbed_gd_passes_the_chain_faster_than_gd():
    """Du et al. (2017): GD's time through d chained saddles grows geometrically, perturbed
    GD's linearly; at d = 5 perturbed GD is already much faster."""
    med = {}
    with float64():
        for d in (2, 5):
            f = saddle.objectives.get("chained_saddle", dim=d).fn
            x0 = np.asarray(jax.random.uniform(jax.random.PRNGKey(d), (48, d), minval=-0.1,
                                               maxval=0.1), np.float64)
            e_ = saddle.Escape(np.zeros(d), loss_drop=(d - 0.5) / 4)
            for name, kw in (("gd", {}), ("perturbed_gd", esc.CHAIN_PGD)):
                e = saddle.descend(f, x0, optimizers.make(name, 0.1, **kw), 2000,
                                   escape=e_).escape_step
                assert np.mean(e >= 0) > (0.9 if name == "gd" else 0.999), (d, name)
                med[d, name] = np.median(esc.censored(e, 2000))
    assert med[5, "perturbed_gd"] < 0.6 * med[5, "gd"]
    assert med[5, "gd"] / med[2, "gd"] > 2.0**3  # ≈ (1 + κ)^3 with 1 + κ ≈ 2.1
    assert med[5, "perturbed_gd"] / med[2, "perturbed_gd"] < 5  # ≈ linear in d


# ----------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = esc.Config(saddles=("quadratic_saddle", "monkey_saddle"),
                     optimizers=("gd", "perturbed_gd", "saddle_free_newton"),
                     n_starts=300, steps=256, chain_dims=(2, 3), chain_starts=16,
                     chain_steps=800)
    out = tmp_path_factory.mktemp("escape")
    return cfg, out, experiment.run_experiment(cfg, esc.run, esc.plot, esc.summarize, out=out,
                                               show_progress=False)


def test_summary_fields(result):
    cfg, _, res = result
    s = res.summary
    assert set(s["saddles"]) == {"quadratic_saddle", "monkey_saddle"}
    for label, entry in s["saddles"].items():
        assert set(entry["optimizers"]) == set(cfg.optimizers)
        for name, o in entry["optimizers"].items():
            assert o["ci_low"] <= o["median"] <= o["ci_high"] <= cfg.steps, (label, name)
            assert 0 <= o["never_fraction"] <= 1 and o["n"] == cfg.n_starts
            assert o["never_ci"][0] <= o["never_fraction"] <= o["never_ci"][1]
            assert o["lr"] > 0
    q = s["saddles"]["quadratic_saddle"]
    assert q["gd_theory"]["lam_min"] == pytest.approx(-2.0)
    assert q["gd_theory"]["linear_estimate"] < q["optimizers"]["gd"]["median"]
    assert q["gd_theory"]["ks_distance_to_exact"] < q["gd_theory"]["ks_1pct_threshold"]
    assert s["saddles"]["monkey_saddle"]["gd_theory"]["linear_estimate"] is None
    # The monkey saddle is slow for GD: many starts have not left the ball after 256 steps.
    assert s["saddles"]["monkey_saddle"]["optimizers"]["gd"]["never_fraction"] > 0.5
    # Saddle-free Newton is the fastest everywhere.
    for entry in s["saddles"].values():
        meds = {k: v["median"] for k, v in entry["optimizers"].items()}
        assert min(meds, key=meds.get) == "saddle_free_newton"
    chain = s["chain"]
    assert chain["dims"] == [2, 3] and set(chain["per_dim"]["2"]) == {"gd", "perturbed_gd",
                                                                      "gd_float32"}
    assert chain["per_dim"]["3"]["gd"]["median"] > chain["per_dim"]["2"]["gd"]["median"]


def test_figures_and_rerun_reuses(result):
    cfg, out, res = result
    names = sorted(p.name for p in res.figures if p.suffix == ".png")
    assert names == ["chained_saddles.png", "escape_medians.png", "escape_times.png",
                     "gd_theory.png"]
    again = experiment.run_experiment(cfg, esc.run, None, esc.summarize, out=out,
                                      show_progress=False)
    assert again.reused
    assert experiment.to_jsonable(again.summary) == experiment.to_jsonable(res.summary)


# ----------------------------------------------------------------------------- bad config
@pytest.mark.parametrize("kwargs, match", [
    ({"n_starts": 0}, "n_starts must be >= 1"),
    ({"eps": 0.6}, "eps must be < radius"),
    ({"eps": -1.0}, "eps must be a finite number > 0"),
    ({"loss_drop": float("nan")}, "loss_drop must be a finite number > 0"),
    ({"optimizers": ("sgdd",)}, "unknown optimizer 'sgdd' in optimizers"),
    ({"saddles": ("rastrigin",)}, "unknown saddle 'rastrigin' in saddles"),
    ({"lr_scale": 2.5}, "lr_scale must be < 2"),
    ({"strict_gamma": 0.1}, r"radius must be < sqrt\(strict_gamma\)"),
    ({"strict_dim": 1}, "strict_dim must be >= 2"),
    ({"chain_dims": (0, 3)}, "chain_dims must lie in 1..12"),
    ({"chain_init": 0.5}, "chain_init must be <= 0.25"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        esc.Config(**kwargs)
