"""saddle.compare and the optimizers_nn experiment on a tiny config, against independent
computations: a numpy lr selection, a dense Hessian at a known saddle, a recorded loss path."""

import statistics

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import experiments.optimizers_nn as onn
import saddle
from saddle import compare, experiment
from saddle.objectives import nn as snn


def test_hitting_time_is_the_first_recorded_loss_below_target():
    """On f = ½‖x‖² GD with lr 0.1 shrinks the loss by 0.81 a step: compare the monitor with
    the loss path recorded every step and with the closed form."""
    x0 = np.array([[1.0, 1.0], [0.5, 0.0], [0.01, 0.0]], np.float32)
    r = saddle.descend(lambda x: 0.5 * (x**2).sum(), x0, optax.sgd(0.1), 30, record_every=1,
                       monitors=[compare.hitting_time(0.05)])
    below = r.loss_path < 0.05
    direct = np.where(below.any(1), below.argmax(1), -1)
    np.testing.assert_array_equal(r.outputs["hit_step"], direct)
    f0 = 0.5 * (x0**2).sum(1)
    np.testing.assert_array_equal(direct, np.maximum(np.floor(np.log(0.05 / f0) / np.log(0.81))
                                                     + 1, 0))


def zero_saddle():
    """A 2 → 3 → 2 tanh net at θ = 0 on four balanced points: the output is 0 everywhere, so
    ∇f = 0 (balanced labels, tanh(0) = 0), and the W₁–W₂ block of the Hessian is
    mean(δ xᵀ) ≠ 0 with zero diagonal blocks there, so λ_min < 0."""
    net = snn.mlp(2, (3, 2), "tanh")
    x = np.array([[1.0, 0.5], [2.0, -0.5], [-1.0, 0.5], [-2.0, -0.5]], np.float32)
    y = np.array([1, 1, 0, 0], np.int32)
    return net, snn.objective(net, (x, y), loss="cross_entropy")


def test_zero_init_is_a_saddle_and_is_classified_stuck():
    net, obj = zero_saddle()
    data = obj.data
    theta = jnp.zeros(net.dim)
    eig = np.linalg.eigvalsh(np.asarray(jax.jit(jax.hessian(obj.fn))(theta, data), np.float64))
    g = float(jnp.linalg.norm(jax.jit(jax.grad(obj.fn))(theta, data)))
    assert g < 1e-6 and eig[0] < -0.1 and eig[-1] > 0.1  # a critical point of index > 0
    # a hand-built separating point (hidden unit 0 = tanh(5·x₀), logits ∓5·h₀): loss ≈ 5e-5,
    # below target, not stuck; the saddle with a gradient above the threshold: not stuck
    sep = net.unravel(jnp.zeros(net.dim))
    sep["dense_0"]["kernel"] = sep["dense_0"]["kernel"].at[0, 0].set(5.0)
    sep["dense_1"]["kernel"] = sep["dense_1"]["kernel"].at[0].set(jnp.array([-5.0, 5.0]))
    pts = np.stack([np.zeros(net.dim), jax.flatten_util.ravel_pytree(sep)[0], np.zeros(net.dim)]
                   ).astype(np.float32)
    loss, grad = jax.jit(jax.vmap(jax.value_and_grad(obj.fn), (0, None)))(pts, data)
    loss, grad = np.asarray(loss), np.linalg.norm(grad, axis=1)
    grad[2] = 10.0
    low3, high3 = compare.curvature_ends(obj.fn, pts, key=jax.random.PRNGKey(2),
                                         iters=net.dim, args=(data,))
    np.testing.assert_allclose(low3[0], eig[0], rtol=1e-4)
    np.testing.assert_allclose(high3[0], eig[-1], rtol=1e-4)
    target = 0.1 * np.log(2)
    assert loss[0] == pytest.approx(np.log(2), rel=1e-6) and loss[1] < target
    flags = compare.stuck(loss, grad, low3, target=target, grad_tol=1e-3,
                          eig_tol=1e-3 * high3)
    assert flags.tolist() == [True, False, False]


def test_best_lr_and_shares_bad_input():
    with pytest.raises(ValueError, match="final_loss and diverged must both be"):
        compare.best_lr(np.ones(3), np.zeros(3, bool))
    with pytest.raises(ValueError, match="every learning rate"):
        compare.best_lr(np.ones((2, 3)), np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="eig_tol must be"):
        compare.stuck([1.0], [0.0], [-1.0], target=0.1, grad_tol=1.0, eig_tol=-1.0)
    with pytest.raises(ValueError, match="target must be"):
        compare.hitting_time(float("nan"))
    s = compare.shares(np.array([True, False, False, False]))
    lo, hi = saddle.wilson_interval(1, 4)
    assert (s["share"], s["ci_low"], s["ci_high"]) == (0.25, lo, hi)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = onn.Config(n_data=40, widths=(4,), optimizers=("gd",), lrs=(0.01, 0.3, 30.0),
                     n_select=4, n_eval=4, steps=40, record_every=10, lbfgs=False,
                     lanczos_iters=8, grad_fraction=1e-9)  # no Lanczos: tested above
    return cfg, experiment.run_experiment(cfg, onn.run, onn.plot, onn.summarize,
                                          out=tmp_path_factory.mktemp("onn"),
                                          show_progress=False,
                                          figure_formats=("png",), dpi=50)


def test_tiny_run_selection_and_summary(result):
    cfg, res = result
    d, s = res.data, res.summary
    assert s["verdict"] == "inconclusive"  # gd only: no optimizer to compare
    for name in cfg.optimizers:
        loss, div = d[f"{name}__sweep_loss"], d[f"{name}__sweep_diverged"]
        assert loss.shape == (len(cfg.lrs), cfg.n_select)
        scores = []  # per lr: the median over starts, a diverged run as +inf
        for row, drow in zip(loss.tolist(), div.tolist(), strict=True):
            scores.append(statistics.median([math_inf if dv else lv
                                             for lv, dv in zip(row, drow, strict=True)]))
        assert s["optimizers"][name]["best_lr"] == cfg.lrs[scores.index(min(scores))]
        hits = d[f"{name}__hit_step"]
        assert s["optimizers"][name]["steps_to_target_median"] == np.median(
            np.where(hits < 0, cfg.steps, hits))
        assert s["optimizers"][name]["reached"]["share"] == np.mean(hits >= 0)
    assert d["target"] == pytest.approx(0.1 * np.log(2))
    assert res.figures


math_inf = float("inf")


def test_bad_config():
    with pytest.raises(ValueError, match="must include 'gd'"):
        onn.Config(optimizers=("adam",))
    with pytest.raises(ValueError, match="lrs must be"):
        onn.Config(lrs=(0.1, -1.0))
