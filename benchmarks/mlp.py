"""A network-sized workload: many small MLPs trained full-batch on scikit-learn's digits.

The network is ``saddle.objectives.nn.mlp`` with ``sizes`` = (64, 32, 10) by default: tanh
hidden layers with biases, softmax cross-entropy averaged over the 1797 examples of
``sklearn.datasets.load_digits`` (8×8 images, inputs /16 in [0, 1]; bundled, no
download). Its parameters are flattened with ``jax.flatten_util.ravel_pytree``, so the
loss is a pure function ``loss(x [d], (X, y))`` of one vector (d = 64·32 + 32 + 32·10 +
10 = 2410) and of the data, which ``descend`` receives as ``data=(X, y)``. Starts:
Glorot-normal weights (Glorot & Bengio 2010: variance 2 / (fan_in + fan_out), drawn with
``jax.nn.initializers.normal``) and zero biases.

``mlp_study`` times ``saddle.descend`` against the bare ``jit(vmap(scan))`` of the same
optax Adam updates from the same starts, without descend's bookkeeping, and the bare
program compiled with the XLA:CPU option descend uses (``bare_ynn_off``), to tell the
cost of that option from the cost of the bookkeeping.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

import saddle
from benchmarks.baselines import adam, adam_scan_one
from benchmarks.timing import round_robin
from saddle.objectives import nn as snn

if TYPE_CHECKING:
    from benchmarks.throughput import Config

SIZES = (64, 32, 10)  # digits: 64 pixels in, 10 classes out
TARGET = 0.9  # descend ÷ bare init-steps/s: at most 10% slower than the bare program
AGREE_ATOL = 1e-4  # final parameters of descend and the bare program (float32)
# the XLA:CPU option saddle.descend compiles with (see BUILD_NOTES, engine speed): YNNPACK
# fusions for dots only ("ynn_off" below names the reductions and loops it keeps in XLA)
DESCEND_CPU_OPTIONS = saddle.descent._CPU_OPTIONS
METHODS = ("descend", "bare", "bare_ynn_off")


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits: inputs ``X [1797, 64]`` float32 in [0, 1] (pixel
    counts 0..16, divided by 16) and labels ``y [1797]`` int32 in 0..9."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target.astype(np.int32)


def init_params(key: jax.Array, n: int, sizes: tuple[int, ...] = SIZES
                ) -> list[tuple[jax.Array, jax.Array]]:
    """``n`` networks' parameters ``[(W [n, a, b], bias [n, b]) per layer]``: Glorot-normal
    weights W ~ N(0, 2 / (a + b)) (layer l from ``fold_in(key, l)``), zero biases."""
    params = []
    for layer, (a, b) in enumerate(itertools.pairwise(sizes)):
        normal = jax.nn.initializers.normal(stddev=math.sqrt(2 / (a + b)))
        # drawn as one flat vector: XLA:CPU compiles random bits of a 3-D shape ~10x slower
        w = normal(jax.random.fold_in(key, layer), (n * a * b,)).reshape(n, a, b)
        params.append((w, jnp.zeros((n, b))))
    return params


def apply(params: list[tuple[Any, Any]], X: jax.Array) -> jax.Array:
    """Logits ``[N, sizes[-1]]`` of inputs ``X [N, sizes[0]]``: tanh between layers (the
    textbook ``h @ W + b``; the reference ``MLP.loss`` is tested against)."""
    h = X
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        if i < len(params) - 1:
            h = jnp.tanh(h)
    return h


@dataclasses.dataclass(frozen=True)
class MLP:
    """The flat-vector view of one architecture: ``loss(x [dim], (X [N, in], y [N]))``
    is the mean softmax cross-entropy; ``unravel(x)`` gives the layer list back."""

    sizes: tuple[int, ...]
    dim: int
    loss: Callable[[jax.Array, tuple], jax.Array]
    unravel: Callable[[jax.Array], list]


@functools.cache
def mlp(sizes: tuple[int, ...] = SIZES) -> MLP:
    """The ``MLP`` of ``sizes`` (one object per architecture, so that descend's program
    cache finds its loss again). The loss is the library's: ``saddle.objectives.nn.mlp``
    (tanh, biases) with ``loss_fn(..., "cross_entropy")``, reading x in PyTorch's order
    (W₁, b₁, W₂, b₂, …; ``unravel``) and passing it on as the flax θ."""
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must hold >= 2 layer widths >= 1, got {sizes}")
    template = [(jnp.zeros((a, b)), jnp.zeros(b)) for a, b in itertools.pairwise(sizes)]
    flat, unravel = ravel_pytree(template)
    net = snn.mlp(sizes[0], sizes[1:], "tanh")
    flax_loss = snn.loss_fn(net, "cross_entropy")

    def loss(x: jax.Array, data: tuple) -> jax.Array:
        theta = ravel_pytree({f"dense_{i}": {"kernel": W, "bias": b}
                              for i, (W, b) in enumerate(unravel(x))})[0]
        return flax_loss(theta, data)

    return MLP(sizes, int(flat.size), loss, unravel)


def mlp_starts(key: jax.Array, n: int, sizes: tuple[int, ...] = SIZES) -> jax.Array:
    """``[n, d]`` flat initial parameters of ``n`` networks (``init_params``, each network
    flattened as ``MLP.unravel`` expects)."""
    return jax.vmap(lambda p: ravel_pytree(p)[0])(init_params(key, n, sizes))


def _bare_ynn_off(one: Callable) -> Callable | str:
    """The bare program compiled with descend's XLA:CPU option, or why it is skipped."""
    if jax.default_backend() != "cpu":
        return "not on a CPU backend (descend uses the option only there)"
    try:  # an option this XLA does not know fails at compile time
        jax.jit(lambda x: x.sum(1), compiler_options=DESCEND_CPU_OPTIONS)(jnp.ones((2, 2)))
    except Exception:  # XlaRuntimeError, whose module moves between jax versions
        return "this XLA does not know the option"
    return jax.jit(jax.vmap(one, in_axes=(0, None)), compiler_options=DESCEND_CPU_OPTIONS)


def mlp_study(cfg: Config, key: jax.Array) -> dict[str, np.ndarray]:
    """Train ``mlp_networks`` networks ``mlp_steps`` Adam steps with descend and the bare
    program(s), timed against each other; compare their final parameters."""
    model = mlp(cfg.mlp_sizes)
    X, y = digits()
    data = (jnp.asarray(X), jnp.asarray(y))
    x0 = mlp_starts(key, cfg.mlp_networks, model.sizes)
    opt, steps = adam(cfg.mlp_lr), cfg.mlp_steps
    one = adam_scan_one(model.loss, opt, steps)
    bare = jax.jit(jax.vmap(one, in_axes=(0, None)))
    calls = {"descend": lambda: saddle.descend(model.loss, x0, opt, steps, data=data),
             "bare": lambda: bare(x0, data)}
    out: dict[str, Any] = {"d": model.dim, "n": cfg.mlp_networks, "rows": X.shape[0]}
    off = _bare_ynn_off(one)
    if isinstance(off, str):
        out["bare_ynn_off.skipped"] = off
    else:
        calls["bare_ynn_off"] = lambda: off(x0, data)
    res = round_robin(calls, cfg.mlp_repeats)
    for m in calls:
        out.update({f"{m}.first_s": res[m]["first_s"], f"{m}.times_s": res[m]["times_s"],
                    f"{m}.cpu_s": res[m]["cpu_s"],
                    f"{m}.maxrss_growth_mb": res[m]["maxrss_growth_mb"]})
    run, x_bare = res["descend"]["out"], np.asarray(res["bare"]["out"])
    losses = jax.jit(jax.vmap(model.loss, in_axes=(0, None)))
    out["loss_start"] = np.asarray(losses(x0, data))
    out["loss_end_descend"] = run.loss
    out["loss_end_bare"] = np.asarray(losses(jnp.asarray(x_bare), data))
    out["max_abs_diff_x"] = np.abs(run.x.astype(np.float64) - x_bare).max()
    if "bare_ynn_off" in calls:
        out["max_abs_diff_x_ynn_off"] = np.abs(
            run.x.astype(np.float64) - np.asarray(res["bare_ynn_off"]["out"])).max()
    out["diverged"] = run.diverged.sum()
    out["loadavg"] = res["loadavg"]
    return out


def mlp_summary(cfg: Config, data: dict) -> dict:
    """Init-steps/s (network-steps/s) of descend and the bare program(s), the ratio
    descend ÷ bare against ``TARGET``, the parameter agreement and the training loss."""
    n, steps = int(data["mlp.n"]), cfg.mlp_steps
    ran = [m for m in METHODS if f"mlp.{m}.times_s" in data]
    best = {m: float(data[f"mlp.{m}.times_s"].min()) for m in ran}
    ratio = best["bare"] / best["descend"]
    paired = data["mlp.bare.times_s"] / data["mlp.descend.times_s"]  # round by round
    cpu = {m: float(data[f"mlp.{m}.cpu_s"].min()) for m in ran}
    diff = float(data["mlp.max_abs_diff_x"])
    out: dict[str, Any] = {
        "claim": "saddle.descend trains many networks within 10% of the speed of a bare "
                 "jit(vmap(scan)) of the same optax updates, to the same parameters",
        "sizes": list(cfg.mlp_sizes), "d": int(data["mlp.d"]),
        "data": f"sklearn digits, {int(data['mlp.rows'])} x {cfg.mlp_sizes[0]}, full batch",
        "networks": n, "steps": steps, "lr": cfg.mlp_lr, "repeats": cfg.mlp_repeats,
        "steps_per_s": {m: n * steps / best[m] for m in ran},
        "seconds_all": {m: data[f"mlp.{m}.times_s"].tolist() for m in ran},
        "compile_s": {m: max(0.0, float(data[f"mlp.{m}.first_s"]) - best[m]) for m in ran},
        "target": TARGET,
        "ratio_descend_over_bare": ratio,
        "met": bool(ratio >= TARGET),
        "ratio_paired_median": float(np.median(paired)),
        "ratio_paired_min_max": [float(paired.min()), float(paired.max())],
        "cpu_s_best": cpu,
        "ratio_descend_over_bare_cpu_time": cpu["bare"] / cpu["descend"],
        "ratio_paired_median_cpu_time": float(np.median(data["mlp.bare.cpu_s"]
                                                        / data["mlp.descend.cpu_s"])),
        "met_cpu_time": bool(cpu["bare"] / cpu["descend"] >= TARGET),
        "ratio_descend_over_bare_ynn_off": (best["bare_ynn_off"] / best["descend"]
                                            if "bare_ynn_off" in best else None),
        "max_abs_diff_x_descend_vs_bare": diff,
        "agree_atol": AGREE_ATOL,
        "final_points_agree": bool(diff <= AGREE_ATOL),
        "diverged": int(data["mlp.diverged"]),
        "mean_loss": {"start": float(data["mlp.loss_start"].mean()),
                      "end_descend": float(data["mlp.loss_end_descend"].mean()),
                      "end_bare": float(data["mlp.loss_end_bare"].mean())},
        "loadavg_1min_before_after": data["mlp.loadavg"].tolist(),
    }
    if "mlp.bare_ynn_off.skipped" in data:
        out["bare_ynn_off_skipped"] = str(data["mlp.bare_ynn_off.skipped"])
    return out
