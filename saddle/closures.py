"""A Python callable as a pytree: its numbers are leaves, everything else is structure.

An optax optimizer is a pair of closures, and the learning rate, β's and ε it was
built with sit in their cells as Python floats. ``split`` walks a callable (functions,
their closure cells and defaults, ``functools.partial``, tuples, lists, dicts,
NamedTuples) and returns its floats and arrays as ``leaves`` and the rest as a hashable
``Skeleton``; ``merge(skeleton, leaves)`` rebuilds an equivalent callable whose cells
hold the given leaves, which may be traced values. So ``optax.adam(1e-2)`` and
``optax.adam(1e-3)`` have one skeleton: a program compiled for one runs the other with
its learning rate passed as data, and a grid of learning rates is a ``vmap`` over the
leaves. Aliasing is kept (cells shared by ``init`` and ``update`` stay shared).

What is structure: code objects, globals, ints, bools, strings, ``None``, dtypes and
any other object (by equality if hashable, else by identity). What is a leaf: Python
floats, NumPy/JAX scalars and arrays. A callable that branches in Python on one of its
floats cannot run with that float traced; the caller then falls back to
``static_key``: the skeleton plus the leaves' values (one compilation per value).

>>> import optax
>>> a, b = split(optax.adam(1e-2)), split(optax.adam(1e-3))
>>> a[1] == b[1], a[0] == b[0]
(True, False)
"""

from __future__ import annotations

import functools
import hashlib
import types
from typing import Any, NamedTuple

import jax
import numpy as np

__all__ = ["Skeleton", "merge", "split", "static_key"]


class _Ident:
    """An unhashable object in a skeleton, compared by identity (kept alive by the skeleton)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ident) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


class Skeleton(NamedTuple):
    """The structure of a callable: a tree of hashable nodes (see ``split``)."""

    root: Any


def _is_leaf(x: Any) -> bool:
    if isinstance(x, bool | int | np.bool_):
        return False
    if isinstance(x, float | np.floating):
        return True
    return isinstance(x, np.ndarray | jax.Array)


def _static(x: Any) -> Any:
    try:
        hash(x)
    except TypeError:
        return ("ref", _Ident(x))
    return ("static", x)


def split(obj: Any) -> tuple[list[Any], Skeleton]:
    """``(leaves, skeleton)`` of ``obj``: its floats/arrays in a fixed order, and the rest."""
    leaves: list[Any] = []
    seen: dict[int, int] = {}  # id(object) -> node number, for aliasing and cycles
    alive: list[Any] = []  # keep walked objects alive while ids are in use

    def enter(x: Any) -> int | None:
        if id(x) in seen:
            return seen[id(x)]
        seen[id(x)] = len(seen)
        alive.append(x)
        return None

    def walk(x: Any) -> Any:
        if _is_leaf(x):
            leaves.append(x)
            kind = ("float",) if np.ndim(x) == 0 and not hasattr(x, "dtype") else (
                "array", np.shape(x), str(np.asarray(x).dtype))
            return ("leaf", len(leaves) - 1, kind)
        if isinstance(x, types.CellType):
            if (k := enter(x)) is not None:
                return ("alias", k)
            try:
                content = x.cell_contents
            except ValueError:
                return ("cell", seen[id(x)], ("empty",))
            return ("cell", seen[id(x)], walk(content))
        if isinstance(x, types.FunctionType):
            if (k := enter(x)) is not None:
                return ("alias", k)
            cells = tuple(walk(c) for c in (x.__closure__ or ()))
            return ("function", seen[id(x)], x.__code__, _Ident(x.__globals__), x.__name__,
                    walk(x.__defaults__), walk(x.__kwdefaults__), walk(dict(x.__dict__)),
                    cells)
        if isinstance(x, functools.partial):
            return ("partial", walk(x.func), walk(x.args), walk(x.keywords))
        if isinstance(x, tuple):
            return ("tuple", type(x), tuple(walk(v) for v in x))
        if isinstance(x, list):
            if (k := enter(x)) is not None:
                return ("alias", k)
            return ("list", seen[id(x)], tuple(walk(v) for v in x))
        if type(x) is dict:
            if (k := enter(x)) is not None:
                return ("alias", k)
            keys = tuple(x)
            return ("dict", seen[id(x)], tuple(_static(k) for k in keys),
                    tuple(walk(x[k]) for k in keys))
        return _static(x)

    root = walk(obj)
    return leaves, Skeleton(root)


def _leaf_nodes(node: Any) -> Any:
    """Every ("leaf", i, kind) node in a skeleton tree."""
    if isinstance(node, tuple) and node and node[0] == "leaf":
        yield node
    elif isinstance(node, tuple):
        for child in node:
            if isinstance(child, tuple):
                yield from _leaf_nodes(child)


def _cell_nodes(node: Any) -> Any:
    """Every ("cell", k, content) node in a skeleton tree."""
    if isinstance(node, tuple) and node and node[0] == "cell":
        yield node
    if isinstance(node, tuple):
        for child in node:
            if isinstance(child, tuple):
                yield from _cell_nodes(child)


def merge(skeleton: Skeleton, leaves: Any) -> Any:
    """The callable of ``skeleton`` with ``leaves`` (same order and count as ``split``'s)."""
    leaves = list(leaves)
    # Cells first (empty), so that a closure can refer to a cell whose content, or the
    # function itself (recursion), is built later.
    built: dict[int, Any] = {n[1]: types.CellType() for n in _cell_nodes(skeleton.root)}

    def build(node: tuple) -> Any:
        tag = node[0]
        if tag == "leaf":
            return leaves[node[1]]
        if tag == "static":
            return node[1]
        if tag == "ref":
            return node[1].obj
        if tag in ("alias", "cell"):
            return built[node[1]]
        if tag == "function":
            _, k, code, glob, name, defaults, kwdefaults, attrs, cells = node
            fn = types.FunctionType(code, glob.obj, name, build(defaults),
                                    tuple(build(c) for c in cells) or None)
            built[k] = fn
            for c in cells:  # fill the cells this closure introduced
                if c[0] == "cell" and c[2] != ("empty",):
                    built[c[1]].cell_contents = build(c[2])
            fn.__kwdefaults__ = build(kwdefaults)
            fn.__dict__.update(build(attrs))
            return fn
        if tag == "partial":
            return functools.partial(build(node[1]), *build(node[2]), **build(node[3]))
        if tag == "tuple":
            values = [build(v) for v in node[2]]
            cls = node[1]
            return cls(*values) if hasattr(cls, "_fields") else cls(values)
        if tag == "list":
            out: list[Any] = []
            built[node[1]] = out
            out.extend(build(v) for v in node[2])
            return out
        if tag == "dict":
            d: dict[Any, Any] = {}
            built[node[1]] = d
            for key, v in zip(node[2], node[3], strict=True):
                d[key[1].obj if key[0] == "ref" else key[1]] = build(v)
            return d
        raise AssertionError(f"unknown skeleton node {tag!r}")

    n = sum(1 for _ in _leaf_nodes(skeleton.root))
    if len(leaves) != n:
        raise ValueError(f"merge needs {n} leaves for this skeleton, got {len(leaves)}")
    return build(skeleton.root)


def _frozen(leaf: Any) -> Any:
    if np.ndim(leaf) == 0 and not hasattr(leaf, "dtype"):
        return float(leaf)
    a = np.asarray(leaf)
    return (a.shape, str(a.dtype), hashlib.sha1(a.tobytes()).hexdigest())


def static_key(leaves: list[Any], skeleton: Skeleton) -> tuple:
    """A hashable key of the skeleton *and* the leaves' values (for callables that need
    their numbers at trace time)."""
    return (skeleton, tuple(_frozen(v) for v in leaves))
