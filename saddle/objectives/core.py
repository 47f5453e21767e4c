"""`Objective`, `CriticalPoint` and the name registry."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import positive_int

# "undefined": the Hessian is not finite there (f not twice differentiable, or NaN).
KINDS = ("minimum", "saddle", "maximum", "degenerate", "undefined")


@dataclasses.dataclass(frozen=True)
class CriticalPoint:
    """A point where ∇f = 0, from the literature or derived (the objective's docstring says which).

    ``index`` is the number of negative Hessian eigenvalues; ``None`` where the
    Hessian is singular and does not decide (kind ``degenerate``) or f is not
    differentiable there (``smooth=False``, e.g. Ackley's origin).
    """

    x: tuple[float, ...]
    value: float
    kind: str
    index: int | None = None
    smooth: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        object.__setattr__(self, "x", tuple(float(v) for v in np.ravel(self.x)))
        object.__setattr__(self, "value", float(self.value))


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """Known critical points of an objective, kept apart from its function.

    points: the catalogued points (each objective's docstring says where they come from).
    complete: True when ``points`` lists *every* critical point inside the objective's box.
    """

    points: tuple[CriticalPoint, ...] = ()
    complete: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple(self.points))
        for p in self.points:
            if not isinstance(p, CriticalPoint):
                raise TypeError(f"catalogue points must be CriticalPoint, got {type(p).__name__}")

    @property
    def global_min(self) -> CriticalPoint | None:
        """The lowest catalogued minimum (None without one)."""
        minima = [p for p in self.points if p.kind == "minimum"]
        return min(minima, key=lambda p: p.value) if minima else None

    def x(self, kind: str | None = None, dim: int | None = None) -> np.ndarray:
        """Catalogued locations ``[m, d]`` (of one ``kind`` if given)."""
        pts = [p.x for p in self.points if kind is None or p.kind == kind]
        d = dim if dim is not None else (len(pts[0]) if pts else 0)
        return np.asarray(pts, dtype=float).reshape(len(pts), d)


def _as_bounds(bounds: Any, dim: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    try:
        lower, upper = bounds
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be a pair (lower, upper), got {bounds!r}") from None
    try:
        lo = np.broadcast_to(np.asarray(lower, dtype=float), (dim,))
        hi = np.broadcast_to(np.asarray(upper, dtype=float), (dim,))
    except ValueError:
        raise ValueError(f"bounds must be scalars or length-{dim} vectors, got "
                         f"{bounds!r}") from None
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError(f"bounds must be finite, got lower={lo.tolist()}, upper={hi.tolist()}")
    if np.any(hi <= lo):
        raise ValueError(f"bounds are empty or inverted: lower={lo.tolist()}, upper={hi.tolist()}")
    return tuple(lo.tolist()), tuple(hi.tolist())


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class Objective:
    """A pure scalar function of parameters: a flat vector ``[d]`` or any pytree.

    Attributes:
      fn: ``fn(params) -> []``, or ``fn(params, batch) -> []`` when ``data`` is given;
        written with ``jax.numpy`` so that grad, hessian and vmap apply. Works in float32
        and float64 (the parameters' dtype decides).
      dim: ``d`` for a flat vector ``[d]`` of parameters; ``None`` for pytree parameters
        (then ``init`` defines their structure).
      bounds: optional box ``(lower[d], upper[d])`` (scalars broadcast; needs ``dim``):
        where ``saddle.starts`` draws uniform starts and the critical-point finder searches.
      init: optional start sampler ``key -> params`` (one point), e.g. a network's own
        initialisers; ``saddle.starts.sample`` vmaps it over keys.
      data: optional data set, a pytree of arrays with a common leading axis of rows;
        ``fn`` is then called as ``fn(params, batch)`` with all rows (full batch) or a
        minibatch of them.
      name: registry name or a label for a user's function.
      catalogue: known critical points (``Catalogue``), apart from the function.

    Example:
      >>> obj = Objective(fn=lambda x: (x**2).sum(), dim=3, bounds=(-1.0, 1.0))
      >>> obj.params.shape
      (3,)
    """

    fn: Callable[..., jax.Array]
    dim: int | None = None
    bounds: Any = None
    init: Callable[[jax.Array], Any] | None = None
    data: Any = None
    name: str = "custom"
    catalogue: Catalogue = Catalogue()

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"fn must be callable, got {type(self.fn).__name__}")
        if self.init is not None and not callable(self.init):
            raise TypeError(f"init must be callable (key -> params), got "
                            f"{type(self.init).__name__}")
        if self.dim is None and self.init is None:
            raise ValueError("an Objective needs dim (flat parameters [d]) or init "
                             "(a start sampler key -> params)")
        if self.dim is not None:
            positive_int(self.dim, "dim")
        if self.bounds is not None:
            if self.dim is None:
                raise ValueError("bounds need dim (a box is for flat parameters [d])")
            object.__setattr__(self, "bounds", _as_bounds(self.bounds, self.dim))
        if not isinstance(self.catalogue, Catalogue):
            raise TypeError(f"catalogue must be a Catalogue, got {type(self.catalogue).__name__}")
        for p in self.catalogue.points:
            if self.dim is not None and len(p.x) != self.dim:
                raise ValueError(f"catalogued point {p.x} has {len(p.x)} coordinates, "
                                 f"dim={self.dim}")
        if self.data is not None:
            object.__setattr__(self, "data", check_data(self.data, "data"))
        point = self.params
        if self.init is not None and self.dim is not None:
            leaves = jax.tree.leaves(point)
            if len(leaves) != 1 or leaves[0].shape != (self.dim,):
                raise ValueError(f"init must return a vector of shape [{self.dim}] (dim), got "
                                 f"{jax.tree.map(lambda a: a.shape, point)}")
        args = (point,) if self.data is None else (point, self.data)
        out = jax.eval_shape(self.fn, *args)
        if getattr(out, "shape", None) != ():
            raise TypeError(f"fn must return a scalar for parameters "
                            f"{jax.tree.map(lambda a: a.shape, point)}, got "
                            f"{getattr(out, 'shape', type(out).__name__)}")

    def __call__(self, params: Any, batch: Any = None) -> jax.Array:
        if self.data is None and batch is None:
            return self.fn(params)
        return self.fn(params, self.data if batch is None else batch)

    @property
    def params(self) -> Any:
        """Shape and dtype of one parameter point (``jax.ShapeDtypeStruct`` pytree)."""
        if self.init is not None:
            return jax.eval_shape(self.init, jax.random.PRNGKey(0))
        return jax.ShapeDtypeStruct((self.dim,), jnp.float32)

    @property
    def lower(self) -> np.ndarray:
        return np.asarray(self._box()[0])

    @property
    def upper(self) -> np.ndarray:
        return np.asarray(self._box()[1])

    def _box(self) -> tuple:
        if self.bounds is None:
            raise ValueError(f"objective {self.name!r} has no box (bounds=None)")
        return self.bounds

    # The catalogue, read through the objective (the function does not depend on it).
    @property
    def known(self) -> tuple[CriticalPoint, ...]:
        return self.catalogue.points

    @property
    def complete(self) -> bool:
        return self.catalogue.complete

    @property
    def global_min(self) -> CriticalPoint | None:
        return self.catalogue.global_min

    def known_x(self, kind: str | None = None) -> np.ndarray:
        """Catalogued locations ``[m, d]`` (of one ``kind`` if given)."""
        return self.catalogue.x(kind, self.dim)


def check_data(data: Any, name: str) -> Any:
    """``data`` as a pytree of jax arrays with one common leading axis (rows), or a one-line
    error naming ``name``."""
    try:
        data = jax.tree.map(jnp.asarray, data)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a pytree of arrays: {err}") from None
    rows = {a.shape[0] if a.ndim else None for a in jax.tree.leaves(data)}
    if len(rows) != 1 or None in rows:
        raise ValueError(f"{name} arrays must share one leading axis (rows), got {rows}")
    if rows == {0}:
        raise ValueError(f"{name} has no rows")
    return data


# ----------------------------------------------------------------------------- registry
Factory = Callable[..., Objective]
_REGISTRY: dict[str, tuple[Factory, bool]] = {}


def register(name: str, *, n_dim: bool = False) -> Callable[[Factory], Factory]:
    """Decorator adding an objective factory to the registry (``n_dim``: takes ``dim``)."""

    def deco(factory: Factory) -> Factory:
        _REGISTRY[name] = (factory, n_dim)
        return factory

    return deco


def names() -> tuple[str, ...]:
    """The registered objective names, sorted."""
    return tuple(sorted(_REGISTRY))


def is_n_dim(name: str) -> bool:
    """Whether objective ``name`` takes a ``dim`` argument."""
    return get_factory(name)[1]


def get_factory(name: str) -> tuple[Factory, bool]:
    if name not in _REGISTRY:
        raise ValueError(f"unknown objective {name!r}; known: {', '.join(names())}")
    return _REGISTRY[name]


def get(name: str, dim: int | None = None, **kwargs: Any) -> Objective:
    """The registered objective ``name``; n-d families take ``dim`` (default 2).

    >>> get("himmelblau").dim
    2
    >>> get("rastrigin", dim=10).dim
    10
    """
    factory, n_dim = get_factory(name)
    if n_dim:
        return factory(dim=2 if dim is None else positive_int(dim, "dim"), **kwargs)
    if dim is not None:
        fixed = factory(**kwargs).dim
        if dim != fixed:
            raise ValueError(f"objective {name!r} has fixed dim={fixed}, got dim={dim}")
    return factory(**kwargs)


def product_points(
    roots: Sequence[tuple[float, str]], dim: int, fn: Callable[[np.ndarray], float]
) -> tuple[CriticalPoint, ...]:
    """All critical points of a separable ``f(x) = Σ_i g(x_i)`` from those of ``g``.

    ∇f = 0 iff every coordinate is a critical point of ``g``, and the Hessian is
    diagonal, so with ``roots`` the 1-D critical points ``(x, kind)`` of ``g`` (kind
    minimum or maximum) the index of a product point is the number of coordinates
    at a maximum of ``g``. Returns ``len(roots) ** dim`` points; ``fn`` gives f.
    """
    out = []
    for combo in itertools.product(roots, repeat=dim):
        x = np.array([c[0] for c in combo])
        index = sum(c[1] == "maximum" for c in combo)
        kind = "minimum" if index == 0 else "maximum" if index == dim else "saddle"
        out.append(CriticalPoint(x=tuple(x), value=float(fn(x)), kind=kind, index=index))
    return tuple(out)


def roots_1d(
    dg: Callable[[np.ndarray], np.ndarray],
    d2g: Callable[[np.ndarray], np.ndarray],
    lo: float,
    hi: float,
    n_grid: int = 200_001,
) -> list[tuple[float, str]]:
    """Critical points of a smooth 1-D ``g`` in ``[lo, hi]``: sign changes of ``g'`` on a
    fine grid, refined by 200 bisection steps in float64; kind from the sign of ``g''``.

    ``dg``, ``d2g``: numpy callables for g' and g''. Assumes simple roots at least
    ``(hi - lo) / n_grid`` apart (true for the separable objectives that use it).
    """
    t = np.linspace(lo, hi, n_grid)
    s = dg(t)
    idx = np.nonzero(np.sign(s[:-1]) * np.sign(s[1:]) <= 0)[0]
    a, b = t[idx].copy(), t[idx + 1].copy()
    for _ in range(200):
        m = 0.5 * (a + b)
        left = np.sign(dg(a)) * np.sign(dg(m)) <= 0
        b, a = np.where(left, m, b), np.where(left, a, m)
    xs = np.unique(np.round(0.5 * (a + b), 10))  # a root on a grid node is found twice
    return [(float(x), "minimum" if d2g(x) > 0 else "maximum") for x in xs]
