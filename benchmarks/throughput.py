"""Throughput of ``saddle.descend`` against today's ways and against its own targets.

Claim: running many optimizations as one compiled ``jit(vmap(scan))`` program is what
makes multistart studies cheap, and descend's bookkeeping costs little on top of it.
Speed is init-steps per second (starts × steps / wall seconds; compilation excluded and
reported apart as ``compile_s``); every comparison runs in one process on the same
starts and the same optax Adam update (b1 = 0.9, b2 = 0.999, eps = 1e-8), timed
against each other: one warm-up call each, then interleaved rounds (order reversed
every other round), best round kept. The machine may be shared (``loadavg_1min``):
single timings vary ~1.5× (descend, NumPy) to 2-10× (torch, scipy, Python loop).

Studies (``--studies``, all by default):

  ratios   descend ÷ baseline on Himmelblau (d = 2) and Rastrigin (``--rastrigin-dim``),
           ``n_starts`` uniform starts × ``steps``, lr ``--lr``: (a) a Python loop of a
           jitted single-start scan, (b) scipy L-BFGS-B per start (float64, jitted jax
           or NumPy gradient; to its own tolerances, so per start and per evaluation),
           (c) Adam hand-fused in NumPy float32/float64, (d) PyTorch eager (if
           importable), the bare ``vmap_scan`` (descend without bookkeeping) and, on
           Rastrigin, descend with ``jnp.cos`` (``cos2pi_speedup``). (a) runs
           ``loop_starts``, (b) ``scipy_starts`` starts, (c) (d) ``baseline_steps`` steps;
           extrapolated linearly, as summary.json says (``extrapolated``).
  scaling  descend and NumPy float32 at n = 10², ..., ``n_max`` (chunked above
           ``chunk_size``: final points must equal the unchunked run's), and Rastrigin
           in each of ``scale_dims``; ``scale_steps`` steps per point.
  cos      ns per element of cos 2πx in NumPy, jnp (and under per-jit XLA options) and
           the library's ``cos2pi``/``sincos2pi``, with their errors against float64.
  flags    descend under each ``xla_flag_sets`` entry, in child processes.
  engine   ``saddle.descend`` ÷ the frozen engine ``benchmarks/legacy_descend.py``
           (init-steps/s, ``engine_repeats`` rounds) on the ratios workloads; target
           ≥ 0.9 ("within 10% of today's"); the final points must agree.
  mlp      a 64-32-10 tanh MLP on scikit-learn's digits (full batch, d = 2410),
           ``mlp_networks`` networks × ``mlp_steps`` Adam steps: descend ÷ the bare
           ``jit(vmap(scan))`` of the same updates; target ≥ 0.9; same parameters.

Figures: throughput_ratios, throughput_scaling, throughput_cos, throughput_engine (each
when its study ran). Runtime on 2 CPU cores shared with other jobs (load 4-6): about
6 minutes with the defaults, ``--studies engine mlp`` about 3 minutes.

Run: python -m benchmarks.throughput
     python -m benchmarks.throughput --studies engine mlp
     python -m benchmarks.throughput --n-max 1000000 --repeats 5 --mlp-steps 200
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
import optax

import saddle.experiment
from benchmarks import cos_study, engine, mlp, ratios, scaling
from benchmarks.baselines import torch_version
from benchmarks.workloads import WORKLOADS, starts, workload

STUDIES = ("ratios", "scaling", "cos", "flags", "engine", "mlp")
DEFAULT_FLAG_SETS = ("", "--xla_cpu_experimental_ynn_fusion_type=")
# kept importable from here: the targets the ratios study is judged on
TARGETS = ratios.TARGETS


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    studies: tuple[str, ...] = dataclasses.field(
        default=STUDIES, metadata={"help": f"studies to run, of {STUDIES}"}
    )
    workloads: tuple[str, ...] = dataclasses.field(
        default=WORKLOADS, metadata={"help": f"workloads of the ratios, scaling-in-n and "
                                             f"engine studies, of {WORKLOADS}"}
    )
    rastrigin_dim: int = dataclasses.field(default=10, metadata={"help": "d of Rastrigin"})
    n_starts: int = dataclasses.field(default=10_000, metadata={"help": "starts per workload"})
    steps: int = dataclasses.field(default=1000, metadata={"help": "Adam steps per start"})
    lr: float = dataclasses.field(default=1e-2, metadata={"help": "Adam learning rate"})
    repeats: int = dataclasses.field(
        default=3, metadata={"help": "timed rounds after the warm-up; the best is reported"}
    )
    loop_starts: int = dataclasses.field(
        default=1000, metadata={"help": "starts the Python-loop baseline runs (extrapolated)"}
    )
    scipy_starts: int = dataclasses.field(
        default=100, metadata={"help": "starts the scipy baselines run (extrapolated)"}
    )
    baseline_steps: int = dataclasses.field(
        default=100, metadata={"help": "steps the NumPy and torch baselines run (extrapolated)"}
    )
    use_torch: bool = dataclasses.field(
        default=True, metadata={"help": "measure PyTorch eager if importable"}
    )
    n_max: int = dataclasses.field(
        default=100_000, metadata={"help": "largest n of the scaling study (10^6: slow)"}
    )
    chunk_size: int = dataclasses.field(
        default=50_000, metadata={"help": "descend chunk_size for scaling points above it"}
    )
    scale_steps: int = dataclasses.field(
        default=50, metadata={"help": "steps per start in the scaling and flag studies"}
    )
    scale_dims: tuple[int, ...] = dataclasses.field(
        default=(2, 10, 100), metadata={"help": "Rastrigin dimensions of the d scaling"}
    )
    scale_d_starts: int = dataclasses.field(
        default=10_000, metadata={"help": "starts per point of the d scaling"}
    )
    cos_elements: int = dataclasses.field(
        default=1 << 20, metadata={"help": "array size of the cos micro-benchmarks"}
    )
    xla_flag_sets: tuple[str, ...] = dataclasses.field(
        default=DEFAULT_FLAG_SETS,
        metadata={"help": "XLA_FLAGS sets descend is timed under, in child processes "
                          "('' = none)"},
    )
    flag_rounds: int = dataclasses.field(
        default=2, metadata={"help": "rounds over the XLA_FLAGS sets, best kept (0: skip)"}
    )
    engine_repeats: int = dataclasses.field(
        default=20, metadata={"help": "interleaved rounds of new vs legacy engine"}
    )
    mlp_sizes: tuple[int, ...] = dataclasses.field(
        default=mlp.SIZES, metadata={"help": "MLP layer widths (64 inputs ... 10 classes)"}
    )
    mlp_networks: int = dataclasses.field(
        default=64, metadata={"help": "networks trained at once in the mlp study"}
    )
    mlp_steps: int = dataclasses.field(
        default=100, metadata={"help": "full-batch Adam steps per network"}
    )
    mlp_lr: float = dataclasses.field(default=1e-3, metadata={"help": "MLP Adam learning rate"})
    mlp_repeats: int = dataclasses.field(
        default=5, metadata={"help": "interleaved rounds of descend vs the bare program"}
    )
    seed: int = dataclasses.field(default=0, metadata={"help": "PRNG seed of the starts"})

    def __post_init__(self):
        bad = [s for s in self.studies if s not in STUDIES]
        if not self.studies or bad or len(set(self.studies)) != len(self.studies):
            raise ValueError(f"studies must be distinct names of {STUDIES}, got {self.studies}")
        bad = [w for w in self.workloads if w not in WORKLOADS]
        if not self.workloads or bad:
            raise ValueError(f"workloads must be a non-empty subset of {WORKLOADS}, got "
                             f"{self.workloads}")
        positive = ("rastrigin_dim", "n_starts", "steps", "repeats", "loop_starts",
                    "scipy_starts", "baseline_steps", "chunk_size", "scale_steps",
                    "scale_d_starts", "cos_elements", "engine_repeats", "mlp_networks",
                    "mlp_steps", "mlp_repeats")
        for name in positive:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        for name in ("lr", "mlp_lr"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v}")
        for name in ("loop_starts", "scipy_starts"):
            if getattr(self, name) > self.n_starts:
                raise ValueError(f"{name} must be <= n_starts={self.n_starts}, got "
                                 f"{getattr(self, name)}")
        if self.baseline_steps > self.steps:
            raise ValueError(f"baseline_steps must be <= steps={self.steps}, got "
                             f"{self.baseline_steps}")
        if not isinstance(self.n_max, int) or self.n_max < 100:
            raise ValueError(f"n_max must be an int >= 100, got {self.n_max!r}")
        if not self.scale_dims or min(self.scale_dims) < 1:
            raise ValueError(f"scale_dims must be a non-empty tuple of ints >= 1, got "
                             f"{self.scale_dims}")
        if isinstance(self.flag_rounds, bool) or not isinstance(self.flag_rounds, int) or (
                self.flag_rounds < 0):
            raise ValueError(f"flag_rounds must be an int >= 0, got {self.flag_rounds!r}")
        if any(not isinstance(f, str) for f in self.xla_flag_sets):
            raise ValueError(f"xla_flag_sets must be strings, got {self.xla_flag_sets}")
        s = self.mlp_sizes
        if len(s) < 2 or s[0] != 64 or s[-1] != 10 or min(s) < 1:
            raise ValueError(f"mlp_sizes must run from 64 (digits' pixels) to 10 (classes) "
                             f"through widths >= 1, got {s}")

    def runs(self, study: str) -> bool:
        """Whether ``study`` runs (flags also need ``flag_rounds`` and a flag set)."""
        if study == "flags":
            return "flags" in self.studies and bool(self.flag_rounds and self.xla_flag_sets)
        return study in self.studies


# ----------------------------------------------------------------------------- run
def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    data: dict[str, np.ndarray] = {}
    jobs: list[tuple[str, Callable[[], dict]]] = []
    loads = {name: workload(name, cfg.rastrigin_dim) for name in cfg.workloads}
    x0s = {name: starts(jax.random.fold_in(root, WORKLOADS.index(name)), cfg.n_starts, wl)
           for name, wl in loads.items()}
    if cfg.runs("ratios"):
        for name, wl in loads.items():
            jobs.append((name, lambda wl=wl, x0=x0s[name]: ratios.measure(cfg, wl, x0)))
    if cfg.runs("engine"):
        for name, wl in loads.items():
            jobs.append((f"engine.{name}",
                         lambda wl=wl, x0=x0s[name]: engine.engine_study(cfg, wl, x0)))
    if cfg.runs("mlp"):
        jobs.append(("mlp", lambda: mlp.mlp_study(cfg, jax.random.fold_in(root, 300))))
    if cfg.runs("scaling"):
        for name, wl in loads.items():
            x_all = starts(jax.random.fold_in(root, 100 + WORKLOADS.index(name)), cfg.n_max, wl)
            for n in scaling.scale_ns(cfg):
                jobs.append((f"scale_n.{name}.{n}",
                             lambda wl=wl, x=x_all[:n]: scaling.scaling_point(cfg, wl, x)))
        for d in cfg.scale_dims:
            wl = workload("rastrigin", d)
            x0 = starts(jax.random.fold_in(root, 200 + d), cfg.scale_d_starts, wl)
            jobs.append((f"scale_d.{d}",
                         lambda wl=wl, x0=x0: scaling.scaling_point(cfg, wl, x0)))
        data["meta.scale_ns"] = np.asarray(scaling.scale_ns(cfg))
    if cfg.runs("cos"):
        jobs.append(("cos", lambda: cos_study.cos_study(cfg.cos_elements, cfg.seed)))
    if cfg.runs("flags"):
        jobs.append(("flags", lambda: cos_study.flag_study(cfg)))

    def clocked(job: Callable[[], dict]) -> dict:
        t = time.perf_counter()
        rec = job()
        return {**rec, "stage_wall_s": time.perf_counter() - t}

    for name, job in ctx.progress(jobs, total=len(jobs), desc="throughput"):
        rec = ctx.stage(name.replace(".", "_"), lambda job=job: clocked(job))
        data.update({f"{name}.{k}": np.asarray(v) for k, v in rec.items()})
    return data


# ----------------------------------------------------------------------------- summary
def summarize(cfg: Config, data: dict) -> dict:
    dev = jax.devices()[0]
    tv = torch_version()
    out: dict[str, Any] = {
        "claim": "saddle.descend (one jit(vmap(scan))) vs loop, scipy, NumPy and torch "
                 "multistart, vs its frozen predecessor and vs a bare jit(vmap(scan)), in "
                 "init-steps per second",
        "studies": list(cfg.studies),
        "device": f"{dev.platform}:{dev.device_kind}",
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "versions": {"jax": jax.__version__, "jaxlib": _version("jaxlib"),
                     "numpy": np.__version__, "optax": optax.__version__,
                     "scipy": _version("scipy"), "torch": tv,
                     "python": platform.python_version()},
        "xla_flags_env": os.environ.get("XLA_FLAGS", ""),
    }
    verdict: dict[str, Any] = {}
    if cfg.runs("engine"):
        out["engine"] = engine.engine_summary(cfg, data)
        verdict["engine_within_10pct_of_legacy"] = {
            name: w["met"] for name, w in out["engine"]["workloads"].items()}
        verdict["engine_within_10pct_of_legacy_cpu_time"] = {
            name: w["met_cpu_time"] for name, w in out["engine"]["workloads"].items()}
        verdict["engine_same_final_points"] = out["engine"]["all_agree"]
    if cfg.runs("mlp"):
        out["mlp"] = mlp.mlp_summary(cfg, data)
        verdict["mlp_descend_within_10pct_of_bare"] = out["mlp"]["met"]
        verdict["mlp_descend_within_10pct_of_bare_cpu_time"] = out["mlp"]["met_cpu_time"]
        verdict["mlp_same_final_parameters"] = out["mlp"]["final_points_agree"]
    if verdict:
        out["verdict"] = verdict
    if cfg.runs("ratios"):
        work = {name: ratios.workload_summary(cfg, data, name) for name in cfg.workloads}
        out["workloads"] = work
        out["targets_met"] = {name: {b: t["met"] for b, t in w["targets"].items()}
                              for name, w in work.items()}
    if cfg.runs("scaling"):
        out["scaling"] = scaling.scaling_summary(cfg, data)
    if cfg.runs("cos"):
        out["cos_gap"] = cos_study.cos_summary(cfg, data, with_flags=cfg.runs("flags"))
    elif cfg.runs("flags"):
        out["cos_gap"] = {"xla_flags": cos_study.flag_summary(cfg, data)}
    out["notes"] = _notes(cfg, tv)
    return out


def _notes(cfg: Config, tv: str | None) -> list[str]:
    notes = [
        "every comparison: one warm-up call per method (compile_s = warm-up minus best), "
        "then interleaved rounds (order reversed every other round), best round kept, so "
        "a change in load falls on all methods alike; the machine may be shared "
        "(loadavg_1min), and single timings vary by up to ~2x (torch and the Python loop "
        "most)",
        "memory: maxrss_growth_mb = rise of the process's ru_maxrss over a method's first "
        "call (a lower bound: 0 when it fit in memory touched before); maxrss_mb = the "
        "high-water mark after each scaling point (n increasing); tracemalloc_peak_mb = "
        "NumPy's traced peak (exact for NumPy, blind to XLA and torch)",
    ]
    if cfg.runs("ratios"):
        notes += [
            "ratio = descend init-steps/s / baseline init-steps/s (> 1: descend faster); "
            "for scipy, seconds per start (to convergence) / descend seconds per start, and "
            "seconds per gradient evaluation / descend seconds per init-step",
            f"loop: {cfg.loop_starts} starts, scipy: {cfg.scipy_starts} starts, "
            "extrapolated linearly to n_starts",
            f"numpy and torch: all starts, {cfg.baseline_steps} steps, extrapolated linearly "
            f"to {cfg.steps} steps",
            "descend also computes the loss, gradient norm, divergence and convergence of "
            "every run at every step; the baselines compute only the gradient and Adam",
        ]
        if tv is None:
            notes.append("torch is not importable: baseline (d) skipped (torch is not a "
                         "dependency; pip install torch to measure it)")
    if cfg.runs("engine") or cfg.runs("mlp"):
        notes.append("engine and mlp: verdicts on wall-clock init-steps/s (best against best) "
                     "and on CPU seconds over all threads (best against best); when the "
                     "1-minute load exceeds the core count, other processes inflate wall "
                     "seconds; the CPU-time ratios, and most of all the median over rounds "
                     "of the within-round CPU-time ratio (ratio_paired_median_cpu_time), "
                     "are then the steadier estimates (they cannot see a loss of "
                     "parallelism, though)")
    if cfg.runs("engine"):
        notes.append("engine: ratio = saddle.descend init-steps/s / legacy_descend's (the "
                     "engine frozen at commit d1c631a); when new_is_legacy_code is true "
                     "both run the same code and the ratio only shows the harness's noise")
    return notes


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except ImportError:
        return None


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


# ----------------------------------------------------------------------------- figures
def plot(cfg: Config, data: dict) -> dict:
    import matplotlib as mpl

    from benchmarks import figures
    from saddle.plot import PAPER_RC, figure

    figs = {}
    with mpl.rc_context(PAPER_RC):
        if cfg.runs("ratios"):
            fig, axes = figure(1, len(cfg.workloads), width=5.6 * len(cfg.workloads),
                               height=3.8)
            for ax, name in zip(np.atleast_1d(axes), cfg.workloads, strict=True):
                figures.plot_ratios(ax, name, ratios.workload_summary(cfg, data, name))
            figs["throughput_ratios"] = fig
        if cfg.runs("scaling"):
            s = scaling.scaling_summary(cfg, data)
            fig, (ax_t, ax_n, ax_d) = figure(1, 3, width=13.0, height=3.8)
            figures.plot_scaling_n(ax_t, ax_n, cfg.chunk_size, cfg.scale_steps, s)
            figures.plot_scaling_d(ax_d, s)
            figs["throughput_scaling"] = fig
        if cfg.runs("cos"):
            fig, ax = figure(1, 1, width=6.0, height=3.6)
            figures.plot_cos(ax, cos_study.cos_summary(cfg, data, with_flags=False))
            figs["throughput_cos"] = fig
        if cfg.runs("engine") or cfg.runs("mlp"):
            fig, ax = figure(1, 1, width=6.0, height=3.6)
            figures.plot_engine(ax, engine.engine_summary(cfg, data) if cfg.runs("engine")
                                else None,
                                mlp.mlp_summary(cfg, data) if cfg.runs("mlp") else None)
            figs["throughput_engine"] = fig
    return figs


if __name__ == "__main__":
    # one device (the default): the bare jit(vmap(scan)) baselines are not sharded
    saddle.experiment.main(Config, run, plot, summarize)
