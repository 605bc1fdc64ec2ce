"""`check` judges a plain tool schema without loading jsonschema: what the shortcut calls valid, jsonschema's
metaschema check accepts too (anything else goes to jsonschema, whose answer is the one shown)."""

from __future__ import annotations

import random
from importlib import resources

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from roadtest.conversation.tools import plainly_valid, schema_problem

VALUES = [None, True, False, 0, 1, -1, 2.5, float("nan"), float("inf"), "", "x", "string", "object", "integer",
          "^A[0-9]{3}$", "a(b", "(?=x)", [], ["string"], ["string", "string"], ["string", "null"], ["x"], [1, 2],
          ["a", "a"], ["a", "b"], {}, {"type": "string"}, {"type": 3}]
KEYWORDS = ["type", "description", "title", "$comment", "format", "minLength", "maxLength", "minItems", "maxItems",
            "minProperties", "maxProperties", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
            "properties", "items", "additionalProperties", "required", "enum", "const", "pattern", "$ref",
            "unknownKeyword", "multipleOf", "default", 1]


def _schema(rng: random.Random, depth: int = 0):
    if depth > 2 or rng.random() < 0.1:
        return rng.choice([True, False, {}, rng.choice(VALUES)])
    out = {}
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(KEYWORDS)
        if key == "properties":
            out[key] = {rng.choice(["a", "b", "c"]): _schema(rng, depth + 1) for _ in range(rng.randint(0, 3))}
        elif key in ("items", "additionalProperties"):
            out[key] = _schema(rng, depth + 1)
        else:
            out[key] = rng.choice(VALUES)
    return out


def _accepted(schema) -> bool:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return False
    return True


def test_what_the_shortcut_calls_valid_jsonschema_accepts():
    rng = random.Random(16)
    plain = 0
    for _ in range(4000):
        schema = _schema(rng)
        if plainly_valid(schema):
            plain += 1
            assert _accepted(schema), schema
    assert plain > 400          # the shortcut is taken often enough to be tested


def test_the_init_workspace_tools_are_plain():
    text = resources.files("roadtest").joinpath("init_template/scenarios/order-support.yaml").read_text("utf-8")
    tools = yaml.safe_load(text)["tools"]
    assert tools and all(plainly_valid(t["parameters"]) for t in tools)


@pytest.mark.parametrize("schema, problem", [
    ({"type": "object", "properties": {"a": {"type": "strin"}}},
     "not a valid JSON Schema at properties/a/type: 'strin' is not valid under any of the given schemas"),
    ({"type": "object", "required": ["a", "a"]}, "not a valid JSON Schema at required: ['a', 'a'] has non-unique "
                                                 "elements"),
    ({"type": "object", "properties": {"a": {"pattern": "a("}}}, "not a valid JSON Schema at properties/a/pattern: "
                                                                 "'a(' is not a 'regex'"),
    ({"type": "string"}, "a tool's parameters are an object (type: object), not 'string'"),
    ({"type": "object", "properties": {"a": {"type": "string"}}}, None),
])
def test_schema_problems_read_as_before(schema, problem):
    assert schema_problem(schema) == problem
