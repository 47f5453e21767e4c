"""The schedules_nn experiment on a tiny config: the learning rate it records against optax's
schedules evaluated independently, the failed shares and accuracies against direct counts."""

import jax
import numpy as np
import optax
import pytest
import scipy.stats

import experiments.schedules_nn as snn_exp
import saddle
from saddle import compare, experiment


def test_lr_trajectory_is_the_schedule():
    """GD's step on f(x) = x is the learning rate: cosine from optax directly, warmup_cosine
    in closed form (linear over 5% of steps, then ½(1 + cos(π(t − w)/(T − w))))."""
    steps, lr = 40, 0.5
    t = np.arange(steps)
    got = compare.lr_trajectory(saddle.optimizers.make("gd", lr, schedule="cosine",
                                                       steps=steps), steps)
    np.testing.assert_allclose(got, jax.vmap(optax.cosine_decay_schedule(lr, steps))(t),
                               rtol=1e-5, atol=1e-6)
    w = 2  # round(0.05 · 40)
    want = np.where(t < w, lr * t / w,
                    lr * 0.5 * (1 + np.cos(np.pi * (t - w) / (steps - w))))
    got = compare.lr_trajectory(saddle.optimizers.make("gd", lr, schedule="warmup_cosine",
                                                       steps=steps), steps)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = snn_exp.Config(n_data=40, widths=(4,), schedules=("cosine",), large_lrs=(0.3, 3.0),
                         warmup_test=("cosine", "warmup_cosine"), batch_size=8, n_seeds=6,
                         steps=40, record_every=10)
    return cfg, experiment.run_experiment(cfg, snn_exp.run, snn_exp.plot, snn_exp.summarize,
                                          out=tmp_path_factory.mktemp("snn"),
                                          show_progress=False,
                                          figure_formats=("png",), dpi=50)


def test_tiny_run_against_direct_counts(result):
    cfg, res = result
    d, s = res.data, res.summary
    assert s["verdict"] in ("confirmed", "refuted", "depends")
    np.testing.assert_allclose(d["cosine__lr_curve"],
                               jax.vmap(optax.cosine_decay_schedule(cfg.lr, cfg.steps))(
                                   np.arange(cfg.steps)), rtol=1e-5, atol=1e-6)
    for name in cfg.warmup_test:
        loss, div = d[f"{name}__large_loss"], d[f"{name}__large_diverged"]
        assert loss.shape == (len(cfg.large_lrs), cfg.n_seeds)
        for i in range(len(cfg.large_lrs)):
            k = sum(bool(dv) or not lv < np.log(2) for lv, dv in zip(loss[i], div[i], strict=True))
            row = s["warmup"][name]["failed"]
            assert row["share"][i] == k / cfg.n_seeds
            ci = scipy.stats.binomtest(k, cfg.n_seeds).proportion_ci(method="wilson")
            assert row["ci_low"][i] == pytest.approx(ci.low, abs=1e-3)
            assert row["ci_high"][i] == pytest.approx(ci.high, abs=1e-3)
    for name in cfg.schedules:
        loss = d[f"{name}__loss"]
        assert s["schedules"][name]["train_loss"]["median"] == pytest.approx(np.median(loss))
    assert res.figures
    net, _, ds = snn_exp.problem(cfg)  # test accuracy by a numpy forward pass
    for th, a in zip(d["cosine__x"], d["cosine__test_accuracy"], strict=True):
        p = net.unravel(th)
        w0, b0, w1, b1 = (np.asarray(p[f"dense_{i}"][k]) for i in (0, 1)
                          for k in ("kernel", "bias"))
        out = np.tanh(ds.x_test @ w0 + b0) @ w1 + b1
        assert a == pytest.approx(np.mean(out.argmax(1) == ds.y_test))


def test_bad_config():
    with pytest.raises(ValueError, match="warmup_test must include"):
        snn_exp.Config(warmup_test=("constant",))
    with pytest.raises(ValueError, match="large_lrs must be"):
        snn_exp.Config(large_lrs=())
    with pytest.raises(ValueError, match="record_every=5000 is larger"):
        snn_exp.Config(record_every=5000)
