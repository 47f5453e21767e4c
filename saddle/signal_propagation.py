"""Signal propagation in deep random MLPs at initialisation: the mean-field prediction and
the measurement it is compared with.

Mean field (Poole et al. 2016; Schoenholz et al. 2017): in a wide MLP with weights of
variance σ_w²/fan_in and biases of variance σ_b², the second moment of a hidden layer's
pre-activations h_l = W_l x_{l−1} + b_l follows the length map

    q_l = σ_w² p_{l−1} + σ_b²,   p_l = E_z[φ(√q_l z)²],   z ~ N(0, 1),

(p_0 = the input's mean square), and the backward pass multiplies E[g²] (g = ∂ℓ/∂x_l)
by χ_l = σ_w² E_z[φ'(√q_l z)²] per layer. Residual layers x_l = x_{l−1} + φ(h_l) (all
but the first) add the skip: p_l = p_{l−1} + 2 m_{l−1} E[φ] + E[φ²] with m the units'
mean, m_l = m_{l−1} + E[φ], and E[g_{l−1}²] = (1 + χ_l) E[g_l²] (Yang & Schoenholz 2017).
The per-example gradient of a kernel is the outer product x_{l−1} δ_lᵀ, so
‖∂ℓ/∂W_l‖² ≈ fan_in_l·p_{l−1} · width·E[φ'(h_l)²]·E[g_l²]. Expectations are
Gauss–Hermite sums (numpy's ``hermegauss``, weight e^{−z²/2}).

``constant_preactivations``: the exact forward pass of an MLP whose kernels all hold one
value (every unit of a layer then computes the same number), where mean field does not
apply. ``measure``: per-layer pre-activation second moments and per-example kernel
gradient norms of a ``saddle.objectives.nn.mlp`` network, the measured side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from saddle._checks import one_of, positive_int
from saddle.objectives import nn as snn

__all__ = ["ACTIVATIONS", "Profile", "chi", "constant_preactivations", "expect", "length_map",
           "measure", "profile", "scheme_variances"]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# φ and φ' in numpy (float64); φ'(0) = 0 for relu, as jax.grad(jax.nn.relu)(0.0).
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64)),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "linear": (lambda z: z, np.ones_like),
}


def expect(fn: Callable[[np.ndarray], np.ndarray], q: Any, order: int = 200) -> np.ndarray:
    """E_z[fn(√q z)], z ~ N(0, 1), for each q ≥ 0 in ``q`` (any shape): Gauss–Hermite
    quadrature of ``order`` nodes (even: no node at the kink z = 0 of relu); exact for
    polynomials of degree < 2·order, less accurate where φ(√q z) turns sharply (tanh at
    large q)."""
    order = positive_int(order, "order", minimum=2)
    z, w = np.polynomial.hermite_e.hermegauss(order)
    q = np.asarray(q, np.float64)
    if np.any(q < 0) or not np.all(np.isfinite(q)):
        raise ValueError(f"q must be finite and >= 0, got {q.min() if q.size else q}")
    vals = fn(np.sqrt(q)[..., None] * z)
    return vals @ w / np.sqrt(2.0 * np.pi)


def length_map(q: Any, activation: str, weight_var: float, bias_var: float = 0.0) -> np.ndarray:
    """σ_w²·E_z[φ(√q z)²] + σ_b²: the next layer's pre-activation second moment (plain)."""
    phi, _ = ACTIVATIONS[one_of(activation, "activation", tuple(ACTIVATIONS))]
    return weight_var * expect(lambda h: phi(h) ** 2, q) + bias_var


def chi(q: Any, activation: str, weight_var: float) -> np.ndarray:
    """χ = σ_w²·E_z[φ'(√q z)²]: the factor by which E[(∂ℓ/∂x)²] grows per layer, backwards."""
    _, dphi = ACTIVATIONS[one_of(activation, "activation", tuple(ACTIVATIONS))]
    return weight_var * expect(lambda h: dphi(h) ** 2, q)


class Profile(NamedTuple):
    """Predicted per hidden layer l = 1..L: ``q [L]`` pre-activation second moment, ``p [L+1]``
    post-activation second moment (``p[0]`` the input's), ``grad_norm [L]`` per-example
    ‖∂ℓ/∂W_l‖ relative to the last hidden layer's (1 there)."""

    q: np.ndarray
    p: np.ndarray
    grad_norm: np.ndarray


def profile(activation: str, weight_var: Any, bias_var: Any, p0: float, depth: int, *,
            fan_in: Any = None, residual: bool = False) -> Profile:
    """The mean-field ``Profile`` of ``depth`` hidden layers (module docstring).

    Args:
      activation: one of ``ACTIVATIONS``.
      weight_var, bias_var: σ_w² (= fan_in·Var W_ij) and σ_b² per layer, scalars or ``[depth]``.
      p0: the input's mean square, mean over features of x².
      fan_in: ``[depth]`` inputs per layer (only the first may differ); default all equal.
      residual: layers 2..depth are x ↦ x + φ(Wx + b).
    """
    depth = positive_int(depth, "depth")
    one_of(activation, "activation", tuple(ACTIVATIONS))
    phi, dphi = ACTIVATIONS[activation]
    sw = np.broadcast_to(np.asarray(weight_var, np.float64), (depth,))
    sb = np.broadcast_to(np.asarray(bias_var, np.float64), (depth,))
    fan = np.ones(depth) if fan_in is None else np.broadcast_to(np.asarray(fan_in, float), (depth,))
    q, p, m, dd = np.zeros(depth), np.zeros(depth + 1), 0.0, np.zeros(depth)
    p[0] = p0
    for layer in range(depth):
        q[layer] = sw[layer] * p[layer] + sb[layer]
        e1, e2 = expect(phi, q[layer]), expect(lambda h: phi(h) ** 2, q[layer])
        dd[layer] = expect(lambda h: dphi(h) ** 2, q[layer])
        if residual and layer > 0:
            p[layer + 1], m = p[layer] + 2 * m * e1 + e2, m + e1
        else:
            p[layer + 1], m = e2, e1
    g2 = np.ones(depth)  # E[(∂ℓ/∂x_l)²], relative to the last layer's
    for layer in range(depth - 1, 0, -1):
        g2[layer - 1] = g2[layer] * ((1.0 if residual else 0.0) + sw[layer] * dd[layer])
    grad2 = fan * p[:-1] * dd * g2
    with np.errstate(divide="ignore", invalid="ignore"):
        return Profile(q, p, np.sqrt(grad2 / grad2[-1]))


def scheme_variances(name: str, fan_in: int, fan_out: int, **kwargs: float) -> tuple[float, float]:
    """(σ_w², σ_b²) of ``saddle.starts.scheme(name, **kwargs)`` for a ``[fan_in, fan_out]``
    kernel: σ_w² = fan_in·Var(W_ij), σ_b² = Var(b_i) (``saddle.starts.SCHEMES``).
    "constant" has no zero-mean random weights: use ``constant_preactivations``."""
    if name == "constant":
        raise ValueError("scheme 'constant' is not zero-mean random: mean field does not apply")
    if name == "zeros":
        return 0.0, 0.0
    if name == "normal":
        return kwargs.get("std", 0.01) ** 2 * fan_in, 0.0
    if name == "orthogonal":
        return kwargs.get("gain", 1.0) ** 2 * fan_in / max(fan_in, fan_out), 0.0
    if name == "pytorch":
        return 1 / 3, 1 / (3 * fan_in)
    family = name.rsplit("_", 1)[0]
    table = {"xavier": 2 * fan_in / (fan_in + fan_out), "he": 2.0, "lecun": 1.0}
    if family not in table:
        raise ValueError(f"unknown scheme {name!r}")
    return table[family], 0.0


def constant_preactivations(x: Any, value: float, widths: Any, activation: str,
                            residual: bool = False) -> np.ndarray:
    """``[n, L]``: the pre-activation shared by every unit of each hidden layer of an MLP with
    all kernels ``value`` and zero biases: h_1 = c·Σ_j x_j, h_l = c·width·x_{l−1} with
    x_l = φ(h_l) (or x_{l−1} + φ(h_l) in residual layers), exactly, in float64."""
    phi, _ = ACTIVATIONS[one_of(activation, "activation", tuple(ACTIVATIONS))]
    h = value * np.asarray(x, np.float64).sum(axis=1)
    out, xl = [h], phi(h)
    for fan in list(widths)[:-2]:  # the inputs of hidden layers 2..L
        h = value * fan * xl
        xl = xl + phi(h) if residual else phi(h)
        out.append(h)
    return np.stack(out, axis=1)


def measure(net: snn.Net, theta: jax.Array, x: jax.Array, y: jax.Array,
            loss: str = "cross_entropy") -> tuple[jax.Array, jax.Array]:
    """Measured at θ on inputs ``x [n, in_dim]`` with labels ``y [n]`` (jittable, vmappable
    over θ): ``q [L]``, the mean over examples and units of each hidden layer's squared
    pre-activation, and ``grad_norm [L]``, the root mean square over examples of the
    per-example ‖∂ℓ/∂W_l‖ (kernels of the hidden layers ``dense_0`` … ``dense_{L−1}``)."""
    depth = len(net.module.widths) - 1
    _, inter = net.module.apply({"params": net.unravel(theta)}, x, capture_intermediates=True)
    inter = inter["intermediates"]
    q = jnp.stack([jnp.mean(inter[f"dense_{i}"]["__call__"][0] ** 2) for i in range(depth)])
    fn = snn.loss_fn(net, loss)

    def per_example(xi: jax.Array, yi: jax.Array) -> jax.Array:
        g = net.unravel(jax.grad(fn)(theta, (xi[None], yi[None])))
        return jnp.stack([jnp.sum(g[f"dense_{i}"]["kernel"] ** 2) for i in range(depth)])

    return q, jnp.sqrt(jnp.mean(jax.vmap(per_example)(x, y), axis=0))
