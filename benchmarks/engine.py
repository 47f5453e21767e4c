"""The engine against its frozen predecessor: ``saddle.descend`` vs ``legacy_descend.descend``.

Both run the same Adam (``lr``) from the same starts on one workload for ``steps`` steps;
they are timed against each other (``timing.round_robin``, best of ``engine_repeats``
interleaved rounds) and their final points, losses and flags are compared. The ratio
new ÷ legacy (init-steps/s, best against best) is judged against ``TARGET``: "within 10%
of today's"; beside it, the median over rounds of the ratio within a round, and the
ratio of best CPU seconds (all threads), which a loaded machine does not inflate as it
does wall seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax.numpy as jnp
import numpy as np

import saddle
import saddle.descent
from benchmarks import legacy_descend
from benchmarks.baselines import adam
from benchmarks.timing import round_robin
from benchmarks.workloads import Workload

if TYPE_CHECKING:
    from benchmarks.throughput import Config

TARGET = 0.9  # new ÷ legacy init-steps/s: at most 10% slower than the frozen engine
AGREE_ATOL = 1e-4  # final points of the two engines: same Adam updates, float32
# The new engine passes the optimizer's numbers to the program as data, the frozen one
# compiles them in; in float32 the two round differently in the last bit, and a run that
# hovers near a minimum (Adam moves ~lr a step) can end up to ~lr away. So: every start
# within lr, at most this share of starts beyond AGREE_ATOL, the same diverged runs.
AGREE_SHARE = 1e-3
ENGINES = ("new", "legacy")


def new_is_legacy() -> bool:
    """Whether ``saddle/descent.py`` is still the frozen copy (then the ratio must be ≈ 1:
    a check of the harness, not of an engine)."""
    frozen = Path(legacy_descend.__file__).read_text().split("\n", 2)[2]  # minus the header
    return Path(saddle.descent.__file__).read_text() == frozen


def engine_study(cfg: Config, wl: Workload, x0: np.ndarray) -> dict[str, np.ndarray]:
    """Time both engines on ``x0 [n, d]`` and compare their results over all starts."""
    opt, xj, steps = adam(cfg.lr), jnp.asarray(x0), cfg.steps
    calls = {"new": lambda: saddle.descend(wl.fn, xj, opt, steps),
             "legacy": lambda: legacy_descend.descend(wl.fn, xj, opt, steps)}
    res = round_robin(calls, cfg.engine_repeats)
    out: dict[str, Any] = {"loadavg": res["loadavg"], "n": x0.shape[0], "d": wl.dim,
                           "new_is_legacy_code": new_is_legacy()}
    for e in ENGINES:
        out.update({f"{e}.first_s": res[e]["first_s"], f"{e}.times_s": res[e]["times_s"],
                    f"{e}.cpu_s": res[e]["cpu_s"],
                    f"{e}.maxrss_growth_mb": res[e]["maxrss_growth_mb"]})
    new, old = res["new"]["out"], res["legacy"]["out"]
    out["max_abs_diff_x"] = np.abs(new.x.astype(np.float64) - old.x).max()
    out["max_abs_diff_loss"] = np.abs(new.loss.astype(np.float64) - old.loss).max()
    out["n_x_differ"] = np.sum(np.abs(new.x - old.x).max(axis=1) > AGREE_ATOL)
    out["converged_mismatch"] = np.sum(new.converged != old.converged)
    out["diverged_mismatch"] = np.sum(new.diverged != old.diverged)
    return out


def engine_summary(cfg: Config, data: dict) -> dict:
    """Per workload: both engines' init-steps/s, ratio new ÷ legacy, whether it meets
    ``TARGET``, and how far their results are apart."""
    work = {}
    for name in cfg.workloads:
        p = f"engine.{name}."
        n, steps = int(data[f"{p}n"]), cfg.steps
        best = {e: float(data[f"{p}{e}.times_s"].min()) for e in ENGINES}
        ratio = best["legacy"] / best["new"]
        cpu = {e: float(data[f"{p}{e}.cpu_s"].min()) for e in ENGINES}
        paired = data[f"{p}legacy.times_s"] / data[f"{p}new.times_s"]  # round by round
        agree = (float(data[f"{p}max_abs_diff_x"]) <= cfg.lr
                 and int(data[f"{p}n_x_differ"]) <= AGREE_SHARE * n
                 and int(data[f"{p}diverged_mismatch"]) == 0)
        work[name] = {
            "d": int(data[f"{p}d"]), "n_starts": n, "steps": steps,
            "steps_per_s": {e: n * steps / best[e] for e in ENGINES},
            "seconds_all": {e: data[f"{p}{e}.times_s"].tolist() for e in ENGINES},
            "compile_s": {e: max(0.0, float(data[f"{p}{e}.first_s"]) - best[e])
                          for e in ENGINES},
            "ratio_new_over_legacy": ratio,
            "met": bool(ratio >= TARGET),
            "ratio_paired_median": float(np.median(paired)),
            "ratio_paired_min_max": [float(paired.min()), float(paired.max())],
            "cpu_s_best": cpu,
            "ratio_new_over_legacy_cpu_time": cpu["legacy"] / cpu["new"],
            "ratio_paired_median_cpu_time": float(np.median(
                data[f"{p}legacy.cpu_s"] / data[f"{p}new.cpu_s"])),
            "met_cpu_time": bool(cpu["legacy"] / cpu["new"] >= TARGET),
            "max_abs_diff_x": float(data[f"{p}max_abs_diff_x"]),
            "max_abs_diff_loss": float(data[f"{p}max_abs_diff_loss"]),
            "starts_x_differ": int(data[f"{p}n_x_differ"]),
            "converged_mismatch": int(data[f"{p}converged_mismatch"]),
            "diverged_mismatch": int(data[f"{p}diverged_mismatch"]),
            "final_points_agree": bool(agree),
            "loadavg_1min_before_after": data[f"{p}loadavg"].tolist(),
        }
    return {
        "claim": "saddle.descend runs within 10% of the frozen engine (benchmarks/"
                 "legacy_descend.py) and ends at the same points",
        "target": TARGET, "agree_atol": AGREE_ATOL, "agree_share": AGREE_SHARE, "lr": cfg.lr,
        "agreement": "every start within lr, at most agree_share of them beyond agree_atol, "
                     "the same diverged runs (numbers passed as data round differently "
                     "from compiled-in constants in float32)",
        "repeats": cfg.engine_repeats,
        "new_is_legacy_code": all(bool(data[f"engine.{w}.new_is_legacy_code"])
                                  for w in cfg.workloads),
        "workloads": work,
        "all_met": all(w["met"] for w in work.values()),
        "all_agree": all(w["final_points_agree"] for w in work.values()),
    }
