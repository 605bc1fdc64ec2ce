"""Properties: every test and its interval invert each other (p < alpha iff the bound excludes t, including at
discrete boundaries and at the bounds themselves), bounds of positive quantities never go below zero,
determinism with a seed, input checks, and the dispatcher's choice of rule."""

import math

import numpy as np
import pytest

import roadtest.stats.rules as S
from roadtest.stats.rules import _tango

ALPHA = 0.05


def _thresholds(b, extra=()):
    pts = [b.lower, b.upper, b.estimate, *extra]
    out = []
    for p in pts:
        if math.isfinite(p):
            out += [p, np.nextafter(p, -np.inf), np.nextafter(p, np.inf), p - 1e-6, p + 1e-6, p - 0.01, p + 0.01]
    lo = b.lower if math.isfinite(b.lower) else b.estimate - 1
    hi = b.upper if math.isfinite(b.upper) else b.estimate + 1
    out += list(np.linspace(lo - 0.2 * abs(hi - lo) - 0.01, hi + 0.2 * abs(hi - lo) + 0.01, 41))
    return [float(t) for t in out]


def assert_inverts(b, extra=(), raw_exact=False, raw_tol=1e-7):
    """The reported p-values agree with the bounds everywhere; the raw ones too, except within raw_tol of a
    bound (floating rounding of an analytic inversion) unless raw_exact."""
    for t in _thresholds(b, extra):
        assert (b.p_at_least(t) < ALPHA) == (b.lower > t), (t, b)
        assert (b.p_at_most(t) < ALPHA) == (b.upper < t), (t, b)
        if not (b.domain[0] <= t < b.domain[1]):
            continue
        near = min(abs(t - b.lower), abs(t - b.upper)) <= raw_tol * max(1.0, abs(t))
        if raw_exact or not near:
            assert (b.raw_p(t, "at_least") < ALPHA) == (b.lower > t), ("raw at_least", t, b)
            assert (b.raw_p(t, "at_most") < ALPHA) == (b.upper < t), ("raw at_most", t, b)


# --- inversion, rule by rule -------------------------------------------------------------------------

@pytest.mark.parametrize("k,n", [(0, 5), (5, 5), (17, 20), (1, 100), (99, 100), (50, 100), (178, 200)])
def test_exact_binomial_inverts(k, n):
    assert_inverts(S.proportion(k, n))


def test_effective_n_inverts():
    rng = np.random.default_rng(0)
    for r in (2, 3, 5):
        for mu in (0.5, 0.9, 0.97):
            y = rng.binomial(r, rng.beta(mu * 2, (1 - mu) * 2, 40)) / r
            assert_inverts(S.bounded_mean(y, np.full(40, r)))


def test_t_and_hall_invert():
    x = np.random.default_rng(1).gamma(2.0, size=30)
    assert_inverts(S.mean_t(x))
    assert_inverts(S.hall_t_bounds(x))


def test_skewed_mean_inverts_exactly_at_bootstrap_values():
    rng = np.random.default_rng(2)
    for sigma, n in ((0.25, 120), (0.5, 60), (1.0, 30)):
        b = S.skewed_mean(rng.lognormal(0, sigma, n), seed=3, B=999)
        assert_inverts(b, extra=b.test.lower_tests[0].values[::50])
        assert b.lower >= 0


def test_sign_flip_inverts_exactly():
    d = np.random.default_rng(3).normal(0.1, 0.3, 12)
    b = S.sign_flip_bounds(d)
    assert_inverts(b, extra=np.sort(d), raw_exact=True)


def test_paired_continuous_inverts():
    rng = np.random.default_rng(4)
    for n in (8, 20, 21, 60):
        assert_inverts(S.paired_continuous(rng.gamma(2, size=n) - 1.5))


def test_percentile_inverts_exactly_with_ties():
    rng = np.random.default_rng(5)
    X = np.round(np.exp(0.5 * (rng.normal(0, 0.8, (80, 1)) + rng.normal(0, 0.4, (80, 3)))), 1)  # heavy ties
    items = np.repeat(np.arange(80), 3)
    b = S.percentile(X.ravel(), items, q=0.95)
    assert_inverts(b, extra=np.unique(X), raw_exact=True)
    b1 = S.percentile(X[:, 0], q=0.5)
    assert_inverts(b1, extra=np.unique(X[:, 0]), raw_exact=True)


def test_percentile_fraction_sums_match_brute_force():
    from roadtest.stats.rules.bounds import _fraction_sums
    rng = np.random.default_rng(6)
    x = np.round(rng.lognormal(size=70), 1)
    codes = rng.integers(0, 20, 70)
    codes = np.unique(codes, return_inverse=True)[1]
    n = codes.max() + 1
    u, s1, s2 = _fraction_sums(x, codes, n)
    for j, v in enumerate(u):
        f = np.array([np.mean(x[codes == i] <= v) for i in range(n)])
        assert s1[j] == pytest.approx(f.sum()) and s2[j] == pytest.approx(np.sum(f ** 2))


def test_clustered_rules_invert():
    rng = np.random.default_rng(7)
    for C in (12, 45):
        cl = np.repeat(np.arange(C), 6)
        y = (rng.random(C * 6) < np.repeat(rng.beta(8, 2, C), 6)).astype(float)
        assert_inverts(S.one_sample("binary", y, clusters=cl))
        assert_inverts(S.one_sample("symmetric", rng.normal(size=C * 6), clusters=cl))


@pytest.mark.parametrize("b,c,n", [(12, 3, 50), (0, 0, 30), (5, 5, 20), (30, 0, 30), (2, 9, 40), (40, 20, 200)])
def test_paired_binary_bound_is_the_first_non_rejected_margin(b, c, n):
    res = S.paired_binary(b, c, n)
    # reported p-values agree with the bounds everywhere (including beyond the first crossing)
    for t in _thresholds(res):
        assert (res.p_at_least(t) < ALPHA) == (res.lower > t)
        assert (res.p_at_most(t) < ALPHA) == (res.upper < t)
    # the raw exact test rejects every margin below the lower bound (checked on a fine grid) ...
    if res.lower > -1 + 1e-5:
        grid = np.linspace(max(-1 + 1e-9, res.lower - 0.3), res.lower - 2e-6, 60)
        assert all(_tango.exact_p(b, c, n, float(t), +1) < ALPHA for t in grid)
    # ... and does not reject just above it (within the search tolerance)
    assert _tango.exact_p(b, c, n, res.lower + 1.2e-5, +1) >= ALPHA or res.lower <= -1 + 1e-9   # xtol 1e-5
    if res.upper < 1 - 1e-5:
        up = np.linspace(res.upper + 2e-6, min(1 - 1e-9, res.upper + 0.3), 60)
        assert all(_tango.exact_p(b, c, n, float(t), -1) < ALPHA for t in up)


def test_fairness_gap_inverts():
    rng = np.random.default_rng(8)
    vals = np.concatenate([(rng.random(120) < p) for p in (0.8, 0.7, 0.75)]).astype(float)
    fg = S.fairness_gap(vals, np.repeat(["a", "b", "c"], 120))
    assert_inverts(fg.gap, raw_tol=1e-6)
    assert 0 <= fg.gap.lower <= fg.gap.estimate <= fg.gap.upper <= 1


# --- positivity, determinism --------------------------------------------------------------------------

def test_positive_quantities_never_below_zero():
    rng = np.random.default_rng(9)
    for _ in range(30):
        x = rng.lognormal(0, 1.5, 10)
        assert S.skewed_mean(x, B=199).lower >= 0
        assert S.one_sample("percentile", x, q=0.95).lower >= 0
        y = (rng.random(12) < 0.05).astype(float)
        b = S.one_sample("binary", y)
        assert 0 <= b.lower <= b.upper <= 1


def test_determinism_with_seed():
    x = np.random.default_rng(10).lognormal(0, 0.5, 150)
    assert S.skewed_mean(x, seed=7) == S.skewed_mean(x, seed=7)
    assert S.skewed_mean(x, seed=7).lower != S.skewed_mean(x, seed=8).lower
    X = (np.random.default_rng(11).random((3, 40)) < 0.7).astype(float)
    a, b = S.best_set(X, seed=5, B=499), S.best_set(X, seed=5, B=499)
    assert a.c == b.c and a.in_set == b.in_set and np.array_equal(a.rank_probs, b.rank_probs)
    rep_a = np.random.default_rng(12).integers(0, 2, 60).astype(float)
    rep_b = np.random.default_rng(13).integers(0, 2, 60).astype(float)
    items = np.repeat(np.arange(20), 3)
    r1 = S.paired("binary", rep_a, rep_b, items=items, seed=4)
    r2 = S.paired("binary", rep_a, rep_b, items=items, seed=4)
    assert (r1.lower, r1.upper, r1.p_greater) == (r2.lower, r2.upper, r2.p_greater)
    assert "random call" in r1.method


def test_best_set_matches_a_direct_loop():
    rng = np.random.default_rng(14)
    X = (rng.random((3, 30)) < np.array([[0.8], [0.7], [0.6]])).astype(float)
    res = S.best_set(X, seed=21, B=399)
    n, K, B = 30, 3, 399
    idx = np.random.default_rng(21).integers(0, n, size=(B, n))
    se = np.array([[np.std(X[i] - X[j], ddof=1) / math.sqrt(n) for j in range(K)] for i in range(K)])
    xb = X.mean(1)
    maxT = np.zeros((B, K))
    for bb in range(B):
        Xs = X[:, idx[bb]]
        for i in range(K):
            vals = []
            for j in range(K):
                if j == i:
                    continue
                d = Xs[j] - Xs[i]
                s = np.std(d, ddof=1) / math.sqrt(n)
                den = s if s > 1e-12 else se[j, i]
                vals.append(((d.mean() - (xb[j] - xb[i])) / den) if den > 1e-12 else 0.0)
            maxT[bb, i] = max(vals)
    c = max(np.quantile(maxT[:, i], 0.95) for i in range(K))
    assert res.c == pytest.approx(c, rel=1e-9)
    U = [min(xb[i] - xb[j] + c * se[i, j] for j in range(K) if j != i) for i in range(K)]
    assert res.in_set == tuple(u >= 0 for u in U)
    assert res.rank_probs.sum(axis=1) == pytest.approx(np.ones(K))


# --- the dispatchers --------------------------------------------------------------------------------------

def test_one_sample_routes_to_the_study_rules():
    rng = np.random.default_rng(15)
    y = (rng.random(60) < 0.8).astype(float)
    assert S.one_sample("binary", y).method == "exact binomial / Clopper-Pearson"
    items = np.repeat(np.arange(20), 3)
    assert "effective-n" in S.one_sample("binary", y, items=items).method
    assert "effective-n" in S.one_sample("bounded", rng.random(60)).method
    cl5 = np.repeat(np.arange(5), 12)
    assert "fewer than 10 clusters" in S.one_sample("binary", y, clusters=cl5).reason
    cl12 = np.repeat(np.arange(12), 5)
    assert S.one_sample("binary", y, clusters=cl12).method == "effective-n Clopper-Pearson on cluster means"
    y2 = (rng.random(400) < 0.8).astype(float)
    assert "Hall" in S.one_sample("binary", y2, clusters=np.repeat(np.arange(40), 10)).method
    short = S.one_sample("skewed", rng.lognormal(size=8))
    assert "too few items for a mean of a skewed metric" in short.reason and short.lower == 0
    wide = S.one_sample("skewed", rng.lognormal(0, 1.0, 150))
    assert math.isinf(wide.upper) and "SD of log values" in wide.reason and "percentile" in wide.reason
    ok = S.one_sample("skewed", rng.lognormal(0, 0.3, 150))
    assert math.isfinite(ok.upper) and ok.reason == ""
    p = S.one_sample("percentile", rng.lognormal(size=300), items=np.repeat(np.arange(100), 3), q=0.95)
    assert p.n == 100 and math.isfinite(p.upper)
    assert "CR2" in S.one_sample("symmetric", rng.normal(size=60), clusters=cl12).method


def test_paired_reports_what_pairing_gained():
    rng = np.random.default_rng(16)
    base = rng.normal(size=50)
    a, b = base + rng.normal(0, 0.3, 50) + 0.2, base + rng.normal(0, 0.3, 50)
    r = S.paired("symmetric", a, b, margin=0.1)
    assert r.correlation == pytest.approx(np.corrcoef(a, b)[0, 1])
    assert r.se_paired == pytest.approx(np.std(a - b, ddof=1) / math.sqrt(50))
    assert r.se_unpaired == pytest.approx(math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 50))
    assert r.se_paired < r.se_unpaired
    assert (r.p_greater < ALPHA) == (r.lower > 0.1) and (r.p_less < ALPHA) == (r.upper < 0.1)


def test_claims_follow_the_bounds():
    r = S.paired("symmetric", np.linspace(0, 1, 40) + 0.05, np.linspace(0, 1, 40) + np.tile([0.02, -0.02], 20))
    ni = S.non_inferiority(r, 0.02)
    assert ni.verdict == ("SUPPORTED" if r.lower > -0.02 else "REFUTED" if r.upper < -0.02 else "INCONCLUSIVE")
    eq = S.equivalence(r, 0.2)
    assert eq.verdict == "SUPPORTED" and eq.p_supported == max(r.difference.p_at_least(-0.2), r.difference.p_at_most(0.2))
    far = S.paired("symmetric", np.linspace(0, 1, 40) + 1.0, np.linspace(0, 1, 40) + np.tile([0.02, -0.02], 20))
    assert S.equivalence(far, 0.2).verdict == "REFUTED"


def test_paired_needs_every_item_for_both_models():
    with pytest.raises(S.StatsInputError, match="both models on every item"):
        S.paired("binary", [1, 0, 1], [1, 1], items=["a", "b", "c"], items_b=["a", "b"])


@pytest.mark.parametrize("call,match", [
    (lambda: S.one_sample("binary", [1, 0, np.nan]), "NaN"),
    (lambda: S.one_sample("binary", [1, 0, 0.5]), "0 or 1"),
    (lambda: S.one_sample("accuracy", [1, 0]), "unknown kind"),
    (lambda: S.one_sample("percentile", [1.0, 2.0]), "needs q"),
    (lambda: S.one_sample("skewed", [1.0, -2.0] * 10), "values > 0"),
    (lambda: S.one_sample("binary", [1, 0, 1, 1], items=[1, 1, 2, 2], clusters=["x", "y", "y", "y"]), "two clusters"),
    (lambda: S.one_sample("binary", [1, 0], items=[1]), "labels"),
    (lambda: S.proportion(5, 3), "0 <= k <= n"),
    (lambda: S.proportion(2, 10, alpha=0.7), "alpha"),
    (lambda: S.skewed_mean(np.ones(20) + np.arange(20), B=10), "resamples"),
    (lambda: S.family_verdict([0.01], [0.01]), "both SUPPORTED and REFUTED"),
    (lambda: S.holm([0.2, 1.3]), "between 0 and 1"),
    (lambda: S.paired("percentile", [1.0], [2.0]), "paired kind"),
    (lambda: S.best_set(np.ones((1, 5))), "at least 2 models"),
])
def test_input_errors(call, match):
    with pytest.raises(S.StatsInputError, match=match):
        call()


# --- family -------------------------------------------------------------------------------------------------

def test_holm_and_bh_match_statsmodels():
    from statsmodels.stats.multitest import multipletests
    p = np.array([0.001, 0.04, 0.03, 0.2, 0.04, 0.7])
    assert S.holm(p) == pytest.approx(multipletests(p, method="holm")[1])
    assert S.benjamini_hochberg(p) == pytest.approx(multipletests(p, method="fdr_bh")[1])


def test_family_all_and_any():
    f = S.family_verdict([0.01, 0.02], [0.9, 0.8], "all")
    assert f.verdict == "SUPPORTED" and f.p_cell_supported == 0.02
    assert S.family_verdict([0.01, 0.2], [0.9, 0.3], "all").verdict == "INCONCLUSIVE"
    assert S.family_verdict([0.9, 0.2], [0.02, 0.3], "all").verdict == "REFUTED"      # Holm: 0.04
    assert S.family_verdict([0.9, 0.2], [0.03, 0.3], "all").verdict == "INCONCLUSIVE"  # Holm: 0.06
    assert S.family_verdict([0.02, 0.3], [0.9, 0.8], "any").verdict == "SUPPORTED"    # Holm: 0.04
    assert S.family_verdict([0.03, 0.3], [0.9, 0.8], "any").verdict == "INCONCLUSIVE"
    assert S.family_verdict([0.6, 0.7], [0.01, 0.04], "any").verdict == "REFUTED"
    assert "Holm" in S.family_verdict([0.6, 0.7], [0.01, 0.04], "any").sentence
