"""Random landscapes: quadratics with a Gaussian Orthogonal Ensemble (GOE) Hessian.

GOE normalisation used throughout ``saddle``: ``H = (A + Aᵀ) / 2`` with
``A_ij ~ N(0, 1)`` i.i.d., so ``H_ii ~ N(0, 1)``, ``H_ij ~ N(0, 1/2)`` (i ≠ j) and the
density is ∝ exp(−tr H² / 2). The semicircle then has radius √(2k). Sign
statistics (index, positive-definiteness) do not depend on the scale.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import positive_int
from saddle.objectives.core import Catalogue, CriticalPoint, Objective, register


def goe_matrix(key: jax.Array, k: int, n: int | None = None) -> jax.Array:
    """A GOE matrix ``[k, k]`` (or a batch ``[n, k, k]``) in the normalisation above."""
    k = positive_int(k, "k")
    shape = (k, k) if n is None else (positive_int(n, "n"), k, k)
    a = jax.random.normal(key, shape)
    return 0.5 * (a + jnp.swapaxes(a, -1, -2))


@register("goe_quadratic", n_dim=True)
def goe_quadratic(dim: int = 2, seed: int = 0) -> Objective:
    """f(x) = ½ xᵀHx with H a GOE matrix of size ``dim`` drawn from ``PRNGKey(seed)``.

    The origin is the only critical point (H is almost surely invertible); its
    index is the number of negative eigenvalues of H, computed here in float64.
    """
    h = np.asarray(goe_matrix(jax.random.PRNGKey(seed), dim), dtype=np.float64)
    eig = np.linalg.eigvalsh(h)
    index = int(np.sum(eig < 0))
    kind = "minimum" if index == 0 else "maximum" if index == dim else "saddle"
    h_j = jnp.asarray(h, dtype=jnp.float32)

    def fn(x: jax.Array) -> jax.Array:
        return 0.5 * x @ h_j.astype(x.dtype) @ x

    known = (CriticalPoint(x=np.zeros(dim), value=0.0, kind=kind, index=index),)
    return Objective(name=f"goe_quadratic(dim={dim}, seed={seed})", fn=fn, dim=dim,
                     bounds=(-1.0, 1.0), catalogue=Catalogue(known, complete=True))
