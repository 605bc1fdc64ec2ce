"""Declarative tools: a lookup in a table, or an action recorded in the conversation's state.

Arguments are validated against the tool's JSON Schema (the `jsonschema` library; `pattern` runs on RE2, so a
workspace's pattern cannot backtrack catastrophically on a model's arguments). An unknown tool, arguments that are
not JSON or do not satisfy the schema come back to the model as an error result and are counted, never a crash.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Iterable

from roadtest.patterns import PatternError, compile_pattern
from roadtest.sandbox import render_text
from roadtest.spec.scenario import Tool

MAX_RESULT_CHARS = 4000
"""A tool result longer than this is cut (a huge table row would fill the model's context)."""
MAX_ARGUMENT_CHARS = 20_000
"""Arguments longer than this are refused as invalid (a model looping on one string)."""


def _re2_pattern(validator, pattern, instance, schema):
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "string"):
        return
    try:
        compiled = compile_pattern(pattern)
    except PatternError as exc:
        yield ValidationError(f"pattern {pattern!r} cannot run: {exc}")
        return
    if compiled.search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@lru_cache(maxsize=1)
def validator_class() -> Any:
    """Draft 2020-12 with `pattern` on RE2 (jsonschema is imported here, when arguments are first checked: a
    `roadtest check` whose schemas are plain never loads it)."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"pattern": _re2_pattern})


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a JSON Schema of a tool's arguments, or None."""
    if not isinstance(schema, dict):
        return "parameters must be a JSON Schema object"
    if not plainly_valid(schema):
        problem = _metaschema_problem(schema)
        if problem is not None:
            return problem
    if schema.get("type", "object") != "object":
        return f"a tool's parameters are an object (type: object), not {schema.get('type')!r}"
    for key, value in _keywords(schema):
        if key == "$ref" and not (isinstance(value, str) and value.startswith("#")):
            return "parameters may only $ref inside themselves ('#/...'): nothing is fetched"
        if key == "$ref" and (value in ("#", "#/") or _pointer(schema, value) is None):
            return f"$ref {value!r} does not name a part of the schema (or names all of it: a loop)"
        if key in ("$dynamicRef", "$recursiveRef"):
            return f"{key} is not supported (use $ref to a part of the schema)"
        if key == "patternProperties":
            return "patternProperties is not supported (name the properties)"
    return None


def _metaschema_problem(schema: dict) -> str | None:
    """Where and why the schema breaks the JSON Schema 2020-12 metaschema (jsonschema's check), or None."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top)"
        return f"not a valid JSON Schema at {where}: {exc.message}"
    return None


SIMPLE_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_TEXT_KEYWORDS = frozenset({"description", "title", "$comment", "format"})
_COUNT_KEYWORDS = frozenset({"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"})
_BOUND_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


def plainly_valid(schema: Any) -> bool:
    """True for a schema made only of the keywords tools usually have, each with a value the 2020-12 metaschema
    takes (checked here, without loading jsonschema). False means "not sure": jsonschema decides."""
    if isinstance(schema, bool):
        return True
    return isinstance(schema, dict) and all(_plain_keyword(key, value) for key, value in schema.items())


def _plain_keyword(key: Any, value: Any) -> bool:
    if key == "type":
        names = value if isinstance(value, list) and value else [value]
        return all(isinstance(n, str) and n in SIMPLE_TYPES for n in names) and len(set(names)) == len(names)
    if key in _TEXT_KEYWORDS:
        return isinstance(value, str)
    if key in _COUNT_KEYWORDS:
        return type(value) is int and value >= 0
    if key in _BOUND_KEYWORDS:
        return type(value) in (int, float) and math.isfinite(value)
    if key == "properties":
        return isinstance(value, dict) and all(isinstance(k, str) and plainly_valid(v) for k, v in value.items())
    if key in ("items", "additionalProperties"):
        return plainly_valid(value)
    if key == "required":
        return isinstance(value, list) and all(isinstance(v, str) for v in value) and len(set(value)) == len(value)
    if key == "enum":
        return isinstance(value, list) and all(_plain_value(v) for v in value)
    if key == "const":
        return _plain_value(value)
    if key == "pattern":
        return isinstance(value, str) and _python_regex(value)
    return False


def _plain_value(value: Any) -> bool:
    return value is None or type(value) in (str, int, bool) or (type(value) is float and math.isfinite(value))


def _python_regex(pattern: str) -> bool:
    """The pattern compiles with Python's re, as the metaschema's `format: regex` asks."""
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        return False
    return True


def _pointer(schema: Any, ref: str) -> Any:
    """What a local JSON pointer ('#/$defs/x') names, or None."""
    node = schema
    for part in ref.removeprefix("#").strip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


_DATA = ("description", "title", "default", "examples", "enum", "const", "$comment")
"""Keywords whose value is data, not schema (a description may say anything)."""


def _keywords(schema: Any):
    """(keyword, value) of every subschema, without reading property names or data values as keywords."""
    if isinstance(schema, list):
        for item in schema:
            yield from _keywords(item)
        return
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        yield key, value
        if key in _DATA:
            continue
        if key in ("properties", "$defs", "definitions", "dependentSchemas") and isinstance(value, dict):
            for sub in value.values():
                yield from _keywords(sub)
        else:
            yield from _keywords(value)


@dataclass(frozen=True)
class ToolResult:
    """One tool call as executed: what was asked, whether it was valid, what came back."""

    call_id: str
    name: str
    arguments: Any
    """The parsed arguments (a dict when valid), or the raw text when they were not JSON."""
    valid: bool
    """The tool exists and the arguments satisfy its schema."""
    result: str
    """What the model is told."""
    error: str | None = None
    """unknown_tool | bad_json | invalid_arguments | not_found (a valid lookup that found nothing), else None."""
    ends: bool = False
    """An `ends: true` action: the conversation is over."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ToolResult":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class ToolBox:
    """The tools of one scenario, with the lookup tables the run archived (tool name -> key value -> row)."""

    def __init__(self, tools: Iterable[Tool], tables: dict[str, dict[str, Any]] | None = None) -> None:
        self.tools = {t.name: t for t in tools}
        self.tables = tables or {}
        self._validators = {name: validator_class()(t.parameters) for name, t in self.tools.items()}

    def openai_tools(self) -> list[dict[str, Any]]:
        """The tools as the OpenAI `tools` request field."""
        return [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                  "parameters": t.parameters}} for t in self.tools.values()]

    def signatures(self) -> list[str]:
        """One line per tool for the text protocol: name(arg: type, ...): description."""
        out = []
        for t in self.tools.values():
            props = t.parameters.get("properties") or {}
            required = set(t.parameters.get("required") or [])
            args = ", ".join(f"{k}{'' if k in required else '?'}: {(v or {}).get('type', 'any')}"
                             for k, v in props.items() if isinstance(v, dict))
            out.append(f"- {t.name}({args}): {t.description}")
        return out

    def call(self, call_id: str, name: Any, arguments: Any) -> ToolResult:
        """Execute one call the model made; `arguments` is a JSON string (chat protocol) or a parsed value."""
        name = str(name) if name is not None else ""
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(self.tools) or "none"
            return ToolResult(call_id, name[:200], _short(arguments), False,
                              f"Error: there is no tool named {name[:80]!r} (tools: {known}).", "unknown_tool")
        parsed = arguments
        if isinstance(arguments, str):
            if len(arguments) > MAX_ARGUMENT_CHARS:
                return ToolResult(call_id, name, arguments[:200], False, "Error: the arguments are too long.",
                                  "invalid_arguments")
            try:
                parsed = json.loads(arguments, parse_constant=_no_constant) if arguments.strip() else {}
            except (ValueError, RecursionError):
                return ToolResult(call_id, name, arguments[:2000], False,
                                  "Error: the arguments are not valid JSON.", "bad_json")
        elif arguments is not None and _too_long(arguments):   # parsed already (the text protocol's action)
            return ToolResult(call_id, name, _argument_preview(arguments), False, "Error: the arguments are too long.",
                              "invalid_arguments")
        if parsed is None:
            parsed = {}
        errors = [] if isinstance(parsed, dict) else ["arguments must be a JSON object"]
        if not errors:
            try:
                found = sorted(self._validators[name].iter_errors(parsed),   # sorted: jsonschema walks sets
                               key=lambda e: ([str(p) for p in e.absolute_path], str(e.validator), e.message))
                errors = [e.message for e in found][:3]
            except Exception as exc:  # noqa: BLE001 - a schema that cannot run (an archive from elsewhere) refuses
                errors = [f"the tool's schema cannot check them ({type(exc).__name__})"]
        if errors:
            return ToolResult(call_id, name, _short(parsed), False,
                              f"Error: invalid arguments for {name}: {'; '.join(e[:200] for e in errors)}.",
                              "invalid_arguments")
        if tool.lookup is not None:
            key = parsed.get(tool.lookup.key)
            row = self.tables.get(name, {}).get(_key(key))
            if row is None:
                return ToolResult(call_id, name, parsed, True,
                                  json.dumps({"error": f"no {tool.lookup.key} {_key(key)!r} found"}), "not_found")
            return ToolResult(call_id, name, parsed, True, _cut(json.dumps(row, sort_keys=True, ensure_ascii=False)))
        action = tool.action
        assert action is not None           # a tool has a lookup or an action (the spec checks: exactly one)
        try:
            text = render_text(action.result, {k: v for k, v in parsed.items() if isinstance(k, str)})
        except Exception:  # noqa: BLE001 - an argument the template lacks: the template's own text, unrendered
            text = action.result
        return ToolResult(call_id, name, parsed, True, _cut(text), None, action.ends)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _key(value: Any) -> str:
    """Table keys compare as text ('1234' and 1234 are the same order)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value)


def table_index(rows: Iterable[dict[str, Any]], key: str) -> dict[str, Any]:
    """key value -> row (the first row wins when a key repeats)."""
    out: dict[str, Any] = {}
    for row in rows:
        out.setdefault(_key(row.get(key)), row)
    return out


def _cut(text: str) -> str:
    return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + " …"


def _short(value: Any) -> Any:
    if isinstance(value, str):
        return value[:2000]
    return value


def _too_long(value: Any) -> bool:
    """Parsed arguments whose JSON text is longer than MAX_ARGUMENT_CHARS (or too deep to write)."""
    try:
        return len(json.dumps(value, ensure_ascii=False, default=str)) > MAX_ARGUMENT_CHARS
    except (ValueError, RecursionError, TypeError):
        return True


def _argument_preview(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:200]
    except (ValueError, RecursionError, TypeError):
        return str(type(value).__name__)
