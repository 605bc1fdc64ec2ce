"""What loading one file gave, valid or not."""

from __future__ import annotations

import re
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
    source: str = ""
    """The file, as shown in problems (set by the workspace loader)."""

    def keeps(self, problem: Problem) -> bool:
        return self.salvage is None or self.salvage.keeps(problem)


_ID_LINE = re.compile(r"""^id:[ \t]*(["']?)([A-Za-z0-9][A-Za-z0-9._-]{0,63})\1[ \t]*(?:#.*)?$""", re.MULTILINE)


def declared_id(data: Any, text: str = "") -> str | None:
    """The id a file declares; for a file whose YAML could not be read at all, its top-level `id:` line."""
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    found = _ID_LINE.search(text) if data is None else None
    return found.group(2) if found else None
