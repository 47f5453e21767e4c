"""Networks: training many MLPs at once, and their curvature, against PyTorch, as ratios.

Studies (``--studies``, both by default), on scikit-learn's digits (``benchmarks.mlp``:
64-32-10 tanh MLP, d = 2410, full batch):

  train      ``networks`` networks × ``steps`` SGD steps: ``saddle.descend`` ÷ the same
             training in ``torch.func`` (stack_module_state + vmap) and in a PyTorch loop
             over the networks (``loop_networks`` timed, extrapolated), same starts and
             data; descend's FLOP rate (matmuls counted analytically) ÷ the rate of a
             ``matmul_n``² float32 ``jnp.dot`` measured in the same run; the final losses
             of the loop's networks must agree. Targets: ≥ 5×, ≥ 20×, ≥ 50%.
             (``benchmarks.train_many``)
  curvature  λ_max and tr H of one trained network: ``saddle.curvature`` (Lanczos;
             Hutchinson, Hutch++) ÷ PyHessian (power iteration; Hutchinson) in seconds at
             equal accuracy against the dense float64 answer; target ≥ 10×. HVP cost ÷
             gradient cost. (``benchmarks.curvature``)

Cores: ``descend`` shards the networks over one XLA CPU device per core (the runner's
``--cpu-devices``, default 0 = one per core: ``saddle.use_cpu_cores``), as torch runs one
thread per core; the summary records the device count and torch's thread count.

Timing: ``benchmarks.timing.round_robin`` (one warm-up call each, then ``repeats`` rounds,
order reversed every other round); medians are reported. torch and PyHessian are optional
(the ``bench`` extra): missing, their baselines are skipped with a note.

Run: python -m benchmarks.networks          (results/networks/)
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import platform
import time
from typing import Any

import jax
import numpy as np

import saddle.experiment
from benchmarks import curvature, mlp, train_many
from benchmarks.baselines import torch_version
from benchmarks.throughput import _cpu_name
from saddle.experiment import field

STUDIES = ("train", "curvature")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    studies: tuple[str, ...] = field(STUDIES, "Studies to run.", choices=STUDIES)
    sizes: tuple[int, ...] = field(mlp.SIZES, "MLP widths, 64 (pixels) ... 10 (classes).",
                                   at_least=1)
    networks: int = field(256, "Networks trained at once.", at_least=1)
    steps: int = field(200, "Full-batch SGD steps per network.", at_least=1)
    lr: float = field(0.5, "SGD learning rate (training and the curvature point).", above=0)
    loop_networks: int = field(4, "Networks the PyTorch loop trains (extrapolated to all); "
                                  "their final losses are compared.", at_least=1)
    matmul_n: int = field(2048, "Size n of the reference n x n float32 matmul.", at_least=1)
    repeats: int = field(3, "Timed rounds of the train study (median reported).", at_least=1)
    use_torch: bool = field(True, "Measure torch / PyHessian where importable.")
    point_steps: int = field(200, "SGD steps that train the curvature point.", at_least=0)
    eig_rtol: float = field(1e-3, "Relative error of λ_max both methods must reach.", above=0)
    trace_rel_stderr: float = field(0.01, "Standard error of the trace estimates, relative "
                                          "to the trace.", above=0)
    seeds: int = field(5, "Random starts (Lanczos, power iteration) and Hutch++ sketches.",
                       at_least=1)
    lanczos_max: int = field(60, "Lanczos steps recorded for the error curve.", at_least=1)
    power_max: int = field(300, "Power iterations recorded for the error curve.", at_least=1)
    curv_repeats: int = field(3, "Timed rounds of the curvature study (median).", at_least=1)
    hvp_batch: int = field(32, "Products per call of the linearised HVP timing.", at_least=1)
    inner: int = field(20, "grad / hvp / λ_max calls per timing.", at_least=1)
    seed: int = field(0, "PRNG seed of the starts.")

    def __post_init__(self):
        saddle.experiment.check_fields(self)
        if not self.studies:
            raise ValueError(f"studies must name at least one of {STUDIES}")
        if len(self.sizes) < 2 or self.sizes[0] != 64 or self.sizes[-1] != 10:
            raise ValueError(f"sizes must run from 64 (digits' pixels) to 10 (classes), got "
                             f"{self.sizes}")
        if self.loop_networks > self.networks:
            raise ValueError(f"loop_networks must be <= networks={self.networks}, got "
                             f"{self.loop_networks}")


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    devices = jax.local_device_count()  # as main asked for (--cpu-devices)
    root = jax.random.PRNGKey(cfg.seed)
    jobs = {"train": ("train", lambda: train_many.train_study(cfg, jax.random.fold_in(root, 0))),
            "curvature": ("curv", lambda: curvature.curvature_study(
                cfg, jax.random.fold_in(root, 1)))}
    data: dict[str, np.ndarray] = {"devices": np.asarray(devices)}
    for study in ctx.progress(cfg.studies, desc="networks"):
        prefix, job = jobs[study]
        t = time.perf_counter()
        rec = ctx.stage(prefix, lambda job=job, t=t: {**job(),
                                                      "stage_wall_s": time.perf_counter() - t})
        data.update({f"{prefix}.{k}": np.asarray(v) for k, v in rec.items()})
    return data


def summarize(cfg: Config, data: dict) -> dict[str, Any]:
    dev = jax.devices()[0]
    out: dict[str, Any] = {
        "claim": "saddle trains many networks faster than torch.func and a PyTorch loop, near "
                 "the machine's matmul rate, and measures their curvature faster than "
                 "PyHessian at equal accuracy",
        "device": f"{dev.platform}:{dev.device_kind}", "cpu": _cpu_name(),
        "devices": int(data["devices"]) if "devices" in data else 1,
        "versions": {"jax": jax.__version__, "torch": torch_version(),
                     "pyhessian": _dist_version("pyhessian"),
                     "python": platform.python_version()},
    }
    checks, met = [], {}
    if "train" in cfg.studies:
        s = out["train"] = train_many.train_summary(cfg, data)
        out["train"]["stage_wall_s"] = float(data["train.stage_wall_s"])
        met.update({f"train_{k}": t["met"] for k, t in s["targets"].items()})
        if s["agreement"]["final_loss_max_abs_diff_vs_descend"]:
            checks.append(s["agreement"]["agree"])
    if "curvature" in cfg.studies:
        s = out["curvature"] = curvature.curvature_summary(cfg, data)
        out["curvature"]["stage_wall_s"] = float(data["curv.stage_wall_s"])
        met.update({f"curvature_{k}": t["met"] for k, t in s["targets"].items()})
        e = s["eigenvalue"]["rel_error_of_timed_call"]
        checks += [e[m] <= cfg.eig_rtol for m in ("saddle", "pyhessian") if m in e]
    out["targets_met"] = met
    ran = [v for v in met.values() if v is not None]
    out["verdict"] = saddle.experiment.verdict(
        ran, f"{sum(ran)} of {len(ran)} speed targets met; implementations agree: "
             f"{all(checks)} (final losses, errors of the timed eigenvalue calls)")
    out["same_answers"] = bool(all(checks))
    return out


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def plot(cfg: Config, data: dict) -> dict:
    import matplotlib as mpl

    from saddle.plot import PAPER_RC, figure

    figs = {}
    with mpl.rc_context(PAPER_RC):
        panels = [s for s in ("train", "curvature") if s in cfg.studies]
        fig, axes = figure(1, len(panels), width=5.2 * len(panels), height=3.8)
        for ax, s in zip(np.atleast_1d(axes), panels, strict=True):
            if s == "train":
                train_many.plot_train(ax, train_many.train_summary(cfg, data))
            else:
                curvature.plot_curvature(ax, cfg, data)
        figs["networks"] = fig
    return figs


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize, cpu_devices=0)  # one per core
