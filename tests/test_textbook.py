"""The textbook experiment on a small config, against the geometry it claims to show."""

import numpy as np
import pytest
import scipy.optimize

import experiments.textbook as tb
from saddle import experiment, wilson_interval


def _xcos_critical_points() -> list[float]:
    """Roots of f'(x) = cos(πx) − πx·sin(πx) in [−1, 2], by brentq on its sign changes."""
    def df(x):
        return np.cos(np.pi * x) - np.pi * x * np.sin(np.pi * x)

    grid = np.linspace(-1, 2, 3001)
    signs = np.sign(df(grid))
    brackets = np.nonzero(signs[:-1] * signs[1:] < 0)[0]
    return [scipy.optimize.brentq(df, grid[i], grid[i + 1], xtol=1e-14) for i in brackets]


XCOS = _xcos_critical_points()


def test_xcos_roots_are_the_three_of_the_claim():
    # f is odd, so f' is even: the first two roots are ±x* (x* ≈ 0.274), the third ≈ 1.09
    assert len(XCOS) == 3
    assert XCOS[0] == pytest.approx(-XCOS[1], abs=1e-12)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = tb.Config(n_starts=1024, steps=400)
    return experiment.run_experiment(cfg, tb.run, tb.plot, tb.summarize,
                                     out=tmp_path_factory.mktemp("tb"), show_progress=False,
                                     figure_formats=("png",), dpi=50)


def test_critical_points_and_kinds(result):
    s = result.summary
    kinds = {name: sorted(p["kind"] for p in s[name]["critical_points"]) for name in tb.TOYS}
    assert kinds == {"xcos": ["maximum", "minimum", "minimum"], "cubic": ["degenerate"],
                     "quadratic_saddle": ["saddle"], "monkey_saddle": ["degenerate"]}
    (saddle_pt,) = s["quadratic_saddle"]["critical_points"]
    np.testing.assert_allclose(saddle_pt["eigenvalues"], [-2.0, 2.0], atol=1e-4)
    xs = sorted(p["x"][0] for p in s["xcos"]["critical_points"])
    np.testing.assert_allclose(xs, XCOS, atol=1e-5)
    assert s["verdict"] == "confirmed", s["because"]


def test_gd_basin_shares_match_the_basin_lengths(result):
    """Uniform starts on [−1, 2]: GD ends in the local minimum iff it starts left of the
    maximum at x* (the middle root of f'), so the share is (x* + 1)/3 ≈ 0.4246."""
    pts = result.summary["xcos"]["critical_points"]
    local = next(p for p in pts if p["kind"] == "minimum" and p["x"][0] < 0)
    n = result.summary["xcos"]["gd"]["n_starts"]
    lo, hi = wilson_interval(round(local["gd_share"] * n), n, z=3.3)
    assert lo <= (XCOS[1] + 1) / 3 <= hi


def test_cubic_starts_left_of_zero_diverge(result):
    d = {k.split("__")[1]: v for k, v in result.data.items() if k.startswith("cubic__")}
    left = d["x0"][:, 0] < 0
    # GD on x³ moves every start left; from x < 0 it runs off to −∞ (all but the starts
    # within ~1/(3η·steps) of 0, which have not blown up yet), from x > 0 it stalls at 0.
    assert np.all(d["end_x"][left, 0] <= d["x0"][left, 0])
    assert d["diverged"][left].mean() > 0.95 and not d["diverged"][~left].any()
    assert np.all(d["end_x"][~left, 0] >= 0)
    # No uniform start lies on the saddle's stable manifold (y = 0): none ends there.
    (pt,) = result.summary["quadratic_saddle"]["critical_points"]
    assert pt["gd_share"] == 0
    assert result.summary["quadratic_saddle"]["gd"]["converged_fraction"] == 0


def test_figure_files(result):
    assert {p.name for p in result.figures} == {"textbook.png"}


def test_bad_config():
    with pytest.raises(ValueError, match="n_starts must be >= 1"):
        tb.Config(n_starts=0)
    with pytest.raises(ValueError, match="lr must be"):
        tb.Config(lr=-1.0)


def test_verdict_fails_the_part_that_is_wrong(result):
    import copy

    s = copy.deepcopy(result.summary)
    s["quadratic_saddle"]["critical_points"][0]["eigenvalues"] = [-1.0, 2.0]
    v = tb.verdict(s)
    assert v["verdict"] == "depends" and "x² − y² ['saddle']" in v["because"]
