"""Why Rastrigin was slow on XLA:CPU, and what closes the gap: the cos and XLA-flag studies.

``cos_study``: ns per element of cos 2πx (and of sin and cos of a shared argument) in
NumPy, in ``jnp`` (plain and under per-jit XLA options) and in the library's
range-reduced polynomials ``cos2pi`` / ``sincos2pi``, and each one's max abs error
against float64 (reference from the exact x − round(x), so no rounding of 2π·x).
``flag_study``: descend's init-steps/s under each ``XLA_FLAGS`` set, each in a fresh
interpreter (XLA reads the flags once per process), with the final points compared
against the run without flags.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from benchmarks.baselines import adam
from benchmarks.timing import ns_per_element, timed
from benchmarks.workloads import TWO_PI, rastrigin_jnp_cos_fn, starts, workload
from saddle.objectives.classic import himmelblau_fn, rastrigin_fn
from saddle.objectives.trig import cos2pi, sincos2pi
from saddle.precision import float64

if TYPE_CHECKING:
    from benchmarks.throughput import Config

STORE_ROWS = 256  # final points kept per flag set, for the agreement check
# XLA:CPU options tried on jnp.cos, per jit (the same keys as XLA_FLAGS, without "--")
COS_OPTIONS = {
    "jnp_f32_cos_fast_math": {"xla_cpu_enable_fast_math": True},
    "jnp_f32_cos_fast_math_no_honor_functions": {
        "xla_cpu_enable_fast_math": True, "xla_cpu_fast_math_honor_functions": False},
    "jnp_f32_cos_platform_dependent_math": {"xla_cpu_enable_platform_dependent_math": True},
    "jnp_f32_cos_vector_width_512": {"xla_cpu_prefer_vector_width": 512},
}
COS_VARIANTS = (
    "numpy_f32_cos", "numpy_f32_sin", "numpy_f64_cos", "jnp_f32_cos", *COS_OPTIONS,
    "jnp_f32_sincos", "jnp_f64_cos", "poly_f32_cos", "poly_f32_sincos", "poly_f64_sincos",
)
FLAG_WORKLOADS = ("himmelblau", "rastrigin_jnp_cos", "rastrigin")


def _cos_2pi(x: jax.Array) -> jax.Array:
    return jnp.cos(2 * jnp.pi * x)


def _sincos_2pi(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jnp.sin(2 * jnp.pi * x), jnp.cos(2 * jnp.pi * x)


def cos_sin_2pi_f64(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference cos 2πx, sin 2πx in float64: x − round(x) is exact, so no 2π·x rounding
    (np.cos(2π·x) itself errs by ~1e-12 at |x| = 1000)."""
    r = x - np.round(x)
    return np.cos(TWO_PI * r), np.sin(TWO_PI * r)


def cos_study(elements: int, seed: int) -> dict[str, np.ndarray]:
    """ns per element of cos(2πx) (and of sin & cos of a shared argument) per implementation
    and XLA option on ``elements`` uniform points in [−5.12, 5.12], and the max abs error
    of each against float64 on grids of ``2·elements + 1`` points."""
    rng = np.random.default_rng(seed)
    x32 = rng.uniform(-5.12, 5.12, elements).astype(np.float32)
    xj, size = jnp.asarray(x32), x32.size
    arg32, buf32 = x32 * np.float32(TWO_PI), np.empty_like(x32)
    x64 = x32.astype(np.float64)
    arg64, buf64 = x64 * TWO_PI, np.empty_like(x64)
    jit_cos, jit_sincos = jax.jit(_cos_2pi), jax.jit(_sincos_2pi)
    poly_cos, poly_sincos = jax.jit(cos2pi), jax.jit(sincos2pi)
    fns: dict[str, Callable[[], Any]] = {
        "numpy_f32_cos": lambda: np.cos(arg32, out=buf32),
        "numpy_f32_sin": lambda: np.sin(arg32, out=buf32),
        "numpy_f64_cos": lambda: np.cos(arg64, out=buf64),
        "jnp_f32_cos": lambda: jit_cos(xj),
        "jnp_f32_sincos": lambda: jit_sincos(xj),
        "poly_f32_cos": lambda: poly_cos(xj),
        "poly_f32_sincos": lambda: poly_sincos(xj),
    }
    unsupported = []
    for name, options in COS_OPTIONS.items():
        f = jax.jit(_cos_2pi, compiler_options=options)
        try:  # an option this XLA does not know fails at compile time
            jax.block_until_ready(f(xj))
        except Exception:  # XlaRuntimeError, whose module moves between jax versions
            unsupported.append(name)
            continue
        fns[name] = lambda f=f: f(xj)
    ns = ns_per_element(fns, size)
    ns.update(dict.fromkeys(unsupported, math.nan))
    with float64():
        xj64 = jnp.asarray(x64)
        ns.update(ns_per_element({"jnp_f64_cos": lambda: jit_cos(xj64),
                                  "poly_f64_sincos": lambda: poly_sincos(xj64)}, size))
        grid64 = np.linspace(-1000.0, 1000.0, 2 * elements + 1)
        s64, c64 = (np.asarray(a) for a in jax.jit(sincos2pi)(jnp.asarray(grid64)))
    grid = 2 * elements + 1

    def errors(lo: float, hi: float) -> dict[str, float]:
        g = np.linspace(lo, hi, grid).astype(np.float32)
        c_true, s_true = cos_sin_2pi_f64(g.astype(np.float64))  # of the float32 inputs
        s, c = (np.asarray(a, np.float64) for a in poly_sincos(jnp.asarray(g)))
        js, jc = (np.asarray(a, np.float64) for a in jit_sincos(jnp.asarray(g)))
        npc = np.cos(g * np.float32(TWO_PI)).astype(np.float64)
        return {"poly_f32_cos": np.abs(c - c_true).max(), "poly_f32_sin": np.abs(s - s_true).max(),
                "jnp_f32_cos": np.abs(jc - c_true).max(), "jnp_f32_sin": np.abs(js - s_true).max(),
                "numpy_f32_cos": np.abs(npc - c_true).max()}

    out = {f"ns.{k}": np.asarray(ns[k]) for k in COS_VARIANTS}
    out.update({f"err_box.{k}": np.asarray(v) for k, v in errors(-5.12, 5.12).items()})
    out.update({f"err_wide.{k}": np.asarray(v) for k, v in errors(-1000.0, 1000.0).items()})
    c_true, s_true = cos_sin_2pi_f64(grid64)
    out["err_wide.poly_f64_cos"] = np.abs(c64 - c_true).max()
    out["err_wide.poly_f64_sin"] = np.abs(s64 - s_true).max()
    # ∂f/∂x_i of Rastrigin (2x + 20π sin 2πx) against float64, per coordinate
    g = np.linspace(-5.12, 5.12, grid).astype(np.float32)
    exact = 2 * g.astype(np.float64) + 20 * math.pi * cos_sin_2pi_f64(g.astype(np.float64))[1]
    for name, fn in (("poly_f32", rastrigin_fn), ("jnp_f32", rastrigin_jnp_cos_fn)):
        grad = jax.jit(jax.vmap(jax.grad(lambda t, fn=fn: fn(t[None]))))
        out[f"grad_err.{name}"] = np.abs(np.asarray(grad(jnp.asarray(g)), np.float64)
                                         - exact).max()
    return out


def flag_child(spec: dict) -> dict:
    """In a child process with XLA_FLAGS set: descend's init-steps/s on each workload."""
    key = jax.random.PRNGKey(spec["seed"])
    n, steps, out = spec["n"], spec["steps"], {}
    for name, fn in zip(FLAG_WORKLOADS, (himmelblau_fn, rastrigin_jnp_cos_fn, rastrigin_fn),
                        strict=True):
        wl = workload(name.split("_")[0], spec["dim"])
        xj, opt = jnp.asarray(starts(key, n, wl)), adam(spec["lr"])
        res = timed(lambda fn=fn, xj=xj, opt=opt: saddle.descend(fn, xj, opt, steps),
                    spec["repeats"])
        out[f"descend_{name}"] = n * steps / res["times_s"].min()
        out[f"x_{name}"] = np.asarray(res["out"].x[:STORE_ROWS]).tolist()
    return out


def flag_study(cfg: Config) -> dict[str, np.ndarray]:
    """descend under each ``XLA_FLAGS`` set, each in a fresh interpreter (XLA reads the
    flags once per process), the sets alternated for ``flag_rounds`` rounds; best kept."""
    spec = {"n": cfg.n_starts, "steps": cfg.scale_steps, "dim": cfg.rastrigin_dim,
            "lr": cfg.lr, "seed": cfg.seed, "repeats": 1}
    code = ("import json, sys; from benchmarks import cos_study as t; "
            "print(json.dumps(t.flag_child(json.loads(sys.argv[1]))))")
    root = Path(__file__).resolve().parents[1]
    out: dict[str, Any] = {}
    for _ in range(cfg.flag_rounds):
        for i, flags in enumerate(cfg.xla_flag_sets):
            env = dict(os.environ,
                       XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " " + flags).strip())
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
            proc = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], env=env,
                                  cwd=root, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                out[f"{i}.error"] = np.asarray(tail[-300:])
                continue
            for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items():
                key = f"{i}.{k}"
                v = np.asarray(v)
                out[key] = v if k.startswith("x_") else np.maximum(out.get(key, 0.0), v)
    return out


def flag_summary(cfg: Config, data: dict) -> list[dict]:
    """Per flag set: descend's init-steps/s per workload, its speed-up over no flags and
    the largest change of the final points (or the child's error)."""
    flags: list[dict] = []
    for i, f in enumerate(cfg.xla_flag_sets):
        p = f"flags.{i}."
        if f"{p}error" in data:
            flags.append({"xla_flags": f, "error": str(data[f"{p}error"])})
            continue
        entry: dict[str, Any] = {"xla_flags": f}
        for w in FLAG_WORKLOADS:
            entry[f"descend_{w}_steps_per_s"] = float(data[f"{p}descend_{w}"])
            ref = f"flags.0.x_{w}"
            if i and ref in data:
                entry[f"max_abs_diff_x_{w}_vs_no_flags"] = float(
                    np.abs(data[f"{p}x_{w}"] - data[ref]).max())
        flags.append(entry)
    if flags and "error" not in flags[0]:
        for e in flags[1:]:
            if "error" not in e:
                e["speedup_vs_no_flags"] = {
                    w: e[f"descend_{w}_steps_per_s"] / flags[0][f"descend_{w}_steps_per_s"]
                    for w in FLAG_WORKLOADS}
    return flags


def cos_summary(cfg: Config, data: dict, with_flags: bool) -> dict:
    """The cos study's headline numbers (and the flag study's, ``xla_flags``, if run)."""
    ns = {k: float(data[f"cos.ns.{k}"]) for k in COS_VARIANTS}
    errs = {scope: {k.split(".", 2)[-1]: float(v) for k, v in data.items()
                    if k.startswith(f"cos.{scope}.")} for scope in ("err_box", "err_wide")}
    return {
        "ns_per_element": ns,
        "elements": cfg.cos_elements,
        "jnp_over_numpy_f32_cos": ns["jnp_f32_cos"] / ns["numpy_f32_cos"],
        "jnp_sincos_over_poly_sincos": ns["jnp_f32_sincos"] / ns["poly_f32_sincos"],
        "poly_sincos_over_numpy_f32_cos": ns["poly_f32_sincos"] / ns["numpy_f32_cos"],
        "max_abs_error_vs_numpy_f64": {"x_in_[-5.12,5.12]": errs["err_box"],
                                       "x_in_[-1000,1000]": errs["err_wide"]},
        "rastrigin_grad_max_abs_error": {"poly_f32": float(data["cos.grad_err.poly_f32"]),
                                         "jnp_f32": float(data["cos.grad_err.jnp_f32"])},
        "jnp_cos_speedup_from_xla_options": {
            k: ns["jnp_f32_cos"] / ns[k] for k in COS_OPTIONS if math.isfinite(ns[k])},
        "xla_options": dict(COS_OPTIONS.items()),
        "xla_flags": flag_summary(cfg, data) if with_flags else [],
        "what_closes_the_gap": (
            "no XLA flag (fast-math, honor_functions, multi-thread) vectorises cos/sin on "
            "XLA:CPU; an exact range reduction + Taylor polynomial (cos2pi / sincos2pi, "
            "sin and cos from one reduction via a custom JVP) does, at better accuracy "
            "than float32 jnp.cos(2*pi*x); float64 is slower in both NumPy and XLA"),
    }
