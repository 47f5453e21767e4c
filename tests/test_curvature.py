"""Hessians, eigenvalues and kinds against independent computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import float64
from hypothesis import given, settings
from hypothesis import strategies as st

import saddle
from saddle.objectives import get


def fd_hessian(f, x, h=1e-4):
    """Central finite differences of f in float64 numpy: independent of autodiff."""
    d = len(x)
    H = np.zeros((d, d))
    e = np.eye(d) * h
    for i in range(d):
        for j in range(d):
            H[i, j] = (f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j])
                       + f(x - e[i] - e[j])) / (4 * h * h)
    return H


@pytest.mark.parametrize("name", ["himmelblau", "six_hump_camel", "rosenbrock", "branin",
                                  "styblinski_tang", "levy"])
def test_hessian_matches_finite_differences(name, x64):
    obj = get(name)
    xs = np.asarray(saddle.starts.uniform(jax.random.PRNGKey(3), 5, obj), dtype=np.float64)
    H = np.asarray(saddle.hessian(obj, xs))
    f = lambda x: float(obj.fn(jnp.asarray(x)))  # noqa: E731
    for x, h in zip(xs, H, strict=True):
        ref = fd_hessian(f, x)
        np.testing.assert_allclose(h, ref, rtol=1e-5, atol=1e-4 * (1 + np.abs(ref).max()))
    eig = np.asarray(saddle.eigenvalues(obj, xs))
    np.testing.assert_allclose(eig, np.linalg.eigvalsh(H), rtol=1e-10, atol=1e-10)


def kind_rule(eigs, tol):
    """The documented rule, written independently."""
    neg, pos = (eigs < -tol).sum(), (eigs > tol).sum()
    if neg and pos:
        return "saddle"
    if neg + pos < len(eigs):
        return "degenerate"
    return "minimum" if neg == 0 else "maximum"


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from([-3.0, -1.0, 0.0, 0.5, 2.0]), min_size=1, max_size=4))
def test_kind_of_a_diagonal_quadratic(diag):
    """f = ½ Σ a_i x_i²: the Hessian is diag(a); kind and index follow the documented rule."""
    a = jnp.asarray(diag)
    c = saddle.classify(lambda x: 0.5 * jnp.sum(a * x**2), np.zeros((1, len(diag))))
    eigs = np.sort(np.asarray(diag))
    tol = float(c.tol[0])
    assert c.kind[0] == kind_rule(eigs, tol)
    assert c.index[0] == int(np.sum(eigs < 0))
    np.testing.assert_allclose(c.eigenvalues[0], eigs, atol=1e-6)


def test_textbook_kinds():
    assert saddle.classify(get("cubic"), [[0.0]]).kind[0] == "degenerate"
    assert saddle.classify(get("monkey_saddle"), [[0.0, 0.0]]).kind[0] == "degenerate"
    c = saddle.classify(get("quadratic_saddle"), [[0.0, 0.0]])
    assert c.kind[0] == "saddle" and c.index[0] == 1
    np.testing.assert_allclose(c.eigenvalues[0], [-2.0, 2.0])
    # A zero eigenvalue beside opposite signs is still a saddle.
    c = saddle.classify(lambda x: x[0] ** 2 - x[1] ** 2 + x[2] ** 4, [[0.0, 0.0, 0.0]])
    assert c.kind[0] == "saddle" and c.n_zero[0] == 1


def test_float32_and_float64_agree_on_himmelblau():
    obj = get("himmelblau")
    c32 = saddle.classify(obj, obj.known_x().astype(np.float32))
    assert c32.eigenvalues.dtype == np.float32
    with float64():
        c64 = saddle.classify(obj, obj.known_x())
        assert c64.eigenvalues.dtype == np.float64
    assert c32.kind.tolist() == c64.kind.tolist()
    np.testing.assert_allclose(c32.eigenvalues, c64.eigenvalues, rtol=1e-4, atol=1e-3)


def test_hvp_matches_dense_hessian():
    obj = get("six_hump_camel")
    x, v = jnp.array([0.3, -0.2]), jnp.array([0.7, 1.1])
    hvp = jax.jit(saddle.hvp, static_argnums=0)
    np.testing.assert_allclose(hvp(obj.fn, x, v), jax.jit(jax.hessian(obj.fn))(x) @ v, rtol=1e-5)


def test_batch_size_gives_the_same_result():
    obj = get("himmelblau")
    xs = saddle.starts.uniform(jax.random.PRNGKey(0), 12, obj)
    a, b = saddle.classify(obj, xs), saddle.classify(obj, xs, batch_size=4)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs_fail_with_one_line_errors():
    obj = get("himmelblau")
    with pytest.raises(ValueError, match=r"xs must have shape \[n, d\].*x\[None\]"):
        saddle.classify(obj, np.zeros(2))
    with pytest.raises(ValueError, match="xs has d=3 but the objective has dim=2"):
        saddle.classify(obj, np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"xs has 1 row.*non-finite"):
        saddle.classify(obj, [[0.0, np.nan], [1.0, 1.0]])
    with pytest.raises(TypeError, match="f must return a scalar"):
        saddle.classify(lambda x: x, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="eig_tol must be a finite number > 0"):
        saddle.classify(obj, np.zeros((2, 2)), eig_tol=0.0)
    with pytest.raises(TypeError, match="f must be a callable"):
        saddle.classify("himmelblau", np.zeros((2, 2)))


def test_non_finite_hessian_is_undefined_not_degenerate():
    c = saddle.classify(lambda x: jnp.sqrt(x[0]) + x[1] ** 2, [[-1.0, 0.0], [1.0, 0.0]])
    assert c.kind.tolist() == ["undefined", "saddle"]
    assert saddle.classify(get("ackley"), [[0.0, 0.0]]).kind[0] == "undefined"
