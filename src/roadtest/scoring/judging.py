"""LLM-as-a-judge: judge trials built from archived outputs, and their verdicts read back.

Judge calls are trials of their own (kind 'judge'), archived like every other call, pinned at
temperature 0 with the judge's seed. They never count toward the judged model's metrics.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from roadtest.load.templates import render
from roadtest.plan import CHAT, COMPLETION, Trial
from roadtest.scoring.outputs import read_output
from roadtest.spec import Judge, ModelSpec, Scenario
from roadtest.archive.records import record_kind

DEFAULT_TEMPLATE = """You are a strict evaluator. Read the rubric, the input and the response, then answer PASS if \
the response meets the rubric and FAIL if it does not.

Example
Rubric: The response answers in English.
Input: What is the capital of France?
Response: Paris is the capital of France.
Verdict: PASS

Example
Rubric: The response answers in English.
Input: What is the capital of France?
Response: La capitale de la France est Paris.
Verdict: FAIL

Now evaluate
Rubric: {{ rubric }}
Input: {{ input }}
{% if reference %}Reference answer: {{ reference }}
{% endif %}Response: {{ output }}
Verdict:"""
"""roadtest's pinned judge prompt (two demonstrations, then the case). A scenario may replace it with `template:`."""

_VERDICT = re.compile(r"\b(PASS|FAIL)\b", re.IGNORECASE)


def judges_of(spec: Scenario) -> list[tuple[str, Judge]]:
    """(purpose, judge) for every judge the scenario calls (Scenario.judges_by_purpose is the list)."""
    return [(purpose, judge) for purpose, _, judge in spec.judges_by_purpose()]


def shown_input(record: dict[str, Any]) -> str:
    """What the judged model was asked: its last user message, or its completion prompt."""
    body = record["request"]["body"]
    if "messages" in body:
        users = [m["content"] for m in body["messages"] if m.get("role") == "user"]
        return users[-1] if users else ""
    return str(body.get("prompt", ""))


def judge_trial(record: dict[str, Any], purpose: str, judge: Judge, model: ModelSpec, mode: str,
                show_reference: bool = True) -> Trial:
    """The judge's call about one archived output (the reference answer only when it helps the rubric)."""
    output = read_output(record).text or ""
    answer = (record.get("reference") or {}).get("answer") if show_reference else None
    prompt = render(judge.template or DEFAULT_TEMPLATE, {
        "rubric": judge.rubric, "input": shown_input(record).strip(), "output": output.strip(),
        "reference": "" if answer is None else str(answer)})
    endpoint = CHAT if (model.mode or mode) == "chat" else COMPLETION
    body: dict[str, Any] = {"model": model.request_model}
    body.update({"messages": [{"role": "user", "content": prompt}]} if endpoint == CHAT else {"prompt": prompt})
    body.update({"temperature": 0.0, "top_p": 1.0, "seed": judge.seed, "max_tokens": judge.max_new_tokens})
    return Trial(id=f"judge:{purpose}/{model.id}/{record['trial_id']}", model=model.id, scenario=record["scenario"],
                 item=record["item"], repeat=record["repeat"], variant=record.get("variant", "base"),
                 endpoint=endpoint, body=body, reference={}, kind="judge", target=record["trial_id"],
                 purpose=purpose)


def judge_trials(records: Iterable[dict[str, Any]], scenarios: dict[str, Scenario],
                 models: dict[str, ModelSpec]) -> Iterator[Trial]:
    """A judge trial for every successful model call of a scenario that has a judge, grouped by judge model."""
    pending: dict[str, list[Trial]] = {}
    for record in records:
        if record_kind(record) != "model" or record.get("error"):
            continue
        spec = scenarios.get(record["scenario"])
        if not spec:
            continue
        for purpose, judge in judges_of(spec):
            # A policy rubric is about the response alone; a regex reference is a pattern, not an answer.
            show = purpose == "score" and spec.scoring.rule != "regex"
            pending.setdefault(judge.model, []).append(
                judge_trial(record, purpose, judge, models[judge.model], spec.mode, show))
    for trials in pending.values():
        yield from trials


def parse_verdict(text: str | None) -> bool | None:
    """True for PASS, False for FAIL (the first one written), None when the judge said neither."""
    m = _VERDICT.search(text or "")
    return None if m is None else m.group(1).upper() == "PASS"
