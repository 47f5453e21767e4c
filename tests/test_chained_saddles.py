"""The chained-saddles experiment: GD and perturbed GD through a chain of saddles against the
growth law 1 + κ, the verdict's rule on constructed medians, a tiny end-to-end run."""

import jax
import numpy as np
import pytest
from conftest import float64

import experiments.chained_saddles as cs
import saddle
from saddle import experiment, optimizers
from saddle.escape import chain_growth
from saddle.stats import censored


def test_gd_grows_by_one_plus_kappa_per_saddle_perturbed_gd_by_a_constant():
    """Du et al. (2017), measured with descend directly (float64, 48 starts, η = 0.1): GD's
    median from d = 4 to 5 grows within 10% of 1 + κ = 2.105 (chain_growth); perturbed
    GD's step per saddle is about constant and at d = 5 it is already much faster."""
    med = {}
    with float64():
        for d in (2, 4, 5):
            f = saddle.objectives.get("chained_saddle", dim=d).fn
            x0 = np.asarray(jax.random.uniform(jax.random.PRNGKey(d), (48, d), minval=-0.1,
                                               maxval=0.1), np.float64)
            esc = saddle.Escape(np.zeros(d), loss_drop=(d - 0.5) / 4)
            for name, kw in (("gd", {}), ("perturbed_gd", cs.PGD)):
                e = saddle.descend(f, x0, optimizers.make(name, 0.1, **kw), 2000,
                                   escape=esc).escape_step
                assert np.mean(e >= 0) > (0.9 if name == "gd" else 0.999), (d, name)
                med[d, name] = np.median(censored(e, 2000))
    assert med[5, "gd"] / med[4, "gd"] == pytest.approx(chain_growth(0.1), rel=0.1)
    assert med[5, "perturbed_gd"] < 0.6 * med[5, "gd"]
    per_saddle = (med[5, "perturbed_gd"] - med[2, "perturbed_gd"]) / 3
    assert med[5, "perturbed_gd"] - med[4, "perturbed_gd"] == pytest.approx(per_saddle, rel=0.3)


def _data(gd, pgd):
    """Constructed data: every start of dimension d passes at the given median."""
    dims = np.arange(2, 2 + len(gd))
    out = {"dims": dims}
    for d, a, b in zip(dims, gd, pgd, strict=True):
        out |= {f"d{d}__gd": np.full(9, a), f"d{d}__perturbed_gd": np.full(9, b),
                f"d{d}__gd_float32": np.full(9, a)}
    return out


def test_verdict_rule_on_constructed_medians():
    cfg = cs.Config()
    g = chain_growth(cfg.lr)
    geometric = [round(100 * g**k) for k in range(5)]
    linear = [90 + 88 * k for k in range(5)]
    assert cs.summarize(cfg, _data(geometric, linear))["verdict"] == "confirmed"
    assert cs.summarize(cfg, _data(linear, geometric))["verdict"] == "refuted"
    fast = [round(100 * (1.3 * g) ** k) for k in range(5)]  # 30% above the theory per saddle
    assert cs.summarize(cfg, _data(fast, linear))["verdict"] == "depends"
    s = cs.summarize(cfg, _data(geometric[:2], linear[:2]))  # two d: a fit tests nothing
    assert s["verdict"] == "inconclusive" and "fewer than 3" in s["because"]
    censored_gd = [*geometric[:2], -1, -1, -1]  # only two uncensored d left for GD
    assert cs.summarize(cfg, _data(censored_gd, linear))["verdict"] == "inconclusive"
    assert cs.summarize(cfg, _data(geometric, linear))["gd_fitted_growth_per_saddle"] == (
        pytest.approx(g, rel=1e-3))


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = cs.Config(dims=(2, 4), n_starts=48, steps=2000)
    out = tmp_path_factory.mktemp("chained_saddles")
    return cfg, out, experiment.run_experiment(cfg, cs.run, cs.plot, cs.summarize, out=out,
                                               show_progress=False,
                                               figure_formats=("png",), dpi=50)


@pytest.mark.slow  # CI time: see BUILD_NOTES 'Test-suite time'
def test_end_to_end_summary_figure_and_reuse(result):
    cfg, out, res = result
    s = res.summary
    assert s["dims"] == [2, 4] and set(s["per_dim"]["2"]) == {"gd", "perturbed_gd", "gd_float32"}
    assert s["predicted_growth_per_saddle"] == pytest.approx(1 + np.log(1 / 0.9) / np.log(1.1))
    assert s["per_dim"]["4"]["gd"]["median"] > s["per_dim"]["2"]["gd"]["median"]
    assert s["verdict"] == "inconclusive"  # two dimensions: no fit is tested
    assert [p.name for p in res.figures if p.suffix == ".png"] == ["chained_saddles.png"]
    again = experiment.run_experiment(cfg, cs.run, None, cs.summarize, out=out,
                                      show_progress=False)
    assert again.reused and experiment.to_jsonable(again.summary) == experiment.to_jsonable(s)


@pytest.mark.parametrize("kwargs, match", [
    ({"dims": (0, 3)}, "dims must be >= 1, got 0"),
    ({"dims": (3, 13)}, "dims must be <= 12, got 13"),
    ({"dims": (3, 3)}, "dims has duplicates"),
    ({"dims": ()}, "dims must name at least one"),
    ({"init": 0.5}, "init must be <= 0.25"),
    ({"lr": 1.0}, "lr must be < 1"),
    ({"n_starts": 0}, "n_starts must be >= 1"),
    ({"growth_tolerance": 0.0}, "growth_tolerance must be a finite number > 0"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cs.Config(**kwargs)
