"""One scenario's page: the multi-metric table (HELM-style), groups, swaps, settings, failure examples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from markupsafe import Markup

from roadtest.report import charts
from roadtest.report.formatting import interval, num, signed, signed_interval
from roadtest.scoring.rules import normalise
from roadtest.spec.hypothesis import Load, load_words

if TYPE_CHECKING:
    from roadtest.report.conversation_view import ConversationView

FAMILY_ORDER = ["accuracy", "calibration", "robustness", "fairness", "bias", "toxicity", "policy", "efficiency",
                "failure modes", "variability"]
MODE_LABELS = {"error_rate": "errors", "timeout_rate": "timeouts", "empty_rate": "empty answers",
               "format_violation_rate": "format violations", "truncation_rate": "truncated answers",
               "wrong_answer": "wrong answers", "policy_violation": "policy violations",
               "toxic_output": "toxic outputs", "counterfactual_flip": "counterfactual flips"}
EXAMPLE_CHARS = 240
ANSWER_CHARS = 80


@dataclass(frozen=True)
class Cell:
    value: str
    interval: str
    note: str = ""


@dataclass(frozen=True)
class MetricRow:
    metric: str
    better: str
    cells: list[Cell]


@dataclass(frozen=True)
class Family:
    name: str
    rows: list[MetricRow]


@dataclass(frozen=True)
class ShareTable:
    """Accuracy by a grouping (dataset groups, or counterfactual swap groups), one column per model."""

    title: str
    rows: list[tuple[str, list[Cell]]]


@dataclass(frozen=True)
class Detail:
    """One line under a failure example: a label, a value quoted from the archive, a note in plain words."""

    label: str
    value: str = ""
    note: str = ""


@dataclass(frozen=True)
class FailureExample:
    model: str
    mode: str
    item: str
    text: str
    """The output (or the error), clipped."""
    details: list[Detail] = field(default_factory=list)
    """Lines under it: what was extracted and expected, the policy rules broken, the swapped answer."""


@dataclass(frozen=True)
class Sensitivity:
    rows: list[tuple[str, list[str]]]
    """(setting, the metric for each model)"""
    sentence: str
    pair: str
    """'a − b': the two leading models under the base settings."""
    gaps: list[tuple[str, str, str, str, str, str]]
    """(setting, gap a − b, its interval, n, what the test says, method)"""
    interactions: list[str]
    """Per variant: how far the gap moves (model x setting interaction), with its interval."""


@dataclass(frozen=True)
class LoadRow:
    model: str
    level: str
    achieved: str
    calls: str
    cells: list[Cell]


@dataclass(frozen=True)
class ScenarioView:
    id: str
    success: str
    models: list[str]
    sizes: list[str]
    families: list[Family]
    notes: list[str]
    groups: ShareTable | None
    swaps: ShareTable | None
    sensitivity: Sensitivity | None
    failures: list[FailureExample]
    load: list[LoadRow]
    charts: list[Markup]
    tradeoff: Markup | None = None
    tradeoff_note: str = ""
    """Which models the trade-off chart leaves out, and why."""
    warnings: list[str] = field(default_factory=list)
    """Design warnings about this scenario's settings (a stochastic variant without repeats)."""
    conversation: ConversationView | None = None
    """A conversation scenario's own section (roadtest.report.conversation_view), under its metric table."""
    load_heads: tuple[str, ...] = ("Calls", "Mean", "p50", "p95", "Errors")
    """The load table's column heads after Model, Level asked and Achieved."""


def _cell(e: dict[str, Any] | None, unit: str) -> Cell:
    if e is None:
        return Cell("—", "")
    if e["value"] is None:
        return Cell("n/a", "", e.get("note", ""))
    iv = interval(e["lo"], e["hi"], unit) if (e["lo"] is not None or e["hi"] is not None) else "no interval"
    return Cell(num(e["value"], unit), iv)


def _share_cell(entry: dict[str, Any] | None) -> Cell:
    if entry is None:
        return Cell("—", "")
    return Cell(num(entry["value"], "proportion"), f"{interval(entry['lo'], entry['hi'], 'proportion')} n = {entry['n']}")


def _share_table(title: str, key: str, per_model: dict[str, Any], models: list[str]) -> ShareTable | None:
    names = []
    for m in models:
        for g in per_model.get(m, {}).get(key, []):
            if g["group"] not in names:
                names.append(g["group"])
    if not names:
        return None
    rows = []
    for name in names:
        cells = [_share_cell(next((g for g in per_model.get(m, {}).get(key, []) if g["group"] == name), None))
                 for m in models]
        rows.append((name, cells))
    return ShareTable(title, rows)


def in_conversation_table(metric: str, info: dict[str, Any]) -> bool:
    """A conversation scenario shows these metrics in its conversation table (conversation_view), not here."""
    return info.get("family") == "conversation" or metric == "policy_violation_rate"


def _notes(per_model: dict[str, Any], models: list[str], catalogue: dict[str, Any],
           elsewhere: frozenset[str] = frozenset()) -> list[str]:
    """One line per metric whose cells carry a note (why it is not available, how it was measured),
    and one line for clustering, which applies to every proportion alike; `elsewhere`: metrics whose notes stand
    under another table."""
    seen: dict[str, list[str]] = {}
    design = ""
    for m in models:
        for metric, e in per_model[m]["variants"]["base"]["metrics"].items():
            if metric in elsewhere:
                continue
            if e.get("note") and e["note"] not in seen.setdefault(metric, []):
                seen[metric].append(e["note"])
            if metric == "accuracy" and e.get("design"):
                design = e["design"]
    lines = [f"{metric}: {' / '.join(notes)}" for metric, notes in seen.items() if notes]
    if design:
        lines.append(f"Proportions use clustered standard errors over the dataset's groups ({design}).")
    return lines


def _reading(gap: dict[str, Any], a: str | None, b: str | None) -> str:
    """What the gap's test says, in the words the scan uses."""
    if gap["verdict"] == "SUPPORTED":
        return f"{a} is better than {b}"
    if gap["verdict"] == "REFUTED":
        return f"{b} is better than {a}"
    return "not shown to differ"


def _sensitivity(entry: dict[str, Any] | None, models: list[str], unit: str) -> Sensitivity | None:
    if not entry:
        return None
    rows = [(label.removeprefix("setting:"), [num(scores.get(m), unit) for m in models])
            for label, scores in entry["scores"].items()]
    shift = max(entry["largest_shift"].values())
    sentence = f"A settings change alone moves {entry['metric']} by up to {num(shift, unit)}"
    if entry["reversed_by"]:
        sentence += (f"; under {', '.join(v.removeprefix('setting:') for v in entry['reversed_by'])} "
                     f"{entry['b']} scores above {entry['a']}: which of the two is better depends on the settings")
    a, b = entry.get("a"), entry.get("b")
    gaps = [(g["variant"].removeprefix("setting:"), signed(g["estimate"], unit),
             signed_interval(g["lower"], g["upper"], unit), str(g["n"]), _reading(g, a, b), g["method"])
            for g in entry.get("gaps", [])]
    return Sensitivity(rows, sentence + ".", f"{a} − {b}" if a and b else "", gaps,
                       [i["sentence"] for i in entry.get("interactions", [])])


def _failures(per_model: dict[str, Any], models: list[str]) -> list[FailureExample]:
    """Per model, the kinds in MODE_LABELS order (metrics.json sorts its keys)."""
    order = list(MODE_LABELS)
    out = []
    for m in models:
        failures = per_model[m].get("failures", {})
        for mode in sorted(failures, key=lambda k: (order.index(k) if k in order else len(order), k)):
            for ex in failures[mode]["examples"]:
                text = ex["output"] if ex["output"] is not None else f"[{ex['error']}] {ex['message'] or ''}"
                out.append(FailureExample(m, MODE_LABELS.get(mode, mode), ex["item"], clip(text) or "(empty)",
                                          _details(mode, ex)))
    return out


def _answer(value: Any, output: str | None = None) -> str:
    """An extracted answer, or '' when it only repeats the output above it."""
    if value is None:
        return ""
    if output is not None and normalise(output) == normalise(str(value)):
        return ""
    return clip(str(value), ANSWER_CHARS)


def _details(mode: str, ex: dict[str, Any]) -> list[Detail]:
    """The lines that say why an answered output is in the table."""
    if mode == "wrong_answer":
        extracted = _answer(ex.get("extracted"), ex["output"])
        lines = [Detail("extracted", extracted)] if extracted else []
        if ex.get("reference") is not None:
            lines.append(Detail("expected", clip(str(ex["reference"]), ANSWER_CHARS)))
        return lines
    if mode == "policy_violation":
        return [Detail("broke", "", ex.get("reasons") or "")]
    if mode == "toxic_output" and ex.get("toxicity") is not None:
        return [Detail("toxicity score", "", f"{ex['toxicity']:.2f}")]
    if mode == "counterfactual_flip":
        swapped = ex["swapped"]
        _, kind, group = (swapped["variant"].split(":", 2) + ["", ""])[:3]
        lines = []
        if _answer(ex.get("answer"), ex["output"]):
            lines.append(Detail("original answer", _answer(ex.get("answer"))))
        lines.append(Detail(f"with {group} {kind}", clip(swapped["output"] or "") or "(empty)"))
        if _answer(swapped.get("answer"), swapped["output"]):
            lines.append(Detail("swapped answer", _answer(swapped.get("answer"))))
        return lines
    return []


def clip(text: str, limit: int = EXAMPLE_CHARS) -> str:
    """At most `limit` characters, cut at a word boundary when one is near, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rstrip().rfind(" ")
    return (cut[:space] if space > limit * 0.6 else cut).rstrip() + " …"


LOAD_TIMES = ("latency_mean_s", "latency_p50_s", "latency_p95_s", "conversation_latency_p95_s")
LOAD_HEADS = {"single": ("Calls", "Mean", "p50", "p95", "Errors"),
              "conversation": ("Conversations", "p95 of a conversation", "Errors")}
"""The load table's columns: per call for a single scenario, per conversation for a conversation."""


def _load_rows(load: dict[str, Any] | None, models: list[str]) -> list[LoadRow]:
    rows = []
    for m in models:
        for label, lv in (load or {}).get(m, {}).items():
            if not lv.get("calls"):
                continue
            t = lv["target"]
            level = Load.model_validate({k: t[k] for k in ("concurrency", "rps") if t.get(k) is not None}).words()
            level = ("normal: " if label == "base" else "") + level
            if lv.get("replicas"):
                level += f", across {lv['replicas']} replicas"
            if lv.get("achieved_concurrency") is None:
                got = "not measured: every call came from the response cache"
            else:
                got = f"{lv['achieved_concurrency']:.1f} in flight" + (
                    f", {lv['achieved_rps']:.2f} req/s" if lv.get("achieved_rps") else "")
                if lv.get("from_cache"):
                    got += f" ({lv['calls'] - lv['from_cache']} calls sent; {lv['from_cache']} from the cache)"
            times = [k for k in LOAD_TIMES if k in lv["metrics"]]
            cells = [_cell(lv["metrics"][k], "seconds") for k in times]
            cells.append(_cell(lv["metrics"]["error_rate"], "proportion"))
            rows.append(LoadRow(m, level, got, str(lv["calls"]), cells))
    return rows


def metric_label(metric: str, unit: str, currency: str | None) -> str:
    """A metric's name as the tables print it: a cost names its currency when the workspace gives one."""
    return f"{metric} ({currency})" if unit == "currency" and currency else metric


def scenario_view(sid: str, spec: dict[str, Any], metrics: dict[str, Any], model_ids: list[str],
                  style: charts.Styles | None = None, warnings: Sequence[str] = (),
                  currency: str | None = None) -> ScenarioView:
    """One scenario from metrics.json; `warnings`: the design warnings about it (roadtest.verdict.feasibility);
    `currency`: named beside every cost (report.currency)."""
    per_model, catalogue = metrics["scenarios"].get(sid, {}), metrics["metrics"]
    sensitivity, load = metrics.get("sensitivity", {}).get(sid), metrics.get("load", {}).get(sid)
    style = style or charts.styles(model_ids)
    models = [m for m in model_ids if m in per_model]
    first = per_model[models[0]]["variants"]["base"]["metrics"] if models else {}
    families: dict[str, list[MetricRow]] = {}
    headline = HEADLINES["conversation" if spec.get("kind") == "conversation" else "single"]
    elsewhere = frozenset(metric for metric in first if spec.get("kind") == "conversation"
                          and in_conversation_table(metric, catalogue[metric]))
    for metric in first:
        info = catalogue[metric]
        if metric in elsewhere:
            continue
        cells = [_cell(per_model[m]["variants"]["base"]["metrics"].get(metric), info["unit"]) for m in models]
        families.setdefault(info["family"], []).append(
            MetricRow(metric_label(metric, info["unit"], currency), "↑" if info["direction"] == "higher" else "↓",
                      cells))
    ordered = [Family(f.capitalize(), families[f]) for f in FAMILY_ORDER if f in families]
    unit = ("cases", "conversations") if spec.get("kind") == "conversation" else ("items", "calls")
    sizes = [f"{per_model[m]['variants']['base']['items']} {unit[0]}, {per_model[m]['variants']['base']['trials']} {unit[1]}"
             for m in models]
    unit = catalogue.get((sensitivity or {}).get("metric", ""), {}).get("unit", "")
    return ScenarioView(
        sid, spec["success"], models, sizes, ordered, _notes(per_model, models, catalogue, elsewhere) if models else [],
        _share_table("Accuracy by dataset group (fairness)", "groups", per_model, models),
        _share_table("Accuracy by swapped group on items with a swappable term (bias)", "counterfactual_groups",
                     per_model, models),
        _sensitivity(sensitivity, models, unit), _failures(per_model, models) if models else [],
        _load_rows(load, models), _charts(per_model, models, sensitivity, load, style, headline),
        *tradeoff(per_model, models, style, headline, currency),
        [w.removeprefix(f"{sid}: ") for w in warnings if w.startswith(f"{sid}: ")],
        load_heads=LOAD_HEADS["conversation" if spec.get("kind") == "conversation" else "single"])


def _base(per_model: dict[str, Any], model: str, metric: str) -> dict[str, Any]:
    return per_model[model]["variants"]["base"]["metrics"].get(metric) or {"value": None, "lo": None, "hi": None}


@dataclass(frozen=True)
class Headline:
    """The metric a scenario's charts put first, and the time the trade-off sets it against when not priced."""

    metric: str
    title: str
    latency: str
    latency_label: str


HEADLINES = {"single": Headline("accuracy", "Accuracy", "latency_p95_s", "p95 latency (s)"),
             "conversation": Headline("resolution_rate", "Resolution rate", "conversation_latency_p95_s",
                                      "p95 time of a conversation (s)")}


def tradeoff(per_model: dict[str, Any], models: list[str], style: charts.Styles,
             headline: Headline = HEADLINES["single"], currency: str | None = None) -> tuple[Markup | None, str]:
    """Accuracy (a conversation's resolution rate) against cost per item (every model priced) or p95 latency,
    with the intervals of the scenario table on both axes; and which models the chart leaves out, for want of
    an estimate."""
    priced = models and all(_base(per_model, m, "cost_per_item")["value"] is not None for m in models)
    key, label = (("cost_per_item", "cost per item" + (f" ({currency})" if currency else "")) if priced
                  else (headline.latency, headline.latency_label))
    points = []
    for m in models:
        q, c = _base(per_model, m, headline.metric), _base(per_model, m, key)
        points.append((m, q["value"], q["lo"], q["hi"], c["value"], c["lo"], c["hi"]))
    left_out = [p[0] for p in points if p[1] is None or p[4] is None]
    note = (f"Not in the trade-off chart: {', '.join(left_out)} (no estimate of {headline.metric} or {key}; the "
            "table's notes say why).")
    return charts.tradeoff_chart(points, label, headline.metric, style), note if left_out else ""


def _charts(per_model: dict[str, Any], models: list[str], sensitivity: dict[str, Any] | None,
            load: dict[str, Any] | None, style: charts.Styles,
            headline: Headline = HEADLINES["single"]) -> list[Markup]:
    """Accuracy (a conversation's resolution rate) by model with its interval; latency by traffic level; the
    settings variants."""
    out = []
    rows = []
    for m in models:
        e = per_model[m]["variants"]["base"]["metrics"].get(headline.metric)
        if e is not None:
            rows.append((m, e["value"], e["lo"], e["hi"]))
    out.append(charts.interval_chart(f"{headline.title} by model, with its 90% interval", rows, headline.metric,
                                     style))
    levels = []
    for m in models:
        for label, lv in (load or {}).get(m, {}).items():
            if lv.get("calls") and "latency_p50_s" in lv["metrics"]:
                name = "normal" if label == "base" else load_words(label, short=True)
                levels.append((m, name, lv["metrics"]["latency_p50_s"]["value"], lv["metrics"]["latency_p95_s"]["value"]))
    out.append(charts.load_chart(levels, style))
    if sensitivity:
        out.append(charts.sensitivity_chart(sensitivity["scores"], sensitivity["metric"], style))
    return [c for c in out if c is not None]
