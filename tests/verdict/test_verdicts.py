"""The verdict rule on hand-made cases, Holm over the family, and how criteria combine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from roadtest.scoring import SCORE_COLUMNS
from roadtest.scoring.metrics import Sample
from roadtest.spec import Criterion, Scenario
from roadtest.verdict import RunData
from roadtest.spec.metrics import METRICS
from roadtest.verdict import INCONCLUSIVE, NOT_APPLICABLE, NOT_RUN, REFUTED, SUPPORTED, combine
from roadtest.verdict.decide import _provisional, apply_holm, judge_criterion
from roadtest.verdict.estimates import evidence


def proportion_sample(k: int, n: int) -> Sample:
    values = np.array([1.0] * k + [0.0] * (n - k))
    return Sample(METRICS.get("accuracy"), values, tuple(f"i{i}" for i in range(n)), None)


@pytest.mark.parametrize("k,expected", [(186, SUPPORTED), (178, INCONCLUSIVE), (150, REFUTED)])
def test_spec_check_values_for_p_at_least_085(k, expected):
    crit = Criterion(scenario="s", metric="accuracy", at_least=0.85)
    verdict, p = _provisional(crit, evidence(proportion_sample(k, 200), 0.85))
    assert verdict == expected
    if expected != INCONCLUSIVE:
        assert p < 0.05


def test_at_most_mirrors_at_least():
    crit = Criterion(scenario="s", metric="error_rate", at_most=0.2)
    sample = Sample(METRICS.get("error_rate"), np.array([0.0] * 95 + [1.0] * 5), None, None)
    assert _provisional(crit, evidence(sample, 0.2))[0] == SUPPORTED
    sample = Sample(METRICS.get("error_rate"), np.array([0.0] * 50 + [1.0] * 50), None, None)
    assert _provisional(crit, evidence(sample, 0.2))[0] == REFUTED


def test_percentile_claim_needs_enough_calls():
    crit = Criterion(scenario="s", metric="latency_p95_s", at_most=2.0)
    few = Sample(METRICS.get("latency_p95_s"), np.full(20, 0.1), None, None)
    assert _provisional(crit, evidence(few, 2.0))[0] == INCONCLUSIVE   # 20 calls cannot bound a p95 from above
    many = Sample(METRICS.get("latency_p95_s"), np.linspace(0.1, 0.5, 200), None, None)
    assert _provisional(crit, evidence(many, 2.0))[0] == SUPPORTED
    slow = Sample(METRICS.get("latency_p95_s"), np.linspace(2.5, 4.0, 200), None, None)
    assert _provisional(crit, evidence(slow, 2.0))[0] == REFUTED


SCENARIO = Scenario.model_validate({"id": "s", "success": "It works.", "dataset": {"path": "d.jsonl"},
                                     "prompt": {"template": "{{ q }}"}, "scoring": {"rule": "exact", "answer": "a"}})


def frame(rows):
    """A RunData over hand-made score rows (only the columns these metrics read matter)."""
    f = pd.DataFrame(rows, columns=["trial_id", "model", "scenario", "variant", "item", "repeat", "group",
                                    "score", "error", "latency_s", "tokens_out"])
    for col in SCORE_COLUMNS:
        if col not in f:
            f[col] = None
    return RunData({"selection": {"models": sorted(f["model"].unique()), "scenarios": ["s"]}}, f[SCORE_COLUMNS],
                   pd.DataFrame(), {"s": SCENARIO}, {})


def scores(model, values, scenario="s"):
    return [(f"{model}/{i}", model, scenario, "base", f"i{i}", 0, None, v, None, 0.1, 3) for i, v in enumerate(values)]


def test_versus_is_paired_and_the_baseline_is_not_judged():
    a = [1.0] * 45 + [0.0] * 15
    b = [1.0] * 30 + [0.0] * 30
    f = frame(scores("a", a) + scores("b", b))
    crit = Criterion.model_validate({"scenario": "s", "metric": "accuracy", "versus": {"model": "b", "by_at_least": 0.0}})
    judged = judge_criterion(0, crit, "a", f)
    assert judged.row.verdict == SUPPORTED
    assert judged.row.estimate == pytest.approx(0.25)
    assert judge_criterion(0, crit, "b", f).row.verdict == NOT_APPLICABLE


def test_missing_model_is_not_run():
    crit = Criterion(scenario="s", metric="accuracy", at_least=0.5)
    assert judge_criterion(0, crit, "ghost", frame(scores("a", [1.0, 0.0]))).row.verdict == NOT_RUN


def test_holm_turns_a_marginal_verdict_inconclusive_and_sizes_it():
    f = frame(scores("a", [1.0] * 40 + [0.0] * 20))
    strong = judge_criterion(0, Criterion(scenario="s", metric="accuracy", at_least=0.3), "a", f)
    marginal = judge_criterion(1, Criterion(scenario="s", metric="accuracy", at_least=0.56), "a", f)
    assert marginal.row.verdict == SUPPORTED and 0.025 < marginal.row.p_value < 0.05
    rows = apply_holm([strong, marginal, marginal])
    assert rows[0].verdict == SUPPORTED
    assert rows[1].verdict == INCONCLUSIVE and rows[1].p_adjusted >= 0.05
    assert rows[1].n_needed is not None and rows[1].n_needed > 60
    assert rows[0].p_adjusted == pytest.approx(min(1.0, 3 * strong.row.p_value))


@pytest.mark.parametrize("decision,verdicts,expected", [
    ("all", [SUPPORTED, SUPPORTED], SUPPORTED),
    ("all", [SUPPORTED, INCONCLUSIVE], INCONCLUSIVE),
    ("all", [SUPPORTED, REFUTED], REFUTED),
    ("all", [SUPPORTED, NOT_APPLICABLE], SUPPORTED),
    ("all", [SUPPORTED, NOT_RUN], INCONCLUSIVE),
    ("any", [REFUTED, SUPPORTED], SUPPORTED),
    ("any", [REFUTED, REFUTED], REFUTED),
    ("any", [REFUTED, INCONCLUSIVE], INCONCLUSIVE),
    ("all", [NOT_RUN], NOT_RUN),
])
def test_combine(decision, verdicts, expected):
    assert combine(decision, verdicts) == expected


def test_clustered_items_widen_the_bounds():
    # Whole groups pass or fail together: 6 groups of 10 items, 4 groups correct.
    values = np.repeat([1.0, 1.0, 0.0, 1.0, 0.0, 1.0], 10)
    groups = tuple(np.repeat(list("abcdef"), 10))
    info = METRICS.get("accuracy")
    plain = evidence(Sample(info, values, None, None), 0.5)
    clustered = evidence(Sample(info, values, tuple(f"i{i}" for i in range(60)), groups), 0.5)
    assert clustered.method == "Wilson, clustered" and "6 groups" in clustered.note
    assert "fewer than 30 groups" in clustered.note
    assert clustered.upper - clustered.lower > plain.upper - plain.lower
    assert clustered.p_greater > plain.p_greater


def test_inconclusive_verdicts_carry_mde_and_n_needed():
    f = frame(scores("a", [1.0] * 33 + [0.0] * 27))
    row = apply_holm([judge_criterion(0, Criterion(scenario="s", metric="accuracy", at_least=0.5), "a", f)])[0]
    assert row.verdict == INCONCLUSIVE
    assert row.mde == pytest.approx(2.8016 * np.sqrt(0.55 * 0.45 / 60), rel=1e-3)
    # n that would decide it if 0.55 were the truth: the one-proportion formula, by hand
    z_a, z_b = 1.6448536, 0.8416212
    n = ((z_a * np.sqrt(0.25) + z_b * np.sqrt(0.55 * 0.45)) / 0.05) ** 2
    assert row.n_needed == int(np.ceil(n))


def test_versus_on_binary_scores_reports_mcnemar():
    a = [1.0] * 45 + [0.0] * 15
    b = [1.0] * 30 + [0.0] * 30
    crit = Criterion.model_validate({"scenario": "s", "metric": "accuracy", "versus": {"model": "b"}})
    row = judge_criterion(0, crit, "a", frame(scores("a", a) + scores("b", b))).row
    from roadtest.stats import mcnemar_exact
    assert row.p_mcnemar == pytest.approx(mcnemar_exact(15, 0))


def test_grouped_item_means_get_the_clustered_interval():
    """Repeats make item means like 2/3: the group still clusters them (statistics.md, grouped items)."""
    from roadtest import stats
    from roadtest.scoring.metrics import Sample
    from roadtest.spec.metrics import METRICS
    from roadtest.verdict.estimates import estimate, evidence

    rng = np.random.default_rng(3)
    groups = np.repeat([f"g{i}" for i in range(10)], 10)
    level = np.repeat(rng.uniform(0.3, 1.0, 10), 10)                   # groups differ a lot
    values = np.clip(np.round((level + rng.normal(0, 0.05, 100)) * 3) / 3, 0, 1)
    info = METRICS.get("accuracy")
    plain = estimate(Sample(info, values, tuple(map(str, range(100))), None))
    grouped = estimate(Sample(info, values, tuple(map(str, range(100))), tuple(groups)))
    assert grouped.method == "t, clustered" and "10 groups" in grouped.design
    se_cl = stats.clustered_se(values, groups)
    half = float(__import__("scipy").stats.t.ppf(0.975, 9)) * se_cl
    assert grouped.lo == pytest.approx(values.mean() - half) and grouped.hi == pytest.approx(values.mean() + half)
    assert grouped.hi - grouped.lo > 2 * (plain.hi - plain.lo)
    ev = evidence(Sample(info, values, tuple(map(str, range(100))), tuple(groups)), 0.5)
    assert ev.method == "t, clustered" and ev.se == pytest.approx(se_cl)


def test_a_statistic_metric_says_how_many_items_would_decide_it():
    from roadtest.scoring.metrics.base import statistic_sample
    from roadtest.spec.metrics import METRICS
    from roadtest.verdict.estimates import evidence

    rng = np.random.default_rng(1)
    scores = rng.random(40)
    sample = statistic_sample(METRICS.get("run_sd"), [str(i) for i in range(40)],
                              lambda idx: float(np.std(scores[idx.astype(int)], ddof=1)))
    ev = evidence(sample, 0.25)
    assert ev.need is not None
    n = ev.need(0.05)
    delta, se = ev.estimate - 0.25, ev.se
    assert n == max(41, int(np.ceil(40 * ((1.6449 + 0.8416) * se / delta) ** 2 - 1e-6)))


def test_a_share_with_repeats_keeps_its_interval_within_zero_and_one():
    from roadtest.scoring.metrics import Sample
    from roadtest.spec.metrics import METRICS
    from roadtest.verdict.estimates import estimate, evidence

    for values in ([0.5, 0.5, 1.0, 1.0], [0.5, 1.0]):
        sample = Sample(METRICS.get("accuracy"), np.array(values), None, None)
        est, ev = estimate(sample), evidence(sample, 0.6)
        assert 0.0 <= est.lo <= est.value <= est.hi <= 1.0
        assert 0.0 <= ev.lower <= ev.upper <= 1.0


def test_counterfactual_groups_skip_unjudged_outputs():
    import pandas as pd

    from roadtest.verdict.summary import _cf_groups

    trials = pd.DataFrame({"variant": ["base", "cf:names:male", "base", "cf:names:male"], "item": ["i1", "i1", "i2", "i2"],
                           "score": [None, None, 1.0, 0.0]})
    groups = {g["group"]: g for g in _cf_groups(trials)}
    assert groups["male"]["n"] == 1 and groups["female"]["n"] == 1     # i1 has no score anywhere: left out
