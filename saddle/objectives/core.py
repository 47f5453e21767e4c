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


def _as_bounds(bounds: Any, dim: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    try:
        lower, upper = bounds
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be a pair (lower, upper), got {bounds!r}") from None
    lo = np.broadcast_to(np.asarray(lower, dtype=float), (dim,))
    hi = np.broadcast_to(np.asarray(upper, dtype=float), (dim,))
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError(f"bounds must be finite, got lower={lo.tolist()}, upper={hi.tolist()}")
    if np.any(hi <= lo):
        raise ValueError(f"bounds are empty or inverted: lower={lo.tolist()}, upper={hi.tolist()}")
    return tuple(lo.tolist()), tuple(hi.tolist())


@dataclasses.dataclass(frozen=True, kw_only=True)
class Objective:
    """A pure scalar function of one flat vector, with a box for starts and known critical points.

    Attributes:
      fn: ``[d] -> []``, written with ``jax.numpy`` so that grad, hessian and vmap apply.
        Works in float32 and float64 (the input's dtype decides).
      dim: ``d``.
      bounds: ``(lower[d], upper[d])``; scalars broadcast. Starts are drawn in this box.
      name: registry name or a label for a user's function.
      known: catalogued critical points (from the literature or derived; see each
        objective's docstring).
      complete: True when ``known`` lists *every* critical point inside ``bounds``.
      global_min: the lowest catalogued minimum (filled from ``known`` if not given).

    Example:
      >>> obj = Objective(fn=lambda x: (x**2).sum(), dim=3, bounds=(-1.0, 1.0))
    """

    fn: Callable[[jax.Array], jax.Array]
    dim: int
    bounds: Any
    name: str = "custom"
    known: tuple[CriticalPoint, ...] = ()
    complete: bool = False
    global_min: CriticalPoint | None = None

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"fn must be callable, got {type(self.fn).__name__}")
        positive_int(self.dim, "dim")
        object.__setattr__(self, "bounds", _as_bounds(self.bounds, self.dim))
        object.__setattr__(self, "known", tuple(self.known))
        for p in self.known:
            if len(p.x) != self.dim:
                raise ValueError(f"known point {p.x} has {len(p.x)} coordinates, dim={self.dim}")
        out = jax.eval_shape(self.fn, jax.ShapeDtypeStruct((self.dim,), jnp.float32))
        if out.shape != ():
            raise TypeError(f"fn must return a scalar for an input of shape [{self.dim}], "
                            f"got shape {out.shape}")
        if self.global_min is None:
            minima = [p for p in self.known if p.kind == "minimum"]
            if minima:
                object.__setattr__(self, "global_min", min(minima, key=lambda p: p.value))

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fn(x)

    @property
    def lower(self) -> np.ndarray:
        return np.asarray(self.bounds[0])

    @property
    def upper(self) -> np.ndarray:
        return np.asarray(self.bounds[1])

    def known_x(self, kind: str | None = None) -> np.ndarray:
        """Catalogued locations ``[m, d]`` (of one ``kind`` if given)."""
        pts = [p.x for p in self.known if kind is None or p.kind == kind]
        return np.asarray(pts, dtype=float).reshape(len(pts), self.dim)


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
