"""Turn pydantic validation errors into located, human problems."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from roadtest.errors import Problem
from roadtest.load.yamlsrc import Located, dotted
from roadtest.registry import did_you_mean


def validate(model: type[BaseModel], data: Any, src: Located, path: str,
             extra: dict | None = None, loc_prefix: tuple = ()) -> tuple[Any, list[Problem]]:
    """Validate `data` against `model`; return (object or None, problems)."""
    if not isinstance(data, dict):
        return None, [Problem(path, src.line(loc_prefix),
                              f"expected a mapping of keys for {model.__name__}, found {type(data).__name__}",
                              "write `key: value` lines")]
    payload = dict(data)
    payload.update(extra or {})
    try:
        return model.model_validate(payload), []
    except ValidationError as exc:
        return None, [_problem(model, err, src, path, loc_prefix) for err in exc.errors()]


def _problem(model: type[BaseModel], err: dict, src: Located, path: str, prefix: tuple) -> Problem:
    loc = tuple(part for part in err["loc"] if not _is_union_tag(part))
    full = prefix + loc
    name = dotted(full) or model.__name__
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    line = src.line(full)
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        return Problem(path, line, f"unknown key '{loc[-1]}'" + (f" in {dotted(prefix + loc[:-1])}" if loc[:-1] or prefix else ""),
                       did_you_mean(str(loc[-1]), known) or "remove it", field=name)
    if kind == "missing":
        return Problem(path, src.line(full[:-1]), f"missing required key '{name}'",
                       _field_doc(model, loc) or "add it", field=name)
    if kind == "literal_error":
        expected = _literal_options(model, loc)
        hint = did_you_mean(str(err.get("input")), expected) if expected else ""
        return Problem(path, line, f"{name}: {msg}", hint, field=name)
    if kind == "value_error":  # a rule across fields: the message says what to do
        return Problem(path, line, f"{name}: {msg}" if loc else msg, "", field=name)
    return Problem(path, line, f"{name}: {msg}" if loc else msg, _field_doc(model, loc), field=name)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in {"function-after", "function-before"})


def _resolve(model: type[BaseModel], loc: tuple) -> tuple[type[BaseModel] | None, Any]:
    """Walk field annotations along loc; return (owning model, final annotation)."""
    current: Any = model
    owner: type[BaseModel] | None = None
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else Any
            continue
        if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            owner = current
            current = current.model_fields[part].annotation
        else:
            return None, None
    return owner, current


def _unwrap(ann: Any) -> Any:
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return args[0] if len(args) == 1 else ann
    return ann


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    if not loc:
        return list(model.model_fields)
    _, ann = _resolve(model, loc)
    ann = _unwrap(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return list(ann.model_fields)
    return []


def _literal_options(model: type[BaseModel], loc: tuple) -> list[str]:
    _, ann = _resolve(model, loc)
    ann = _unwrap(ann)
    if typing.get_origin(ann) is typing.Literal:
        return [str(a) for a in typing.get_args(ann)]
    return []


def _field_doc(model: type[BaseModel], loc: tuple) -> str:
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return ""
    owner, _ = _resolve(model, loc)
    if owner is None or names[-1] not in owner.model_fields:
        return ""
    return owner.model_fields[names[-1]].description or ""
