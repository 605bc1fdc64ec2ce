"""Spec -> Trials: every request of a run, fully rendered, with stable ids. Pure, no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Iterator

from roadtest.errors import RoadtestError
from roadtest.load import LoadedScenario, LoadedWorkspace, Row
from roadtest.load.templates import render
from roadtest.registry import did_you_mean
from roadtest.spec import ModelSpec, Scenario

CHAT = "chat/completions"
COMPLETION = "completions"


@dataclass(frozen=True)
class Trial:
    """One model call: who, what item, which repeat and variant, the exact request."""

    id: str
    model: str
    scenario: str
    item: str
    repeat: int
    variant: str
    endpoint: str
    body: dict[str, Any] = field(hash=False)
    reference: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class Selection:
    """Which hypotheses and models a run covers, and the scenarios they link."""

    hypotheses: tuple[str, ...]
    models: tuple[str, ...]
    scenarios: tuple[str, ...]


def select(ws: LoadedWorkspace, hypotheses: list[str] | None = None,
           models: list[str] | None = None) -> Selection:
    """Resolve -H/-m filters; unknown names get a did-you-mean."""
    hyp_ids = _pick("hypothesis", hypotheses, list(ws.hypotheses))
    model_ids = _pick("model", models, [m.id for m in ws.spec.models])
    scenarios: list[str] = []
    for hid in hyp_ids:
        for crit in ws.hypotheses[hid].spec.criteria:
            if crit.scenario not in scenarios:
                scenarios.append(crit.scenario)
            if crit.versus is not None and crit.versus.model not in model_ids:
                model_ids.append(crit.versus.model)  # a comparison needs its baseline
    return Selection(tuple(hyp_ids), tuple(model_ids), tuple(scenarios))


def _pick(kind: str, wanted: list[str] | None, known: list[str]) -> list[str]:
    if not wanted:
        return list(known)
    for name in wanted:
        if name not in known:
            raise RoadtestError(f"unknown {kind} '{name}'", did_you_mean(name, known))
    return [k for k in known if k in wanted]


def fewshot_rows(scenario: LoadedScenario) -> list[Row]:
    """The k few-shot examples, drawn once with the scenario's seed (same for every item and model)."""
    fs = scenario.spec.prompt.fewshot
    if fs is None or fs.k == 0 or scenario.pool is None:
        return []
    picks = random.Random(fs.seed).sample(range(len(scenario.pool.rows)), fs.k)
    return [scenario.pool.rows[i] for i in picks]


def fewshot_ids(scenario: LoadedScenario) -> list[str]:
    id_field = scenario.spec.dataset.id
    return [str(r.data.get(id_field, f"line {r.line}")) for r in fewshot_rows(scenario)]


def build_trials(ws: LoadedWorkspace, sel: Selection) -> Iterator[Trial]:
    """Every trial of the selection: model-major, then scenario, item, repeat."""
    for model_id in sel.models:
        model = ws.spec.model(model_id)
        for sid in sel.scenarios:
            scenario = ws.scenarios[sid]
            shots = fewshot_rows(scenario)
            for row in scenario.items:
                for repeat in range(scenario.spec.repeats):
                    yield make_trial(model, scenario, row, shots, repeat)


def make_trial(model: ModelSpec, scenario: LoadedScenario, row: Row, shots: list[Row],
               repeat: int, variant: str = "base") -> Trial:
    spec = scenario.spec
    item = scenario.item_id(row)
    mode = model.mode or spec.mode
    endpoint, body = (CHAT, chat_body(spec, row, shots)) if mode == "chat" else (
        COMPLETION, completion_body(spec, row, shots))
    body = {"model": model.request_model, **body, **sampling_body(spec, repeat)}
    reference = {"answer": row.data[spec.scoring.answer]}
    if spec.dataset.group:
        reference["group"] = str(row.data[spec.dataset.group])
    return Trial(
        id=f"{model.id}/{spec.id}/{variant}/r{repeat}/{item}",
        model=model.id, scenario=spec.id, item=item, repeat=repeat, variant=variant,
        endpoint=endpoint, body=body, reference=reference,
    )


def _answer_text(spec: Scenario, row: Row) -> str:
    answer = row.data[spec.scoring.answer]
    return str(answer[0] if isinstance(answer, list) else answer)


def chat_body(spec: Scenario, row: Row, shots: list[Row]) -> dict[str, Any]:
    messages = []
    if spec.prompt.system:
        messages.append({"role": "system", "content": spec.prompt.system})
    for shot in shots:
        messages.append({"role": "user", "content": render(spec.prompt.template, shot.data)})
        messages.append({"role": "assistant", "content": _answer_text(spec, shot)})
    messages.append({"role": "user", "content": render(spec.prompt.template, row.data)})
    return {"messages": messages}


def completion_body(spec: Scenario, row: Row, shots: list[Row]) -> dict[str, Any]:
    parts = [spec.prompt.system.strip()] if spec.prompt.system else []
    parts += [f"{render(spec.prompt.template, s.data)} {_answer_text(spec, s)}" for s in shots]
    parts.append(render(spec.prompt.template, row.data))
    return {"prompt": "\n\n".join(parts)}


def sampling_body(spec: Scenario, repeat: int) -> dict[str, Any]:
    s, lim = spec.sampling, spec.limits
    body: dict[str, Any] = {"temperature": s.temperature, "top_p": s.top_p, "max_tokens": lim.max_new_tokens}
    if s.seed is not None:
        body["seed"] = s.seed + repeat
    if lim.stop:
        body["stop"] = list(lim.stop)
    return body
