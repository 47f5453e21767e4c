"""Shared fixtures. The tests' time is mostly XLA compilation: LLVM at its lowest
optimisation level cuts it by about a quarter (BUILD_NOTES). Results may differ from the
default level in the last bit (FMA contraction), so a subprocess whose results are compared
bit for bit with this process's must inherit XLA_FLAGS. Set before jax starts."""

import os

os.environ["XLA_FLAGS"] = " ".join(
    [os.environ.get("XLA_FLAGS", ""), "--xla_backend_optimization_level=0"]).strip()

import pytest

from saddle.precision import float64

__all__ = ["float64"]


@pytest.fixture
def x64():
    with float64():
        yield
