"""The hypotheses as the document shows them: the decision matrix and its sentences (page 1), each criterion with
the evidence that decided it, and every NOT DECIDED cell with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from roadtest.report.formatting import count, interval, num, pvalue, signed, signed_interval
from roadtest.report.markdown import render_markdown
from roadtest.spec.hypothesis import COMPARISONS, claim_text, load_words

BADGES = {
    "SUPPORTED": ("supported", "✓"), "REFUTED": ("refuted", "×"), "INCONCLUSIVE": ("inconclusive", "?"),
    "NOT DECIDED": ("notdecided", "!"), "NOT RUN": ("notrun", "–"), "NOT APPLICABLE": ("notapplicable", "·"),
}


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
class NotDecided:
    """A (hypothesis, model) cell without a verdict because the endpoint failed: page 1 lists every one."""

    hypothesis_id: str
    title: str
    model: str
    reason: str


@dataclass(frozen=True)
class VariantRow:
    """A comparison that must hold under every settings variant: how it fared under one."""

    setting: str
    estimate: str
    bounds: str
    n: str
    p: str
    verdict: Badge


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
    notes: list[str]
    variants: list[VariantRow] = field(default_factory=list)


@dataclass(frozen=True)
class CriterionGroup:
    """One criterion: its claim, the design warnings about it, then one row per model."""

    claim: str
    rows: list[CriterionRow]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HypothesisView:
    id: str
    title: str
    meta: list[tuple[str, str]]
    family: str
    body: Markup
    verdicts: list[tuple[str, Badge]]
    not_decided: list[NotDecided]
    criteria: list[CriterionGroup]


def claim(c: dict[str, Any], currency: str | None = None) -> str:
    """Where the claim is measured, then the claim in the words used everywhere. `currency`: named after the
    metric when it is a cost (the caller knows the metric's unit)."""
    metric = c["metric"] + (f" ({currency})" if currency else "")
    where = f"{c['scenario']} · {metric}" + (f" (slice {c['slice']})" if c.get("slice") else "")
    if c.get("load"):
        where += f" under load ({load_words(c['load'])})"
    return f"{where} {claim_text(c['direction'], c['threshold'], c.get('versus'))}"


def _comparison(c: dict[str, Any]) -> bool:
    return c["direction"] in COMPARISONS


def _estimate(c: dict[str, Any], unit: str) -> str:
    return signed(c.get("estimate"), unit) if _comparison(c) else num(c.get("estimate"), unit)


def _bounds(c: dict[str, Any], unit: str) -> str:
    if c.get("lower") is None and c.get("upper") is None:
        return "—"
    return signed_interval(c["lower"], c["upper"], unit) if _comparison(c) else interval(c["lower"], c["upper"], unit)


def _units(n: int | None, unit: str) -> str:
    return "—" if not n else count(n) + ("" if unit == "items" else f" {unit}")


def fresh_sample(c: dict[str, Any]) -> str:
    """What an open criterion's n_needed means, and what it does not."""
    unit = c.get("unit") or "items"
    return (f"a fresh sample of {count(c['n_needed'])} {unit} gives an 80% chance of a decision if the true value "
            f"is the one observed (adding {unit} to this sample and testing again is not valid)")


def _notes(c: dict[str, Any], unit: str, scan: dict[str, Any] | None) -> list[str]:
    notes = [c["note"]] if c.get("note") else []
    if _comparison(c) and c.get("estimate") is not None and c.get("se_unpaired") is not None \
            and c.get("correlation") is not None:
        notes.append(f"paired on the same items: correlation {c['correlation']:.2f}; the unpaired SE would be "
                     f"{c['se_unpaired']:.3f}")
    if c["verdict"] == "INCONCLUSIVE":
        if c.get("mde") is not None:
            notes.append(f"the smallest true distance from the threshold that a fresh sample of this size detects "
                         f"with 80% power: {num(c['mde'], unit)}")
        if c.get("n_needed") is not None:
            notes.append(fresh_sample(c))
    if scan is not None and c["verdict"] not in ("NOT DECIDED", "NOT APPLICABLE"):
        notes.append(f"the same pair in the scan: {scan['wording']}")
    return notes


def _variants(c: dict[str, Any], unit: str) -> list[VariantRow]:
    if not c.get("robust_to_settings"):
        return []
    return [VariantRow(v["variant"].removeprefix("setting:"), signed(v.get("estimate"), unit),
                       signed_interval(v.get("lower"), v.get("upper"), unit),
                       _units(v.get("n"), c.get("unit", "items")), pvalue(v.get("p_supported")), badge(v["verdict"]))
            for v in c.get("variants") or []]


def criterion_row(c: dict[str, Any], model: str, unit: str, scan: dict[str, Any] | None = None) -> CriterionRow:
    conf = round(c["confidence"] * 100)
    return CriterionRow(
        model=model, verdict=badge(c["verdict"]), estimate=_estimate(c, unit),
        bounds=_bounds(c, unit) + ("" if conf == 95 else f" ({conf}%)"), n=_units(c.get("n"), c.get("unit", "items")),
        p=pvalue(c.get("p_value")), p_adj=pvalue(c.get("p_adjusted")), method=c.get("method") or "",
        notes=_notes(c, unit, scan), variants=_variants(c, unit))


def _money(unit: str, currency: str | None) -> str | None:
    """The currency to name beside a metric in `unit` (None unless it is a cost and the currency is known)."""
    return currency if unit == "currency" else None


def evidence(c: dict[str, Any], unit: str, currency: str | None = None) -> str:
    """A criterion's claim with the estimate, bounds and n that decided it (the page-1 sentences' wording)."""
    bounds = f" {_bounds(c, unit)}" if c.get("lower") is not None or c.get("upper") is not None else ""
    return (f"{claim(c, _money(unit, currency))}: {_estimate(c, unit)}{bounds}, "
            f"n = {_units(c.get('n'), c.get('unit', 'items'))}")


def _reasons(entry: dict[str, Any]) -> list[str]:
    reasons = list(entry.get("not_decided") or [])
    if not reasons and entry["verdict"] == "NOT DECIDED":
        reasons = list(dict.fromkeys(c["note"] for c in entry["criteria"] if c["verdict"] == "NOT DECIDED"))
    return reasons


def open_criterion(entry: dict[str, Any]) -> dict[str, Any] | None:
    """An INCONCLUSIVE model's criterion that needs the largest fresh sample (every criterion must be decided):
    the one its sentence names."""
    crits = [c for c in entry["criteria"] if c.get("estimate") is not None]
    if entry["verdict"] != "INCONCLUSIVE" or not crits:
        return None
    open_ = [c for c in crits if c["verdict"] == "INCONCLUSIVE"] or crits
    return max(open_, key=lambda c: c.get("n_needed") or 0)


def deciding(model: str, entry: dict[str, Any], units: dict[str, str], currency: str | None = None) -> str:
    """The criterion that decided a model's verdict (or the one that needs a fresh sample), in one sentence."""
    crits = [c for c in entry["criteria"] if c.get("estimate") is not None]
    verdict = entry["verdict"]
    said = lambda c: evidence(c, units.get(c["metric"], ""), currency)  # noqa: E731
    if verdict == "NOT DECIDED":
        return f"{model} is not decided: {'; '.join(_reasons(entry)) or 'the endpoint failed'}"
    refuted = [c for c in crits if c["verdict"] == "REFUTED"]
    if verdict == "REFUTED" and refuted:
        return f"{model} is refuted by {said(refuted[0])}"
    if verdict == "SUPPORTED" and crits:
        key = max(crits, key=lambda c: c.get("p_adjusted") or 0)
        return f"{model} meets every criterion; the closest call is {said(key)}"
    key = open_criterion(entry)
    if key is not None:
        need = f"; {fresh_sample(key)}" if key.get("n_needed") else ""
        return f"{model} is undecided on {said(key)}{need}"
    return f"{model}: {verdict.lower()}"


def matrix_row(h: dict[str, Any], models: list[str], units: dict[str, str], currency: str | None = None) -> MatrixRow:
    present = [m for m in models if m in h["models"]]
    return MatrixRow(h["id"], h["title"], [badge(h["models"][m]["verdict"]) if m in h["models"] else badge("NOT RUN")
                                           for m in models],
                     "; ".join(deciding(m, h["models"][m], units, currency) for m in present) + ".")


def not_decided(h: dict[str, Any], models: list[str]) -> list[NotDecided]:
    return [NotDecided(h["id"], h["title"], m, reason) for m in models if m in h["models"]
            for reason in _reasons(h["models"][m])]


def design_warnings(hypothesis: str, index: int, warnings: list[str]) -> list[str]:
    """The design warnings (roadtest.verdict.feasibility) about one criterion, without their 'id criteria[i]: '."""
    prefix = f"{hypothesis} criteria[{index}]: "
    return [w.removeprefix(prefix) for w in warnings if w.startswith(prefix)]


def hypothesis_view(h: dict[str, Any], spec: dict[str, Any], models: list[str], units: dict[str, str],
                    scan: dict[tuple[str, int, str], dict[str, Any]], warnings: list[str],
                    currency: str | None = None) -> HypothesisView:
    """`scan`: (hypothesis, criterion index, model) -> the scan row of the same pair (one answer per question);
    `currency`: named beside every cost."""
    present = [m for m in models if m in h["models"]]
    groups = []
    for i in range(len(spec["criteria"]) if present else 0):
        first = h["models"][present[0]]["criteria"][i]
        unit = units.get(first["metric"], "")
        rows = [criterion_row(h["models"][m]["criteria"][i], m, unit, scan.get((h["id"], i, m))) for m in present]
        groups.append(CriterionGroup(claim(first, _money(unit, currency)), rows, design_warnings(h["id"], i, warnings)))
    meta = [(k, str(spec[k])) for k in ("roadmap", "owner", "decision") if spec.get(k)]
    return HypothesisView(h["id"], h["title"], meta, h.get("family", ""), render_markdown(spec.get("body", "")),
                          [(m, badge(h["models"][m]["verdict"])) for m in present], not_decided(h, present), groups)


def evidence_sentence(model: str, entry: dict[str, Any], units: dict[str, str]) -> str:
    """The sentence the document gives as the evidence for one (hypothesis, model) verdict: the same words in
    the decision summary, the decision record and a CI gate's message."""
    return deciding(model, entry, units)
