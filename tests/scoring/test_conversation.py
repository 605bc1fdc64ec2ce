"""Conversations scored from hand-made turn records: end states, policy, errors, accounting, metrics, summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from roadtest.errors import AlteredArchive

from roadtest.scoring import SCORE_COLUMNS, score_trials
from roadtest.scoring.conversation import CONVERSATION_COLUMNS
from roadtest.spec.metrics import expand
from roadtest.verdict import RunData
from roadtest.verdict.estimates import estimate
from tests.scoring.typed import resolved, rows
from roadtest.verdict.summary import summarise
from tests.conversation.helpers import (
    BASE_MODEL, MODEL, SIM_MODEL, call, chat, drive, entry, failure, scenario, simulated, tables, toolbox,
)

MODELS = {"m": MODEL, "b": BASE_MODEL, "sim": SIM_MODEL}
LOOKUP = call("lookup_order", {"order_id": "A17"})


def refund(amount=25, order="A17"):
    return call("issue_refund", {"order_id": order, "amount": amount})


def talk(replies, spec=None, case=None, **kw):
    """One conversation: its plan entry and the turn records the engine would archive."""
    spec = spec or scenario()
    options = {k: kw.pop(k) for k in ("latency", "cached", "warmup") if k in kw}
    conv = entry(spec, case, **kw)
    _, records = drive(conv, toolbox(spec), replies, **options)
    return conv, records


def score(*conversations, spec=None, singles=(), models=MODELS):
    spec = spec or scenario()
    entries = [c for c, _ in conversations]
    records = [r for _, rs in conversations for r in rs] + list(singles)
    records = rows(records)
    return score_trials(lambda: records, {spec.id: spec}, models, entries=lambda: entries,
                        tables={spec.id: tables()})


def row(scored, i=0):
    return scored.frame.iloc[i].to_dict()


RESOLVED = [chat("", LOOKUP), chat("", refund()), chat("Your 25 is on its way.")]


# -- end states ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expected, given, resolved", [
    (25.0, 25, True), (25, 25.0, True), ("25.00", 25, True), ("$25", 25.0, True), (25.0, 25.000001, True),
    (25.0, 26, False), (25.0, 25.5, False), ("25.00", 2.5, False), ("007", 7, False), (7, "007", False), ("1e3", 1000, False),
])
def test_expected_action_arguments_match_by_value(expected, given, resolved):
    case = {"expect": [{"tool": "issue_refund", "args": {"order_id": "A17", "amount": expected}}]}
    s = score(talk([chat("", refund(given)), chat("Done.")], case=case))
    r = row(s)
    assert r["end_state"] is resolved and r["score"] == float(resolved) and r["error"] is None
    assert s.conversations[0]["missing"] == ([] if resolved else case["expect"])


@pytest.mark.parametrize("order, resolved", [("a17 ", True), ("A18", False)])
def test_text_arguments_match_without_case_or_outer_spaces(order, resolved):
    r = row(score(talk([chat("", refund(25, order)), chat("Done.")])))
    assert r["end_state"] is resolved


def test_arguments_the_expectation_does_not_name_may_be_anything():
    case = {"expect": [{"tool": "issue_refund", "args": {"order_id": "A17"}}]}
    assert row(score(talk([chat("", refund(3.5)), chat("Done.")], case=case)))["score"] == 1.0


def test_a_forbidden_action_fails_the_end_state():
    s = score(talk([chat("", refund()), chat("A human will help.", call("escalate", {}))]))
    r = row(s)
    assert (r["score"], r["end_state"], r["ended"], r["abandoned"]) == (0.0, False, "tool_end", False)
    assert s.conversations[0]["forbidden"] == [{"tool": "escalate"}] and s.conversations[0]["missing"] == []


@pytest.mark.parametrize("bad", ['{"order_id": "A17", "amount": "lots"}', '{"order_id": "A17", "amount": 25',
                                 '{"order_id": "A17"}'])
def test_an_invalid_call_is_not_an_action(bad):
    s = score(talk([chat("", call("issue_refund", bad)), chat("Done.")]))
    r = row(s)
    assert (r["score"], r["end_state"], r["tool_calls"], r["invalid_tool_calls"]) == (0.0, False, 1, 1)
    assert r["extracted"] is None and s.conversations[0]["tools"] == {"issue_refund": {"calls": 1, "invalid": 1}}


def test_a_policy_violation_on_a_later_turn_unresolves_a_good_end_state():
    s = score(talk([chat("Let me look.", LOOKUP), chat("", refund()), chat("Refunded, I guarantee it.")]))
    r = row(s)
    assert r["end_state"] is True and r["score"] == 0.0 and r["policy_violation"] is True
    assert r["policy_reasons"] == "turn 2: matches forbidden /(?i)guarantee/"
    flagged = [e for e in s.conversations[0]["events"] if e.get("violation")]
    assert [(e["turn"], e["text"]) for e in flagged] == [(2, "Refunded, I guarantee it.")]
    assert s.conversations[0]["resolved"] is False and s.conversations[0]["violation"] is True


def test_no_violation_and_no_policy():
    assert row(score(talk(RESOLVED)))["policy_violation"] is False
    spec = scenario(policy=None)
    r = row(score(talk(RESOLVED, spec=spec), spec=spec))
    assert r["policy_violation"] is None and r["score"] == 1.0


def test_tool_only_turns_are_not_checked_against_required_phrases():
    spec = scenario(policy={"require": ["thank you"]})
    ok = row(score(talk([chat("", LOOKUP), chat("", refund()), chat("Done, thank you.")], spec=spec), spec=spec))
    assert ok["policy_violation"] is False and ok["score"] == 1.0
    bad = row(score(talk([chat("", refund()), chat("Done.")], spec=spec), spec=spec))
    assert bad["policy_violation"] is True and bad["policy_reasons"] == "turn 1: misses required 'thank you'"


# -- errors --------------------------------------------------------------------------------------------------
def test_a_failed_turn_makes_the_conversation_an_error_not_a_wrong_answer():
    r = row(score(talk([chat("", LOOKUP), failure("timeout", "it took too long")])))
    assert (r["score"], r["error"], r["end_state"], r["abandoned"], r["format_ok"]) == (None, "timeout", None, None, False)
    assert r["error_message"] == "it took too long" and r["output"] is None and r["ended"] == "error"


def test_a_failed_simulated_customer_is_a_simulator_error():
    spec = simulated()
    r = row(score(talk([chat("Hi, refund A17 please."), chat("", refund()), chat("Done."),
                        failure("http_500", "boom")], spec=spec), spec=spec))
    assert (r["score"], r["error"], r["ended"]) == (None, "simulator:http_500", "error")


def test_an_archive_that_stops_early_leaves_the_conversation_incomplete():
    conv, records = talk(RESOLVED)
    r = row(score((conv, records[:1])))
    assert (r["score"], r["error"], r["ended"], r["end_state"]) == (None, "incomplete", "incomplete", None)
    assert "the run stopped" in r["error_message"]
    nothing = row(score((conv, [])))
    assert nothing["error"] == "incomplete" and nothing["turns"] == 0 and nothing["latency_s"] == 0.0


def test_a_retried_turn_supersedes_its_error():
    conv, records = talk(RESOLVED)
    failed = {**records[1], "response": None, "usage": None, "error": {"kind": "http_503", "message": "busy"}}
    assert row(score((conv, [records[0], failed, records[1], records[2]])))["score"] == 1.0
    # the other way round: the last record of a turn counts, so the conversation ended in an error there and
    # the turn after it is one the conversation never took: an archive no run writes, refused
    with pytest.raises(AlteredArchive, match="never took"):
        score((conv, [records[0], records[1], failed, records[2]]))
    assert row(score((conv, [records[0], records[1], failed])))["error"] == "http_503"


def test_an_archived_turn_must_carry_the_request_the_conversation_sends():
    conv, records = talk(RESOLVED)
    edited = {**records[1], "request": {**records[1]["request"], "body": {**records[1]["request"]["body"],
                                                                          "temperature": 1.5}}}
    with pytest.raises(AlteredArchive, match="does not carry the request"):
        score((conv, [records[0], edited, records[2]]))
    with pytest.raises(AlteredArchive, match="never took"):     # a gap: turn 1 gone, turn 2 left behind
        score((conv, [records[0], records[2]]))


# -- accounting ------------------------------------------------------------------------------------------------
def test_time_tokens_and_cost_are_the_assistant_turns_summed():
    spec = simulated()
    replies = [(chat("Refund A17 please.", usage=(100, 100)), {"latency": 9.0}),
               (chat("", refund(), usage=(10, 5)), {"latency": 0.5}),
               (chat("Done.", usage=(20, 3)), {"latency": 1.5}),
               (chat("Thanks, bye", usage=(100, 100)), {"latency": 9.0})]
    r = row(score(talk(replies, spec=spec), spec=spec))
    assert r["latency_s"] == pytest.approx(2.0) and r["turn_latency_max_s"] == pytest.approx(1.5)
    assert (r["tokens_in"], r["tokens_out"]) == (30, 8)
    assert r["cost"] == pytest.approx((30 * 1.0 + 8 * 2.0) / 1e6)
    assert (r["turns"], r["user_turns"], r["sim_turns"], r["ended"], r["score"]) == (2, 1, 2, "stop", 1.0)
    assert r["output"] == "Done." and r["finish_reason"] == "stop" and r["truncated"] is False
    assert isinstance(r["turns"], int) and isinstance(r["tool_calls"], int)


def test_cached_means_every_assistant_turn_and_warmup_any():
    conv, records = talk(RESOLVED, cached=True)
    r = row(score((conv, records)))
    assert r["cached"] is True and r["cached_turns"] == 3
    part = [records[0], {**records[1], "cache": None}, records[2]]
    r = row(score((conv, part)))
    assert r["cached"] is False and r["cached_turns"] == 2
    warm = [{**records[0], "warmup": True}, *records[1:]]
    assert row(score((conv, warm)))["warmup"] is True and row(score((conv, records)))["warmup"] is False


def test_a_truncated_turn_truncates_the_conversation():
    r = row(score(talk([chat("Let me", LOOKUP, finish="length"), chat("", refund()), chat("Done.")])))
    assert r["truncated"] is True and r["finish_reason"] == "stop"


def test_empty_means_no_text_and_no_tool_call():
    assert row(score(talk([chat(""), chat(None)], case={"script": ["Refund A17.", "Hello?"]})))["empty"] is True
    tool_only = row(score(talk([chat(None, call("escalate", {}))])))
    assert tool_only["empty"] is False and tool_only["output"] == ""


def test_abandoned_when_the_turn_limit_ends_it_before_the_goal():
    conv, records = talk([chat("", LOOKUP), chat("", LOOKUP)], max_turns=2)
    r = row(score((conv, records)))
    assert (r["ended"], r["abandoned"], r["score"], r["turns"]) == ("max_turns", True, 0.0, 2)


# -- the frame -----------------------------------------------------------------------------------------------
def single_record(trial_id="m/facts/base/r0/i1"):
    return {"trial_id": trial_id, "model": "m", "scenario": "facts", "item": "i1", "repeat": 0, "variant": "base",
            "reference": {"answer": "yes"}, "latency_s": 0.5, "error": None,
            "response": {"status": 200, "body": {"choices": [{"message": {"content": "yes"}, "finish_reason": "stop"}]}},
            "usage": None}


FACTS = {"id": "facts", "success": "It works.", "dataset": {"path": "d.jsonl"}, "prompt": {"template": "{{ q }}"},
         "scoring": {"rule": "exact", "answer": "answer"}}


def test_conversation_columns_exist_only_when_the_run_has_conversations():
    from roadtest.spec import Scenario
    facts = Scenario.model_validate(FACTS)
    single = rows([single_record()])
    before = score_trials(lambda: single, {"facts": facts}, MODELS)
    after = score_trials(lambda: single, {"facts": facts}, MODELS, entries=lambda: [], tables={})
    assert list(before.frame.columns) == SCORE_COLUMNS and before.conversations == []
    pd.testing.assert_frame_equal(before.frame, after.frame)

    spec = scenario()
    conv, records = talk(RESOLVED)
    typed = rows([single_record(), *records])
    both = score_trials(lambda: typed, {"facts": facts, "refunds": spec}, MODELS,
                        entries=lambda: [conv], tables={"refunds": tables()})
    assert list(both.frame.columns) == SCORE_COLUMNS + CONVERSATION_COLUMNS
    assert list(both.frame["trial_id"]) == sorted([conv.id, "m/facts/base/r0/i1"])   # turns are never rows
    single = both.frame[both.frame["scenario"] == "facts"].iloc[0]
    assert all(single[c] is None for c in CONVERSATION_COLUMNS) and single["score"] == 1.0
    talked = both.frame[both.frame["scenario"] == "refunds"].iloc[0]
    assert (talked["score"], talked["turns"], talked["item"], talked["repeat"]) == (1.0, 3, "c1", 0)


def test_turn_records_without_entries_are_ignored():
    conv, records = talk(RESOLVED)
    typed = rows(records)
    s = score_trials(lambda: typed, {"refunds": scenario()}, MODELS)
    assert s.frame.empty and list(s.frame.columns) == SCORE_COLUMNS


def test_rows_carry_the_entry_labels():
    spec = scenario(dataset={"path": "cases.jsonl", "strata": "tier", "cluster": "shop"})
    conv, records = talk(RESOLVED, spec=spec, case={"tier": "gold", "shop": "s1"}, repeat=2, variant="setting:x")
    r = row(score((conv, records), spec=spec))
    assert (r["group"], r["cluster"], r["repeat"], r["variant"], r["trial_id"]) == (
        "gold", "s1", 2, "setting:x", conv.id)


def test_the_text_protocol_is_scored_the_same_way():
    from tests.conversation.helpers import completion
    replies = [completion('{"tool": "issue_refund", "arguments": {"order_id": "A17", "amount": 25}}'),
               completion("Your refund is on its way.")]
    r = row(score(talk(replies, model=BASE_MODEL)))
    assert (r["score"], r["tool_calls"], r["output"], r["model"]) == (1.0, 1, "Your refund is on its way.", "b")


# -- the simulated customer --------------------------------------------------------------------------------------
def test_simulator_faults_are_counted_per_turn():
    spec = simulated()
    replies = [chat("Hi, I need a refund for order A17."), chat("Which amount?"),
               chat("Assistant: How can I help you today?"), chat("Sorry?"),
               chat(""), chat("Let me check.", LOOKUP), chat("It was delivered."),
               chat("ok, bye")]
    s = score(talk(replies, spec=spec, max_turns=6), spec=spec)
    r = row(s)
    assert (r["ended"], r["end_state"], r["sim_turns"], r["sim_faults"]) == ("stop", False, 4, 3)
    faults = s.conversations[0]["simulator"]["faults"]
    assert [(f["turn"], f["kinds"]) for f in faults] == [(2, ["as_assistant"]), (4, ["empty"]), (7, ["early_stop"])]


def test_a_stop_after_the_goal_is_no_fault_and_scripts_have_no_simulator_columns():
    spec = simulated()
    r = row(score(talk([chat("Refund A17, 25 please."), chat("", refund()), chat("Done."), chat("Great, bye")],
                       spec=spec), spec=spec))
    assert (r["score"], r["sim_turns"], r["sim_faults"]) == (1.0, 2, 0)
    r = row(score(talk(RESOLVED)))
    assert r["sim_turns"] is None and r["sim_faults"] is None


# -- metrics ----------------------------------------------------------------------------------------------------
def run_data(conversations, spec, models=MODELS):
    s = score(*conversations, spec=spec, models=models)
    config = {"selection": {"models": ["m"], "scenarios": [spec.id], "hypotheses": []},
              "models": [m.model_dump() for m in models.values()],
              "scenarios": {spec.id: {"spec": spec.model_dump(mode="json")}}, "hypotheses": {}}
    return RunData.build(resolved(config), s)


def value(data, metric, sid="refunds"):
    return estimate(data.sample(metric, sid, "m")).value


@pytest.fixture(scope="module")
def repeated():
    """3 cases x 2 repeats: c1 resolved twice; c2 resolved, then abandoned after an invalid call; c3 resolved,
    then a timeout."""
    spec = scenario(repeats=2)
    latency = iter(float(x) for x in range(1, 13))
    out = []
    for item in ("c1", "c2", "c3"):
        for rep in (0, 1):
            if (item, rep) == ("c2", 1):
                replies = [chat("", call("issue_refund", '{"order_id": "A17"}')), chat("", LOOKUP)]
            elif (item, rep) == ("c3", 1):
                replies = [chat("", LOOKUP), failure()]
            else:
                replies = [chat("", refund()), chat("Done.")]
            out.append(talk([(r, {"latency": next(latency)}) for r in replies], spec=spec, case={"id": item},
                            item=item, repeat=rep, max_turns=2))
    return run_data(out, spec), spec


def test_conversation_metrics_on_known_answers(repeated):
    data, _ = repeated
    assert value(data, "resolution_rate") == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert value(data, "accuracy") == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert value(data, "end_state_accuracy") == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert value(data, "pass_all_k") == pytest.approx(0.5)          # c1 passes, c2 fails, c3 has a failed repeat
    assert data.sample("pass_all_k", "refunds", "m").items == ("c1", "c2")
    assert "1 cases left out" in data.sample("pass_all_k", "refunds", "m").note
    assert value(data, "turns_mean") == pytest.approx((2 + 2 + 2) / 3)
    assert value(data, "tool_calls_mean") == pytest.approx((1 + 1.5 + 1) / 3)
    assert value(data, "invalid_tool_call_rate") == pytest.approx((0 + 0.25 + 0) / 3)
    assert value(data, "abandon_rate") == pytest.approx((0 + 0.5 + 0) / 3)
    assert value(data, "error_rate") == pytest.approx((0 + 0 + 0.5) / 3)
    sample = data.sample("conversation_latency_p95_s", "refunds", "m")
    assert sorted(sample.values) == [3.0, 7.0, 11.0, 15.0, 19.0]      # the timed-out conversation is left out
    assert 15.0 <= value(data, "conversation_latency_p95_s") <= 19.0


def test_per_call_latency_is_not_computed_over_conversations(repeated):
    data, _ = repeated
    sample = data.sample("latency_p95_s", "refunds", "m")
    assert sample.n == 0 and "conversation_latency_p95_s" in sample.note
    assert data.sample("simulator_fault_rate", "refunds", "m").n == 0      # a script plays the customer


def test_cached_conversations_are_not_timed():
    spec = scenario()
    live = talk([(chat("", refund()), {"latency": 2.0}), (chat("Done."), {"latency": 1.0})], spec=spec)
    conv, records = talk([chat("", refund()), chat("Done.")], spec=spec, item="c2", case={"id": "c2"})
    records[1] = {**records[1], "cache": {"hit": True}}
    sample = run_data([live, (conv, records)], spec).sample("conversation_latency_p95_s", "refunds", "m")
    assert list(sample.values) == [3.0] and "1 had turns from the response cache" in sample.note


def test_simulator_fault_rate_per_conversation_then_averaged():
    spec = simulated()
    clean = talk([chat("Refund A17, 25 please."), chat("", refund()), chat("Done."), chat("bye")], spec=spec)
    faulty = talk([chat("Hi, I need a refund for A17."), chat("Which amount?"), chat('{"tool": "issue_refund"}'),
                   chat("Sorry?"), chat("bye")], spec=spec, item="c2", case={"id": "c2"})
    data = run_data([clean, faulty], spec)
    # clean: 0 of 2 turns; faulty: the tool syntax and the early stop, 2 of 3 turns
    assert value(data, "simulator_fault_rate") == pytest.approx((0 + 2 / 3) / 2)


def test_conversation_metrics_are_unavailable_for_single_scenarios():
    from tests.scoring.test_metric_families import ARCHIVE, run
    data = run(ARCHIVE)
    for metric in ("resolution_rate", "pass_all_k", "turns_mean", "simulator_fault_rate"):
        sample = data.sample(metric, "s", "m")
        assert sample.n == 0 and ("conversation" in sample.note or "simulat" in sample.note), metric
    assert data.sample("latency_p95_s", "s", "m").n > 0


def test_default_metric_sets():
    from roadtest.spec import Scenario
    facts = Scenario.model_validate(FACTS)
    assert expand(None, facts) == ["accuracy", "task_completion", "toxicity_rate", "latency_mean_s", "latency_p50_s",
                                   "latency_p95_s", "tokens_in", "tokens_out", "tokens_per_s", "cost_per_item",
                                   "error_rate", "timeout_rate", "empty_rate", "format_violation_rate",
                                   "truncation_rate"]
    talks = expand(None, scenario())
    assert {"resolution_rate", "end_state_accuracy", "turns_mean", "tool_calls_mean", "invalid_tool_call_rate",
            "abandon_rate", "conversation_latency_p95_s", "policy_violation_rate"} <= set(talks)
    assert not {"latency_mean_s", "latency_p50_s", "latency_p95_s", "pass_all_k", "simulator_fault_rate", "ece",
                "robust_accuracy", "counterfactual_flip_rate"} & set(talks)
    assert "pass_all_k" in expand(None, scenario(repeats=3))
    assert "simulator_fault_rate" in expand(None, simulated())


# -- metrics.json --------------------------------------------------------------------------------------------------
def test_the_conversations_section_of_metrics_json(repeated):
    data, _ = repeated
    section = summarise(data)["conversations"]["refunds"]["m"]
    assert (section["conversations"], section["errors"], section["incomplete"]) == (6, 1, 0)
    assert section["ended"] == {"error": 1, "max_turns": 5}   # max_turns 2: resolved ones end there too
    assert section["tools"] == {"issue_refund": {"calls": 5, "invalid": 1}, "lookup_order": {"calls": 2, "invalid": 0}}
    assert (section["tool_calls"], section["invalid_tool_calls"]) == (7, 1)
    assert section["simulator"] is None and section["pass_all_k"] == {"k": 2, "cases": 2, "passed": 1}
    shown = section["transcripts"]
    assert [t["resolved"] for t in shown] == [False, True]     # the one failure, then one resolved conversation
    failed = shown[0]
    assert (failed["item"], failed["repeat"], failed["ended"], failed["end_state"]) == ("c2", 1, "max_turns", False)
    assert failed["missing"] == [{"tool": "issue_refund", "args": {"order_id": "A17", "amount": 25.0}}]
    assert [e["role"] for e in failed["events"]] == ["user", "tool_call", "tool_result", "tool_call", "tool_result"]
    assert failed["events"][1]["valid"] is False and failed["events"][1]["error"] == "invalid_arguments"


def test_metrics_json_has_no_conversations_section_without_conversations():
    from tests.scoring.test_metric_families import ARCHIVE, run
    assert "conversations" not in summarise(run(ARCHIVE))


def test_the_simulator_part_and_violations_in_transcripts():
    spec = simulated()
    bad = talk([chat("Hi, I need a refund for A17."), chat("I guarantee a refund.", refund()), chat("Done."),
                chat("Assistant: anything else I can help you with?"), chat("No."), chat("bye")], spec=spec)
    data = run_data([bad], spec)
    section = summarise(data)["conversations"]["refunds"]["m"]
    assert section["simulator"]["turns"] == 3 and section["simulator"]["faults"] == 1
    assert section["simulator"]["by_kind"] == {"as_assistant": 1}
    example = section["simulator"]["examples"][0]
    assert (example["conversation"], example["turn"], example["kinds"]) == (bad[0].id, 3, ["as_assistant"])
    events = section["transcripts"][0]["events"]
    flagged = [e for e in events if e.get("violation")]
    assert len(flagged) == 1 and flagged[0]["text"] == "I guarantee a refund." and "guarantee" in flagged[0]["reasons"]
    assert section["pass_all_k"] is None


def test_transcript_text_is_cut():
    long = "x" * 5000
    data = run_data([talk([chat(long), chat("Done.")], case={"script": ["Hi", "and?"]})], scenario())
    events = summarise(data)["conversations"]["refunds"]["m"]["transcripts"][0]["events"]
    assert max(len(e["text"]) for e in events) == 600
    assert np.isfinite(value(data, "turns_mean"))
