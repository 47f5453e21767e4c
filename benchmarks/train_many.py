"""Training many networks at once: ``saddle.descend`` against ``torch.func`` and a PyTorch
loop, and its achieved FLOP rate against the machine's large-matmul rate.

Workload: ``networks`` digits MLPs (``benchmarks.mlp``: 64-32-10 tanh, mean softmax
cross-entropy over all 1797 examples, Glorot-normal starts) trained ``steps`` full-batch
SGD steps ``θ ← θ − lr ∇L`` from the same starts by ``descend`` (``optax.sgd``), by
``torch_mlp.train_func`` (all networks, ``torch.func``) and by ``torch_mlp.train_loop``
(the first ``loop_networks`` networks one after the other, extrapolated linearly to all).
The same run times ``jnp.dot`` of two ``matmul_n``² float32 matrices (2 n³ FLOP) for the
rate the machine's matmul reaches.

FLOP count (``step_flops``), per network and step, matmuls only (elementwise work is left
out): forward ``2 N Σ_l a_l b_l`` (layer l maps a_l → b_l, N examples), backward the same
for the weight gradients plus ``2 N Σ_{l≥2} a_l b_l`` for the gradients of the hidden
activations (the input needs none): 2.14 × the forward for 64-32-10, below the usual
"3 × forward" rule, which ``summary`` also states.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import saddle
from benchmarks import mlp
from benchmarks.baselines import torch_version
from benchmarks.timing import round_robin

if TYPE_CHECKING:
    from benchmarks.networks import Config

TARGETS = {"torch_func": 5.0, "torch_loop": 20.0, "matmul_fraction": 0.5}
LOSS_RTOL = 1e-4  # final losses of the same networks across implementations (float32)
METHODS = ("descend", "torch_func", "torch_loop", "matmul")


@functools.cache
def sgd(lr: float) -> optax.GradientTransformation:
    """One ``optax.sgd`` object per lr: descend caches its compiled program on it."""
    return optax.sgd(lr)


def step_flops(sizes: Sequence[int], rows: int) -> dict[str, int]:
    """Matmul FLOPs of one full-batch gradient step of one MLP (module docstring):
    ``forward``, ``backward``, ``total`` and ``three_x_forward`` (the rule of thumb)."""
    ab = [a * b for a, b in itertools.pairwise(sizes)]
    forward = 2 * rows * sum(ab)
    backward = 2 * rows * sum(ab) + 2 * rows * sum(ab[1:])
    return {"forward": forward, "backward": backward, "total": forward + backward,
            "three_x_forward": 3 * forward}


def train_study(cfg: Config, key: jax.Array) -> dict[str, np.ndarray]:
    """Time descend, torch.func, the torch loop and the reference matmul against each other
    (``timing.round_robin``) and keep the final losses of the loop's networks."""
    model = mlp.mlp(cfg.sizes)
    X, y = mlp.digits()
    data = (jnp.asarray(X), jnp.asarray(y))
    x0 = mlp.mlp_starts(key, cfg.networks, cfg.sizes)
    x0_np = np.asarray(x0)
    opt, steps, lr, k = sgd(cfg.lr), cfg.steps, cfg.lr, cfg.loop_networks
    a = jax.random.normal(jax.random.fold_in(key, 1), (cfg.matmul_n, cfg.matmul_n))
    b = jax.random.normal(jax.random.fold_in(key, 2), (cfg.matmul_n, cfg.matmul_n))
    dot = jax.jit(jnp.dot)
    calls: dict[str, Any] = {
        "descend": lambda: saddle.descend(model.loss, x0, opt, steps, data=data),
        "matmul": lambda: dot(a, b)}
    out: dict[str, Any] = {"d": model.dim, "rows": X.shape[0]}
    if not cfg.use_torch or torch_version() is None:
        why = "torch disabled (--no-use-torch)" if not cfg.use_torch else (
            "torch is not importable (install the bench extra)")
        out.update({"torch_func.skipped": why, "torch_loop.skipped": why})
    else:
        import torch

        from benchmarks import torch_mlp

        calls["torch_func"] = lambda: torch_mlp.train_func(x0_np, X, y, cfg.sizes, lr, steps)
        calls["torch_loop"] = lambda: torch_mlp.train_loop(x0_np[:k], X, y, cfg.sizes, lr,
                                                           steps)
        out["torch_threads"] = torch.get_num_threads()
    res = round_robin(calls, cfg.repeats)
    for m in calls:
        out[f"{m}.times_s"], out[f"{m}.first_s"] = res[m]["times_s"], res[m]["first_s"]
        out[f"{m}.cpu_s"] = res[m]["cpu_s"]
    losses = jax.jit(jax.vmap(model.loss, in_axes=(0, None)))
    run = res["descend"]["out"]
    out["loss_start"] = np.asarray(losses(x0[:k], data))
    out["loss_end.descend"] = run.loss[:k]
    out["loss_mean_end.descend"] = run.loss.mean()
    out["diverged"] = run.diverged.sum()
    for m in ("torch_func", "torch_loop"):
        if m in calls:  # the torch parameters, scored by the JAX loss (one yardstick)
            out[f"loss_end.{m}"] = np.asarray(losses(jnp.asarray(res[m]["out"][:k]), data))
    out["loadavg"] = res["loadavg"]
    return out


def train_summary(cfg: Config, data: dict) -> dict[str, Any]:
    """Median seconds and network-steps/s of each method, the ratios descend ÷ baseline and
    the FLOP-rate fraction against the targets, and the agreement of the final losses."""
    p = "train."
    ran = [m for m in METHODS if f"{p}{m}.times_s" in data]
    med = {m: float(np.median(data[f"{p}{m}.times_s"])) for m in ran}
    n, steps, k = cfg.networks, cfg.steps, cfg.loop_networks
    nets = {"descend": n, "torch_func": n, "torch_loop": k}
    sps = {m: nets[m] * steps / med[m] for m in ran if m in nets}
    flops = step_flops(cfg.sizes, int(data[f"{p}rows"]))
    rate = sps["descend"] * flops["total"]
    matmul_rate = 2 * cfg.matmul_n**3 / med["matmul"]
    ratios = {m: sps["descend"] / sps[m] for m in ("torch_func", "torch_loop") if m in sps}
    ratios["matmul_fraction"] = rate / matmul_rate
    targets = {m: {"target": t, "ratio": ratios.get(m),
                   "met": None if m not in ratios else bool(ratios[m] >= t)}
               for m, t in TARGETS.items()}
    end_d = data[f"{p}loss_end.descend"]
    diffs = {m: float(np.abs(data[f"{p}loss_end.{m}"] - end_d).max())
             for m in ("torch_func", "torch_loop") if f"{p}loss_end.{m}" in data}
    tol = LOSS_RTOL * float(np.abs(end_d).max())
    out: dict[str, Any] = {
        "workload": f"{n} MLPs {'-'.join(map(str, cfg.sizes))} (d = {int(data[f'{p}d'])}), "
                    f"sklearn digits full batch ({int(data[f'{p}rows'])} rows), SGD lr "
                    f"{cfg.lr}, {steps} steps, same starts in every implementation",
        "seconds_median": med,
        "seconds_all": {m: data[f"{p}{m}.times_s"].tolist() for m in ran},
        "cpu_seconds_median": {m: float(np.median(data[f"{p}{m}.cpu_s"])) for m in ran},
        "compile_or_warmup_s": {m: max(0.0, float(data[f"{p}{m}.first_s"]) - med[m])
                                for m in ran},
        "network_steps_per_s": sps,
        "torch_loop_extrapolated": f"{k} networks timed, scaled linearly to {n}",
        "ratios": ratios, "targets": targets,
        "flops_per_network_step": flops,
        "flops_note": "matmuls only: forward 2N·Σ a·b, backward 2N·Σ a·b (weight grads) + "
                      "2N·Σ_{l≥2} a·b (hidden-activation grads); elementwise ops left out; "
                      "'3 x forward' would give a rate 3/2.14 higher",
        "achieved_gflops": rate / 1e9,
        "matmul_gflops": matmul_rate / 1e9,
        "matmul": f"jnp.dot of two {cfg.matmul_n}x{cfg.matmul_n} float32 matrices, 2n^3 FLOP",
        "loss_start_mean": float(data[f"{p}loss_start"].mean()),
        "loss_end_mean_descend_all": float(data[f"{p}loss_mean_end.descend"]),
        "diverged": int(data[f"{p}diverged"]),
        "agreement": {"networks": k, "final_loss_max_abs_diff_vs_descend": diffs,
                      "tolerance": tol,
                      "agree": bool(diffs) and all(v <= tol for v in diffs.values())},
        "loadavg_1min_before_after": data[f"{p}loadavg"].tolist(),
    }
    if f"{p}torch_threads" in data:
        out["torch_threads"] = int(data[f"{p}torch_threads"])
    for m in ("torch_func", "torch_loop"):
        if f"{p}{m}.skipped" in data:
            out[f"{m}_skipped"] = str(data[f"{p}{m}.skipped"])
    return out


def plot_train(ax: Any, s: dict) -> None:
    """Bars: network-steps/s of each method (log), the matmul-rate line in the title."""
    names = [m for m in ("descend", "torch_func", "torch_loop") if m in s["network_steps_per_s"]]
    vals = [s["network_steps_per_s"][m] for m in names]
    ax.bar(range(len(names)), vals, color=["#1f78b4", "#999999", "#bbbbbb"][:len(names)])
    for i, m in enumerate(names):
        label = "" if m == "descend" else (f"{s['ratios'][m]:.3g}× slower\n(target "
                                           f"{TARGETS[m]:g}×)")
        ax.text(i, vals[i] * 1.1, f"{vals[i]:.3g}/s\n{label}", ha="center", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylim(min(vals) / 3, max(vals) * 10)
    ax.set_xticks(range(len(names)), ["saddle.descend", "torch.func\n(vmap)",
                                      "PyTorch loop"][:len(names)])
    ax.set_ylabel("network-steps / s")
    ax.set_title(f"{s['workload'].split(',')[0]}\ndescend {s['achieved_gflops']:.3g} GFLOP/s "
                 f"= {s['ratios']['matmul_fraction']:.0%} of matmul "
                 f"{s['matmul_gflops']:.3g} GFLOP/s (target 50%)", fontsize=8)
