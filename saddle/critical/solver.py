"""The compiled root finder behind ``find_critical_points``: Newton and Newton-MR on ∇f = 0
from many starts at once, in one ``jit(vmap(lax.scan))`` program, with the dense Hessian
H = V diag(λ) Vᵀ at every step.

* ``"newton"``: Newton–Raphson, x ← x − H⁺∇f, the step capped at a trust radius. Attracted
  to critical points of every index; far from them it jumps about (it descends no merit
  function), which lets it reach every basin from uniform starts.
* ``"newton_mr"``: minimises ½‖∇f‖² (Newton-MR, Roosta et al. 2018). The step p = −H⁺∇f,
  the minimum-norm solution of min‖Hp + ∇f‖ (an eigendecomposition here; MINRES in the
  paper), is accepted if it satisfies Armijo on ‖∇f‖²; if not it is damped along the
  Levenberg–Marquardt path p(μ) = −(H² + μI)⁻¹H∇f, μ = λ_max²·4ᵏ, k = −11..3, which
  shrinks the directions of small |λ| first. It converges to the local minima of ‖∇f‖²:
  critical points and gradient-flat points, where H∇f = 0 but ∇f ≠ 0 (Frye et al. 2021).
* ``"hybrid"``: the first 2/3 of the steps Newton, the last 1/3 Newton-MR.

Besides the end point, the program returns what the finder needs to judge it: f, ‖∇f‖,
the eigenvalues, index and kind code, the flatness ‖H∇f‖/(‖H‖₂‖∇f‖), and the Newton step
−H⁺∇f (its end is the zero of the local quadratic model).

References:
  F. Roosta, Y. Liu, P. Xu, M. W. Mahoney, "Newton-MR: Inexact Newton method with minimum
  residual sub-problem solver", arXiv:1810.00303 (2018).
  C. G. Frye, J. Simon, N. S. Wadia, A. Ligeralde, M. R. DeWeese, K. E. Bouchard,
  "Critical point-finding methods reveal gradient-flat regions of deep network losses",
  Neural Computation 33 (2021), arXiv:2003.10397.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import positive_float, positive_int
from saddle.curvature import default_eig_tol, kind_codes

Fn = Callable[[jax.Array], jax.Array]

METHODS = ("hybrid", "newton", "newton_mr")
_TRIALS = 16  # damping μ = 0, then λ_max²·4^k for k = −11, ..., 3
_ARMIJO = 1e-4
NEWTON, MR, STAY = 0, 1, 2  # what a step of the compiled loop does
FIELDS = ("x", "value", "grad_norm", "eigenvalues", "index", "code", "flat", "newton_step",
          "grad_norm0")


def _phases(method: str, steps: int) -> np.ndarray:
    """``[steps + 1]`` step codes: Newton, Newton-MR, and a last step that stays (it only
    measures the end point, so that the loop body is the only code that calls ``fn``)."""
    n_newton = {"newton": steps, "newton_mr": 0, "hybrid": -(-2 * steps // 3)}[method]
    return np.r_[np.where(np.arange(steps) < n_newton, NEWTON, MR), STAY].astype(np.int32)


def _pinv_step(lam: jax.Array, v: jax.Array, g: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(−H⁺g in the eigenbasis ``[d]``, the mask of kept eigenvalues ``[d]``): eigenvalues
    below 100ε·max|λ| count as zero."""
    keep = jnp.abs(lam) > 100 * jnp.finfo(g.dtype).eps * jnp.max(jnp.abs(lam))
    c = v.T @ g
    return jnp.where(keep, -c / jnp.where(keep, lam, 1.0), 0.0), keep


@functools.lru_cache(maxsize=64)
def _program(fn: Fn, method: str, steps: int) -> Callable:
    value_and_grad, grad, hess = jax.value_and_grad(fn), jax.grad(fn), jax.hessian(fn)
    phases = _phases(method, steps)  # numpy: a jax array here would fix the dtype mode

    def step(carry: tuple, phase: jax.Array) -> tuple[tuple, None]:
        x, radius, _, g0 = carry
        f, g = value_and_grad(x)
        h = hess(x)
        lam, v = jnp.linalg.eigh(h)
        c = v.T @ g
        lam_max = jnp.max(jnp.abs(lam))
        newton, keep = _pinv_step(lam, v, g)
        gg = g @ g
        phi0 = jnp.where(jnp.isfinite(gg), gg, jnp.inf)

        def direction(mu: jax.Array) -> tuple[jax.Array, jax.Array]:
            # argmin ‖Hp + g‖² + μ‖p‖² in the eigenbasis (μ = 0: p = −H⁺g), capped at
            # the trust radius; and pᵀH g (< 0 unless H g = 0).
            den = lam * lam + mu
            q = jnp.where(keep | (mu > 0), -lam * c / jnp.where(den > 0, den, 1.0), 0.0)
            q = q * jnp.minimum(1.0, radius / jnp.maximum(jnp.linalg.norm(q), 1e-30))
            return v @ q, jnp.sum(lam * c * q)

        def trial(t: tuple) -> tuple:  # Armijo on ‖∇f‖² along the damping path
            k, best_x, best_phi, _ = t
            mu = jnp.where(k == 0, 0.0, lam_max**2 * 4.0 ** (k - _TRIALS + 4))
            p, slope = direction(mu)
            xt = x + p
            gt = grad(xt)
            phi = jnp.where(jnp.all(jnp.isfinite(gt)), gt @ gt, jnp.inf)
            ok = phi <= phi0 + 2 * _ARMIJO * slope
            take = ok | (phi < best_phi)
            return k + 1, jnp.where(take, xt, best_x), jnp.where(take, phi, best_phi), ok

        # Only Newton-MR steps search (``done`` starts True otherwise).
        init = (jnp.asarray(0), x, phi0, phase != MR)
        _, x_mr, _, _ = jax.lax.while_loop(lambda t: ~t[3] & (t[0] < _TRIALS), trial, init)
        x_new = jnp.where(phase == NEWTON, x + direction(jnp.zeros((), x.dtype))[0],
                          jnp.where(phase == MR, x_mr, x))
        x_new = jnp.where(jnp.all(jnp.isfinite(x_new)), x_new, x)
        gn = jnp.sqrt(gg)
        flat = jnp.linalg.norm(h @ g) / jnp.maximum(lam_max * gn, jnp.finfo(x.dtype).tiny)
        index, _, code = kind_codes(lam, default_eig_tol(x.dtype) * (1 + lam_max))
        info = (f, gn, lam, index.astype(jnp.int32), code.astype(jnp.int32), flat, v @ newton)
        return (x_new, radius, info, jnp.where(jnp.isnan(g0), gn, g0)), None

    def one(x0: jax.Array, radius: jax.Array) -> tuple[jax.Array, ...]:
        d, nan = x0.shape[0], jnp.asarray(jnp.nan, x0.dtype)
        zero = jnp.zeros((), jnp.int32)
        info = (nan, nan, jnp.full((d,), nan), zero, zero, nan, jnp.full((d,), nan))
        (x, _, info, g0), _ = jax.lax.scan(step, (x0, radius, info, nan), phases)
        return (x, *info, g0)

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def _chunked(program: Callable, x0: jax.Array, *args: jax.Array, chunk_size: int | None,
             progress: bool | None, desc: str) -> list[np.ndarray]:
    """``program(rows, *args)`` over the rows of ``x0`` in chunks of ``chunk_size`` (the last
    padded to the same shape: one compilation), outputs concatenated as numpy; a progress
    bar over chunks when there are several and the call takes more than 2 s (or when
    ``progress``)."""
    from tqdm.auto import tqdm

    n = x0.shape[0]
    chunk = n if chunk_size is None else min(chunk_size, n)
    starts = range(0, n, chunk)
    show = progress if progress is not None else len(starts) > 1
    parts = []
    for lo in tqdm(starts, desc=desc, disable=not show, delay=0 if progress else 2.0,
                   leave=False):
        xs = x0[lo:lo + chunk]
        m = xs.shape[0]
        if m < chunk:
            xnp = np if isinstance(xs, np.ndarray) else jnp  # host arrays: no eager compiles
            xs = xnp.concatenate([xs, xnp.broadcast_to(xs[:1], (chunk - m, *xs.shape[1:]))])
        parts.append([np.asarray(v)[:m] for v in program(xs, *args)])
    return [np.concatenate(v) for v in zip(*parts, strict=True)]


def solve(fn: Fn, x0: jax.Array, method: str, steps: int, radius: float,
          chunk_size: int | None = None, progress: bool | None = None) -> dict[str, np.ndarray]:
    """The solver from every row of ``x0`` ``[n, d]``: a dict of numpy arrays named by
    ``FIELDS`` (end point, f, ‖∇f‖, eigenvalues, index, kind code, flatness, Newton step
    ``[n, d]``, ‖∇f‖ at the start), measured at the end point."""
    out = _chunked(_program(fn, method, steps), x0, jnp.asarray(radius, x0.dtype),
                   chunk_size=chunk_size, progress=progress, desc="critical points")
    return dict(zip(FIELDS, out, strict=True))


def newton_solve(fn: Fn, x0: jax.Array, steps: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Trust-region Newton on ∇f = 0 from each row of ``x0`` ``[n, d]`` (working dtype).

    Step ``−H⁺∇f`` capped at length ``radius``. Returns end points ``[n, d]`` and
    their gradient norms ``[n]``.
    """
    out = solve(fn, jnp.asarray(x0), "newton", positive_int(steps, "steps"),
                positive_float(radius, "radius"))
    return out["x"], out["grad_norm"]


@functools.lru_cache(maxsize=64)
def _settle_program(fn: Fn, steps: int) -> Callable:
    value_and_grad, hess = jax.value_and_grad(fn), jax.hessian(fn)

    def one(row: jax.Array, tol: jax.Array) -> tuple[jax.Array, ...]:
        x0, radius = row[:-1], row[-1]  # a start and its step cap, in one row

        def step(x: jax.Array, _: None) -> tuple[jax.Array, None]:
            _, g = value_and_grad(x)
            lam, v = jnp.linalg.eigh(hess(x))
            q, _ = _pinv_step(lam, v, g)
            q = q * jnp.minimum(1.0, radius / jnp.maximum(jnp.linalg.norm(q), 1e-30))
            x_new = x + v @ q
            move = (jnp.linalg.norm(g) > tol) & jnp.all(jnp.isfinite(x_new))
            return jnp.where(move, x_new, x), None

        x, _ = jax.lax.scan(step, x0, None, length=steps)
        f, g = value_and_grad(x)
        return x, f, jnp.linalg.norm(g)

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def settle(fn: Fn, x0: np.ndarray, radius: np.ndarray, tol: float, steps: int = 8,
           chunk_size: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton steps −H⁺∇f from each row of ``x0`` ``[n, d]``, each capped at ``radius``
    ``[n]``, stopping where ‖∇f‖ ≤ ``tol``, in chunks of ``chunk_size`` rows. Returns
    (x ``[n, d]``, f ``[n]``, ‖∇f‖ ``[n]``)."""
    x0 = np.asarray(x0)
    n = x0.shape[0]
    if not n:
        return np.zeros(x0.shape), np.zeros(0), np.zeros(0)
    size = chunk_size  # every call in chunks of one shape: one compilation
    rows = np.concatenate([x0, np.asarray(radius, x0.dtype)[:, None]], axis=1)
    rows = np.concatenate([rows, np.broadcast_to(rows[:1], (-n % size, rows.shape[1]))])
    x, f, gn = _chunked(_settle_program(fn, steps), rows, np.asarray(tol, x0.dtype),
                        chunk_size=size, progress=False, desc="settle")
    return x[:n], f[:n], gn[:n]


@functools.lru_cache(maxsize=64)
def _fd_program(fn: Fn) -> Callable:
    def one(x: jax.Array) -> tuple[jax.Array]:
        h = jnp.finfo(x.dtype).eps ** (1 / 3) * (1 + jnp.abs(x))
        e = jnp.diag(h)
        return ((jax.vmap(fn)(x + e) - jax.vmap(fn)(x - e)) / (2 * h),)

    return jax.jit(jax.vmap(one))


def fd_gradient(fn: Fn, x: np.ndarray) -> np.ndarray:
    """Central differences (f(x + hᵢeᵢ) − f(x − hᵢeᵢ))/2hᵢ, hᵢ = ε^(1/3)(1 + |xᵢ|), at each
    row of ``x`` ``[n, d]``: the gradient where autodiff gives none (sqrt(0), 0^y) but f is
    smooth; error O(h²) + O(ε|f|/h), about ε^(2/3) relative."""
    x = jnp.asarray(x)
    if not x.shape[0]:
        return np.zeros(x.shape)
    return np.asarray(_fd_program(fn)(x)[0])


def stratified_starts(key: jax.Array, n: int, lo: np.ndarray, hi: np.ndarray) -> jax.Array:
    """``[n, d]`` starts: a jittered grid (one uniform point in each of ``k^d`` equal cells,
    ``k = ⌊n^(1/d)⌋``), the rest uniform in the box; the grid point of the central cell is
    replaced by the box centre (which lies in that cell, so the grid stays stratified)."""
    d = len(lo)
    k = int(np.floor(n ** (1 / d) + 1e-9))
    while k > 1 and k**d > n:
        k -= 1
    cells = np.indices((k,) * d).reshape(d, -1).T if k > 1 else np.zeros((1, d))
    k_grid, k_rest = jax.random.split(key)
    u = jax.random.uniform(k_grid, cells.shape)
    rest = jax.random.uniform(k_rest, (n - len(cells), d), dtype=u.dtype)
    unit = jnp.concatenate([(jnp.asarray(cells, u.dtype) + u) / k, rest])
    x = jnp.asarray(lo, u.dtype) + jnp.asarray(hi - lo, u.dtype) * unit
    centre_cell = int(np.sum((k // 2) * k ** np.arange(d - 1, -1, -1)))
    return x.at[centre_cell].set(jnp.asarray(0.5 * (lo + hi), u.dtype))
