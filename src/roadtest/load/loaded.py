"""What loading one file gave, valid or not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from roadtest.errors import Problem
from roadtest.load.pydantic_problems import Salvage


@dataclass(frozen=True)
class Loaded:
    """What loading one file gave: the object when valid, every problem, and the id the file declares (so a file
    that failed does not also make every reference to it an "unknown" one)."""

    obj: Any
    problems: list[Problem]
    declared_id: str | None = None
    salvaged: Any = None
    """For a file that failed: a best-effort object, so cross-file checks still run in the same pass."""
    salvage: Salvage | None = None

    def keeps(self, problem: Problem) -> bool:
        return self.salvage is None or self.salvage.keeps(problem)


def declared_id(data: Any) -> str | None:
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
