"""YAML with a line number for every key, so problems can say path:line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from roadtest.errors import Problem

Loc = tuple  # a path into the data: ("criteria", 0, "metric")


@dataclass
class Located:
    """Parsed YAML data, the line of every key path, and the problems found."""

    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line(self, loc: Loc, default: int = 1) -> int:
        """Line of the longest prefix of `loc` that we know."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), default)


def parse_yaml(text: str, path: str, line_offset: int = 0) -> Located:
    """Parse YAML text; on a syntax error return no data and one located problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = (mark.line + 1 + line_offset) if mark else 1 + line_offset
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return Located(
            None,
            problems=[Problem(path, line, f"YAML syntax error: {what}",
                              "check indentation, colons and quotes on this line or the one above")],
        )
    located = Located(None, {(): 1 + line_offset})
    if node is None:
        return located
    _walk(node, (), located, path, line_offset)
    located.data = yaml.safe_load(text)
    return located


def _walk(node: yaml.Node, loc: Loc, out: Located, path: str, offset: int) -> None:
    out.lines.setdefault(loc, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1 + offset
            if key in seen:
                out.problems.append(Problem(
                    path, line, f"key '{key}' appears twice (first on line {seen[key]})",
                    "keep one of them", field=_dotted(loc + (key,))))
            seen[key] = line
            out.lines[loc + (key,)] = line
            _walk(value_node, loc + (key,), out, path, offset)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.lines[loc + (i,)] = item.start_mark.line + 1 + offset
            _walk(item, loc + (i,), out, path, offset)


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


dotted = _dotted
