"""Wall-clock and memory helpers shared by the benchmarks.

Every comparison is timed the same way: one warm-up call per method (compilation), then
``repeats`` rounds in which the methods run in turn, the order reversed every other
round, so that a change in the machine's load (and the cache left by the previous
method) falls on all of them alike; the best round of each method counts. Each timed
call starts ``SETTLE_S`` after the previous one ended, so that worker threads a library
leaves spinning after a call (torch's OpenMP pool) do not slow down the next method.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

SETTLE_S = 0.05


def maxrss_mb() -> float:
    """The process's resident-set high-water mark (``ru_maxrss``; KiB on Linux) in MiB."""
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def loadavg() -> float:
    """The 1-minute load average (NaN where the OS has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return math.nan


def timed(call: Callable[[], Any], repeats: int) -> dict[str, Any]:
    """A warm-up call (compilation), then ``repeats`` timed calls of one method.

    Returns ``first_s``, ``times_s [repeats]``, ``maxrss_growth_mb`` (the rise of the
    high-water mark over all calls: a lower bound on the footprint, 0 when the method fit
    in memory the process had touched before), ``maxrss_mb``, ``loadavg`` (before, after)
    and ``out`` (the last call's result)."""
    res = round_robin({"m": call}, repeats)
    return {**res["m"], "maxrss_mb": maxrss_mb(), "loadavg": res["loadavg"]}


def round_robin(calls: Mapping[str, Callable[[], Any]], repeats: int, *,
                contexts: Mapping[str, Callable[[], Any]] | None = None) -> dict[str, Any]:
    """Time several methods against each other (module docstring: warm-up, then
    ``repeats`` rounds, order reversed every other round).

    ``contexts[name]()`` wraps every call of that method (e.g. float64). Returns per
    method ``{"first_s", "times_s" [repeats], "cpu_s" [repeats], "maxrss_growth_mb",
    "out"}`` (``cpu_s``: the process's CPU seconds over all its threads, which other
    processes' load does not inflate as it does wall seconds) and ``"loadavg"`` (1-minute
    load before and after)."""
    contexts = contexts or {}
    res: dict[str, Any] = {}
    load0 = loadavg()

    def call(name: str) -> tuple[float, float, Any]:
        time.sleep(SETTLE_S)  # threads the previous method left spinning (OpenMP) go idle
        with contexts.get(name, contextlib.nullcontext)():
            t, c = time.perf_counter(), time.process_time()
            out = jax.block_until_ready(calls[name]())
            return time.perf_counter() - t, time.process_time() - c, out

    for name in calls:
        rss0 = maxrss_mb()
        first, _, out = call(name)
        res[name] = {"first_s": first, "times_s": [], "cpu_s": [], "out": out,
                     "maxrss_growth_mb": maxrss_mb() - rss0}
    order = list(calls)
    for r in range(repeats):
        for name in order if r % 2 == 0 else order[::-1]:
            seconds, cpu, res[name]["out"] = call(name)
            res[name]["times_s"].append(seconds)
            res[name]["cpu_s"].append(cpu)
    for name in calls:
        for k in ("times_s", "cpu_s"):
            res[name][k] = np.asarray(res[name][k])
    res["loadavg"] = np.array([load0, loadavg()])
    return res


def ns_per_element(fns: Mapping[str, Callable[[], Any]], size: int, rounds: int = 5,
                   inner: int = 10) -> dict[str, float]:
    """Best ns per element of each call (``inner`` calls per timing), timed round-robin."""
    best = dict.fromkeys(fns, math.inf)
    for f in fns.values():
        jax.block_until_ready(f())
    for _ in range(rounds):
        for name, f in fns.items():
            t = time.perf_counter()
            for _ in range(inner):
                out = f()
            jax.block_until_ready(out)
            best[name] = min(best[name], (time.perf_counter() - t) / inner)
    return {k: v / size * 1e9 for k, v in best.items()}
