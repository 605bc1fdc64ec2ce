"""Scenario files: the YAML, its dataset, its few-shot pool, its template."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from jinja2 import TemplateError, TemplateSyntaxError

from roadtest.conversation.tools import _key as key_text
from roadtest.conversation.tools import schema_problem
from roadtest.errors import Problem
from roadtest.load.datasets import Row, Table, read_table
from roadtest.load.files import Access, read_text
from roadtest.load.loaded import Loaded, declared_id
from roadtest.load.pydantic_problems import validate_or_salvage
from roadtest.load.templates import render, template_variables
from roadtest.load.yamlsrc import Located, dotted, parse_yaml
from roadtest.patterns import pattern_problem
from roadtest.registry import did_you_mean
from roadtest.sandbox import TemplateBudgetError
from roadtest.spec import Judge, Scenario
from roadtest.spec.scenario import Tool
from roadtest.spec.metrics import known_names

CHECK_SECONDS = 5.0
"""Wall time after which `check` judges the speed of a template it is rendering over a table's rows."""
SLOW_RENDER_SECONDS = 0.001
"""A template that takes longer than this per rendering, on average, past CHECK_SECONDS, is a problem: the plan
renders it for every item, model, variant and repeat. (A faster one over a large table is just a large table.)"""

JUDGE_VARIABLES = ("rubric", "input", "output", "reference")
"""What a judge template is rendered with (see roadtest.scoring.judging.judge_trial)."""


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with its dataset and few-shot pool read in."""

    spec: Scenario
    display: str
    dataset: Table
    pool: Table | None
    src: Located
    tables: dict[str, Table] = field(default_factory=dict)
    """conversation scenarios: the lookup tools' tables, by tool name."""

    @property
    def items(self) -> tuple[Row, ...]:
        return self.dataset.rows

    def item_id(self, row: Row) -> str:
        return str(row.data[self.spec.dataset.id])

    def groups(self) -> set[str]:
        field = self.spec.dataset.stratum
        return {str(r.data[field]) for r in self.items} if field else set()


def load_scenario(path: Path, display: str, access: Access | None = None) -> Loaded:
    """Every problem of a scenario file and its tables in one pass: a scenario that fails validation is repaired
    as far as possible (see Salvage) so its dataset, template and answers are still checked.

    `access` says which files the scenario may name (default: any)."""
    text, unread = read_text(path, display)
    if text is None:
        return Loaded(None, unread)
    src = parse_yaml(text, display)
    if src.data is None:
        return Loaded(None, src.problems or [Problem(display, 1, "the scenario file is empty",
                                                      "see `roadtest init` for an example")], declared_id(None, text))
    problems = list(src.problems)            # a key written twice: reported, and the rest is still checked
    spec, more, salvage = validate_or_salvage(Scenario, src.data, src, display)
    problems += more
    checked = spec if spec is not None else (salvage.obj if salvage else None)
    if checked is None:
        return Loaded(None, problems, declared_id(src.data))
    dataset, pool, later = _read_tables(checked, path.parent, display, src, access)
    tables, more = _read_lookups(checked, path.parent, display, src, access)
    later += more
    if dataset is not None and dataset.rows:
        later += _check_rows(checked, dataset, src, display, pool)
    later += _check_judges(checked, dataset, src, display)
    if checked.kind == "conversation":
        later += _check_conversation(checked, dataset, tables, src, display)
    problems += [p for p in later if salvage is None or salvage.keeps(p)]
    if problems:
        salvaged = LoadedScenario(checked, display, dataset, pool, src, tables) if dataset is not None else None
        return Loaded(None, problems, declared_id(src.data), salvaged, salvage)
    return Loaded(LoadedScenario(spec, display, dataset, pool, src, tables), [], spec.id)


def _read_tables(spec: Scenario, folder: Path, display: str, src: Located, access: Access | None):
    dataset, problems = _read_named(folder, spec.dataset.path, ("dataset", "path"), display, src, access)
    pool = None
    if spec.prompt.fewshot is not None:
        fs = spec.prompt.fewshot
        pool, more = _read_named(folder, fs.pool, ("prompt", "fewshot", "pool"), display, src, access)
        problems += more
        if pool is not None and not more and fs.k > len(pool.rows):
            problems.append(Problem(display, src.line(("prompt", "fewshot", "k")),
                                    f"few-shot k = {fs.k} but the pool has only {len(pool.rows)} examples",
                                    "lower k or add examples to the pool", field="prompt.fewshot.k"))
    return dataset, pool, problems


def _read_named(folder: Path, name: str, loc: tuple, display: str, src: Located,
                access: Access | None) -> tuple[Table | None, list[Problem]]:
    """The table a scenario names at `loc`, unless it leads outside the workspace."""
    line = src.line(loc)
    refused = access.refuse(folder / name, dotted(loc), name, display, line) if access is not None else None
    if refused is not None:
        return None, [refused]
    return read_table(folder / name, str(Path(display).parent / name), display, line)


def _check_rows(spec: Scenario, dataset: Table, src: Located, display: str, pool: Table | None) -> list[Problem]:
    problems = _check_template(spec, dataset, src, display, variations=True)
    problems += _check_ids(spec, dataset, src, display)
    problems += _check_answers(spec, dataset, src, display)
    if pool is not None:
        problems += _check_template(spec, pool, src, display)
        problems += _check_answers(spec, pool, src, display)
    problems += _check_metric_names(spec, src, display)
    problems += _check_fields(spec, dataset, src, display)
    for i, variant in enumerate(spec.variants):
        problems += _check_variant(spec, i, variant, dataset, pool, src, display)
    return problems


def _check_metric_names(spec: Scenario, src: Located, display: str) -> list[Problem]:
    known = known_names()
    return [Problem(display, src.line(("metrics", i)), f"metrics: unknown metric or family '{name}'",
                    did_you_mean(name, known), field=f"metrics[{i}]")
            for i, name in enumerate(spec.metrics or []) if name not in known]


def _check_fields(spec: Scenario, dataset: Table, src: Located, display: str) -> list[Problem]:
    """Fields the policy and the counterfactual swaps read must exist (and the swap field must be shown)."""
    problems = []
    fields = set(dataset.rows[0].data) if dataset.rows else set()
    if spec.policy and spec.policy.must_refuse and spec.policy.must_refuse not in fields:
        problems.append(Problem(display, src.line(("policy", "must_refuse")),
                                f"policy.must_refuse names field '{spec.policy.must_refuse}', which {dataset.display} lacks",
                                did_you_mean(spec.policy.must_refuse, sorted(fields)), field="policy.must_refuse"))
    cf = spec.counterfactuals
    try:
        shown = template_variables(spec.prompt.template) if spec.prompt.template is not None else set()
    except TemplateError:
        shown = None   # the template check reports the syntax error (or the budget) itself
    if cf is not None:
        if cf.field not in fields:
            problems.append(Problem(display, src.line(("counterfactuals", "field")),
                                    f"counterfactuals.field '{cf.field}' is not a field of {dataset.display}",
                                    did_you_mean(cf.field, sorted(fields)), field="counterfactuals.field"))
        elif shown is not None and shown <= fields and cf.field not in shown:
            problems.append(Problem(display, src.line(("counterfactuals", "field")),
                                    f"counterfactuals.field '{cf.field}' is not used by prompt.template, so swaps would change nothing",
                                    "swap a field the template shows", field="counterfactuals.field"))
    return problems


def _check_variant(spec: Scenario, i: int, variant, dataset: Table, pool: Table | None, src: Located,
                   display: str) -> list[Problem]:
    try:
        changed = spec.with_variant(variant)
    except ValueError as exc:
        return [Problem(display, src.line(("variants", i)), str(exc).splitlines()[0],
                        "a variant can only change settings the scenario has", field=f"variants[{i}]")]
    if changed.prompt.template == spec.prompt.template:
        return []
    line = src.line(("variants", i, "prompt"))
    if spec.kind == "conversation":
        return [Problem(display, src.line(("variants", i, "prompt", "template")),
                        f"variants[{i}] ({variant.name}): a conversation has no prompt.template to change "
                        "(the customer speaks instead)", UNUSED_TEMPLATE_HINT, field=f"variants[{i}].prompt.template")]
    found = _check_template(changed, dataset, src, display)         # a variant runs without variations (see plan)
    if pool is not None:
        found += _check_template(changed, pool, src, display)
    # A problem of the template itself points at the variant; one on a row stays at the row.
    return [replace(p, message=f"variants[{i}] ({variant.name}): {p.message}",
                    line=line if p.path == display else p.line) for p in found]


def _check_template(spec: Scenario, table: Table, src: Located, display: str,
                    variations: bool = False) -> list[Problem]:
    """The template compiles, reads only fields every row has, and renders on every row (and, with `variations`,
    on every perturbation and counterfactual swap of the row) within the sandbox's budgets and CHECK_SECONDS.
    A conversation has no prompt template (the customer speaks): nothing to check."""
    if spec.prompt.template is None:
        return []
    return _check_row_template(spec.prompt.template, ("prompt", "template"), table, src, display,
                               lambda: _renderings(spec, table, variations))


def _check_row_template(source: str, loc: tuple, table: Table, src: Located, display: str,
                        renderings=None) -> list[Problem]:
    """A template whose variables are a row's fields (the prompt template, a simulated customer's system prompt):
    it compiles, reads only fields every row has, and renders on every rendering (default: each row)."""
    line, name = src.line(loc), dotted(loc)
    problem = _syntax_problem(source, name, line, display)
    if problem is not None:
        return [problem]
    names = template_variables(source)
    fields = set(table.rows[0].data) if table.rows else set()
    for row in table.rows:
        fields &= set(row.data)
    missing = sorted(names - fields)
    if missing:
        return [Problem(display, line,
                        f"{name} uses {', '.join('{{ ' + m + ' }}' for m in missing)} "
                        f"but {table.display} has no such field in every row",
                        f"fields present in every row: {', '.join(sorted(fields)) or '(none)'}",
                        field=name)]
    contexts = renderings() if renderings is not None else ((row, row.data, "") for row in table.rows)
    return _render_rows(source, name, contexts, table, display, line)


def _syntax_problem(source: str, name: str, line: int, display: str) -> Problem | None:
    """A template that does not compile (or breaks a budget while compiling), at the line that names it."""
    try:
        template_variables(source)
    except TemplateSyntaxError as exc:
        return Problem(display, line, f"{name}: Jinja syntax error: {exc.message}", "check {{ }} and {% %} pairs",
                       field=name)
    except TemplateError as exc:
        return Problem(display, line, f"{name}: {exc}", _failure_hint(exc), field=name)
    return None


def _render_rows(source: str, name: str, contexts, table: Table, display: str, line: int) -> list[Problem]:
    """The first row the template fails on, or a problem when rendering them all takes beyond CHECK_SECONDS."""
    start = time.monotonic()
    for done, (row, fields, how) in enumerate(contexts, start=1):
        try:
            render(source, fields)
        except Exception as exc:     # a template error, a budget, or the template's own arithmetic (1/0)
            if isinstance(exc, TemplateBudgetError) and _fails_on_any_row(source, fields):
                return [Problem(display, line, f"{name}: {exc}", _failure_hint(exc), field=name)]
            return [Problem(table.display, row.line, f"{name} fails on this row{how}: {_reason(exc)}",
                            _failure_hint(exc), field=name)]
        elapsed = time.monotonic() - start
        if elapsed > CHECK_SECONDS and elapsed / done > SLOW_RENDER_SECONDS:
            return [Problem(display, line, f"{name} is too slow: {elapsed / done * 1000:.0f} ms per "
                                           f"rendering over the first {done:,} of {table.display}",
                            "simplify the template: it is rendered for every item, model, variant and repeat",
                            field=name)]
    return []


def _fails_on_any_row(template: str, fields: dict[str, Any]) -> bool:
    """The template breaks a budget even with every field empty: its own fault, not the row's."""
    try:
        render(template, {name: "" for name in fields})
    except TemplateBudgetError:
        return True
    except Exception:
        return False
    return False


def _renderings(spec: Scenario, table: Table, variations: bool) -> Iterator[tuple[Row, dict[str, Any], str]]:
    """Every context the plan renders the template with: each row, then (with `variations`, for the dataset) the
    row's perturbations and counterfactual swaps, as roadtest.plan.item_inputs makes them."""
    # plan sits below load; imported here, when both are loaded, so check renders exactly what a run sends
    from roadtest.plan import input_fields
    from roadtest.plan.counterfactual import counterfactuals
    from roadtest.plan.perturb import perturb, rng_for

    cf = spec.counterfactuals if variations else None
    for row in table.rows:
        yield row, row.data, ""
        if variations and spec.perturbations:
            fields, item = input_fields(spec, row), str(row.data.get(spec.dataset.id, ""))
            for kind in spec.perturbations:
                rng = rng_for(spec.perturbation_seed, spec.id, item, kind)
                yield row, perturb(kind, row.data, fields, rng), f" (perturbed: {kind})"
        if cf is not None:
            for group, text in counterfactuals(row.data.get(cf.field), cf.swap).items():
                yield row, {**row.data, cf.field: text}, f" (with {cf.field} swapped to {group} {cf.swap})"


def _reason(exc: Exception) -> str:
    if isinstance(exc, TemplateError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _failure_hint(exc: Exception) -> str:
    if isinstance(exc, TemplateBudgetError):
        return ("templates run in a sandbox with limits on size, loops and time: simplify the template "
                "(a prompt only needs the row's fields)")
    return "fix the row or the template"


def _check_judges(spec: Scenario, dataset: Table | None, src: Located, display: str) -> list[Problem]:
    """Each judge template compiles, uses only the judge's variables and renders, before any model call is paid."""
    sample = _sample_context(spec, dataset)
    problems = []
    for _, loc, judge in spec.judges_by_purpose():
        if judge.template is not None:
            problem = _judge_template_problem(judge, sample, ".".join(loc + ("template",)),
                                              src.line(loc + ("template",)), display)
            problems += [problem] if problem else []
    return problems


def _sample_context(spec: Scenario, dataset: Table | None) -> dict[str, str]:
    """A judge's context as a run would give it, from the first row: its prompt, its answer as the output."""
    row = dataset.rows[0].data if dataset is not None and dataset.rows else {}
    template, fallback = spec.prompt.template, "What is 2 plus 2?"
    try:
        shown = render(template, row).strip() if template is not None else fallback
    except Exception:       # reported by the prompt's own check
        shown = fallback
    answer = row.get(spec.scoring.answer) if spec.scoring.answer else None
    answer = answer[0] if isinstance(answer, list) and answer else answer
    text = "" if answer is None else str(answer)
    return {"input": shown, "output": text or "A model's answer.", "reference": text}


def _judge_hint(unknown: str) -> str:
    usable = "a judge template can use " + ", ".join("{{ " + v + " }}" for v in JUDGE_VARIABLES)
    close = did_you_mean(unknown, list(JUDGE_VARIABLES))
    return f"{close} ({usable})" if close.startswith("did") else usable


def _judge_template_problem(judge: Judge, sample: dict[str, str], name: str, line: int,
                            display: str) -> Problem | None:
    template = judge.template
    assert template is not None             # _check_judges passes only judges with a template
    try:
        names = template_variables(template)
    except TemplateSyntaxError as exc:
        return Problem(display, line, f"{name}: Jinja syntax error: {exc.message}", "check {{ }} and {% %} pairs",
                       field=name)
    except TemplateError as exc:
        return Problem(display, line, f"{name}: {exc}", _failure_hint(exc), field=name)
    unknown = sorted(names - set(JUDGE_VARIABLES))
    if unknown:
        return Problem(display, line, f"{name} uses {', '.join('{{ ' + u + ' }}' for u in unknown)}, "
                                      "which a judge prompt does not have",
                       _judge_hint(unknown[0]), field=name)
    for reference in (sample["reference"], ""):        # with the reference answer, and without (policy judges)
        try:
            render(template, {**sample, "rubric": judge.rubric, "reference": reference})
        except Exception as exc:
            return Problem(display, line, f"{name} fails on a trial render: {_reason(exc)}", _failure_hint(exc),
                           field=name)
    return None


def _absent_everywhere(table: Table, field: str, loc: tuple, src: Located, display: str) -> Problem | None:
    """A field no row has is a mistake in the scenario file, not in every row: say so once, there."""
    if not table.rows or any(field in row.data for row in table.rows):
        return None
    present = sorted({k for row in table.rows for k in row.data})
    close = did_you_mean(field, present)
    listed = f"the rows have: {', '.join(present)}"
    name = ".".join(loc)
    return Problem(display, src.line(loc), f"{name}: no row of {table.display} has a field '{field}'",
                   f"{close} ({listed})" if close.startswith("did") else listed, field=name)


def _check_ids(spec: Scenario, table: Table, src: Located, display: str) -> list[Problem]:
    id_field = spec.dataset.id
    labels = [(key, getattr(spec.dataset, key)) for key in ("strata", "group", "cluster") if getattr(spec.dataset, key)]
    problems = [p for p in (_absent_everywhere(table, id_field, ("dataset", "id"), src, display),
                            *(_absent_everywhere(table, f, ("dataset", key), src, display) for key, f in labels))
                if p]
    check_id = not any(p.field == "dataset.id" for p in problems)
    labels = [(key, f) for key, f in labels if not any(p.field == f"dataset.{key}" for p in problems)]
    seen: dict[str, int] = {}
    for row in table.rows:
        for key, f in labels:
            if row.data.get(f) in (None, ""):
                problems.append(Problem(table.display, row.line, f"row has no '{f}' (the {key} field)",
                                        f"give every row a value, or remove dataset.{key}"))
        if not check_id:
            continue
        if id_field not in row.data or row.data[id_field] in (None, ""):
            problems.append(Problem(table.display, row.line, f"row has no '{id_field}' (the item id field)",
                                    "give every row a unique id, or set dataset.id to the field that holds it"))
            continue
        key = str(row.data[id_field])
        if key in seen:
            problems.append(Problem(table.display, row.line, f"item id '{key}' repeats line {seen[key]}",
                                    "item ids must be unique"))
        seen[key] = row.line
    return problems


def _check_answers(spec: Scenario, table: Table, src: Located, display: str) -> list[Problem]:
    sc = spec.scoring
    problems: list[Problem] = []
    choices = {c if sc.case_sensitive else c.casefold() for c in sc.choices or []}
    if sc.answer is None:
        return problems
    absent = _absent_everywhere(table, sc.answer, ("scoring", "answer"), src, display)
    if absent:
        return [absent]
    for row in table.rows:
        if sc.answer not in row.data:
            problems.append(Problem(table.display, row.line, f"row has no '{sc.answer}' (scoring.answer field)",
                                    f"add the reference answer, or point scoring.answer (line {src.line(('scoring', 'answer'))} of {display}) at the right field"))
            continue
        answers = row.data[sc.answer]
        for answer in answers if isinstance(answers, list) else [answers]:
            problem = _check_answer(sc.rule, str(answer), choices, sc.case_sensitive)
            if problem:
                problems.append(Problem(table.display, row.line, problem[0], problem[1], field=sc.answer))
    return problems


def _check_answer(rule: str, answer: str, choices: set[str], case_sensitive: bool):
    if rule == "choice" and (answer if case_sensitive else answer.casefold()) not in choices:
        return f"answer '{answer}' is not one of scoring.choices", "add it to choices or fix the answer"
    if rule == "regex":
        problem = pattern_problem(answer)
        if problem:
            return f"answer is not a regular expression roadtest can run: {problem}", \
                "escape special characters with a backslash"
    if rule == "numeric":
        try:
            if not math.isfinite(float(answer.replace(",", ""))):
                raise ValueError
        except ValueError:
            return f"answer '{answer}' is not a number", "the numeric rule needs numeric answers"
    if rule in ("exact", "contains") and not answer.strip():
        return "the reference answer is empty", "give every item a reference answer"
    return None


# -- conversations: lookup tables, tools, the customer, the expected and forbidden actions ------------------------

def _read_lookups(spec: Scenario, folder: Path, display: str, src: Located,
                  access: Access | None) -> tuple[dict[str, Table], list[Problem]]:
    """Each lookup tool's table, read like a dataset (same formats, limits and workspace checks), by tool name."""
    tables: dict[str, Table] = {}
    problems: list[Problem] = []
    for i, tool in enumerate(spec.tools):
        if tool.lookup is None:
            continue
        loc = ("tools", i, "lookup", "table")
        table, found = _read_named(folder, tool.lookup.table, loc, display, src, access)
        problems += [replace(p, message=p.message.replace("dataset", "lookup table", 1),
                             field=p.field or dotted(loc)) for p in found]
        if table is not None:
            tables[tool.name] = table
    return tables, problems


UNUSED_TEMPLATE_HINT = ("remove it: the customer's messages come from `user.script` (or `user.simulator`), and "
                        "the assistant's instructions go in `prompt.system`")


def _check_conversation(spec: Scenario, dataset: Table | None, tables: dict[str, Table], src: Located,
                        display: str) -> list[Problem]:
    """What only a conversation has: its tools (schemas, lookup keys, result templates), the customer (a script
    in every case, or a simulator's system prompt) and each case's expected and forbidden actions."""
    problems: list[Problem] = []
    if spec.prompt.template is not None:
        problems.append(Problem(display, src.line(("prompt", "template")),
                                "prompt.template: a conversation has no prompt template (the customer speaks "
                                "instead), so it would be ignored", UNUSED_TEMPLATE_HINT, field="prompt.template"))
    for i, tool in enumerate(spec.tools):
        problems += _check_tool(i, tool, tables.get(tool.name), src, display)
    sim = spec.simulator()
    if sim is not None:
        loc = ("user", "simulator", "system")
        if dataset is not None and dataset.rows:
            problems += _check_row_template(sim.system, loc, dataset, src, display)
        else:
            problems += [p for p in [_syntax_problem(sim.system, dotted(loc), src.line(loc), display)] if p]
    if dataset is None or not dataset.rows:
        return problems
    user = spec.user
    assert user is not None                 # a conversation has a user (the spec checks)
    listed = [(("user", "script"), user.script)] if user.script else []
    listed += [(("scoring", key), getattr(spec.scoring, key)) for key in ("expect", "forbid")
               if getattr(spec.scoring, key)]
    if dataset.path.suffix.lower() == ".csv":
        return problems + [_csv_problem(spec, dataset, listed, src, display)]
    absent = [p for p in (_absent_everywhere(dataset, f, loc, src, display) for loc, f in listed) if p]
    problems += absent
    gone = {p.field for p in absent}
    if user.script and "user.script" not in gone:
        problems += _check_scripts(user.script, dataset)
    tools = {t.name: t for t in spec.tools}
    for key in ("expect", "forbid"):
        name = getattr(spec.scoring, key)
        if name and f"scoring.{key}" not in gone:
            problems += _check_actions(name, key, dataset, tools, display)
    return problems


def _props(tool: Tool) -> list[str]:
    """The names of a tool's parameters (its schema's properties)."""
    props = tool.parameters.get("properties") if isinstance(tool.parameters, dict) else None
    return [str(k) for k in props] if isinstance(props, dict) else []


def _tool_example(tools: list[Tool]) -> str:
    """One action of the scenario's own tools (an action tool if it has one), as JSON, for hints."""
    tool = next((t for t in tools if t.action is not None), tools[0] if tools else None)
    if tool is None:
        return '{"tool": "issue_refund", "args": {"order_id": "A17"}}'
    args = "".join(f', "args": {{{_json(p)}: "..."}}' for p in _props(tool)[:1])
    return f'{{"tool": {_json(tool.name)}{args}}}'


def _csv_problem(spec: Scenario, dataset: Table, listed: list, src: Located, display: str) -> Problem:
    """A conversation's cases hold lists; a CSV cell holds text: ask for JSONL, once, at dataset.path."""
    fields = ", ".join(f"{f} ({dotted(loc)})" for loc, f in listed)
    parts = [f'"{spec.dataset.id}": "c1"']
    for loc, f in listed:
        parts.append(f'"{f}": ["My order A17 arrived broken."]' if loc[0] == "user" else
                     f'"{f}": [{_tool_example(spec.tools)}]')
    return Problem(display, src.line(("dataset", "path")),
                   f"dataset.path: {dataset.display} is CSV, but a conversation's cases hold lists in {fields}, "
                   "which a CSV cell cannot hold",
                   f"write the cases as JSONL, one JSON object per line, e.g. {{{', '.join(parts)}}}",
                   field="dataset.path")


def _what(value: Any) -> str:
    """A JSON value's kind, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _check_scripts(field: str, dataset: Table) -> list[Problem]:
    """Every case gives the customer's messages: a non-empty list of texts."""
    problems = []
    example = f'"{field}": ["My order A17 arrived broken.", "Yes, please refund it."]'
    for row in dataset.rows:
        def problem(message: str, hint: str) -> None:
            problems.append(Problem(dataset.display, row.line, message, hint, field="user.script"))

        if field not in row.data:
            problem(f"row has no '{field}' (the user.script field: the customer's messages)",
                    f"give every case its customer's messages, e.g. {example}")
            continue
        value = row.data[field]
        if not isinstance(value, list):
            shown = f'"{field}": [{_json(value)}]' if isinstance(value, str) else example
            problem(f"'{field}' (user.script) must be a list of the customer's messages, found {_what(value)}",
                    f"write a list of texts, e.g. {shown}")
        elif not value:
            problem(f"'{field}' (user.script) is an empty list: the customer would say nothing",
                    f"give at least one message, e.g. {example}")
        else:
            for j, message in enumerate(value):
                if not isinstance(message, str):
                    problem(f"'{field}'[{j}] (user.script) is {_what(message)}, not a message",
                            "every message of the script is text in quotes")
                    break
                if not message.strip():
                    problem(f"'{field}'[{j}] (user.script) is an empty message",
                            "remove it, or write what the customer says")
                    break
    return problems


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


ACTION_KEYS = ("tool", "args")


def _check_actions(field: str, key: str, dataset: Table, tools: dict[str, Tool], display: str) -> list[Problem]:
    """Every case's expected (or forbidden) actions: a list of {tool, args} naming tools and parameters the
    scenario has. A case without the field (or with null) expects (forbids) nothing."""
    problems = []
    what = f"scoring.{key}"
    names = sorted(tools)
    broken = {n for n, t in tools.items() if schema_problem(t.parameters) is not None}
    example = f'"{field}": [{_tool_example(list(tools.values()))}]'
    index = {t.name: i for i, t in enumerate(tools.values())}
    for row in dataset.rows:
        def problem(message: str, hint: str, about: str = what) -> None:
            problems.append(Problem(dataset.display, row.line, message, hint, field=about))

        value = row.data.get(field)
        if value is None:
            continue
        if not isinstance(value, list):
            hint = (f'wrap the action in a list: "{field}": [{_json(value)}]' if isinstance(value, dict)
                    else f"write a list of actions, e.g. {example}")
            problem(f"'{field}' ({what}) must be a list of actions {{tool, args}}, found {_what(value)}", hint)
            continue
        for j, action in enumerate(value):
            here = f"'{field}'[{j}] ({what})"
            if not isinstance(action, dict):
                problem(f"{here} must be an action {{tool, args}}, found {_what(action)}",
                        f"write each action as an object, e.g. {example}")
                continue
            unknown = [k for k in action if k not in ACTION_KEYS]
            if unknown:
                problem(f"{here} has unknown key '{unknown[0]}'", did_you_mean(str(unknown[0]), list(ACTION_KEYS))
                        + " (an action has `tool` and optional `args`)")
            name = action.get("tool")
            if not isinstance(name, str) or not name:
                problem(f"{here} has no `tool` (the tool's name, as text)"
                        if name is None else f"{here}: `tool` must be a tool's name, found {_what(name)}",
                        f"name one of the scenario's tools: {', '.join(names) or '(none)'}")
                continue
            tool = tools.get(name)
            if tool is None:
                close = did_you_mean(name, names) if names else "the scenario has no tools: add them under `tools:`"
                problem(f"{here} names tool '{name}', which the scenario does not have",
                        f"{close} (tools are listed under `tools:` in {display})" if names else close,
                        "tools")    # (about the tools too: not reported when `tools:` itself had to be repaired)
                continue
            args = action.get("args")
            if args is None or (isinstance(args, dict) and name in broken):
                continue        # a tool whose schema is broken is reported at the tool, not at every case
            if not isinstance(args, dict):
                problem(f"{here}: `args` must be an object of argument values, found {_what(args)}",
                        f"e.g. {example}")
                continue
            props = _props(tool)
            for arg in args:
                if arg not in props:
                    close = did_you_mean(str(arg), props) if props else ""
                    problem(f"{here} gives argument '{arg}', which is not a parameter of {name}",
                            close if close.startswith("did") else
                            f"{name}'s parameters: {', '.join(props)}" if props else f"{name} takes no arguments",
                            f"tools[{index[name]}].parameters")
                    break
    return problems


def _check_tool(i: int, tool: Tool, table: Table | None, src: Located, display: str) -> list[Problem]:
    """A tool's JSON Schema, its lookup key (a parameter, and a field of the table's rows) or result template."""
    problems = []
    why = schema_problem(tool.parameters)
    loc = ("tools", i, "parameters")
    props = _props(tool)
    if why is None:
        why = _schema_pattern_problem(tool.parameters)
    if why is not None:
        problems.append(Problem(display, src.line(loc), f"tools[{i}].parameters ({tool.name}): {why}",
                                "write a JSON Schema of an object, e.g. `parameters: {type: object, properties: "
                                "{order_id: {type: string}}, required: [order_id]}`", field=dotted(loc)))
    if tool.lookup is not None:
        problems += _check_lookup(i, tool, props, why is None, table, src, display)
    if tool.action is not None:
        problems += _check_result(i, tool, props, why is None, src, display)
    return problems


def _schema_pattern_problem(schema: Any) -> str | None:
    """A `pattern` of the schema that RE2 cannot run (the executor runs every pattern on RE2)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            pattern = node.get("pattern")
            if isinstance(pattern, str):
                problem = pattern_problem(pattern)
                if problem:
                    return f"pattern {pattern!r} cannot run: {problem}"
            stack += [v for k, v in node.items() if k not in ("enum", "const", "default", "examples")]
        elif isinstance(node, list):
            stack += node
    return None


def _check_lookup(i: int, tool: Tool, props: list[str], valid_schema: bool, table: Table | None, src: Located,
                  display: str) -> list[Problem]:
    assert tool.lookup is not None          # _check_tool calls this only for a lookup tool
    key = tool.lookup.key
    loc = ("tools", i, "lookup", "key")
    line, name = src.line(loc), dotted(loc)
    problems = []
    if valid_schema and key not in props:
        close = did_you_mean(key, props) if props else ""
        problems.append(Problem(display, line, f"{name} '{key}' is not a parameter of {tool.name}: the model passes "
                                               "the key as the argument of that name",
                                (f"{close} Or " if close.startswith("did") else "")
                                + f"add `{key}: {{type: string}}` to the tool's parameters.properties "
                                  f"(and to `required:`)", field=f"tools[{i}].parameters"))
    if table is None or not table.rows:
        return problems
    if not any(key in row.data for row in table.rows):
        present = sorted({k for row in table.rows for k in row.data})
        close = did_you_mean(key, present)
        listed = f"the rows have: {', '.join(present)}"
        problems.append(Problem(display, line, f"{name}: no row of {table.display} has a field '{key}'",
                                f"{close} ({listed})" if close.startswith("did") else listed, field=name))
        return problems
    seen: dict[str, int] = {}
    for row in table.rows:
        value = row.data.get(key)
        if value is None or value == "":
            problems.append(Problem(table.display, row.line, f"row has no '{key}' (the lookup key of {tool.name})",
                                    "give every row a value: a row without one can never be found", field=name))
            continue
        if isinstance(value, (dict, list)):
            problems.append(Problem(table.display, row.line, f"'{key}' (the lookup key of {tool.name}) is "
                                                             f"{_what(value)}", "a key is text or a number",
                                    field=name))
            continue
        text = key_text(value)
        if text in seen:
            problems.append(Problem(table.display, row.line, f"{key} '{text}' repeats line {seen[text]}",
                                    f"each {key} finds one row (the first one): remove or merge the repeat",
                                    field=name))
            continue
        seen[text] = row.line
    return problems


def _check_result(i: int, tool: Tool, props: list[str], valid_schema: bool, src: Located,
                  display: str) -> list[Problem]:
    loc = ("tools", i, "action", "result")
    line, name = src.line(loc), dotted(loc)
    assert tool.action is not None          # _check_tool calls this only for an action tool
    result = tool.action.result
    problem = _syntax_problem(result, name, line, display)
    if problem is not None:
        return [problem]
    unknown = sorted(template_variables(result) - set(props)) if valid_schema else []
    if unknown:
        close = did_you_mean(unknown[0], props) if props else ""
        usable = (f"its variables are the call's arguments: {', '.join(props)}" if props
                  else f"{tool.name} takes no arguments, so its result can use none")
        return [Problem(display, line, f"{name} uses {', '.join('{{ ' + u + ' }}' for u in unknown)}, "
                                       f"which {'is' if len(unknown) == 1 else 'are'} not "
                                       f"{'a parameter' if len(unknown) == 1 else 'parameters'} of {tool.name}",
                        f"{close} ({usable})" if close.startswith("did") else usable,
                        field=f"tools[{i}].parameters")]
    return []
