"""A finished call as an archive record: request, raw response, latency, usage, error."""

from __future__ import annotations

from typing import Any

import httpx

from roadtest.plan import Trial
from roadtest.providers import Reply


def trial_record(trial: Trial, reply: Reply | None, exc: BaseException | None, latency_s: float,
                 started_at: str, redactor=lambda s: s) -> dict[str, Any]:
    """The archive line for one trial. Failures are data: they become an `error` field."""
    record: dict[str, Any] = {
        "trial_id": trial.id, "model": trial.model, "scenario": trial.scenario, "item": trial.item,
        "repeat": trial.repeat, "variant": trial.variant, "reference": trial.reference,
        "request": {"endpoint": trial.endpoint, "body": trial.body},
        "started_at": started_at, "latency_s": round(latency_s, 6),
        "response": None, "usage": None, "error": None,
    }
    if trial.kind != "model":
        record.update(kind=trial.kind, target=trial.target, purpose=trial.purpose)
    if exc is not None:
        record["error"] = {"kind": _exception_kind(exc), "message": redactor(f"{type(exc).__name__}: {exc}")[:500]}
        return record
    assert reply is not None
    record["response"] = {"status": reply.status, "body": reply.body}
    if reply.body is None:
        record["response"]["text"] = redactor(reply.text or "")[:100_000]
    record["usage"] = reply.body.get("usage") if isinstance(reply.body, dict) else None
    record["error"] = _reply_error(reply, redactor)
    return record


def _exception_kind(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, (httpx.TransportError, OSError)):
        return "connection"
    return "exception"


def _reply_error(reply: Reply, redactor) -> dict[str, str] | None:
    if reply.status >= 400:
        return {"kind": f"http_{reply.status}", "message": redactor(_server_message(reply))[:500]}
    if not isinstance(reply.body, dict):
        return {"kind": "bad_response", "message": "the response body is not a JSON object"}
    choices = reply.body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return {"kind": "bad_response", "message": "the response has no choices"}
    return None


def _server_message(reply: Reply) -> str:
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
