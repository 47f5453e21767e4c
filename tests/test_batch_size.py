"""Batch size and sharpness: Dinh et al.'s reparametrisation against dense Hessians, the
learning-rate rules, and a tiny run of the experiment checked against numpy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import experiments.batch_size as bsz
from saddle import experiment, stability
from saddle.objectives import nn as snn


def test_reparametrisation_keeps_the_function_and_moves_the_hessian_as_predicted():
    """relu(αz) = α·relu(z): same outputs and loss; the Hessian at θ' = Dθ is D⁻¹H(θ)D⁻¹
    (L' = L∘D⁻¹), checked with dense Hessians and eigvalsh on a 3 → 4 → 2 net."""
    net = snn.mlp(3, (4, 2), "relu", init="he_normal")
    x = jax.random.normal(jax.random.PRNGKey(1), (12, 3))
    y = jax.random.normal(jax.random.PRNGKey(2), (12, 2))
    fn = snn.loss_fn(net, "mse")
    theta = net.init(jax.random.PRNGKey(0))
    hessian = jax.jit(jax.hessian(fn))
    hess = np.asarray(hessian(theta, (x, y)), np.float64)
    for alpha in (0.25, 3.0):
        d = np.asarray(stability.layer_scales(net, 0, alpha), np.float64)
        np.testing.assert_allclose(np.unique(d), sorted({alpha, 1 / alpha, 1.0}), rtol=1e-6)
        assert np.sum(d == np.float32(alpha)) == 3 * 4 + 4  # W₁ and b₁
        moved = jnp.asarray(d, jnp.float32) * theta
        np.testing.assert_allclose(net.apply(moved, x), net.apply(theta, x), rtol=1e-5,
                                   atol=1e-6)
        assert float(fn(moved, (x, y))) == pytest.approx(float(fn(theta, (x, y))), rel=1e-6)
        hess_moved = np.asarray(hessian(moved, (x, y)), np.float64)
        predicted = hess / np.outer(d, d)
        np.testing.assert_allclose(hess_moved, predicted, atol=1e-4 * np.abs(predicted).max())
        top = np.linalg.eigvalsh(hess_moved)[-1]
        assert top == pytest.approx(np.linalg.eigvalsh(predicted)[-1], rel=1e-4)
        assert abs(top / np.linalg.eigvalsh(hess)[-1] - 1) > 0.3  # the sharpness moved


def test_layer_scales_rejects_what_it_cannot_reparametrise():
    with pytest.raises(ValueError, match="positively homogeneous"):
        stability.layer_scales(snn.mlp(3, (4, 2), "tanh"), 0, 2.0)
    relu = snn.mlp(3, (4, 2), "relu")
    with pytest.raises(ValueError, match="layer must be in"):
        stability.layer_scales(relu, 1, 2.0)
    with pytest.raises(ValueError, match="alpha"):
        stability.layer_scales(relu, 0, -1.0)


def test_batch_lr_rules():
    assert stability.batch_lr(0.1, 64, 8, "constant") == 0.1
    assert stability.batch_lr(0.1, 64, 8, "linear") == pytest.approx(0.8)
    assert stability.batch_lr(0.1, 32, 8, "sqrt") == pytest.approx(0.2)
    assert stability.batch_lr(0.1, 1024, 8, "linear", cap=0.5) == 0.5
    with pytest.raises(ValueError, match="unknown rule"):
        stability.batch_lr(0.1, 8, 8, "cubic")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = bsz.Config(batch_sizes=(8, 200), hidden=8, n_train=200, steps=300, lr=0.1,
                     n_seeds=4, lanczos_iters=20, alphas=(0.5, 1.0, 4.0))
    return experiment.run_experiment(cfg, bsz.run, None, bsz.summarize,
                                     out=tmp_path_factory.mktemp("bsz"), show_progress=False)


@pytest.mark.slow  # three compiles (SGD, GD, Lanczos): ~20 s CPU
def test_tiny_run_against_numpy(result):
    cfg = bsz.Config(batch_sizes=(8, 200), hidden=8, n_train=200, steps=300, lr=0.1,
                     n_seeds=4, lanczos_iters=20, alphas=(0.5, 1.0, 4.0))
    s, d = result.summary, result.data
    assert s["verdict"] in ("confirmed", "refuted", "depends")
    # Dinh: same function at every α (loss and accuracy), sharpness moves
    assert s["dinh"]["max_train_loss_change"] < 1e-4 and s["dinh"]["max_test_acc_change"] == 0
    sharp = np.asarray(d["dinh__sharpness"])
    assert sharp.max() > 1.5 * sharp[1]
    # α = 1 is the full-batch run of seed 0: the same sharpness as measured there
    assert sharp[1] == pytest.approx(d["b200__sharpness"][0], rel=1e-3)
    # the medians and their intervals are those of numpy / the order statistics
    gap = d["b8__test_loss"] - d["b8__train_loss"]
    g = s["batch"]["8"]["loss_gap"]
    assert g["median"] == pytest.approx(np.median(gap), rel=1e-6)
    assert (g["ci_low"], g["ci_high"]) == (pytest.approx(gap.min()), pytest.approx(gap.max()))
    assert 0 <= d["b8__train_acc"].min() and d["b8__train_acc"].max() <= 1
    assert s["batch"]["8"]["lr"] == s["batch"]["200"]["lr"] == cfg.lr  # constant rule


def test_bad_config():
    with pytest.raises(ValueError, match="increasing"):
        bsz.Config(batch_sizes=(64, 8))
    with pytest.raises(ValueError, match=r"alphas must include 1\.0"):
        bsz.Config(alphas=(0.5, 2.0))
    with pytest.raises(ValueError, match="unknown value 'quadratic'"):
        bsz.Config(lr_rule="quadratic")
