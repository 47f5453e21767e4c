"""The atlas experiment on a small config, against facts it must reproduce."""

import numpy as np
import pytest

import experiments.atlas as atlas
from saddle import experiment


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = atlas.Config(optimizers=("gd", "adam"), n_starts=512, grid=16, steps=600)
    return experiment.run_experiment(cfg, atlas.run, atlas.plot, atlas.summarize,
                                     out=tmp_path_factory.mktemp("atlas"), show_progress=False)


def test_critical_points_match_the_catalogue(result):
    s = result.summary
    assert s["catalogue_all_found"]
    kinds = sorted(p["kind"] for p in s["critical_points"])
    assert kinds == ["maximum"] + ["minimum"] * 4 + ["saddle"] * 4


def test_basin_shares_are_probabilities_and_gd_avoids_saddles(result):
    for name, o in result.summary["optimizers"].items():
        total = sum(b["probability"] for b in o["basins"].values())
        assert total + o["unassigned_fraction"] + o["diverged_fraction"] == pytest.approx(1.0)
        for b in o["basins"].values():
            assert b["ci_low"] <= b["probability"] <= b["ci_high"]
        assert o["at_saddle_fraction"] == 0.0, name
        assert o["converged_fraction"] > 0.95, name


def test_gd_basins_follow_the_gradient_flow_near_each_minimum(result):
    """A grid start within 0.8 of a minimum must end in that minimum under GD with a small
    step: the nearest saddle or maximum is more than 1.9 away from every minimum, and
    f decreases monotonically along the discrete flow."""
    d = result.data
    minima = np.flatnonzero(d["cp_kind"] == "minimum")
    grid = np.asarray(atlas.saddle.starts.grid(16, atlas.saddle.objectives.get("himmelblau")))
    for i in minima:
        near = np.linalg.norm(grid - d["cp_x"][i], axis=1) < 0.8
        assert np.all(d["gd__map"][near] == i)


def test_bad_config():
    with pytest.raises(ValueError, match="objective must be 2-D"):
        atlas.Config(objective="xcos")
    with pytest.raises(ValueError, match="unknown optimizer 'sgdd'"):
        atlas.Config(optimizers=("sgdd",))
    with pytest.raises(ValueError, match="lrs must have one value per optimizer"):
        atlas.Config(optimizers=("gd", "adam"), lrs=(0.1,))
    with pytest.raises(ValueError, match="unknown objective"):
        atlas.Config(objective="nope")
