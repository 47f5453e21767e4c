"""Low-dimensional slices of a loss over many parameters: lines, planes, trajectory planes.

* ``interpolate``: f((1 − α)a + αb) along the line from a to b (Goodfellow, Vinyals & Saxe
  2015: initialisation → solution, and solution → solution); ``max_rise`` and ``barrier``
  summarise such a line.
* ``filter_normalize`` / ``random_directions``: directions with the scale of the weights
  (Li et al. 2018). For every parameter array with ≥ 2 axes, each filter of the direction
  is rescaled to the norm of the matching filter of θ, dᵢ ← dᵢ‖θᵢ‖/(‖dᵢ‖ + 1e-10); arrays
  with ≤ 1 axis (biases, normalisation scales and offsets) get 0 (``ignore_biasbn``) or θ's
  own entries, as in the reference implementation (``net_plotter.py``). A filter is one
  output unit: PyTorch stores a layer ``(out, in, ...)`` and takes filters along the first
  axis; flax stores ``Dense`` kernels ``(in, out)`` and ``Conv`` kernels ``(..., in, out)``,
  so here a filter is a slice along the *last* axis, ``θ[..., j]``.
* ``pca_plane``: the plane through ``origin`` spanned by the first two principal
  directions of a trajectory ``[T, d]``, with the trajectory's coordinates in that same
  basis, the share of its squared distance from the origin that the plane captures, and the
  residual distance of each point from the plane (Li et al. 2018, Sec. 7).
* ``on_plane`` / ``surface``: f(c + Σₖ sₖ dₖ) on a set or grid of coordinates, ``jit(vmap)``
  over ``chunk_size`` points at a time (``saddle.curvature.over_points``), each chunk
  optionally a resumable stage (``stage=ctx.stage`` of ``saddle.experiment``).

References:
  I. Goodfellow, O. Vinyals, A. Saxe, "Qualitatively characterizing neural network
  optimization problems", ICLR 2015.
  H. Li, Z. Xu, G. Taylor, C. Studer, T. Goldstein, "Visualizing the loss landscape of
  neural nets", NeurIPS 2018 (github.com/tomgoldstein/loss-landscape).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from saddle._checks import as_batch, as_point, one_of, positive_int
from saddle.curvature.batch import over_points

__all__ = ["PCAPlane", "barrier", "filter_normalize", "interpolate", "max_rise", "on_plane",
           "pca_plane", "random_directions", "surface"]

Fn = Callable[[jax.Array], jax.Array]
Stage = Callable[[str, Callable[[], Mapping[str, Any]]], Mapping[str, np.ndarray]]


def _leaves(unravel: Callable[[jax.Array], Any], theta: jax.Array, name: str) -> None:
    if not callable(unravel):
        raise TypeError(f"unravel must be callable (Net.unravel), got {type(unravel).__name__}")
    try:
        tree = jax.eval_shape(unravel, theta)
    except Exception:  # any failure means the sizes do not fit
        raise ValueError(f"unravel does not accept {name} of shape {tuple(theta.shape)}") from None
    size = sum(int(np.prod(s.shape)) for s in jax.tree.leaves(tree))
    if size != theta.shape[0]:
        raise ValueError(f"unravel maps {name} [{theta.shape[0]}] to {size} parameters")


def filter_normalize(direction: Any, theta: Any, unravel: Callable[[jax.Array], Any], *,
                     ignore_biasbn: bool = True) -> jax.Array:
    """The flat direction ``[d]`` with each filter rescaled to the norm of θ's filter.

    For a parameter array ``w`` with ≥ 2 axes (pytree of ``unravel(θ)``) and the direction's
    array ``v``: ``v[..., j] ← v[..., j]·‖w[..., j]‖/(‖v[..., j]‖ + 1e-10)`` for every output
    unit j (the last axis in flax). Arrays with ≤ 1 axis become 0 when ``ignore_biasbn``,
    else a copy of ``w`` (Li et al. 2018's reference implementation does both).
    """
    theta = as_point(theta, "theta")
    _leaves(unravel, theta, "theta")
    direction = as_point(direction, "direction")
    if direction.shape != theta.shape:
        raise ValueError(f"direction has shape {direction.shape} but theta has {theta.shape}")

    def one(v: jax.Array, w: jax.Array) -> jax.Array:
        if w.ndim <= 1:
            return jnp.zeros_like(w) if ignore_biasbn else w
        axes = tuple(range(w.ndim - 1))
        wn = jnp.sqrt(jnp.sum(w**2, axis=axes, keepdims=True))
        vn = jnp.sqrt(jnp.sum(v**2, axis=axes, keepdims=True))
        return v * (wn / (vn + 1e-10))

    tree = jax.tree.map(one, unravel(direction.astype(theta.dtype)), unravel(theta))
    return ravel_pytree(tree)[0]


def random_directions(key: jax.Array, theta: Any, unravel: Callable[[jax.Array], Any],
                      k: int = 2, *, ignore_biasbn: bool = True) -> jax.Array:
    """``k`` filter-normalised Gaussian directions ``[k, d]`` around θ (``filter_normalize``
    of ``jax.random.normal`` draws, the i-th from ``fold_in(key, i)``)."""
    theta = as_point(theta, "theta")
    k = positive_int(k, "k")
    _leaves(unravel, theta, "theta")
    raw = [jax.random.normal(jax.random.fold_in(key, i), theta.shape, theta.dtype)
           for i in range(k)]
    return jnp.stack([filter_normalize(r, theta, unravel, ignore_biasbn=ignore_biasbn)
                      for r in raw])


def on_plane(f: Fn, center: Any, directions: Any, coords: Any, *, chunk_size: int | None = None,
             stage: Stage | None = None, name: str = "plane") -> np.ndarray:
    """f(c + sᵀD) ``[n]`` for coordinates ``coords`` ``[n, k]``, center c ``[d]`` and
    directions D ``[k, d]``.

    ``jit(vmap(f))`` runs on ``chunk_size`` points at a time (default all; the last chunk
    padded, so one compilation serves all). With ``stage`` (``ctx.stage``), chunk i is
    computed as the stage ``f"{name}_{i}"``: an interrupted run resumes from its finished
    chunks. Results do not depend on ``chunk_size``.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    center = as_point(center, "center")
    directions = as_batch(directions, "directions", center.shape[0]).astype(center.dtype)
    coords = np.asarray(as_batch(coords, "coords"))
    if coords.shape[1] != directions.shape[0]:
        raise ValueError(f"coords has {coords.shape[1]} column(s) but there are "
                         f"{directions.shape[0]} direction(s)")
    n = coords.shape[0]
    chunk = n if chunk_size is None else min(positive_int(chunk_size, "chunk_size"), n)
    if stage is not None and not callable(stage):
        raise TypeError(f"stage must be callable (ctx.stage) or None, got {type(stage).__name__}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    coords = np.concatenate([coords, np.repeat(coords[-1:], -n % chunk, 0)])

    def point(s: jax.Array, key: jax.Array, c: jax.Array, d: jax.Array) -> jax.Array:
        del key
        return f(c + s.astype(c.dtype) @ d)

    def one(i: int) -> dict[str, np.ndarray]:
        return {"value": over_points(point, jnp.asarray(coords[i:i + chunk]),
                                     key=jax.random.PRNGKey(0), args=(center, directions))}

    run = one if stage is None else lambda i: stage(f"{name}_{i // chunk}", lambda: one(i))
    return np.concatenate([run(i)["value"] for i in range(0, len(coords), chunk)])[:n]


def surface(f: Fn, center: Any, directions: Any, xs: Any, ys: Any, *,
            chunk_size: int | None = None, stage: Stage | None = None,
            name: str = "surface") -> np.ndarray:
    """f(c + x·d₀ + y·d₁) on the grid ``[len(ys), len(xs)]`` (row i: y = ys[i]), for
    directions ``[2, d]``; ``on_plane`` over the grid's points."""
    xs, ys = (np.asarray(v, dtype=float) for v in (xs, ys))
    for v, nm in ((xs, "xs"), (ys, "ys")):
        if v.ndim != 1 or v.size < 1 or not np.all(np.isfinite(v)):
            raise ValueError(f"{nm} must be a non-empty finite 1-D array, got shape {v.shape}")
    if np.shape(directions)[:1] != (2,):
        raise ValueError(f"directions must have shape [2, d], got {np.shape(directions)}")
    gx, gy = np.meshgrid(xs, ys)
    values = on_plane(f, center, directions, np.stack([gx.ravel(), gy.ravel()], 1),
                      chunk_size=chunk_size, stage=stage, name=name)
    return values.reshape(len(ys), len(xs))


def interpolate(f: Fn, a: Any, b: Any, alphas: Any, *, chunk_size: int | None = None) -> np.ndarray:
    """f((1 − α)a + αb) ``[n]`` for each α of ``alphas`` ``[n]`` (α outside [0, 1]
    extrapolates) — Goodfellow et al. 2015's linear path."""
    a = as_point(a, "a")
    b = as_point(b, "b", a.shape[0])
    alphas = np.asarray(alphas, dtype=float)
    if alphas.ndim != 1 or alphas.size < 1 or not np.all(np.isfinite(alphas)):
        raise ValueError(f"alphas must be a non-empty finite 1-D array, got shape {alphas.shape}")
    return on_plane(f, a, (b - a)[None], alphas[:, None], chunk_size=chunk_size)


def max_rise(values: Any) -> float:
    """The largest increase along a sequence ``[n]``: maxᵢ (vᵢ − min_{j≤i} vⱼ); 0 exactly
    when it never increases (a monotonically decreasing line has no barrier)."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 1 or not np.all(np.isfinite(v)):
        raise ValueError(f"values must be a non-empty finite 1-D array, got shape {v.shape}")
    return float(np.max(v - np.minimum.accumulate(v)))


def barrier(values: Any, alphas: Any) -> float:
    """maxₐ [f(α) − ((1 − α)f(0) + αf(1))] over a line sampled at ``alphas`` ``[n]`` from 0
    to 1 (the loss barrier of Frankle et al. 2020); ≤ 0 when the loss stays under the chord."""
    v, a = np.asarray(values, dtype=float), np.asarray(alphas, dtype=float)
    if v.ndim != 1 or v.shape != a.shape or v.size < 2:
        raise ValueError(f"values and alphas must be 1-D of one length >= 2, got {v.shape} "
                         f"and {a.shape}")
    if a[0] != 0 or a[-1] != 1 or np.any(np.diff(a) <= 0):
        raise ValueError("alphas must increase from 0 to 1")
    return float(np.max(v - ((1 - a) * v[0] + a * v[-1])))


@dataclasses.dataclass(frozen=True)
class PCAPlane:
    """A trajectory's plane (numpy arrays; T points in d dims).

    center ``[d]``; directions ``[2, d]``: orthonormal principal directions; explained
    ``[2]``: each direction's share of Σₜ‖θₜ − center‖²; coords ``[T, 2]``: (θₜ − center)·Dᵀ;
    residual ``[T]``: ‖θₜ − center − coordsₜD‖, the distance of θₜ from the plane;
    distance ``[T]``: ‖θₜ − center‖.
    """

    center: np.ndarray
    directions: np.ndarray
    explained: np.ndarray
    coords: np.ndarray
    residual: np.ndarray
    distance: np.ndarray

    def points(self) -> np.ndarray:
        """The projected trajectory ``[T, d]``: center + coordsₜD."""
        return self.center + self.coords @ self.directions


def pca_plane(path: Any, *, origin: str = "last") -> PCAPlane:
    """The plane of a trajectory ``[T, d]`` (T ≥ 2) through ``origin``: ``"last"`` (θ_{T−1},
    the trained network, as Li et al. 2018 centre their plots; the directions are then the
    top right singular vectors of θₜ − θ_{T−1}, the plane through θ_{T−1} closest to the
    path) or ``"mean"`` (ordinary PCA: ``explained`` equals scikit-learn's
    ``explained_variance_ratio_``)."""
    one_of(origin, "origin", ("last", "mean"))
    as_batch(path, "path")
    x = np.asarray(path, dtype=np.float64)
    if x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"path must have shape [T, d] with T >= 2 and d >= 2, got {x.shape}")
    center = x[-1] if origin == "last" else x.mean(0)
    diff = x - center
    _, s, vt = np.linalg.svd(diff, full_matrices=False)
    total = float(np.sum(s**2))
    if total == 0:
        raise ValueError("path does not move: every point equals the origin")
    d = vt[:2]  # min(T, d) >= 2 rows
    coords = diff @ d.T
    return PCAPlane(center=center, directions=d, explained=s[:2] ** 2 / total, coords=coords,
                    residual=np.linalg.norm(diff - coords @ d, axis=1),
                    distance=np.linalg.norm(diff, axis=1))
