"""How often is a random critical point a minimum? P(k×k GOE Hessian > 0) against k.

Claim (D2L §12.1): at a random critical point in k dimensions the Hessian is positive
definite with probability 0.5^k, as if each eigenvalue were an independent fair coin.

Measured: the probability that a k×k GOE matrix has only positive eigenvalues, by
direct Monte Carlo (Wilson 95% intervals) and exactly, for k = 1..k_max. GOE
normalisation (``saddle.objectives.random.goe_matrix``): H = (A + Aᵀ)/2 with
A_ij ~ N(0, 1) i.i.d., i.e. density ∝ exp(−tr H²/2) and ordered eigenvalue density
∝ Π_{i<j}(λ_j − λ_i) Π exp(−λ_i²/2); the sign of every eigenvalue is scale free.
The exact value is de Bruijn's Pfaffian over {all λ > 0} divided by Mehta's integral,
in float64 quadrature (``saddle.goe.log_prob_all_positive``, validated to k = 200), so
every k uses the same estimator (``method`` = de_bruijn_pfaffian in summary.json);
Monte Carlo is the independent check where it sees hits.

Expected: the eigenvalues repel, so their signs are far from independent. The textbook
is right at k = 1 only: 0.146 vs 0.25 at k = 2, 1.4e-4 vs 3.1e-2 at k = 5, 6e-20 vs
2.4e-4 at k = 12. The exact curve follows the large-deviation law exp(−θk²),
θ = ln 3 / 4 (Dean & Majumdar, PRL 97, 160201, 2006), up to a factor e^{−O(k)}. The
index fraction (share of negative eigenvalues) concentrates at 1/2 much faster than the
textbook's Binomial(k, 1/2) (variance ∝ log k / k², not 1/(4k)).

Verdict (summary.json): "refuted" when for some k >= 2 the Monte Carlo interval excludes
0.5^k (simultaneous 95% Wilson intervals, Bonferroni over the sizes), "confirmed" when
every interval contains it.

Runtime: about a minute on 2 CPU cores (5·10⁵ matrices per k, k = 1..12, plus 5·10⁴
at k = 32); the exact values take milliseconds.

Run: python -m experiments.goe_signs
     python -m experiments.goe_signs --k-max 8 --n-samples 2000000
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np
import scipy.stats

import saddle.experiment
from saddle import goe
from saddle.experiment import field

CI_Z = 1.96  # 95% two-sided
NORMALISATION = "H = (A + A^T)/2, A_ij ~ N(0, 1) i.i.d.; density ∝ exp(-tr H^2 / 2)"


CLAIM = ("A k×k random (GOE) Hessian is positive definite with probability 0.5^k (D2L §12.1).")
RUNTIME = "55 s"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    k_max: int = field(12, "largest matrix size k (sizes 1..k_max)")
    n_samples: int = field(500_000, "Monte Carlo matrices per k")
    chunk_size: int = field(50_000, "matrices per eigvalsh batch (memory; part of the sample's "
                             "definition, see saddle.goe.index_counts)")
    index_ks: tuple[int, ...] = field((2, 8, 32), "sizes k for the index-fraction histograms")
    n_index_samples: int = field(50_000, "matrices per index histogram for k > k_max (else the "
                                  "MC run)")
    seed: int = field(0, "PRNG seed")

    def __post_init__(self):
        if self.k_max < 1:
            raise ValueError(f"k_max must be >= 1, got {self.k_max}")
        if self.k_max > goe.K_EXACT_MAX:
            raise ValueError(f"k_max must be <= {goe.K_EXACT_MAX} (exact formula validated "
                             f"range), got {self.k_max}")
        if self.n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {self.n_samples}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if not self.index_ks or min(self.index_ks) < 1:
            raise ValueError(f"index_ks must be a non-empty tuple of sizes >= 1, got "
                             f"{self.index_ks}")
        if self.n_index_samples < 1:
            raise ValueError(f"n_index_samples must be >= 1, got {self.n_index_samples}")


# ----------------------------------------------------------------------------- run
def _counts(key: jax.Array, k: int, n: int, cfg: Config, ctx, desc: str) -> dict:
    progress = lambda chunks: ctx.progress(chunks, desc=desc)  # noqa: E731
    return {"counts": goe.index_counts(key, k, n, cfg.chunk_size, progress=progress)}


def _pad(rows: list[np.ndarray], width: int) -> np.ndarray:
    out = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : r.size] = r
    return out


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    mc_key, index_key = jax.random.fold_in(root, 0), jax.random.fold_in(root, 1)
    ks = np.arange(1, cfg.k_max + 1)

    mc_counts = []
    for k in ks:
        k = int(k)
        stage = ctx.stage(f"mc_k{k}", lambda k=k: _counts(
            jax.random.fold_in(mc_key, k), k, cfg.n_samples, cfg, ctx, f"MC k={k}"))
        mc_counts.append(stage["counts"])
    hits = np.array([c[0] for c in mc_counts], dtype=np.int64)
    n = np.full(ks.size, cfg.n_samples, dtype=np.int64)
    ci_low, ci_high = goe.wilson_interval(hits, n, z=CI_Z)
    log_exact = np.array([goe.log_prob_all_positive(int(k)) for k in ks])

    index_k = np.array(sorted(set(cfg.index_ks)), dtype=np.int64)
    index_rows, index_n = [], []
    for k in index_k:
        k = int(k)
        if k <= cfg.k_max:  # reuse the Monte Carlo run of this size
            index_rows.append(mc_counts[k - 1])
            index_n.append(cfg.n_samples)
            continue
        stage = ctx.stage(f"index_k{k}", lambda k=k: _counts(
            jax.random.fold_in(index_key, k), k, cfg.n_index_samples, cfg, ctx, f"index k={k}"))
        index_rows.append(stage["counts"])
        index_n.append(cfg.n_index_samples)

    return {
        "k": ks, "hits": hits, "n_samples": n, "p_mc": hits / n, "ci_low": ci_low,
        "ci_high": ci_high, "log_exact": log_exact, "exact": np.exp(log_exact),
        "textbook": goe.textbook(ks), "dean_majumdar": goe.dean_majumdar(ks),
        "mc_index_counts": _pad(mc_counts, cfg.k_max + 1),  # [k_max, k_max + 1], row k-1
        "index_k": index_k,
        "index_n": np.array(index_n, dtype=np.int64),
        "index_counts": _pad(index_rows, int(index_k.max()) + 1),  # [len(index_k), max+1]
    }


# ----------------------------------------------------------------------------- summary
def _index_stats(k: int, counts: np.ndarray) -> dict:
    frac = np.arange(k + 1) / k
    p = counts[: k + 1] / counts[: k + 1].sum()
    mean = float(p @ frac)
    return {"k": k, "n_samples": int(counts.sum()), "mean_fraction": mean,
            "std_fraction": float(math.sqrt(p @ (frac - mean) ** 2)),
            "binomial_std_fraction": 0.5 / math.sqrt(k), "p_all_positive": float(p[0])}


def verdict(data: dict[str, np.ndarray]) -> dict:
    """The textbook's 0.5^k is refuted where, for some k >= 2, the Monte Carlo interval
    excludes it (simultaneous 95% Wilson intervals, Bonferroni over the sizes k >= 2)."""
    k, hits, n = data["k"], data["hits"], data["n_samples"]
    sel = k >= 2
    if not sel.any():
        return {"verdict": "inconclusive", "because": "only k = 1 measured, where 0.5^k is exact"}
    z = float(scipy.stats.norm.ppf(1 - 0.05 / (2 * sel.sum())))
    lo, hi = goe.wilson_interval(hits[sel], n[sel], z=z)
    tb, ex = data["textbook"][sel], data["exact"][sel]
    out = (tb < lo) | (tb > hi)
    i = int(np.argmax(out)) if out.any() else int(np.argmax(np.abs(np.log(tb / ex))))
    at = (f"k = {k[sel][i]}: Monte Carlo {hits[sel][i] / n[sel][i]:.4g} (simultaneous 95% "
          f"CI [{lo[i]:.4g}, {hi[i]:.4g}], n = {n[sel][i]}), textbook {tb[i]:.4g}, exact "
          f"{ex[i]:.4g}")
    if out.any():
        ks = ", ".join(str(v) for v in k[sel][out])
        return {"verdict": "refuted", "because": f"{at}; textbook outside the CI at k = {ks}"}
    return {"verdict": "confirmed", "because": f"{at}; textbook inside every CI for k >= 2"}


def summarize(cfg: Config, data: dict[str, np.ndarray]) -> dict:
    k = data["k"]
    exact, lo, hi = data["exact"], data["ci_low"], data["ci_high"]
    in_ci = (lo <= exact) & (exact <= hi)
    return {
        "claim": "P(k x k random Hessian > 0) = 0.5^k (D2L 12.1)",
        **verdict(data),
        "normalisation": NORMALISATION, "k": k.tolist(), "p_all_positive": data["p_mc"].tolist(),
        "ci_low": lo.tolist(), "ci_high": hi.tolist(), "ci_level": 0.95,
        "n_samples": data["n_samples"].tolist(), "hits": data["hits"].tolist(),
        "exact": exact.tolist(),
        "log10_exact": (data["log_exact"] / math.log(10)).tolist(),
        "method": ["de_bruijn_pfaffian"] * k.size,
        "mc_method": "direct sampling, jnp.linalg.eigvalsh (float32), Wilson score interval",
        "exact_in_ci": in_ci.tolist(), "all_exact_in_ci": bool(np.all(in_ci)),
        "mc_resolved_k_max": int(k[data["hits"] > 0].max()) if np.any(data["hits"]) else 0,
        "textbook": data["textbook"].tolist(), "dean_majumdar": data["dean_majumdar"].tolist(),
        "theta": goe.THETA_GOE,
        "exact_over_textbook": (exact / data["textbook"]).tolist(),
        "index_fraction": [_index_stats(int(kk), row) for kk, row in
                           zip(data["index_k"], data["index_counts"], strict=True)],
    }


# ----------------------------------------------------------------------------- figures
def plot(cfg: Config, data: dict[str, np.ndarray]) -> dict:
    import matplotlib as mpl
    from matplotlib.lines import Line2D

    from saddle.plot import PAPER_RC, figure

    with mpl.rc_context(PAPER_RC):
        fig, (ax, bx) = figure(1, 2, width=9.0, height=3.6)
        _plot_probability(ax, cfg, data)
        _plot_index(bx, data, Line2D)
    return {"goe_signs": fig}


def _plot_probability(ax, cfg: Config, data: dict[str, np.ndarray]) -> None:
    k, hits, p = data["k"], data["hits"], data["p_mc"]
    seen = hits > 0
    ax.errorbar(k[seen], p[seen], yerr=[p[seen] - data["ci_low"][seen],
                                        data["ci_high"][seen] - p[seen]],
                fmt="o", color="C0", ms=4.5, capsize=2.5, zorder=3,
                label=f"Monte Carlo, {cfg.n_samples:,} per $k$ (95% CI)")
    if np.any(~seen):
        ax.plot(k[~seen], data["ci_high"][~seen], "v", color="C0", mfc="none", ms=5,
                label="Monte Carlo, 0 hits: 95% upper bound")
    ax.plot(k, data["exact"], ".-", color="k", lw=1.3, ms=4, label="exact (de Bruijn Pfaffian)")
    ax.plot(k, data["textbook"], "--", color="C3", lw=1.3, label=r"textbook $0.5^k$")
    ax.plot(k, data["dean_majumdar"], ":", color="C2", lw=1.8,
            label=r"$e^{-\theta k^2}$, $\theta=\ln 3/4$ (Dean & Majumdar)")
    ax.set_yscale("log")
    ax.set_xlabel("dimension $k$")
    ax.set_ylabel(r"P(all $k$ eigenvalues $> 0$)")
    ax.set_title("A random critical point is a minimum (GOE Hessian)")
    ax.set_xticks(k if k.size <= 16 else np.unique(np.linspace(1, k[-1], 9).astype(int)))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower left")


def _plot_index(bx, data: dict[str, np.ndarray], Line2D) -> None:
    floor = 1.0
    colour_handles = []
    for i, (k, n) in enumerate(zip(data["index_k"], data["index_n"], strict=True)):
        k = int(k)
        counts = data["index_counts"][i, : k + 1]
        frac = np.arange(k + 1) / k
        floor = min(floor, 0.5 / n)
        shown = counts > 0
        bx.plot(frac[shown], counts[shown] / n, "o-", color=f"C{i}", ms=3.5, lw=1.2)
        binom = np.array([math.comb(k, j) for j in range(k + 1)]) * 0.5**k
        bx.plot(frac, binom, "--", color=f"C{i}", lw=1.0, alpha=0.8)
        colour_handles.append(Line2D([], [], color=f"C{i}", lw=3, label=f"$k = {k}$"))
    style_handles = [
        Line2D([], [], color="k", marker="o", ms=3.5, lw=1.2, label="GOE (Monte Carlo)"),
        Line2D([], [], color="k", ls="--", lw=1.0, label="independent signs: Bin($k$, 1/2)"),
    ]
    bx.set_yscale("log")
    bx.set_ylim(floor / 100, 1.5)  # room for the legend below the smallest frequency
    bx.set_xlim(-0.03, 1.03)
    bx.set_xlabel("index fraction (negative eigenvalues / $k$)")
    bx.set_ylabel("probability")
    bx.set_title("Distribution of the index fraction")
    bx.grid(True, which="major", alpha=0.3)
    bx.legend(handles=colour_handles + style_handles, loc="lower center", ncol=2)


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
