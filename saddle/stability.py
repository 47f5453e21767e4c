"""Sharpness and the stability of training: the edge-of-stability statistics, learning-rate
rules for batch sizes, and the reparametrisation that changes sharpness but not the function.

* ``threshold(lr, momentum)``: the largest sharpness at which gradient descent (heavy-ball
  momentum β) is stable on a quadratic, ``2(1 + β)/η``: on ``½λx²`` the iteration
  ``v ← βv + λx, x ← x − ηv`` has characteristic roots inside the unit circle iff
  ``0 < ηλ < 2(1 + β)`` (β = 0: plain GD, ``|1 − ηλ| < 1``).
* ``edge_statistics``: when a recorded sharpness trace first reaches the threshold, and how
  it behaves after (Cohen et al. 2021).
* ``batch_lr``: the learning rate for a batch size under a stated rule (Goyal et al. 2017).
* ``layer_scales``: Dinh et al. 2017's reparametrisation of a ReLU MLP.

References:
  J. Cohen, S. Kaur, Y. Li, J. Z. Kolter, A. Talwalkar, "Gradient descent on neural
  networks typically occurs at the edge of stability", ICLR 2021 (heavy ball: App. B).
  P. Goyal et al., "Accurate, large minibatch SGD: training ImageNet in 1 hour", 2017.
  L. Dinh, R. Pascanu, S. Bengio, Y. Bengio, "Sharp minima can generalize for deep nets",
  ICML 2017.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from saddle._checks import one_of, positive_float, positive_int
from saddle.objectives.nn import Net

__all__ = ["BATCH_RULES", "EdgeStats", "batch_lr", "edge_statistics", "layer_scales",
           "threshold"]

BATCH_RULES = ("constant", "linear", "sqrt")


def threshold(lr: Any, momentum: float = 0.0) -> np.ndarray:
    """The stability threshold ``2(1 + β)/η`` of heavy-ball momentum β (GD: β = 0) with step
    η, elementwise over ``lr``: on a quadratic of curvature λ the iteration converges iff
    ``λ < threshold`` and diverges iff ``λ > threshold``."""
    lr = np.asarray(lr, dtype=np.float64)
    if not np.all(np.isfinite(lr) & (lr > 0)):
        raise ValueError(f"lr must be finite numbers > 0, got {lr}")
    if not (np.isfinite(momentum) and 0 <= momentum < 1):
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    return 2.0 * (1.0 + momentum) / lr


class EdgeStats(NamedTuple):
    """What a sharpness trace does relative to a threshold (``edge_statistics``).

    cross_index: first record with sharpness ≥ threshold (−1 if none). cross_step: its
    step (−1 if none). median_ratio: median of sharpness/threshold over the records after
    it (NaN if fewer than ``min_after``). loss_up_fraction: fraction of the consecutive
    recorded loss changes after it that are increases (NaN as above). loss_at_cross,
    loss_final: the loss at the crossing record and at the last one (NaN if none).
    """

    cross_index: int
    cross_step: int
    median_ratio: float
    loss_up_fraction: float
    loss_at_cross: float
    loss_final: float


def edge_statistics(sharpness: Any, loss: Any, steps: Any, thresh: float, *,
                    min_after: int = 3) -> EdgeStats:
    """``EdgeStats`` of one run from its records: ``sharpness``, ``loss`` and ``steps``,
    each ``[T]`` (a run's ``records["sharpness"]``, ``loss_path`` and ``path_steps``), and
    the threshold ``thresh`` (``threshold(lr, momentum)``). Records after a divergence or
    with a non-finite value end the trace."""
    s, f, t = (np.asarray(a, dtype=np.float64).ravel() for a in (sharpness, loss, steps))
    if not (s.shape == f.shape == t.shape) or s.size < 2:
        raise ValueError(f"sharpness, loss and steps must be [T] with T >= 2, got "
                         f"{s.shape}, {f.shape}, {t.shape}")
    thresh = positive_float(thresh, "thresh")
    min_after = positive_int(min_after, "min_after")
    bad = np.flatnonzero(~(np.isfinite(s) & np.isfinite(f)))
    end = bad[0] if bad.size else s.size
    hit = np.flatnonzero(s[:end] >= thresh)
    if not hit.size:
        return EdgeStats(-1, -1, np.nan, np.nan, np.nan, np.nan)
    i = int(hit[0])
    after = slice(i + 1, end)
    enough = end - i - 1 >= min_after
    return EdgeStats(
        cross_index=i, cross_step=int(t[i]),
        median_ratio=float(np.median(s[after] / thresh)) if enough else np.nan,
        loss_up_fraction=float(np.mean(np.diff(f[i:end]) > 0)) if enough else np.nan,
        loss_at_cross=float(f[i]), loss_final=float(f[end - 1]))


def batch_lr(base_lr: float, batch_size: int, base_batch: int, rule: str = "linear", *,
             cap: float | None = None) -> float:
    """The learning rate for ``batch_size``: ``base_lr`` at ``base_batch`` scaled by
    ``(batch_size/base_batch)^p`` with p = 0 ("constant"), 1 ("linear", Goyal et al. 2017)
    or ½ ("sqrt"), then capped at ``cap`` (if given)."""
    base_lr = positive_float(base_lr, "base_lr")
    batch_size = positive_int(batch_size, "batch_size")
    base_batch = positive_int(base_batch, "base_batch")
    one_of(rule, "rule", BATCH_RULES)
    power = {"constant": 0.0, "linear": 1.0, "sqrt": 0.5}[rule]
    lr = base_lr * (batch_size / base_batch) ** power
    return min(lr, positive_float(cap, "cap")) if cap is not None else lr


def layer_scales(net: Net, layer: int, alpha: float) -> jax.Array:
    """``[net.dim]`` factors D with ``θ' = D ⊙ θ`` Dinh et al.'s reparametrisation of an
    ``mlp``: layer ``layer``'s kernel and bias times α, the next layer's kernel times 1/α
    (its bias unchanged). For ReLU (positively homogeneous: relu(αz) = α·relu(z), α > 0)
    the network computes the same function at θ' as at θ, so the loss L' = L∘D⁻¹ and its
    Hessian at θ' is ``D⁻¹ H(θ) D⁻¹``: the same minimum with another sharpness."""
    params = net.unravel(jnp.zeros(net.dim))
    names = sorted(params, key=lambda k: int(k.rsplit("_", 1)[-1]) if k.startswith("dense_")
                   else -1)
    if not all(k.startswith("dense_") for k in names) or len(names) < 2:
        raise ValueError("layer_scales needs an mlp with at least two dense layers")
    activation = getattr(net.module, "activation", None)
    if activation not in ("relu", "linear"):
        raise ValueError(f"layer_scales needs a positively homogeneous activation (relu, "
                         f"linear), got {activation!r}")
    layer = int(layer)
    if not 0 <= layer < len(names) - 1:
        raise ValueError(f"layer must be in [0, {len(names) - 2}] (a layer with a next "
                         f"one), got {layer}")
    alpha = positive_float(alpha, "alpha")
    scales = jax.tree.map(jnp.ones_like, params)
    scales[f"dense_{layer}"] = jax.tree.map(lambda a: a * alpha, scales[f"dense_{layer}"])
    nxt = dict(scales[f"dense_{layer + 1}"])
    nxt["kernel"] = nxt["kernel"] / alpha
    scales[f"dense_{layer + 1}"] = nxt
    return ravel_pytree(scales)[0]
