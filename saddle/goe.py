"""Sign statistics of GOE matrices: exact P(all eigenvalues > 0), Monte Carlo, Wilson intervals.

Normalisation (as ``saddle.objectives.random.goe_matrix``): ``H = (A + Aᵀ) / 2`` with
``A_ij ~ N(0, 1)``, so ``H_ii ~ N(0, 1)``, ``H_ij ~ N(0, 1/2)`` and the matrix density is
∝ exp(−tr H² / 2). The ordered eigenvalues ``λ_1 < … < λ_k`` then have the joint density

    ρ(λ) ∝ Π_{i<j} (λ_j − λ_i) · Π_i exp(−λ_i² / 2),

and ``P(H > 0) = Z₊ / Z`` with ``Z₊`` the integral of ρ's right side over ``0 < λ_1`` and
``Z`` over all of ℝ. ``Z`` is Mehta's integral in closed form; ``Z₊`` is a Pfaffian
(de Bruijn 1955), evaluated here in float64 with numpy quadrature only
(``log_prob_all_positive``). The reusable pieces are ``pfaffian``,
``log_ordered_integral`` (any weight on any finite interval); ``wilson_interval`` is
re-exported from ``saddle.stats``.

References:
    N. G. de Bruijn, "On some multiple integrals involving determinants",
    J. Indian Math. Soc. 19 (1955) 133–151.
    M. L. Mehta, "Random Matrices", 3rd ed. (2004), eq. (17.6.7) (Mehta's integral).
    D. S. Dean, S. N. Majumdar, "Large deviations of extreme eigenvalues of random
    matrices", PRL 97 (2006) 160201: P(H > 0) ≈ exp(−θ k²), θ = ln 3 / 4 for the GOE.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import positive_int
from saddle.objectives.random import goe_matrix
from saddle.stats import wilson_interval

__all__ = [
    "K_EXACT_MAX",
    "THETA_GOE",
    "dean_majumdar",
    "index_counts",
    "log_mehta_integral",
    "log_ordered_integral",
    "log_prob_all_positive",
    "negative_counts",
    "pfaffian",
    "prob_all_positive",
    "textbook",
    "wilson_interval",
]

THETA_GOE = math.log(3.0) / 4.0
"""Dean–Majumdar rate: P(k×k GOE matrix > 0) ≈ exp(−θ k²) for large k."""


# ----------------------------------------------------------------------------- intervals
# ----------------------------------------------------------------------------- reference laws
def textbook(k) -> np.ndarray:
    """The textbook's 0.5^k: each Hessian eigenvalue an independent fair coin."""
    return 0.5 ** np.asarray(k, dtype=np.float64)


def dean_majumdar(k) -> np.ndarray:
    """Large-deviation law exp(−θ k²), θ = ln 3 / 4 (leading order only, no prefactor)."""
    k = np.asarray(k, dtype=np.float64)
    return np.exp(-THETA_GOE * k * k)


# ----------------------------------------------------------------------------- Pfaffian
def pfaffian(a) -> tuple[float, float]:
    """Pfaffian of a real skew-symmetric matrix as ``(sign, log|Pf|)``; Pf² = det.

    Parlett–Reid elimination (``L T Lᵀ``) with partial pivoting, O(n³), in float64.
    Odd size or an exactly singular matrix gives ``(0.0, -inf)``.

    >>> pfaffian([[0.0, 2.0], [-2.0, 0.0]])
    (1.0, 0.6931471805599453)
    """
    a = np.array(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"a must be a square matrix, got shape {a.shape}")
    n = a.shape[0]
    scale = max(float(np.max(np.abs(a), initial=0.0)), 1e-300)
    if not np.allclose(a, -a.T, rtol=0.0, atol=1e-12 * scale):
        raise ValueError("a must be skew-symmetric (a == -a.T)")
    if n % 2:
        return 0.0, -math.inf
    sign, logabs = 1.0, 0.0
    for k in range(0, n - 1, 2):
        kp = k + 1 + int(np.argmax(np.abs(a[k + 1 :, k])))
        if kp != k + 1:  # swap rows and columns k+1 <-> kp: flips the sign
            a[[k + 1, kp], k:] = a[[kp, k + 1], k:]
            a[k:, [k + 1, kp]] = a[k:, [kp, k + 1]]
            sign = -sign
        pivot = a[k, k + 1]
        if pivot == 0.0:
            return 0.0, -math.inf
        sign *= math.copysign(1.0, pivot)
        logabs += math.log(abs(pivot))
        if k + 2 < n:
            tau = a[k, k + 2 :] / pivot
            col = a[k + 2 :, k + 1]
            a[k + 2 :, k + 2 :] += np.outer(tau, col) - np.outer(col, tau)
    return sign, logabs


# ----------------------------------------------------------------------------- de Bruijn
def _lanczos(x: np.ndarray, mu: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Recurrence coefficients of the orthonormal polynomials of the discrete measure Σ μ_m δ_{x_m}.

    Returns ``alpha [n]`` and ``beta [n]`` (``beta[0]`` = total mass, ``beta[j] = b_j``
    for j >= 1) with ``x p_j = b_j p_{j-1} + alpha_j p_j + b_{j+1} p_{j+1}``. Lanczos on
    ``diag(x)`` with full re-orthogonalisation (twice), stable for any n < len(x).
    """
    q = np.sqrt(mu) / math.sqrt(mu.sum())
    basis = np.zeros((n, x.size))
    alpha, beta = np.zeros(n), np.zeros(n)
    beta[0] = mu.sum()
    for j in range(n):
        basis[j] = q
        v = x * q
        alpha[j] = q @ v
        for _ in range(2):
            v -= basis[: j + 1].T @ (basis[: j + 1] @ v)
        if j + 1 < n:
            beta[j + 1] = math.sqrt(v @ v)
            q = v / beta[j + 1]
    return alpha, beta


def _orthonormal_values(x: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Values ``[n, *x.shape]`` of the orthonormal polynomials p_0..p_{n-1} at ``x``."""
    n = alpha.size
    p = np.empty((n, *x.shape))
    p[0] = 1.0 / math.sqrt(beta[0])
    if n > 1:
        p[1] = (x - alpha[0]) * p[0] / beta[1]
    for j in range(1, n - 1):
        p[j + 1] = ((x - alpha[j]) * p[j] - beta[j] * p[j - 1]) / beta[j + 1]
    return p


def log_ordered_integral(
    n: int,
    log_weight: Callable[[np.ndarray], np.ndarray],
    a: float,
    b: float,
    *,
    n_quad: int = 200,
) -> float:
    """log of ∫_{a<x_1<…<x_n<b} Π_{i<j}(x_j − x_i) Π_i w(x_i) dx  (de Bruijn's Pfaffian).

    With φ_i = p_i·w for any polynomials p_i of degree i−1, de Bruijn (1955) gives the
    integral of det[φ_i(x_j)] over the ordered region as Pf(A), with
    ``A_ij = ∫∫ sign(y − x) φ_i(x) φ_j(y) dx dy`` (plus a last row/column ``∫ φ_i`` when
    n is odd). For monic p_i the determinant is the Vandermonde Π(x_j − x_i), but the
    monomial A is hopelessly ill conditioned. We take p_i orthonormal for w² on [a, b]
    (Lanczos on a Gauss–Legendre discretisation), so the φ_i are orthonormal in L²(dx)
    and A is the sign kernel compressed to them: its condition number grows only about
    linearly in n (≈ 30 at n = 12, ≈ 700 at n = 60 for the Gaussian). (Orthonormal for
    w instead gives singular values decaying like e^{−n}: P(k=30) then loses 3 digits.)
    The change back to monic polynomials is the product of the leading coefficients,
    kept in log space. The double integral
    runs over the triangle ``x < y`` with ``x = a + (y − a) s``, Gauss–Legendre in ``y``
    and ``s``: the integrand is smooth there, so the rule converges exponentially.

    Args:
        n: number of variables (>= 1).
        log_weight: vectorised ``log w(x)`` on [a, b].
        a, b: finite interval; truncate infinite ones where w·x^(2n) is negligible.
        n_quad: Gauss–Legendre nodes per dimension; raise it with n and with b − a (the
            nodes must resolve the support of w², not just [a, b]).

    Returns:
        The natural log of the integral (float64).

    >>> round(math.exp(log_ordered_integral(2, lambda x: 0 * x, 0.0, 1.0)), 12)  # ∫∫_{x<y} y − x
    0.166666666667
    """
    n = positive_int(n, "n")
    n_quad = positive_int(n_quad, "n_quad", minimum=n + 2)
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ValueError(f"need finite a < b, got a={a!r}, b={b!r}")
    t, v = np.polynomial.legendre.leggauss(n_quad)
    s, vs = 0.5 * (t + 1.0), 0.5 * v  # rule on [0, 1]
    y, vy = a + (b - a) * s, (b - a) * vs  # rule on [a, b]
    wy = np.exp(log_weight(y))
    alpha, beta = _lanczos(y, vy * wy * wy, n)  # φ_i = p_i·w orthonormal in L²(dx)
    log_lead = -0.5 * math.log(beta[0]) - np.concatenate([[0.0], np.cumsum(np.log(beta[1:]))])

    py = _orthonormal_values(y, alpha, beta)  # [n, M]
    inner = np.empty_like(py)  # ∫_a^{y_m} φ_i(x) dx
    block = max(1, 2**22 // (n * n_quad))  # ≤ 32 MB of polynomial values
    for lo in range(0, n_quad, block):
        ym = y[lo : lo + block]
        x = a + (ym - a)[:, None] * s[None, :]  # [m, L]: points of [a, y_m]
        px = _orthonormal_values(x, alpha, beta)  # [n, m, L]
        inner[:, lo : lo + block] = (ym - a) * np.einsum(
            "iml,ml->im", px, np.exp(log_weight(x)) * vs
        )
    upper = inner @ (py * (vy * wy)).T  # B_ij = ∫∫_{x<y} φ_i(x) φ_j(y)
    mat = upper - upper.T
    if n % 2:
        total = py @ (vy * wy)  # ∫ φ_i
        mat = np.block([[mat, total[:, None]], [-total[None, :], np.zeros((1, 1))]])
    sign, log_pf = pfaffian(mat)
    if sign <= 0 or not math.isfinite(log_pf):
        raise FloatingPointError(
            f"de Bruijn Pfaffian is not positive for n={n} (sign={sign}); increase n_quad"
        )
    return log_pf - float(np.sum(log_lead))


def log_mehta_integral(k: int) -> float:
    """log Z_k, Z_k = ∫_{λ_1<…<λ_k} Π_{i<j}(λ_j − λ_i) Π exp(−λ_i²/2) dλ (closed form).

    Mehta's integral: (1/k!) (2π)^{k/2} Π_{j=1}^k Γ(1 + j/2) / Γ(3/2).
    """
    k = positive_int(k, "k")
    return (
        0.5 * k * math.log(2 * math.pi)
        - math.lgamma(k + 1)
        + sum(math.lgamma(1 + j / 2) - math.lgamma(1.5) for j in range(1, k + 1))
    )


def _gauss_cutoff(k: int) -> float:
    # φ_j² = p_j² e^{−x²} (deg p_j < k) lives on |x| ≲ √(2k) and decays faster than
    # e^{−(x − √(2k))²} beyond it: the cut loses < e^{−100} of any integrand.
    return math.sqrt(2.0 * k) + 10.0


def _default_n_quad(k: int) -> int:
    return max(120, 3 * k + 80)


K_EXACT_MAX = 200
"""Largest k for which ``log_prob_all_positive`` is validated: there log P moves by < 1e-9
when the cut and the nodes are enlarged, and the same quadrature on the full line matches
Mehta's closed form to < 1e-10 (tests/test_goe_signs.py checks k <= 100)."""


@functools.lru_cache(maxsize=256)
def log_prob_all_positive(k: int, *, n_quad: int | None = None) -> float:
    """Exact natural log of P(a k×k GOE matrix is positive definite), in float64.

    ``log Z₊ − log Z`` with Z₊ from ``log_ordered_integral`` on [0, √(2k) + 10] and Z
    from ``log_mehta_integral``. Checked against k = 1 (1/2), k = 2 ((2 − √2)/4), Monte
    Carlo for k <= 6, and the full-line integral against Mehta's closed form.

    >>> round(math.exp(log_prob_all_positive(2)), 12) == round((2 - math.sqrt(2)) / 4, 12)
    True
    """
    k = positive_int(k, "k")
    if k > K_EXACT_MAX:
        raise ValueError(f"k must be <= {K_EXACT_MAX} (validated range), got {k}")
    n_quad = _default_n_quad(k) if n_quad is None else n_quad
    log_zp = log_ordered_integral(k, lambda x: -0.5 * x * x, 0.0, _gauss_cutoff(k), n_quad=n_quad)
    return log_zp - log_mehta_integral(k)


def prob_all_positive(k: int) -> float:
    """Exact P(a k×k GOE matrix is positive definite) (see ``log_prob_all_positive``)."""
    return math.exp(log_prob_all_positive(k))


# ----------------------------------------------------------------------------- Monte Carlo
@functools.partial(jax.jit, static_argnums=(1, 2))
def negative_counts(key: jax.Array, k: int, n: int) -> jax.Array:
    """Number of negative eigenvalues (the index) of ``n`` fresh k×k GOE matrices, ``[n]`` int32.

    One batched ``eigvalsh`` (float32; a sign is wrong only when |λ| ≲ 1e-6·√k).
    """
    eig_nk = jnp.linalg.eigvalsh(goe_matrix(key, k, n))
    return jnp.sum(eig_nk < 0, axis=-1, dtype=jnp.int32)


def index_counts(
    key: jax.Array,
    k: int,
    n: int,
    chunk_size: int = 50_000,
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> np.ndarray:
    """Histogram ``[k + 1]`` of the index over ``n`` k×k GOE matrices (entry 0: all positive).

    Sampled in chunks of ``s = min(chunk_size, n)`` matrices, one compiled shape per k:
    chunk ``c = 0, …, ⌈n/s⌉ − 1`` is ``negative_counts(fold_in(key, c), k, s)``, and the
    last chunk keeps only its first ``n − c·s`` matrices. The counts are thus a function
    of ``(key, k, n, chunk_size)``; another ``chunk_size`` draws another sample of the
    same law. ``progress`` wraps the iterable of chunk numbers (e.g. a progress bar).
    """
    k, n = positive_int(k, "k"), positive_int(n, "n")
    s = min(positive_int(chunk_size, "chunk_size"), n)
    chunks: Iterable[int] = range(math.ceil(n / s))
    counts = np.zeros(k + 1, dtype=np.int64)
    for c in chunks if progress is None else progress(chunks):
        neg = np.asarray(negative_counts(jax.random.fold_in(key, c), k, s))[: n - c * s]
        counts += np.bincount(neg, minlength=k + 1)
    return counts
