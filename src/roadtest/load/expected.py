"""What a spec field expects, in the user's words, and a correct example to show in a hint."""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Optional

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

MODEL_EXAMPLES: dict[str, str] = {
    "DatasetRef": "{path: items.jsonl, id: id}",
    "FewShot": "{k: 3, seed: 1234, pool: train.jsonl}",
    "Prompt": '{template: "Question: {{ question }}\\nAnswer:"}',
    "Sampling": "{temperature: 0.0, top_p: 1.0, seed: 7}",
    "Limits": "{max_new_tokens: 64}",
    "Judge": '{model: gpt-4o-mini, rubric: "The reply answers the question politely."}',
    "Scoring": "{rule: exact, answer: answer}",
    "Policy": '{forbid: ["(?i)full refund guaranteed"]}',
    "Counterfactuals": "{field: text, swap: names}",
    "SamplingOverride": "{temperature: 0.7}",
    "FewShotOverride": "{k: 0}",
    "PromptOverride": '{system: "Answer in one word."}',
    "Variant": "{name: warm, sampling: {temperature: 0.7}}",
    "Versus": "{model: gemma3-270m, by_at_least: 0.02}",
    "Margin": "{model: gemma3-270m, margin: 0.02}",
    "Load": "{concurrency: 6}",
    "Criterion": "{scenario: ticket-triage, metric: accuracy, at_least: 0.85}",
    "Price": "{input_per_mtok: 0.15, output_per_mtok: 0.60}",
    "ModelSpec": "{id: smollm2-135m, provider: local, gguf: smollm2-135m-instruct}",
    "ReportSettings": "{title: Decision document, formats: [html, pdf]}",
}
"""A correct value of each spec model, in YAML flow style."""

FIELD_EXAMPLES: dict[tuple[str, str], str] = {
    ("DatasetRef", "path"): "items.jsonl",
    ("DatasetRef", "id"): "id",
    ("DatasetRef", "group"): "product",
    ("DatasetRef", "strata"): "product",
    ("DatasetRef", "cluster"): "document",
    ("Margin", "margin"): "0.02",
    ("FewShot", "pool"): "train.jsonl",
    ("Prompt", "template"): '"Question: {{ question }}\\nAnswer:"',
    ("Prompt", "system"): '"Answer with one word."',
    ("PromptOverride", "template"): '"Q: {{ question }}\\nA:"',
    ("PromptOverride", "system"): '"Answer in one word."',
    ("Limits", "stop"): '["\\n"]',
    ("Judge", "model"): "gpt-4o-mini",
    ("Judge", "rubric"): '"The reply answers the question politely."',
    ("Scoring", "answer"): "answer",
    ("Scoring", "choices"): "[billing, shipping, account]",
    ("Policy", "forbid"): '["(?i)full refund guaranteed"]',
    ("Policy", "require"): '["sorry"]',
    ("Policy", "must_refuse"): "unsafe",
    ("Counterfactuals", "field"): "text",
    ("Variant", "name"): "warm",
    ("Scenario", "id"): "ticket-triage",
    ("Scenario", "success"): '"The assistant routes a support ticket to the right queue."',
    ("Scenario", "metrics"): "[accuracy, latency]",
    ("Scenario", "perturbations"): "[typos, lowercase]",
    ("Versus", "model"): "gemma3-270m",
    ("Criterion", "scenario"): "ticket-triage",
    ("Criterion", "metric"): "accuracy",
    ("Criterion", "at_least"): "0.85",
    ("Criterion", "at_most"): "2.0",
    ("Criterion", "slice"): "billing",
    ("Hypothesis", "id"): "support-traffic-3x",
    ("Hypothesis", "title"): '"Support traffic triples next quarter"',
    ("Hypothesis", "roadmap"): '"Q3 self-serve launch"',
    ("Hypothesis", "owner"): "support-platform",
    ("Price", "input_per_mtok"): "0.15",
    ("Price", "output_per_mtok"): "0.60",
    ("ModelSpec", "id"): "smollm2-135m",
    ("ModelSpec", "gguf"): "smollm2-135m-instruct",
    ("ModelSpec", "base_url"): "https://api.openai.com/v1",
    ("ModelSpec", "api_key_env"): "OPENAI_API_KEY",
    ("ModelSpec", "model"): "gpt-4o-mini",
    ("ReportSettings", "title"): '"Model selection: decision document"',
    ("Workspace", "name"): "support assistant",
    ("Workspace", "runs_dir"): "runs",
}
"""Examples for fields whose type alone does not suggest a good value."""


@dataclass(frozen=True)
class Slot:
    """Where an error points inside a spec model: the field, and the type at that exact place."""

    owner: Optional[type[BaseModel]]
    name: Optional[str]
    info: Optional[FieldInfo]
    annotation: Any
    in_list: bool = False
    """The error points at one item of the field's list, not at the field."""


def resolve(model: type[BaseModel], loc: tuple) -> Slot:
    """Walk field annotations along loc."""
    slot = Slot(None, None, None, model)
    for part in loc:
        current = unwrap(slot.annotation)
        if isinstance(part, int):
            args = typing.get_args(current)
            slot = Slot(slot.owner, slot.name, slot.info, args[0] if args else Any, True)
        elif isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            info = current.model_fields[part]
            slot = Slot(current, part, info, info.annotation)
        else:
            return Slot(None, None, None, None)
    return slot


def unwrap(ann: Any) -> Any:
    """Optional[X] -> X, Annotated[X, ...] -> X."""
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return unwrap(typing.get_args(ann)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return unwrap(args[0]) if len(args) == 1 else ann
    return ann


def is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def describe(slot: Slot) -> str:
    """What the place expects: 'a number greater than 0 and at most 1', 'a mapping like {...}'."""
    meta = () if slot.in_list or slot.info is None else tuple(slot.info.metadata)
    ann = unwrap(slot.annotation)
    if typing.get_origin(ann) is typing.Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(ann))
    if is_model(ann):
        ex = MODEL_EXAMPLES.get(ann.__name__)
        return f"a mapping like {ex}" if ex else "a mapping of `key: value` lines"
    if typing.get_origin(ann) is list:
        ex = field_example(slot) if not slot.in_list else None
        return "a list" + (f" like {ex}" if ex else "") + _length(meta)
    if ann is bool:
        return "true or false"
    if ann is int:
        return "a whole number" + _bounds(meta)
    if ann is float:
        return "a number" + _bounds(meta)
    if ann is str:
        if any(getattr(m, "pattern", None) for m in meta):
            return "an id (up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)"
        return "non-empty text" if any(getattr(m, "min_length", 0) for m in meta) else "text"
    return "a valid value"


def _bounds(meta: tuple) -> str:
    lo = next((("at least", m.ge) for m in meta if isinstance(m, at.Ge)), None) or \
        next((("greater than", m.gt) for m in meta if isinstance(m, at.Gt)), None)
    hi = next((("at most", m.le) for m in meta if isinstance(m, at.Le)), None) or \
        next((("less than", m.lt) for m in meta if isinstance(m, at.Lt)), None)
    if lo and hi and lo[0] == "at least" and hi[0] == "at most":
        return f" between {lo[1]:g} and {hi[1]:g}"
    parts = [f"{word} {value:g}" for word, value in (b for b in (lo, hi) if b)]
    return (" " + " and ".join(parts)) if parts else ""


def _length(meta: tuple) -> str:
    parts = []
    for m in meta:
        if isinstance(m, at.MinLen) and m.min_length:
            parts.append(f"at least {m.min_length} item{'s' if m.min_length != 1 else ''}")
        if isinstance(m, at.MaxLen):
            parts.append(f"at most {m.max_length} items")
    return (" with " + " and ".join(parts)) if parts else ""


SCALAR_KEYS: dict[str, str] = {"DatasetRef": "path", "Prompt": "template"}
"""Mappings often written as a bare value by mistake, and the key that value belongs under."""


def field_example(slot: Slot, wrote: Any = None) -> str | None:
    """A correct value for the whole field the slot is in, as YAML (built from what was written when possible)."""
    target = unwrap(slot.annotation)
    if not slot.in_list and is_model(target) and target.__name__ in SCALAR_KEYS and isinstance(wrote, str):
        return f"{{{SCALAR_KEYS[target.__name__]}: {yaml_scalar(wrote)}}}"
    if slot.owner is None or slot.name is None or slot.info is None:
        return None
    known = FIELD_EXAMPLES.get((slot.owner.__name__, slot.name))
    if known:
        return known
    return _derive(slot.info.annotation, slot.info)


def _derive(annotation: Any, info: FieldInfo | None) -> str | None:
    ann = unwrap(annotation)
    default = info.default if info is not None else PydanticUndefined
    if typing.get_origin(ann) is typing.Literal:
        options = [str(a) for a in typing.get_args(ann)]
        return default if default in options else options[0]
    if is_model(ann):
        return MODEL_EXAMPLES.get(ann.__name__)
    if typing.get_origin(ann) is list:
        args = typing.get_args(ann)
        item = _derive(args[0], None) if args else None
        return f"[{item}]" if item else None
    if ann is bool:
        return "true"
    if ann in (int, float):
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            return str(default)
        meta = tuple(info.metadata) if info is not None else ()
        for m in meta:
            if isinstance(m, at.Ge):
                return str(ann(m.ge))
        for m in meta:
            if isinstance(m, at.Le):
                return str(ann(m.le))
        return "1" if ann is int else "0.5"
    if ann is str and isinstance(default, str) and default:
        return yaml_scalar(default)
    return None


def yaml_scalar(text: str) -> str:
    """A string as a YAML value, quoted when plain style would change its meaning."""
    if not text or text != text.strip() or any(c in text for c in ":#{}[],&*!|>'\"%@`\n"):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def shown(value: Any) -> str:
    """A value the user wrote, briefly, for `got ...`."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return "'" + text.replace("\n", "\\n") + "'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)) and not value:
        return "an empty list"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    return type(value).__name__
