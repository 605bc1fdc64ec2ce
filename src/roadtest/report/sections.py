"""Report sections built from metrics.json: the best-model set, the model x scenario interaction, the pairwise
scan, run-to-run variability."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from roadtest.report.formatting import count, num, pvalue, signed, signed_interval
from roadtest.report.hypothesis_view import Badge, badge, design_warnings
from roadtest.spec.hypothesis import claim_text


@dataclass(frozen=True)
class BestSet:
    """One scenario: which models may be the best (the claim), with P(rank) beside it (descriptive only)."""

    scenario: str
    sentence: str
    ranks: list[int]
    """Rank positions 1..m for the header of the P(rank) columns."""
    rows: list[tuple[str, str, str, str, list[str]]]
    """(model, estimate, in the best set, at most this far behind the best, P(rank = r) for each r)"""
    method: str
    rank_note: str
    resampling: str
    n: str
    """The items the set is computed on (those every model answered)."""


@dataclass(frozen=True)
class Interaction:
    """Does the gap between two models change from scenario to scenario?"""

    pair: str
    sentence: str
    gaps: str
    test: str
    significant: bool


@dataclass(frozen=True)
class Pointer:
    """A hypothesis criterion on the same pair as a scan row: the scan points to its verdict."""

    anchor: str
    text: str
    verdict: Badge


@dataclass(frozen=True)
class Comparison:
    scenario: str
    metric: str
    a: str
    b: str
    difference: str
    interval: str
    confidence: str
    se_paired: str
    se_unpaired: str
    correlation: str
    test: str
    p: str
    q: str
    wording: str
    shown: bool
    decides: list[Pointer] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VariabilityRow:
    scenario: str
    model: str
    repeats: str
    runs: str
    run_sd: str
    flip_rate: str
    icc: str
    item_se: str


def best_set(sid: str, entry: dict[str, Any], unit: str, higher: bool) -> BestSet:
    m = len(entry["models"])
    order = sorted(range(m), key=lambda i: (not entry["in_set"][i], -entry["estimates"][i] if higher
                                            else entry["estimates"][i]))
    rows = [(entry["models"][i], num(entry["estimates"][i], unit), "yes" if entry["in_set"][i] else "no",
             num(entry["behind"][i], unit), [f"{p:.2f}" for p in entry["rank_probs"][i]]) for i in order]
    return BestSet(sid, entry["sentence"], list(range(1, m + 1)), rows, entry["method"],
                   entry.get("rank_probs_note", "descriptive"), f"seed {entry['seed']}, B = {entry['B']:,}",
                   count(entry.get("n")))


def best_sets(ranks: dict[str, Any], catalogue: dict[str, Any]) -> list[BestSet]:
    info = catalogue.get(ranks["metric"], {})
    return [best_set(sid, entry, info.get("unit", ""), info.get("direction", "higher") == "higher")
            for sid, entry in ranks["scenarios"].items()]


def interactions(ranks: dict[str, Any], catalogue: dict[str, Any]) -> list[Interaction]:
    unit = catalogue.get(ranks["metric"], {}).get("unit", "")
    out = []
    for e in ranks.get("interaction") or []:
        gaps = "; ".join(f"{s} {signed(g, unit)} (SE {se:.3f})"
                         for s, g, se in zip(e["scenarios"], e["gaps"], e["ses"]))
        test = (f"{e['method']}: p = {pvalue(e['p'])}; Cochran's Q = {e['q_cochran']:.2f} "
                f"(p = {pvalue(e['p_cochran'])}), I² = {e['i2']:.2f}")
        out.append(Interaction(f"{e['a']} − {e['b']}", e["sentence"], gaps, test, bool(e["significant"])))
    return out


def _cell(verdicts: dict[str, Any], ref: dict[str, Any], a: str, b: str) -> tuple[str, dict[str, Any]] | None:
    """The (model, criterion) of a hypothesis criterion that compares a and b."""
    hyp = next((h for h in verdicts["hypotheses"] if h["id"] == ref["hypothesis"]), None)
    for model, other in ((a, b), (b, a)):
        entry = (hyp or {}).get("models", {}).get(model)
        if entry and ref["criterion"] < len(entry["criteria"]):
            c = entry["criteria"][ref["criterion"]]
            if c.get("versus") == other:
                return model, c
    return None


def scan_index(rows: list[dict[str, Any]], verdicts: dict[str, Any]) -> dict[tuple[str, int, str], dict[str, Any]]:
    """(hypothesis, criterion index, model) -> the scan row of the same pair, scenario and metric."""
    index = {}
    for r in rows:
        for ref in r.get("criteria") or []:
            found = _cell(verdicts, ref, r["a"], r["b"])
            if found:
                index[ref["hypothesis"], ref["criterion"], found[0]] = r
    return index


def _pointers(r: dict[str, Any], verdicts: dict[str, Any]) -> list[Pointer]:
    out = []
    for ref in r.get("criteria") or []:
        found = _cell(verdicts, ref, r["a"], r["b"])
        if found:
            model, c = found
            words = claim_text(c["direction"], c["threshold"], c["versus"])
            out.append(Pointer(f"h-{ref['hypothesis']}", f"{ref['hypothesis']}, criterion {ref['criterion'] + 1}: "
                               f"{model} {words}", badge(c["verdict"])))
    return out


def comparisons(rows: list[dict[str, Any]], catalogue: dict[str, Any], verdicts: dict[str, Any],
                warnings: list[str], currency: str | None = None) -> list[Comparison]:
    """The scan's rows; `currency`: named after a cost metric."""
    out = []
    for r in rows:
        unit = catalogue.get(r["metric"], {}).get("unit", "")
        refs = r.get("criteria") or []
        out.append(Comparison(
            scenario=r["scenario"], metric=r["metric"] + (f" ({currency})" if unit == "currency" and currency else ""), a=r["a"], b=r["b"], difference=signed(r["difference"], unit),
            interval=signed_interval(r["lo"], r["hi"], unit), confidence=f"{round(r['confidence'] * 100)}%",
            se_paired=f"{r['se']:.3f}", se_unpaired=f"{r['se_unpaired']:.3f}",
            correlation="—" if r["correlation"] is None else f"{r['correlation']:.2f}", test=r["test"],
            p=pvalue(r["p"]), q=pvalue(r.get("q_bh")), wording=r["wording"], shown=bool(r["shown"]),
            decides=_pointers(r, verdicts),
            warnings=list(dict.fromkeys([w for ref in refs
                                         for w in design_warnings(ref["hypothesis"], ref["criterion"], warnings)]
                                        + _scenario_confounds(r, warnings)))))
    return out


def _scenario_confounds(row: dict[str, Any], warnings: list[str]) -> list[str]:
    """A scenario's 'prompted in different modes' warning, on every scan row of a pair it names."""
    prefix = f"{row['scenario']}: "
    return [w.removeprefix(prefix) for w in warnings
            if w.startswith(prefix) and "confounded" in w and row["a"] in w and row["b"] in w]


def variability_rows(variability: dict[str, Any], units: dict[str, str] | None = None) -> list[VariabilityRow]:
    """Formatted in each metric's unit, as the scenario tables print the same metrics."""
    unit = {"run_sd": "proportion", "flip_rate": "proportion", "icc": "ratio", **(units or {})}
    rows = []
    for sid, per_model in variability.items():
        for model, v in per_model.items():
            rows.append(VariabilityRow(
                sid, model, str(v["repeats"]), ", ".join(num(x, "proportion") for x in v["run_scores"]),
                num(v["run_sd"], unit["run_sd"]), num(v["flip_rate"], unit["flip_rate"]), num(v["icc"], unit["icc"]),
                num(v["item_se"], "proportion")))
    return rows
