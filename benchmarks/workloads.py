"""The test-function workloads, in every form the methods need.

Himmelblau (polynomial, d = 2) and Rastrigin (transcendental, any d): the jax function
of one point, a hand-written NumPy gradient over a batch (for the fused NumPy Adam), a
NumPy value-and-gradient of one float64 point (for scipy) and a torch batch loss.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from saddle.objectives.classic import himmelblau_fn, rastrigin_fn

TWO_PI = 2 * math.pi
WORKLOADS = ("himmelblau", "rastrigin")


@dataclasses.dataclass(frozen=True)
class Workload:
    """One objective in the forms every method needs: jax f, NumPy ∇f and f, torch f."""

    name: str
    dim: int
    bounds: tuple[float, float]
    fn: Callable  # jax, one point [d] -> []
    grad_np: Callable  # (x [n, d], out [n, d], tmp [n, d]) -> None, in x's dtype
    value_grad_np: Callable  # one point [d] float64 -> (float, [d])
    torch_loss: Callable  # torch [n, d] -> sum over starts


def rastrigin_jnp_cos_fn(x: jax.Array) -> jax.Array:
    """Rastrigin written with ``jnp.cos(2πx)``: the reference for the gain of ``cos2pi``
    (``saddle.objectives.classic.rastrigin_fn`` uses ``cos2pi``)."""
    return 10 * x.shape[0] + jnp.sum(x**2 - 10 * jnp.cos(TWO_PI * x))


def _himmelblau_grad_np(x: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> None:
    x0, x1 = x[:, 0], x[:, 1]
    a = x0 * x0 + x1 - x.dtype.type(11)  # [n] temporaries: the d = 2 columns
    b = x0 + x1 * x1 - x.dtype.type(7)
    out[:, 0] = 4 * a * x0 + 2 * b
    out[:, 1] = 2 * a + 4 * b * x1


def _himmelblau_vg_np(x: np.ndarray) -> tuple[float, np.ndarray]:
    a = x[0] ** 2 + x[1] - 11
    b = x[0] + x[1] ** 2 - 7
    return float(a * a + b * b), np.array([4 * a * x[0] + 2 * b, 2 * a + 4 * b * x[1]])


def _rastrigin_grad_np(x: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> None:
    dt = x.dtype.type
    np.multiply(x, dt(TWO_PI), out=tmp)
    np.sin(tmp, out=tmp)
    np.multiply(tmp, dt(20 * math.pi), out=out)
    np.multiply(x, dt(2), out=tmp)
    out += tmp


def _rastrigin_vg_np(x: np.ndarray) -> tuple[float, np.ndarray]:
    arg = TWO_PI * x
    value = 10 * x.size + float(np.sum(x * x - 10 * np.cos(arg)))
    return value, 2 * x + 20 * math.pi * np.sin(arg)


def _himmelblau_torch(x: Any) -> Any:
    x0, x1 = x[:, 0], x[:, 1]
    return ((x0**2 + x1 - 11) ** 2 + (x0 + x1**2 - 7) ** 2).sum()


def _rastrigin_torch(x: Any) -> Any:
    import torch

    return (10 * x.shape[1] + (x**2 - 10 * torch.cos(TWO_PI * x)).sum(dim=1)).sum()


def workload(name: str, rastrigin_dim: int = 10) -> Workload:
    """The workload ``name`` (one of ``WORKLOADS``); Rastrigin in ``rastrigin_dim``."""
    if name == "himmelblau":
        return Workload("himmelblau", 2, (-5.0, 5.0), himmelblau_fn, _himmelblau_grad_np,
                        _himmelblau_vg_np, _himmelblau_torch)
    if name == "rastrigin":
        return Workload("rastrigin", rastrigin_dim, (-5.12, 5.12), rastrigin_fn,
                        _rastrigin_grad_np, _rastrigin_vg_np, _rastrigin_torch)
    raise ValueError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}")


def starts(key: jax.Array, n: int, wl: Workload) -> np.ndarray:
    """``[n, d]`` float32 starts uniform in the workload's box."""
    lo, hi = wl.bounds
    return np.asarray(saddle.starts.uniform(key, n, ([lo] * wl.dim, [hi] * wl.dim)))
