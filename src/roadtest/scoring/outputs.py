"""What the model said, read from an archived response body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Output:
    """The generated text and its accounting, or the reason there is none."""

    text: str | None
    finish_reason: str | None
    tokens_in: int | None
    tokens_out: int | None
    error: str | None
    """Error kind (timeout, http_500, bad_response, ...) or None."""


def read_output(record: dict[str, Any]) -> Output:
    usage = record.get("usage") or {}
    tokens_in, tokens_out = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
    error = (record.get("error") or {}).get("kind")
    if error:
        return Output(None, None, tokens_in, tokens_out, error)
    body = (record.get("response") or {}).get("body") or {}
    choice = (body.get("choices") or [{}])[0]
    if "message" in choice:
        text = (choice.get("message") or {}).get("content")
    else:
        text = choice.get("text")
    if text is not None and not isinstance(text, str):
        return Output(None, None, tokens_in, tokens_out, "bad_response")
    return Output(text or "", choice.get("finish_reason"), tokens_in, tokens_out, None)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
