"""Shared fixtures. The tests' time is mostly XLA compilation: LLVM at its lowest
optimisation level cuts it by about a quarter (BUILD_NOTES), and the numbers the tests
check do not depend on it. Set before jax starts; subprocesses set their own flags."""

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
