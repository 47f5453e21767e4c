"""Input checks shared by the library: one-line errors naming the argument, before any tracing."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np


def as_batch(x: Any, name: str, dim: int | None = None) -> jax.Array:
    """Check ``x`` is a finite ``[n, d]`` array (``d == dim`` if given) and return it as jax."""
    if isinstance(x, jax.core.Tracer):
        raise TypeError(f"{name} must be a concrete array, not a traced value")
    arr = np.asarray(x)
    if arr.ndim != 2:
        hint = " (use x[None] for a single point)" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must have shape [n, d], got shape {arr.shape}{hint}")
    if arr.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one point, got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name} has d={arr.shape[1]} but the objective has dim={dim}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(jax.dtypes.canonicalize_dtype(np.float64))
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.all(np.isfinite(arr), axis=1)))
        raise ValueError(f"{name} has {bad} row(s) with non-finite values")
    return jax.numpy.asarray(arr)


def as_point(x: Any, name: str, dim: int | None = None) -> jax.Array:
    """Check ``x`` is a finite ``[d]`` vector and return it as jax."""
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must have shape [d], got shape {arr.shape}")
    return as_batch(arr[None], name, dim)[0]


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def positive_float(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def one_of(value: Any, name: str, choices: Any) -> Any:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; known: {', '.join(map(str, choices))}")
    return value
