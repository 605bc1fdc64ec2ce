"""Archive files -> a typed view of the decision document. Templates only loop and print."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Sequence

from markupsafe import Markup

from roadtest.report import charts, cost
from roadtest.report.appendix import Settings, endpoint_line, identity_line, request_text, run_record, settings
from roadtest.report.conversation_view import conversation_view
from roadtest.report.decisions_view import DecisionsView, decisions_view
from roadtest.report.formatting import count, interval, num, plural
from roadtest.report.hypothesis_view import HypothesisView, MatrixRow, NotDecided, hypothesis_view, matrix_row
from roadtest.report.recommendation import Recommendation, recommendation
from roadtest.report.scenario_view import ScenarioView, scenario_view
from roadtest.report.sections import (
    BestSet, Comparison, Interaction, VariabilityRow, best_sets, comparisons, interactions, scan_index,
    variability_rows,
)
from roadtest.verdict.feasibility import warnings as design_warnings

if TYPE_CHECKING:
    from roadtest.archive.schema import Manifest
    from roadtest.report.diff_view import DiffView


@dataclass(frozen=True)
class ReportView:
    title: str
    generated: str
    run_ids: list[str]
    fingerprints: list[str]
    models: list[tuple[str, str]]
    convention: str
    model_ids: list[str]
    matrix: list[MatrixRow]
    hypotheses: list[HypothesisView]
    scenarios: list[ScenarioView]
    settings: list[Settings]
    versions: list[tuple[str, str]]
    commands: list[str]
    not_decided: list[NotDecided] = field(default_factory=list)
    """Every (hypothesis, model) cell without a verdict because its endpoint failed, with the reason: page 1."""
    best_sets: list[BestSet] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    depends: list[str] = field(default_factory=list)
    """The significant model x scenario interactions, in words: page 1 says these instead of a grand mean."""
    rank_metric: str = "accuracy"
    bootstrap: str = ""
    toxicity_classifier: str = ""
    judges: list[str] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    variability: list[VariabilityRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    design_warnings: list[str] = field(default_factory=list)
    """Designs that cannot say what they seem to (roadtest.verdict.feasibility), also shown where they apply."""
    model_lines: list[tuple[str, str]] = field(default_factory=list)
    model_note: str = ""
    """How the figures in the model lines are computed, said once."""
    toc: list[tuple[str, str, int]] = field(default_factory=list)
    """(anchor, title, level) for the table of contents."""
    tradeoff: Markup | None = None
    """Page 1's trade-off chart: the one scenario's; with several, each scenario's section has its own."""
    tradeoff_note: str = ""
    diffs: list = field(default_factory=list)
    model_details: list[tuple[str, str]] = field(default_factory=list)
    """Per model, everything that identifies it and how it was called (the appendix; `models` is the short form)."""
    run_record: list[tuple[str, str]] = field(default_factory=list)
    """When, how and from what the run was made: command, times, status, workspace revision, platform, cache."""
    cost_notes: list[str] = field(default_factory=list)
    """Said once under the model lines: the currency is not set; the scenarios a cost per month leaves out."""
    recommendations: list[Recommendation] = field(default_factory=list)
    """Page 1: per hypothesis, what the evidence supports doing (and the decision recorded for it)."""
    decisions: DecisionsView | None = None
    """The workspace's decision record (the Decisions section), when the report was given one."""


def model_line(summary: dict[str, Any] | None, per_scenario: list[tuple[str, dict[str, Any]]] | None = None,
               costing: cost.Costing = cost.NO_COSTING, month: float | None = None) -> str:
    """Page 1: accuracy (per scenario when which model is better depends on the scenario, never their mean then)
    and p95 latency, each with its interval and n; cost per 1,000 items in the workspace's currency (and `month`,
    its cost per month at the traffic of `costing`); every call the model made."""
    if not summary:
        return "no calls"
    bits = []
    if per_scenario:
        bits.append("accuracy " + "; ".join(f"{sid} {num(e['value'], 'proportion')} "
                                           f"{interval(e['lo'], e['hi'], 'proportion')} (n = {count(e['n'])})"
                                           for sid, e in per_scenario))
    elif summary.get("accuracy") is not None:
        bits.append(f"accuracy {num(summary['accuracy'], 'proportion')}{_bounds(summary, 'accuracy', 'proportion')} "
                    f"({_accuracy_basis(summary)})")
    if summary.get("latency_p95_s") is not None:
        bits.append(f"p95 latency {num(summary['latency_p95_s'], 'seconds')}"
                    f"{_bounds(summary, 'latency_p95', 'seconds')} {_latency_basis(summary)}")
    bits.append(cost.per_thousand(summary.get("cost_per_item"), costing))
    if summary.get("cost_per_item") is not None and cost.by_month(costing):
        bits.append(cost.per_month(month, costing))
    bits.append(_calls(summary))
    return " · ".join(bits)


def _bounds(summary: dict[str, Any], key: str, unit: str) -> str:
    lo, hi = summary.get(f"{key}_lo"), summary.get(f"{key}_hi")
    return "" if lo is None and hi is None else f" {interval(lo, hi, unit)}"


def _accuracy_basis(summary: dict[str, Any]) -> str:
    if "accuracy_items" not in summary:             # metrics.json of an older roadtest
        return "mean over scenarios"
    scenarios, items = summary["accuracy_scenarios"], summary["accuracy_items"]
    if scenarios == 1:
        return f"n = {count(items)} items"
    return f"mean of {scenarios} scenario accuracies, n = {count(items)} items"


def _latency_basis(summary: dict[str, Any]) -> str:
    if "latency_n" not in summary:
        return "over every scenario's original calls"
    n, cached = summary["latency_n"], summary["latency_cached"]
    if "latency_warmup" not in summary:             # an older metrics.json timed cached answers when first cached
        return f"over all scenarios' original calls (n = {count(n)}" + (
            f"; {count(cached)} of {count(n)} timed when first cached)" if cached else ")")
    return (f"over all scenarios' original calls timed live (n = {count(n)}; set apart: "
            f"{plural(summary['latency_warmup'], 'warm-up call')} and {plural(cached, 'cached call')})")


MODEL_NOTE = ("Accuracy: plain mean of the scenario accuracies, 90% interval from the stratified standard error "
              "(scenarios as strata; descriptive, no verdict rests on it); given per scenario instead when which model is better depends on the scenario. "
              "p95 latency: every scenario's original calls pooled (no perturbed, swapped, variant or load-level "
              "calls), timed live on a warm endpoint: the warm-up calls after an endpoint opened and the answers served from "
              "the response cache are set apart and never enter a latency; order-statistic interval, the item as the "
              "unit.")


def _calls(summary: dict[str, Any]) -> str:
    if "original_calls" not in summary:             # an older metrics.json counted the original calls only
        return f"{summary['errors']} failed of {summary['calls']:,} original calls"
    text = f"{summary['errors']} failed of {summary['calls']:,} calls; {summary['original_calls']:,} original"
    if summary["original_errors"] != summary["errors"]:
        text += f" ({summary['original_errors']} of them failed)"
    return text


def _judge_line(j: dict[str, Any]) -> str:
    rate = "—" if j["pass_rate"] is None else f"{j['pass_rate']:.2f}"
    return (f"{j['model']} judged {j['calls']} outputs ({j['purpose']}): PASS rate {rate}, {j['errors']} failed calls, "
            f"{j['unparsed']} answers that were neither PASS nor FAIL, mean latency {j['latency_mean_s']:.2f} s")


def _accuracies(metrics: dict[str, Any], model: str, scenario_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """Each scenario's accuracy estimate for one model (the scenario table's numbers)."""
    out = []
    for sid in scenario_ids:
        entry = metrics["scenarios"].get(sid, {}).get(model)
        e = entry["variants"]["base"]["metrics"].get("accuracy") if entry else None
        if e and e.get("value") is not None:
            out.append((sid, e))
    return out


def _pair_warnings(scenarios: list[ScenarioView], scan: list[Comparison]) -> list[ScenarioView]:
    """A design warning about a pair (a confounded comparison) also stands where the settings gap of that pair
    is shown."""
    out = []
    for s in scenarios:
        pair = s.sensitivity.pair if s.sensitivity else None
        extra = [w for c in scan if c.scenario == s.id and pair in (f"{c.a} − {c.b}", f"{c.b} − {c.a}")
                 for w in c.warnings if w not in s.warnings]
        out.append(replace(s, warnings=s.warnings + extra) if extra else s)
    return out


def _toc(hyps, scenarios, best, variability, decisions=None) -> list[tuple[str, str, int]]:
    toc = [("decision", "Decision summary", 1), ("hypotheses", "Hypotheses and evidence", 1)]
    toc += [(f"h-{h.id}", h.title, 2) for h in hyps]
    if decisions is not None:
        toc.append(("decisions", "Decisions", 1))
    toc.append(("scenarios", "Scenarios: every metric side by side", 1))
    toc += [(f"s-{s.id}", s.id, 2) for s in scenarios]
    if best:
        toc.append(("ranks", "Which model is best", 1))
    if variability:
        toc.append(("variability", "Run-to-run variability", 1))
    toc.append(("appendix", "Reproducibility appendix", 1))
    return toc


def _commands(run_ids: list[str]) -> list[str]:
    commands = ["# from the workspace folder; anywhere else, give the run's folder instead of its id"]
    for run_id in run_ids:
        commands += [f"roadtest replay {run_id}    # scores, metrics, verdicts and this report again, from the archive alone",
                     f"roadtest rerun {run_id}     # the same requests sent again; says whether the results reproduce",
                     f"roadtest verify {run_id}    # every file against the sha256 in its manifest"]
    commands.append(f"roadtest report {' '.join(run_ids)} --format html,pdf")
    return commands


def _cost_lines(metrics: dict[str, Any], model_ids: list[str], scenario_ids: list[str], depends: list[str],
                costing: cost.Costing) -> list[tuple[str, str]]:
    return [(m, model_line(metrics.get("models", {}).get(m), _accuracies(metrics, m, scenario_ids) if depends else None,
                           costing, cost.monthly(metrics, m, costing))) for m in model_ids]


def replica_warnings(endpoints: dict[str, Any], model_ids: Sequence[str]) -> list[str]:
    """Page 1's warning for each replica that seems to serve a different model under its model's name (the
    engine recorded it in the model's endpoint entry: roadtest.engine.replicas.replica_drift)."""
    return [f"{m}: {sentence}" for m in model_ids for sentence in (endpoints.get(m) or {}).get("replica_drift") or []]


def shard_warnings(manifest: Manifest) -> list[str]:
    """A document of one shard says first that its evidence is a slice of the run's."""
    if manifest.shard is None:
        return []
    k, n = manifest.shard.index, manifest.shard.count
    return [f"This document covers shard {k} of {n} of a run: about 1/{n} of its plan. Its verdicts are of that "
            f"slice alone, not the run's; merge the shards (`roadtest merge`) and report the merged run for the "
            "decision."]


def build_view(manifest: Manifest, metrics: dict[str, Any], verdicts: dict[str, Any],
               generated: str, requests: dict[tuple[str, str], dict[str, Any]] | None = None, *,
               decisions: dict[str, Any] | None = None, run_ids: Sequence[str] | None = None,
               fingerprints: Sequence[str] | None = None, warnings: Sequence[str] = (),
               diffs: Sequence[DiffView] = ()) -> ReportView:
    """The report's view model. `requests`: (scenario, model) -> the body of its first original request,
    shown in the appendix exactly as sent (the prompt assembled from system, few-shot and template).
    `decisions`: the workspace's decision record as of this run (decisions.json, see roadtest.decisions); with
    it, page 1 shows each hypothesis's decision and the document gets a Decisions section.
    A document over several runs (`manifest` then holds their combined configuration) names them all
    (`run_ids`, `fingerprints`), warns where their settings differ (`warnings`) and compares them in its
    appendix (`diffs`)."""
    config = manifest.config
    catalogue = metrics["metrics"]
    units = {m: i["unit"] for m, i in catalogue.items()}
    model_ids = list(config.selection.models)
    scenario_ids = list(config.selection.scenarios)
    costing = cost.costing(config)
    currency = costing.currency
    style = charts.styles(model_ids)
    warned = design_warnings(config.dump())
    scan = metrics.get("comparisons", [])
    hyps = [hypothesis_view(h, config.hypotheses[h["id"]].spec, model_ids, units, scan_index(scan, verdicts),
                            warned, currency) for h in verdicts["hypotheses"]]
    scenarios = [scenario_view(sid, config.scenarios[sid].spec, metrics, model_ids, style, warned, currency)
                 for sid in scenario_ids]
    scenarios = [replace(s, conversation=conversation_view(s.id, config.scenarios[s.id].spec, metrics,
                                                           model_ids)) for s in scenarios]
    first_requests = requests or {}
    appendix = [replace(st, examples=[(m, request_text(first_requests[st.scenario, m]))
                                      for m in model_ids if (st.scenario, m) in first_requests])
                for st in (settings(sid, config.scenarios[sid]) for sid in scenario_ids)]
    endpoints = manifest.endpoints
    run_ids = list(run_ids or [manifest.run_id])
    models = [m.dump() for m in config.models]
    ranks = metrics.get("ranks") or {"metric": "accuracy", "scenarios": {}}
    best = best_sets(ranks, catalogue)
    mixed = interactions(ranks, catalogue)
    depends = [i.sentence for i in mixed if i.significant]
    variability = variability_rows(metrics.get("variability", {}), units)
    scan_rows = comparisons(scan, catalogue, verdicts, warned, currency)
    scenarios = _pair_warnings(scenarios, scan_rows)
    record = decisions_view(decisions) if decisions is not None else None
    priced = any((metrics.get("models", {}).get(m) or {}).get("cost_per_item") is not None for m in model_ids)
    assert config.workspace is not None  # every run archives roadtest.yaml's settings (roadtest.archive.config)
    return ReportView(
        title=config.workspace.report["title"], generated=generated, run_ids=run_ids,
        fingerprints=list(fingerprints or [manifest.fingerprint]),
        models=[(m["id"], identity_line(m, endpoints.get(m["id"], {}))) for m in models],
        run_record=run_record(manifest, run_ids),
        model_details=[(m["id"], endpoint_line(m, endpoints.get(m["id"], {}), currency)) for m in models],
        convention=verdicts["convention"], model_ids=model_ids,
        matrix=[matrix_row(h, model_ids, units, currency) for h in verdicts["hypotheses"]],
        not_decided=[nd for h in hyps for nd in h.not_decided], hypotheses=hyps, scenarios=scenarios,
        settings=appendix, versions=[(k, str(v)) for k, v in sorted(manifest.versions.items()) if v],
        commands=_commands(run_ids), best_sets=best, interactions=mixed, depends=depends, rank_metric=ranks["metric"],
        bootstrap=f"seed {metrics['bootstrap']['seed']}, B = {metrics['bootstrap']['B']:,}",
        toxicity_classifier=metrics.get("toxicity_classifier", ""),
        judges=[_judge_line(j) for j in metrics.get("judges", {}).values()],
        comparisons=scan_rows, variability=variability,
        warnings=shard_warnings(manifest) + list(warnings) + replica_warnings(endpoints, [m["id"] for m in models]),
        design_warnings=warned,
        model_lines=_cost_lines(metrics, model_ids, scenario_ids, depends, costing),
        model_note=MODEL_NOTE if any("latency_n" in v for v in metrics.get("models", {}).values()) else "",
        toc=_toc(hyps, scenarios, best or scan, variability, record),
        tradeoff=scenarios[0].tradeoff if len(scenarios) == 1 else None,
        tradeoff_note=scenarios[0].tradeoff_note if len(scenarios) == 1 else "", diffs=list(diffs),
        cost_notes=cost.notes(costing, priced),
        recommendations=[recommendation(h, model_ids, units, metrics, costing, decisions)
                         for h in verdicts["hypotheses"]],
        decisions=record,
    )
