"""The momentum experiment on tiny configs, against a numpy heavy-ball and the catalogues."""

import jax
import numpy as np
import pytest

import experiments.momentum_escape as me
import saddle


def test_bump_catalogue_is_every_critical_point(x64):
    """Zeros of f' (by autodiff, float64) at the catalogued points, kinds from f'', and
    exactly as many sign changes of f' on a fine grid of [−10, 10] as catalogued points."""
    obj = me.bump_objective()
    pts = obj.catalogue.points
    assert [p.kind for p in pts] == ["minimum", "maximum", "minimum"]
    g = jax.jit(jax.vmap(jax.grad(me.bump_fn)))
    x = np.array([p.x for p in pts])
    assert np.abs(np.asarray(g(x))).max() < 1e-9
    curv = np.asarray(jax.jit(jax.vmap(jax.hessian(me.bump_fn)))(x))[:, 0, 0]
    assert ((curv > 0) == [p.kind == "minimum" for p in pts]).all()
    assert np.allclose([p.value for p in pts], jax.vmap(me.bump_fn)(x), atol=1e-12)
    t = np.linspace(-10, 10, 40_001)
    slope = np.asarray(g(t[:, None]))[:, 0]
    assert np.count_nonzero(np.diff(np.sign(slope))) == len(pts)
    assert pts[0].value < pts[2].value  # the left minimum is the lower one


def test_camel_assignment_against_the_catalogue():
    """End points at (and near) each catalogued minimum get its label; the origin is the
    lower basin."""
    obj = me.landscape("camel")
    minima = np.array([p.x for p in obj.catalogue.points if p.kind == "minimum"])
    lab = saddle.basins.assign(np.concatenate([minima, minima + 3e-3]), minima, 1e-2)
    assert lab.tolist() == [0, 1, 2, 0, 1, 2]
    assert np.allclose(minima[1], 0.0)


def numpy_runs(x0, lr, betas, steps, polish):
    """Every arm of the experiment on the quadratic-plus-bump, in float64 numpy: optax's
    trace t ← g + βt, heavy ball x ← x − ηt, Nesterov x ← x − η(g + βt); then GD at η."""
    h, c, w = me.BUMP

    def grad(x):
        return x - h * (x - c) / w**2 * np.exp(-((x - c) ** 2) / (2 * w * w))

    arms = ([("heavy", lr, 0.0)] + [("heavy", lr, b) for b in betas]
            + [("heavy", lr / (1 - b), 0.0) for b in betas] + [("nesterov", lr, b) for b in betas])
    ends = []
    for kind, eta, beta in arms:
        x, t = x0.astype(np.float64).copy(), np.zeros_like(x0, dtype=np.float64)
        for _ in range(steps):
            g = grad(x)
            t = g + beta * t
            x = x - eta * (g + beta * t if kind == "nesterov" else t)
        for _ in range(polish):
            x = x - lr * grad(x)
        ends.append(x)
    return np.stack(ends)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One tiny run on the bump (η = 0.05: GD at η/(1−β) = 5 diverges for β = 0.99)."""
    cfg = me.Config(landscapes=("bump",), n_starts=64, steps=300, polish=300,
                    betas=(0.9, 0.99), beta=0.9, lr_bump=0.05)
    out = tmp_path_factory.mktemp("me")
    return cfg, out, saddle.experiment.run_experiment(cfg, me.run, me.plot, me.summarize,
                                                      out=out, show_progress=False,
                                                      figure_formats=("png",), dpi=50)


def test_bump_labels_match_a_numpy_heavy_ball(tiny):
    """The same starts, every arm, in float64 numpy: the same minimum for every run."""
    cfg, _, res = tiny
    d = saddle.experiment.part(res.data, "bump")
    with np.errstate(over="ignore", invalid="ignore"):
        x_np = numpy_runs(d["x0"][:, 0], cfg.lr_bump, cfg.betas, cfg.steps, cfg.polish)
    minima = [p.x[0] for p in me.bump_objective().catalogue.points if p.kind == "minimum"]
    near = np.abs(x_np[..., None] - np.asarray(minima)) <= cfg.basin_tol
    labels = np.where(near.any(-1), near.argmax(-1), -1)
    labels[~np.isfinite(x_np) | (np.abs(x_np) > 1e6)] = saddle.basins.DIVERGED
    assert np.array_equal(d["label"], labels)
    assert np.array_equal(d["success"].mean(1), (labels == 0).mean(1))
    assert (labels[4] == saddle.basins.DIVERGED).all()  # GD at η/(1−0.99) = 5 > 2/f''
    # GD's basin in 1-D: the side of the bump's maximum it starts on
    x_max = me.bump_objective().catalogue.points[1].x[0]
    assert np.array_equal(d["success"][0], d["x0"][:, 0] < x_max)
    assert 0 < (labels == 0).mean() < 1


def test_tiny_run_end_to_end(tiny):
    cfg, out, res = tiny
    s = res.summary["landscapes"]["bump"]
    assert list(s) == me.arms(cfg)
    assert res.summary["verdict"] in ("confirmed", "refuted", "depends")
    ok = res.data["bump__success"]
    lo, _ = saddle.wilson_interval(ok[0].sum(), 64)
    assert s["gd"]["ci_low"] == pytest.approx(float(lo))
    assert s["gd η/(1−β), β=0.99"]["diverged"] == 1.0
    assert (out / "momentum_escape.png").exists()


def test_bad_config():
    with pytest.raises(ValueError, match=r"beta=0\.7 is not one of betas"):
        me.Config(beta=0.7)
    with pytest.raises(ValueError, match="betas must lie in"):
        me.Config(betas=(0.9, 1.0), beta=0.9)
