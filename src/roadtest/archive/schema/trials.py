"""trials.jsonl and plan.jsonl rows: one JSON object a line.

    trials.jsonl   a ModelRow per call of a model under test, a JudgeRow per LLM judge's call about one, a
                   TurnRow per call a conversation made (roadtest.engine.records.trial_record writes them all)
    plan.jsonl     a PlannedTrial per planned call, a roadtest.archive.records.ConversationEntry per planned
                   conversation (roadtest.plan.trial.Trial.to_json writes both)

Every row is checked against these types once per command, by the pass that checks the archive before anything
is derived from it (roadtest.archive.checks.trial_problems: a located `trials.jsonl:<line>` error); the readers'
own passes (`RunArchive.trials()`) check only what they rely on, so they stay at JSON-decoding speed.
`RunArchive.rows()` gives the rows typed.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import StrictBool, StrictInt, ValidationError

from roadtest.archive.records import ToolResultRecord, record_kind
from roadtest.archive.schema.base import Closed, Number, Record, first_problem


class Request(Record):
    """The exact request sent."""

    endpoint: str
    """chat/completions or completions (relative to the model's base URL)."""
    body: dict[str, Any]
    """The JSON body: model, messages or prompt, sampling, max_tokens, stop, seed, logprobs."""


class Response(Record):
    """What the server answered (any status: a refusal is data too)."""

    status: StrictInt
    """The HTTP status."""
    body: Any = None
    """The parsed JSON body, the API key removed should the server echo it (None: not JSON)."""
    text: Optional[str] = None
    """The raw text (first 100,000 characters), only when the body was not JSON."""


class CallError(Closed):
    """A call that failed after its retries: an error, never a wrong answer."""

    kind: str
    """timeout, connection, http_<status>, bad_response, cancelled, ... (roadtest.engine.retry)."""
    message: str
    """The server's or the client's words (first 500 characters, the API key removed)."""


class CacheHit(Record):
    """An answer served from the response cache instead of the endpoint."""

    hit: StrictBool
    """Always true (a miss is not recorded)."""
    key: Optional[str] = None
    """The cache key (hash of the endpoint's identity and the request)."""
    stored_at: Optional[str] = None
    """When the cached answer was first received."""


class CallRow(Record):
    """What every trials.jsonl row holds: one finished call."""

    trial_id: str
    """The trial's id (kind-specific form)."""
    kind: Literal["model", "judge", "turn"] = "model"
    """model (absent in rows written before kinds existed), judge or turn."""
    model: str
    """The model called (a judge's or a simulated customer's for those kinds)."""
    scenario: str
    """The scenario the call belongs to."""
    item: Union[str, StrictInt, None] = None
    """The dataset item (a conversation's case)."""
    repeat: Optional[StrictInt] = None
    """The repeat (0-based)."""
    variant: Optional[str] = None
    """base, setting:NAME, perturbation:NAME, counterfactual:NAME or load:LEVEL."""
    level: Optional[str] = None
    """Load trials: the traffic level (c6: six in flight; r2.5: 2.5 requests per second)."""
    reference: dict[str, Any] = {}
    """The item's answer, stratum (group), cluster, must_refuse: what scoring compares with."""
    request: Request
    """The exact request."""
    started_at: Optional[str] = None
    """When the call was sent (UTC, ISO 8601)."""
    latency_s: Number = 0.0
    """Seconds from sending to the whole answer (the last attempt's)."""
    attempts: StrictInt = 1
    """Attempts made (retries included)."""
    retry_wait_s: Number = 0.0
    """Seconds spent waiting between attempts (absent when none)."""
    response: Optional[Response] = None
    """The raw response (None: none came)."""
    usage: Any = None
    """The response's usage block (prompt_tokens, completion_tokens), as the server sent it."""
    error: Optional[CallError] = None
    """A failed call; a later row of the same trial id supersedes it (resume --retry-errors)."""
    cache: Optional[CacheHit] = None
    """Served from the response cache (absent: sent to the endpoint)."""
    warmup: StrictBool = False
    """Load trials: a warm-up call, not measured."""
    replica: Optional[StrictInt] = None
    """The replica that answered (1-based; for an error, the one the last attempt went to), for a model served by
    several endpoints (absent with one endpoint, and for an answer from the cache)."""


class ModelRow(CallRow):
    """A call to a model under test: id `<model>/<scenario>/<variant>/r<repeat>/<item>`."""

    kind: Literal["model"] = "model"
    """model (absent in rows written before kinds existed)."""


class JudgeRow(CallRow):
    """An LLM judge's call about one model trial: id `judge:<purpose>/<judge model>/<target>`."""

    kind: Literal["judge"]
    """judge."""
    target: str
    """The judged trial's id."""
    purpose: Literal["score", "policy"]
    """score (the judge scoring rule) or policy (the policy rubric)."""


class TurnRow(CallRow):
    """One call a conversation made: id `<conversation>#<turn>:<role>`."""

    kind: Literal["turn"]
    """turn."""
    conversation: str
    """The id of the conversation's plan entry."""
    turn: StrictInt
    """The call's position in its conversation, 0-based over both roles."""
    role: Literal["assistant", "user"]
    """assistant (the model under test) or user (the simulated customer)."""
    tool_results: list[ToolResultRecord] = []
    """assistant turns: the tool calls its reply made, executed, in order."""


TrialRow = Union[ModelRow, JudgeRow, TurnRow]
ROWS: dict[str, type[TrialRow]] = {"model": ModelRow, "judge": JudgeRow, "turn": TurnRow}


class PlannedTrial(Record):
    """A plan.jsonl line of kind model: one call planned for a model under test (roadtest.plan.trial.Trial)."""

    id: str
    """The trial id its row in trials.jsonl carries."""
    kind: Literal["model"] = "model"
    """model (kind conversation is a roadtest.archive.records.ConversationEntry)."""
    model: str
    """The model under test."""
    scenario: str
    """The scenario."""
    item: str
    """The dataset item."""
    repeat: StrictInt
    """The repeat (0-based)."""
    variant: str
    """base, setting:NAME, perturbation:NAME, counterfactual:NAME or load:LEVEL."""
    endpoint: str
    """chat/completions or completions."""
    body: dict[str, Any]
    """The exact request body: its row's request must carry the same."""
    reference: dict[str, Any]
    """What scoring compares the answer with."""
    level: Optional[str] = None
    """Load trials: the traffic level."""


def row(data: Any) -> TrialRow:
    """A typed row from a trials.jsonl record (pydantic.ValidationError when it is not one). Validating is the
    cheap way in: about 6 µs a row, half of what building the nested records unvalidated costs."""
    cls = ROWS.get(record_kind(data) if isinstance(data, dict) else "model", ModelRow)
    return cls.model_validate(data)


def row_problem(data: Any) -> str | None:
    """Why a trials.jsonl record is not a typed row (the first field that is not of its type), or None."""
    try:
        row(data)
    except ValidationError as exc:
        return first_problem(exc)
    except RecursionError:
        return "nested too deeply"
    return None
