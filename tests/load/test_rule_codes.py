"""The spec's rules raise errors with a code, and the loader finds each fix-it hint by that code, never by the
message's wording: every code has a hint or is declared hint-less, and rewording every message keeps every hint."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import roadtest.spec
from roadtest.load.pydantic_problems import validate_or_salvage
from roadtest.load.rule_hints import HINTLESS, HINTS
from roadtest.load.yamlsrc import parse_yaml
from roadtest.spec import Hypothesis, Scenario, Workspace
from roadtest.spec.base import Spec, field_doc

SPEC_DIR = Path(roadtest.spec.__file__).parent
SPEC_MODULES = [importlib.import_module(f"roadtest.spec.{m.name}") for m in pkgutil.iter_modules([str(SPEC_DIR)])]


def _codes_in(node: ast.AST) -> set[str]:
    """The string constants a rule_error call can pass as its code (a conditional expression gives two)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _codes_in(node.body) | _codes_in(node.orelse)
    raise AssertionError(f"rule_error's code must be written as a string literal, line {node.lineno}")


def spec_codes() -> set[str]:
    """Every code a validator in roadtest/spec can raise."""
    found: set[str] = set()
    for path in SPEC_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "rule_error":
                found |= _codes_in(node.args[0])
    return found


def test_every_code_has_a_hint_or_is_declared_hintless():
    codes = spec_codes()
    assert len(codes) > 25
    assert not HINTS.keys() & HINTLESS
    assert codes - HINTS.keys() - HINTLESS == set(), "give each new code a hint in load/rule_hints.py, or list it " \
                                                       "in HINTLESS"
    assert (HINTS.keys() | HINTLESS) - codes == set(), "a hint for a code no validator raises"


def test_no_validator_raises_a_bare_value_error():
    """A plain ValueError would reach the loader without a code, so without a hint."""
    for path in SPEC_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.decorator_list):
            names = {getattr(d.func if isinstance(d, ast.Call) else d, "id", "") for d in fn.decorator_list}
            if names & {"model_validator", "field_validator"}:
                raised = [n for n in ast.walk(fn) if isinstance(n, ast.Raise) and n.exc is not None]
                assert all(isinstance(r.exc, ast.Call) and getattr(r.exc.func, "id", "") == "rule_error"
                           for r in raised), f"{path.name}: {fn.name} raises without rule_error"


SC = "id: s\nsuccess: The assistant answers.\ndataset: {path: items.jsonl}\n"
SINGLE = SC + 'prompt: {template: "Q: {{ question }}"}\n'
EXACT = SINGLE + "scoring: {rule: exact, answer: a}\n"
CONV = SC + "kind: conversation\nprompt: {system: hi}\nscoring: {rule: end_state, expect: exp}\nuser: {script: turns}\n"
CRIT = "id: h\ntitle: T\ncriteria:\n  - "
MODEL = "models:\n  - {id: a, provider: local, gguf: smollm2-135m-instruct}\n"
TOOL = "tools:\n  - {name: t, description: d, "

CASES = {
    "scoring_needs_choices": (Scenario, SINGLE + "scoring: {rule: choice, answer: a}\n"),
    "scoring_choices_unused": (Scenario, SINGLE + "scoring: {rule: exact, answer: a, choices: [x]}\n"),
    "scoring_needs_judge": (Scenario, SINGLE + "scoring: {rule: judge}\n"),
    "scoring_needs_actions": (Scenario, SC + "kind: conversation\nuser: {script: t}\nscoring: {rule: end_state}\n"),
    "scoring_actions_unused": (Scenario, SINGLE + "scoring: {rule: exact, answer: a, forbid: f}\n"),
    "scoring_needs_answer": (Scenario, SINGLE + "scoring: {rule: regex}\n"),
    "scenario_single_with_turns": (Scenario, EXACT + "user: {script: t}\n"),
    "scenario_single_needs_template": (Scenario, SC + "scoring: {rule: exact, answer: a}\n"),
    "scenario_single_end_state": (Scenario, SINGLE + "scoring: {rule: end_state, expect: e}\n"),
    "scenario_conversation_needs_user": (Scenario, SC + "kind: conversation\nscoring: {rule: end_state, expect: e}\n"),
    "scenario_conversation_rule": (Scenario, SC + "kind: conversation\nuser: {script: t}\n"
                                              "scoring: {rule: exact, answer: a}\n"),
    "scenario_conversation_variations": (Scenario, CONV + "counterfactuals: {field: f, swap: names}\n"),
    "scenario_conversation_fewshot": (Scenario, CONV.replace("{system: hi}",
                                                             "{system: hi, fewshot: {k: 1, pool: p}}")),
    "scenario_tool_names": (Scenario, CONV + TOOL + "action: {}}\n  - {name: u, description: d, action: {}}\n"
                                               "  - {name: t, description: e, action: {}}\n"),
    "scenario_conversation_judge": (Scenario, CONV + "policy: {judge: {model: a, rubric: r}}\n"),
    "scenario_conversation_must_refuse": (Scenario, CONV + "policy: {must_refuse: unsafe}\n"),
    "scenario_success_sentences": (Scenario, EXACT.replace("The assistant answers.", "It works. It is fast.")),
    "scenario_variant_names": (Scenario, EXACT + "variants:\n  - {name: w}\n  - {name: x}\n  - {name: w}\n"),
    "user_script_and_simulator": (Scenario, CONV.replace("{script: turns}",
                                                         "{script: t, simulator: {model: a, system: s}}")),
    "user_no_script_or_simulator": (Scenario, CONV.replace("{script: turns}", "{max_turns: 3}")),
    "user_empty_stop": (Scenario, CONV.replace("{script: turns}", '{script: turns, stop: [bye, " "]}')),
    "tool_lookup_and_action": (Scenario, CONV + TOOL + "action: {}, lookup: {table: o.jsonl, key: k}}\n"),
    "tool_no_lookup_or_action": (Scenario, CONV + TOOL[:-2] + "}\n"),
    "policy_no_rule": (Scenario, EXACT + "policy: {}\n"),
    "pattern_invalid": (Scenario, EXACT + "policy: {forbid: ['a(b', 'ok', '(?=x)y']}\n"),
    "dataset_group_and_strata": (Scenario, EXACT.replace("{path: items.jsonl}",
                                                         "{path: i.jsonl, group: g, strata: s}")),
    "criterion_one_claim": (Hypothesis, CRIT + "{scenario: s, metric: accuracy, at_least: 0.5, versus: {model: b}}\n"),
    "criterion_robust_threshold": (Hypothesis, CRIT + "{scenario: s, metric: accuracy, at_least: 0.5, "
                                                      "robust_to_settings: true}\n"),
    "load_one_level": (Hypothesis, CRIT + "{scenario: s, metric: latency_p95_s, at_most: 2, load: {}}\n"),
    "load_rps_digits": (Hypothesis, CRIT + "{scenario: s, metric: latency_p95_s, at_most: 2, load: {rps: 2.1234567}}\n"),
    "workspace_model_twice": (Workspace, MODEL + "  - {id: b, provider: openai, base_url: http://x/v1}\n"
                                                 "  - {id: a, provider: local, gguf: x.gguf}\n"),
    "model_needs_gguf": (Workspace, "models:\n  - {id: a, provider: local}\n"),
    "model_local_base_url": (Workspace, "models:\n  - {id: a, provider: local, gguf: g, base_url: http://x}\n"),
    "model_needs_base_url": (Workspace, "models:\n  - {id: a, provider: openai}\n"),
    "model_openai_replicas": (Workspace, "models:\n  - {id: a, provider: openai, base_url: http://x/v1, replicas: 2}\n"),
    "model_base_url_twice": (Workspace, "models:\n  - {id: a, provider: openai, base_url: [http://x/v1, http://y/v1, "
                                        "http://x/v1]}\n"),
    "traffic_empty": (Workspace, MODEL + "report: {traffic: {}}\n"),
    "duration_invalid": (Workspace, MODEL + "decisions: {stale_after: soon}\n"),
}
"""A file breaking each rule (the key: the code it raises)."""


def _problems(model, text: str) -> list:
    src = parse_yaml(text, "f.yaml")
    extra = {"body": ""} if model is Hypothesis else None
    return validate_or_salvage(model, src.data, src, "f.yaml", extra=extra)[1]


@pytest.fixture
def reworded(monkeypatch) -> list[str]:
    """Every spec module's rule_error with the wording replaced (the code and context kept); the codes raised."""
    from roadtest.spec.base import rule_error as original

    raised: list[str] = []

    def rule_error(code, message, **context):
        raised.append(code)
        return original(code, "reworded entirely, {x} braces and all", **context)

    for module in SPEC_MODULES:
        if hasattr(module, "rule_error"):
            monkeypatch.setattr(module, "rule_error", rule_error)
    return raised


def test_the_cases_break_every_rule():
    assert set(CASES) == HINTS.keys() | HINTLESS


@pytest.mark.parametrize("code", sorted(CASES))
def test_rewording_a_message_keeps_its_hint_and_place(code, request):
    model, text = CASES[code]
    before = _problems(model, text)
    raised = request.getfixturevalue("reworded")
    after = _problems(model, text)
    assert code in raised
    assert [(p.line, p.field, p.hint) for p in after] == [(p.line, p.field, p.hint) for p in before]
    assert any("reworded entirely" in p.message for p in after)
    assert not any("reworded entirely" in p.message for p in before)
    assert any(p.hint for p in before) == (code in HINTS)


def test_a_rule_error_carries_its_code_message_and_context():
    errors = None
    try:
        Scenario.model_validate({"id": "s", "success": "x", "dataset": {"path": "p"}, "prompt": {"template": "t"},
                                 "scoring": {"rule": "exact", "answer": "a", "choices": ["x"]}})
    except ValueError as exc:
        errors = exc.errors()
    assert [(e["type"], e["msg"], e["ctx"]) for e in errors] == [
        ("scoring_choices_unused", "`choices:` only applies to the choice rule, not exact", {"rule": "exact"})]


def _spec_models():
    for module in SPEC_MODULES:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Spec) and value is not Spec \
                    and value.__module__ == module.__name__:
                yield value


def test_field_docs_are_the_docstrings_under_the_fields():
    """field_doc reads what pydantic's use_attribute_docstrings would (it is off: it costs start-up time)."""
    extract = pytest.importorskip("pydantic._internal._docs_extraction").extract_docstrings_from_cls
    models = list(_spec_models())
    assert len(models) > 25
    for model in models:
        expected = extract(model, use_inspect=True)
        assert {name: field_doc(model, name) for name in model.model_fields if field_doc(model, name)} == expected
    assert field_doc(Scenario, "user") == "conversation only: who plays the customer, and when the conversation ends."
    assert field_doc(Scenario, "no_such_field") == ""


def test_a_load_level_has_one_reader_and_one_wording():
    """'c6'/'r2.5' are written by Load.label and read back by Load.from_label alone; the words come from one place."""
    from roadtest.spec.hypothesis import Load, load_words

    for load in (Load(concurrency=6), Load(rps=2.5), Load(rps=2.0), Load(rps=0.125)):
        assert Load.from_label(load.label) == load
    assert load_words("c6") == "6 in flight" and load_words("r2") == "2 requests/s"
    assert load_words("r2.5", short=True) == "2.5 req/s"
    with pytest.raises(ValueError):
        Load.from_label("x3")


def test_a_request_rate_the_label_would_round_is_refused_with_its_hint(tmp_path):
    """rps 2.1234567 would be archived (and sent) as r2.12346: refused at check, naming the rounding."""
    from pydantic import ValidationError

    from roadtest.spec.hypothesis import Load

    with pytest.raises(ValidationError) as err:
        Load(rps=2.1234567)
    assert err.value.errors()[0]["type"] == "load_rps_digits"
    assert "2.12346" in str(err.value)
