"""float64 inside a block, on every jax version saddle supports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax


@contextlib.contextmanager
def float64(on: bool = True) -> Iterator[None]:
    """Enable float64 (``jax_enable_x64``) inside the block; a no-op when ``on`` is False."""
    if not on:
        yield
        return
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # older jax
        from jax.experimental import enable_x64 as enable
    with enable(True):
        yield
