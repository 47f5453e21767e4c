"""P(GOE matrix > 0): Wilson intervals, the exact de Bruijn formula, and the goe_signs experiment.

Every value the exact formula is checked against is computed independently of it:
closed forms derived by hand (k = 1, 2), scipy quadrature of the eigenvalue density
(k = 3), fresh Monte Carlo (k = 3..5), Mehta's and Selberg's closed-form integrals for
the same Pfaffian machinery, and the Dean–Majumdar rate for large k.
"""

import json
import math
import warnings

import jax
import numpy as np
import pytest
import scipy.stats

import experiments.goe_signs as gs
from saddle import experiment, goe
from saddle.objectives.random import goe_matrix


def _gauss(x):
    return -0.5 * x * x


# ----------------------------------------------------------------------------- Wilson
def test_wilson_interval_hand_values():
    # hits=5, n=10, z=1.96: centre (0.5 + 0.19208)/1.38416 = 0.5,
    # half = 1.96·√(0.025 + 0.009604)/1.38416 = 1.96·0.1860215/1.38416 = 0.263410
    # (the Wald interval would give 0.5 ± 0.3099)
    lo, hi = goe.wilson_interval(5, 10)
    assert lo == pytest.approx(0.236590, abs=2e-6) and hi == pytest.approx(0.763410, abs=2e-6)
    # hits=1, n=50: centre 0.058416/1.076832 = 0.054248,
    # half = 1.96·√0.00077616/1.076832 = 1.96·0.0278596/1.076832 = 0.050709
    lo, hi = goe.wilson_interval(1, 50)
    assert lo == pytest.approx(0.003539, abs=2e-6) and hi == pytest.approx(0.104957, abs=2e-6)
    # hits=0: [0, z²/(n + z²)]
    lo, hi = goe.wilson_interval(0, 100)
    assert lo == 0.0 and hi == pytest.approx(1.96**2 / (100 + 1.96**2), rel=1e-12)
    lo, hi = goe.wilson_interval(np.array([0, 3, 7]), 7)  # vectorised, symmetric
    assert lo.shape == (3,) and hi[0] == pytest.approx(1 - lo[2]) and hi[2] == 1.0


@pytest.mark.parametrize("hits, n", [(-1, 10), (11, 10), (0, 0)])
def test_wilson_interval_rejects_bad_counts(hits, n):
    with pytest.raises(ValueError):
        goe.wilson_interval(hits, n)


# ----------------------------------------------------------------------------- Pfaffian
def test_pfaffian_against_formula_and_determinant():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(4, 4))
    a = m - m.T
    pf4 = a[0, 1] * a[2, 3] - a[0, 2] * a[1, 3] + a[0, 3] * a[1, 2]
    sign, logabs = goe.pfaffian(a)
    assert sign * math.exp(logabs) == pytest.approx(pf4, rel=1e-12)
    m = rng.normal(size=(10, 10))
    sign, logabs = goe.pfaffian(m - m.T)
    assert 2 * logabs == pytest.approx(np.linalg.slogdet(m - m.T)[1], rel=1e-12)
    assert goe.pfaffian(np.zeros((3, 3))) == (0.0, -math.inf)
    with pytest.raises(ValueError, match="skew"):
        goe.pfaffian(m)


# ----------------------------------------------------------------------------- exact value
def test_exact_k1_k2_closed_forms():
    assert goe.prob_all_positive(1) == pytest.approx(0.5, rel=1e-12)
    # 2×2: ordered density ∝ (y − x) e^{−(x²+y²)/2}. Polar coordinates (x = r cos φ,
    # y = r sin φ): Z₊ = ∫r² e^{−r²/2} dr · ∫_{π/4}^{π/2} (sin φ − cos φ) dφ
    # = √(π/2)·(√2 − 1); Z = ½∫∫|x − y| e^{…} = 2√π. Ratio (√2 − 1)/(2√2) = (2 − √2)/4.
    assert goe.prob_all_positive(2) == pytest.approx((2 - math.sqrt(2)) / 4, rel=1e-12)
    assert goe.prob_all_positive(2) == pytest.approx(0.1464466, abs=1e-7)


def test_exact_k3_against_scipy_quadrature():
    integrate = pytest.importorskip("scipy.integrate")

    def dens(z, y, x):  # ordered x < y < z
        return (y - x) * (z - x) * (z - y) * math.exp(-(x * x + y * y + z * z) / 2)

    inf = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zp, _ = integrate.tplquad(
            dens,
            0,
            inf,
            lambda x: x,
            lambda x: inf,
            lambda x, y: y,
            lambda x, y: inf,
            epsrel=1e-9,
            epsabs=0,
        )
        z, _ = integrate.tplquad(
            dens,
            -inf,
            inf,
            lambda x: x,
            lambda x: inf,
            lambda x, y: y,
            lambda x, y: inf,
            epsrel=1e-9,
            epsabs=0,
        )
    assert goe.prob_all_positive(3) == pytest.approx(zp / z, rel=1e-7)
    assert math.exp(goe.log_mehta_integral(3)) == pytest.approx(z, rel=1e-7)


@pytest.mark.parametrize("k, n", [(3, 200_000), (4, 400_000), (5, 600_000)])
def test_exact_k3_to_5_against_fresh_monte_carlo(k, n):
    key = jax.random.fold_in(jax.random.PRNGKey(12345), k)
    # chunks of SMALL's size: the experiment's run below reuses these compiled programs
    hits = int(goe.index_counts(key, k, n, chunk_size=SMALL.chunk_size)[0])
    lo, hi = goe.wilson_interval(hits, n, z=3.29)  # 99.9%
    assert hits > 50 and lo <= goe.prob_all_positive(k) <= hi


def test_mehta_integral_closed_form_and_pfaffian_on_full_line():
    # hand values: Z_1 = √(2π), Z_2 = ½∫∫|x − y| e^{−(x²+y²)/2} = 2√π
    assert math.exp(goe.log_mehta_integral(1)) == pytest.approx(math.sqrt(2 * math.pi))
    assert math.exp(goe.log_mehta_integral(2)) == pytest.approx(2 * math.sqrt(math.pi))
    for k in (1, 2, 7, 30, 100):  # the Pfaffian route over ℝ reproduces Mehta's integral
        cut = math.sqrt(2 * k) + 10
        log_z = goe.log_ordered_integral(k, _gauss, -cut, cut, n_quad=2 * (3 * k + 80))
        assert log_z == pytest.approx(goe.log_mehta_integral(k), abs=1e-9)


def _log_selberg(n, laguerre):
    """Ordered ∫|Δ| over [0, ∞)ⁿ with weight e^{−x} (Laguerre) or over [0, 1]ⁿ (Selberg)."""
    if laguerre:
        terms = (
            math.lgamma(1 + j / 2) + math.lgamma(1 + (j + 1) / 2) - math.lgamma(1.5)
            for j in range(n)
        )
    else:
        terms = (
            2 * math.lgamma(1 + j / 2)
            + math.lgamma(1 + (j + 1) / 2)
            - math.lgamma(2 + (n + j - 1) / 2)
            - math.lgamma(1.5)
            for j in range(n)
        )
    return sum(terms) - math.lgamma(n + 1)


@pytest.mark.parametrize("n", [1, 2, 5, 20])
def test_de_bruijn_on_a_half_line_matches_selberg(n):
    """Same machinery, weights with closed forms: e^{−x} on [0, ∞) and 1 on [0, 1]."""
    lag = goe.log_ordered_integral(n, lambda x: -x, 0.0, 4 * n + 60, n_quad=6 * n + 200)
    assert lag == pytest.approx(_log_selberg(n, laguerre=True), abs=1e-10)
    sel = goe.log_ordered_integral(n, lambda x: 0 * x, 0.0, 1.0, n_quad=2 * n + 40)
    assert sel == pytest.approx(_log_selberg(n, laguerre=False), abs=1e-10)


@pytest.mark.parametrize("k", [12, 60, goe.K_EXACT_MAX])
def test_exact_is_converged(k):
    base = goe.log_prob_all_positive(k)
    cut = math.sqrt(2 * k) + 15
    finer = goe.log_ordered_integral(k, _gauss, 0.0, cut, n_quad=2 * (3 * k + 80))
    assert finer - goe.log_mehta_integral(k) == pytest.approx(base, abs=1e-8)


def test_exact_follows_dean_majumdar_rate():
    rates = [-goe.log_prob_all_positive(k) / k**2 for k in (25, 50, 100)]
    errs = [abs(r - goe.THETA_GOE) for r in rates]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 0.02 * goe.THETA_GOE
    assert goe.THETA_GOE == pytest.approx(math.log(3) / 4)
    with pytest.raises(ValueError, match="k must be <="):
        goe.log_prob_all_positive(goe.K_EXACT_MAX + 1)


# ----------------------------------------------------------------------------- sampling
def test_negative_counts_match_numpy_eigvalsh():
    key = jax.random.PRNGKey(3)
    h = np.asarray(goe_matrix(key, 6, 500), dtype=np.float64)
    expected = np.sum(np.linalg.eigvalsh(h) < 0, axis=-1)
    np.testing.assert_array_equal(np.asarray(goe.negative_counts(key, 6, 500)), expected)


def test_index_counts_in_chunks_of_one_shape():
    """n = 25 000 in chunks of 7 000: chunk c draws 7 000 matrices from fold_in(key, c) and
    the last keeps its first 4 000; one compiled program serves every chunk."""
    key, k = jax.random.PRNGKey(5), 3
    goe.negative_counts(key, k, 7_000)  # the chunks' program (maybe compiled by a test above)
    before = goe.negative_counts._cache_size()
    calls = []
    counts = goe.index_counts(key, k, 25_000, chunk_size=7_000,
                              progress=lambda it: (calls.append(len(it)), it)[1])
    assert goe.negative_counts._cache_size() == before and calls == [4]  # nothing new
    h = np.concatenate([np.linalg.eigvalsh(np.asarray(goe_matrix(jax.random.fold_in(key, c), k,
                                                                  7_000), np.float64))
                        for c in range(4)])[:25_000]
    np.testing.assert_array_equal(counts, np.bincount(np.sum(h < 0, axis=1), minlength=k + 1))
    # chunk_size >= n: a single chunk, fold_in(key, 0)
    one = goe.index_counts(key, k, 500, chunk_size=10**6)
    np.testing.assert_array_equal(one, goe.index_counts(key, k, 500, chunk_size=500))
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        goe.index_counts(key, k, 10, chunk_size=0)


# ----------------------------------------------------------------------------- experiment
SMALL = gs.Config(
    k_max=6, n_samples=20_000, chunk_size=7_000, index_ks=(2, 9), n_index_samples=3_000, seed=1
)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return experiment.run_experiment(
        SMALL,
        gs.run,
        gs.plot,
        gs.summarize,
        out=tmp_path_factory.mktemp("goe_signs"),
        show_progress=False,
        figure_formats=("png",), dpi=50,
    )


def test_summary_fields_and_exact_inside_ci(result):
    s = json.loads((result.out / "summary.json").read_text())
    assert s["k"] == [1, 2, 3, 4, 5, 6]
    for field in (
        "p_all_positive",
        "ci_low",
        "ci_high",
        "n_samples",
        "textbook",
        "exact",
        "dean_majumdar",
        "method",
        "hits",
    ):
        assert len(s[field]) == 6, field
    assert s["n_samples"] == [20_000] * 6 and set(s["method"]) == {"de_bruijn_pfaffian"}
    assert s["textbook"] == [0.5**k for k in range(1, 7)]
    assert s["dean_majumdar"][1] == pytest.approx(1 / 3)  # e^{−4 ln3/4}
    assert s["exact"][:2] == pytest.approx([0.5, (2 - math.sqrt(2)) / 4], rel=1e-10)
    for lo, hi, ex, h in zip(s["ci_low"], s["ci_high"], s["exact"], s["hits"], strict=True):
        # the hit count is Binomial(n, exact): inside its central 99.9% range (scipy)
        h_lo, h_hi = scipy.stats.binom.interval(0.999, 20_000, ex)
        assert h_lo <= h <= h_hi
        assert lo <= ex <= hi
    assert s["hits"][0] > 9000 and s["all_exact_in_ci"]


def test_verdict_refutes_the_textbook_and_can_confirm_it(result):
    s = result.summary
    assert s["verdict"] == "refuted" and s["because"].startswith("k = 2:")
    # the verdict's rule on data drawn from the textbook's own law: confirmed
    k = np.arange(1, 7)
    n = np.full(6, 20_000)
    hits = np.random.default_rng(0).binomial(n, 0.5**k)
    fake = {"k": k, "hits": hits, "n_samples": n, "textbook": 0.5**k,
            "exact": np.array([goe.prob_all_positive(int(v)) for v in k])}
    assert gs.verdict(fake)["verdict"] == "confirmed"
    assert gs.verdict({**fake, "k": k[:1], "hits": hits[:1], "n_samples": n[:1]})["verdict"] \
        == "inconclusive"


def test_index_histograms(result):
    d = result.data
    assert d["index_k"].tolist() == [2, 9] and d["index_n"].tolist() == [20_000, 3_000]
    assert d["index_counts"].sum(axis=1).tolist() == [20_000, 3_000]
    # k = 2 reuses the Monte Carlo run: P(index 0) = P(index 2) = hits/n by symmetry
    c2 = d["index_counts"][0, :3]
    assert c2[0] == d["hits"][1] and abs(c2[0] - c2[2]) < 5 * math.sqrt(c2[0])
    assert d["mc_index_counts"].shape == (6, 7)
    stats = result.summary["index_fraction"]
    assert [t["k"] for t in stats] == [2, 9]
    assert all(t["std_fraction"] < t["binomial_std_fraction"] for t in stats)


def test_files_and_reuse(result):
    assert {p.name for p in result.figures} == {"goe_signs.png"}
    again = experiment.run_experiment(
        SMALL, gs.run, None, gs.summarize, out=result.out, show_progress=False
    )
    assert again.reused and again.summary["hits"] == result.summary["hits"]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"k_max": 0}, "k_max"),
        ({"k_max": goe.K_EXACT_MAX + 1}, "k_max"),
        ({"n_samples": 0}, "n_samples"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"index_ks": ()}, "index_ks"),
        ({"index_ks": (2, 0)}, "index_ks"),
        ({"n_index_samples": 0}, "n_index_samples"),
    ],
)
def test_bad_config(kwargs, field):
    with pytest.raises(ValueError, match=field):
        gs.Config(**kwargs)
