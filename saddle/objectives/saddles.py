"""Saddles built to be escaped from: a tunable n-d strict saddle and a chain of saddles.

``strict_saddle`` is the local model of every strict saddle (one negative Hessian
eigenvalue −γ, the others +1), closed by a quartic so that f is bounded below.
``chained_saddle`` is a smooth variant of the construction of Du, Jin, Lee, Jordan,
Singh & Póczos (2017): a path through ``dim`` saddles in sequence on which gradient
descent slows down exponentially with ``dim``. Both catalogues are complete inside the
bounds and derived by hand in the docstrings.

References:
  S. S. Du, C. Jin, J. D. Lee, M. I. Jordan, A. Singh, B. Póczos, "Gradient descent can
  take exponential time to escape saddle points", NeurIPS 2017.
  C. Jin, R. Ge, P. Netrapalli, S. M. Kakade, M. I. Jordan, "How to escape saddle points
  efficiently", ICML 2017.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import positive_float, positive_int
from saddle.objectives.core import Catalogue, CriticalPoint, Objective, register

# A catalogue bigger than this lists one sign pattern per point only (as classic.py caps).
MAX_CATALOGUE = 20_000


# ----------------------------------------------------------------------------- strict saddle
@register("strict_saddle", n_dim=True)
def strict_saddle(dim: int = 2, gamma: float = 1.0) -> Objective:
    """f(x) = ½(−γx₁² + Σ_{i≥2} xᵢ²) + ¼‖x‖⁴ on [−B, B]^d, B = 1.5·max(1, √γ).

    The quadratic part has Hessian Λ = diag(−γ, 1, …, 1); the quartic keeps f bounded
    below (f ≥ −γ²/4) without changing the Hessian at the origin. ``gamma`` = γ > 0 is
    the size of the most negative eigenvalue at the saddle.

    Critical points (complete): ∇f = (Λ + ‖x‖²I)x, so ∇f = 0 iff x = 0 or x is an
    eigenvector of Λ with eigenvalue −‖x‖² < 0; the only negative eigenvalue is −γ
    (eigenvector e₁), so x = ±√γ·e₁. The Hessian is Λ + ‖x‖²I + 2xxᵀ:
    * x = 0: Λ = diag(−γ, 1, …, 1), a strict saddle of index 1, λ_min = −γ, f = 0;
    * x = ±√γ·e₁: diag(2γ, 1 + γ, …, 1 + γ) ≻ 0, the two global minima, f = −γ²/4.

    Args:
      dim: d ≥ 2 (in 1-D the origin would be a maximum).
      gamma: γ > 0.
    """
    dim = positive_int(dim, "dim")
    if dim < 2:
        raise ValueError(f"strict_saddle needs dim >= 2, got dim={dim}")
    gamma = positive_float(gamma, "gamma")
    lam = np.ones(dim)
    lam[0] = -gamma

    def fn(x: jax.Array) -> jax.Array:
        sq = jnp.sum(x**2)
        return 0.5 * jnp.sum(jnp.asarray(lam, x.dtype) * x**2) + 0.25 * sq**2

    root = float(np.sqrt(gamma))
    e1 = np.eye(dim)[0]
    known = (
        CriticalPoint(x=tuple(-root * e1), value=-gamma**2 / 4, kind="minimum", index=0),
        CriticalPoint(x=tuple(root * e1), value=-gamma**2 / 4, kind="minimum", index=0),
        CriticalPoint(x=tuple(np.zeros(dim)), value=0.0, kind="saddle", index=1),
    )
    bound = 1.5 * max(1.0, root)
    return Objective(name="strict_saddle", fn=fn, dim=dim, bounds=(-bound, bound),
                     catalogue=Catalogue(known, complete=True))


# ----------------------------------------------------------------------------- chained saddles
def smooth_step(t: jax.Array) -> jax.Array:
    """C^∞ step: 0 for t ≤ 0, 1 for t ≥ 1, increasing in between: φ(t)/(φ(t) + φ(1 − t)),
    φ(t) = exp(−1/t) for t > 0 else 0 (written so that every derivative is finite)."""

    def phi(u: jax.Array) -> jax.Array:
        pos = u > 0
        return jnp.where(pos, jnp.exp(-1.0 / jnp.where(pos, u, 1.0)), 0.0)

    a, b = phi(t), phi(1.0 - t)
    return a / (a + b)  # a + b > 0 for every t


@register("chained_saddle", n_dim=True)
def chained_saddle(dim: int = 2, gamma: float = 1.0, curvature: float = 1.0,
                   inner: float = 0.25, outer: float = 0.75) -> Objective:
    """d saddles in a chain that gradient descent passes one after another (after Du et al. 2017).

    f(x) = Σ_{j=1}^{d} [ (L/2)·x_j² + G_j(x)·q(x_j) ],  G_j = Π_{i<j} s(x_i)  (G₁ = 1),

    with h(x) = γ(x⁴ − 2x²)/4 (a double well: h(0) = 0, h''(0) = −γ, minima h(±1) = −γ/4,
    h''(±1) = 2γ), q = h − (L/2)x², and the gate s(x) = S((x² − b²)/(a² − b²)), S the
    C^∞ ``smooth_step``: s = 0 for |x| ≤ b (``inner``), s = 1 for |x| ≥ a (``outer``).
    Read per coordinate: x_j sits in the stable well (L/2)x_j² (γ = ``gamma``,
    L = ``curvature``) until every earlier coordinate has left its saddle (|x_i| ≥ a for
    all i < j), and in the double well h(x_j) afterwards. Bounds [−1.5, 1.5]^d.

    Critical points (complete in the bounds; 2^{d+1} − 1 of them). By symmetry
    (f is even in each x_j) take x ≥ 0 where it helps. We need q(y) ≤ 0 on the box, i.e.
    y² ≤ 2(1 + L/γ), true for |y| ≤ 1.5 when L ≥ γ/8 (checked), and 0 < b < a ≤ 1.
    * If some |x_k| < a, take the first such k (so G_k = 1 and s'(x_i) = 0 for i < k).
      ∂f/∂x_k = h'(x_k) + s'(x_k)·Σ_{l>k} [Π_{i<l, i≠k} s(x_i)]·q(x_l). For 0 < x_k < a:
      h'(x_k) = γx_k(x_k² − 1) < 0, s' ≥ 0 and q ≤ 0, so ∂f/∂x_k < 0; likewise > 0 for
      −a < x_k < 0. Hence x_k = 0; then s ≡ 0 near x_k, every G_l (l > k) vanishes near
      x, so ∂f/∂x_j = L·x_j for j > k, forcing x_j = 0, and ∂f/∂x_i = h'(x_i) for i < k
      (|x_i| ≥ a), forcing x_i = ±1.
    * If every |x_j| ≥ a, all gates are 1 with zero derivative and ∂f/∂x_j = h'(x_j):
      x_j = ±1.
    So the critical points are z_k = (±1, …, ±1, 0, …, 0) with k leading ±1's,
    k = 0, …, d. Near z_k the gates are locally constant, so f is locally the separable
    Σ_{i≤k+1} h(x_i) + Σ_{j>k+1} (L/2)x_j² and the Hessian is diagonal:
    * k < d: diag(2γ ×k, −γ, L ×(d−k−1)), a strict saddle of index 1, f = −kγ/4
      (for d = 1 the one point z_0 = 0 is a maximum);
    * k = d: 2γ·I, the 2^d global minima, f = −dγ/4.

    Dynamics (the point of the construction). GD with step η from near z_0: while
    coordinate k escapes its saddle (growth ×(1 + ηγ) per step from its value u_k), every
    later coordinate contracts ×(1 − ηL) per step. So u_{k+1} ≈ u₀(1 − ηL)^{S_k}, S_k the
    step at which x_k passes b, and T_{k+1} = S_{k+1} − S_k ≈ [log(b/u₀) + S_k·c_L]/c_γ
    with c_L = −log(1 − ηL), c_γ = log(1 + ηγ): S_{k+1} ≈ (1 + κ)S_k + const,
    κ = c_L/c_γ ≈ L/γ. GD needs ~(1 + κ)^d steps to pass all d saddles. Perturbed GD
    (Jin et al. 2017) re-seeds the next coordinate at the perturbation radius ρ at each
    saddle, so each saddle costs ~log(b/ρ)/c_γ steps plus the wait: linear in d.

    Compared with Du et al. (2017): they glue exactly quadratic pieces (−γx_i² next to
    L(x_j − 4τ)² and Lx_j²) with splines over a domain that also keeps a start from
    [−1, 1]^d in the first saddle's region, and they bound the spline regions' behaviour
    analytically. Here the pieces are a double well and a quadratic joined by a C^∞
    gate; f is smooth, bounded below and has no critical points besides the chain (proved
    above), but it is quadratic only near each saddle (|x_i| ≤ b) and the escape from b to
    a is nonlinear, so the exponential rate is (1 + κ) per saddle only asymptotically;
    their exact constants (and their τ = e, far-away initialisation variants) are not
    reproduced.

    Args:
      dim: d ≥ 1, the number of saddles in the chain.
      gamma: γ > 0, negative curvature at each saddle.
      curvature: L > 0, the stable curvature of the coordinates not yet reached; L ≥ γ/8.
      inner, outer: the gate's 0 < b < a ≤ 1.
    """
    dim = positive_int(dim, "dim")
    gamma = positive_float(gamma, "gamma")
    curv = positive_float(curvature, "curvature")
    inner = positive_float(inner, "inner")
    outer = positive_float(outer, "outer")
    if not inner < outer <= 1.0:
        raise ValueError(f"chained_saddle needs 0 < inner < outer <= 1, got inner={inner}, "
                         f"outer={outer}")
    if curv < gamma / 8:
        raise ValueError(f"chained_saddle needs curvature >= gamma/8 (so that q <= 0 on the "
                         f"box), got curvature={curv}, gamma={gamma}")

    def fn(x: jax.Array) -> jax.Array:
        x2 = x**2
        h = gamma * (x2**2 - 2 * x2) / 4
        q = h - 0.5 * curv * x2
        s = smooth_step((x2 - inner**2) / (outer**2 - inner**2))
        gates = jnp.concatenate([jnp.ones((1,), x.dtype), jnp.cumprod(s[:-1])])
        return jnp.sum(0.5 * curv * x2 + gates * q)

    known = []
    for k in range(dim + 1):
        signs = (itertools.product((-1.0, 1.0), repeat=k) if 2 ** (dim + 1) - 1 <= MAX_CATALOGUE
                 else [(1.0,) * k])
        for sg in signs:
            x = np.zeros(dim)
            x[:k] = sg
            kind, index = ("minimum", 0) if k == dim else ("saddle", 1)
            if dim == 1 and k == 0:  # a 1-D "saddle" has no ascending direction
                kind = "maximum"
            known.append(CriticalPoint(x=tuple(x), value=-k * gamma / 4, kind=kind, index=index))
    return Objective(name="chained_saddle", fn=fn, dim=dim, bounds=(-1.5, 1.5),
                     catalogue=Catalogue(tuple(known),
                                         complete=2 ** (dim + 1) - 1 <= MAX_CATALOGUE))


def chain_points(dim: int) -> np.ndarray:
    """The chain z_0, …, z_d of ``chained_saddle`` with + signs, ``[d + 1, d]`` (z_d: a minimum)."""
    dim = positive_int(dim, "dim")
    return np.tril(np.ones((dim + 1, dim)), -1)
