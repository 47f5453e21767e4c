"""The ways people run many optimizations today, each doing the same Adam updates.

All use optax.adam's defaults b1 = 0.9, b2 = 0.999, eps = 1e-8 (Kingma & Ba 2015):
a jitted single-start ``lax.scan`` (looped over starts in Python, or vmapped: the bare
program), Adam hand-fused over all starts in NumPy, PyTorch eager ``torch.optim.Adam``,
and scipy's L-BFGS-B per start (which stops at its own tolerances).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import optax

B1, B2, EPS = 0.9, 0.999, 1e-8  # optax.adam defaults, used by every baseline


@functools.cache
def adam(lr: float) -> optax.GradientTransformation:
    """One optimizer object per lr: descend caches its compiled program on it."""
    return optax.adam(lr, b1=B1, b2=B2, eps=EPS)


def adam_scan_one(fn: Callable, opt: optax.GradientTransformation, steps: int) -> Callable:
    """``one(x, *args)``: ``steps`` plain optax updates of ``x [d]`` on ``fn(x, *args)`` in
    a ``lax.scan``, no bookkeeping (not jitted; ``args``, e.g. a data set, are passed
    through)."""

    def one(x: jax.Array, *args: Any) -> jax.Array:
        def body(carry: tuple, _: None) -> tuple:
            x, state = carry
            updates, state = opt.update(jax.grad(fn)(x, *args), state, x)
            return (optax.apply_updates(x, updates), state), None

        (x, _), _ = jax.lax.scan(body, (x, opt.init(x)), None, length=steps)
        return x

    return one


def numpy_adam(grad_np: Callable, x0: np.ndarray, steps: int, lr: float,
               dtype: Any = np.float32) -> np.ndarray:
    """optax.adam(lr) over all starts ``x0 [n, d]`` at once, hand-fused in place in NumPy.

    m ← b1 m + (1 − b1) g, v ← b2 v + (1 − b2) g², x ← x − lr m̂ / (√v̂ + ε) with
    m̂ = m / (1 − b1ᵗ), v̂ = v / (1 − b2ᵗ). ``grad_np(x, out, tmp)`` writes ∇f into
    ``out``. Returns x after ``steps`` steps, in ``dtype``."""
    dt = np.dtype(dtype).type
    x = np.array(x0, dtype=dt)
    m, v, g, tmp = (np.zeros_like(x) for _ in range(4))
    b1, b2, eps, one_b1, one_b2 = dt(B1), dt(B2), dt(EPS), dt(1 - B1), dt(1 - B2)
    for t in range(1, steps + 1):
        grad_np(x, g, tmp)
        m *= b1
        np.multiply(g, one_b1, out=tmp)
        m += tmp  # m = b1 m + (1 − b1) g
        np.multiply(g, g, out=g)
        g *= one_b2
        v *= b2
        v += g  # v = b2 v + (1 − b2) g²
        bc1, bc2 = dt(1 - B1**t), dt(1 - B2**t)
        np.divide(v, bc2, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += eps  # √v̂ + ε
        np.divide(m, bc1, out=g)
        g /= tmp
        g *= dt(lr)
        x -= g  # x − lr m̂ / (√v̂ + ε)
    return x


def torch_adam(loss: Callable, x0: np.ndarray, steps: int, lr: float) -> np.ndarray:
    """PyTorch eager: one ``[n, d]`` parameter, ``torch.optim.Adam``, summed loss."""
    import torch

    p = torch.tensor(np.asarray(x0, np.float32), requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, betas=(B1, B2), eps=EPS)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss(p).backward()
        opt.step()
    return p.detach().numpy().copy()


def torch_version() -> str | None:
    """torch's version, or None when it is not importable (it is not a dependency)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def scipy_multistart(vg: Callable, x0: np.ndarray) -> dict[str, np.ndarray]:
    """L-BFGS-B from each start (float64, scipy's default tolerances); ``vg(x)`` returns
    (f, ∇f). Returns the final points ``x [n, d]``, ``nfev``, ``nit``, ``success [n]``."""
    from scipy.optimize import minimize

    xs, nfev, nit, ok = [], [], [], []
    for x in np.asarray(x0, np.float64):
        res = minimize(vg, x, jac=True, method="L-BFGS-B")
        xs.append(res.x)
        nfev.append(res.nfev)
        nit.append(res.nit)
        ok.append(res.success)
    return {"x": np.array(xs), "nfev": np.array(nfev), "nit": np.array(nit),
            "success": np.array(ok)}
