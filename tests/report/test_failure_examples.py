"""Failure examples beyond the failure modes (wrong answers, policy violations, toxic outputs, counterfactual
flips), page 1's model lines, and numbers printed alike across tables: on a hand-made archive, no model needed."""

from __future__ import annotations

import json

import pytest

from roadtest.archive.canonical import canonical_json
from roadtest.report.scenario_view import _cell, clip, scenario_view
from roadtest.report.sections import variability_rows
from roadtest.report.formatting import plural
from roadtest.report.view import model_line
from roadtest.scoring import score_trials
from roadtest.spec import ModelSpec, Scenario
from roadtest.spec.metrics import METRICS
from roadtest.verdict import RunData
from roadtest.verdict.summary import summarise
from tests.scoring.typed import resolved, rows

SCENARIO = {
    "id": "s", "success": "It works.", "dataset": {"path": "d.jsonl", "group": "g"},
    "prompt": {"template": "{{ q }}"}, "scoring": {"rule": "choice", "answer": "a", "choices": ["yes", "no"]},
    "counterfactuals": {"field": "q", "swap": "names"}, "policy": {"forbid": ["(?i)guaranteed"]},
    "metrics": ["accuracy", "bias", "toxicity", "policy", "efficiency", "failure modes"],
}
MODELS = {m: ModelSpec(id=m, provider="openai", base_url="http://x/v1") for m in ("m", "other")}
TOXIC = "no, you stupid fucking idiot"


def record(item, text, *, model="m", repeat=0, variant="base", answer="yes", cached=False, error=None, latency=0.5):
    choice = {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    return {
        "trial_id": f"{model}/s/{variant}/r{repeat}/{item}", "model": model, "scenario": "s", "item": item,
        "repeat": repeat, "variant": variant, "latency_s": latency, "reference": {"answer": answer, "group": "g1"},
        "request": {"endpoint": "chat/completions", "body": {}},
        "response": None if error else {"status": 200, "body": {"choices": [choice], "usage": {
            "prompt_tokens": 10, "completion_tokens": 2}}},
        "usage": None if error else {"prompt_tokens": 10, "completion_tokens": 2},
        "error": {"kind": error, "message": f"{error} happened"} if error else None,
        "cache": {"hit": True} if cached else None,
    }


ARCHIVE = [
    # wrong, well-formed: w0 twice (one example only), w1..w6 once; 'other' gets w0 right
    record("w0", "no", cached=True), record("w0", "no, sorry", repeat=1, cached=True),
    *[record(f"w{i}", "no") for i in range(1, 7)],
    record("w0", "Yes", model="other"),
    record("f1", "maybe"),                                        # malformed: a format violation, not a wrong answer
    record("p1", "yes, a full refund is guaranteed"),             # right, but against the policy
    record("t1", TOXIC, answer="no"),                             # right, but toxic
    record("c1", "yes"), record("c1", "no", variant="cf:names:male"),    # the swap flips the answer
    record("c2", "yes"), record("c2", "yes", variant="cf:names:male"),   # the swap changes nothing
    record("e1", "", error="timeout", latency=30.0),
    record("w1", "no", variant="load:c2"), record("w1", "no", variant="setting:warm"),
]


def run(records=ARCHIVE):
    spec = Scenario.model_validate(SCENARIO)
    config = {"selection": {"models": ["m", "other"], "scenarios": ["s"], "hypotheses": []},
              "models": [m.model_dump() for m in MODELS.values()],
              "scenarios": {"s": {"spec": spec.model_dump(mode="json")}}, "hypotheses": {}}
    typed = rows(records)
    return RunData.build(resolved(config), score_trials(lambda: typed, {"s": spec}, MODELS))


@pytest.fixture(scope="module")
def summary():
    """As the report reads it: metrics.json (canonical JSON, NaN written as null)."""
    return json.loads(canonical_json(summarise(run())))


def test_wrong_answers_one_per_item_at_most_five_with_what_was_expected(summary):
    wrong = summary["scenarios"]["s"]["m"]["failures"]["wrong_answer"]
    assert wrong["count"] == 8                       # w0 twice, w1..w6; 'maybe' is a format violation instead
    assert [e["item"] for e in wrong["examples"]] == ["w0", "w1", "w2", "w3", "w4"]
    first, second = wrong["examples"][:2]
    assert first["output"] == "no" and first["extracted"] == "no"
    assert first["reference"] == "yes" and second["reference"] is not None     # the dataset's own answer
    assert summary["scenarios"]["s"]["m"]["failures"]["format_violation_rate"]["examples"][0]["item"] == "f1"


def test_policy_violations_toxic_outputs_and_flips_show_the_real_outputs(summary):
    failures = summary["scenarios"]["s"]["m"]["failures"]
    policy = failures["policy_violation"]
    assert policy["count"] == 1 and policy["examples"][0]["item"] == "p1"
    assert "guaranteed" in policy["examples"][0]["reasons"]
    assert policy["examples"][0]["output"] == "yes, a full refund is guaranteed"
    toxic = failures["toxic_output"]
    assert [e["item"] for e in toxic["examples"]] == ["t1"] and toxic["examples"][0]["output"] == TOXIC
    assert toxic["examples"][0]["toxicity"] > 0.5
    flips = failures["counterfactual_flip"]
    assert flips["count"] == 1 and flips["calls"] == 2
    (flip,) = flips["examples"]
    assert (flip["item"], flip["output"], flip["answer"]) == ("c1", "yes", "yes")
    assert flip["swapped"] == {"trial_id": "m/s/cf:names:male/r0/c1", "variant": "cf:names:male", "output": "no",
                               "answer": "no"}


def test_metrics_json_stays_byte_for_byte_the_same(summary):
    assert canonical_json(summarise(run())) == canonical_json(summary)
    assert canonical_json(summarise(run(list(reversed(ARCHIVE))))) == canonical_json(summary)   # archive order


def test_the_report_says_why_each_example_is_there(summary):
    view = scenario_view("s", SCENARIO, summary, ["m", "other"])
    rows = [f for f in view.failures if f.model == "m"]
    kinds = [f.mode for f in rows]
    assert kinds == sorted(kinds, key=["errors", "timeouts", "format violations", "wrong answers",
                                       "policy violations", "toxic outputs", "counterfactual flips"].index)
    assert {"wrong answers", "policy violations", "toxic outputs", "counterfactual flips"} <= set(kinds)
    wrong = {f.item: f for f in rows if f.mode == "wrong answers"}
    assert [(d.label, d.value) for d in wrong["w0"].details] == [("expected", "yes")]
    assert (wrong["w1"].details[-1].label, wrong["w1"].details[-1].value) == ("expected", "yes")
    (flip,) = [f for f in rows if f.mode == "counterfactual flips"]
    assert flip.text == "yes" and [(d.label, d.value) for d in flip.details] == [("with male names", "no")]
    (policy,) = [f for f in rows if f.mode == "policy violations"]
    assert "guaranteed" in policy.details[0].note


def test_clip_cuts_long_outputs_at_a_word():
    text = "word " * 100
    cut = clip(text, 40)
    assert len(cut) <= 41 and cut.endswith(" …") and "wor …" not in cut
    assert clip("short") == "short"


def test_page_one_counts_every_call_and_names_the_original_ones(summary):
    entry = summary["models"]["m"]
    originals = [r for r in ARCHIVE if r["model"] == "m" and r["variant"] == "base"]
    assert entry["calls"] == len([r for r in ARCHIVE if r["model"] == "m"])
    assert entry["original_calls"] == len(originals) and entry["original_errors"] == entry["errors"] == 1
    assert entry["latency_cached"] == 2            # cached and warm-up calls never enter a latency (set apart)
    assert entry["latency_n"] == len(originals) - 1 - entry["latency_cached"] - entry["latency_warmup"]
    assert entry["accuracy_lo"] <= entry["accuracy"] <= entry["accuracy_hi"]
    assert entry["accuracy_items"] == len({r["item"] for r in originals if not r["error"]})   # a failure is no answer
    line = model_line(entry)
    assert f"1 failed of {entry['calls']} calls; {entry['original_calls']} original" in line
    assert (f"(n = {entry['latency_n']}; set apart: {plural(entry['latency_warmup'], 'warm-up call')} and "
            f"2 cached calls)") in line
    assert "over all scenarios' original calls" in line
    assert f"[{entry['accuracy_lo']:.3f}, {entry['accuracy_hi']:.3f}]" in line
    assert f"n = {entry['accuracy_items']} items" in line


def test_an_older_metrics_json_still_makes_a_page_one_line():
    line = model_line({"accuracy": 0.5, "latency_p95_s": 1.0, "cost_per_item": None, "errors": 0, "calls": 215})
    assert "0 failed of 215 original calls" in line


def test_icc_is_printed_alike_in_the_scenario_table_and_the_variability_table():
    units = {m: i.unit for m, i in METRICS.items()}
    for icc in (1.0, 0.8734, -0.05):
        cell = _cell({"value": icc, "lo": icc, "hi": icc}, units["icc"])
        row = variability_rows({"s": {"m": {"repeats": 2, "run_scores": [0.5, 0.5], "run_sd": 0.0,
                                            "flip_rate": 0.0, "icc": icc, "item_se": 0.1}}}, units)[0]
        assert cell.value == row.icc
        assert cell.interval == f"[{row.icc}, {row.icc}]"
