"""What the model said, read from an archived response body: text, finish reason, usage, log-probabilities."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from roadtest.plan.tokens import token_count

if TYPE_CHECKING:
    from roadtest.archive.schema import CallRow


@dataclass(frozen=True)
class Token:
    """One generated token with its log-probability and the alternatives the endpoint listed."""

    text: str
    logprob: float
    top: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Output:
    """The generated text and its accounting, or the reason there is none."""

    text: str | None
    finish_reason: str | None
    tokens_in: int | None
    tokens_out: int | None
    error: str | None
    """Error kind (timeout, http_500, bad_response, ...) or None."""
    tokens: tuple[Token, ...] | None = None
    """Log-probabilities of the generated tokens, when the endpoint returned them."""


def read_output(record: dict[str, Any]) -> Output:
    """What a trial record (as JSON) says the model answered."""
    return _output(record.get("usage"), (record.get("error") or {}).get("kind"),
                   (record.get("response") or {}).get("body"))


def row_output(row: CallRow) -> Output:
    """What a typed trials.jsonl row says the model answered (the same reading as `read_output`)."""
    return _output(row.usage, row.error.kind if row.error is not None else None,
                   row.response.body if row.response is not None else None)


def _output(usage: Any, error: str | None, body: Any) -> Output:
    usage = usage if isinstance(usage, dict) else {}   # a server may send usage as anything at all
    tokens_in, tokens_out = token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens"))
    if error:
        return Output(None, None, tokens_in, tokens_out, error)
    body = body or {}
    choice = (body.get("choices") or [{}])[0]
    if "message" in choice:
        message = choice.get("message") or {}
        if not isinstance(message, dict):
            return Output(None, None, tokens_in, tokens_out, "bad_response")
        text = message.get("content")
    else:
        text = choice.get("text")
    if text is not None and not isinstance(text, str):
        return Output(None, None, tokens_in, tokens_out, "bad_response")
    return Output(text or "", choice.get("finish_reason"), tokens_in, tokens_out, None, _tokens(choice.get("logprobs")))


def _tokens(logprobs: Any) -> tuple[Token, ...] | None:
    """Chat format ({content: [{token, logprob, top_logprobs}]}) or completions format (parallel lists)."""
    if not isinstance(logprobs, dict):
        return None
    try:
        if isinstance(logprobs.get("content"), list):
            return tuple(Token(t["token"], float(t["logprob"]),
                               {alt["token"]: float(alt["logprob"]) for alt in t.get("top_logprobs") or []})
                         for t in logprobs["content"])
        if isinstance(logprobs.get("tokens"), list):
            tops = logprobs.get("top_logprobs") or [None] * len(logprobs["tokens"])
            return tuple(Token(tok, float(lp), {k: float(v) for k, v in (top or {}).items()})
                         for tok, lp, top in zip(logprobs["tokens"], logprobs["token_logprobs"], tops)
                         if lp is not None)
    except (KeyError, TypeError, ValueError):
        return None
    return None


def probability(logprob: float) -> float:
    return math.exp(logprob) if logprob > -700 else 0.0
