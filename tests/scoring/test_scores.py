"""Archive records -> score rows: errors, empties, prompt limits."""

from __future__ import annotations

from roadtest.scoring import score_record, score_trials
from roadtest.spec import Scenario
from tests.scoring.typed import rows

SCENARIO = Scenario.model_validate({
    "id": "s", "success": "It works.", "dataset": {"path": "d.jsonl"},
    "prompt": {"template": "{{ q }}"}, "limits": {"max_new_tokens": 4, "max_prompt_tokens": 50},
    "scoring": {"rule": "exact", "answer": "answer"},
})


def record(trial_id="m/s/base/r0/i1", text="yes", error=None, prompt_tokens=10, item="i1", chat=True):
    """One archived model trial, typed."""
    return rows([record_json(trial_id, text, error, prompt_tokens, item, chat)])[0]


def record_json(trial_id, text, error, prompt_tokens, item, chat):
    choice = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
    choice["finish_reason"] = "stop"
    return {
        "trial_id": trial_id, "model": "m", "scenario": "s", "item": item, "repeat": 0, "variant": "base",
        "reference": {"answer": "yes"}, "latency_s": 0.5, "error": error,
        "response": None if error else {"status": 200, "body": {"choices": [choice],
                                                                 "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 1}}},
        "usage": None if error else {"prompt_tokens": prompt_tokens, "completion_tokens": 1},
    }


def test_correct_chat_and_completion_outputs():
    assert score_record(record(), SCENARIO)["score"] == 1.0
    assert score_record(record(chat=False, text=" yes"), SCENARIO)["score"] == 1.0


def test_failed_call_has_no_score_and_keeps_its_kind():
    """An outage is not a wrong answer: a failed call is an error row, never a 0."""
    row = score_record(record(error={"kind": "http_500", "message": "boom"}), SCENARIO)
    assert row["score"] is None and row["error"] == "http_500"


def test_prompt_over_the_limit_is_an_error_row():
    row = score_record(record(prompt_tokens=51), SCENARIO)
    assert row["error"] == "prompt_too_long" and row["score"] is None


def test_empty_output_is_flagged():
    row = score_record(record(text="   "), SCENARIO)
    assert row["empty"] is True and row["score"] == 0.0


def test_duplicate_trial_ids_keep_the_last_record_and_order_is_stable():
    records = [record("b", item="i2"), record("a", text="no"), record("a")]
    frame = score_trials(lambda: records, {"s": SCENARIO}).frame
    assert list(frame["trial_id"]) == ["a", "b"]
    assert list(frame["score"]) == [1.0, 1.0]
