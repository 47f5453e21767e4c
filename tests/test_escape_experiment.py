"""The escape experiments (escape: optimizers compared; escape_theory: GD's linear law): GD
on x² − y² against its exact escape-time law, the verdicts, and tiny end-to-end runs (one
where GD never escapes within the budget)."""

import math

import jax
import numpy as np
import optax
import pytest

import experiments.escape as esc
import experiments.escape_theory as eth
import saddle
from saddle import experiment
from saddle.escape import exact_quadratic_cdf, gd_linear_estimate


# ----------------------------------------------------------------------------- GD on x² − y²
@pytest.mark.parametrize("lr, loss_drop", [(0.05, 1.0), (0.1, 0.3)])
def test_gd_escape_time_on_quadratic_saddle_follows_the_exact_law(lr, loss_drop):
    """The measured distribution of run.escape_step (n = 4000 uniform starts on the circle)
    against P(T ≤ t) = 1 − (2/π)·arcsin √u_t: KS distance below the 1% critical value,
    while the same law shifted by one step is rejected."""
    n, eps, r = 4000, 1e-2, 0.5
    f = saddle.objectives.get("quadratic_saddle").fn
    x0 = saddle.starts.sphere(jax.random.PRNGKey(3), n, np.zeros(2), eps)
    run = saddle.descend(f, x0, optax.sgd(lr), 300,
                         escape=saddle.Escape(np.zeros(2), radius=r, loss_drop=loss_drop * r**2))
    e = run.escape_step
    assert np.all(e > 0)
    t = np.arange(301)
    ecdf = np.searchsorted(np.sort(e), t, side="right") / n
    cdf = exact_quadratic_cdf(t, lr, eps, r, loss_drop)
    crit = 1.63 / math.sqrt(n)
    assert np.max(np.abs(ecdf - cdf)) < crit
    assert np.max(np.abs(ecdf - np.concatenate([[0.0], cdf[:-1]]))) > crit  # off by one step
    exact_median = int(np.searchsorted(cdf, 0.5))
    assert abs(np.median(e) - exact_median) <= 1
    # The naive estimate is for a start on the escape direction: it is below the median
    # by log(√2)/log(1 + 2η) steps, the median start's |sin θ| = 1/√2 (when the ball
    # decides; with loss_drop = ℓ < 1 the effective radius is ≈ √ℓ·r).
    r_eff = r * math.sqrt(min(loss_drop, 1.0))
    lin = gd_linear_estimate(-2.0, lr, eps, r_eff)
    corrected = gd_linear_estimate(-2.0, lr, eps / math.sqrt(2), r_eff)
    assert lin < exact_median - 1 and abs(corrected - exact_median) <= 1.5


# ----------------------------------------------------------------------------- end to end
SMALL = dict(saddles=("quadratic_saddle", "monkey_saddle"), n_starts=300, steps=256)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = esc.Config(optimizers=("gd", "perturbed_gd", "saddle_free_newton"), **SMALL)
    out = tmp_path_factory.mktemp("escape")
    return cfg, out, experiment.run_experiment(cfg, esc.run, esc.plot, esc.summarize, out=out,
                                               show_progress=False,
                                               figure_formats=("png",), dpi=50)


@pytest.fixture(scope="module")
def theory(tmp_path_factory):
    cfg = eth.Config(**SMALL)
    return cfg, experiment.run_experiment(cfg, eth.run, eth.plot, eth.summarize,
                                          out=tmp_path_factory.mktemp("escape_theory"),
                                          show_progress=False,
                                          figure_formats=("png",), dpi=50)


def test_summary_against_independent_values(result):
    cfg, _, res = result
    s = res.summary
    assert set(s["saddles"]) == {"quadratic_saddle", "monkey_saddle"}
    q, m = s["saddles"]["quadratic_saddle"], s["saddles"]["monkey_saddle"]
    # learning rates from the curvature scale: |λ| = 2 everywhere on x² − y²; the monkey
    # saddle's Hessian [[6x, −6y], [−6y, −6x]] has |λ| = 6‖x‖, at most 6r = 3 on the ball
    assert q["optimizers"]["gd"]["lr"] == pytest.approx(cfg.lr_scale / 2, rel=1e-6)
    assert m["optimizers"]["gd"]["lr"] == pytest.approx(cfg.lr_scale / (6 * cfg.radius), rel=1e-5)
    assert q["gd_theory"]["lam_min"] == pytest.approx(-2.0)
    assert m["gd_theory"]["linear_estimate"] is None
    # The monkey saddle is slow for GD: from a start in a valley it needs
    # (1/ε − 1/r)/(3η) = 980 steps; most starts have not left the ball after 256.
    assert m["gd_theory"]["valley_estimate"] == pytest.approx(980, rel=1e-5)
    assert m["optimizers"]["gd"]["never_fraction"] > 0.5
    assert m["optimizers"]["gd"]["median_censored"]
    # Saddle-free Newton is the fastest everywhere.
    for entry in s["saddles"].values():
        meds = {k: v["median"] for k, v in entry["optimizers"].items()}
        assert min(meds, key=meds.get) == "saddle_free_newton"
    # x² − y² is the only strict saddle; SFN is the only optimizer of the claim that ran
    assert s["verdict"] == "confirmed" and s["because"].startswith("1 of 1")


def test_escape_verdict_rule():
    def entry(gd, **others):
        runs = {name: {"median": v, "ci_low": v - 2, "ci_high": v + 2,
                       "ci_high_censored": v + 2 >= 256}
                for name, v in {"gd": gd, **others}.items()}
        return {"gd_theory": {"linear_estimate": 40.0}, "optimizers": runs}

    assert esc.verdict({"a": entry(45, momentum=18, adam=40)})["verdict"] == "confirmed"
    assert esc.verdict({"a": entry(45, adam=44)})["verdict"] == "refuted"  # CIs overlap
    assert esc.verdict({"a": entry(45, adam=30), "b": entry(45, adam=46)})["verdict"] == "depends"
    assert esc.verdict({"a": entry(400, adam=255)})["verdict"] == "refuted"  # censored CI
    degenerate = {**entry(45, adam=30), "gd_theory": {"linear_estimate": None}}
    assert esc.verdict({"m": degenerate})["verdict"] == "inconclusive"
    assert esc.verdict({"a": entry(45, perturbed_gd=46)})["verdict"] == "inconclusive"


def test_theory_summary_against_the_exact_law(theory):
    cfg, res = theory
    q = res.summary["saddles"]["quadratic_saddle"]
    # GD on x² − y²: the exact law gives the median and says all 300 starts escape in budget
    t = np.arange(cfg.steps + 1)
    cdf = exact_quadratic_cdf(t, cfg.lr_scale / 2, cfg.eps, cfg.radius, cfg.loss_drop)
    assert 300 * (1 - cdf[-1]) < 1e-6 and q["gd"]["never_fraction"] == 0.0
    exact_median = int(np.searchsorted(cdf, 0.5))
    assert q["gd_theory"]["exact_median"] == exact_median
    assert q["gd"]["ci_low"] - 1 <= exact_median <= q["gd"]["ci_high"] + 1
    assert q["gd_theory"]["ks_distance_to_exact"] < q["gd_theory"]["ks_1pct_threshold"]
    # the same GD runs as experiments.escape (the same keys)
    assert res.data["quadratic_saddle__gd__escape_step"].shape == (300,)
    # x² − y² is the only strict saddle here: its exact median (45) is within 5% of the
    # start-corrected estimate log(r/(ε/√2))/log(1.1) = 44.7
    assert res.summary["verdict"] == "confirmed" and "quadratic_saddle" in res.summary["because"]


def test_same_gd_runs_in_both_experiments(result, theory):
    for label in ("quadratic_saddle", "monkey_saddle"):
        np.testing.assert_array_equal(result[2].data[f"{label}__gd__escape_step"],
                                      theory[1].data[f"{label}__gd__escape_step"])


def test_theory_verdict_rule(theory):
    cfg, _ = theory
    entry = {"gd_theory": {"start_corrected_estimate": 100.0}}

    def word(*medians, half=2.0):
        saddles = {f"s{i}": {**entry, "gd": {
            "median": float(v), "ci_low": v - half, "ci_high": min(v + half, 256),
            "median_censored": v >= 256, "ci_high_censored": v + half >= 256}}
            for i, v in enumerate(medians)}
        return eth.verdict(cfg, saddles)["verdict"]

    assert word(104) == "confirmed" and word(120) == "refuted" and word(90, 103) == "depends"
    assert word(108) == "refuted" and word(108, half=4) == "confirmed"  # the CI decides
    assert word(256) == "refuted"  # censored at a budget already 2.56× the estimate
    assert eth.verdict(cfg, {"m": {"gd_theory": {"start_corrected_estimate": None},
                                   "gd": {}}})["verdict"] == "inconclusive"


def test_figures_and_rerun_reuses(result, theory):
    cfg, out, res = result
    assert sorted(p.name for p in res.figures if p.suffix == ".png") == [
        "escape_medians.png", "escape_times.png"]
    assert [p.name for p in theory[1].figures if p.suffix == ".png"] == ["gd_theory.png"]
    again = experiment.run_experiment(cfg, esc.run, None, esc.summarize, out=out,
                                      show_progress=False)
    assert again.reused
    assert experiment.to_jsonable(again.summary) == experiment.to_jsonable(res.summary)


@pytest.mark.slow  # CI time: see BUILD_NOTES 'Test-suite time'
def test_a_budget_in_which_gd_never_escapes_plots_and_reruns(tmp_path):
    """Regression: with a budget below every GD escape time (x² − y²: the exact law gives
    P(T ≤ 30) = 0) plotting crashed on the empty set of escaped starts, and so did the rerun
    that reuses the data."""
    kw = dict(saddles=("quadratic_saddle",), n_starts=64, steps=30)
    assert exact_quadratic_cdf(30, 0.1 / 2, 1e-2, 0.5) == 0.0
    for module, cfg, figure in ((eth, eth.Config(**kw), "gd_theory.png"),
                                (esc, esc.Config(optimizers=("gd",), **kw), "escape_times.png")):
        for reused in (False, True):
            res = experiment.run_experiment(cfg, module.run, module.plot, module.summarize,
                                            out=tmp_path / module.__name__, show_progress=False,
                                            figure_formats=("png",), dpi=50)
            assert res.reused == reused
            assert figure in {p.name for p in res.figures}
            gd = res.summary["saddles"]["quadratic_saddle"]
            gd = gd["gd"] if module is eth else gd["optimizers"]["gd"]
            assert gd["never_fraction"] == 1.0 and gd["median_censored"]
            assert res.summary["verdict"] == "inconclusive"


# ----------------------------------------------------------------------------- bad config
@pytest.mark.parametrize("module", [esc, eth])
@pytest.mark.parametrize("kwargs, match", [
    ({"n_starts": 0}, "n_starts must be >= 1"),
    ({"eps": 0.6}, "eps must be < radius"),
    ({"eps": -1.0}, "eps must be a finite number > 0"),
    ({"loss_drop": float("nan")}, "loss_drop must be a finite number, got nan"),
    ({"saddles": ("rastrigin",)}, "unknown value 'rastrigin' in saddles"),
    ({"saddles": ()}, "saddles must name at least one"),
    ({"lr_scale": 2.5}, "lr_scale must be < 2"),
    ({"strict_gamma": 0.1}, r"radius must be < sqrt\(strict_gamma\)"),
    ({"strict_dim": 1}, "strict_dim must be >= 2"),
])
def test_bad_config(module, kwargs, match):
    with pytest.raises(ValueError, match=match):
        module.Config(**kwargs)


def test_bad_config_specific():
    with pytest.raises(ValueError, match="unknown value 'sgdd' in optimizers"):
        esc.Config(optimizers=("sgdd",))
    with pytest.raises(ValueError, match="optimizers names a value twice"):
        esc.Config(optimizers=("gd", "gd"))
    with pytest.raises(ValueError, match="theory_tolerance must be a finite number > 0"):
        eth.Config(theory_tolerance=0.0)
