"""Archive files -> a typed view of the decision document. Templates only loop and print."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from markupsafe import Markup

from roadtest.report import charts
from roadtest.report.formatting import count, interval, num, pvalue
from roadtest.report.markdown import render_markdown
from roadtest.report.scenario_view import ScenarioView, scenario_view
from roadtest.report.sections import (
    Comparison, RankTable, VariabilityRow, comparisons, rank_tables, variability_rows,
)

BADGES = {
    "SUPPORTED": ("supported", "✓"), "REFUTED": ("refuted", "×"), "INCONCLUSIVE": ("inconclusive", "?"),
    "NOT RUN": ("notrun", "–"), "NOT APPLICABLE": ("notapplicable", "·"),
}
SYMBOLS = {"at_least": "≥", "at_most": "≤"}


@dataclass(frozen=True)
class Badge:
    verdict: str
    css: str
    symbol: str


def badge(verdict: str) -> Badge:
    css, symbol = BADGES.get(verdict, ("notrun", "–"))
    return Badge(verdict, css, symbol)


@dataclass(frozen=True)
class MatrixRow:
    hypothesis_id: str
    title: str
    cells: list[Badge]
    sentence: str


@dataclass(frozen=True)
class CriterionRow:
    model: str
    verdict: Badge
    estimate: str
    bounds: str
    n: str
    p: str
    p_adj: str
    method: str
    note: str


@dataclass(frozen=True)
class CriterionGroup:
    """One criterion: its claim, then one row per model."""

    claim: str
    rows: list[CriterionRow]


@dataclass(frozen=True)
class HypothesisView:
    id: str
    title: str
    meta: list[tuple[str, str]]
    body: Markup
    verdicts: list[tuple[str, Badge]]
    criteria: list[CriterionGroup]


@dataclass(frozen=True)
class Settings:
    scenario: str
    items: list[tuple[str, str]]
    template: str
    system: str
    examples: list[tuple[str, str]] = field(default_factory=list)
    """(model, the first original request exactly as sent: chat messages or the completion prompt)."""


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
    ranks: list[RankTable] = field(default_factory=list)
    rank_metric: str = "accuracy"
    rank_seed: str = ""
    bootstrap: str = ""
    toxicity_classifier: str = ""
    judges: list[str] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    variability: list[VariabilityRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    model_lines: list[tuple[str, str]] = field(default_factory=list)
    model_note: str = ""
    """How the figures in the model lines are computed, said once."""
    toc: list[tuple[str, str, int]] = field(default_factory=list)
    """(anchor, title, level) for the table of contents."""
    tradeoff: Markup | None = None
    rank_chart: Markup | None = None
    diffs: list = field(default_factory=list)
    model_details: list[tuple[str, str]] = field(default_factory=list)
    """Per model, everything that identifies it and how it was called (the appendix; `models` is the short form)."""
    run_record: list[tuple[str, str]] = field(default_factory=list)
    """When, how and from what the run was made: command, times, status, workspace revision, platform, cache."""


def claim_text(c: dict[str, Any], unit: str) -> str:
    where = f"{c['scenario']} · {c['metric']}" + (f" (slice {c['slice']})" if c.get("slice") else "")
    if c.get("load"):
        level = c["load"]
        where += f" under load ({level[1:]} in flight)" if level.startswith("c") else f" under load ({level[1:]} requests/s)"
    if c["direction"] == "versus":
        return f"{where}: better than {c['versus']} by ≥ {num(c['threshold'], unit)}"
    return f"{where} {SYMBOLS[c['direction']]} {num(c['threshold'], unit)}"


def _note(c: dict[str, Any], unit: str) -> str:
    parts = [c["note"]] if c.get("note") else []
    if c["direction"] == "versus" and c.get("estimate") is not None:
        if c.get("p_mcnemar") is not None:
            parts.append(f"exact McNemar p (no difference) = {pvalue(c['p_mcnemar'])}")
        if c.get("se_unpaired") is not None and c.get("correlation") is not None:
            parts.append(f"correlation {c['correlation']:.2f}; unpaired SE would be {c['se_unpaired']:.3f}")
    if c["verdict"] == "INCONCLUSIVE":
        if c.get("mde") is not None:
            parts.append(f"detectable effect at this n: {num(c['mde'], unit)}")
        if c.get("n_needed") is not None:
            noun = "calls" if c["metric"].startswith("latency_p") else "items"
            parts.append(f"about {count(c['n_needed'])} {noun} would decide it")
    return "; ".join(parts)


def _unit(metric: str, metrics: dict[str, Any]) -> str:
    return metrics[metric]["unit"] if metric in metrics else ""


def _criterion_row(c: dict[str, Any], model: str, metrics: dict[str, Any]) -> CriterionRow:
    unit = _unit(c["metric"], metrics)
    conf = round(c["confidence"] * 100)
    bounds = interval(c.get("lower"), c.get("upper"), unit) if c.get("lower") is not None or c.get("upper") is not None else "—"
    return CriterionRow(
        model=model, verdict=badge(c["verdict"]), estimate=num(c.get("estimate"), unit),
        bounds=bounds + ("" if conf == 95 else f" ({conf}%)"),
        n=count(c["n"]) if c.get("n") else "—", p=pvalue(c.get("p_value")), p_adj=pvalue(c.get("p_adjusted")),
        method=c.get("method") or "", note=_note(c, unit),
    )


def _evidence(c: dict[str, Any], metrics: dict[str, Any]) -> str:
    unit = metrics.get(c["metric"], {}).get("unit", "")
    bounds = f" [{num(c['lower'], unit)}, {num(c['upper'], unit)}]" if c.get("lower") is not None else ""
    return f"{claim_text(c, unit)}: {num(c['estimate'], unit)}{bounds}, n = {count(c['n'])}"


def _deciding_sentence(hyp: dict[str, Any], models: list[str], metrics: dict[str, Any]) -> str:
    """Per model, the criterion that decided the verdict (or that would need more data)."""
    parts = []
    for model in models:
        entry = hyp["models"].get(model)
        if not entry:
            continue
        crits = [c for c in entry["criteria"] if c.get("estimate") is not None]
        verdict = entry["verdict"]
        if verdict == "REFUTED":
            key = next(c for c in crits if c["verdict"] == "REFUTED")
            parts.append(f"{model} is refuted by {_evidence(key, metrics)}")
        elif verdict == "SUPPORTED" and crits:
            key = max(crits, key=lambda c: c.get("p_adjusted") or 0)
            parts.append(f"{model} meets every criterion; the closest call is {_evidence(key, metrics)}")
        elif verdict == "INCONCLUSIVE" and crits:
            open_ = [c for c in crits if c["verdict"] == "INCONCLUSIVE"] or crits
            key = max(open_, key=lambda c: c.get("n_needed") or 0)
            noun = "calls" if key["metric"].startswith("latency_p") else "items"
            need = f"; about {count(key['n_needed'])} {noun} would decide it" if key.get("n_needed") else ""
            parts.append(f"{model} is undecided on {_evidence(key, metrics)}{need}")
        else:
            parts.append(f"{model}: {verdict.lower()}")
    return "; ".join(parts) + "."


def _model_line(summary: dict[str, Any] | None) -> str:
    """Page 1: accuracy and p95 latency each with its interval and n; every call the model made."""
    if not summary:
        return "no calls"
    bits = []
    if summary.get("accuracy") is not None:
        bits.append(f"accuracy {num(summary['accuracy'], 'proportion')}{_bounds(summary, 'accuracy', 'proportion')} "
                    f"({_accuracy_basis(summary)})")
    if summary.get("latency_p95_s") is not None:
        bits.append(f"p95 latency {num(summary['latency_p95_s'], 'seconds')}"
                    f"{_bounds(summary, 'latency_p95', 'seconds')} {_latency_basis(summary)}")
    bits.append("not priced" if summary.get("cost_per_item") is None
                else f"{summary['cost_per_item'] * 1000:.4f} per 1,000 items")
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
    text = f"over all scenarios' original calls (n = {count(n)}"
    if cached:
        text += f"; {count(cached)} of {count(n)} timed when first cached"
    return text + ")"


MODEL_NOTE = ("Accuracy: plain mean of the scenario accuracies, 95% interval from the stratified standard error "
              "(scenarios as strata). p95 latency: every scenario's original calls pooled (no perturbed, swapped, variant or "
              "load-level calls), order-statistic interval; a cached response keeps the latency timed when it was first "
              "cached.")


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


def _settings(sid: str, entry: dict[str, Any]) -> Settings:
    s = entry["spec"]
    fs = s["prompt"].get("fewshot")
    items = [
        ("dataset", f"{s['dataset']['path']} ({entry['items']} items, sha256 {entry['dataset_sha256'][:12]}…)"),
        ("mode", s["mode"]),
        ("few-shot", f"k = {fs['k']}, seed {fs['seed']}, pool {fs['pool']}, ids: {', '.join(entry['fewshot_ids']) or '—'}"
         if fs else "none"),
        ("sampling", ", ".join(f"{k} = {v}" for k, v in s["sampling"].items())),
        ("limits", ", ".join(f"{k} = {v}" for k, v in s["limits"].items())),
        ("scoring", ", ".join(f"{k} = {v}" for k, v in s["scoring"].items() if v not in (None, [], False))
         + (f"; {NORMALISATION}" if s["scoring"]["rule"] in ("exact", "contains", "choice") else "")),
        ("repeats", str(s["repeats"])),
        ("metrics", ", ".join(s["metrics"]) if s.get("metrics") else "every family that applies"),
    ]
    if s.get("perturbations"):
        items.append(("perturbations", f"{', '.join(s['perturbations'])} (seed {s['perturbation_seed']})"))
    if s.get("counterfactuals"):
        items.append(("counterfactuals", f"swap {s['counterfactuals']['swap']} in field {s['counterfactuals']['field']}"))
    if s.get("policy"):
        p = s["policy"]
        parts = [f"forbid {', '.join('/' + x + '/' for x in p['forbid'])}" if p["forbid"] else "",
                 f"require {', '.join(repr(x) for x in p['require'])}" if p["require"] else "",
                 f"must refuse where {p['must_refuse']} is true" if p["must_refuse"] else "",
                 f"judge {p['judge']['model']}: {p['judge']['rubric']}" if p["judge"] else ""]
        items.append(("policy", "; ".join(x for x in parts if x)))
    if s["scoring"].get("judge"):
        j = s["scoring"]["judge"]
        items.append(("judge", f"{j['model']}, temperature 0, seed {j['seed']}, rubric: {j['rubric']}"))
    for v in s.get("variants", []):
        changes = {k: val for k, val in v.items() if k != "name" and val}
        items.append((f"variant {v['name']}", ", ".join(f"{k}: {_compact(val)}" for k, val in changes.items())))
    items.append(("source", entry["source"]))
    return Settings(sid, items, s["prompt"]["template"], s["prompt"].get("system") or "")


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_compact(v)}" for k, v in value.items() if v is not None)
    return str(value)


NORMALISATION = "answers compared after Unicode NFKC, punctuation removed, whitespace collapsed, case folded " \
                "(unless case_sensitive)"


def _identity_line(m: dict[str, Any], endpoint: dict[str, Any]) -> str:
    """What the model is, in a few words (the title block)."""
    if m["provider"] == "local":
        sha = endpoint.get("gguf_sha256", "")
        mode = f", {m['mode']} mode" if m.get("mode") else ""
        return f"local llama.cpp server, {m['gguf']}{mode}" + (f" (GGUF sha256 {sha[:12]}…)" if sha else "")
    return f"OpenAI-compatible endpoint {m.get('base_url')}, model {m.get('model') or m['id']}"


def _endpoint_line(m: dict[str, Any], endpoint: dict[str, Any]) -> str:
    """Everything that identifies a model and how it was called, in one line."""
    if m["provider"] == "local":
        sha = endpoint.get("gguf_sha256", "")
        mode = f", {m['mode']} mode" if m.get("mode") else ""
        text = f"local llama.cpp server (llama-cpp-python {endpoint.get('llama_cpp_version', '?')}), " \
               f"{endpoint.get('gguf_file') or m['gguf']}{mode}" + (f", GGUF sha256 {sha}" if sha else "")
        text += f"; context {m.get('n_ctx')} tokens"
    else:
        text = f"OpenAI-compatible endpoint {m.get('base_url')}, model {m.get('model') or m['id']}"
        if m.get("api_key_env"):
            text += f", key from ${m['api_key_env']}"
    limits = [f"{m.get('max_concurrency')} in flight", f"timeout {m.get('timeout_s')} s",
              f"{m.get('max_retries')} retries", "log-probabilities " + ("asked for" if m.get("logprobs") else "off")]
    limits += [f"{k} {m[k]}" for k in ("rpm", "tpm") if m.get(k)]
    price = m.get("price")
    limits.append(f"price {price['input_per_mtok']} in / {price['output_per_mtok']} out per million tokens"
                  if price else "not priced")
    text += "; " + ", ".join(limits)
    served = endpoint.get("served") or {}
    if served.get("model"):
        text += f"; responses named the model {', '.join(served['model'])}"
    text += "; system_fingerprint " + (", ".join(served["system_fingerprint"]) if served.get("system_fingerprint")
                                       else "none reported")
    return text


def _run_record(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [("run", ", ".join(manifest.get("run_ids") or [manifest["run_id"]])),
            ("command", " ".join(manifest.get("command") or [])),
            ("started", str(manifest.get("started_at") or "")), ("finished", str(manifest.get("finished_at") or "")),
            ("status", str(manifest.get("status") or ""))]
    revision = (manifest.get("workspace") or {}).get("git_revision")
    rows.append(("workspace revision", revision or "not a git checkout"))
    rows.append(("platform", str(manifest.get("platform") or "")))
    for i, resumed in enumerate(manifest.get("resumes", []), 1):
        rows.append((f"resumed ({i})", f"{resumed.get('at', '')}: {' '.join(resumed.get('command', []))}"))
    for i, ex in enumerate(manifest.get("execution", []), 1):
        cache = ex.get("cache")
        rows.append((f"execution {i}", f"finished {ex.get('finished_at', '')}; " + (
            f"response cache: {cache['hits']} answered from it, {cache['stored']} stored" if cache else "no cache")))
    return [(k, v) for k, v in rows if v]


def _request_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        return "\n\n".join(f"[{m.get('role')}]\n{m.get('content', '')}" for m in body["messages"])
    return str(body.get("prompt", ""))


def _tradeoff(metrics: dict[str, Any], model_ids: list[str]) -> Markup | None:
    summary = metrics.get("models", {})
    rows = [summary.get(m) for m in model_ids]
    if not rows or any(r is None for r in rows):
        return None
    priced = all(r.get("cost_per_item") is not None for r in rows)
    key, label = ("cost_per_item", "cost per item") if priced else ("latency_p95_s", "p95 latency (s)")
    return charts.tradeoff_chart([(m, r.get("accuracy"), r.get(key)) for m, r in zip(model_ids, rows)],
                                 label, "accuracy (mean over scenarios)")


def _toc(hyps, scenarios, ranks, variability) -> list[tuple[str, str, int]]:
    toc = [("decision", "Decision summary", 1), ("hypotheses", "Hypotheses and evidence", 1)]
    toc += [(f"h-{h.id}", h.title, 2) for h in hyps]
    toc.append(("scenarios", "Scenarios: every metric side by side", 1))
    toc += [(f"s-{s.id}", s.id, 2) for s in scenarios]
    if ranks:
        toc.append(("ranks", "Rank stability", 1))
    if variability:
        toc.append(("variability", "Run-to-run variability", 1))
    toc.append(("appendix", "Reproducibility appendix", 1))
    return toc


def build_view(manifest: dict[str, Any], metrics: dict[str, Any], verdicts: dict[str, Any],
               generated: str, requests: dict[tuple[str, str], dict[str, Any]] | None = None) -> ReportView:
    """The report's view model. `requests`: (scenario, model) -> the body of its first original request,
    shown in the appendix exactly as sent (the prompt assembled from system, few-shot and template)."""
    config = manifest["config"]
    catalogue = metrics["metrics"]
    model_ids = config["selection"]["models"]
    matrix, hyps = [], []
    for h in verdicts["hypotheses"]:
        matrix.append(MatrixRow(h["id"], h["title"], [badge(h["models"][m]["verdict"]) for m in model_ids],
                                _deciding_sentence(h, model_ids, catalogue)))
        spec = config["hypotheses"][h["id"]]["spec"]
        meta = [(k, str(spec[k])) for k in ("roadmap", "owner", "decision") if spec.get(k)]
        rows = []
        for i in range(len(spec["criteria"])):
            first = h["models"][model_ids[0]]["criteria"][i]
            rows.append(CriterionGroup(claim_text(first, _unit(first["metric"], catalogue)),
                                       [_criterion_row(h["models"][m]["criteria"][i], m, catalogue) for m in model_ids]))
        hyps.append(HypothesisView(h["id"], h["title"], meta, render_markdown(spec.get("body", "")),
                                   [(m, badge(h["models"][m]["verdict"])) for m in model_ids], rows))
    scenarios = [scenario_view(sid, config["scenarios"][sid]["spec"], metrics["scenarios"].get(sid, {}), catalogue,
                               model_ids, metrics.get("sensitivity", {}).get(sid), metrics.get("load", {}).get(sid))
                 for sid in config["selection"]["scenarios"]]
    settings = [_settings(sid, config["scenarios"][sid]) for sid in config["selection"]["scenarios"]]
    settings = [replace(st, examples=[(m, _request_text(requests[st.scenario, m]))
                                      for m in model_ids if (st.scenario, m) in (requests or {})])
                for st in settings]
    endpoints = manifest.get("endpoints", {})
    models = [(m["id"], _identity_line(m, endpoints.get(m["id"], {}))) for m in config["models"]]
    model_details = [(m["id"], _endpoint_line(m, endpoints.get(m["id"], {}))) for m in config["models"]]
    run_ids = manifest.get("run_ids") or [manifest["run_id"]]
    commands = ["# from the workspace folder; anywhere else, give the run's folder instead of its id"]
    for run_id in run_ids:
        commands += [f"roadtest replay {run_id}    # scores, metrics, verdicts and this report again, from the archive alone",
                     f"roadtest rerun {run_id}     # the same requests sent again; says whether the results reproduce",
                     f"roadtest verify {run_id}    # every file against the sha256 in its manifest"]
    commands.append(f"roadtest report {' '.join(run_ids)} --format html,pdf")
    versions = [(k, str(v)) for k, v in sorted(manifest.get("versions", {}).items()) if v]
    units = {m: i["unit"] for m, i in catalogue.items()}
    ranks = metrics.get("ranks") or {"metric": "accuracy", "scenarios": {}}
    first_rank = next(iter(ranks["scenarios"].values()), None)
    rank_views = rank_tables(ranks, units)
    variability = variability_rows(metrics.get("variability", {}), units)
    overall = ranks.get("overall") or first_rank
    return ReportView(
        title=config["workspace"]["report"]["title"], generated=generated, run_ids=run_ids,
        fingerprints=manifest.get("fingerprints") or [manifest["fingerprint"]], models=models,
        run_record=_run_record(manifest), model_details=model_details,
        convention=verdicts["convention"],
        model_ids=model_ids, matrix=matrix, hypotheses=hyps, scenarios=scenarios, settings=settings,
        versions=versions, commands=commands, ranks=rank_views, rank_metric=ranks["metric"],
        rank_seed=f"seed {first_rank['seed']}, B = {first_rank['B']:,}" if first_rank else "",
        bootstrap=f"seed {metrics['bootstrap']['seed']}, B = {metrics['bootstrap']['B']:,}",
        toxicity_classifier=metrics.get("toxicity_classifier", ""),
        judges=[_judge_line(j) for j in metrics.get("judges", {}).values()],
        comparisons=comparisons(metrics.get("comparisons", []), units.get(ranks["metric"], "")),
        variability=variability, warnings=list(manifest.get("warnings", [])),
        model_lines=[(m, _model_line(metrics.get("models", {}).get(m))) for m in model_ids],
        model_note=MODEL_NOTE if any("latency_n" in v for v in metrics.get("models", {}).values()) else "",
        toc=_toc(hyps, scenarios, rank_views, variability), tradeoff=_tradeoff(metrics, model_ids),
        rank_chart=charts.rank_chart(overall["models"], overall["rank_probs"]) if overall else None,
        diffs=list(manifest.get("diffs", [])),
    )
