import contextlib

import jax
import pytest


@contextlib.contextmanager
def float64():
    """Enable float64 inside a block (jax.enable_x64 where it exists)."""
    if hasattr(jax, "enable_x64"):
        with jax.enable_x64(True):
            yield
    else:  # older jax
        from jax.experimental import enable_x64

        with enable_x64():
            yield


@pytest.fixture
def x64():
    with float64():
        yield
