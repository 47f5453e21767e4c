"""Classic optimization test functions with catalogued critical points.

Definitions and bounds follow Surjanovic & Bingham, *Virtual Library of Simulation
Experiments* (sfu.ca/~ssurjano) and Jamil & Yang, "A literature survey of benchmark
functions for global optimization problems" (2013).

Where the critical points are not all in the literature, they are *derived*:
``tools/derive_catalogue.py`` runs damped Newton on ∇f = 0 in float64 from a dense
grid of starts over the bounds, keeps points with ‖∇f‖ < 1e-10, de-duplicates them
and classifies them by the Hessian's inertia. The result is ``catalogue.json``
beside this file; tests re-verify every point (gradient ≈ 0, inertia = kind) and
check the literature's values where they exist. Separable n-d functions
(Rastrigin, Styblinski–Tang) get their full catalogue from the 1-D critical points.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np

from saddle.objectives.core import (
    Catalogue,
    CriticalPoint,
    Objective,
    product_points,
    register,
    roots_1d,
)
from saddle.objectives.trig import cos2pi

# A catalogue bigger than this is not listed (the separable families grow as 3^d, 21^d).
MAX_CATALOGUE = 20_000


@functools.cache
def _derived() -> dict[str, tuple[CriticalPoint, ...]]:
    text = resources.files("saddle.objectives").joinpath("catalogue.json").read_text()
    return {
        name: tuple(CriticalPoint(**p) for p in points)
        for name, points in json.loads(text).items()
    }


def derived(name: str) -> tuple[CriticalPoint, ...]:
    """The derived catalogue of ``name`` (empty if it has none yet)."""
    return _derived().get(name, ())


# ----------------------------------------------------------------------------- 2-D functions
def himmelblau_fn(x: jax.Array) -> jax.Array:
    return (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2


@register("himmelblau")
def himmelblau() -> Objective:
    """Himmelblau (1972): f = (x² + y − 11)² + (x + y² − 7)² on [−5, 5]².

    Nine critical points, all catalogued (complete): four global minima with f = 0 at
    (3, 2), (−2.805118, 3.131312), (−3.779310, −3.283186), (3.584428, −1.848126);
    one local maximum at (−0.270845, −0.923039), f = 181.617; four saddles. ∇f = 0
    is a pair of cubics, so by Bézout there are at most 9 real solutions: the nine
    found are all of them.
    """
    return Objective(name="himmelblau", fn=himmelblau_fn, dim=2, bounds=(-5.0, 5.0),
                     catalogue=Catalogue(derived("himmelblau"), complete=True))


def six_hump_camel_fn(x: jax.Array) -> jax.Array:
    a, b = x[0], x[1]
    return (4 - 2.1 * a**2 + a**4 / 3) * a**2 + a * b + (-4 + 4 * b**2) * b**2


@register("six_hump_camel")
def six_hump_camel() -> Objective:
    """Six-hump camel back: f = (4 − 2.1x² + x⁴/3)x² + xy + (−4 + 4y²)y² on
    [−3, 3] × [−2, 2] (Dixon & Szegő 1978).

    Global minima f = −1.031628 at ±(0.089842, −0.712656); all 15 critical points
    (6 minima, 7 saddles, 2 maxima) derived numerically (module docstring).
    """
    return Objective(name="six_hump_camel", fn=six_hump_camel_fn, dim=2,
                     bounds=((-3.0, -2.0), (3.0, 2.0)),
                     catalogue=Catalogue(derived("six_hump_camel"), complete=True))


def three_hump_camel_fn(x: jax.Array) -> jax.Array:
    a, b = x[0], x[1]
    return 2 * a**2 - 1.05 * a**4 + a**6 / 6 + a * b + b**2


@register("three_hump_camel")
def three_hump_camel() -> Objective:
    """Three-hump camel: f = 2x² − 1.05x⁴ + x⁶/6 + xy + y² on [−5, 5]².

    ∂f/∂y = 0 gives y = −x/2, leaving a quintic in x with 5 real roots: the global
    minimum at 0, two local minima at ±(1.7476, −0.8738) and two saddles between.
    """
    return Objective(name="three_hump_camel", fn=three_hump_camel_fn, dim=2,
                     bounds=(-5.0, 5.0),
                     catalogue=Catalogue(derived("three_hump_camel"), complete=True))


def branin_fn(x: jax.Array) -> jax.Array:
    a, b, c = 1.0, 5.1 / (4 * jnp.pi**2), 5 / jnp.pi
    r, s, t = 6.0, 10.0, 1 / (8 * jnp.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * jnp.cos(x[0]) + s


@register("branin")
def branin() -> Objective:
    """Branin–Hoo: f = (y − 5.1x²/(4π²) + 5x/π − 6)² + 10(1 − 1/(8π))cos x + 10 on
    [−5, 10] × [0, 15].

    Three global minima f = 0.397887 at (−π, 12.275), (π, 2.275), (9.42478, 2.475)
    (Dixon & Szegő 1978); saddles between them derived numerically.
    """
    return Objective(name="branin", fn=branin_fn, dim=2, bounds=((-5.0, 0.0), (10.0, 15.0)),
                     catalogue=Catalogue(derived("branin"), complete=True))


def beale_fn(x: jax.Array) -> jax.Array:
    a, b = x[0], x[1]
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b**2) ** 2 + (2.625 - a + a * b**3) ** 2


@register("beale")
def beale() -> Objective:
    """Beale: f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)² on [−4.5, 4.5]².

    Global minimum f = 0 at (3, 0.5). On the line x = 0 every ∂f/∂y vanishes, so the
    roots of ∂f/∂x(0, y) = −3(1 − y) − 4.5(1 − y²) − 5.25(1 − y³) are critical
    points too: y = 1 is one, a saddle. Others derived numerically.
    """
    return Objective(name="beale", fn=beale_fn, dim=2, bounds=(-4.5, 4.5),
                     catalogue=Catalogue(derived("beale"), complete=True))


def goldstein_price_fn(x: jax.Array) -> jax.Array:
    a, b = x[0], x[1]
    p = 1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a**2 - 14 * b + 6 * a * b + 3 * b**2)
    q = 30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a**2 + 48 * b - 36 * a * b + 27 * b**2)
    return p * q


@register("goldstein_price")
def goldstein_price() -> Objective:
    """Goldstein–Price (1971) on [−2, 2]²: global minimum f = 3 at (0, −1); local
    minima f = 30 at (−0.6, −0.4), f = 84 at (1.8, 0.2), f = 840 at (1.2, 0.8); the
    saddles and maxima between them derived numerically."""
    return Objective(name="goldstein_price", fn=goldstein_price_fn, dim=2, bounds=(-2.0, 2.0),
                     catalogue=Catalogue(derived("goldstein_price"), complete=True))


def booth_fn(x: jax.Array) -> jax.Array:
    return (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2


@register("booth")
def booth() -> Objective:
    """Booth: a convex quadratic on [−10, 10]²; the only critical point is the minimum
    f = 0 at (1, 3), where both squares vanish. A sanity baseline for optimizers."""
    known = (CriticalPoint(x=(1.0, 3.0), value=0.0, kind="minimum", index=0),)
    return Objective(name="booth", fn=booth_fn, dim=2, bounds=(-10.0, 10.0),
                     catalogue=Catalogue(known, complete=True))


MB_A = (-200.0, -100.0, -170.0, 15.0)
MB_a = (-1.0, -1.0, -6.5, 0.7)
MB_b = (0.0, 0.0, 11.0, 0.6)
MB_c = (-10.0, -10.0, -6.5, 0.7)
MB_X0 = (1.0, 0.0, -0.5, -1.0)
MB_Y0 = (0.0, 0.5, 1.5, 1.0)


def muller_brown_fn(x: jax.Array) -> jax.Array:
    A, a, b, c = (jnp.asarray(v, x.dtype) for v in (MB_A, MB_a, MB_b, MB_c))
    dx, dy = x[0] - jnp.asarray(MB_X0, x.dtype), x[1] - jnp.asarray(MB_Y0, x.dtype)
    return jnp.sum(A * jnp.exp(a * dx**2 + b * dx * dy + c * dy**2))


@register("muller_brown")
def muller_brown() -> Objective:
    """Müller–Brown (1979) potential: Σₖ Aₖ exp(aₖ(x − x⁰ₖ)² + bₖ(x − x⁰ₖ)(y − y⁰ₖ)
    + cₖ(y − y⁰ₖ)²), A = (−200, −100, −170, 15), a = (−1, −1, −6.5, 0.7),
    b = (0, 0, 11, 0.6), c = (−10, −10, −6.5, 0.7), x⁰ = (1, 0, −0.5, −1),
    y⁰ = (0, 0.5, 1.5, 1), on [−1.5, 1.2] × [−0.5, 2].

    The standard test of path methods: three minima, f = −146.70 at (−0.558, 1.442),
    −108.17 at (0.623, 0.028), −80.77 at (−0.050, 0.467), and two saddles between them,
    −40.66 at (−0.822, 0.624) and −72.25 at (0.212, 0.293); no other critical point in
    the box (derived numerically, module docstring).

    Reference: K. Müller, L. D. Brown, "Location of saddle points and minimum energy
    paths by a constrained simplex optimization procedure", Theor. Chim. Acta 53 (1979).
    """
    return Objective(name="muller_brown", fn=muller_brown_fn, dim=2,
                     bounds=((-1.5, -0.5), (1.2, 2.0)),
                     catalogue=Catalogue(derived("muller_brown"), complete=True))


# ----------------------------------------------------------------------------- n-d functions
def rosenbrock_fn(x: jax.Array) -> jax.Array:
    return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@register("rosenbrock", n_dim=True)
def rosenbrock(dim: int = 2) -> Objective:
    """Rosenbrock (1960), n-d chain form: Σ 100(x_{i+1} − x_i²)² + (1 − x_i)² on [−2, 2]^d.

    Global minimum f = 0 at (1, …, 1). For d = 2 and d = 3 it is the only critical
    point (eliminating x_d, …, x_2 leaves (1 − x₁)(4x₁² + 4x₁ + 2.02) = 0 for d = 3,
    whose quadratic factor has no real root): complete. For 4 ≤ d ≤ 7 a second local
    minimum near (−1, 1, …, 1) and saddles exist (Kok & Sandrock 2009); the catalogue
    lists the global minimum only there (complete=False).
    """
    if dim < 2:
        raise ValueError(f"rosenbrock needs dim >= 2, got dim={dim}")
    known = (CriticalPoint(x=np.ones(dim), value=0.0, kind="minimum", index=0),)
    return Objective(name="rosenbrock", fn=rosenbrock_fn, dim=dim, bounds=(-2.0, 2.0),
                     catalogue=Catalogue(known, complete=dim <= 3))


def rastrigin_fn(x: jax.Array) -> jax.Array:
    return 10 * x.shape[0] + jnp.sum(x**2 - 10 * cos2pi(x))


@register("rastrigin", n_dim=True)
def rastrigin(dim: int = 2) -> Objective:
    """Rastrigin: 10d + Σ (x_i² − 10 cos 2πx_i) on [−5.12, 5.12]^d; global minimum 0 at 0.

    Separable: each coordinate sits at one of the 21 critical points of
    g(x) = x² − 10 cos 2πx in [−5.12, 5.12] (11 minima near the integers, 10 maxima
    near the half-integers; zeros of g' = 2x + 20π sin 2πx by bisection). So 21^d
    critical points with index = number of coordinates at a maximum of g; listed in
    full while 21^d ≤ 20 000 (d ≤ 3), else the global minimum only.
    """
    roots = roots_1d(lambda t: 2 * t + 20 * np.pi * np.sin(2 * np.pi * t),
                     lambda t: 2 + 40 * np.pi**2 * np.cos(2 * np.pi * t), -5.12, 5.12)

    def f(x: np.ndarray) -> float:
        return float(10 * len(x) + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))

    full = len(roots) ** dim <= MAX_CATALOGUE
    known = (product_points(roots, dim, f) if full else
             (CriticalPoint(x=np.zeros(dim), value=0.0, kind="minimum", index=0),))
    return Objective(name="rastrigin", fn=rastrigin_fn, dim=dim, bounds=(-5.12, 5.12),
                     catalogue=Catalogue(known, complete=full))


def styblinski_tang_fn(x: jax.Array) -> jax.Array:
    return 0.5 * jnp.sum(x**4 - 16 * x**2 + 5 * x)


@register("styblinski_tang", n_dim=True)
def styblinski_tang(dim: int = 2) -> Objective:
    """Styblinski–Tang: ½ Σ (x_i⁴ − 16x_i² + 5x_i) on [−5, 5]^d.

    Separable; g'(x) = ½(4x³ − 32x + 5) has three real roots: −2.903534 (global
    minimum of g), 0.156731 (maximum), 2.746803 (local minimum). Hence 3^d critical
    points: 2^d minima, 1 maximum and 3^d − 2^d − 1 saddles; the global minimum is
    −39.16617·d at (−2.903534, …). Listed in full while 3^d ≤ 20 000 (d ≤ 9).
    """
    roots = [(float(r), "minimum" if 12 * r**2 - 32 > 0 else "maximum")
             for r in np.sort(np.roots([4.0, 0.0, -32.0, 5.0]).real)]

    def f(x: np.ndarray) -> float:
        return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))

    full = 3**dim <= MAX_CATALOGUE
    known = (product_points(roots, dim, f) if full else
             (CriticalPoint(x=np.full(dim, roots[0][0]), value=f(np.full(dim, roots[0][0])),
                            kind="minimum", index=0),))
    return Objective(name="styblinski_tang", fn=styblinski_tang_fn, dim=dim, bounds=(-5.0, 5.0),
                     catalogue=Catalogue(known, complete=full))


def ackley_fn(x: jax.Array) -> jax.Array:
    d = x.shape[0]
    r = jnp.sqrt(jnp.sum(x**2) / d)
    return -20 * jnp.exp(-0.2 * r) - jnp.exp(jnp.sum(cos2pi(x)) / d) + 20 + jnp.e


@register("ackley", n_dim=True)
def ackley(dim: int = 2) -> Objective:
    """Ackley (1987): −20 exp(−0.2 √(Σx²/d)) − exp(Σ cos(2πx)/d) + 20 + e on
    [−32.768, 32.768]^d; global minimum 0 at the origin, where f has a cone tip
    (not differentiable: ``smooth=False``). The lattice of thousands of local minima
    and saddles is not catalogued (complete=False).
    """
    known = (CriticalPoint(x=np.zeros(dim), value=0.0, kind="minimum", smooth=False),)
    return Objective(name="ackley", fn=ackley_fn, dim=dim, bounds=(-32.768, 32.768),
                     catalogue=Catalogue(known, complete=False))


def levy_fn(x: jax.Array) -> jax.Array:
    w = 1 + (x - 1) / 4
    head = jnp.sin(jnp.pi * w[0]) ** 2
    body = jnp.sum((w[:-1] - 1) ** 2 * (1 + 10 * jnp.sin(jnp.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + jnp.sin(2 * jnp.pi * w[-1]) ** 2)
    return head + body + tail


@register("levy", n_dim=True)
def levy(dim: int = 2) -> Objective:
    """Levy: sin²(πw₁) + Σ (w_i − 1)²[1 + 10 sin²(πw_i + 1)] + (w_d − 1)²[1 + sin²(2πw_d)],
    w = 1 + (x − 1)/4, on [−10, 10]^d; global minimum 0 at (1, …, 1). For d = 2 the
    derived catalogue lists every critical point found numerically; otherwise the
    global minimum only (complete=False in both cases: the derivation cannot prove
    it saw them all)."""
    known = derived("levy") if dim == 2 else ()
    if not known:
        known = (CriticalPoint(x=np.ones(dim), value=0.0, kind="minimum", index=0),)
    return Objective(name="levy", fn=levy_fn, dim=dim, bounds=(-10.0, 10.0),
                     catalogue=Catalogue(known, complete=False))


def griewank_fn(x: jax.Array) -> jax.Array:
    i = jnp.arange(1, x.shape[0] + 1, dtype=x.dtype)
    return 1 + jnp.sum(x**2) / 4000 - jnp.prod(jnp.cos(x / jnp.sqrt(i)))


@register("griewank", n_dim=True)
def griewank(dim: int = 2) -> Objective:
    """Griewank (1981): 1 + Σx²/4000 − Π cos(x_i/√i) on [−600, 600]^d; global minimum 0
    at the origin. Its thousands of shallow local minima are not catalogued."""
    known = (CriticalPoint(x=np.zeros(dim), value=0.0, kind="minimum", index=0),)
    return Objective(name="griewank", fn=griewank_fn, dim=dim, bounds=(-600.0, 600.0),
                     catalogue=Catalogue(known, complete=False))
