"""Hypothesis files: Markdown with YAML front matter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from roadtest.errors import Problem
from roadtest.load.files import read_text
from roadtest.load.loaded import Loaded, declared_id
from roadtest.load.pydantic_problems import validate_or_salvage
from roadtest.load.yamlsrc import Located, parse_yaml
from roadtest.spec import Hypothesis


@dataclass(frozen=True)
class LoadedHypothesis:
    """A validated hypothesis and where its criteria are written."""

    spec: Hypothesis
    display: str
    src: Located

    def line(self, *loc) -> int:
        return self.src.line(tuple(loc))


def split_front_matter(text: str) -> tuple[str, str] | None:
    """Return (front matter, body) or None when the file has no front matter (lines end at "\\n" only)."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "".join(line + "\n" for line in lines[1:i]), "\n".join(lines[i + 1:])
    return None


def load_hypothesis(path: Path, display: str) -> Loaded:
    text, unread = read_text(path, display)
    if text is None:
        return Loaded(None, unread)
    parts = split_front_matter(text)
    if parts is None:
        return Loaded(None, [Problem(display, 1, "no YAML front matter",
                                     "start the file with a line '---', the id, title and criteria, then another '---'")])
    front, body = parts
    src = parse_yaml(front, display, line_offset=1)
    if src.data is None and src.problems:
        return Loaded(None, src.problems)
    problems = list(src.problems)
    data = src.data if src.data is not None else {}
    if isinstance(data, dict) and "body" in data:
        problems.append(Problem(display, src.line(("body",)), "'body' is not a front-matter key",
                                "write the text below the closing '---'", field="body"))
        data = {k: v for k, v in data.items() if k != "body"}
    spec, more, salvage = validate_or_salvage(Hypothesis, data, src, display, extra={"body": body.strip()})
    problems += more
    if problems:
        checked = spec if spec is not None else (salvage.obj if salvage else None)
        salvaged = LoadedHypothesis(checked, display, src) if checked is not None else None
        return Loaded(None, problems, declared_id(data), salvaged, salvage)
    return Loaded(LoadedHypothesis(spec, display, src), [], spec.id)
