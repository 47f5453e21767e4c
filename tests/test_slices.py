"""Slices of network losses (saddle.landscape.slices) and hidden-unit alignment
(saddle.landscape.align), against direct computations, brute force and scikit-learn."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from sklearn.decomposition import PCA

from saddle.experiment import Context
from saddle.landscape import align, slices
from saddle.objectives import nn as snn


def _net_and_loss(widths=(5, 3), activation="tanh", seed=0):
    net = snn.mlp(4, widths, activation)
    x = jax.random.normal(jax.random.PRNGKey(seed + 10), (24, 4))
    y = jax.random.normal(jax.random.PRNGKey(seed + 11), (24, widths[-1]))
    return net, snn.objective(net, (x, y), loss="mse")


def _theta(net, seed):
    """θ with non-zero biases (the initialiser's are 0)."""
    return jax.random.normal(jax.random.PRNGKey(seed), (net.dim,))


def test_filter_normalisation_gives_each_filter_the_weights_filter_norm():
    """Each output unit's filter (flax: last axis) of the direction has the norm of θ's
    filter and the raw direction's orientation; biases get 0, or θ without ignore_biasbn."""
    net, _ = _net_and_loss()
    theta, raw = _theta(net, 1), _theta(net, 2)
    for ignore in (True, False):
        d = net.unravel(slices.filter_normalize(raw, theta, net.unravel, ignore_biasbn=ignore))
        w, r = net.unravel(theta), net.unravel(raw)
        for layer in ("dense_0", "dense_1"):
            dk, wk, rk = (np.asarray(t[layer]["kernel"]) for t in (d, w, r))
            for j in range(wk.shape[1]):  # PyTorch's rows are flax's columns
                np.testing.assert_allclose(np.linalg.norm(dk[:, j]), np.linalg.norm(wk[:, j]),
                                           rtol=1e-5)
                cos = dk[:, j] @ rk[:, j] / np.linalg.norm(dk[:, j]) / np.linalg.norm(rk[:, j])
                np.testing.assert_allclose(cos, 1.0, rtol=1e-5)
            want = 0 * w[layer]["bias"] if ignore else w[layer]["bias"]
            np.testing.assert_array_equal(d[layer]["bias"], want)


def test_conv_kernel_filters_are_slices_along_the_last_axis():
    """A flax Conv kernel (kh, kw, in, out): filter j is k[..., j], normalised over 3 axes."""
    tree = {"conv": jnp.zeros((3, 3, 2, 4)), "scale": jnp.zeros(4)}
    flat, unravel = ravel_pytree(tree)
    theta = jax.random.normal(jax.random.PRNGKey(0), flat.shape)
    d = unravel(slices.random_directions(jax.random.PRNGKey(1), theta, unravel, k=1)[0])
    w = unravel(theta)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(d["conv"]).reshape(-1, 4), axis=0),
                               np.linalg.norm(np.asarray(w["conv"]).reshape(-1, 4), axis=0),
                               rtol=1e-5)
    assert not np.any(np.asarray(d["scale"]))


def test_surface_matches_direct_evaluation_and_chunking_does_not_matter():
    net, f = _net_and_loss()
    theta = _theta(net, 3)
    dirs = slices.random_directions(jax.random.PRNGKey(4), theta, net.unravel)
    xs, ys = np.linspace(-1, 1, 5), np.linspace(-1, 1.5, 6)
    whole = slices.surface(f, theta, dirs, xs, ys)
    chunked = slices.surface(f, theta, dirs, xs, ys, chunk_size=7)  # 30 = 4·7 + 2
    assert whole.shape == (6, 5)
    np.testing.assert_allclose(chunked, whole, rtol=1e-6)
    # grid point (0, 0) is θ; any point is f(θ + x d₀ + y d₁) computed directly
    np.testing.assert_allclose(whole[np.argmin(np.abs(ys)), 2], f(theta), rtol=1e-6)
    for i, j in [(0, 0), (5, 3), (2, 4)]:
        np.testing.assert_allclose(whole[i, j], f(theta + xs[j] * dirs[0] + ys[i] * dirs[1]),
                                   rtol=1e-5)


def test_chunks_are_resumable_stages(tmp_path):
    """With stage=ctx.stage each chunk is saved; a second run reuses the saved chunks."""
    net, f = _net_and_loss()
    theta = _theta(net, 5)
    dirs = slices.random_directions(jax.random.PRNGKey(6), theta, net.unravel)
    ctx = Context(stage_dir=tmp_path)
    first = slices.surface(f, theta, dirs, np.linspace(-1, 1, 4), np.linspace(-1, 1, 4),
                           chunk_size=5, stage=ctx.stage, name="s")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"s_{i}.npz" for i in range(4)]
    (tmp_path / "s_3.npz").unlink()  # as if interrupted before the last chunk
    again = slices.surface(lambda t: 0 * f(t), theta, dirs, np.linspace(-1, 1, 4),
                           np.linspace(-1, 1, 4), chunk_size=5, stage=ctx.stage, name="s")
    np.testing.assert_array_equal(again.ravel()[:15], first.ravel()[:15])  # resumed
    assert again.ravel()[15] == 0  # recomputed


def test_interpolation_ends_and_line_summaries():
    net, f = _net_and_loss()
    a, b = _theta(net, 7), _theta(net, 8)
    line = slices.interpolate(f, a, b, np.linspace(0, 1, 11), chunk_size=4)
    np.testing.assert_allclose(line[[0, -1]], [f(a), f(b)], rtol=1e-6)
    np.testing.assert_allclose(line[5], f(0.5 * (a + b)), rtol=1e-5)
    assert slices.max_rise([3.0, 2.0, 2.0, 1.0]) == 0.0
    assert slices.max_rise([3.0, 1.0, 2.5, 0.0]) == 1.5
    np.testing.assert_allclose(slices.barrier([1.0, 3.0, 0.0], [0, 0.5, 1]), 2.5)


def test_pca_plane_of_a_planar_path_reproduces_its_losses():
    """A path inside a plane: PC1 + PC2 explain all of it, the residual is 0, and the
    losses on the plane at the path's coordinates are the path's own losses."""
    net, f = _net_and_loss(seed=1)
    centre, u, v = (np.asarray(_theta(net, s), np.float64) for s in (9, 10, 11))
    t = np.linspace(0, 1, 12)[:, None]
    path = centre + 0.3 * np.cos(3 * t) * u + 0.3 * t**2 * v
    plane = slices.pca_plane(path)
    np.testing.assert_allclose(plane.explained.sum(), 1.0, rtol=1e-9)
    assert plane.residual.max() < 1e-9 * plane.distance.max()
    np.testing.assert_allclose(plane.directions @ plane.directions.T, np.eye(2), atol=1e-12)
    on = slices.on_plane(f, plane.center, plane.directions, plane.coords)
    np.testing.assert_allclose(on, jax.vmap(f)(jnp.asarray(path)), rtol=1e-4)


def test_pca_plane_explained_variance_and_residual():
    path = np.cumsum(np.random.default_rng(0).normal(size=(15, 9)), axis=0)
    mean = slices.pca_plane(path, origin="mean")
    np.testing.assert_allclose(mean.explained, PCA(2).fit(path).explained_variance_ratio_,
                               rtol=1e-6)
    last = slices.pca_plane(path)
    np.testing.assert_allclose(last.center, path[-1])
    # Pythagoras: distance² = |coords|² + residual²; the plane captures the explained share
    np.testing.assert_allclose(last.distance**2, (last.coords**2).sum(1) + last.residual**2)
    np.testing.assert_allclose(last.explained.sum(), (last.coords**2).sum() / (last.distance**2)
                               .sum())
    np.testing.assert_allclose(last.points(), path[-1] + last.coords @ last.directions)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_alignment_of_a_permuted_copy_gives_distance_zero_and_the_same_loss(activation):
    net, f = _net_and_loss((6, 5, 3), activation)
    theta = _theta(net, 12)
    rng = np.random.default_rng(1)
    perms = [rng.permutation(6), rng.permutation(5)]
    signs = [rng.choice([-1.0, 1.0], 6), rng.choice([-1.0, 1.0], 5)] if activation == "tanh" \
        else None
    copy = align.permute_units(net, theta, perms, signs)
    assert np.linalg.norm(copy - theta) > 1.0
    np.testing.assert_allclose(f(copy), f(theta), rtol=1e-5)  # the same function
    back = align.weight_match(net, theta, copy)
    np.testing.assert_allclose(np.linalg.norm(back - theta), 0.0, atol=1e-6)
    np.testing.assert_allclose(f(back), f(theta), rtol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_one_hidden_layer_matching_is_the_brute_force_optimum(activation):
    """One hidden layer of 4 units: weight matching equals the nearest of all 4!·2⁴ signed
    (tanh) or 4! (relu) permutations of θ_B, and computes θ_B's function."""
    net, f = _net_and_loss((4, 2), activation)
    a, b = _theta(net, 13), _theta(net, 14)
    pa, pb = (jax.tree.map(np.asarray, net.unravel(t)) for t in (a, b))
    sign_sets = itertools.product([-1.0, 1.0], repeat=4) if activation == "tanh" else [(1.0,) * 4]
    best = np.inf
    for s in map(np.array, sign_sets):
        for p in map(list, itertools.permutations(range(4))):
            moved = [pb["dense_0"]["kernel"][:, p] * s, pb["dense_0"]["bias"][p] * s,
                     pb["dense_1"]["kernel"][p] * s[:, None], pb["dense_1"]["bias"]]
            want = [pa["dense_0"]["kernel"], pa["dense_0"]["bias"], pa["dense_1"]["kernel"],
                    pa["dense_1"]["bias"]]
            sq = sum(np.sum((m - w) ** 2) for m, w in zip(moved, want, strict=True))
            best = min(best, np.sqrt(sq))
    matched = align.weight_match(net, a, b)
    np.testing.assert_allclose(np.linalg.norm(a - matched), best, rtol=1e-6)
    np.testing.assert_allclose(f(matched), f(b), rtol=1e-5)


def test_bad_input_one_line_errors():
    net, f = _net_and_loss()
    theta = _theta(net, 0)
    dirs = slices.random_directions(jax.random.PRNGKey(0), theta, net.unravel)
    cases = [
        (lambda: slices.filter_normalize(theta[:-1], theta, net.unravel), "direction"),
        (lambda: slices.filter_normalize(theta, theta[:-1], net.unravel), "unravel"),
        (lambda: slices.random_directions(jax.random.PRNGKey(0), theta, net.unravel, k=0), "k"),
        (lambda: slices.surface(f, theta, dirs[:1], [0.0], [0.0]), "directions"),
        (lambda: slices.surface(f, theta, dirs, [], [0.0]), "xs"),
        (lambda: slices.on_plane(f, theta, dirs, np.zeros((3, 1))), "coords"),
        (lambda: slices.on_plane(f, theta, dirs, np.zeros((3, 2)), chunk_size=0), "chunk_size"),
        (lambda: slices.interpolate(f, theta, theta, [np.nan]), "alphas"),
        (lambda: slices.pca_plane(np.zeros((3, 4)) + 1), "does not move"),
        (lambda: slices.pca_plane(np.ones((1, 4))), "path"),
        (lambda: slices.pca_plane(np.eye(3), origin="first"), "origin"),
        (lambda: slices.barrier([1.0, 2.0], [0.0, 0.5]), "alphas"),
        (lambda: align.weight_match(snn.two_layer(4, 3), np.zeros(12), np.zeros(12)), "net"),
        (lambda: align.weight_match(net, theta, theta[:-1]), "theta_b"),
        (lambda: align.weight_match(snn.mlp(4, (5, 3), "relu"), theta, theta, signs=True),
         "signs"),
        (lambda: align.weight_match(snn.mlp(4, (5, 3), norm="batch"), theta, theta),
         "norm='batch'"),
        (lambda: align.permute_units(snn.mlp(4, (5, 3), norm="weight"), theta,
                                     [np.arange(5)]), "norm='weight'"),
        (lambda: align.weight_match(snn.mlp(4, (5, 5, 3), residual=True), theta, theta),
         "got residual=True"),
        (lambda: align.permute_units(net, theta, [np.arange(4)]), "perms"),
        (lambda: align.permute_units(net, theta, [np.arange(5)], [np.zeros(5)]), "signs"),
    ]
    for call, word in cases:
        with pytest.raises((ValueError, TypeError)) as err:
            call()
        assert word in str(err.value) and "\n" not in str(err.value), (word, err.value)


@pytest.mark.slow
def test_tiny_landscape_2d_experiment_against_direct_evaluations(tmp_path):
    """The experiment end to end on a tiny net: the random slice's centre, the PCA grid's
    projected path and the lines' ends equal losses computed directly; the verdict follows
    the rise of the init line."""
    import experiments.landscape_2d as l2d
    from saddle import experiment

    cfg = l2d.Config(hidden=4, steps=40, grid=5, n_alpha=7, chunk_size=8)
    res = experiment.run_experiment(cfg, l2d.run, l2d.plot, l2d.summarize, out=tmp_path,
                                    show_progress=False,
                                    figure_formats=("png",), dpi=50)
    s, d = res.summary, res.data
    _, obj = l2d.problem(cfg)
    path = d["path"]
    np.testing.assert_allclose(d["path_loss"], jax.vmap(obj)(jnp.asarray(path)), rtol=1e-5)
    assert s["random_slice"]["loss_center"] == pytest.approx(float(obj(path[-1])), rel=1e-5)
    np.testing.assert_allclose(d["line_init"][[0, -1]], d["path_loss"][[0, -1]], rtol=1e-5)
    plane = slices.pca_plane(path)
    np.testing.assert_allclose(d["projected_loss"], jax.vmap(obj)(jnp.asarray(plane.points())),
                               rtol=1e-4)
    rise = np.max(d["line_init"] - np.minimum.accumulate(d["line_init"]))
    assert s["verdict"] == ("confirmed" if rise <= 1e-3 * (d["line_init"][0] - d["line_init"][-1])
                            else "refuted")
    # aligned partner: the same function, so the same loss, and no farther from θ_A
    assert d["line_aligned"][0] == pytest.approx(float(d["loss_b"]), rel=1e-4)
    assert d["pair_distance"][1] <= d["pair_distance"][0] + 1e-6
    assert (tmp_path / "landscape_2d.png").exists()
