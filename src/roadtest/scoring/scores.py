"""Archive -> one score row per model trial and per conversation (and one per judge trial). Reads only the
archive (and, for conversations, the plan entries and lookup tables it holds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

import pandas as pd

from roadtest.archive.schema import JudgeRow, ModelRow, TrialRow
from roadtest.scoring.confidence import CHOICE, MEAN_TOKEN, choice_confidence, mean_token_probability
from roadtest.scoring.judging import parse_verdict
from roadtest.scoring.outputs import Output, row_output
from roadtest.scoring.policy import violations
from roadtest.scoring.rules import Score, normalise, score_output
from roadtest.scoring.toxicity import THRESHOLD, toxicity_scores
from roadtest.spec import ModelSpec, Scenario

if TYPE_CHECKING:
    from roadtest.plan.trial import Trial

SCORE_COLUMNS = ["trial_id", "model", "scenario", "variant", "item", "repeat", "group", "cluster", "score", "extracted",
                 "answer_key", "format_ok", "empty", "error", "finish_reason", "truncated", "latency_s",
                 "tokens_in", "tokens_out", "cost", "confidence", "confidence_kind", "toxicity", "toxic",
                 "policy_violation", "policy_reasons", "error_message", "started_at", "level", "cached", "warmup",
                 "reference", "output"]
JUDGE_COLUMNS = ["trial_id", "model", "scenario", "target", "purpose", "verdict", "error", "latency_s",
                 "tokens_in", "tokens_out", "output"]
OUTPUT_CHARS = 400
REFERENCE_CHARS = 200


@dataclass(frozen=True)
class Scored:
    """Every model trial scored (`frame`: one row per single call and per conversation), every judge call read
    back (`judges`), and one summary per conversation for the report (`conversations`, sorted by id: see
    roadtest.scoring.conversation)."""

    frame: pd.DataFrame
    judges: pd.DataFrame
    conversations: list[dict[str, Any]] = field(default_factory=list)


def _cost(model: ModelSpec | None, tokens_in: int | None, tokens_out: int | None) -> float | None:
    if model is None or model.price is None or tokens_in is None or tokens_out is None:
        return None
    return model.price.cost(tokens_in, tokens_out)


def _confidence(out: Output, scenario: Scenario, scored: Score) -> tuple[float | None, str | None]:
    if not out.tokens:
        return None, None
    if scenario.scoring.rule == "choice":
        if scored.extracted is None:
            return None, CHOICE
        return choice_confidence(out.tokens, scored.extracted, scenario.scoring.choices or [],
                                 scenario.scoring.case_sensitive), CHOICE
    return mean_token_probability(out.tokens), MEAN_TOKEN


def score_record(record: ModelRow, scenario: Scenario, model: ModelSpec | None = None,
                 judged: dict[str, bool | None] | None = None) -> dict[str, Any]:
    """Score one archived model trial. A failed call has no score (it is an error, never a wrong answer) and
    keeps its error kind."""
    judged = judged or {}
    out = row_output(record)
    error = out.error
    limit = scenario.limits.max_prompt_tokens
    if error is None and limit is not None and out.tokens_in is not None and out.tokens_in > limit:
        error = "prompt_too_long"
    reference = record.reference or {}
    assert record.repeat is not None  # a model trial always records its repeat (roadtest.engine.records)
    row = {
        "trial_id": record.trial_id, "model": record.model, "scenario": record.scenario,
        "variant": "base" if record.variant is None else record.variant, "item": str(record.item),
        "repeat": int(record.repeat),
        "group": reference.get("group"), "cluster": reference.get("cluster"), "error": error,
        "finish_reason": out.finish_reason,
        "truncated": out.finish_reason == "length", "latency_s": float(record.latency_s or 0.0),
        "tokens_in": out.tokens_in, "tokens_out": out.tokens_out, "cost": _cost(model, out.tokens_in, out.tokens_out),
        "empty": False, "format_ok": False, "extracted": None, "answer_key": None, "score": None,
        "confidence": None, "confidence_kind": None, "toxicity": None, "toxic": None,
        "policy_violation": None, "policy_reasons": None, "output": None,
        "error_message": (record.error.message if record.error is not None else "")[:200] or None,
        "started_at": record.started_at, "level": record.level,
        "cached": record.cache is not None and bool(record.cache.hit), "warmup": bool(record.warmup),
        "reference": None if reference.get("answer") is None else str(reference["answer"])[:REFERENCE_CHARS],
    }
    if error is not None:
        return row
    text = out.text or ""
    if scenario.scoring.rule == "judge":
        # A judge that failed or said neither PASS nor FAIL leaves the output unscored: the judge's
        # trouble is counted with the judge, never against the judged model.
        verdict = judged.get("score")
        scored = Score(None if verdict is None else float(verdict),
                       None if verdict is None else ("PASS" if verdict else "FAIL"), True)
    else:
        scored = score_output(text, reference.get("answer"), scenario.scoring)
    confidence, kind = _confidence(out, scenario, scored) if scored.value is not None else (None, None)
    row.update(score=scored.value, extracted=scored.extracted, format_ok=scored.format_ok,
               empty=not text.strip(), answer_key=_answer_key(scenario, scored, text),
               confidence=confidence, confidence_kind=kind, output=text)
    if scenario.policy is not None:
        reasons = violations(text, scenario.policy, bool(reference.get("must_refuse")), judged.get("policy"))
        row.update(policy_violation=bool(reasons), policy_reasons="; ".join(reasons) or None)
    return row


def _answer_key(scenario: Scenario, scored: Score, text: str) -> str:
    """What 'the answer' is for flip comparisons: the extracted choice or number, else the normalised text."""
    if scenario.scoring.rule in ("choice", "numeric", "judge") and scored.extracted is not None:
        return normalise(str(scored.extracted))
    return normalise(text)


def _judge_row(record: JudgeRow) -> dict[str, Any]:
    out = row_output(record)
    return {"trial_id": record.trial_id, "model": record.model, "scenario": record.scenario,
            "target": record.target, "purpose": record.purpose,
            "verdict": None if out.error else parse_verdict(out.text), "error": out.error,
            "latency_s": float(record.latency_s or 0.0), "tokens_in": out.tokens_in,
            "tokens_out": out.tokens_out, "output": (out.text or "")[:OUTPUT_CHARS]}


def uses_verdicts(scenario: Scenario) -> bool:
    """Whether a scenario's scores can depend on judges' verdicts (a judge scoring rule, or a policy)."""
    return scenario.scoring.rule == "judge" or scenario.policy is not None


def score_trials(rows: Callable[[], Iterable[TrialRow]], scenarios: dict[str, Scenario],
                 models: dict[str, ModelSpec] | None = None,
                 entries: Callable[[], Iterable[Trial]] | None = None,
                 tables: dict[str, dict[str, Any]] | None = None) -> Scored:
    """Every model trial scored, every judge call read back, every conversation replayed and scored.

    `rows` gives the archive's typed rows, once or twice: one pass reads the judges' calls and scores every
    model trial whose score cannot depend on a judge; a second pass, only when some scenario has a judge or a
    policy, scores those trials with the verdicts. Rows are kept as columns (memory stays modest for large
    archives); the last record wins if a trial id repeats; rows come out in a stable order (by trial id).

    Conversations: `entries` gives the plan entries (only kind 'conversation' matter) and `tables` the lookup
    tables per scenario (scenario id -> tool name -> key -> row, as
    roadtest.archive.schema.ScenarioEntry.tool_rows gives them). Turn rows are never rows themselves: they are
    grouped by conversation (the last record of a turn id wins: a retried turn supersedes its error) and each
    conversation is replayed and scored as one row (roadtest.scoring.conversation). Without `entries`, turn
    rows are ignored.
    """
    models = models or {}
    judges: dict[str, dict[str, Any]] = {}
    columns = _Columns()
    turns: dict[str, dict[str, dict[str, Any]]] = {}
    if entries is not None:   # imported here: the conversation state machine imports roadtest.scoring itself
        from roadtest.scoring.conversation import slim
    waiting = False
    for record in rows():
        scenario = scenarios.get(record.scenario)
        if record.kind == "judge":
            judges[record.trial_id] = _judge_row(record)
        elif record.kind == "turn":
            if entries is not None and scenario is not None:
                turns.setdefault(str(record.conversation), {})[record.trial_id] = slim(record)
        elif scenario is not None:
            if uses_verdicts(scenario):
                waiting = True
            else:
                columns.add(score_record(record, scenario, models.get(record.model)))
    if waiting:
        verdicts: dict[str, dict[str, bool | None]] = {}
        for j in judges.values():
            verdicts.setdefault(j["target"], {})[j["purpose"]] = j["verdict"]
        for record in rows():
            scenario = scenarios.get(record.scenario)
            if record.kind == "model" and scenario is not None and uses_verdicts(scenario):
                columns.add(score_record(record, scenario, models.get(record.model), verdicts.get(record.trial_id)))
    columns.add_toxicity()
    extra: list[str] = []
    summaries: list[dict[str, Any]] = []
    if entries is not None:
        extra, summaries = _conversations(entries, turns, scenarios, models, tables or {}, columns.values,
                                          columns.position)
    del turns
    data: dict[str, Any] = {c: columns.values[c] for c in SCORE_COLUMNS}
    data.update({c: pd.Series(columns.values[c], dtype=object) for c in extra})   # ints stay ints, None stays None
    frame = pd.DataFrame(data, columns=SCORE_COLUMNS + extra)
    frame = frame.sort_values("trial_id", kind="stable").reset_index(drop=True)
    judge_frame = pd.DataFrame([judges[k] for k in sorted(judges)], columns=JUDGE_COLUMNS)
    return Scored(frame, judge_frame, summaries)


class _Columns:
    """Score rows kept as columns, one place per trial id (a later record of the id replaces the earlier), with
    each answered output's full text until the toxicity classifier has read them all."""

    def __init__(self) -> None:
        self.values: dict[str, list[Any]] = {c: [] for c in SCORE_COLUMNS}
        self.position: dict[str, int] = {}
        self.texts: list[str] = []

    def add(self, row: dict[str, Any]) -> None:
        text = row["output"] if row["error"] is None else ""
        row["output"] = (row["output"] or "")[:OUTPUT_CHARS] if row["error"] is None else None
        at = self.position.get(row["trial_id"])
        if at is None:
            self.position[row["trial_id"]] = len(self.texts)
            self.texts.append(text)
            for c in SCORE_COLUMNS:
                self.values[c].append(row[c])
        else:
            self.texts[at] = text
            for c in SCORE_COLUMNS:
                self.values[c][at] = row[c]

    def add_toxicity(self) -> None:
        """Every answered output's toxicity, the texts then let go."""
        toxicity = toxicity_scores(self.texts) if self.texts else []
        self.texts = []
        for i, tox in enumerate(toxicity):
            if self.values["error"][i] is None:
                self.values["toxicity"][i] = tox
                self.values["toxic"][i] = tox >= THRESHOLD


def _conversations(entries: Callable[[], Iterable[Trial]], turns: dict[str, dict[str, dict[str, Any]]],
                   scenarios: dict[str, Scenario], models: dict[str, ModelSpec], tables: dict[str, dict[str, Any]],
                   columns: dict[str, list[Any]], position: dict[str, int]) -> tuple[list[str], list[dict]]:
    """Score every conversation entry into `columns` (adding the conversation columns when there is one);
    returns the columns added and the conversations' summaries, sorted by id."""
    from roadtest.conversation.tools import ToolBox
    from roadtest.scoring.conversation import CONVERSATION_COLUMNS, score_conversation

    chosen: dict[str, Trial] = {}
    for entry in entries():
        if entry.kind == "conversation" and entry.scenario in scenarios:
            chosen[entry.id] = entry
    if not chosen:
        return [], []
    boxes: dict[str, ToolBox] = {}
    scored = []
    for cid in sorted(chosen):
        entry = chosen[cid]
        if entry.scenario not in boxes:
            boxes[entry.scenario] = ToolBox(scenarios[entry.scenario].tools, tables.get(entry.scenario))
        scored.append(score_conversation(entry, turns.get(cid, {}), scenarios[entry.scenario], boxes[entry.scenario],
                                         models.get(entry.model), OUTPUT_CHARS, REFERENCE_CHARS))
    flat = [t for s in scored for t in s.texts]
    found = iter(toxicity_scores(flat) if flat else [])
    width = len(columns["trial_id"])
    for c in CONVERSATION_COLUMNS:
        columns[c] = [None] * width
    for s in scored:
        tox = [next(found) for _ in s.texts]
        if s.row["error"] is None:
            s.row["toxicity"] = max(tox) if tox else 0.0
            s.row["toxic"] = s.row["toxicity"] >= THRESHOLD
        at = position.get(s.row["trial_id"])
        if at is None:   # a single call with the same id cannot exist (kinds live in separate scenarios)
            position[s.row["trial_id"]] = len(columns["trial_id"])
            for c in SCORE_COLUMNS + CONVERSATION_COLUMNS:
                columns[c].append(s.row[c])
        else:
            for c in SCORE_COLUMNS + CONVERSATION_COLUMNS:
                columns[c][at] = s.row[c]
    return list(CONVERSATION_COLUMNS), [s.summary for s in scored]
