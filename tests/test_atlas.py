"""The atlas experiment on a small config, against facts it must reproduce."""

import numpy as np
import pytest
import scipy.stats

import experiments.atlas as atlas
from saddle import experiment


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = atlas.Config(optimizers=("gd", "adam"), n_starts=512, grid=16, steps=600)
    return experiment.run_experiment(cfg, atlas.run, atlas.plot, atlas.summarize,
                                     out=tmp_path_factory.mktemp("atlas"), show_progress=False,
                                     figure_formats=("png",), dpi=50)


def test_critical_points_match_the_catalogue(result):
    s = result.summary
    assert s["catalogue_all_found"]
    kinds = sorted(p["kind"] for p in s["critical_points"])
    assert kinds == ["maximum"] + ["minimum"] * 4 + ["saddle"] * 4


def _himmelblau_grad(x, y):
    a, b = x * x + y - 11, x + y * y - 7
    return 4 * x * a + 2 * b, 2 * a + 4 * y * b


def test_gd_basin_shares_match_basin_areas_on_a_fine_grid(result):
    """An independent estimate of GD's basin areas: the same GD (η = 0.01, 600 steps) in
    numpy float64 with the hand-derived gradient, from the centres of a 200 × 200 grid over
    the box. Each measured share (512 uniform starts) must contain the area fraction in
    its 99.9% interval (scipy's Wilson)."""
    obj = atlas.saddle.objectives.get("himmelblau")
    g = np.linspace(-5, 5, 201)
    c = 0.5 * (g[1:] + g[:-1])
    x, y = (v.ravel() for v in np.meshgrid(c, c))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(600):
            gx, gy = _himmelblau_grad(x, y)
            x, y = x - 0.01 * gx, y - 0.01 * gy
    minima = np.array([p.x for p in obj.known if p.kind == "minimum"])
    dist = np.linalg.norm(np.stack([x, y], 1)[:, None] - minima[None], axis=-1)
    area = [np.mean(dist[:, i] < 0.1) for i in range(len(minima))]
    assert 0.99 < sum(area) <= 1.0
    o = result.summary["optimizers"]["gd"]
    shares = {}
    for label, b in o["basins"].items():
        if label.startswith("minimum"):
            xy = np.array([float(v) for v in label[label.index("(") + 1:-1].split(",")])
            shares[int(np.argmin(np.linalg.norm(minima - xy, axis=1)))] = b["probability"]
    assert sorted(shares) == [0, 1, 2, 3]
    for i, a in enumerate(area):
        ci = scipy.stats.binomtest(round(shares[i] * 512), 512).proportion_ci(0.999, "wilson")
        assert ci.low <= a <= ci.high, (minima[i], shares[i], a)


def test_gd_avoids_saddles_and_converges(result):
    for name, o in result.summary["optimizers"].items():
        assert o["at_saddle_fraction"] == 0.0, name
        assert o["converged_fraction"] > 0.95, name


def test_verdict_from_end_points():
    """The verdict's rule on constructed end points at Himmelblau's critical points."""
    obj = atlas.saddle.objectives.get("himmelblau")
    kinds = np.array([p.kind for p in obj.known])
    cp_x = obj.known_x()
    mins, sad = np.flatnonzero(kinds == "minimum"), np.flatnonzero(kinds == "saddle")[0]
    cfg = atlas.Config(optimizers=("gd", "adam"))

    def data(gd_at, adam_at):
        return {"cp_x": cp_x, "cp_kind": kinds,
                "gd__x_end": cp_x[gd_at], "gd__diverged": np.zeros(len(gd_at), bool),
                "adam__x_end": cp_x[adam_at], "adam__diverged": np.zeros(len(adam_at), bool)}

    half = np.repeat(mins[:2], 50)
    assert atlas.verdict(cfg, data(half, np.repeat(mins[1:3], 50)))["verdict"] == "confirmed"
    with_saddle = np.concatenate([half[:-5], np.full(5, sad)])
    assert atlas.verdict(cfg, data(with_saddle, np.repeat(mins[1:3], 50)))["verdict"] == "depends"
    assert atlas.verdict(cfg, data(with_saddle, half))["verdict"] == "refuted"
    one = atlas.Config(optimizers=("adam",))
    assert atlas.verdict(one, {k: v for k, v in data(half, half).items()
                               if not k.startswith("gd")})["verdict"] == "inconclusive"


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


def test_help_texts_list_valid_names():
    text = " ".join(experiment.build_parser(atlas.Config, "atlas", None).format_help().split())
    assert "Valid: " + ", ".join(atlas.optimizers.names()) + "." in text
    assert "six_hump_camel" in text and "xcos" not in text


def test_bad_config():
    with pytest.raises(ValueError, match=r"unknown value 'xcos' in objective; valid: .*branin"):
        atlas.Config(objective="xcos")  # 1-D
    with pytest.raises(ValueError, match="unknown value 'sgdd' in optimizers"):
        atlas.Config(optimizers=("sgdd",))
    with pytest.raises(ValueError, match="lrs must have one value per optimizer"):
        atlas.Config(optimizers=("gd", "adam"), lrs=(0.1,))
    with pytest.raises(ValueError, match=r"lrs must be a finite number > 0, got -0\.1"):
        atlas.Config(optimizers=("gd",), lrs=(-0.1,))
    with pytest.raises(ValueError, match="unknown value 'nope' in objective"):
        atlas.Config(objective="nope")
    with pytest.raises(ValueError, match="grid must be >= 2, got 1"):
        atlas.Config(grid=1)
