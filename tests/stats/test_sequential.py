"""Anytime-valid bounds and verdicts (roadtest.stats.sequential).

Default lane: unit tests on fixed sequences. `pytest -m slow`: simulations under continuous monitoring (a check
after EVERY item up to n_max = 400) at the boundary, the expected sample size at a clear effect against the
fixed-n exact binomial at the same power, and power checks; the figures are printed."""

import math

import numpy as np
import pytest

import roadtest.stats.rules as S
from roadtest.stats.sequential import (
    INCONCLUSIVE, REFUTED, SUPPORTED, BettingCS, PercentileDecision, SequentialDecision, make_grid,
    percentile_indicators,
)

ALPHA = 0.05


def mc_bar(R, alpha=ALPHA):
    return alpha + 2 * math.sqrt(alpha * (1 - alpha) / R)


def bern(seed, p, n):
    return (np.random.default_rng(seed).random(n) < p).astype(float)


# ---------------------------------------------------------------------------------------------------------
# The confidence sequence
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p,seed", [(0.5, 1), (0.85, 2), (0.1, 3), (0.97, 4)])
def test_bounds_contain_truth_at_every_n(p, seed):
    x = bern(seed, p, 300)
    cs = BettingCS()
    for xi in x:
        cs.update([xi])
        assert cs.lower < p < cs.upper


def test_bounds_tighten_with_n_and_only_tighten():
    x = np.tile([1.0, 0.0, 1.0, 1.0], 100)                  # mean 0.75
    cs = BettingCS()
    widths, lows, highs = [], [], []
    for k in range(0, 400, 20):
        cs.update(x[k:k + 20])
        widths.append(cs.upper - cs.lower)
        lows.append(cs.lower)
        highs.append(cs.upper)
    assert widths[-1] < 0.2 < widths[0]
    assert widths[4] < widths[0] and widths[-1] < widths[4]
    assert np.all(np.diff(lows) >= 0) and np.all(np.diff(highs) <= 0)   # the running intersection
    assert cs.lower < 0.75 < cs.upper


def test_batches_do_not_matter():
    x = bern(5, 0.7, 150)
    one = BettingCS().update(x)
    steps = BettingCS()
    for k in range(0, 150, 7):
        steps.update(x[k:k + 7])
    assert one.bounds() == steps.bounds()


def test_grid_rounds_outward():
    x = bern(6, 0.6, 200)
    coarse, fine = BettingCS(grid_size=50).update(x), BettingCS(grid_size=5000).update(x)
    assert coarse.lower <= fine.lower <= coarse.lower + 1 / 50 + 1e-12
    assert coarse.upper - 1 / 50 - 1e-12 <= fine.upper <= coarse.upper
    assert coarse.bounds().resolution == 1 / 50
    assert BettingCS().bounds().resolution == 0.001


def test_grid_holds_thresholds_exactly():
    g = make_grid(10, (0.853, 0.5))
    assert 0.853 in g and g.size == 12 and np.all(np.diff(g) > 0)


def test_degenerate_sequences():
    assert BettingCS().update(np.ones(200)).upper == 1.0
    assert BettingCS().update(np.ones(200)).lower > 0.9
    assert BettingCS().update(np.zeros(200)).lower == 0.0
    empty = BettingCS().bounds()
    assert (empty.lower, empty.upper, empty.n) == (0.0, 1.0, 0) and math.isnan(empty.estimate)


def test_replications_match_single_sequences():
    rng = np.random.default_rng(7)
    X = (rng.random((3, 80)) < 0.8).astype(float)
    batch = BettingCS(replications=3).update(X)
    for r in range(3):
        single = BettingCS().update(X[r])
        assert batch.lower_bounds()[r] == single.lower and batch.upper_bounds()[r] == single.upper


@pytest.mark.parametrize("bad", [[0.5, 1.2], [-0.1], [0.3, float("nan")], [float("inf")]])
def test_refuses_values_outside_unit_interval_or_non_finite(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]|NaN or infinite"):
        BettingCS().update(bad)


@pytest.mark.parametrize("kwargs", [{"alpha": 0.0}, {"alpha": 0.7}, {"grid_size": 0}, {"points": [1.5]},
                                    {"truncation": 1.0}, {"replications": 0}])
def test_refuses_bad_settings(kwargs):
    with pytest.raises(ValueError):
        BettingCS(**kwargs)


def test_refuses_wrong_shapes():
    with pytest.raises(ValueError, match="shape"):
        BettingCS().update(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        BettingCS(replications=2).update(np.zeros((3, 3)))


# ---------------------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------------------

def test_supported_is_fixed_once_reached():
    d = SequentialDecision(0.6, "at_least", n_max=400)
    d.update(np.ones(30))
    s = d.state()
    assert s.verdict == "SUPPORTED" and s.fixed and s.lower >= 0.6
    n0 = s.n_settled
    d.update(np.zeros(300))                                 # later items (in flight) change nothing
    t = d.state()
    assert (t.verdict, t.n_settled, t.lower, t.upper) == ("SUPPORTED", n0, s.lower, s.upper)
    assert t.n_seen == 330 and not d.can_change()


def test_refuted_and_at_most_mirror():
    x = np.tile([1.0, 0.0, 0.0, 0.0], 50)                   # mean 0.25
    ge = SequentialDecision(0.5, "at_least").update(x).state()
    le = SequentialDecision(0.5, "at_most").update(x).state()
    assert ge.verdict == "REFUTED" and le.verdict == "SUPPORTED"
    assert ge.n_settled == le.n_settled and ge.upper <= 0.5
    flipped = SequentialDecision(0.5, "at_least").update(1 - x).state()
    assert flipped.verdict == "SUPPORTED" and flipped.n_settled == ge.n_settled
    assert flipped.lower == pytest.approx(1 - ge.upper)


def test_verdicts_are_monotone_along_a_sequence():
    rng = np.random.default_rng(8)
    for seed in range(5):
        d = SequentialDecision(0.85, n_max=300)
        x = (np.random.default_rng(seed).random(300) < rng.choice([0.8, 0.95])).astype(float)
        seen = []
        for xi in x:
            d.update([xi])
            seen.append(d.state().verdict)
        decisive = [v for v in seen if v != "INCONCLUSIVE"]
        assert len(set(decisive)) <= 1
        if decisive:
            first = seen.index(decisive[0])
            assert all(v == decisive[0] for v in seen[first:])


def test_decision_is_the_bound_at_the_threshold():
    x = bern(9, 0.95, 200)
    t = 0.853                                               # off the default grid: added exactly
    d = SequentialDecision(t, n_max=None).update(x)
    s = d.state()
    cs = BettingCS(points=(t,))
    for k, xi in enumerate(x, 1):
        cs.update([xi])
        if cs.lower >= t:
            break
    assert s.verdict == "SUPPORTED" and s.n_settled == k and s.lower == cs.lower


def test_decisions_agree_on_coarse_and_default_grid():
    rng = np.random.default_rng(10)
    X = (rng.random((40, 250)) < 0.9).astype(float)
    a = SequentialDecision(0.85, n_max=250, replications=40).update(X)
    b = SequentialDecision(0.85, n_max=250, grid_size=20, replications=40).update(X)
    assert np.array_equal(a.verdicts(), b.verdicts()) and np.array_equal(a.stopping_n(), b.stopping_n())


def test_can_change_with_the_plan_cap():
    d = SequentialDecision(0.5, n_max=30)
    assert d.can_change()
    d.update(np.tile([1.0, 0.0], 12))                       # 24 items at the threshold, 6 left
    s = d.state()
    assert s.verdict == "INCONCLUSIVE" and s.fixed and not d.can_change() and s.n_settled <= 24
    assert "INCONCLUSIVE for good" in s.reason
    open_ = SequentialDecision(0.5, n_max=1000).update(np.tile([1.0, 0.0], 12))
    assert open_.can_change() and not open_.state().fixed
    capped = SequentialDecision(0.5, n_max=10).update(np.ones(10))
    assert capped.state().fixed and capped.state().n_seen == 10


def test_no_cap_stays_open():
    d = SequentialDecision(0.5).update(np.tile([1.0, 0.0], 100))
    assert d.can_change() and d.state().verdict == "INCONCLUSIVE" and d.state().n_settled is None


def test_paired_difference_in_original_units():
    d = np.tile([1.0, 0.0, 0.0, -1.0, 1.0, 0.0], 60)        # mean difference 1/6, in [-1, 1]
    s = SequentialDecision(0.0, "at_least", low=-1.0, high=1.0).update(d).state()
    assert s.verdict == "SUPPORTED" and -1 <= s.lower < 1 / 6 < s.upper <= 1
    u = SequentialDecision(0.5, "at_least").update((d + 1) / 2).state()
    assert s.n_settled == u.n_settled and s.lower == pytest.approx(2 * u.lower - 1)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        SequentialDecision(0.0, low=-1.0, high=1.0).update([1.5])


@pytest.mark.parametrize("kwargs", [{"threshold": 1.2}, {"threshold": float("nan")}, {"threshold": 0.5, "alpha": 1},
                                    {"threshold": 0.5, "direction": "above"}, {"threshold": 0.5, "n_max": 0},
                                    {"threshold": 0.0, "low": 1.0, "high": 0.0}])
def test_decision_refuses_bad_settings(kwargs):
    with pytest.raises(ValueError):
        SequentialDecision(**kwargs)


def test_decision_refuses_non_finite():
    with pytest.raises(ValueError, match="NaN or infinite"):
        SequentialDecision(0.5).update([0.1, float("nan")])


# ---------------------------------------------------------------------------------------------------------
# Percentiles
# ---------------------------------------------------------------------------------------------------------

def test_percentile_indicators():
    v = np.array([0.5, 1.0, 2.0, 3.0])
    assert percentile_indicators(v, 2.0, "at_most").tolist() == [1, 1, 1, 0]     # value <= X
    assert percentile_indicators(v, 2.0, "at_least").tolist() == [1, 1, 0, 0]    # value < X
    with pytest.raises(ValueError, match="finite"):
        percentile_indicators([1.0, float("nan")], 2.0)


def test_percentile_reduces_to_the_indicator_mean():
    lat = np.random.default_rng(11).lognormal(0, 0.5, 400)
    X = float(np.exp(0.5 * 2.5))                            # above the true p95 (exp(0.5 * 1.645))
    p = PercentileDecision(0.95, X, "at_most", n_max=400).update(lat).state()
    d = SequentialDecision(0.95, "at_least", n_max=400).update((lat <= X).astype(float)).state()
    assert p == d and p.verdict == "SUPPORTED"
    low = PercentileDecision(0.95, 1.0, "at_most", n_max=400).update(lat).state()   # X = median: p95 > X
    assert low.verdict == "REFUTED"
    ge = PercentileDecision(0.95, 1.0, "at_least", n_max=400).update(lat).state()   # p95 >= median
    assert ge.verdict == "SUPPORTED"


def test_percentile_refuses_bad_q():
    with pytest.raises(ValueError, match="q must"):
        PercentileDecision(1.0, 2.0)


# ---------------------------------------------------------------------------------------------------------
# Simulations under continuous monitoring (slow lane)
# ---------------------------------------------------------------------------------------------------------

N_MAX = 400
R = 4000


def _run(draw, threshold, direction="at_least", low=0.0, high=1.0, alpha=ALPHA, reps=R, percentile=None):
    """Verdict codes and stopping n of `reps` sequences checked after every item up to N_MAX."""
    if percentile is not None:
        q, X, claim = percentile
        d = PercentileDecision(q, X, claim, alpha, N_MAX, grid_size=20, replications=reps)
        d.update(draw)
        return d.verdicts(), d.decision.stopping_n()
    dec = SequentialDecision(threshold, direction, alpha, N_MAX, low, high, grid_size=20, replications=reps)
    dec.update(draw)
    return dec.verdicts(), dec.stopping_n()


def _report(name, codes, wrong_sup=True, wrong_ref=True):
    reps = codes.size
    sup, ref = float(np.mean(codes == SUPPORTED)), float(np.mean(codes == REFUTED))
    se = math.sqrt(ALPHA * (1 - ALPHA) / reps)
    print(f"\n[seq] {name}: P(ever SUPPORTED) {sup:.4f}, P(ever REFUTED) {ref:.4f}, either {sup + ref:.4f} "
          f"(R = {reps}, MC SE at alpha {se:.4f}, bar {mc_bar(reps):.4f})")
    return sup, ref


@pytest.mark.slow
def test_boundary_proportion():
    rng = np.random.default_rng(2101)
    X = (rng.random((R, N_MAX)) < 0.85).astype(float)
    for direction in ("at_least", "at_most"):
        codes, _ = _run(X, 0.85, direction)
        sup, ref = _report(f"Bernoulli p = 0.85, claim {direction} 0.85, alpha {ALPHA} each side", codes)
        assert sup <= mc_bar(R) and ref <= mc_bar(R)
    codes, _ = _run(X, 0.85, alpha=ALPHA / 2)                # alpha/2 per side: the union at alpha
    sup, ref = _report("Bernoulli p = 0.85, alpha/2 each side", codes)
    assert sup + ref <= mc_bar(R)


@pytest.mark.slow
def test_boundary_paired_difference():
    rng = np.random.default_rng(2102)
    u = rng.random((R, N_MAX))                              # paired 0/1: p10 = p01 = 0.15, difference 0
    D = np.where(u < 0.15, 1.0, np.where(u < 0.30, -1.0, 0.0))
    codes, _ = _run(D, 0.0, low=-1.0, high=1.0)
    sup, ref = _report("paired 0/1 difference, p10 = p01 = .15, margin 0", codes)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)
    a = rng.beta(4, 2, (R, N_MAX))                          # continuous [0, 1] scores, equal means
    b = rng.beta(4, 2, (R, N_MAX))
    codes, _ = _run(a - b, 0.0, low=-1.0, high=1.0)
    sup, ref = _report("paired Beta(4, 2) scores difference, margin 0", codes)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)


@pytest.mark.slow
def test_boundary_percentile():
    rng = np.random.default_rng(2103)
    lat = rng.lognormal(0, 0.5, (R, N_MAX))
    X = float(np.exp(0.5 * 1.6448536269514722))             # the true p95: P(latency <= X) = 0.95
    for claim in ("at_most", "at_least"):
        codes, _ = _run(lat, None, percentile=(0.95, X, claim))
        sup, ref = _report(f"p95 {claim} true p95 (lognormal sigma .5)", codes)
        assert sup <= mc_bar(R) and ref <= mc_bar(R)


def _fixed_n_same_power(t, p, power_hat, reps):
    """The exact binomial's n for the sequential rule's power (its MC lower bound, capped at 0.999)."""
    pw = min(S.proportion(int(round(power_hat * reps)), reps).lower, 0.999)
    return S.required_n_exact_binomial(t, p, pw).first, pw


@pytest.mark.slow
def test_expected_n_and_saving_at_a_clear_effect():
    rng = np.random.default_rng(2104)
    X = (rng.random((R, N_MAX)) < 0.95).astype(float)
    codes, n = _run(X, 0.85)
    power = float(np.mean(codes == SUPPORTED))
    assert np.mean(codes == REFUTED) <= mc_bar(R)         # a wrong REFUTED (mu > t) stays rare
    fixed, pw = _fixed_n_same_power(0.85, 0.95, power, R)
    saving = 1 - n.mean() / fixed
    f80 = S.required_n_exact_binomial(0.85, 0.95, 0.8).first
    print(f"\n[seq] p = .95 vs >= .85: power {power:.4f} by n_max {N_MAX}; E[N] {n.mean():.1f} "
          f"(SE {n.std() / math.sqrt(R):.1f}), median {np.median(n):.0f}, 90th pct {np.quantile(n, 0.9):.0f}; "
          f"fixed-n exact binomial at power {pw:.4f}: {fixed} -> saving {saving:.1%}; "
          f"(fixed n at 80% power: {f80}; P(sequential settled by then) {np.mean(n <= f80):.3f})")
    assert power >= 0.99
    assert saving >= 0.30


@pytest.mark.slow
def test_power_at_clear_effects():
    rng = np.random.default_rng(2105)
    reps = 2000
    u = rng.random((reps, N_MAX))
    D = np.where(u < 0.25, 1.0, np.where(u < 0.30, -1.0, 0.0))      # A better by 0.20
    codes, n = _run(D, 0.0, low=-1.0, high=1.0, reps=reps)
    print(f"\n[seq] paired 0/1, p10 .25 p01 .05: P(SUPPORTED) {np.mean(codes == SUPPORTED):.4f}, E[N] {n.mean():.1f}")
    assert np.mean(codes == SUPPORTED) >= 0.95
    lat = rng.lognormal(0, 0.5, (reps, N_MAX))
    X = float(np.exp(0.5 * 2.326))                          # the true p99: P(latency <= X) = 0.99
    codes, n = _run(lat, None, reps=reps, percentile=(0.95, X, "at_most"))
    print(f"[seq] p95 <= true p99: P(SUPPORTED) {np.mean(codes == SUPPORTED):.4f}, E[N] {n.mean():.1f}")
    assert np.mean(codes == SUPPORTED) >= 0.9
    X = (rng.random((reps, N_MAX)) < 0.70).astype(float)
    codes, n = _run(X, 0.85, reps=reps)
    print(f"[seq] p = .70 vs >= .85: P(REFUTED) {np.mean(codes == REFUTED):.4f}, E[N] {n.mean():.1f}")
    assert np.mean(codes == REFUTED) >= 0.95
    assert np.mean(codes == INCONCLUSIVE) + np.mean(codes == REFUTED) == 1.0
