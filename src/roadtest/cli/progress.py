"""Engine events drawn as a rich progress bar, with a per-model tally for the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

import roadtest.api as api


@dataclass
class Tally:
    trials: int = 0
    errors: int = 0
    latency: float = 0.0
    error_kinds: dict[str, int] = field(default_factory=dict)


class ProgressEvents:
    """Implements engine.Events: one bar per model."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.progress = Progress(TextColumn("[bold]{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[errors]} errors"), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=console, disable=quiet)
        self.tasks: dict[str, Any] = {}
        self.tally: dict[str, Tally] = {}

    def __enter__(self) -> "ProgressEvents":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def model_started(self, label: str, total: int | None) -> None:
        self.tally.setdefault(label, Tally())
        self.tasks[label] = self.progress.add_task(label, total=total, errors=0)

    def trial_finished(self, record: dict[str, Any]) -> None:
        label = api.trial_label(record)
        t = self.tally[label]
        t.trials += 1
        t.latency += record.get("latency_s") or 0.0
        if record.get("error"):
            t.errors += 1
            kind = record["error"]["kind"]
            t.error_kinds[kind] = t.error_kinds.get(kind, 0) + 1
        self.progress.update(self.tasks[label], advance=1, errors=t.errors)

    def model_finished(self, model_id: str) -> None:
        pass
