"""Curvature of one digits MLP: ``saddle.curvature`` against PyHessian at equal accuracy, and
the cost of a Hessian-vector product relative to a gradient.

The point: one ``benchmarks.mlp`` network (64-32-10, d = 2410) trained ``point_steps``
full-batch SGD steps (lr ``lr``) by ``descend``; PyHessian gets the same weights
(``torch_mlp.module``) and data. Exact answers: the dense Hessian in float64
(``jax.hessian``) and ``numpy.linalg.eigvalsh``: λ_max, tr H, and the variance of one
Rademacher Hutchinson sample, ``2(‖H‖_F² − Σᵢ Hᵢᵢ²)``.

Top eigenvalue, relative error ``eig_rtol``: Lanczos (``saddle.curvature.sharpness``) and
PyHessian's power iteration (``hessian.eigenvalues``, ``tol = 0`` so it runs exactly
``maxIter`` products) are each run from ``seeds`` random starts with their error recorded
after every product (Lanczos: the top Ritz value of the leading j×j block of T; power
iteration: PyHessian's own Rayleigh quotients, read by wrapping its
``hessian_vector_product``); each is then timed at the fewest products that reach the
error from every start.

Trace, standard error ``trace_rel_stderr`` × tr H: PyHessian's ``trace`` and
``hutchinson_trace`` draw the same Rademacher samples, so both need
``⌈var / target²⌉`` probes; ``hutchpp_trace`` is timed at the smallest budget of
``HUTCHPP_BUDGETS`` whose exact standard error given its sketch,
``√(2(‖B‖_F² − Σᵢ Bᵢᵢ²)/m)`` with ``B = (I − QQᵀ)H(I − QQᵀ)`` and m its probes
(``saddle.curvature.hutchpp_trace``), is below the target for the median of ``seeds``
sketches. Constructing PyHessian's ``hessian`` (a forward and a ``create_graph``
backward) is part of its timed call, as ``hessian_operator``'s linearisation is part of
saddle's.

HVP cost: jitted ``grad``, ``hvp`` (forward-over-reverse from scratch) and the product of
an operator linearised once (``hessian_operator``, as Lanczos and the trace estimators
use it; ``hvp_batch`` products per call, per product), ``inner`` calls per timing (of
the gradient, the HVP and each λ_max method).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from benchmarks import mlp, train_many
from benchmarks.baselines import torch_version
from benchmarks.timing import round_robin
from saddle.curvature import hessian_operator, hutchinson_trace, hutchpp_trace, lanczos
from saddle.precision import float64

if TYPE_CHECKING:
    from benchmarks.networks import Config

TARGETS = {"eigenvalue": 10.0, "trace": 10.0}  # PyHessian seconds ÷ saddle seconds
HUTCHPP_BUDGETS = (6, 9, 12, 18, 24, 36, 48, 72, 96, 144, 192, 288, 384, 576, 768, 1152)
PROBE_BATCH = 64  # HVPs the trace estimators run at once


def curvature_point(cfg: Config, key: jax.Array) -> np.ndarray:
    """The flat parameters ``[d]`` of one network after ``point_steps`` SGD steps."""
    X, y = mlp.digits()
    run = saddle.descend(mlp.mlp(cfg.sizes).loss, mlp.mlp_starts(key, 1, cfg.sizes),
                         train_many.sgd(cfg.lr),
                         cfg.point_steps, data=(jnp.asarray(X), jnp.asarray(y)))
    return np.asarray(run.x[0])


def exact_hessian(loss: Callable, x: np.ndarray) -> np.ndarray:
    """The dense Hessian ``[d, d]`` of ``loss(x, (X, y))`` at ``x`` on all of digits, in
    float64."""
    X, y = mlp.digits()
    with float64():
        data = (jnp.asarray(X, jnp.float64), jnp.asarray(y))
        return np.asarray(jax.jit(jax.hessian(loss))(jnp.asarray(x, jnp.float64), data))


def hutchpp_stderr(H: np.ndarray, matvecs: int, rng: np.random.Generator) -> float:
    """Exact standard error of ``hutchpp_trace`` with ``matvecs`` products given one random
    sketch: ``√(2(‖B‖_F² − Σ Bᵢᵢ²)/m)``, B = (I − QQᵀ)H(I − QQᵀ), Q = qr(HS), S Rademacher
    ``[d, matvecs // 3]``, m = matvecs − 2 (matvecs // 3); ‖B‖_F² = ‖H‖_F² − 2‖HQ‖_F² +
    ‖QᵀHQ‖_F² and Bᵢᵢ = Hᵢᵢ − 2 (HQ)ᵢ·Qᵢ + Qᵢ QᵀHQ Qᵢᵀ (H symmetric, P² = P)."""
    s = matvecs // 3
    m = matvecs - 2 * s
    Q = np.linalg.qr(H @ rng.choice([-1.0, 1.0], size=(H.shape[0], s)))[0]
    HQ = H @ Q
    QHQ = Q.T @ HQ
    fro2 = np.sum(H * H) - 2 * np.sum(HQ * HQ) + np.sum(QHQ * QHQ)
    diag = np.diag(H) - 2 * np.sum(HQ * Q, axis=1) + np.einsum("ij,jk,ik->i", Q, QHQ, Q)
    return math.sqrt(max(2 * (fro2 - np.sum(diag * diag)), 0.0) / m)


def lanczos_errors(loss: Callable, x: jax.Array, data: tuple, key: jax.Array, iters: int,
                   lam: float) -> np.ndarray:
    """Relative error ``[iters]`` of the top Ritz value after j = 1..iters Lanczos steps,
    from the start ``sharpness`` draws from ``key``."""
    flat, matvec = hessian_operator(loss, x, data)
    start, restart = jax.random.split(key)
    T = np.asarray(lanczos(matvec, jax.random.normal(start, flat.shape, flat.dtype), iters,
                           key=restart).matrix(), np.float64)
    return np.array([abs(np.linalg.eigvalsh(T[:j, :j])[-1] - lam) / abs(lam)
                     for j in range(1, iters + 1)])


def first_below(errors: np.ndarray, rtol: float) -> int:
    """The fewest products (1-based) whose error is ≤ ``rtol``, or -1 if none."""
    ok = np.flatnonzero(errors <= rtol)
    return int(ok[0]) + 1 if ok.size else -1


class PyHessian:
    """PyHessian on the torch copy (``sizes``) of the network at ``x``, on all of digits:
    ``eig(seed, iters, tol)``, ``trace(seed, probes)`` and ``power_errors`` (the relative
    errors of its Rayleigh quotients, one per product)."""

    def __init__(self, x: np.ndarray, sizes: tuple[int, ...]):
        import torch

        from benchmarks import torch_mlp

        self.torch = torch
        self.model = torch_mlp.module(x, sizes)
        self.data = torch_mlp.tensors(*mlp.digits())

    def _hessian(self, seed: int) -> Any:
        import pyhessian

        self.model.zero_grad(set_to_none=True)  # PyHessian adds to .grad: start from none
        self.torch.manual_seed(seed)
        return pyhessian.hessian(self.model, self.torch.nn.CrossEntropyLoss(), data=self.data,
                                 cuda=False)

    def eig(self, seed: int, iters: int, tol: float) -> float:
        return float(self._hessian(seed).eigenvalues(maxIter=iters, tol=tol)[0][0])

    def trace(self, seed: int, probes: int) -> float:
        return float(np.mean(self._hessian(seed).trace(maxIter=probes, tol=0.0)))

    def power_errors(self, seed: int, iters: int, lam: float) -> np.ndarray:
        mod = sys.modules["pyhessian.hessian"]
        orig, quotients = mod.hessian_vector_product, []

        def recorded(grads: Any, params: Any, v: Any) -> Any:
            hv = orig(grads, params, v)
            quotients.append(float(sum((a * b).sum() for a, b in zip(hv, v, strict=True))))
            return hv

        mod.hessian_vector_product = recorded
        try:
            self.eig(seed, iters, 0.0)
        finally:
            mod.hessian_vector_product = orig
        return np.abs(np.array(quotients) - lam) / abs(lam)


def _per_call(f: Callable[[], Any], inner: int) -> Callable[[], Any]:
    return lambda: [f() for _ in range(inner)]


def curvature_study(cfg: Config, key: jax.Array) -> dict[str, np.ndarray]:
    """Exact answers, the error curves, and the timings at matched accuracy (docstring)."""
    loss = mlp.mlp(cfg.sizes).loss
    X, y = mlp.digits()
    data = (jnp.asarray(X), jnp.asarray(y))
    x = curvature_point(cfg, key)
    xj = jnp.asarray(x)
    H = exact_hessian(loss, x)
    ev = np.linalg.eigvalsh(H)
    lam, tr = float(ev[-1]), float(np.trace(H))
    var = 2 * (np.sum(H * H) - np.sum(np.diag(H) ** 2))
    target = cfg.trace_rel_stderr * abs(tr)
    out: dict[str, Any] = {"lam_max": lam, "lam_min": float(ev[0]), "trace": tr,
                           "hutch_var": var, "d": x.size, "eigs_top": ev[-10:]}
    keys = [jax.random.fold_in(key, 100 + s) for s in range(cfg.seeds)]
    lz = np.stack([lanczos_errors(loss, xj, data, k, cfg.lanczos_max, lam) for k in keys])
    out["lanczos_errors"] = lz
    m_eig = [first_below(e, cfg.eig_rtol) for e in lz]
    out["lanczos_needed"] = np.asarray(m_eig)
    m_star = cfg.lanczos_max if min(m_eig) < 0 else max(m_eig)
    probes = math.ceil(var / target**2)
    rng = np.random.default_rng(cfg.seed)
    budget, se = -1, math.nan
    for b in HUTCHPP_BUDGETS:
        if b >= probes:
            break
        se = float(np.median([hutchpp_stderr(H, b, rng) for _ in range(cfg.seeds)]))
        if se <= target:
            budget = b
            break
    out.update(hutchinson_probes=probes, hutchpp_matvecs=budget, hutchpp_exact_stderr=se)
    del H
    eig_calls: dict[str, Any] = {
        "saddle": lambda: saddle.curvature.sharpness(loss, xj, m_star, keys[0], args=(data,))}
    tr_calls: dict[str, Any] = {
        "hutchinson": lambda: hutchinson_trace(loss, xj, keys[0], probes,
                                               probe_batch=PROBE_BATCH, args=(data,))}
    if budget > 0:
        tr_calls["hutchpp"] = lambda: hutchpp_trace(loss, xj, keys[0], budget,
                                                    probe_batch=PROBE_BATCH, args=(data,))
    if not cfg.use_torch or torch_version() is None:
        out["pyhessian.skipped"] = ("torch disabled (--no-use-torch)" if not cfg.use_torch
                                    else "torch is not importable (install the bench extra)")
    else:
        try:
            import pyhessian  # noqa: F401
        except ImportError:
            out["pyhessian.skipped"] = "pyhessian is not importable (install the bench extra)"
    if "pyhessian.skipped" not in out:
        ph = PyHessian(x, cfg.sizes)
        pw = np.stack([ph.power_errors(s, cfg.power_max, lam) for s in range(cfg.seeds)])
        out["power_errors"] = pw
        k_eig = [first_below(e, cfg.eig_rtol) for e in pw]
        out["power_needed"] = np.asarray(k_eig)
        k_star = cfg.power_max if min(k_eig) < 0 else max(k_eig)
        eig_calls["pyhessian"] = lambda: ph.eig(0, k_star, 0.0)
        eig_calls["pyhessian_default"] = lambda: ph.eig(0, 100, 1e-3)
        tr_calls["pyhessian"] = lambda: ph.trace(0, probes)
        out["power_timed_iters"] = k_star
    out["lanczos_timed_iters"] = m_star
    # a λ_max call takes milliseconds: each timing is ``inner`` calls, per call reported
    for name, calls, inner in (("eig", eig_calls, cfg.inner), ("trace", tr_calls, 1)):
        res = round_robin({m: _per_call(f, inner) for m, f in calls.items()}, cfg.curv_repeats)
        for m in calls:
            out[f"{name}.{m}.times_s"] = np.asarray(res[m]["times_s"]) / inner
            out[f"{name}.{m}.cpu_s"] = np.asarray(res[m]["cpu_s"]) / inner
            o = res[m]["out"][-1]
            out[f"{name}.{m}.value"] = float(o.estimate if hasattr(o, "estimate") else o)
            if hasattr(o, "stderr"):
                out[f"{name}.{m}.stderr"] = float(o.stderr)
        out[f"{name}.loadavg"] = res["loadavg"]
    grad = jax.jit(jax.grad(loss))
    hvp = jax.jit(lambda x, v, d: saddle.curvature.hvp(lambda z: loss(z, d), x, v))
    V = jax.random.normal(jax.random.fold_in(key, 7), (cfg.hvp_batch, x.size))
    lin = jax.jit(lambda x, V, d: jax.lax.map(hessian_operator(loss, x, d)[1], V))
    res = round_robin({"grad": _per_call(lambda: grad(xj, data), cfg.inner),
                       "hvp": _per_call(lambda: hvp(xj, V[0], data), cfg.inner),
                       "hvp_linearized": lambda: lin(xj, V, data)}, cfg.curv_repeats * 3)
    out["hvp.grad.times_s"] = res["grad"]["times_s"] / cfg.inner
    out["hvp.hvp.times_s"] = res["hvp"]["times_s"] / cfg.inner
    out["hvp.hvp_linearized.times_s"] = res["hvp_linearized"]["times_s"] / cfg.hvp_batch
    out["hvp.loadavg"] = res["loadavg"]
    return out


def curvature_summary(cfg: Config, data: dict) -> dict[str, Any]:
    """Exact answers, products needed, median seconds, the speed-ups over PyHessian at
    matched accuracy against the targets, the achieved errors, and the HVP/grad ratios."""
    p = "curv."
    g = lambda k: data[p + k]  # noqa: E731
    lam, tr = float(g("lam_max")), float(g("trace"))
    target = cfg.trace_rel_stderr * abs(tr)
    med = {f"{n}.{m}": float(np.median(data[k]))
           for k in data if k.startswith(p) and k.endswith(".times_s")
           for n, m in [k[len(p):-len(".times_s")].split(".", 1)]}
    have_ph = f"{p}pyhessian.skipped" not in data
    eig: dict[str, Any] = {
        "rtol": cfg.eig_rtol, "seeds": cfg.seeds,
        "lanczos_needed_per_seed": g("lanczos_needed").tolist(),
        "lanczos_timed_iters": int(g("lanczos_timed_iters")),
        "seconds_median": {m: med[f"eig.{m}"] for m in ("saddle", "pyhessian",
                                                        "pyhessian_default")
                           if f"eig.{m}" in med},
        "rel_error_of_timed_call": {
            m: abs(float(data[f"{p}eig.{m}.value"]) - lam) / abs(lam)
            for m in ("saddle", "pyhessian", "pyhessian_default") if f"{p}eig.{m}.value" in data},
    }
    sp = math.sqrt(float(g("hutch_var")))
    trace: dict[str, Any] = {
        "target_stderr": target, "target_rel_stderr": cfg.trace_rel_stderr,
        "hutchinson_sample_sd_exact": sp,
        "hutchinson_probes": int(g("hutchinson_probes")),
        "hutchpp_matvecs": int(g("hutchpp_matvecs")),
        "hutchpp_exact_stderr_median": float(g("hutchpp_exact_stderr")),
        "seconds_median": {m: med[f"trace.{m}"] for m in ("hutchinson", "hutchpp", "pyhessian")
                           if f"trace.{m}" in med},
        "error_of_timed_call_in_target_stderrs": {
            m: (float(data[f"{p}trace.{m}.value"]) - tr) / target
            for m in ("hutchinson", "hutchpp", "pyhessian") if f"{p}trace.{m}.value" in data},
        "reported_stderr": {m: float(data[f"{p}trace.{m}.stderr"])
                            for m in ("hutchinson", "hutchpp") if f"{p}trace.{m}.stderr" in data},
    }
    targets: dict[str, Any] = {}
    if have_ph:
        eig["power_needed_per_seed"] = g("power_needed").tolist()
        eig["power_timed_iters"] = int(g("power_timed_iters"))
        eig["power_reached"] = bool(g("power_needed").min() > 0)
        eig["speedup_over_pyhessian"] = med["eig.pyhessian"] / med["eig.saddle"]
        eig["speedup_over_pyhessian_default"] = med["eig.pyhessian_default"] / med["eig.saddle"]
        t = trace["seconds_median"]
        trace["speedup_hutchinson_over_pyhessian"] = t["pyhessian"] / t["hutchinson"]
        if "hutchpp" in t:
            trace["speedup_hutchpp_over_pyhessian"] = t["pyhessian"] / t["hutchpp"]
        best = t["pyhessian"] / min(v for m, v in t.items() if m != "pyhessian")
        cpu = {k: float(np.median(data[f"{p}{k}.cpu_s"]))
               for k in ("eig.saddle", "eig.pyhessian", "trace.hutchinson", "trace.hutchpp",
                         "trace.pyhessian") if f"{p}{k}.cpu_s" in data}
        eig["speedup_over_pyhessian_cpu_time"] = cpu["eig.pyhessian"] / cpu["eig.saddle"]
        trace["speedup_best_over_pyhessian_cpu_time"] = cpu["trace.pyhessian"] / min(
            v for k, v in cpu.items() if k.startswith("trace.") and k != "trace.pyhessian")
        for name, r in (("eigenvalue", eig["speedup_over_pyhessian"]), ("trace", best)):
            targets[name] = {"target": TARGETS[name], "ratio": r, "met": bool(r >= TARGETS[name])}
    else:
        eig["pyhessian_skipped"] = str(data[f"{p}pyhessian.skipped"])
    hv = {m: med[f"hvp.{m}"] for m in ("grad", "hvp", "hvp_linearized")}
    return {
        "point": f"one MLP {'-'.join(map(str, cfg.sizes))} after {cfg.point_steps} SGD steps "
                 f"(lr {cfg.lr}), d = {int(g('d'))}",
        "exact": {"lam_max": lam, "lam_min": float(g("lam_min")), "trace": tr,
                  "top_eigenvalues": g("eigs_top").tolist(),
                  "method": "jax.hessian in float64 + numpy eigvalsh"},
        "eigenvalue": eig, "trace": trace, "targets": targets,
        "hvp_cost": {"seconds_median": hv, "hvp_over_grad": hv["hvp"] / hv["grad"],
                     "hvp_linearized_over_grad": hv["hvp_linearized"] / hv["grad"],
                     "theory": "forward-over-reverse: ~2-4x a gradient"},
        "loadavg_1min_before_after": {n: data[f"{p}{n}.loadavg"].tolist()
                                      for n in ("eig", "trace", "hvp")},
    }


def plot_curvature(ax: Any, cfg: Config, data: dict) -> None:
    """Relative error of λ_max against Hessian-vector products: Lanczos and power iteration,
    every seed, with the target."""
    p = "curv."
    for name, color in (("lanczos", "#1f78b4"), ("power", "#999999")):
        if f"{p}{name}_errors" not in data:
            continue
        for i, e in enumerate(data[f"{p}{name}_errors"]):
            ax.semilogy(np.arange(1, e.size + 1), np.maximum(e, 1e-9), color=color, lw=1,
                        label=None if i else ("Lanczos (saddle)" if name == "lanczos"
                                              else "power iteration (PyHessian)"))
    ax.axhline(cfg.eig_rtol, color="#d95f02", lw=1.5, label=f"target {cfg.eig_rtol:g}")
    ax.set_xlim(0, min(cfg.power_max, 4 * cfg.lanczos_max))
    ax.set_xlabel("Hessian-vector products")
    ax.set_ylabel("relative error of λ_max")
    title = f"λ_max = {float(data[p + 'lam_max']):.4g} (dense, float64)"
    t = curvature_summary(cfg, data)["targets"]
    if t:
        title += (f"\nsaddle ÷ PyHessian at equal accuracy: {t['eigenvalue']['ratio']:.3g}× "
                  f"(λ_max), {t['trace']['ratio']:.3g}× (trace); target {TARGETS['trace']:g}×")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7)
