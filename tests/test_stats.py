"""saddle.stats against scipy, brute-force order statistics and simulation."""

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.stats

from saddle import stats

Z95 = 1.96
LEVEL_Z95 = math.erf(Z95 / math.sqrt(2))  # two-sided level of z = 1.96


# ----------------------------------------------------------------------------- Wilson
def test_wilson_interval_equals_scipy_binomtest_on_many_counts():
    pairs = [(k, n) for n in (1, 2, 3, 7, 10, 33, 100, 1000, 12345) for k in
             sorted({0, 1, n // 3, n // 2, n - 1, n})]
    k, n = np.array(pairs).T
    lo, hi = stats.wilson_interval(k, n)  # vectorised
    for i, (kk, nn) in enumerate(pairs):
        ci = scipy.stats.binomtest(int(kk), int(nn)).proportion_ci(
            confidence_level=LEVEL_Z95, method="wilson")
        assert lo[i] == pytest.approx(ci.low, abs=1e-12), (kk, nn)
        assert hi[i] == pytest.approx(ci.high, abs=1e-12), (kk, nn)
    lo, hi = stats.wilson_interval(3, 20, z=3.0)
    ci = scipy.stats.binomtest(3, 20).proportion_ci(confidence_level=math.erf(3 / math.sqrt(2)),
                                                    method="wilson")
    assert (lo, hi) == (pytest.approx(ci.low, abs=1e-12), pytest.approx(ci.high, abs=1e-12))


def test_wilson_interval_broadcasts():
    lo, hi = stats.wilson_interval([[0], [5]], [10, 20, 40])
    assert lo.shape == hi.shape == (2, 3)
    assert hi[1, 0] == pytest.approx(scipy.stats.binomtest(5, 10).proportion_ci(
        confidence_level=LEVEL_Z95, method="wilson").high, abs=1e-12)


@pytest.mark.parametrize("hits, n, match", [
    (math.nan, 10, "hits must be whole numbers >= 0, got nan"),
    (2.5, 10, "hits must be whole numbers >= 0, got 2.5"),
    (-1, 10, "hits must be whole numbers >= 0, got -1"),
    (np.array([1, math.inf]), 10, "hits must be whole numbers"),
    ("three", 10, "hits must be whole numbers"),
    (1, math.nan, "n must be whole numbers >= 0, got nan"),
    (1, 7.5, "n must be whole numbers"),
    (0, 0, "n must be >= 1"),
    (11, 10, "hits must be <= n, got hits=11, n=10"),
])
def test_wilson_interval_bad_counts_raise_one_line(hits, n, match):
    with pytest.raises(ValueError, match=match) as err:
        stats.wilson_interval(hits, n)
    assert "\n" not in str(err.value)


def test_wilson_interval_bad_z():
    for z in (0.0, -1.0, math.nan, math.inf, True):
        with pytest.raises(ValueError, match="z must be a finite number > 0"):
            stats.wilson_interval(1, 10, z=z)


# ----------------------------------------------------------------------------- median CI
def _brute_force_bounds(n, level):
    """1-based l: the largest with coverage 1 − 2·P(B ≤ l − 1) ≥ level, B ~ Bin(n, ½),
    in exact rational arithmetic; 1 when none qualifies."""
    best = 1
    for l in range(1, n // 2 + 1):
        tail = sum(Fraction(math.comb(n, j), 2**n) for j in range(l))
        if 1 - 2 * tail >= Fraction(level).limit_denominator(10**9):
            best = l
    return best


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_median_ci_matches_brute_force_order_statistics(level):
    for n in range(1, 61):
        x = np.arange(1.0, n + 1)  # X_(i) = i
        med, lo, hi = stats.median_ci(np.random.default_rng(n).permutation(x), level)
        l = _brute_force_bounds(n, level)
        assert med == np.median(x)
        assert (lo, hi) == (float(l), float(n - l + 1)), (n, level)


def test_median_ci_classic_values():
    # n = 100: the textbook distribution-free 95% interval is [X_(40), X_(61)].
    assert stats.median_ci(np.arange(1, 101)) == (50.5, 40.0, 61.0)
    assert stats.median_ci([7.0]) == (7.0, 7.0, 7.0)


def test_median_ci_coverage_by_simulation():
    """On exponential samples (median ln 2), n = 51: the simulated coverage agrees with
    the exact coverage of the order-statistic interval, 1 − 2·P(B ≤ l − 1)."""
    n, reps = 51, 4000
    l = _brute_force_bounds(n, 0.95)
    exact = 1 - 2 * sum(math.comb(n, j) for j in range(l)) / 2**n
    assert exact >= 0.95
    x = np.random.default_rng(0).exponential(size=(reps, n))
    hits = sum(lo <= math.log(2) <= hi for _, lo, hi in map(stats.median_ci, x))
    lo_ok, hi_ok = scipy.stats.binom.interval(0.999, reps, exact)
    assert lo_ok <= hits <= hi_ok


@pytest.mark.parametrize("x, level, match", [
    ([], 0.95, "at least one value"),
    ([1.0, math.nan], 0.95, "non-finite"),
    ([1.0], 1.0, "level must be a number in"),
    ([1.0], 0.0, "level must be a number in"),
    (["a"], 0.95, "x must be an array of numbers"),
])
def test_median_ci_bad_input(x, level, match):
    with pytest.raises(ValueError, match=match):
        stats.median_ci(x, level)


# ----------------------------------------------------------------------------- censoring
def test_censored_replaces_never_by_the_budget():
    e = np.array([3, -1, 5, -1, -1])
    np.testing.assert_array_equal(stats.censored(e, 100), [3, 100, 5, 100, 100])
    with pytest.raises(ValueError, match="times must be >= -1"):
        stats.censored([3, -2], 100)
    with pytest.raises(ValueError, match="times must be <= budget=10"):
        stats.censored([11], 10)
    with pytest.raises(ValueError, match="times must be whole steps"):
        stats.censored([1.5], 10)
    with pytest.raises(ValueError, match="budget must be >= 1"):
        stats.censored([1], 0)


def test_censored_summary_against_direct_computation():
    rng = np.random.default_rng(3)
    budget = 50
    t = rng.geometric(0.03, size=301)  # many beyond the budget
    times = np.where(t > budget, -1, t)
    s = stats.censored_summary(times, budget)
    never = int(np.sum(t > budget))
    # the censored median is the true sample median when it lies below the budget
    true_med = float(np.median(t))
    assert (s.median == true_med) if true_med < budget else (s.median == budget)
    assert s.median_censored == (true_med >= budget)
    assert s.never_fraction == never / 301 and s.n == 301
    ci = scipy.stats.binomtest(never, 301).proportion_ci(method="wilson")
    assert s.never_ci == (pytest.approx(ci.low, abs=1e-12), pytest.approx(ci.high, abs=1e-12))
    q = np.percentile(np.minimum(t, budget), [25, 75])
    assert (s.q25, s.q75) == (q[0], q[1])
    # the median's interval, again by brute force: [X_(l), X_(n−l+1)] of the censored sample
    l = _brute_force_bounds(301, 0.95)
    srt = np.sort(np.minimum(t, budget))
    assert (s.ci_low, s.ci_high) == (srt[l - 1], srt[301 - l])
    assert s.ci_high_censored == (srt[301 - l] >= budget)


def test_censored_summary_all_never():
    s = stats.censored_summary(np.full(20, -1), 300)
    assert s.median == 300 and s.median_censored and s.never_fraction == 1.0
    assert s.never_ci[1] == 1.0


# ----------------------------------------------------------------------------- median_meets
def _summary(median, lo, hi, budget=1000):
    return {"median": median, "ci_low": lo, "ci_high": hi, "median_censored": median >= budget,
            "ci_high_censored": hi >= budget}


def test_median_meets_intervals_and_censoring():
    assert stats.median_meets(_summary(100, 98, 102), 95, 105) is True
    assert stats.median_meets(_summary(100, 98, 102), 102, 110) is True  # touching counts
    assert stats.median_meets(_summary(100, 98, 102), 103, 110) is False
    assert stats.median_meets(_summary(100, 98, 102), 80, 97) is False
    # the upper end reached the budget: the interval extends to +∞
    assert stats.median_meets(_summary(900, 850, 1000), 1500, 1600) is True
    # a censored median decides only when it already exceeds the range
    assert stats.median_meets(_summary(1000, 950, 1000), 500, 600) is False
    assert stats.median_meets(_summary(1000, 950, 1000), 1100, 1200) is None
    s = stats.censored_summary(np.array([5, 6, 7, 8, 9] * 20), 100)  # the dataclass works too
    assert stats.median_meets(s, 6.5, 7.5) is True
    with pytest.raises(ValueError, match="low must be <= high"):
        stats.median_meets(s, 2.0, 1.0)


# ----------------------------------------------------------------------------- ks_distance
def test_ks_distance_against_brute_force_and_the_kolmogorov_law():
    """Geometric times (p = 0.1) against their own CDF and a shifted one; "never" (−1) runs
    count in n but never in the empirical CDF; critical value K_0.99/√n, K_0.99 = 1.6276."""
    rng = np.random.default_rng(0)
    t = rng.geometric(0.1, size=2000) - 1  # 0, 1, 2, ...
    t[:50] = -1  # 2.5% never
    steps = np.arange(60)
    cdf = 1 - 0.9 ** (steps + 1)
    d, crit = stats.ks_distance(t, cdf)
    brute = max(abs(np.sum((t >= 0) & (t <= s)) / t.size - cdf[s]) for s in steps)
    assert d == pytest.approx(brute, abs=1e-15)
    assert crit == pytest.approx(1.6276 / math.sqrt(2000), rel=1e-4)
    assert 0.02 < d < crit  # the 2.5% never make the distance, still inside the band
    assert stats.ks_distance(t, 1 - 0.9 ** (steps + 2))[0] > crit  # a law one step late
    with pytest.raises(ValueError, match="times must be whole steps"):
        stats.ks_distance([0.5, 1], cdf)
    with pytest.raises(ValueError, match="cdf must be"):
        stats.ks_distance(t, [0.5, 1.5])


# ----------------------------------------------------------------------------- Chao1
def test_chao1_by_hand():
    """counts 1,1,1,2,2,5: S_obs = 6, f1 = 3, f2 = 2, n = 12.
    Ŝ = 6 + (11/12)·3·2/(2·3) = 6.91667; var = (11/12)·1 + (11/12)²·3·25/36
    + (11/12)²·9·2·4/(4·81) (Chao 2005's bias-corrected variance)."""
    r = stats.chao1([1, 1, 1, 2, 2, 5, 0])
    w = 11 / 12
    assert (r.observed, r.singletons, r.doubletons, r.n) == (6, 3, 2, 12)
    assert r.estimate == pytest.approx(6 + w, rel=1e-12)
    var = w + w**2 * 3 * 25 / 36 + w**2 * 9 * 2 * 4 / (4 * 81)
    k = np.exp(1.959963984540054 * np.sqrt(np.log(1 + var / w**2)))
    assert (r.low, r.high) == pytest.approx((6 + w / k, 6 + w * k), rel=1e-12)
    none = stats.chao1([3, 4, 2])
    assert none.unseen == 0 and none.low == none.high == 3
    with pytest.raises(ValueError, match="counts must be whole numbers"):
        stats.chao1([1.5, 2])


def test_chao1_is_nearly_unbiased_for_equally_likely_classes():
    """Monte Carlo: 100 equally likely classes, 150 draws. E[S_obs] = 100(1 − 0.99^150) =
    77.9 falls short; the mean Chao1 estimate over 2000 samples is within 3 of 100 (it
    is nearly unbiased when every class is equally likely, Chao 1984), and the unseen
    estimate tracks the truth."""
    rng = np.random.default_rng(0)
    est = np.array([stats.chao1(np.bincount(rng.integers(0, 100, 150), minlength=100)
                                       ).estimate for _ in range(2000)])
    observed = 100 * (1 - 0.99**150)
    assert observed == pytest.approx(77.9, abs=0.05)
    assert abs(est.mean() - 100) < 3 < 100 - observed  # Monte Carlo standard error: 0.22
    # Its 95% log-normal interval covers the truth about 95% of the time (measured 0.938;
    # at 1000 samples the binomial SD is 0.007).
    cover = [(r := stats.chao1(np.bincount(rng.integers(0, 100, 150), minlength=100))).low
             <= 100 <= r.high for _ in range(1000)]
    assert np.mean(cover) > 0.9
