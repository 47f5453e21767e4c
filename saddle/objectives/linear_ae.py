"""The critical points of the linear autoencoder in closed form (Baldi & Hornik 1989).

For x ↦ W₂W₁x with W₁ ``[h, d]`` and data whose covariance E[xxᵀ] = Σ = diag(λ₁, …, λ_d)
(distinct λ), the loss ½E‖x − W₂W₁x‖² has a critical point wherever W₂W₁ is the
orthogonal projection P_S onto the span of a subset S of at most h eigen-directions (and
only there, up to the invertible gauge W₂ → W₂A, W₁ → A⁻¹W₁); its value is
½Σ_{i∉S} λᵢ. The global minima are S = the h largest λ; every other S is a saddle.

Parameters follow ``saddle.objectives.nn.linear_autoencoder``: flax kernels K₀ ``[d, h]``
and K₁ ``[h, d]`` (x ↦ xK₀K₁ on rows), so M = K₀K₁ = (W₂W₁)ᵀ.

Reference: P. Baldi, K. Hornik, "Neural networks and principal component analysis:
learning from examples without local minima", Neural Networks 2 (1989) 53–58.
"""

from __future__ import annotations

import itertools
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from saddle._checks import positive_int


def critical_subsets(eigenvalues: Any, hidden: int) -> list[tuple[tuple[int, ...], float]]:
    """Every subset S of at most ``hidden`` eigen-directions (indices into ``eigenvalues``
    ``[d]``) with its loss ½Σ_{i∉S} λᵢ, sorted by loss."""
    lam = np.asarray(eigenvalues, dtype=float)
    h = positive_int(hidden, "hidden")
    out = [(s, 0.5 * (lam.sum() - lam[list(s)].sum()))
           for k in range(min(h, lam.size) + 1) for s in itertools.combinations(range(lam.size), k)]
    return sorted(out, key=lambda t: t[1])


def point(subset: Any, dim: int, hidden: int, dtype: Any = jnp.float32) -> jnp.ndarray:
    """The flat parameters θ of the critical point for ``subset``: K₀ = E_S (columns eᵢ,
    i ∈ S, then zeros), K₁ = K₀ᵀ, so that K₀K₁ = P_S."""
    s = list(subset)
    if len(s) > hidden:
        raise ValueError(f"subset has {len(s)} directions, more than hidden={hidden}")
    k0 = np.zeros((dim, hidden))
    k0[s, range(len(s))] = 1.0
    params = {"dense_0": {"kernel": jnp.asarray(k0, dtype)},
              "dense_1": {"kernel": jnp.asarray(k0.T, dtype)}}
    return ravel_pytree(params)[0]


def subset_of(theta: Any, dim: int, hidden: int) -> tuple[tuple[int, ...], float]:
    """The subset S whose projection M = K₀K₁ at parameters ``theta`` ``[dim·hidden·2]``
    is closest to (S = {i: Mᵢᵢ > ½}), and the distance ‖M − P_S‖_F."""
    t = np.asarray(theta, dtype=float)
    k0 = t[: dim * hidden].reshape(dim, hidden)
    k1 = t[dim * hidden:].reshape(hidden, dim)
    m = k0 @ k1
    s = tuple(int(i) for i in np.flatnonzero(np.diag(m) > 0.5))
    proj = np.zeros((dim, dim))
    proj[s, s] = 1.0
    return s, float(np.linalg.norm(m - proj))
