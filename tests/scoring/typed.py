"""Hand-made trial records as the typed rows scoring reads (roadtest.archive.schema), and hand-made configurations
as the typed ResolvedConfig RunData is built from."""

from __future__ import annotations

from typing import Any, Iterable

from roadtest.archive.schema import ResolvedConfig, TrialRow, row

REQUEST = {"endpoint": "chat/completions", "body": {}}
"""A record made by hand without its request gets this one (scoring never reads it)."""


def rows(records: Iterable[dict[str, Any]]) -> list[TrialRow]:
    """Each record as its typed row (validated as an archived one would be)."""
    return [row(r if "request" in r else {**r, "request": REQUEST}) for r in records]


def resolved(config: dict[str, Any]) -> ResolvedConfig:
    """A test's configuration dict as the typed configuration, each scenario given the source a run records."""
    scenarios = {sid: {"source": f"scenarios/{sid}.yaml", **entry} for sid, entry in config["scenarios"].items()}
    models = [{k: v for k, v in m.items()} for m in config["models"]]
    return ResolvedConfig.model_validate({**config, "scenarios": scenarios, "models": models})
