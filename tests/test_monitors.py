"""saddle.monitors: each per-step quantity against an independent computation."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import saddle
from saddle import monitors as mon
from saddle.engine import Step


def test_distance_and_grad_norm_records_follow_the_closed_form():
    """GD on ½‖x‖² with η: x_t = (1 − η)^t x_0, so ‖x_t − x_0‖ = (1 − (1 − η)^t)‖x_0‖ and
    ‖∇f(x_t)‖ = (1 − η)^t ‖x_0‖."""
    x0 = np.array([[3.0, -4.0], [0.5, 1.2]], np.float32)
    eta = 0.1
    run = saddle.descend(lambda x: 0.5 * jnp.sum(x**2), x0, optax.sgd(eta), 40, record_every=10,
                         monitors=[mon.distance()])
    t = run.path_steps
    r = np.linalg.norm(x0, axis=1)[:, None]
    np.testing.assert_allclose(run.records["distance"], (1 - (1 - eta) ** t) * r, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(run.records["grad_norm"], (1 - eta) ** t * r, rtol=1e-5)
    np.testing.assert_allclose(run.outputs["distance"], (1 - 0.9**40) * r[:, 0], rtol=1e-5)


def test_sharpness_equals_the_dense_largest_eigenvalue():
    """On f = ½xᵀAx + ¼Σx⁴ the largest *algebraic* Hessian eigenvalue along a run, tracked every
    5 steps by warm-started Lanczos, equals eigh of the dense Hessian at the recorded points,
    also where the largest |λ| is negative (a maximum-dominated spectrum)."""
    rng = np.random.default_rng(0)
    d = 12
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = np.concatenate([[-9.0, -7.0], np.linspace(0.5, 3.0, d - 2)])  # |λ|max is negative
    a = jnp.asarray(q @ np.diag(lam) @ q.T, jnp.float32)
    f = lambda x: 0.5 * x @ a @ x + 0.25 * jnp.sum(x**4)  # noqa: E731
    x0 = rng.normal(size=(3, d)).astype(np.float32) * 0.3
    run = saddle.descend(f, x0, optax.sgd(0.01), 50, record_every=5, record_path=True,
                         monitors=[mon.sharpness(every=5, iters=12)])
    eigs = np.linalg.eigvalsh(np.asarray(saddle.hessian(f, run.path.reshape(-1, d)),
                                         np.float64)).reshape(3, -1, d)
    np.testing.assert_allclose(run.records["sharpness"], eigs[..., -1], rtol=1e-4, atol=1e-4)
    # at the start |λ|max belongs to a negative eigenvalue: power iteration would report it
    assert np.all(np.abs(eigs[:, 0, 0]) > eigs[:, 0, -1])
    assert run.outputs["sharpness"].shape == (3,)


def test_a_new_monitor_needs_no_engine_change():
    """A user's monitor (the running minimum of the loss) composed with the built-ins."""

    def best_loss() -> mon.Monitor:
        return mon.Monitor(init=lambda s: s.loss, update=lambda m, s: jnp.minimum(m, s.loss),
                           output=lambda m, last: {"best_loss": m},
                           record=lambda m, s: {"best_loss": m})

    # GD with η = 1.05 on x² oscillates with growing |x|: the best loss is the first one
    run = saddle.descend(lambda x: jnp.sum(x**2), [[1.0], [0.0]], optax.sgd(1.05), 30,
                         record_every=10, monitors=[best_loss()])
    np.testing.assert_allclose(run.outputs["best_loss"], [1.0, 0.0])
    np.testing.assert_allclose(run.records["best_loss"][0], 1.0)


def test_chain_rejects_duplicate_keys_and_non_monitors():
    with pytest.raises(ValueError, match="two monitors output the key 'loss'"):
        saddle.descend(lambda x: jnp.sum(x**2), [[1.0]], optax.sgd(0.1), 3,
                       monitors=[mon.loss()])
    with pytest.raises(TypeError, match=r"monitors must be saddle\.monitors\.Monitor"):
        saddle.descend(lambda x: jnp.sum(x**2), [[1.0]], optax.sgd(0.1), 3, monitors=[len])


def test_last_finite_and_divergence_on_a_hand_made_step_sequence():
    """The monitors as pure functions: fed Steps by hand, they keep what the docs say."""
    x = [jnp.array([float(i)]) for i in range(5)]
    alive = [True, True, True, False, False]
    steps = [Step(jnp.int32(i), x[i], jnp.float32(i), x[i], jnp.float32(i), jnp.bool_(a),
                  x[0], lambda p: jnp.sum(p), jax.random.PRNGKey(i))
             for i, a in enumerate(alive)]
    for m, expect in ((mon.last_finite(), {"last_finite_params": [2.0], "last_finite_loss": 2.0}),
                      (mon.divergence(), {"diverged_step": 3}),
                      (mon.convergence(2.5), {"converged": False, "converged_step": -1})):
        s = m.init(steps[0])
        for st in steps:
            s = m.update(s, st)
        out = m.output(s, steps[-1])
        for k, v in expect.items():
            np.testing.assert_array_equal(out[k], v)


def test_escape_monitor_radius_and_loss_drop():
    m = mon.escape(jnp.zeros(2), radius=1.0, loss_drop=0.5)
    f = lambda p: jnp.sum(p)  # noqa: E731
    mk = lambda t, p: Step(jnp.int32(t), jnp.asarray(p), f(jnp.asarray(p)), None, 0.0,  # noqa: E731
                           jnp.bool_(True), None, f, None)
    s = m.init(mk(0, [0.0, 0.0]))
    for t, p in enumerate([[0.1, 0.1], [0.2, -0.6], [2.0, 0.0]]):
        s = m.update(s, mk(t + 1, p))
    out = m.output(s, mk(4, [2.0, 0.0]))
    # step 2: f = −0.4 is not below −0.5, but ‖(0.2, −0.6)‖ = 0.63 < 1; step 3: ‖·‖ = 2 > 1
    assert int(out["escape_step"]) == 3 and bool(out["escaped"])
    with pytest.raises(ValueError, match="finite radius or loss_drop"):
        mon.escape(jnp.zeros(2))
