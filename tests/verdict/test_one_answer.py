"""One answer per question: a comparison of two models on one scenario gets the same test, interval and wording
in the hypothesis section, the best-model set, the scan and the settings section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from roadtest.scoring import SCORE_COLUMNS
from roadtest.spec import Hypothesis, Scenario
from roadtest.verdict import RunData, decide
from roadtest.verdict.ranking import pairwise_scan, rank_summary, sensitivity

SCENARIO = Scenario.model_validate({
    "id": "s", "success": "It works.", "dataset": {"path": "d.jsonl"}, "prompt": {"template": "{{ q }}"},
    "scoring": {"rule": "exact", "answer": "a"}, "variants": [{"name": "warm", "sampling": {"temperature": 0.7}}]})
HYPOTHESIS = Hypothesis.model_validate({"id": "h", "title": "t", "criteria": [
    {"scenario": "s", "metric": "accuracy", "versus": {"model": "b", "by_at_least": 0.0}},
    {"scenario": "s", "metric": "accuracy", "at_least": 0.5}]})


def data(p_a: float, p_b: float, n: int = 120, seed: int = 3) -> RunData:
    rng = np.random.default_rng(seed)
    rows = []
    for variant in ("base", "setting:warm"):
        easy = rng.random(n)
        for model, p in (("a", p_a), ("b", p_b)):
            for i in range(n):
                rows.append((f"{model}/{variant}/{i}", model, "s", variant, f"i{i}", 0, None,
                             float(easy[i] < p), None, 0.1, 3))
    f = pd.DataFrame(rows, columns=["trial_id", "model", "scenario", "variant", "item", "repeat", "group", "score",
                                    "error", "latency_s", "tokens_out"])
    for col in SCORE_COLUMNS:
        if col not in f:
            f[col] = None
    config = {"selection": {"models": ["a", "b"], "scenarios": ["s"], "hypotheses": ["h"]},
              "workspace": {"max_error_rate": 0.2}, "hypotheses": {"h": {"spec": HYPOTHESIS.model_dump(mode="json")}}}
    return RunData(config, f[SCORE_COLUMNS], pd.DataFrame(), {"s": SCENARIO}, {})


@pytest.mark.parametrize("p_a,p_b", [(0.7, 0.5), (0.62, 0.58), (0.5, 0.5)])
def test_the_hypothesis_section_and_the_scan_give_one_answer(p_a, p_b):
    d = data(p_a, p_b)
    crit = decide(d)["hypotheses"][0]["models"]["a"]["criteria"][0]
    row = next(r for r in pairwise_scan(d) if {r["a"], r["b"]} == {"a", "b"})
    sign = 1 if row["a"] == "a" else -1
    assert sign * row["difference"] == pytest.approx(crit["estimate"])
    lo, hi = sorted((sign * row["lo"], sign * row["hi"]))
    assert (lo, hi) == pytest.approx((crit["lower"], crit["upper"]))      # the same interval
    assert row["test"] == crit["method"]                                     # the same test
    assert row["shown"] == (crit["verdict"] != "INCONCLUSIVE")               # the same answer
    assert row["criteria"] == [{"hypothesis": "h", "criterion": 0, "claim": "versus", "margin": 0.0}]
    words = row["wording"]
    assert "tied" not in words and "noise" not in words
    if not row["shown"]:
        assert "not shown to differ" in words and f"{row['lo']:+.3g}" in words and f"{row['hi']:+.3g}" in words
    # the best-model set agrees with a shown difference: the loser is not in it
    best = rank_summary(d)["scenarios"]["s"]
    if crit["verdict"] == "SUPPORTED":
        assert best["in_set"][best["models"].index("a")] and not best["in_set"][best["models"].index("b")]
    # the settings section's gap under the original settings is the same comparison again
    gap = sensitivity(d)["s"]["gaps"][0]
    if sensitivity(d)["s"]["a"] == "a":
        assert (gap["lower"], gap["upper"]) == pytest.approx((crit["lower"], crit["upper"]))


def test_settings_robustness_has_an_interaction_interval():
    d = data(0.7, 0.5)
    s = sensitivity(d)["s"]
    assert [g["variant"] for g in s["gaps"]] == ["base", "setting:warm"]
    inter = s["interactions"][0]
    assert inter["lower"] <= inter["estimate"] <= inter["upper"] and "gap between" in inter["sentence"]
