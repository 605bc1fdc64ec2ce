"""Page 1's recommendation per hypothesis: what the evidence of this run supports doing, in the words the rest of
the document uses for the same facts (the matrix sentences, the fresh-sample wording, the best-model sets, the
cost figures of the model lines).

A NOT DECIDED cell (its endpoint failed) is never evidence for or against a model: it is named as not decided
and never counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from roadtest.report import cost
from roadtest.report.decisions_view import CurrentDecision, current_decisions
from roadtest.report.hypothesis_view import deciding, evidence, fresh_sample, open_criterion


@dataclass(frozen=True)
class Recommendation:
    hypothesis_id: str
    title: str
    kind: str
    """'supported' (some model meets it), 'open' (none yet, some INCONCLUSIVE), 'refuted' (every decided model
    is refuted) or 'undecided' (no model has a verdict)."""
    sentence: str
    model: str | None = None
    """The model the evidence recommends, when it singles one out."""
    notes: list[str] = field(default_factory=list)
    decisions: list[CurrentDecision] = field(default_factory=list)
    """The decisions recorded for this hypothesis that are in force, with their status against this run."""


def names(models: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return models[0] if len(models) == 1 else ", ".join(models[:-1]) + f" and {models[-1]}"


def _by_verdict(h: dict[str, Any], models: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in models:
        if m in h["models"]:
            out.setdefault(h["models"][m]["verdict"], []).append(m)
    return out


def _supported(models: list[str], metrics: dict[str, Any], c: cost.Costing) -> tuple[str, str | None]:
    """(sentence, recommended model): one model, or the cheapest of several among the priced ones."""
    costs = {m: cost.cost_of(metrics, m, c) for m in models}
    basis = f"{cost.traffic_phrase(c)}: " if cost.by_month(c) else ""
    if len(models) == 1:
        value, words = costs[models[0]]
        said = words if value is None else basis + words
        return f"Recommended: {models[0]}, the only model that meets it ({said}).", models[0]
    priced = [m for m in models if costs[m][0] is not None]
    if not priced:
        return (f"{names(models)} meet it; none of them is priced, so cost cannot pick between them (give the "
                "models a price in roadtest.yaml).", None)
    unpriced = [m for m in models if m not in priced]
    listing = basis + ", ".join(f"{m} {costs[m][1]}" for m in priced)
    listing += f"; not priced: {', '.join(unpriced)}" if unpriced else ""
    low = min(price for m in priced if (price := costs[m][0]) is not None)
    cheapest = [m for m in priced if costs[m][0] == low]
    if len(cheapest) > 1:
        return (f"{names(models)} meet it; {names(cheapest)} cost the same, so cost cannot pick between them "
                f"({listing}).", None)
    among = "the priced models that meet it" if unpriced else f"the {len(models)} models that meet it"
    return f"Recommended: {cheapest[0]}, the cheapest of {among} ({listing}).", cheapest[0]


def _open(h: dict[str, Any], models: list[str], units: dict[str, str], currency: str | None) -> str:
    """No model meets it yet: the open model and criterion with the smallest fresh sample (n_needed), in the
    fresh-sample wording of the criterion tables."""
    keys = [(m, k) for m in models if (k := open_criterion(h["models"][m])) is not None and k.get("n_needed")]
    if not keys:
        return "No model meets it yet: " + "; ".join(deciding(m, h["models"][m], units, currency)
                                                      for m in models) + "."
    model, key = min(keys, key=lambda mk: mk[1]["n_needed"])
    said = evidence(key, units.get(key["metric"], ""), currency)
    return f"No model meets it yet. Nearest to a decision: {model} on {said}; {fresh_sample(key)}."


def _scenarios(h: dict[str, Any]) -> list[str]:
    """The scenarios the hypothesis's criteria are measured on, in their order."""
    return list(dict.fromkeys(c["scenario"] for entry in h["models"].values() for c in entry["criteria"]))


def best_set_sentences(h: dict[str, Any], ranks: dict[str, Any]) -> list[str]:
    """The best-model set of each of the hypothesis's scenarios that has one, verbatim after the scenario id."""
    sets = (ranks or {}).get("scenarios") or {}
    return [f"{sid}: {sets[sid]['sentence']}" for sid in _scenarios(h) if sid in sets and sets[sid].get("sentence")]


def recommendation(h: dict[str, Any], models: list[str], units: dict[str, str], metrics: dict[str, Any],
                   c: cost.Costing = cost.NO_COSTING, snapshot: dict[str, Any] | None = None) -> Recommendation:
    """One hypothesis of verdicts.json -> what page 1 recommends; `snapshot`: the decision record (or None)."""
    groups = _by_verdict(h, models)
    supported, open_, refuted = (groups.get(v, []) for v in ("SUPPORTED", "INCONCLUSIVE", "REFUTED"))
    undecided = groups.get("NOT DECIDED", [])
    notes = []
    model = None
    if supported:
        kind = "supported"
        sentence, model = _supported(supported, metrics, c)
    elif open_:
        kind = "open"
        sentence = _open(h, open_, units, c.currency)
        notes += best_set_sentences(h, metrics.get("ranks") or {})
    elif refuted:
        kind = "refuted"
        # the matrix's sentence just above already names the evidence that refutes each model
        sentence = ("No model meets it: every model run is refuted." if len(refuted) == len(h["models"]) else
                    "No model meets it: every model decided is refuted.")
    else:
        kind = "undecided"
        sentence = "No recommendation: no model has a verdict on it in this run."
    if undecided:
        notes.append(f"Not decided, so counted neither for nor against: {names(undecided)} (the endpoint failed; "
                     "an outage is not evidence about a model).")
    return Recommendation(h["id"], h["title"], kind, sentence, model, notes, current_decisions(snapshot, h["id"]))
