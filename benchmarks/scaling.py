"""How descend's cost grows with the number of starts n and the dimension d.

descend (and the fused NumPy float32 Adam beside it) at n = 10², 10³, ..., ``n_max``
(chunked above ``chunk_size``, whose final points must equal the unchunked run's on the
common starts), and on Rastrigin in each of ``scale_dims`` at ``scale_d_starts`` starts,
``scale_steps`` steps per point.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import jax.numpy as jnp
import numpy as np

import saddle
from benchmarks.baselines import adam, numpy_adam
from benchmarks.timing import timed
from benchmarks.workloads import Workload

if TYPE_CHECKING:
    from benchmarks.throughput import Config


def scale_ns(cfg: Config) -> list[int]:
    """The n of the scaling study: powers of ten from 100 up to ``n_max``, and ``n_max``."""
    ns = [10**k for k in range(2, 7) if 10**k <= cfg.n_max]
    return ns if ns[-1] == cfg.n_max else [*ns, cfg.n_max]


def scaling_point(cfg: Config, wl: Workload, x0: np.ndarray) -> dict[str, np.ndarray]:
    """descend and NumPy float32 at one (n, d), ``scale_steps`` steps."""
    n, steps = x0.shape[0], cfg.scale_steps
    chunk = cfg.chunk_size if n > cfg.chunk_size else None
    opt, xj = adam(cfg.lr), jnp.asarray(x0)
    reps = max(1, min(cfg.repeats, 2))
    d = timed(lambda: saddle.descend(wl.fn, xj, opt, steps, chunk_size=chunk), reps)
    np_steps = max(1, min(steps, cfg.baseline_steps))
    p = timed(lambda: numpy_adam(wl.grad_np, x0, np_steps, cfg.lr, np.float32), reps)
    return {"n": n, "d": wl.dim, "steps": steps, "chunk_size": chunk or 0,
            "descend_first_s": d["first_s"], "descend_times_s": d["times_s"],
            "descend_maxrss_growth_mb": d["maxrss_growth_mb"], "maxrss_mb": d["maxrss_mb"],
            "descend_x": d["out"].x[:1000], "numpy_steps": np_steps,
            "numpy_times_s": p["times_s"],
            "loadavg": d["loadavg"]}


def scaling_summary(cfg: Config, data: dict) -> dict:
    """Per n: seconds, init-steps/s, compile and memory; log-log slopes of seconds vs n;
    the chunked runs' largest deviation from the unchunked one. Per d: throughput."""
    out: dict[str, Any] = {"steps": cfg.scale_steps, "n": {}, "d": {}}
    for name in cfg.workloads:
        rows, ns = [], [int(n) for n in data["meta.scale_ns"]]
        for n in ns:
            p = f"scale_n.{name}.{n}"
            t = float(data[f"{p}.descend_times_s"].min())
            tn = float(data[f"{p}.numpy_times_s"].min()) * cfg.scale_steps / int(
                data[f"{p}.numpy_steps"])
            rows.append({"n": n, "chunk_size": int(data[f"{p}.chunk_size"]) or None,
                         "descend_seconds": t,
                         "descend_steps_per_s": n * cfg.scale_steps / t,
                         "descend_compile_s": max(0.0, float(data[f"{p}.descend_first_s"]) - t),
                         "descend_maxrss_growth_mb": float(
                             data[f"{p}.descend_maxrss_growth_mb"]),
                         "maxrss_mb": float(data[f"{p}.maxrss_mb"]),
                         "numpy_f32_steps_per_s": n * cfg.scale_steps / tn})
        big, small = rows[-1], rows[0]
        slope = (math.log(big["descend_seconds"] / small["descend_seconds"])
                 / math.log(big["n"] / small["n"])) if big["n"] > small["n"] else None
        # top decade: the slope where fixed costs no longer matter
        top = (math.log(rows[-1]["descend_seconds"] / rows[-2]["descend_seconds"])
               / math.log(rows[-1]["n"] / rows[-2]["n"])) if len(rows) > 1 else None
        chunk_diff = None
        for r in rows:  # chunked runs vs the largest unchunked run on the common starts
            if r["chunk_size"]:
                ref = [q for q in rows if not q["chunk_size"]][-1]["n"]
                a = data[f"scale_n.{name}.{r['n']}.descend_x"]
                b = data[f"scale_n.{name}.{ref}.descend_x"]
                k = min(len(a), len(b))
                chunk_diff = max(chunk_diff or 0.0, float(np.abs(a[:k] - b[:k]).max()))
        out["n"][name] = {"points": rows, "loglog_slope_seconds_vs_n": slope,
                          "slope_last_decade": top,
                          "chunked_max_abs_diff_vs_unchunked": chunk_diff}
    for d in cfg.scale_dims:
        p = f"scale_d.{d}"
        n = int(data[f"{p}.n"])
        t = float(data[f"{p}.descend_times_s"].min())
        tn = float(data[f"{p}.numpy_times_s"].min()) * cfg.scale_steps / int(
            data[f"{p}.numpy_steps"])
        out["d"][str(d)] = {"n": n, "descend_steps_per_s": n * cfg.scale_steps / t,
                            "descend_coord_steps_per_s": n * d * cfg.scale_steps / t,
                            "numpy_f32_steps_per_s": n * cfg.scale_steps / tn,
                            "ratio_vs_numpy_f32": tn / t}
    return out

