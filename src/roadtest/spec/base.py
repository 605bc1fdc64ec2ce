"""The base of every spec model: frozen, no unknown keys, a docstring per field; and the error a broken rule raises."""

from __future__ import annotations

import ast
import inspect
import sys
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError


class Spec(BaseModel):
    """Inert description of what the user wrote. No I/O here. Numbers are finite: YAML's .nan and .inf are refused.

    The docstring under each field documents it; `field_doc` reads it when a hint needs it (pydantic's
    `use_attribute_docstrings` would read the source of every class at import, for text only a hint shows).
    An empty list is a default written `Field(default=[])`: pydantic copies it for each object, and
    `default_factory=list` would have pydantic parse the builtin's signature text at import."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        str_strip_whitespace=False,
        allow_inf_nan=False,
    )


Ident = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
]
"""An identifier: letters, digits, '.', '_' and '-', at most 64 characters."""


def rule_error(code: str, message: str, **context: Any) -> PydanticCustomError:
    """The error a validator raises when a rule of the spec is broken.

    pydantic reports it with `type` = `code`, `msg` = `message` (each `{name}` in it filled from `context`) and
    `ctx` = `context`. The loader finds the fix-it hint by the code (roadtest.load.rule_hints), never by the
    wording, so a message can be reworded freely; a new code needs an entry there (a test says so).
    """
    return PydanticCustomError(code, message, context or None)


def field_doc(model: type[BaseModel], name: str) -> str:
    """The docstring written under field `name` of a spec model (or of the spec class it inherits it from); ""
    when it has none."""
    for cls in model.__mro__:
        if isinstance(cls, type) and issubclass(cls, Spec) and cls is not Spec:
            doc = _class_docs(cls).get(name)
            if doc is not None:
                return doc
    return ""


@lru_cache(maxsize=None)
def _class_docs(cls: type) -> dict[str, str]:
    """Field name -> the string literal right under its annotated assignment, as pydantic's
    `use_attribute_docstrings` reads it (cleaned with inspect.cleandoc)."""
    tree = _module_tree(cls.__module__)
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__qualname__), None) \
        if tree is not None else None
    if node is None:
        return {}
    docs = {}
    for field, doc in zip(node.body, node.body[1:]):
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name) and isinstance(doc, ast.Expr) \
                and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str):
            docs[field.target.id] = inspect.cleandoc(doc.value.value)
    return docs


@lru_cache(maxsize=None)
def _module_tree(module: str) -> ast.Module | None:
    try:
        return ast.parse(inspect.getsource(sys.modules[module]))
    except (KeyError, OSError, TypeError, SyntaxError):
        return None
