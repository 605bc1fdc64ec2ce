"""Turn pydantic validation errors into located, human problems."""

from __future__ import annotations

import copy
import typing
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from roadtest.errors import Problem
from roadtest.load.expected import MODEL_EXAMPLES, Slot, describe, field_example, is_model, resolve, shown, unwrap
from roadtest.load.rule_hints import is_rule, rule_hint
from roadtest.load.yamlsrc import Located, dotted
from roadtest.registry import did_you_mean
from roadtest.spec.base import field_doc

EXPECTED_KINDS = {
    "model_type", "model_attributes_type", "dict_type", "list_type", "string_type", "bool_type", "bool_parsing",
    "int_type", "int_parsing", "int_from_float", "float_type", "float_parsing", "finite_number",
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long",
    "string_too_short", "string_too_long", "string_pattern_mismatch",
}
"""Wrong type or out of range: the message says what was expected and what was found."""


def validate(model: type[BaseModel], data: Any, src: Located, path: str,
             extra: dict | None = None, loc_prefix: tuple = ()) -> tuple[Any, list[Problem]]:
    """Validate `data` against `model`; return (object or None, problems)."""
    obj, problems, _ = validate_or_salvage(model, data, src, path, extra, loc_prefix)
    return obj, problems


@dataclass(frozen=True)
class Salvage:
    """A best-effort object for a file that failed validation: every place that failed was dropped (when it has a
    default) or replaced by a correct example, so the checks after validation still run in the same pass.
    Problems those checks find inside a repaired place are artefacts of the repair and are left out."""

    obj: Any
    repaired: tuple[str, ...]
    """Dotted names of the places that were dropped or replaced."""

    def keeps(self, problem: Problem) -> bool:
        """False for a problem about a repaired place (or inside one)."""
        name = problem.field
        return not name or not any(name == r or name.startswith((r + ".", r + "[")) for r in self.repaired)


MAX_REPAIRS = 6
"""Validation rounds tried while repairing; each round fixes every place the previous one reported."""


def validate_or_salvage(model: type[BaseModel], data: Any, src: Located, path: str, extra: dict | None = None,
                        loc_prefix: tuple = ()) -> tuple[Any, list[Problem], Salvage | None]:
    """(object, [], None) when valid; otherwise (None, every problem, a Salvage or None).

    Problems that only show once the first ones are repaired (a rule across fields whose fields were badly typed,
    say) are reported in the same pass, unless they sit on or around a place that was repaired.
    """
    if not isinstance(data, dict):
        return None, [Problem(path, src.line(loc_prefix),
                              f"expected a mapping of keys for {model.__name__}, found {type(data).__name__}",
                              "write `key: value` lines")], None
    payload = copy.deepcopy(dict(data))
    payload.update(extra or {})
    problems: list[Problem] = []
    repaired: list[tuple] = []
    for _ in range(MAX_REPAIRS):
        try:
            obj = model.model_validate(payload)
        except ValidationError as exc:
            errors = exc.errors()
            locs = [_clean(err["loc"], payload) for err in errors]
            problems += [_problem(model, err, loc, src, path, loc_prefix) for err, loc in zip(errors, locs)
                         if not _near(loc, repaired)]     # the others are artefacts of a repair
            if not all([_repair(payload, model, loc) for loc in locs]):
                return None, problems, None
            repaired += locs
            continue
        if not repaired:
            return obj, [], None
        names = tuple(dotted(loc_prefix + loc) for loc in repaired)
        return None, problems, Salvage(obj, names)
    return None, problems, None


def _clean(loc: tuple, data: Any) -> tuple:
    """The error's location without pydantic's union tags ('function-after[...]'): a part that names a key or
    index of the data is kept (a key may contain '[' too), any other part that looks like a tag is dropped."""
    out = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        elif _is_union_tag(part):
            continue
        else:
            data = None
        out.append(part)
    return tuple(out)


def _near(loc: tuple, repaired: list[tuple]) -> bool:
    """loc is a repaired place, inside one, or around one (a rule over the repaired place's siblings)."""
    return any(loc[:len(r)] == r or r[:len(loc)] == loc for r in repaired)


def _repair(payload: dict, model: type[BaseModel], loc: tuple) -> bool:
    """Drop the value at loc when its field has a default, else put a correct example there."""
    if not loc:
        return False
    parent: Any = payload
    for part in loc[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return False
    key = loc[-1]
    slot = resolve(model, loc)
    if isinstance(parent, dict) and key in parent and (slot.info is None or not slot.info.is_required()) \
            and not slot.in_list:
        del parent[key]
        return True
    example = _example_value(slot)
    if example is None or not isinstance(parent, (dict, list)):
        return False
    if isinstance(parent, list) and not (isinstance(key, int) and key < len(parent)):
        return False
    parent[key] = example
    return True


def _example_value(slot: Slot) -> Any:
    target = unwrap(slot.annotation)
    text = MODEL_EXAMPLES.get(target.__name__) if is_model(target) else None
    if text is None and slot.in_list:
        return None
    text = text or field_example(slot)
    if text is None:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _problem(model: type[BaseModel], err: ErrorDetails, loc: tuple, src: Located, path: str,
             prefix: tuple) -> Problem:
    full = prefix + loc
    name = dotted(full) or model.__name__
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    line = src.line(full)
    slot = resolve(model, loc)
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        return Problem(path, line, f"unknown key '{loc[-1]}'" + (f" in {dotted(prefix + loc[:-1])}" if loc[:-1] or prefix else ""),
                       did_you_mean(str(loc[-1]), known) or "remove it", field=name)
    if kind == "missing":
        return Problem(path, src.line(full[:-1]), f"missing required key '{name}'",
                       _example_hint("add", slot) or "add it", field=name)
    if kind == "literal_error":
        options = _literal_options(slot)
        hint = did_you_mean(str(err.get("input")), options) if options else ""
        return Problem(path, line, f"{name}: expected {describe(slot)}, got {shown(err.get('input'))}",
                       hint or _example_hint("write", slot), field=name)
    if is_rule(kind):
        return _rule_problem(err, msg, src, path, full)
    if kind == "finite_number":
        expected = describe(slot)
        expected = "a finite number" + (expected[len("a number"):] if expected.startswith("a number") else "")
        return Problem(path, line, f"{name}: expected {expected}, got {shown(err.get('input'))}",
                       _example_hint("write", slot), field=name)
    if kind in EXPECTED_KINDS:
        return Problem(path, line, f"{name}: expected {describe(slot)}, got {shown(err.get('input'))}",
                       _example_hint("write", slot, err.get("input")), field=name)
    return Problem(path, line, f"{name}: {msg}" if loc else msg, _example_hint("write", slot), field=name)


def _rule_problem(err: ErrorDetails, msg: str, src: Located, path: str, full: tuple) -> Problem:
    """A rule across fields (model validator) or of one value (field validator): a located problem, hinted by the
    rule's code (the error's type), whatever its wording."""
    sub, hint = rule_hint(err["type"], err.get("input"), err.get("ctx"), lambda sub_loc: src.line(full + sub_loc))
    where = full + sub
    name = dotted(where)
    return Problem(path, src.line(where), f"{name}: {msg}" if name else msg, hint, field=name)


def _example_hint(verb: str, slot: Slot, wrote: Any = None) -> str:
    """`write top_p: 1.0`, or the field's docstring when no example can be derived."""
    example = field_example(slot, wrote)
    if example is not None and slot.name is not None:
        return f"{verb} `{slot.name}: {example}`"
    if slot.owner is not None and slot.name is not None:
        return field_doc(slot.owner, slot.name)
    return ""


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in {"function-after", "function-before"})


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    ann = unwrap(resolve(model, loc).annotation)
    return list(ann.model_fields) if is_model(ann) else []


def _literal_options(slot: Slot) -> list[str]:
    ann = unwrap(slot.annotation)
    if typing.get_origin(ann) is typing.Literal:
        return [str(a) for a in typing.get_args(ann)]
    return []
