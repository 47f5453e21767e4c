"""Mode connectivity of digits MLPs: the straight line, the aligned line and a trained Bézier
curve between two minima, and how many distinct minima many seeds reach.

Claim tested (Garipov et al. 2018): between two minima trained from different seeds, the
loss along the straight line rises over a barrier, while along a trained quadratic Bézier
curve (``saddle.landscape.bezier``) it stays near the ends. Barrier of a path (line or curve
alike): maxₜ L(φ(t)) − max(L(θ_A), L(θ_B)). "Confirmed" when the curve's barrier is below
``verdict_share`` (10%, set before running) of the straight line's.

Reported besides: the barrier on the line after aligning B's hidden units to A (weight
matching with sign flips, Ainsworth et al. 2023); and de-duplication of ``n_seeds`` minima
modulo permutations. Every network is aligned to seed 0 (the reference), then directly to
its ``neighbours`` nearest others in that frame. Criterion 1 (distance): two minima are the
same when their aligned distance is below the resolution, the largest distance any network
still moves over the last ``record_every`` steps of its training (closer minima cannot be
told apart by this training). Criterion 2 (barrier): the same basin when the aligned line
between them has a barrier below ``verdict_share`` × the median unaligned barrier to the
reference. Distinct minima = connected components of the "same" graph for each criterion.

Network: ``mlp(64, (hidden, 10), activation)`` on scikit-learn's digits (standardised),
cross-entropy plus l2/2‖θ‖² (so that minima exist rather than weights growing forever),
full-batch Adam, all seeds in one ``descend`` call.

Expected (measured, default config): the line between seeds 0 and 1 rises 0.24 above its
ends, the trained curve and the aligned line only ≈ 0.006; all 256 minima are distinct by
distance (nearest aligned pair 4.5 against a resolution of 2.0) yet every compared aligned
pair is barrier-free: many distinct minima, all connected.

Run: python -m experiments.mode_connectivity      (~15 min measured on 2 CPU cores at load ≈ 7)
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import optax
from scipy.sparse import csgraph, csr_matrix

import saddle
from saddle import plot as splot
from saddle.experiment import field
from saddle.landscape import align, bezier, slices
from saddle.objectives import nn as snn

CLAIM = ("Two minima from different seeds are separated by a barrier on the straight line but "
         "joined by a low-loss Bézier curve (Garipov et al. 2018).")
RUNTIME = "5.5 min at load 2"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    hidden: int = field(32, "Hidden units of the one hidden layer.", at_least=1)
    activation: str = field("tanh", "Hidden activation.", tuple(snn.ACTIVATIONS))
    l2: float = field(1e-3, "Weight decay l2/2·‖θ‖² added to the cross-entropy.", at_least=0)
    steps: int = field(2000, "Full-batch Adam steps per network.", at_least=2)
    lr: float = field(0.01, "Adam learning rate (networks and the Bézier control point).",
                      above=0)
    record_every: int = field(500, "The resolution is each network's move over its last "
                                   "this many steps.", at_least=1)
    n_seeds: int = field(256, "Networks trained from different seeds.", at_least=2)
    neighbours: int = field(4, "Direct alignments of each network to its nearest others.",
                            at_least=1)
    bezier_steps: int = field(2000, "Adam steps on the Bézier control point.", at_least=1)
    bezier_samples: int = field(4, "Draws of t per Bézier step.", at_least=1)
    n_t: int = field(41, "Points from t = 0 to 1 on every line and curve.", at_least=3)
    verdict_share: float = field(0.1, "The curve is barrier-free when its barrier is below "
                                      "this share of the line's.", above=0)
    chunk_size: int = field(512, "Loss evaluations per compiled chunk.", at_least=1)
    seed: int = field(0, "Seed of the data split and the jax.random keys.")


def problem(cfg: Config) -> tuple[snn.Net, saddle.Objective]:
    net = snn.mlp(64, (cfg.hidden, 10), cfg.activation)
    return net, snn.objective(net, saddle.data.digits(cfg.seed), loss="cross_entropy",
                              l2=cfg.l2, name="digits_mlp")


def aligned_pairs(net: snn.Net, thetas: np.ndarray, neighbours: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aligned distances among minima ``[n, d]``: every network aligned to network 0
    (``frame`` ``[n, d]``), then each directly (``weight_match``) to its ``neighbours``
    nearest others in that frame. Returns the frame, the pairs ``[m, 2]`` (i < j; the
    reference pairs (0, j) included) and their aligned distances ``[m]`` (the smaller of the
    two alignments)."""
    thetas = np.asarray(thetas)
    n = len(thetas)
    frame = np.stack([thetas[0]] + [np.asarray(align.weight_match(net, thetas[0], t))
                                    for t in thetas[1:]])
    sq = np.sum(frame**2, 1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * frame @ frame.T, 0))
    np.fill_diagonal(dist, np.inf)
    best = {}
    for i in range(n):
        for j in np.argsort(dist[i])[:min(neighbours, n - 1)]:
            p = (min(i, int(j)), max(i, int(j)))
            if p not in best:
                direct = np.linalg.norm(thetas[p[0]] - np.asarray(
                    align.weight_match(net, thetas[p[0]], thetas[p[1]])))
                best[p] = min(direct, dist[p])
    for j in range(1, n):
        best.setdefault((0, j), dist[0, j])
    pairs = np.array(sorted(best))
    return frame, pairs, np.array([best[tuple(p)] for p in pairs])


def n_components(n: int, pairs: np.ndarray, same: np.ndarray) -> int:
    """Connected components of n nodes joined by the ``pairs`` ``[m, 2]`` where ``same``."""
    p = pairs[np.asarray(same, bool)]
    graph = csr_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(n, n))
    return int(csgraph.connected_components(graph, directed=False)[0])


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    if cfg.record_every >= cfg.steps:
        raise ValueError(f"record_every must be below steps={cfg.steps}, got {cfg.record_every}")
    root = jax.random.PRNGKey(cfg.seed)
    net, obj = problem(cfg)
    ts = np.linspace(0, 1, cfg.n_t)

    def train() -> dict:
        x0 = jax.vmap(net.init)(jax.random.split(jax.random.fold_in(root, 1), cfg.n_seeds))
        r = saddle.descend(obj, x0, optax.adam(cfg.lr), cfg.steps,
                           record_every=cfg.record_every, record_path=True)
        steps = np.asarray(r.path_steps)
        before = r.path[:, int(np.searchsorted(steps, cfg.steps - cfg.record_every))]
        return {"x": r.x, "loss": r.loss, "moved": np.linalg.norm(r.x - before, axis=1)}

    tr = ctx.stage("train", train)
    x = tr["x"]
    a, b = x[0], x[1]

    def curve() -> dict:
        fit = bezier.train_bezier(obj, a, b, key=jax.random.fold_in(root, 2),
                                  steps=cfg.bezier_steps, lr=cfg.lr, samples=cfg.bezier_samples)
        b_al = align.weight_match(net, a, b)
        kw = {"chunk_size": cfg.chunk_size}
        return {"theta_c": fit.theta_c, "history": fit.history,
                "line": slices.interpolate(obj, a, b, ts, **kw),
                "line_aligned": slices.interpolate(obj, a, b_al, ts, **kw),
                "curve": bezier.bezier_losses(obj, a, fit.theta_c, b, ts, **kw)}

    cv = ctx.stage("bezier", curve)

    def dedup() -> dict:
        _, pairs, dist = aligned_pairs(net, x, cfg.neighbours)
        ends = np.concatenate([x[None, 0].repeat(cfg.n_seeds - 1, 0), x[pairs[:, 0]]])
        others = np.concatenate([x[1:], np.stack([align.weight_match(net, x[i], x[j])
                                                  for i, j in pairs])])
        f = jax.jit(jax.vmap(obj))
        lines = np.stack([f(np.asarray((1 - t) * ends + t * others)) for t in ts], 1)
        return {"pairs": pairs, "distance": dist, "raw_ref": lines[:cfg.n_seeds - 1],
                "aligned": lines[cfg.n_seeds - 1:],
                "raw_ref_distance": np.linalg.norm(x[1:] - x[0], axis=1)}

    dd = ctx.stage("dedup", dedup)
    return {"ts": ts, "loss": tr["loss"], "moved": tr["moved"], **cv, **dd}


def summarize(cfg: Config, data: dict) -> dict:
    peak = {k: bezier.peak_barrier(data[k]) for k in ("line", "line_aligned", "curve")}
    tol = float(data["moved"].max())
    raw_b = np.array([bezier.peak_barrier(v) for v in data["raw_ref"]])
    al_b = np.array([bezier.peak_barrier(v) for v in data["aligned"]])
    btol = cfg.verdict_share * float(np.median(raw_b))
    n, pairs = cfg.n_seeds, data["pairs"]
    ok = peak["curve"] < cfg.verdict_share * peak["line"]
    because = (f"barrier along the trained Bézier curve {peak['curve']:.3g} vs the straight "
               f"line's {peak['line']:.3g} (confirmed below {cfg.verdict_share:g}×)")
    return saddle.experiment.to_jsonable({
        **saddle.experiment.verdict([ok], because),
        "pair": {"loss": [float(data["line"][0]), float(data["line"][-1])],
                 "barrier_line": peak["line"], "barrier_aligned": peak["line_aligned"],
                 "barrier_curve": peak["curve"],
                 "curve_mean_loss": float(np.mean(data["curve"])),
                 "bezier_history_first_last": [float(data["history"][:20].mean()),
                                               float(data["history"][-20:].mean())]},
        "seeds": {"n": n, "loss_median": float(np.median(data["loss"])),
                  "loss_max": float(np.max(data["loss"])),
                  "resolution": tol, "moved_median": float(np.median(data["moved"])),
                  "pairs_compared": len(pairs),
                  "aligned_distance_min": float(data["distance"].min()),
                  "aligned_distance_median": float(np.median(data["distance"])),
                  "raw_distance_median": float(np.median(data["raw_ref_distance"])),
                  "distinct_by_distance": n_components(n, pairs, data["distance"] < tol),
                  "barrier_tol": btol,
                  "raw_barrier_median": float(np.median(raw_b)),
                  "aligned_barrier_median": float(np.median(al_b)),
                  "aligned_barrier_max": float(al_b.max()),
                  "share_pairs_no_barrier": float(np.mean(al_b < btol)),
                  "distinct_by_barrier": n_components(n, pairs, al_b < btol)}})


def plot(cfg: Config, data: dict) -> dict:
    s = summarize(cfg, data)
    fig, (a, b) = splot.figure(1, 2, width=11, height=4)
    for k, lab in (("line", "straight line"), ("line_aligned", "line after weight matching"),
                   ("curve", "trained Bézier curve")):
        a.plot(data["ts"], data[k], label=f"{lab} (barrier {bezier.peak_barrier(data[k]):.2g})")
    a.set(yscale="log", xlabel="t", ylabel="train loss", title="(a) seed 0 → seed 1")
    a.legend(fontsize=7)
    al_b = [bezier.peak_barrier(v) for v in data["aligned"]]
    raw_b = [bezier.peak_barrier(v) for v in data["raw_ref"]]
    bins = np.linspace(min(min(al_b), 0), max(raw_b), 40)
    b.hist(raw_b, bins, alpha=0.6, label="to seed 0, unaligned")
    b.hist(al_b, bins, alpha=0.6, label="aligned pairs")
    b.axvline(s["seeds"]["barrier_tol"], color="k", ls="--", lw=1, label="same-basin threshold")
    sd = s["seeds"]
    b.set(xlabel="barrier on the line", ylabel="pairs",
          title=f"(b) {cfg.n_seeds} seeds: {sd['distinct_by_distance']} distinct by distance, "
                f"{sd['distinct_by_barrier']} by barrier")
    b.legend(fontsize=7)
    return {"mode_connectivity": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
