"""critical_atlas on a tiny config, end to end, against counts known in closed form."""

import json

import numpy as np
import pytest
import scipy.optimize

import experiments.critical_atlas as ca
from saddle import experiment


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    # The default n_starts: the programs compiled by test_critical.py are reused.
    cfg = ca.Config(objectives=("himmelblau",), st_dims=(2,), rastrigin_dims=(1,))
    return experiment.run_experiment(cfg, ca.run, ca.plot, ca.summarize,
                                     out=tmp_path_factory.mktemp("critical_atlas"),
                                     show_progress=False,
                                     figure_formats=("png",), dpi=50)


def test_index_counts_equal_the_closed_form(result):
    """Styblinski–Tang 2-D: 4 minima, 4 saddles, 1 maximum (2^d, 3^d − 2^d − 1, 1);
    Rastrigin 1-D: 11 minima and 10 maxima of x² − 10 cos 2πx in [−5.12, 5.12]."""
    fam = result.summary["families"]
    assert fam["styblinski_tang_d2"]["found_per_index"] == [4, 4, 1]
    assert fam["rastrigin_d1"]["found_per_index"] == [11, 10]
    for entry in fam.values():
        assert entry["known_per_index"] == entry["found_per_index"] == entry["catalogue_per_index"]
        assert entry["counts_match"] and entry["completeness"] == 1.0
        assert entry["not_in_catalogue"] == 0


def _himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _himmelblau_grad(p):
    x, y = p
    a, b = x**2 + y - 11, x + y**2 - 7
    return [4 * x * a + 2 * b, 2 * a + 4 * y * b]


def _himmelblau_hess(p):
    x, y = p
    return [[12 * x**2 + 4 * y - 42, 4 * x + 4 * y], [4 * x + 4 * y, 4 * x + 12 * y**2 - 26]]


def test_himmelblau_points_and_table(result):
    s = result.summary["objectives"]["himmelblau"]
    assert s["completeness"] == 1.0 and s["found"] == s["catalogued"] == 9
    points = s["critical_points"]
    assert [p["index"] for p in points] == [0] * 4 + [1] * 4 + [2]
    assert all(p["in_catalogue"] and p["hits"] >= 1 for p in points)
    # The maximum, independently: MINPACK on the analytic gradient from a nearby start;
    # the literature gives (−0.270845, −0.923039), f = 181.617 (Himmelblau 1972, as
    # tabulated e.g. in Wikipedia's "Himmelblau's function").
    sol = scipy.optimize.root(_himmelblau_grad, [-0.3, -0.9], jac=_himmelblau_hess, tol=1e-14)
    assert sol.success
    assert np.all(np.linalg.eigvalsh(_himmelblau_hess(sol.x)) < 0)
    np.testing.assert_allclose(sol.x, [-0.270845, -0.923039], atol=1e-6)
    assert _himmelblau(*sol.x) == pytest.approx(181.617, abs=1e-3)
    top = points[-1]
    np.testing.assert_allclose(top["x"], sol.x, atol=1e-6)
    assert top["value"] == pytest.approx(_himmelblau(*sol.x), rel=1e-8)
    assert sum(p["hits"] for p in points) + s["unconverged_starts"] <= 4096
    assert result.summary["all_complete"]


def test_outputs_written_and_reused(result, tmp_path):
    names = sorted(p.name for p in result.figures)
    assert names == sorted(f"{n}.{e}" for n in ("critical_atlas", "critical_tables",
                                                "index_counts") for e in ("png",))
    summary = json.loads((result.out / "summary.json").read_text())
    assert summary["families"]["rastrigin_d1"]["known_per_index"] == [11, 10]
    again = experiment.run_experiment(ca.Config(objectives=("himmelblau",), st_dims=(2,),
                                                rastrigin_dims=(1,)),
                                      ca.run, None, ca.summarize, out=result.out,
                                      show_progress=False)
    assert again.reused and again.summary == result.summary


def test_verdict_from_the_summary(result):
    assert result.summary["verdict"] == "confirmed"
    assert result.summary["because"] == "complete on 3 of 3 landscapes"
    s = json.loads(json.dumps(result.summary))
    s["families"]["rastrigin_d1"] |= {"counts_match": False, "catalogued_found": 20,
                                      "completeness": 20 / 21}
    v = ca.verdict(s)
    assert v["verdict"] == "depends" and "rastrigin_d1: 20/21 catalogued found" in v["because"]
    s["objectives"]["himmelblau"]["not_in_catalogue"] = 1  # outside a complete catalogue
    s["families"]["styblinski_tang_d2"]["counts_match"] = False
    assert ca.verdict(s)["verdict"] == "refuted"
    s["objectives"]["himmelblau"]["catalogue_complete"] = False  # then a new point is allowed
    assert ca.verdict(s)["verdict"] == "depends"


@pytest.mark.parametrize("kwargs, match", [
    (dict(objectives=("himmelblau", "nope")), "unknown value 'nope' in objectives"),
    (dict(objectives=("xcos",)), "unknown value 'xcos' in objectives; valid: .*himmelblau"),
    (dict(st_dims=(0, 2)), "st_dims must be >= 1, got 0"),
    (dict(rastrigin_dims=(4,)), "rastrigin_dims must be <= 3, got 4"),
    (dict(st_dims=(2, 2)), "st_dims has repeated dims"),
    (dict(n_starts=0), "n_starts must be >= 1, got 0"),
    (dict(method="bfgs"), "unknown value 'bfgs' in method"),
    (dict(objectives=(), st_dims=(), rastrigin_dims=()), "all empty"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        ca.Config(**kwargs)
    assert "\n" not in str(info.value)
