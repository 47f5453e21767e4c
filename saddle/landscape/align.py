"""Aligning the hidden units of two multilayer perceptrons before comparing them.

Permuting the hidden units of a layer (its kernel's columns and bias, and the next kernel's
rows) does not change the function an MLP computes; where the activation is odd
(φ(−z) = −φ(z): tanh, linear) neither does flipping the sign of a unit's incoming weights,
bias and outgoing weights. Two parameter vectors related so are the same minimum.

``weight_match`` finds the signed permutations that bring network B closest to network A
by weight matching (Ainsworth, Hayase & Srinivasa 2023, Alg. 1): for one hidden layer ℓ,
with the other layers' permutations fixed, maximising ⟨θ_A, π(θ_B)⟩ — equivalently
minimising ‖θ_A − π(θ_B)‖, since π preserves norms — is a linear assignment on

    S[i, j] = ⟨[K_ℓ; b_ℓ]ᴬ[:, i], [K_ℓ; b_ℓ]ᴮ[:, j]⟩ + ⟨K_{ℓ+1}ᴬ[i, :], K_{ℓ+1}ᴮ[j, :]⟩

(incoming weights with bias, and outgoing weights; flax kernels are ``(in, out)``), solved
by ``scipy.optimize.linear_sum_assignment``. A sign flip of B's unit j negates both terms,
so with signs the assignment is on |S| and unit j takes the sign of S[i, j]. Layers are
visited in turn until a sweep improves nothing (coordinate ascent; exact for one hidden
layer).

Reference:
  S. Ainsworth, J. Hayase, S. Srinivasa, "Git Re-Basin: merging models modulo permutation
  symmetries", ICLR 2023.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from scipy.optimize import linear_sum_assignment

from saddle._checks import as_point, positive_int
from saddle.objectives.nn import MLP, Net

__all__ = ["ODD_ACTIVATIONS", "permute_units", "weight_match"]

ODD_ACTIVATIONS = ("tanh", "linear")


def _layers(net: Net, theta: Any, name: str) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Kernels ``(in, out)`` and biases (``None`` without) of an ``mlp`` net, as float64."""
    if not isinstance(net, Net) or not isinstance(net.module, MLP):
        raise TypeError(f"net must be a Net built by saddle.objectives.nn.mlp, got "
                        f"{type(getattr(net, 'module', net)).__name__}")
    if net.module.residual or net.module.norm != "none":
        # residual layers share one permutation; normalised layers carry more parameters
        raise ValueError(f"net must be a plain mlp (residual=False, norm='none') for per-layer "
                         f"unit permutations, got residual={net.module.residual}, "
                         f"norm={net.module.norm!r}")
    theta = as_point(theta, name, net.dim)
    params = jax.tree.map(lambda a: np.asarray(a, np.float64), net.unravel(theta))
    n = len(net.module.widths)
    kernels = [params[f"dense_{i}"]["kernel"] for i in range(n)]
    biases = [params[f"dense_{i}"].get("bias") for i in range(n)]
    return kernels, biases


def _ravel(net: Net, kernels: list, biases: list, dtype: Any) -> jax.Array:
    """The flat θ of the net's own pytree layout holding these kernels and biases."""
    tree = net.unravel(jnp.zeros(net.dim, dtype))
    paths, treedef = jax.tree_util.tree_flatten_with_path(tree)
    new = {"kernel": kernels, "bias": biases}
    leaves = [new[path[1].key][int(path[0].key.split("_")[1])] for path, _ in paths]
    return ravel_pytree(jax.tree_util.tree_unflatten(treedef, [
        jnp.asarray(a, dtype) for a in leaves]))[0]


def _apply(kernels: list, biases: list, perms: list, signs: list) -> tuple[list, list]:
    """Unit i of hidden layer ℓ becomes signs[ℓ][i] × old unit perms[ℓ][i]."""
    ks, bs = [], []
    for i, (k, b) in enumerate(zip(kernels, biases, strict=True)):
        if i > 0:
            k = signs[i - 1][:, None] * k[perms[i - 1], :]
        if i < len(perms):
            k = k[:, perms[i]] * signs[i][None, :]
            b = None if b is None else b[perms[i]] * signs[i]
        ks.append(k)
        bs.append(b)
    return ks, bs


def _check_transform(net: Net, perms: Sequence[Any], signs: Sequence[Any] | None) -> tuple:
    hidden = list(net.module.widths[:-1])
    if len(perms) != len(hidden):
        raise ValueError(f"perms must hold one permutation per hidden layer ({len(hidden)}), "
                         f"got {len(perms)}")
    perms = [np.asarray(p) for p in perms]
    for p, w in zip(perms, hidden, strict=True):
        if p.shape != (w,) or not np.array_equal(np.sort(p), np.arange(w)):
            raise ValueError(f"perms must be permutations of the hidden widths {hidden}")
    if signs is None:
        return perms, [np.ones(w) for w in hidden]
    if net.module.activation not in ODD_ACTIVATIONS:
        raise ValueError(f"signs need an odd activation ({', '.join(ODD_ACTIVATIONS)}), the net "
                         f"has {net.module.activation!r}")
    signs = [np.asarray(s, np.float64) for s in signs]
    if len(signs) != len(hidden) or any(s.shape != (w,) or not np.all(np.abs(s) == 1)
                                        for s, w in zip(signs, hidden, strict=True)):
        raise ValueError(f"signs must be ±1 vectors of the hidden widths {hidden}")
    return perms, signs


def permute_units(net: Net, theta: Any, perms: Sequence[Any],
                  signs: Sequence[Any] | None = None) -> jax.Array:
    """θ ``[d]`` of an ``mlp`` net with its hidden units permuted (and signs flipped): unit i
    of hidden layer ℓ becomes ``signs[ℓ][i]`` × old unit ``perms[ℓ][i]``. The function the
    net computes is unchanged (signs only for odd activations)."""
    kernels, biases = _layers(net, theta, "theta")
    perms, signs = _check_transform(net, perms, signs)
    return _ravel(net, *_apply(kernels, biases, perms, signs), jnp.asarray(theta).dtype)


def weight_match(net: Net, theta_a: Any, theta_b: Any, *, signs: bool | None = None,
                 max_sweeps: int = 100) -> jax.Array:
    """θ_B ``[d]`` with its hidden units permuted (and, with ``signs``, sign-flipped) to be
    closest to θ_A by weight matching (module docstring). ``signs`` defaults to whether the
    net's activation is odd; at most ``max_sweeps`` sweeps over the hidden layers."""
    ka, ba = _layers(net, theta_a, "theta_a")
    kb, bb = _layers(net, theta_b, "theta_b")
    max_sweeps = positive_int(max_sweeps, "max_sweeps")
    odd = net.module.activation in ODD_ACTIVATIONS
    signs = odd if signs is None else signs
    if not isinstance(signs, bool):
        raise TypeError(f"signs must be a bool or None, got {signs!r}")
    if signs and not odd:
        raise ValueError(f"signs=True needs an odd activation ({', '.join(ODD_ACTIVATIONS)}), "
                         f"the net has {net.module.activation!r}")
    hidden = list(net.module.widths[:-1])
    perms = [np.arange(w) for w in hidden]
    flips = [np.ones(w) for w in hidden]

    def similarity(layer: int) -> np.ndarray:
        """S [A unit, B unit] for hidden layer ``layer`` under the other layers' transforms."""
        k_in = kb[layer] if layer == 0 else flips[layer - 1][:, None] * kb[layer][perms[layer - 1]]
        s = ka[layer].T @ k_in
        if ba[layer] is not None:
            s += np.outer(ba[layer], bb[layer])
        k_out = kb[layer + 1]
        if layer + 1 < len(hidden):
            k_out = k_out[:, perms[layer + 1]] * flips[layer + 1][None, :]
        return s + ka[layer + 1] @ k_out.T

    for _ in range(max_sweeps):
        improved = False
        for layer in range(len(hidden)):
            s = similarity(layer)
            rows = np.arange(hidden[layer])
            _, cols = linear_sum_assignment(np.abs(s) if signs else s, maximize=True)
            current = np.sum(s[rows, perms[layer]] * flips[layer])
            best = np.sum(np.abs(s[rows, cols]) if signs else s[rows, cols])
            if best > current + 1e-12 * max(1.0, abs(current)):
                improved = True
                perms[layer] = cols
                if signs:
                    flips[layer] = np.where(s[rows, cols] < 0, -1.0, 1.0)
        if not improved:
            break
    return _ravel(net, *_apply(kb, bb, perms, flips), jnp.asarray(theta_b).dtype)
