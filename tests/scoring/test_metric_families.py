"""Every metric family on hand-made archives with known answers, including the empty and all-failed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roadtest.scoring import score_trials
from roadtest.spec import ModelSpec, Scenario
from roadtest.spec.metrics import METRICS
from roadtest.verdict import RunData
from roadtest.verdict.estimates import estimate
from roadtest.verdict.summary import summarise
from tests.scoring.typed import resolved, rows

SCENARIO = {
    "id": "s", "success": "It works.", "dataset": {"path": "d.jsonl", "group": "g"},
    "prompt": {"template": "{{ q }}"}, "scoring": {"rule": "choice", "answer": "a", "choices": ["yes", "no"]},
    "repeats": 2, "perturbations": ["lowercase"], "counterfactuals": {"field": "q", "swap": "names"},
    "policy": {"forbid": ["(?i)guaranteed"], "must_refuse": "r"},
    "metrics": ["accuracy", "calibration", "robustness", "fairness", "bias", "toxicity", "policy", "efficiency",
                "failure modes", "variability"],
}
MODEL = ModelSpec(id="m", provider="openai", base_url="http://x/v1", price={"input_per_mtok": 1.0, "output_per_mtok": 2.0})


def record(item, text, *, repeat=0, variant="base", answer="yes", group="g1", latency=0.5, error=None,
           finish="stop", conf=None, must_refuse=False, tokens=(10, 2)):
    choice = {"message": {"role": "assistant", "content": text}, "finish_reason": finish}
    if conf is not None:
        other = "no" if text == "yes" else "yes"   # the other option takes the rest of the probability
        choice["logprobs"] = {"content": [{"token": text, "logprob": math.log(conf), "top_logprobs": [
            {"token": text, "logprob": math.log(conf)}, {"token": other, "logprob": math.log(1 - conf)}]}]}
    return {
        "trial_id": f"m/s/{variant}/r{repeat}/{item}", "model": "m", "scenario": "s", "item": item,
        "repeat": repeat, "variant": variant, "latency_s": latency,
        "reference": {"answer": answer, "group": group, "must_refuse": must_refuse},
        "request": {"endpoint": "chat/completions", "body": {}},
        "response": None if error else {"status": 200, "body": {"choices": [choice], "usage": {
            "prompt_tokens": tokens[0], "completion_tokens": tokens[1]}}},
        "usage": None if error else {"prompt_tokens": tokens[0], "completion_tokens": tokens[1]},
        "error": {"kind": error, "message": f"{error} happened"} if error else None,
    }


def run(records, scenario=SCENARIO, model=MODEL):
    spec = Scenario.model_validate(scenario)
    config = {"selection": {"models": ["m"], "scenarios": ["s"], "hypotheses": []}, "models": [model.model_dump()],
              "scenarios": {"s": {"spec": spec.model_dump(mode="json")}}, "hypotheses": {}}
    typed = rows(records)
    return RunData.build(resolved(config), score_trials(lambda: typed, {"s": spec}, {"m": model}))


def value(data, metric):
    return estimate(data.sample(metric, "s", "m")).value


ARCHIVE = [
    # item, repeat 0 / 1: i1 right twice, i2 right then wrong, i3 wrong twice, i4 failed once
    record("i1", "yes", conf=0.9), record("i1", "yes", repeat=1, conf=0.8),
    record("i2", "yes", group="g2", conf=0.6), record("i2", "no", repeat=1, group="g2", conf=0.7),
    record("i3", "no", answer="yes", group="g2", conf=0.9, latency=1.5), record("i3", "maybe", repeat=1, group="g2"),
    record("i4", "no", answer="no", conf=0.5, finish="length", latency=2.5),
    record("i4", "", repeat=1, answer="no", error="timeout", latency=30.0),
    # robustness: i1 fails in lower case, the others hold
    record("i1", "no", variant="perturb:lowercase"), record("i1", "no", repeat=1, variant="perturb:lowercase"),
    record("i2", "yes", variant="perturb:lowercase", group="g2"),
    record("i2", "no", repeat=1, variant="perturb:lowercase", group="g2"),
    record("i3", "no", variant="perturb:lowercase", group="g2"),
    record("i3", "maybe", repeat=1, variant="perturb:lowercase", group="g2"),
    record("i4", "no", answer="no", variant="perturb:lowercase"),
    record("i4", "no", repeat=1, answer="no", variant="perturb:lowercase"),
    # bias: i1 and i2 have a name; swapping it flips i2's answer at repeat 0
    record("i1", "yes", variant="cf:names:male"), record("i1", "yes", repeat=1, variant="cf:names:male"),
    record("i2", "no", variant="cf:names:male", group="g2"), record("i2", "no", repeat=1, variant="cf:names:male", group="g2"),
]


@pytest.fixture(scope="module")
def data():
    return run(ARCHIVE)


@pytest.fixture(scope="module")
def summary(data):
    """The metric summary of ARCHIVE, computed once (its bootstraps take seconds)."""
    return summarise(data)


def test_accuracy_and_completion(data):
    # per item means: i1 1, i2 .5, i3 0, i4 1 (its other call failed: an error, not a wrong answer)
    assert value(data, "accuracy") == pytest.approx(np.mean([1, 0.5, 0, 1]))
    # usable among answered calls: i1 2/2, i2 2/2, i3 1/2 ("maybe" names no choice), i4 0/1 (truncated)
    assert value(data, "task_completion") == pytest.approx(np.mean([1, 1, 0.5, 0]))


def test_failure_modes(data, summary):
    assert value(data, "error_rate") == pytest.approx(np.mean([0, 0, 0, 0.5]))
    assert value(data, "timeout_rate") == pytest.approx(np.mean([0, 0, 0, 0.5]))
    assert value(data, "truncation_rate") == pytest.approx(np.mean([0, 0, 0, 1]))   # i4's one answer was cut off
    assert value(data, "format_violation_rate") == pytest.approx(np.mean([0, 0, 0.5, 0]))
    assert value(data, "empty_rate") == 0.0
    failures = summary["scenarios"]["s"]["m"]["failures"]
    assert failures["timeout_rate"]["count"] == 1
    assert failures["timeout_rate"]["examples"][0]["message"] == "timeout happened"
    assert failures["format_violation_rate"]["examples"][0]["output"] == "maybe"


def test_calibration(data):
    # answered calls with a confidence: (0.9, 1) (0.8, 1) (0.6, 1) (0.7, 0) (0.9, 0) (0.5, 1)
    conf = np.array([0.9, 0.8, 0.6, 0.7, 0.9, 0.5])
    right = np.array([1, 1, 1, 0, 0, 1])
    assert value(data, "brier") == pytest.approx(np.mean([np.mean([0.01, 0.04]), np.mean([0.16, 0.49]), 0.81, 0.25]))
    from roadtest import stats
    assert value(data, "ece") == pytest.approx(stats.ece(conf, right))
    assert value(data, "ece_mass") == pytest.approx(stats.ece(conf, right, scheme="mass"))
    assert "normalised probability of the chosen option" in estimate(data.sample("ece", "s", "m")).note


def test_robustness(data):
    # worst of base and lowercase, per item: i1 min(1, 0) = 0; i2 min(.5, .5); i3 0; i4 min(1, 1) = 1
    assert value(data, "robust_accuracy") == pytest.approx(np.mean([0, 0.5, 0, 1]))
    assert value(data, "robustness_drop") == pytest.approx(np.mean([1, 0, 0, 0]))


def test_fairness_and_groups(data, summary):
    # g1: i1 1, i4 1 -> 1 ; g2: i2 .5, i3 0 -> .25
    assert value(data, "fairness_gap") == pytest.approx(0.75)
    groups = {g["group"]: g for g in summary["scenarios"]["s"]["m"]["groups"]}
    assert groups["g1"]["value"] == pytest.approx(1.0) and groups["g1"]["n"] == 2


def test_bias(data, summary):
    # i1 never flips; i2 flips at repeat 0 (yes -> no)
    assert value(data, "counterfactual_flip_rate") == pytest.approx(0.5)
    cf = summary["scenarios"]["s"]["m"]["counterfactual_groups"]
    male = next(g for g in cf if g["group"] == "male")
    assert male["value"] == pytest.approx(np.mean([1.0, 0.0]))   # i1 answers yes twice (right), i2 no twice (wrong)
    assert male["n"] == 2


def test_variability(data):
    # repeats of items with every repeat answered: i1 [1,1], i2 [1,0], i3 [0,0] (i4's second call failed)
    m = np.array([[1, 1], [1, 0], [0, 0]], dtype=float)
    from roadtest import stats
    v = stats.variability(m)
    assert value(data, "flip_rate") == pytest.approx(1 / 3)
    assert value(data, "run_sd") == pytest.approx(v.run_sd)
    assert value(data, "icc") == pytest.approx(v.icc)


def test_efficiency_and_cost(data):
    # answered base calls: latencies .5 .5 .5 .5 1.5 .5 2.5 ; tokens 10 in, 2 out each
    assert value(data, "latency_mean_s") == pytest.approx(np.mean([0.5, 0.5, np.mean([1.5, 0.5]), 2.5]))
    assert value(data, "latency_p50_s") == pytest.approx(0.5)
    assert value(data, "tokens_out") == 2.0 and value(data, "tokens_in") == 10.0
    assert value(data, "cost_per_item") == pytest.approx((10 * 1.0 + 2 * 2.0) / 1e6)
    assert value(data, "tokens_per_s") == pytest.approx(np.mean([4, 4, np.mean([2 / 1.5, 4]), 2 / 2.5]))


def test_toxicity_and_policy():
    records = [record("i1", "A full refund is guaranteed, you idiot piece of shit"), record("i2", "no", must_refuse=True),
               record("i3", "I'm sorry, I can't do that.", must_refuse=True), record("i4", "yes")]
    data = run(records, {**SCENARIO, "repeats": 1})
    assert value(data, "toxicity_rate") == pytest.approx(0.25)
    assert value(data, "policy_violation_rate") == pytest.approx(0.5)   # i1 forbidden phrase, i2 did not refuse
    rows = data.frame.set_index("item")
    assert rows.loc["i1", "toxicity"] > 0.5 and rows.loc["i4", "toxicity"] < 0.5   # the score per output is kept
    assert "did not refuse" in rows.loc["i2", "policy_reasons"]


def test_unavailable_metrics_say_why():
    records = [record("i1", "yes"), record("i2", "no", answer="no")]
    plain = {k: v for k, v in SCENARIO.items() if k not in ("perturbations", "counterfactuals", "policy")}
    data = run(records, {**plain, "repeats": 1}, ModelSpec(id="m", provider="openai", base_url="http://x/v1"))
    notes = {m: estimate(data.sample(m, "s", "m")).note for m in METRICS.names()}
    assert "no log-probabilities" in notes["ece"]
    assert "no perturbations" in notes["robust_accuracy"]
    assert "no counterfactuals" in notes["counterfactual_flip_rate"]
    assert "no policy" in notes["policy_violation_rate"]
    assert "not priced" in notes["cost_per_item"]
    assert "repeats" in notes["run_sd"]
    assert all(estimate(data.sample(m, "s", "m")).value is None for m in
               ("ece", "robust_accuracy", "counterfactual_flip_rate", "policy_violation_rate", "cost_per_item", "icc"))


def test_empty_and_all_failed_archives():
    empty = run([])
    assert all(value(empty, m) is None for m in METRICS.names())
    # every call failed, the perturbed and swapped ones too
    failed = run([record(f"i{i}", "", error="http_500", variant=v) for i in range(4)
                  for v in ("base", "perturb:lowercase", "cf:names:male")], {**SCENARIO, "repeats": 1})
    known = {"error_rate": 1.0, "timeout_rate": 0.0}
    for metric in METRICS.names():
        # a failed call is no answer: only the failure rates can be measured, never a quality score of 0
        assert value(failed, metric) == known.get(metric), metric
    assert "failed" in estimate(failed.sample("counterfactual_flip_rate", "s", "m")).note
    s = summarise(failed)
    assert s["scenarios"]["s"]["m"]["failures"]["error_rate"]["count"] == 4


def test_failed_counterfactual_calls_are_not_flips():
    records = [record("i1", "yes"), record("i1", "", variant="cf:names:male", error="http_500"),
               record("i2", "yes"), record("i2", "no", variant="cf:names:male"),
               record("i3", "", error="timeout"), record("i3", "yes", variant="cf:names:male")]
    data = run(records, {**SCENARIO, "repeats": 1})
    assert value(data, "counterfactual_flip_rate") == 1.0          # only i2 had an answered pair, and it flipped
    assert "2 left out because their calls failed" in estimate(data.sample("counterfactual_flip_rate", "s", "m")).note


JUDGED = {**{k: v for k, v in SCENARIO.items() if k not in ("perturbations", "counterfactuals", "policy")},
          "repeats": 1, "metrics": ["accuracy", "failure modes"],
          "scoring": {"rule": "judge", "judge": {"model": "j", "rubric": "Answers politely."}}}


def judge_record(target, text, error=None):
    rec = record(target.rsplit("/", 1)[-1], text, error=error)
    rec.update(kind="judge", model="j", target=target, purpose="score", trial_id=f"judge:score/j/{target}")
    return rec


def test_judge_rule_never_counts_the_judges_trouble_against_the_judged_model():
    outputs = [record(f"i{i}", f"answer {i}") for i in range(1, 5)] + [record("i5", "", error="http_500")]
    verdicts = [judge_record("m/s/base/r0/i1", "PASS"), judge_record("m/s/base/r0/i2", " FAIL, rude"),
                judge_record("m/s/base/r0/i3", "", error="http_500"), judge_record("m/s/base/r0/i4", "Maybe")]
    data = run(outputs + verdicts, JUDGED)
    # judged: i1 pass, i2 fail; i3 and i4 unjudged (left out); i5 the model's own call failed (error_rate)
    assert value(data, "accuracy") == pytest.approx(1 / 2)
    assert value(data, "format_violation_rate") == 0.0
    assert value(data, "error_rate") == pytest.approx(0.2)           # the judge's failure is not the model's
    assert "2 of 5 outputs unjudged" in estimate(data.sample("accuracy", "s", "m")).note
    assert set(data.frame["model"]) == {"m"}                          # judge calls live apart
    judges = summarise(data)["judges"]["j:score"]
    assert judges == {**judges, "calls": 4, "errors": 1, "unparsed": 1, "pass_rate": 0.5}


def test_cached_latencies_are_named_and_do_not_count_as_achieved_load():
    from roadtest.verdict.traffic import achieved

    records = [record(f"i{i}", "yes") for i in range(4)]
    for i, rec in enumerate(records):
        rec["started_at"] = f"2026-11-29T08:00:0{i}.000+00:00"
        if i < 3:
            rec["cache"] = {"hit": True, "key": "k", "stored_at": "2026-11-28T08:00:00"}
    data = run(records, {**SCENARIO, "repeats": 1})
    note = estimate(data.sample("latency_p95_s", "s", "m")).note
    assert "set apart from the latency of these 4 calls: 3 came from the response cache" in note
    assert data.sample("latency_p95_s", "s", "m").n == 1           # only the call timed in this run counts
    level = achieved(data.frame)
    assert level["calls"] == 4 and level["from_cache"] == 3 and level["achieved_concurrency"] == pytest.approx(1.0)
    assert achieved(data.frame[data.frame["cached"]])["achieved_concurrency"] is None
