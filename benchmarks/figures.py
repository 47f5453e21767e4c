"""The benchmark's figures, drawn from its summaries only."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.ratios import TARGETS

LABELS = {"vmap_scan": "bare\nvmap(scan)", "loop": "(a) loop\nof jit(scan)",
          "scipy_per_start": "(b) scipy\nper start", "scipy_per_eval": "(b) scipy\nper eval",
          "numpy_f32": "(c) NumPy\nfloat32", "numpy_f64": "(c) NumPy\nfloat64",
          "torch": "(d) torch\neager"}
TARGET_OF = {"loop": "loop", "scipy_per_start": "scipy", "numpy_f32": "numpy", "torch": "torch"}


def plot_ratios(ax: Any, name: str, s: dict) -> None:
    """Bars: descend's speed-up over each baseline on one workload, with the targets."""
    keys = [k for k in LABELS if s["ratios"].get(k) is not None]
    vals = [s["ratios"][k] for k in keys]
    colors = ["#999999" if k == "vmap_scan" else "#1f78b4" for k in keys]
    xs = np.arange(len(keys))
    ax.bar(xs, vals, color=colors, width=0.65)
    for x, k, v in zip(xs, keys, vals, strict=True):
        ax.text(x, v * 1.08, f"{v:.3g}×", ha="center", va="bottom", fontsize=7)
        if k in TARGET_OF:
            t = TARGETS[name][TARGET_OF[k]]
            ax.plot([x - 0.4, x + 0.4], [t, t], color="#d95f02", lw=2)
            ax.text(x + 0.42, t, f"{t:g}×", color="#d95f02", fontsize=6, va="center")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.plot([], [], color="#d95f02", lw=2, label="target")
    ax.set_yscale("log")
    ax.set_xticks(xs, [LABELS[k] for k in keys], fontsize=6.5)
    ax.set_ylabel("descend speed-up over the baseline (×)")
    d = s["d"]
    ax.set_title(f"{name} (d={d}), {s['n_starts']:,} starts × {s['steps']} Adam steps\n"
                 f"descend: {s['steps_per_s']['descend']:.3g} init-steps/s")
    lo = min([*vals, *(TARGETS[name].values()), 1.0])
    hi = max([*vals, *(TARGETS[name].values()), 1.0])
    ax.set_ylim(lo / 3, hi * 4)
    ax.legend(loc="upper right")
    ax.grid(True, axis="y", which="major", alpha=0.3)


def plot_scaling_n(ax_t: Any, ax_n: Any, chunk_size: int, steps: int, scaling: dict) -> None:
    """Seconds and init-steps/s against the number of starts, per workload."""
    for i, (name, s) in enumerate(scaling["n"].items()):
        pts = s["points"]
        n = np.array([p["n"] for p in pts], dtype=float)
        t = np.array([p["descend_seconds"] for p in pts])
        sps = np.array([p["descend_steps_per_s"] for p in pts])
        nps = np.array([p["numpy_f32_steps_per_s"] for p in pts])
        ax_t.loglog(n, t, "o-", color=f"C{i}", label=f"descend, {name}")
        ax_t.loglog(n, t[-1] * n / n[-1], ":", color=f"C{i}", lw=1)
        ax_n.loglog(n, sps, "o-", color=f"C{i}", label=f"descend, {name}")
        ax_n.loglog(n, nps, "s--", color=f"C{i}", alpha=0.6, ms=3.5,
                    label=f"NumPy float32, {name}")
        ax_n.axhline(sps[-1], color=f"C{i}", lw=0.8, ls=":")
        chunked = np.array([bool(p["chunk_size"]) for p in pts])
        if chunked.any():
            ax_t.loglog(n[chunked], t[chunked], "o", mfc="none", ms=9, color="k")
    ax_t.plot([], [], ":", color="gray", label="∝ n (linear cost)")
    if any(p["chunk_size"] for s in scaling["n"].values() for p in s["points"]):
        ax_t.plot([], [], "o", mfc="none", color="k", label=f"chunk_size={chunk_size:,}")
    ax_t.set_xlabel("starts n")
    ax_t.set_ylabel(f"wall seconds ({steps} steps)")
    ax_t.set_title("Cost vs number of starts")
    ax_t.legend(fontsize=7)
    ax_n.plot([], [], ":", color="gray", label="constant = linear cost")
    ax_n.set_xlabel("starts n")
    ax_n.set_ylabel("init-steps / s")
    ax_n.set_title("Throughput vs number of starts")
    ax_n.legend(fontsize=6.5, loc="upper left")
    for ax in (ax_t, ax_n):
        ax.grid(True, which="major", alpha=0.3)


def plot_scaling_d(ax: Any, scaling: dict) -> None:
    """Init-steps/s and coordinate-steps/s against Rastrigin's dimension."""
    ds = np.array(sorted(int(d) for d in scaling["d"]))
    rows = [scaling["d"][str(d)] for d in ds]
    ax.loglog(ds, [r["descend_steps_per_s"] for r in rows], "o-", color="C1",
              label="descend, init-steps/s")
    ax.loglog(ds, [r["descend_coord_steps_per_s"] for r in rows], "o--", color="C1",
              alpha=0.6, label="descend, coordinate-steps/s")
    ax.loglog(ds, [r["numpy_f32_steps_per_s"] for r in rows], "s-", color="C2",
              label="NumPy float32, init-steps/s")
    r0 = rows[0]["descend_steps_per_s"]
    ax.loglog(ds, r0 * ds[0] / ds, ":", color="gray", label="∝ 1/d")
    ax.set_xlabel("Rastrigin dimension d")
    ax.set_ylabel("per second")
    n = rows[0]["n"]
    ax.set_title(f"Throughput vs d ({n:,} starts)")
    ax.legend(fontsize=7)
    ax.grid(True, which="major", alpha=0.3)


def plot_cos(ax: Any, c: dict) -> None:
    """ns per element of each cos(2πx) implementation, with its float32 error."""
    ns = c["ns_per_element"]
    keys = list(ns)
    err = c["max_abs_error_vs_numpy_f64"]["x_in_[-5.12,5.12]"]
    colors = ["#1b9e77" if k.startswith("numpy") else "#d95f02" if k.startswith("jnp")
              else "#7570b3" for k in keys]
    ys = np.arange(len(keys))
    ax.barh(ys, [ns[k] for k in keys], color=colors)
    for y, k in zip(ys, keys, strict=True):
        e = err.get(k.replace("sincos", "sin")) if "f32" in k else None
        txt = f"{ns[k]:.2g} ns" + (f", err {e:.1e}" if e is not None else "")
        ax.text(ns[k] * 1.1, y, txt, va="center", fontsize=7)
    ax.set_yticks(ys, keys, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlim(min(ns.values()) / 2, max(ns.values()) * 8)
    ax.set_xlabel("ns per element (cos(2πx); sincos = both)")
    ax.set_title("XLA:CPU cos vs NumPy vs range reduction + polynomial")
    ax.invert_yaxis()
    ax.grid(True, axis="x", which="major", alpha=0.3)


def plot_engine(ax: Any, engine: dict | None, mlp: dict | None) -> None:
    """Bars: new ÷ frozen engine per workload and descend ÷ bare program on the MLPs
    (wall clock, best against best), the per-round ratios and the CPU-time ratio, with
    the 0.9 target ("within 10%")."""
    labels, vals, colors, spread, cpu = [], [], [], [], []
    for name, w in (engine or {}).get("workloads", {}).items():
        labels.append(f"descend ÷ legacy\n{name} (d={w['d']})")
        vals.append(w["ratio_new_over_legacy"])
        colors.append("#1f78b4")
        spread.append((w["ratio_paired_median"], *w["ratio_paired_min_max"]))
        cpu.append(w["ratio_new_over_legacy_cpu_time"])
    if mlp is not None:
        labels.append(f"descend ÷ bare\nMLP (d={mlp['d']})")
        vals.append(mlp["ratio_descend_over_bare"])
        colors.append("#33a02c")
        spread.append((mlp["ratio_paired_median"], *mlp["ratio_paired_min_max"]))
        cpu.append(mlp["ratio_descend_over_bare_cpu_time"])
        if mlp["ratio_descend_over_bare_ynn_off"] is not None:
            labels.append("descend ÷ bare\nwith descend's\nXLA option")
            vals.append(mlp["ratio_descend_over_bare_ynn_off"])
            colors.append("#b2df8a")
            spread.append(None)
            cpu.append(None)
    target = (engine or mlp or {}).get("target", 0.9)
    xs = np.arange(len(vals))
    ax.bar(xs, vals, color=colors, width=0.6)
    for x, v in zip(xs, vals, strict=True):
        ax.text(x - 0.1, v + 0.02, f"{v:.2f}", ha="right", va="bottom", fontsize=7)
    pts = [(x, s) for x, s in zip(xs, spread, strict=True) if s is not None]
    for i, (x, (med, lo, hi)) in enumerate(pts):
        ax.plot([x, x], [lo, hi], color="k", lw=1)
        ax.plot(x, med, "o", color="k", ms=3.5,
                label="median (range) of per-round ratios" if i == 0 else None)
    cx = [(x, c) for x, c in zip(xs, cpu, strict=True) if c is not None]
    if cx:
        ax.plot([x + 0.15 for x, _ in cx], [c for _, c in cx], "D", color="#e7298a", ms=4,
                label="best against best, CPU seconds")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhline(target, color="#d95f02", lw=1.5, ls="--", label=f"target {target:g}")
    ax.set_xticks(xs, labels, fontsize=6.5)
    ax.set_ylabel("speed ratio (init-steps/s)")
    ax.set_ylim(0, max([*vals, *(s[2] for _, s in pts), *(c for _, c in cx), 1.0]) * 1.25)
    ax.set_title("Engine speed targets (bars: wall clock, best of interleaved rounds)")
    ax.legend(loc="upper center", fontsize=7, ncols=3)
    ax.grid(True, axis="y", alpha=0.3)
