"""Verdicts through judge: one family per (hypothesis, model), NOT DECIDED on an outage, the new claims."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from roadtest.scoring import SCORE_COLUMNS
from roadtest.spec import Criterion, Hypothesis, Scenario
from roadtest.verdict import INCONCLUSIVE, NOT_APPLICABLE, NOT_DECIDED, NOT_RUN, REFUTED, SUPPORTED, RunData, combine
from roadtest.verdict.decide import apply_family, judge_criterion
from roadtest.verdict.estimates import estimate


SCENARIO = Scenario.model_validate({"id": "s", "success": "It works.", "dataset": {"path": "d.jsonl"},
                                     "prompt": {"template": "{{ q }}"}, "scoring": {"rule": "exact", "answer": "a"}})


def frame(rows, max_error_rate=0.2):
    """A RunData over hand-made score rows (only the columns these metrics read matter)."""
    f = pd.DataFrame(rows, columns=["trial_id", "model", "scenario", "variant", "item", "repeat", "group",
                                    "score", "error", "latency_s", "tokens_out"])
    for col in SCORE_COLUMNS:
        if col not in f:
            f[col] = None
    return RunData({"selection": {"models": sorted(f["model"].unique()), "scenarios": ["s"]},
                    "workspace": {"max_error_rate": max_error_rate}}, f[SCORE_COLUMNS],
                   pd.DataFrame(), {"s": SCENARIO}, {})


def scores(model, values, scenario="s", errors=0):
    """One call per item; the last `errors` items failed (an error row: no score)."""
    rows = [(f"{model}/{i}", model, scenario, "base", f"i{i}", 0, None, v, None, 0.1, 3) for i, v in enumerate(values)]
    for i in range(len(rows) - errors, len(rows)):
        rows[i] = rows[i][:7] + (None, "http_500") + rows[i][9:]
    return rows


def crit(**claim):
    return Criterion.model_validate({"scenario": "s", "metric": claim.pop("metric", "accuracy"), **claim})



@pytest.mark.parametrize("k,expected", [(182, SUPPORTED), (178, INCONCLUSIVE), (160, REFUTED)])
def test_spec_check_values_at_085_of_200(k, expected):
    row = judge_criterion(0, crit(at_least=0.85), "a", frame(scores("a", [1.0] * k + [0.0] * (200 - k))))
    assert row.verdict == expected
    assert row.method == "exact binomial / Clopper-Pearson"
    assert row.p_supported == pytest.approx(sps.binom.sf(k - 1, 200, 0.85))


def test_at_most_mirrors_at_least():
    low = frame(scores("a", [1.0] * 5 + [0.0] * 95))
    assert judge_criterion(0, crit(metric="accuracy", at_most=0.2), "a", low).verdict == SUPPORTED
    assert judge_criterion(0, crit(metric="accuracy", at_least=0.2), "a", low).verdict == REFUTED


def test_versus_is_paired_and_the_baseline_is_not_judged():
    a = [1.0] * 45 + [0.0] * 15
    b = [1.0] * 30 + [0.0] * 30
    f = frame(scores("a", a) + scores("b", b))
    c = crit(versus={"model": "b", "by_at_least": 0.0})
    row = judge_criterion(0, c, "a", f)
    assert row.verdict == SUPPORTED and row.estimate == pytest.approx(0.25)
    assert "Tango" in row.method
    assert judge_criterion(0, c, "b", f).verdict == NOT_APPLICABLE


def test_no_worse_than_and_equivalent_to_are_paired_on_the_same_items():
    rng = np.random.default_rng(5)
    b = (rng.random(300) < 0.7).astype(float)
    a = b.copy()
    flip = rng.choice(300, 12, replace=False)
    a[flip] = 1 - a[flip]                       # 12 discordant items, net difference small
    f = frame(scores("a", list(a)) + scores("b", list(b)))
    nwt = judge_criterion(0, crit(no_worse_than={"model": "b", "margin": 0.05}), "a", f)
    eq = judge_criterion(0, crit(equivalent_to={"model": "b", "margin": 0.05}), "a", f)
    assert nwt.verdict == SUPPORTED and nwt.lower > -0.05
    assert eq.verdict == SUPPORTED and -0.05 < eq.lower and eq.upper < 0.05
    far = frame(scores("a", [0.0] * 300) + scores("b", list(b)))
    assert judge_criterion(0, crit(no_worse_than={"model": "b", "margin": 0.05}), "a", far).verdict == REFUTED
    assert judge_criterion(0, crit(equivalent_to={"model": "b", "margin": 0.05}), "a", far).verdict == REFUTED


def test_missing_model_is_not_run():
    assert judge_criterion(0, crit(at_least=0.5), "ghost", frame(scores("a", [1.0, 0.0]))).verdict == NOT_RUN


def test_failed_calls_are_not_wrong_answers():
    """An outage is not evidence: error rows leave accuracy alone and are error_rate."""
    f = frame(scores("a", [1.0] * 90 + [0.0] * 10, errors=10))   # 10 failed calls, all the zeros
    row = judge_criterion(0, crit(at_least=0.8), "a", f)
    assert row.estimate == pytest.approx(1.0) and row.n == 90
    err = judge_criterion(0, crit(metric="error_rate", at_most=0.05), "a", f)
    assert err.estimate == pytest.approx(0.1)


def test_an_endpoint_failing_beyond_the_ceiling_is_not_decided_and_so_is_every_versus_against_it():
    dead = scores("dead", [0.0] * 40, errors=40)
    f = frame(scores("a", [1.0] * 30 + [0.0] * 10) + dead)
    assert judge_criterion(0, crit(at_least=0.5), "dead", f).verdict == NOT_DECIDED
    versus = judge_criterion(0, crit(versus={"model": "dead", "by_at_least": 0.0}), "a", f)
    assert versus.verdict == NOT_DECIDED and "dead" in versus.note and "outage" in versus.note
    # a criterion about the failures themselves is still decided
    assert judge_criterion(0, crit(metric="error_rate", at_most=0.05), "dead", f).verdict == REFUTED
    assert combine("all", [REFUTED, NOT_DECIDED]) == NOT_DECIDED


def test_all_is_intersection_union_and_refutes_through_holm():
    f = frame(scores("a", [1.0] * 41 + [0.0] * 19))
    marginal = judge_criterion(1, crit(at_least=0.56), "a", f)
    assert marginal.verdict == SUPPORTED and 0.025 < marginal.p_supported < 0.05
    rows = apply_family("all", [marginal, marginal, marginal])
    assert all(r.verdict == SUPPORTED for r in rows)              # no adjustment for SUPPORTED under `all`
    rows = apply_family("any", [marginal, marginal, marginal])
    assert all(r.verdict == INCONCLUSIVE for r in rows)           # Holm over 3 under `any`
    assert "Holm" in rows[0].note
    refuted = judge_criterion(0, crit(at_least=0.76), "a", frame(scores("a", [1.0] * 39 + [0.0] * 21)))
    assert refuted.verdict == REFUTED and 0.02 < refuted.p_refuted < 0.05
    rows = apply_family("all", [refuted, marginal, marginal])
    assert rows[0].verdict == INCONCLUSIVE and rows[0].p_adjusted == pytest.approx(min(1, 3 * refuted.p_refuted))


def test_a_models_verdicts_do_not_depend_on_the_other_models_in_the_document():
    from roadtest.verdict.decide import decide

    hyp = Hypothesis.model_validate({"id": "h", "title": "t", "criteria": [
        {"scenario": "s", "metric": "accuracy", "at_least": 0.5}, {"scenario": "s", "metric": "accuracy", "at_most": 0.9}]})
    rows_a = scores("a", [1.0] * 40 + [0.0] * 20)
    rows_b = scores("b", [1.0] * 20 + [0.0] * 40)
    one, two = frame(rows_a), frame(rows_a + rows_b)
    for data in (one, two):
        data.config["hypotheses"] = {"h": {"spec": hyp.model_dump(mode="json")}}
        data.config["selection"]["hypotheses"] = ["h"]
    alone, joint = decide(one)["hypotheses"][0]["models"]["a"], decide(two)["hypotheses"][0]["models"]["a"]
    assert alone == joint and alone["verdict"] == SUPPORTED


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
    ("any", [SUPPORTED, NOT_DECIDED], NOT_DECIDED),
])
def test_combine(decision, verdicts, expected):
    assert combine(decision, verdicts) == expected


def test_strata_never_widen_and_clusters_below_ten_decide_nothing():
    rows = scores("a", [1.0] * 45 + [0.0] * 15)
    plain = frame(rows)
    strata = frame([r[:6] + (f"g{i % 5}",) + r[7:] for i, r in enumerate(rows)])
    p = judge_criterion(0, crit(at_least=0.6), "a", plain)
    s = judge_criterion(0, crit(at_least=0.6), "a", strata)
    assert (s.lower, s.upper, s.verdict) == (p.lower, p.upper, p.verdict) == (s.lower, s.upper, SUPPORTED)
    clustered = frame([r[:6] + (None,) + r[7:] for r in rows])
    clustered.frame["cluster"] = [f"doc{i % 5}" for i in range(60)]
    c = judge_criterion(0, crit(at_least=0.6), "a", clustered)
    assert c.verdict == INCONCLUSIVE and "10 clusters" in c.note and c.unit == "clusters"


def test_inconclusive_verdicts_carry_an_exact_fresh_sample_size():
    from roadtest.stats.rules import power_exact_binomial

    f = frame(scores("a", [1.0] * 33 + [0.0] * 27))
    row = judge_criterion(0, crit(at_least=0.5), "a", f)
    assert row.verdict == INCONCLUSIVE and row.n_needed is not None
    n = row.n_needed
    assert power_exact_binomial(n, 0.5, 0.55, 0.05) >= 0.8            # a fresh sample of n gives 80%
    assert power_exact_binomial(n - 40, 0.5, 0.55, 0.05) < 0.8


def test_a_share_with_repeats_keeps_its_interval_within_zero_and_one():
    rows = []
    for i, v in enumerate([1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]):
        rows.append((f"a/{i}", "a", "s", "base", f"i{i // 2}", i % 2, None, v, None, 0.1, 3))
    data = frame(rows)
    est = estimate(data.sample("accuracy", "s", "a"))
    assert est.n == 4 and 0.0 <= est.lo <= est.value <= est.hi <= 1.0


def test_described_statistics_are_never_decided():
    rows = [(f"a/{i}/{r}", "a", "s", "base", f"i{i}", r, None, float((i + r) % 2), None, 0.1, 3)
            for i in range(20) for r in range(3)]
    row = judge_criterion(0, crit(metric="run_sd", at_most=0.5), "a", frame(rows))
    assert row.verdict == INCONCLUSIVE and "described, not decided" in row.note


def test_counterfactual_groups_skip_unjudged_outputs():
    import pandas as pd

    from roadtest.verdict.summary import _cf_groups

    trials = pd.DataFrame({"variant": ["base", "cf:names:male", "base", "cf:names:male"], "item": ["i1", "i1", "i2", "i2"],
                           "score": [None, None, 1.0, 0.0]})
    groups = {g["group"]: g for g in _cf_groups(trials)}
    assert groups["male"]["n"] == 1 and groups["female"]["n"] == 1     # i1 has no score anywhere: left out
