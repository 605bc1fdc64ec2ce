"""Scenario files: the YAML, its dataset, its few-shot pool, its template."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from jinja2 import TemplateError, TemplateSyntaxError

from roadtest.errors import Problem
from roadtest.load.datasets import Row, Table, read_table
from roadtest.load.files import Access, read_text
from roadtest.load.loaded import Loaded, declared_id
from roadtest.load.pydantic_problems import validate_or_salvage
from roadtest.load.templates import render, template_variables
from roadtest.load.yamlsrc import Located, parse_yaml
from roadtest.patterns import pattern_problem
from roadtest.registry import did_you_mean
from roadtest.sandbox import TemplateBudgetError
from roadtest.spec import Judge, Scenario
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
    if dataset is not None and dataset.rows:
        later += _check_rows(checked, dataset, src, display, pool)
    later += _check_judges(checked, dataset, src, display)
    problems += [p for p in later if salvage is None or salvage.keeps(p)]
    if problems:
        salvaged = LoadedScenario(checked, display, dataset, pool, src) if dataset is not None else None
        return Loaded(None, problems, declared_id(src.data), salvaged, salvage)
    return Loaded(LoadedScenario(spec, display, dataset, pool, src), [], spec.id)


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
    refused = access.refuse(folder / name, ".".join(loc), name, display, line) if access is not None else None
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
        shown = template_variables(spec.prompt.template)
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
    found = _check_template(changed, dataset, src, display)         # a variant runs without variations (see plan)
    if pool is not None:
        found += _check_template(changed, pool, src, display)
    # A problem of the template itself points at the variant; one on a row stays at the row.
    return [replace(p, message=f"variants[{i}] ({variant.name}): {p.message}",
                    line=line if p.path == display else p.line) for p in found]


def _check_template(spec: Scenario, table: Table, src: Located, display: str,
                    variations: bool = False) -> list[Problem]:
    """The template compiles, reads only fields every row has, and renders on every row (and, with `variations`,
    on every perturbation and counterfactual swap of the row) within the sandbox's budgets and CHECK_SECONDS."""
    line = src.line(("prompt", "template"))
    try:
        names = template_variables(spec.prompt.template)
    except TemplateSyntaxError as exc:
        return [Problem(display, line, f"prompt.template: Jinja syntax error: {exc.message}",
                        "check {{ }} and {% %} pairs", field="prompt.template")]
    except TemplateError as exc:
        return [Problem(display, line, f"prompt.template: {exc}", _failure_hint(exc), field="prompt.template")]
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
    return _render_rows(spec, table, display, line, variations)


def _render_rows(spec: Scenario, table: Table, display: str, line: int, variations: bool) -> list[Problem]:
    """The first row the template fails on, or a problem when rendering them all takes beyond CHECK_SECONDS."""
    start = time.monotonic()
    for done, (row, fields, how) in enumerate(_renderings(spec, table, variations), start=1):
        try:
            render(spec.prompt.template, fields)
        except Exception as exc:     # a template error, a budget, or the template's own arithmetic (1/0)
            if isinstance(exc, TemplateBudgetError) and _fails_on_any_row(spec.prompt.template, fields):
                return [Problem(display, line, f"prompt.template: {exc}", _failure_hint(exc), field="prompt.template")]
            return [Problem(table.display, row.line, f"prompt.template fails on this row{how}: {_reason(exc)}",
                            _failure_hint(exc), field="prompt.template")]
        elapsed = time.monotonic() - start
        if elapsed > CHECK_SECONDS and elapsed / done > SLOW_RENDER_SECONDS:
            return [Problem(display, line, f"prompt.template is too slow: {elapsed / done * 1000:.0f} ms per "
                                           f"rendering over the first {done:,} of {table.display}",
                            "simplify the template: it is rendered for every item, model, variant and repeat",
                            field="prompt.template")]
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
    for loc, judge in ((("scoring", "judge"), spec.scoring.judge),
                       (("policy", "judge"), spec.policy.judge if spec.policy else None)):
        if judge is not None and judge.template is not None:
            problem = _judge_template_problem(judge, sample, ".".join(loc + ("template",)),
                                              src.line(loc + ("template",)), display)
            problems += [problem] if problem else []
    return problems


def _sample_context(spec: Scenario, dataset: Table | None) -> dict[str, str]:
    """A judge's context as a run would give it, from the first row: its prompt, its answer as the output."""
    row = dataset.rows[0].data if dataset is not None and dataset.rows else {}
    try:
        shown = render(spec.prompt.template, row).strip()
    except Exception:       # reported by the prompt's own check
        shown = "What is 2 plus 2?"
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
    try:
        names = template_variables(judge.template)
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
            render(judge.template, {**sample, "rubric": judge.rubric, "reference": reference})
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
