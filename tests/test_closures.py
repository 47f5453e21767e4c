"""saddle.closures: a callable's numbers as leaves, the rest as a hashable skeleton."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from saddle import closures, optimizers

X = jnp.array([1.0, -2.0, 0.5])
G = jnp.array([0.3, 0.4, -1.0])
EXTRA = dict(value=jnp.sum(X**2), grad=G, value_fn=lambda p, key=None: jnp.sum(p**2),
             key=jax.random.PRNGKey(0))

FACTORIES = {
    "adam": lambda lr: optax.adam(lr),
    "nesterov": lambda lr: optax.sgd(lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda lr: optax.rmsprop(lr),
    "adagrad": lambda lr: optax.adagrad(lr),
    "adamw_cosine": lambda lr: optax.adamw(optax.cosine_decay_schedule(lr, 100)),
    "lbfgs": lambda lr: optax.lbfgs(lr),
    "inject": lambda lr: optax.inject_hyperparams(optax.adam)(learning_rate=lr),
    "plateau": lambda lr: optax.chain(optax.sgd(lr), optax.contrib.reduce_on_plateau()),
    **{f"zoo_{name}": functools.partial(optimizers.make, name) for name in optimizers.names()},
}


def _updates(opt, steps=3):
    opt = optax.with_extra_args_support(opt)
    state, out = opt.init(X), []
    for t in range(steps):
        u, state = opt.update(G * (t + 1), state, X, **EXTRA)
        out.append(u)
    return np.asarray(out)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_one_skeleton_per_structure_and_merge_reproduces_the_optimizer(name):
    make = FACTORIES[name]
    (la, sa), (lb, sb) = closures.split(make(1e-2)), closures.split(make(3e-3))
    assert sa == sb and hash(sa) == hash(sb)
    assert la != lb  # the learning rate is a leaf
    # rebuilt with the other optimizer's numbers, it *is* that optimizer, eagerly and traced
    steps = 1 if name == "lbfgs" else 3  # lbfgs's line search is slow op by op
    np.testing.assert_array_equal(_updates(closures.merge(sa, lb), steps),
                                  _updates(make(3e-3), steps))

    def traced(leaves):
        opt = optax.with_extra_args_support(closures.merge(sa, leaves))
        return opt.update(G, opt.init(X), X, **EXTRA)[0]

    np.testing.assert_allclose(jax.jit(traced)(lb), _updates(make(3e-3), steps=1)[0],
                               rtol=1e-6, atol=1e-7)


def test_structure_differences_are_seen():
    skel = lambda o: closures.split(o)[1]  # noqa: E731
    assert skel(optax.adam(1e-2)) != skel(optax.adamw(1e-2))
    assert skel(optax.sgd(0.1)) != skel(optax.sgd(0.1, momentum=0.9))  # None vs a number
    assert skel(optax.sgd(0.1, momentum=0.9)) != skel(optax.sgd(0.1, momentum=0.9,
                                                                nesterov=True))
    # ints are structure (step counts, periods), floats are data
    assert skel(optax.cosine_decay_schedule(1.0, 100)) != skel(
        optax.cosine_decay_schedule(1.0, 200))


def test_aliasing_recursion_and_containers():
    def outer(scale):
        z = [scale, 2.0]

        def inner(x):
            return x * z[0] + z[1]

        def rec(x, k):  # refers to itself through its own cell
            return x if k == 0 else rec(inner(x), k - 1)

        return {"rec": rec, "inner": inner, "p": functools.partial(inner, 1.0)}

    leaves, skel = closures.split(outer(3.0))
    # z's two numbers once (shared by inner, rec and the partial), and the partial's 1.0
    assert leaves == [3.0, 2.0, 1.0]
    rebuilt = closures.merge(skel, [5.0, -1.0, 2.0])
    assert rebuilt["rec"](1.0, 2) == (1.0 * 5 - 1) * 5 - 1
    assert rebuilt["p"]() == 2.0 * 5 - 1
    assert rebuilt["inner"] is rebuilt["p"].func  # aliasing kept
    assert closures.merge(skel, leaves)["rec"](1.0, 2) == outer(3.0)["rec"](1.0, 2)
    with pytest.raises(ValueError, match="needs 3 leaves"):
        closures.merge(skel, [1.0])


def test_arrays_are_leaves_and_static_key_sees_values():
    w = np.array([1.0, 2.0])
    fn = (lambda w: lambda x: x @ w)(w)
    leaves, skel = closures.split(fn)
    assert len(leaves) == 1 and leaves[0] is w
    other = closures.merge(skel, [np.array([3.0, 4.0])])
    assert other(np.ones(2)) == 7.0
    k1 = closures.static_key(leaves, skel)
    k2 = closures.static_key([np.array([1.0, 2.0])], skel)
    k3 = closures.static_key([np.array([1.0, 2.5])], skel)
    assert k1 == k2 and k1 != k3
