"""A finished call as an archive record: request, raw response, latency, usage, error, attempts."""

from __future__ import annotations

from typing import Any

from roadtest.plan import Trial
from roadtest.providers import Reply


def trial_record(trial: Trial, reply: Reply | None, latency_s: float, started_at: str,
                 error: tuple[str, str] | None = None, attempts: int = 1, waited_s: float = 0.0,
                 redactor=lambda s: s) -> dict[str, Any]:
    """The archive line for one trial. Failures are data: they become an `error` field."""
    record: dict[str, Any] = {
        "trial_id": trial.id, "model": trial.model, "scenario": trial.scenario, "item": trial.item,
        "repeat": trial.repeat, "variant": trial.variant, "reference": trial.reference,
        "request": {"endpoint": trial.endpoint, "body": trial.body},
        "started_at": started_at, "latency_s": round(latency_s, 6), "attempts": attempts,
        "response": None, "usage": None, "error": None,
    }
    if waited_s:
        record["retry_wait_s"] = round(waited_s, 3)
    if trial.kind != "model":
        record.update(kind=trial.kind, target=trial.target, purpose=trial.purpose)
    if trial.level is not None:
        record["level"] = trial.level
    if reply is not None:
        record["response"] = {"status": reply.status, "body": reply.body}
        if reply.body is None:
            record["response"]["text"] = redactor(reply.text or "")[:100_000]
        record["usage"] = reply.body.get("usage") if isinstance(reply.body, dict) else None
    if error is not None:
        record["error"] = {"kind": error[0], "message": redactor(error[1] or "")[:500]}
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
