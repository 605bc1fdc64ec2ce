"""Scenario files: the YAML, its dataset, its few-shot pool, its template."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError

from roadtest.errors import Problem
from roadtest.load.datasets import Row, Table, read_table
from roadtest.load.loaded import Loaded, declared_id
from roadtest.load.pydantic_problems import validate_or_salvage
from roadtest.load.templates import render, template_variables
from roadtest.load.yamlsrc import Located, parse_yaml
from roadtest.registry import did_you_mean
from roadtest.spec import Scenario
from roadtest.spec.metrics import known_names


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with its dataset and few-shot pool read in."""

    spec: Scenario
    display: str
    dataset: Table
    pool: Table | None
    src: Located

    @property
    def items(self) -> tuple[Row, ...]:
        return self.dataset.rows

    def item_id(self, row: Row) -> str:
        return str(row.data[self.spec.dataset.id])

    def groups(self) -> set[str]:
        field = self.spec.dataset.group
        return {str(r.data[field]) for r in self.items} if field else set()


def load_scenario(path: Path, display: str) -> Loaded:
    """Every problem of a scenario file and its tables in one pass: a scenario that fails validation is repaired
    as far as possible (see Salvage) so its dataset, template and answers are still checked."""
    src = parse_yaml(path.read_text(encoding="utf-8"), display)
    if src.data is None:
        return Loaded(None, src.problems or [Problem(display, 1, "the scenario file is empty",
                                                      "see `roadtest init` for an example")])
    problems = list(src.problems)            # a key written twice: reported, and the rest is still checked
    spec, more, salvage = validate_or_salvage(Scenario, src.data, src, display)
    problems += more
    checked = spec if spec is not None else (salvage.obj if salvage else None)
    if checked is None:
        return Loaded(None, problems, declared_id(src.data))
    dataset, pool, later = _read_tables(checked, path.parent, display, src)
    if dataset is not None and dataset.rows:
        later += _check_rows(checked, dataset, src, display, pool)
    problems += [p for p in later if salvage is None or salvage.keeps(p)]
    if problems:
        salvaged = LoadedScenario(checked, display, dataset, pool, src) if dataset is not None else None
        return Loaded(None, problems, declared_id(src.data), salvaged, salvage)
    return Loaded(LoadedScenario(spec, display, dataset, pool, src), [], spec.id)


def _read_tables(spec: Scenario, folder: Path, display: str, src: Located):
    def rel(p: str) -> str:
        return str(Path(display).parent / p)

    dataset, problems = read_table(folder / spec.dataset.path, rel(spec.dataset.path), display,
                                   src.line(("dataset", "path")))
    pool = None
    if spec.prompt.fewshot is not None:
        fs = spec.prompt.fewshot
        pool, more = read_table(folder / fs.pool, rel(fs.pool), display, src.line(("prompt", "fewshot", "pool")))
        problems += more
        if pool is not None and not more and fs.k > len(pool.rows):
            problems.append(Problem(display, src.line(("prompt", "fewshot", "k")),
                                    f"few-shot k = {fs.k} but the pool has only {len(pool.rows)} examples",
                                    "lower k or add examples to the pool", field="prompt.fewshot.k"))
    return dataset, pool, problems


def _check_rows(spec: Scenario, dataset: Table, src: Located, display: str, pool: Table | None) -> list[Problem]:
    problems = _check_template(spec, dataset, src, display)
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
        shown = template_variables(spec.prompt.template)
    except TemplateSyntaxError:
        shown = None   # the template check reports the syntax error itself
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
    return [replace(p, message=f"variants[{i}] ({variant.name}): {p.message}", line=src.line(("variants", i, "prompt")))
            for p in _check_template(changed, dataset, src, display)]


def _check_template(spec: Scenario, table: Table, src: Located, display: str) -> list[Problem]:
    line = src.line(("prompt", "template"))
    try:
        names = template_variables(spec.prompt.template)
    except TemplateSyntaxError as exc:
        return [Problem(display, line, f"prompt.template: Jinja syntax error: {exc.message}",
                        "check {{ }} and {% %} pairs", field="prompt.template")]
    fields = set(table.rows[0].data) if table.rows else set()
    for row in table.rows:
        fields &= set(row.data)
    missing = sorted(names - fields)
    if missing:
        return [Problem(display, line,
                        f"prompt.template uses {', '.join('{{ ' + m + ' }}' for m in missing)} "
                        f"but {table.display} has no such field in every row",
                        f"fields present in every row: {', '.join(sorted(fields)) or '(none)'}",
                        field="prompt.template")]
    for row in table.rows:
        try:
            render(spec.prompt.template, row.data)
        except TemplateError as exc:
            return [Problem(table.display, row.line, f"prompt.template fails on this row: {exc}",
                            "fix the row or the template", field="prompt.template")]
    return []


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
    id_field, group = spec.dataset.id, spec.dataset.group
    problems = [p for p in (_absent_everywhere(table, id_field, ("dataset", "id"), src, display),
                            _absent_everywhere(table, group, ("dataset", "group"), src, display) if group else None)
                if p]
    check_id = not any(p.field == "dataset.id" for p in problems)
    group = group if not any(p.field == "dataset.group" for p in problems) else None
    seen: dict[str, int] = {}
    for row in table.rows:
        if group and row.data.get(group) in (None, ""):
            problems.append(Problem(table.display, row.line, f"row has no '{group}' (the group field)",
                                    "give every row a group, or remove dataset.group"))
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
    problems = []
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
        try:
            re.compile(answer)
        except re.error as exc:
            return f"answer is not a valid regular expression: {exc}", "escape special characters with a backslash"
    if rule == "numeric":
        try:
            if not math.isfinite(float(answer.replace(",", ""))):
                raise ValueError
        except ValueError:
            return f"answer '{answer}' is not a number", "the numeric rule needs numeric answers"
    if rule in ("exact", "contains") and not answer.strip():
        return "the reference answer is empty", "give every item a reference answer"
    return None
