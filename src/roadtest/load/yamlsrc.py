"""YAML with a line number for every key, so problems can say path:line.

Files come from other people, so reading one is bounded: at most MAX_NODES values (an alias counts as a full
copy of what it names, so an "alias bomb" of a few hundred bytes is refused before anything is expanded), at most
MAX_DEPTH levels of nesting, only the standard tags, only plain keys, no value that cannot be text. Every refusal
is a located problem. Lines are counted at "\\n" only, as editors and `grep -n` count them (PyYAML also counts
U+0085, U+2028 and U+2029).

PyYAML's own parser, in Python, is the reference, and was the largest part of reading a workspace: a document is
first read with libyaml's parser (C, through PyYAML, about eight times faster) when its text avoids the few places
where the two parsers differ (see _parse_fast), and that reading is kept only when it is clean; at any problem or
doubt the document is read again the reference way, whose answer (problems and all) is the one given.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from roadtest.errors import Problem

try:
    from yaml._yaml import CParser
except ImportError:           # PyYAML built without libyaml: every document is read the reference way
    CParser = None  # type: ignore[assignment,misc]  # mypy has no spelling for an optional class import

Loc = tuple  # a path into the data: ("criteria", 0, "metric")

MAX_NODES = 10_000
"""Values one YAML document may hold, every use of an alias counted as a copy of what it names."""
MAX_DEPTH = 32
"""Levels of lists and mappings inside each other (roadtest's files need about 5)."""
MAX_INT_DIGITS = 100
"""Digits of a whole number (Python refuses to read more than 4,300 anyway)."""

_CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp",
                                             "merge", "value"))
"""Tags a roadtest file may hold: plain YAML values (implicit, or written as !!str, !!int, ...)."""

_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")
_STRUCTURE_HINT = "write plain `key: value` lines, lists and mappings"


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


class _Refused(Exception):
    """The document is refused at a mark: a message and a hint."""

    def __init__(self, mark: Any, message: str, hint: str) -> None:
        super().__init__(message)
        self.mark, self.message, self.hint = mark, message, hint


class _Bounded:
    """Composing that stops beyond MAX_NODES values or MAX_DEPTH levels (before the stack or memory runs out), and
    construction that says which value a constructor could not build."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if not isinstance(event, yaml.AliasEvent):
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise _Refused(event.start_mark, f"the file holds more than {MAX_NODES:,} values",
                               "roadtest files are small: items belong in a dataset file (JSONL or CSV)")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(event.start_mark, f"lists and mappings are nested more than {MAX_DEPTH} levels deep",
                               _STRUCTURE_HINT)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (_Refused, yaml.YAMLError):
            raise
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:   # e.g. a date 2024-13-45
            raise _Refused(node.start_mark, f"cannot read the value '{_short(node)}': {exc}",
                           "quote it to make it text, or write a valid value") from None


class _Loader(_Bounded, yaml.SafeLoader):
    """The reference reader: PyYAML's SafeLoader, bounded."""

    def fetch_flow_collection_start(self, TokenClass):
        # Refuse deep [[[[... while scanning: PyYAML's scanner would first look ahead over every bracket.
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(self.get_mark(), f"lists and mappings are nested more than {MAX_DEPTH} levels deep",
                           _STRUCTURE_HINT)
        super().fetch_flow_collection_start(TokenClass)


if CParser is not None:
    class _FastLoader(_Bounded, CParser, Composer, SafeConstructor, Resolver):
        """libyaml's parser (events) under PyYAML's composer and constructor, bounded like the reference."""

        get_single_node = Composer.get_single_node      # not CParser's: composing stays in Python, bounded
        check_node = Composer.check_node
        get_node = Composer.get_node

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


class _LineMap:
    """Character offset -> line number, counting '\\n' only."""

    def __init__(self, text: str, offset: int) -> None:
        self._breaks = [m.start() for m in re.finditer("\n", text)]
        self._offset = offset

    def __call__(self, mark: Any) -> int:
        return self.at(getattr(mark, "index", None))

    def at(self, index: int | None) -> int:
        if index is None:
            return 1 + self._offset
        return bisect.bisect_left(self._breaks, index) + 1 + self._offset


def parse_yaml(text: str, path: str, line_offset: int = 0) -> Located:
    """Parse YAML text; on a problem that leaves no usable data, return no data and located problems."""
    fast = _parse_fast(text, path, line_offset)
    return fast if fast is not None else _parse(text, path, line_offset)


_PARSERS_DIFFER = re.compile(r"[\t\ufeff!\x85\u2028\u2029]|[|>][-+0-9]*#")
"""Text libyaml's scanner reads differently from PyYAML's, or may: tabs (libyaml takes some as spaces), a byte
order mark, tags (the bare '!'), the other line breaks, a block scalar's header followed by a comment."""


def _parse_fast(text: str, path: str, line_offset: int) -> Located | None:
    """The document as libyaml's parser reads it, when it is clean (no problem at all) and nothing in it is read
    differently by PyYAML's; None otherwise (the reference reading then decides)."""
    if CParser is None or _PARSERS_DIFFER.search(text):
        return None
    loader = None
    try:
        loader = _FastLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, {}, set())           # first: an alias bomb is refused before anything walks it
        if not _plain_in_both(node, False):
            return None
        located = Located(None, {(): 1 + line_offset})
        walk = _Walk(located, path, _LineMap(text, line_offset))
        walk.node(node, ())
        if walk.fatal or located.problems:
            return None
        located.data = loader.construct_document(node)
        return located
    except Exception:       # noqa: BLE001 - whatever it is, the reference reading says it, located
        return None
    finally:
        if loader is not None:
            loader.dispose()


def _plain_in_both(node: yaml.Node, in_flow: bool) -> bool:
    """No node the two parsers are known to read differently: an empty plain value (libyaml marks it one
    character apart), a plain value inside [ ] or { } holding '?' or ':' (PyYAML ends the value there)."""
    if isinstance(node, yaml.ScalarNode):
        plain = not node.style
        return not (plain and (not node.value or (in_flow and ("?" in node.value or ":" in node.value))))
    in_flow = in_flow or bool(getattr(node, "flow_style", False))
    return all(_plain_in_both(child, in_flow) for child in _children(node))


def _parse(text: str, path: str, line_offset: int) -> Located:
    """The reference reading: PyYAML's parser, every problem located."""
    line_of = _LineMap(text, line_offset)
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return Located(None, {(): 1 + line_offset})
        _measure(node, {}, set())
        located = Located(None, {(): 1 + line_offset})
        walk = _Walk(located, path, line_of)
        walk.node(node, ())
        if walk.fatal:                      # the data could not be built, or must not be
            located.problems += walk.fatal
            return located
        located.data = loader.construct_document(node)
        return located
    except _Refused as exc:
        return Located(None, problems=[Problem(path, line_of(exc.mark), exc.message, exc.hint)])
    except yaml.YAMLError as exc:
        return Located(None, problems=[_syntax_problem(exc, path, line_of)])
    except RecursionError:      # a nesting the limits above did not foresee: still a located answer
        return Located(None, problems=[Problem(path, 1 + line_offset, "the YAML is nested too deeply",
                                               _STRUCTURE_HINT)])
    finally:
        if loader is not None:
            loader.dispose()


def _syntax_problem(exc: yaml.YAMLError, path: str, line_of: _LineMap) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):          # a control character: PyYAML gives its offset
        what = f"a control character (#x{exc.character:04x}) that YAML does not allow" \
            if isinstance(exc.character, int) else str(exc).splitlines()[0]
        return Problem(path, line_of.at(exc.position), what,
                       "remove it, or write it as an escape such as \\t inside double quotes")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return Problem(path, line_of(mark), f"YAML syntax error: {what}",
                   "check indentation, colons and quotes on this line or the one above")


def _measure(node: yaml.Node, memo: dict[int, tuple[int, int]], open_: set[int]) -> tuple[int, int]:
    """(values, depth) of the node with every alias expanded, computed once per node; refuses a cycle, more than
    MAX_NODES values or more than MAX_DEPTH levels."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in open_:
        raise _Refused(node.start_mark, "an alias refers to the list or mapping it is inside (a cycle)",
                       "an alias (*name) may only repeat a value defined before it and outside it")
    open_.add(key)
    size, depth = 1, 0
    for child in _children(node):
        s, d = _measure(child, memo, open_)
        size, depth = size + s, max(depth, d)
        if size > MAX_NODES:
            raise _Refused(node.start_mark, f"this expands to more than {MAX_NODES:,} values (aliases *name repeat "
                           "what they name, and repeats of repeats multiply)",
                           "write the values out, or use fewer aliases: roadtest files are small")
    if depth + 1 > MAX_DEPTH:
        raise _Refused(node.start_mark, f"with its aliases expanded, this nests more than {MAX_DEPTH} levels deep",
                       _STRUCTURE_HINT)
    open_.discard(key)
    memo[key] = (size, depth + 1)
    return memo[key]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


@dataclass
class _Walk:
    """Records the line of every key path, once per node (a node an alias repeats is not walked again), and
    reports duplicate keys, non-standard tags, complex keys and text that cannot be sent."""

    out: Located
    path: str
    line_of: _LineMap
    seen: set = field(default_factory=set)
    fatal: list[Problem] = field(default_factory=list)
    """Problems that leave the document unusable: its data is not built."""

    def node(self, node: yaml.Node, loc: Loc) -> None:
        self.out.lines.setdefault(loc, self.line_of(node.start_mark))
        if id(node) in self.seen:
            return
        self.seen.add(id(node))
        self._tag(node, loc)
        if isinstance(node, yaml.MappingNode):
            self._mapping(node, loc)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.out.lines[loc + (i,)] = self.line_of(item.start_mark)
                self.node(item, loc + (i,))
        elif isinstance(node, yaml.ScalarNode):
            self._scalar(node, loc)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> None:
        keys: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = self.line_of(key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                self._problem(line, f"a {kind} used as a mapping key (`? ...`)",
                              "a key must be plain text, e.g. `name: value`", loc, fatal=True)
                continue
            self._tag(key_node, loc)
            key = key_node.value
            if key in keys:
                self._problem(line, f"key '{key}' appears twice (first on line {keys[key]})", "keep one of them",
                              loc + (key,))
            keys[key] = line
            self.out.lines[loc + (key,)] = line
            self.node(value_node, loc + (key,))

    def _scalar(self, node: yaml.ScalarNode, loc: Loc) -> None:
        line = self.line_of(node.start_mark)
        bad = _UNSENDABLE.search(node.value)
        if bad:
            what = "a NUL character (\\0)" if bad.group() == "\x00" else \
                f"a lone surrogate (\\u{ord(bad.group()):04x}), which is not a character"
            self._problem(line, f"the value '{_short(node)}' holds {what}",
                          "remove the escape; write characters themselves (UTF-8) or a complete \\U escape", loc,
                          fatal=True)
        if node.tag == _CORE + "int" and len(node.value.lstrip("+-0")) > MAX_INT_DIGITS:
            self._problem(line, f"a whole number of {len(node.value):,} digits", "quote it if it is meant as text",
                          loc, fatal=True)

    def _tag(self, node: yaml.Node, loc: Loc) -> None:
        if node.tag not in ALLOWED_TAGS:
            tag = node.tag.replace(_CORE, "!!")
            self._problem(self.line_of(node.start_mark), f"the tag '{tag}' is not allowed in roadtest files",
                          "remove the tag: roadtest reads plain text, numbers, true/false, lists and mappings", loc,
                          fatal=True)

    def _problem(self, line: int, message: str, hint: str, loc: Loc, fatal: bool = False) -> None:
        (self.fatal if fatal else self.out.problems).append(Problem(self.path, line, message, hint, field=_dotted(loc)))


def _short(node: yaml.Node, width: int = 40) -> str:
    text = str(node.value) if isinstance(node, yaml.ScalarNode) else "..."
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\0").replace("\n", "\\n")
    return text if len(text) <= width else text[:width - 3] + "..."


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


dotted = _dotted
