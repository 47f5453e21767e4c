"""cos 2πx by exact range reduction + polynomial, against numpy float64 and its derivatives."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import float64

from saddle.objectives.trig import cos2pi, sincos2pi


@pytest.mark.parametrize("scale", [5.12, 1000.0])
def test_float32_accuracy(scale):
    x = np.linspace(-scale, scale, 200_001).astype(np.float32)
    s, c = (np.asarray(a, np.float64) for a in sincos2pi(jnp.asarray(x)))
    ref = 2 * np.pi * x.astype(np.float64)
    assert np.abs(c - np.cos(ref)).max() < 3e-7
    assert np.abs(s - np.sin(ref)).max() < 3e-7


def test_float64_accuracy_and_derivatives():
    with float64():
        x = jnp.linspace(-50.0, 50.0, 10_001)
        # Reference: numpy after subtracting whole periods (exact), so that 2π·x does not
        # round at large |x| (np.cos(2π·50.03) itself is off by ~3e-14).
        t = 2 * np.pi * (np.asarray(x) - np.round(np.asarray(x)))
        np.testing.assert_allclose(cos2pi(x), np.cos(t), atol=1e-15)
        d1 = jax.jit(jax.vmap(jax.grad(cos2pi)))(x)
        np.testing.assert_allclose(d1, -2 * np.pi * np.sin(t), atol=1e-14)
        d2 = jax.jit(jax.vmap(jax.grad(jax.grad(cos2pi))))(x)
        np.testing.assert_allclose(d2, -4 * np.pi**2 * np.cos(t), atol=1e-13)
