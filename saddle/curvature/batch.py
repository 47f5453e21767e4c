"""Curvature estimators over many parameter points, in chunks of one compiled program."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import positive_int
from saddle.curvature._inputs import batch_point, check_key, check_scalar
from saddle.curvature.spectrum import Extremes, _extremes, check_extremes

__all__ = ["extreme_eigenpairs_batch", "over_points"]


@functools.lru_cache(maxsize=32)
def _program(fn: Callable[..., Any], n_args: int) -> Callable:
    return jax.jit(jax.vmap(fn, in_axes=(0, 0) + (None,) * n_args))


def over_points(fn: Callable[..., Any], xs: Any, *, key: jax.Array,
                chunk_size: int | None = None, args: tuple = ()) -> Any:
    """``fn(x, key, *args)`` at every point of ``xs`` (an array or pytree with a leading
    axis ``[n, ...]``), the i-th with key ``fold_in(key, i)`` and the same ``args``, as a
    pytree of numpy arrays with a leading axis ``[n, ...]``.

    ``jit(vmap(fn))`` runs on ``chunk_size`` points at a time (default all); the last chunk
    is padded with copies of the last point, so every chunk has one shape and one
    compilation serves them all.  Results do not depend on ``chunk_size``.
    """
    n, _ = batch_point(xs)
    check_key(key)
    chunk = n if chunk_size is None else min(positive_int(chunk_size, "chunk_size"), n)
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    pad = -n % chunk
    keys = jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.arange(n))
    xs, keys = jax.tree.map(
        lambda a: jnp.concatenate([jnp.asarray(a), jnp.repeat(jnp.asarray(a)[-1:], pad, 0)]),
        (xs, keys))
    program = _program(fn, len(args))
    outs = [jax.device_get(program(jax.tree.map(lambda a, i=i: a[i:i + chunk], xs),
                                   keys[i:i + chunk], *args))
            for i in range(0, n + pad, chunk)]
    return jax.tree.map(lambda *a: np.concatenate(a)[:n], *outs)


@functools.lru_cache(maxsize=32)
def _extremes_fn(f: Callable, k: int, iters: int, which: str) -> Callable:
    return lambda x, key, *args: _extremes(f, x, key, args, k=k, iters=iters, which=which)


def extreme_eigenpairs_batch(f: Callable[..., jax.Array], xs: Any, k: int = 1,
                             iters: int | None = None, *, key: jax.Array,
                             which: str = "both", chunk_size: int | None = None,
                             args: tuple = ()) -> Extremes:
    """``extreme_eigenpairs`` at every point of ``xs`` (``[n, d]`` or a pytree with a
    leading axis ``n``), the i-th with key ``fold_in(key, i)``, ``chunk_size`` points at a
    time (``over_points``): ``Extremes`` of numpy arrays with a leading axis ``[n, ...]``."""
    _, point = batch_point(xs)
    k, m = check_extremes(f, point, k, iters, which, "xs")
    check_key(key)
    if chunk_size is not None:
        positive_int(chunk_size, "chunk_size")
    check_scalar(f, point, args)
    return over_points(_extremes_fn(f, k, m, which), xs, key=key, chunk_size=chunk_size,
                       args=args)
