import pytest

from saddle.precision import float64

__all__ = ["float64"]


@pytest.fixture
def x64():
    with float64():
        yield
