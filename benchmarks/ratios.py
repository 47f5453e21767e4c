"""descend against the baselines on one workload: init-steps per second and their ratios.

Methods, on the same starts and the same Adam update: ``descend``; ``vmap_scan`` (the
same ``jit(vmap(scan))`` without descend's per-step bookkeeping); ``loop`` (a Python loop
of a jitted single-start scan, over ``loop_starts`` starts); ``scipy_jax`` /
``scipy_numpy`` (L-BFGS-B per start, ``scipy_starts`` starts, to convergence);
``numpy_f32`` / ``numpy_f64`` and ``torch`` (all starts, ``baseline_steps`` steps);
on Rastrigin also ``descend_jnp_cos`` (descend on Rastrigin written with ``jnp.cos``).
Partial runs are extrapolated linearly to ``n_starts × steps`` and say so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tracemalloc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from benchmarks.baselines import (
    adam,
    adam_scan_one,
    numpy_adam,
    scipy_multistart,
    torch_adam,
    torch_version,
)
from benchmarks.timing import round_robin
from benchmarks.workloads import Workload, rastrigin_jnp_cos_fn, workload
from saddle.precision import float64

if TYPE_CHECKING:
    from benchmarks.throughput import Config

STORE_ROWS = 256  # final points kept per method, for the agreement checks
# descend ÷ baseline targets on a 2-core CPU (the brief of this benchmark)
TARGETS = {
    "himmelblau": {"loop": 50.0, "scipy": 30.0, "numpy": 3.0, "torch": 30.0},
    "rastrigin": {"loop": 2.0, "scipy": 10.0, "numpy": 0.7, "torch": 10.0},
}
TARGET_BASELINE = {  # which measured ratio each target is judged on
    "loop": "loop",
    "scipy": "scipy_per_start",  # the faster of the two scipy variants
    "numpy": "numpy_f32",  # same precision as descend
    "torch": "torch",
}
# methods whose final points are compared with descend's (when run for all steps)
SAME_WORK = ("vmap_scan", "loop", "numpy_f32", "numpy_f64", "torch", "descend_jnp_cos")


@dataclasses.dataclass(frozen=True)
class Method:
    """One baseline, ready to time: ``call()`` does the measured work; ``result`` turns its
    output into arrays to keep; ``context`` wraps every call (float64 for scipy + jax)."""

    call: Callable[[], Any]
    starts: int
    steps: int  # 0: to convergence
    result: Callable[[Any], dict]
    context: Callable[[], Any] = contextlib.nullcontext


def methods_for(name: str) -> tuple[str, ...]:
    base = ("descend", "vmap_scan", "loop", "scipy_jax", "scipy_numpy", "numpy_f32",
            "numpy_f64", "torch")
    return (*base, "descend_jnp_cos") if name == "rastrigin" else base


def prepare(method: str, cfg: Config, wl: Workload, x0: np.ndarray) -> Method | str:
    """The ``Method`` for one baseline on one workload, or why it is skipped."""
    n, steps, lr = x0.shape[0], cfg.steps, cfg.lr
    if method in ("descend", "descend_jnp_cos"):
        fn = rastrigin_jnp_cos_fn if method == "descend_jnp_cos" else wl.fn
        opt, xj = adam(lr), jnp.asarray(x0)
        return Method(lambda: saddle.descend(fn, xj, opt, steps), n, steps,
                      lambda run: {"x": run.x[:STORE_ROWS]})
    if method == "vmap_scan":
        program = jax.jit(jax.vmap(adam_scan_one(wl.fn, adam(lr), steps)))
        xj = jnp.asarray(x0)
        return Method(lambda: program(xj), n, steps,
                      lambda x: {"x": np.asarray(x)[:STORE_ROWS]})
    if method == "loop":
        one = jax.jit(adam_scan_one(wl.fn, adam(lr), steps))
        rows = list(x0[: cfg.loop_starts])
        return Method(lambda: [one(r) for r in rows], len(rows), steps,
                      lambda xs: {"x": np.stack(xs)[:STORE_ROWS]})
    if method in ("scipy_jax", "scipy_numpy"):
        try:
            import scipy  # noqa: F401
        except ImportError:
            return "scipy is not installed"
        sub = x0[: cfg.scipy_starts]
        keep = lambda out: {"x": out["x"][:STORE_ROWS], "nfev": out["nfev"],  # noqa: E731
                            "nit": out["nit"], "success": out["success"]}
        if method == "scipy_numpy":
            return Method(lambda: scipy_multistart(wl.value_grad_np, sub), len(sub), 0, keep)
        vg_jit = jax.jit(jax.value_and_grad(wl.fn))  # traced in float64 (the context)

        def vg(x: np.ndarray) -> tuple[float, np.ndarray]:
            v, g = vg_jit(x)
            return float(v), np.asarray(g)

        return Method(lambda: scipy_multistart(vg, sub), len(sub), 0, keep, float64)
    if method in ("numpy_f32", "numpy_f64"):
        dtype = np.float32 if method == "numpy_f32" else np.float64
        b_steps = cfg.baseline_steps

        def numpy_result(x: np.ndarray) -> dict:
            tracemalloc.start()  # a short extra run: NumPy's own peak (steady after 1 step)
            numpy_adam(wl.grad_np, x0, 2, lr, dtype)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            return {"x": x[:STORE_ROWS], "tracemalloc_mb": peak}

        return Method(lambda: numpy_adam(wl.grad_np, x0, b_steps, lr, dtype), n, b_steps,
                      numpy_result)
    if method == "torch":
        if not cfg.use_torch:
            return "torch disabled (--no-use-torch)"
        if torch_version() is None:
            return "torch is not importable (not a dependency of saddle)"
        import torch

        b_steps = cfg.baseline_steps
        return Method(lambda: torch_adam(wl.torch_loss, x0, b_steps, lr), n, b_steps,
                      lambda x: {"x": x[:STORE_ROWS], "threads": torch.get_num_threads()})
    raise ValueError(f"unknown method {method!r}")


def measure(cfg: Config, wl: Workload, x0: np.ndarray) -> dict[str, np.ndarray]:
    """Time every method on one workload (``timing.round_robin``; one ``ctx.stage``)."""
    methods, out = {}, {}
    for m in methods_for(wl.name):
        prepared = prepare(m, cfg, wl, x0)
        if isinstance(prepared, str):
            out[f"{m}.skipped"] = np.asarray(prepared)
        else:
            methods[m] = prepared
    res = round_robin({m: p.call for m, p in methods.items()}, cfg.repeats,
                      contexts={m: p.context for m, p in methods.items()})
    for m, p in methods.items():
        r = res[m]
        out.update({f"{m}.{k}": np.asarray(v) for k, v in p.result(r["out"]).items()})
        out[f"{m}.first_s"] = np.asarray(r["first_s"])
        out[f"{m}.times_s"] = r["times_s"]
        out[f"{m}.maxrss_growth_mb"] = np.asarray(r["maxrss_growth_mb"])
        out[f"{m}.starts"], out[f"{m}.steps"] = np.asarray(p.starts), np.asarray(p.steps)
    out["loadavg"] = res["loadavg"]
    return out


def method_summary(cfg: Config, data: dict, name: str, method: str) -> dict:
    """init-steps/s of one method at the full workload (extrapolated as recorded)."""
    p = f"{name}.{method}"
    if f"{p}.skipped" in data:
        return {"skipped": str(data[f"{p}.skipped"])}
    best = float(data[f"{p}.times_s"].min())
    starts_m, steps_m = int(data[f"{p}.starts"]), int(data[f"{p}.steps"])
    n, steps = cfg.n_starts, cfg.steps
    out: dict[str, Any] = {
        "measured_starts": starts_m,
        "measured_steps": steps_m if steps_m else "to convergence",
        "seconds_best": best,
        "seconds_all": data[f"{p}.times_s"].tolist(),
        "compile_s": max(0.0, float(data[f"{p}.first_s"]) - best),
        "maxrss_growth_mb": float(data[f"{p}.maxrss_growth_mb"]),
    }
    if method.startswith("scipy"):
        nfev = int(data[f"{p}.nfev"].sum())
        out.update(
            seconds_per_start=best / starts_m,
            seconds_per_eval=best / nfev,
            evals_per_s=nfev / best,
            mean_nfev=nfev / starts_m,
            mean_nit=float(data[f"{p}.nit"].mean()),
            success_rate=float(data[f"{p}.success"].mean()),
            seconds_full=best / starts_m * n,
            extrapolated=f"{starts_m} starts to convergence, cost per start x {n}",
        )
        return out
    full = best * (n / starts_m) * (steps / steps_m)
    out.update(seconds_full=full, steps_per_s=n * steps / full,
               extrapolated=(False if (starts_m, steps_m) == (n, steps) else
                             f"measured {starts_m} starts x {steps_m} steps, scaled to "
                             f"{n} x {steps} (cost linear in starts and steps)"))
    if f"{p}.tracemalloc_mb" in data:
        out["tracemalloc_peak_mb"] = float(data[f"{p}.tracemalloc_mb"])
    if f"{p}.threads" in data:
        out["threads"] = int(data[f"{p}.threads"])
    return out


def workload_summary(cfg: Config, data: dict, name: str) -> dict:
    """Every method's summary, the ratios descend ÷ baseline, the targets, and how far
    each same-work method's final points are from descend's."""
    methods = {m: method_summary(cfg, data, name, m) for m in methods_for(name)}
    d = methods["descend"]
    ratios: dict[str, float | None] = {}
    for m in ("vmap_scan", "loop", "numpy_f32", "numpy_f64", "torch", "descend_jnp_cos"):
        if m in methods:
            ok = "steps_per_s" in methods[m]
            ratios[m] = d["steps_per_s"] / methods[m]["steps_per_s"] if ok else None
    for m in ("scipy_jax", "scipy_numpy"):
        s = methods[m]
        ok = "seconds_per_start" in s
        ratios[f"{m}_per_start"] = (s["seconds_per_start"] / (d["seconds_full"] / cfg.n_starts)
                                    if ok else None)
        ratios[f"{m}_per_eval"] = (s["seconds_per_eval"] * d["steps_per_s"] if ok else None)
    for per in ("per_start", "per_eval"):  # against the faster scipy variant
        rs = [r for r in (ratios[f"scipy_jax_{per}"], ratios[f"scipy_numpy_{per}"])
              if r is not None]
        ratios[f"scipy_{per}"] = min(rs) if rs else None
    if "descend_jnp_cos" in ratios:  # descend ÷ descend with jnp.cos: the cos2pi gain
        ratios["cos2pi_speedup"] = ratios.pop("descend_jnp_cos")
    targets = {}
    for base, target in TARGETS[name].items():
        r = ratios[TARGET_BASELINE[base]]
        targets[base] = {"target": target, "ratio": r, "judged_on": TARGET_BASELINE[base],
                         "met": None if r is None else bool(r >= target)}
    agree = {}
    x_d = data[f"{name}.descend.x"]
    for m in SAME_WORK:  # only methods that ran every step (the rest stopped early)
        if f"{name}.{m}.x" in data and int(data[f"{name}.{m}.steps"]) == cfg.steps:
            x_m = data[f"{name}.{m}.x"]
            k = min(len(x_m), len(x_d))
            agree[m] = float(np.abs(x_m[:k].astype(np.float64) - x_d[:k]).max())
    return {"d": int(workload(name, cfg.rastrigin_dim).dim), "n_starts": cfg.n_starts,
            "loadavg_1min_before_after": data[f"{name}.loadavg"].tolist(),
            "steps": cfg.steps, "lr": cfg.lr,
            "steps_per_s": {m: s.get("steps_per_s") for m, s in methods.items()},
            "ratios": ratios, "targets": targets, "methods": methods,
            "max_abs_diff_final_x_vs_descend": agree}
