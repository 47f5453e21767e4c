"""Checks for the Krylov estimators: one-line errors naming the argument, before tracing.

They read only shapes and dtypes, so they also pass for traced points under ``jax.vmap``.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

WHICH = ("both", "lowest", "highest")
# (f, tree structure, leaf shapes/dtypes) that ``check_scalar`` passed, most recent last
_SCALAR_OK: collections.OrderedDict = collections.OrderedDict()


def _struct(leaf: Any) -> jax.ShapeDtypeStruct:
    if isinstance(leaf, jax.ShapeDtypeStruct):
        return leaf
    return jax.ShapeDtypeStruct(jnp.shape(leaf), jnp.result_type(leaf))


def point_size(x: Any, name: str = "x") -> int:
    """The number ``d`` of parameters in the point ``x``: a pytree of float arrays (or of
    ``jax.ShapeDtypeStruct``)."""
    leaves = jax.tree.leaves(x)
    if not leaves:
        raise ValueError(f"{name} must hold at least one array, got {x!r}")
    structs = [_struct(leaf) for leaf in leaves]
    for s in structs:
        if not jnp.issubdtype(s.dtype, jnp.floating):
            raise TypeError(f"{name} must hold floating-point arrays, got dtype {s.dtype}")
    d = sum(math.prod(s.shape) for s in structs)
    if d < 1:
        raise ValueError(f"{name} must hold at least one parameter, got size 0")
    return d


def check_scalar(f: Callable[..., jax.Array], x: Any, args: Any = ()) -> None:
    """Check that ``f`` is callable and ``f(x, *args)`` a scalar (by shape; ``args`` a
    tuple); run it last, as it traces ``f`` abstractly (``jax.eval_shape``)."""
    if not callable(f):
        raise TypeError(f"f must be a callable, got {type(f).__name__}")
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple (the extra arguments of f), got "
                        f"{type(args).__name__}")
    structs = jax.tree.map(_struct, (x, *args))
    try:  # a function seen with these shapes is not traced again (repeated calls)
        key = (f, jax.tree.structure(structs), tuple(jax.tree.leaves(structs)))
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in _SCALAR_OK:
        _SCALAR_OK.move_to_end(key)
        return
    out = jax.eval_shape(f, *structs)
    if not hasattr(out, "shape") or out.shape != ():
        raise TypeError(f"f must return a scalar, got {out}")
    if key is not None:
        _SCALAR_OK[key] = None
        if len(_SCALAR_OK) > 256:
            _SCALAR_OK.popitem(last=False)


def batch_point(xs: Any, name: str = "xs") -> tuple[int, Any]:
    """``(n, point)``: the leading size of every leaf of ``xs`` and a shape-only point."""
    leaves = jax.tree.leaves(xs)
    if not leaves:
        raise ValueError(f"{name} must hold at least one array")
    sizes = {jnp.shape(leaf)[0] if jnp.ndim(leaf) else None for leaf in leaves}
    if None in sizes or len(sizes) != 1:
        raise ValueError(f"{name} must have one leading (batch) axis on every leaf, "
                         f"got leading sizes {sorted(map(str, sizes))}")
    n = sizes.pop()
    if n < 1:
        raise ValueError(f"{name} must hold at least one point, got a leading size of 0")
    point = jax.tree.map(lambda a: jax.ShapeDtypeStruct(jnp.shape(a)[1:], jnp.result_type(a)),
                         xs)
    return n, point


def check_key(key: Any) -> None:
    if key is None:
        raise TypeError("key is required: pass a jax.random key")
    dtype = jnp.result_type(key)
    typed = jnp.issubdtype(dtype, jax.dtypes.prng_key)
    if not typed and not (dtype == jnp.uint32 and jnp.shape(key)[-1:] == (2,)):
        raise TypeError(f"key must be a jax.random key, got dtype {dtype} and shape "
                        f"{jnp.shape(key)}")
