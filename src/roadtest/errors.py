"""One error family for people: a message and a hint, caught only by the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field


class RoadtestError(Exception):
    """An error meant for a person: what went wrong and what to do next."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one input file, located as precisely as we can."""

    path: str
    line: int
    message: str
    hint: str = field(default="", compare=False)
    field: str = field(default="", compare=False)

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class InputError(RoadtestError):
    """Bad input: one or more problems, all collected before failing once."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        n = len(self.problems)
        super().__init__(
            f"{n} problem{'s' if n != 1 else ''} in the workspace",
            "fix the lines above, then run `roadtest check` again",
        )

    def render(self) -> str:
        body = "\n".join(p.render() for p in self.problems)
        return f"{body}\n{super().render()}"


class RunError(RoadtestError):
    """The run could not finish; what finished is kept in the archive."""

    exit_code = 3


class AlteredArchive(RoadtestError):
    """An archive's own records (trials, plan) changed after the run: nothing is derived from them."""

    exit_code = 1
