"""Archive -> one score row per trial. Reads only the archive."""

from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from roadtest.scoring.outputs import read_output
from roadtest.scoring.rules import score_output
from roadtest.spec import Scenario

SCORE_COLUMNS = ["trial_id", "model", "scenario", "variant", "item", "repeat", "group", "score", "extracted",
                 "format_ok", "empty", "error", "finish_reason", "latency_s", "tokens_in", "tokens_out"]


def score_record(record: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """Score one archived trial. A failed call scores 0 and keeps its error kind."""
    out = read_output(record)
    error = out.error
    limit = scenario.limits.max_prompt_tokens
    if error is None and limit is not None and out.tokens_in is not None and out.tokens_in > limit:
        error = "prompt_too_long"
    reference = record.get("reference") or {}
    row = {
        "trial_id": record["trial_id"], "model": record["model"], "scenario": record["scenario"],
        "variant": record.get("variant", "base"), "item": str(record["item"]), "repeat": int(record["repeat"]),
        "group": reference.get("group"), "error": error, "finish_reason": out.finish_reason,
        "latency_s": float(record.get("latency_s") or 0.0), "tokens_in": out.tokens_in,
        "tokens_out": out.tokens_out, "empty": False, "format_ok": False, "extracted": None, "score": 0.0,
    }
    if error is None:
        text = out.text or ""
        scored = score_output(text, reference.get("answer"), scenario.scoring)
        row.update(score=scored.value, extracted=scored.extracted, format_ok=scored.format_ok,
                   empty=not text.strip())
    return row


def score_trials(records: Iterable[dict[str, Any]], scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """All trials scored, one row each (the last record wins if a trial id repeats), in a stable order."""
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        scenario = scenarios.get(record.get("scenario"))
        if scenario is not None:
            rows[record["trial_id"]] = score_record(record, scenario)
    frame = pd.DataFrame(list(rows.values()), columns=SCORE_COLUMNS)
    return frame.sort_values("trial_id", kind="stable").reset_index(drop=True)
