"""Spec -> Trials: every request of a run, fully rendered, with stable ids. Pure, no I/O.

Each item yields its original trial and, when the scenario asks, its perturbations (robustness),
counterfactual swaps (bias) and settings variants (sensitivity), each a trial of its own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

from roadtest.errors import RoadtestError
from roadtest.load import LoadedScenario, LoadedWorkspace, Row, Table
from roadtest.load.templates import render, template_variables
from roadtest.plan.counterfactual import counterfactuals
from roadtest.plan.perturb import perturb, rng_for
from roadtest.registry import did_you_mean
from roadtest.spec import Load, ModelSpec, Scenario
from roadtest.spec.metrics import METRICS, expand

from roadtest.plan.trial import CHAT, COMPLETION, Trial  # noqa: E402,F401  (re-exported)


@dataclass(frozen=True)
class Selection:
    """Which hypotheses and models a run covers, the scenarios they link, and the load levels they ask for."""

    hypotheses: tuple[str, ...]
    models: tuple[str, ...]
    scenarios: tuple[str, ...]
    loads: tuple[tuple[str, Load], ...] = ()
    """(scenario, load) pairs: each runs the scenario's items again at that level."""


def select(ws: LoadedWorkspace, hypotheses: list[str] | None = None,
           models: list[str] | None = None) -> Selection:
    """Resolve -H/-m filters; unknown names get a did-you-mean."""
    hyp_ids = _pick("hypothesis", hypotheses, list(ws.hypotheses))
    model_ids = _pick("model", models, [m.id for m in ws.spec.models])
    scenarios: list[str] = []
    loads: list[tuple[str, Load]] = []
    for hid in hyp_ids:
        for crit in ws.hypotheses[hid].spec.criteria:
            if crit.scenario not in scenarios:
                scenarios.append(crit.scenario)
            if crit.baseline is not None and crit.baseline not in model_ids:
                model_ids.append(crit.baseline)  # a comparison needs its baseline
            if crit.load is not None and (crit.scenario, crit.load) not in loads:
                loads.append((crit.scenario, crit.load))
    return Selection(tuple(hyp_ids), tuple(model_ids), tuple(scenarios), tuple(loads))


def _pick(kind: str, wanted: list[str] | None, known: list[str]) -> list[str]:
    if not wanted:
        return list(known)
    for name in wanted:
        if name not in known:
            raise RoadtestError(f"unknown {kind} '{name}'", did_you_mean(name, known))
    return [k for k in known if k in wanted]


def fewshot_rows(spec: Scenario, pool: Table | None) -> list[Row]:
    """The k few-shot examples, drawn once with the scenario's seed (same for every item and model)."""
    fs = spec.prompt.fewshot
    if fs is None or fs.k == 0 or pool is None:
        return []
    picks = random.Random(fs.seed).sample(range(len(pool.rows)), fs.k)
    return [pool.rows[i] for i in picks]


def fewshot_ids(scenario: LoadedScenario, spec: Scenario | None = None) -> list[str]:
    spec = spec or scenario.spec
    return [str(r.data.get(spec.dataset.id, f"line {r.line}")) for r in fewshot_rows(spec, scenario.pool)]


def needs_logprobs(spec: Scenario) -> bool:
    return any("logprobs" in METRICS.get(m).needs for m in expand(spec.metrics))


def input_fields(spec: Scenario, row: Row) -> list[str]:
    """The text fields the prompt shows: what perturbations may change (never the answer, id or group)."""
    keep_out = {spec.scoring.answer, spec.dataset.id, spec.dataset.stratum, spec.dataset.cluster}
    return sorted(n for n in _template_names(spec.prompt.template)
                  if n not in keep_out and isinstance(row.data.get(n), str))


@lru_cache(maxsize=64)
def _template_names(source: str) -> frozenset[str]:
    """The names a prompt template reads, parsed once per template (not once per item)."""
    return frozenset(template_variables(source))


@dataclass(frozen=True)
class Inputs:
    """One rendering of an item: which variant, which settings, which field values."""

    variant: str
    spec: Scenario
    shots: list[Row]
    fields: dict[str, Any]


def item_inputs(scenario: LoadedScenario, row: Row) -> Iterator[Inputs]:
    """The original item, then its perturbations, counterfactual swaps and settings variants."""
    spec = scenario.spec
    shots = fewshot_rows(spec, scenario.pool)
    item = scenario.item_id(row)
    yield Inputs("base", spec, shots, row.data)
    fields = input_fields(spec, row) if spec.perturbations else []
    for kind in spec.perturbations:
        yield Inputs(f"perturb:{kind}", spec, shots,
                     perturb(kind, row.data, fields, rng_for(spec.perturbation_seed, spec.id, item, kind)))
    if spec.counterfactuals is not None:
        cf = spec.counterfactuals
        for group, text in counterfactuals(row.data.get(cf.field), cf.swap).items():
            yield Inputs(f"cf:{cf.swap}:{group}", spec, shots, {**row.data, cf.field: text})
    for variant in spec.variants:
        changed = spec.with_variant(variant)
        yield Inputs(f"setting:{variant.name}", changed, fewshot_rows(changed, scenario.pool), row.data)


def build_trials(ws: LoadedWorkspace, sel: Selection) -> Iterator[Trial]:
    """Every trial of the selection: model-major, then scenario, item, variant, repeat; each model's load
    levels come after its other trials (the engine runs each level as one block at that level)."""
    models = {m.id: m for m in ws.spec.models}
    for model_id in sel.models:
        model = ws.spec.model(model_id)
        talks = [sid for sid in sel.scenarios if ws.scenarios[sid].spec.kind == "conversation"]
        for sid in sel.scenarios:
            scenario = ws.scenarios[sid]
            if sid in talks:
                continue
            for row in scenario.items:
                for inputs in item_inputs(scenario, row):
                    for repeat in range(scenario.spec.repeats):
                        yield make_trial(model, scenario, row, inputs, repeat)
        for sid in talks:   # after the single calls: a conversation block may need its own server (tools)
            yield from _conversations(ws.scenarios[sid], model, models)
        for sid, load in sel.loads:
            scenario = ws.scenarios[sid]
            if sid in talks:
                yield from _conversations(scenario, model, models, load.label)
                continue
            shots = fewshot_rows(scenario.spec, scenario.pool)
            for row in scenario.items:
                inputs = Inputs(f"load:{load.label}", scenario.spec, shots, row.data)
                for repeat in range(scenario.spec.repeats):
                    yield make_trial(model, scenario, row, inputs, repeat, level=load.label)


def _conversations(scenario: LoadedScenario, model: ModelSpec, models: dict[str, ModelSpec],
                   level: str | None = None) -> Iterator[Trial]:
    """A conversation entry per case, settings variant (not under load) and repeat."""
    from roadtest.plan.conversations import conversation_entry

    spec = scenario.spec
    variants = [("base", spec)] if level is not None else [("base", spec)] + [
        (f"setting:{v.name}", spec.with_variant(v)) for v in spec.variants]
    for row in scenario.items:
        item = scenario.item_id(row)
        for variant, changed in variants:
            for repeat in range(spec.repeats):
                yield conversation_entry(model, changed, item, row.data, f"load:{level}" if level else variant,
                                         repeat, models, level)


def make_trial(model: ModelSpec, scenario: LoadedScenario, row: Row, inputs: Inputs, repeat: int,
               level: str | None = None) -> Trial:
    spec = inputs.spec
    shown = Row(row.line, inputs.fields)
    item = scenario.item_id(row)
    mode = model.mode or spec.mode
    endpoint, body = (CHAT, chat_body(spec, shown, inputs.shots)) if mode == "chat" else (
        COMPLETION, completion_body(spec, shown, inputs.shots))
    body = {"model": model.request_model, **body, **sampling_body(spec, repeat)}
    if needs_logprobs(spec) and model.logprobs:
        body.update({"logprobs": True, "top_logprobs": 5} if endpoint == CHAT else {"logprobs": 5})
    reference: dict[str, Any] = {"answer": row.data[spec.scoring.answer]} if spec.scoring.answer else {}
    if spec.dataset.stratum:
        reference["group"] = str(row.data[spec.dataset.stratum])     # the stratum (archives call it group)
    if spec.dataset.cluster:
        reference["cluster"] = str(row.data[spec.dataset.cluster])
    if spec.policy is not None and spec.policy.must_refuse:
        reference["must_refuse"] = _truthy(row.data.get(spec.policy.must_refuse))
    return Trial(
        id=f"{model.id}/{spec.id}/{inputs.variant}/r{repeat}/{item}",
        model=model.id, scenario=spec.id, item=item, repeat=repeat, variant=inputs.variant,
        endpoint=endpoint, body=body, reference=reference, level=level,
    )


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y")
    return bool(value)


def _answer_text(spec: Scenario, row: Row) -> str:
    answer = row.data.get(spec.scoring.answer or "", "")
    return str(answer[0] if isinstance(answer, list) else answer)


def _template(spec: Scenario) -> str:
    """The user turn's template: every single scenario has one (the spec checks)."""
    template = spec.prompt.template
    assert template is not None
    return template


def chat_body(spec: Scenario, row: Row, shots: list[Row]) -> dict[str, Any]:
    messages = []
    if spec.prompt.system:
        messages.append({"role": "system", "content": spec.prompt.system})
    for shot in shots:
        messages.append({"role": "user", "content": render(_template(spec), shot.data)})
        messages.append({"role": "assistant", "content": _answer_text(spec, shot)})
    messages.append({"role": "user", "content": render(_template(spec), row.data)})
    return {"messages": messages}


def completion_body(spec: Scenario, row: Row, shots: list[Row]) -> dict[str, Any]:
    parts = [spec.prompt.system.strip()] if spec.prompt.system else []
    parts += [f"{render(_template(spec), s.data)} {_answer_text(spec, s)}" for s in shots]
    parts.append(render(_template(spec), row.data))
    return {"prompt": "\n\n".join(parts)}


def sampling_body(spec: Scenario, repeat: int) -> dict[str, Any]:
    s, lim = spec.sampling, spec.limits
    body: dict[str, Any] = {"temperature": s.temperature, "top_p": s.top_p, "max_tokens": lim.max_new_tokens}
    if s.seed is not None:
        body["seed"] = s.seed + repeat
    if lim.stop:
        body["stop"] = list(lim.stop)
    return body
