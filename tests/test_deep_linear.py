"""The linear autoencoder's closed-form critical points (saddle.objectives.linear_ae) against
autodiff on the network objective, and the deep_linear experiment on a tiny config."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import experiments.deep_linear as dl
from saddle import experiment
from saddle.objectives import linear_ae
from saddle.precision import float64


def test_every_closed_form_subset_is_critical_with_its_loss():
    """On whitened data (covariance exactly diag(1..d)), the network objective at P_S has
    zero gradient and loss ½Σ_{i∉S}λᵢ, for all Σ_{k≤h} C(d, k) subsets."""
    cfg = dl.Config(dim=5, hidden=2, n_samples=40)
    subsets = linear_ae.critical_subsets(np.arange(1, 6), 2)
    assert len(subsets) == sum(math.comb(5, k) for k in range(3))
    with float64():
        obj, lam = dl.problem(cfg)
        x = np.asarray(obj.data[0])
        np.testing.assert_allclose(x.T @ x / 40, np.diag(lam), atol=1e-10)
        thetas = jnp.stack([linear_ae.point(s, 5, 2, jnp.float64) for s, _ in subsets])
        loss = np.asarray(jax.vmap(obj)(thetas))
        grad = np.asarray(jax.vmap(jax.grad(obj))(thetas))
    np.testing.assert_allclose(loss, [v for _, v in subsets], rtol=1e-10)
    assert np.abs(grad).max() < 1e-9
    for (s, _), theta in zip(subsets, thetas, strict=True):
        assert linear_ae.subset_of(theta, 5, 2) == (s, 0.0)
    with pytest.raises(ValueError, match="more than hidden=2"):
        linear_ae.point((0, 1, 2), 5, 2)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = dl.Config(dim=6, hidden=2, n_samples=48, n_starts=24, steps=40, minres_iters=24,
                    gd_starts=16, gd_steps=1500, lr=0.05, record_every=15)
    return experiment.run_experiment(cfg, dl.run, dl.plot, dl.summarize,
                                     out=tmp_path_factory.mktemp("dl"), show_progress=False,
                                     figure_formats=("png",), dpi=50)


def test_tiny_experiment_finds_closed_form_points_and_the_verdict(result):
    s = result.summary
    assert s["n_critical"] >= 6
    assert s["loss_matches"] == s["index_matches"] == s["n_critical"]
    assert s["verdict"] == "confirmed"
    # the closed-form index is 0 exactly for the top subspace {5, 6}
    assert {k: v for k, v in s["closed_form_index"].items() if v == 0} in ({}, {"[5, 6]": 0})
    # every GD run starts at the origin (S = ∅) and ends at the top subspace
    assert s["gd_meets"]["[]"]["runs"] == 16 and s["gd_meets"]["[5, 6]"]["runs"] == 16
    assert (result.out / "deep_linear.png").exists()


def test_index_of_a_full_rank_critical_point_counts_the_better_directions_left_out():
    """At W₂W₁ = P_S with |S| = h, each pair (i ∈ S, j ∉ S) with λⱼ > λᵢ is one descent
    direction (rotate eᵢ toward eⱼ): the Hessian index (dense eigh, autodiff) equals
    #{(i, j): i ∈ S, j ∉ S, λⱼ > λᵢ} (Baldi & Hornik 1989)."""
    cfg = dl.Config(dim=5, hidden=2, n_samples=40)
    with float64():
        obj, lam = dl.problem(cfg)
        for s, _ in linear_ae.critical_subsets(lam, 2):
            if len(s) < 2:
                continue
            pairs = sum(lam[j] > lam[i] for i in s for j in range(5) if j not in s)
            assert dl.expected_index(obj, cfg, s) == pairs, s
