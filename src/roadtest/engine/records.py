"""A finished call as an archive record: request, raw response, latency, usage, error, attempts."""

from __future__ import annotations

from typing import Any, Callable

from roadtest.plan import Trial
from roadtest.providers import Reply


def _redacted(body: Any, redactor: Callable[[str], str]) -> Any:
    """The response body without the API key, should a server echo it (error bodies sometimes do).

    A `Redactor` walks the parsed body (every string, dictionary keys included); a plain text function is
    applied to each string the same way, never to the JSON text (where it could rewrite the structure)."""
    if body is None:
        return None
    walk = getattr(redactor, "json", None)
    return walk(body) if walk is not None else _walk(body, redactor)


def _walk(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: _walk(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, redact) for v in value]
    return value


def trial_record(trial: Trial, reply: Reply | None, latency_s: float, started_at: str,
                 error: tuple[str, str] | None = None, attempts: int = 1, waited_s: float = 0.0,
                 redactor: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The archive line for one trial. Failures are data: they become an `error` field.

    `redactor` (given when the model has an API key, a `roadtest.providers.Redactor`) removes the key from
    everything the server sent back and from the error message.
    """
    redact = redactor or (lambda s: s)
    record: dict[str, Any] = {
        "trial_id": trial.id, "model": trial.model, "scenario": trial.scenario, "item": trial.item,
        "repeat": trial.repeat, "variant": trial.variant, "reference": trial.reference,
        "request": {"endpoint": trial.endpoint, "body": trial.body},
        "started_at": started_at, "latency_s": round(latency_s, 6), "attempts": attempts,
        "response": None, "usage": None, "error": None,
    }
    if waited_s:
        record["retry_wait_s"] = round(waited_s, 3)
    if trial.kind == "turn":
        record.update(kind="turn", conversation=trial.conversation, turn=trial.turn, role=trial.role)
    elif trial.kind != "model":
        record.update(kind=trial.kind, target=trial.target, purpose=trial.purpose)
    if trial.level is not None:
        record["level"] = trial.level
    if reply is not None:
        body = reply.body if redactor is None else _redacted(reply.body, redactor)
        record["response"] = {"status": reply.status, "body": body}
        if body is None:
            record["response"]["text"] = redact(reply.text or "")[:100_000]
        record["usage"] = body.get("usage") if isinstance(body, dict) else None
    if error is not None:
        record["error"] = {"kind": error[0], "message": redact(error[1] or "")[:500]}
    return record


def server_message(reply: Reply) -> str:
    """The server's own words about an error, for the archive and the report."""
    body = reply.body
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if body.get("detail"):
            return str(body["detail"])
    return (reply.text or str(body))[:500]
